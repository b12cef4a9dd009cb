"""tensorcore.nn: Module bookkeeping, layers, init, losses, state dicts, BatchNorm1d, grad clipping."""

import math

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F
from tensorcore.serialization import StateDictError


def _mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(tc.ones(2))
        self.register_buffer("count", tc.zeros(()))
        self.register_buffer("scratch", tc.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


# --- Module bookkeeping ---------------------------------------------------------------------------


def test_registration_names_and_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.state_dict()) == ["scale", "count", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert net.fc2.bias is None
    assert net.num_parameters() == 2 + 3 * 4 + 4 + 4 * 2


def test_shared_parameter_listed_once_and_reassignment():
    a = nn.Linear(3, 3)
    seq = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(seq.parameters())) == 2
    net = Net()
    net.fc1 = nn.Linear(3, 4, bias=False)
    assert "fc1.bias" not in dict(net.named_parameters())
    net.fc1 = None
    assert "fc1.weight" not in dict(net.named_parameters())
    with pytest.raises(TypeError):
        net.scale = tc.ones(2)  # a parameter slot takes a Parameter or None


def test_assigning_before_super_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(tc.TensorcoreError, match="super"):
        Bad()


def test_train_eval_propagates_and_dropout():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5))
    x = tc.ones((200, 10))
    model.eval()
    assert not model[1].training
    np.testing.assert_array_equal(model(x).numpy(), model[0](x).numpy())
    model.train()
    y = model(x).numpy()
    base = model[0](x).numpy()
    kept = y != 0
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(y[kept], 2 * base[kept], rtol=1e-6)


def test_zero_grad_and_requires_grad():
    model = _mlp()
    model(tc.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_repr_and_summary():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    text = repr(model)
    assert "(1): Linear(in_features=784, out_features=64, bias=True)" in text
    lines = []
    total = model.summary((1, 28, 28), print_fn=lines.append)
    assert total == 784 * 64 + 64 + 64 * 10 + 10
    assert "50,240" in lines[0] and "(N, 784)" in lines[0] and "(N, 10)" in lines[0]
    assert "Total params: 50,890" in lines[0]


def test_to_dtype_keeps_parameter_identity():
    model = _mlp()
    w = model[0].weight
    model.to(tc.float64)
    assert model[0].weight is w and w.dtype == np.float64
    assert model(tc.randn(2, 4, dtype=tc.float64)).dtype == np.float64


def test_sequential_indexing_and_modulelist():
    model = _mlp()
    assert isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Linear)
    sub = model[:2]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is model[0]
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    holder = nn.Module()
    holder.layers = ml
    assert len(list(holder.parameters())) == 4


def test_parameter():
    p = nn.Parameter(tc.zeros((2, 3)))
    assert p.requires_grad and p.is_leaf and isinstance(p, tc.Tensor)
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(tc.DTypeError):
        nn.Parameter(tc.zeros(3, dtype=tc.int64))


# --- layers ------------------------------------------------------------------------------------


def test_linear_forward_backward_against_numpy(rng):
    fc = nn.Linear(4, 3, dtype=tc.float64)
    x = rng.standard_normal((5, 4))
    y = fc(tc.tensor(x))
    w, b = fc.weight.numpy(), fc.bias.numpy()
    np.testing.assert_allclose(y.numpy(), x @ w.T + b, rtol=1e-12)
    xt = tc.tensor(x, requires_grad=True)
    assert tc.gradcheck(lambda t: fc(t), (xt,))


def test_linear_default_init_bounds():
    tc.manual_seed(0)
    fc = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    assert float(abs(fc.weight).max()) <= bound and float(abs(fc.bias).max()) <= bound
    assert float(abs(fc.weight).max()) > 0.9 * bound


def test_activation_modules():
    x = tc.tensor([[-2.0, 0.5, 3.0]])
    np.testing.assert_allclose(nn.ReLU()(x).numpy(), [[0, 0.5, 3]])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).numpy(), [[-0.2, 0.5, 3]], rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy().sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(nn.LogSoftmax(dim=-1)(x).exp().numpy().sum(), 1.0, rtol=1e-6)
    assert nn.GELU()(x).shape == (1, 3)
    assert nn.Identity()(x) is x
    assert nn.Flatten()(tc.zeros((2, 3, 4))).shape == (2, 12)


def test_batchnorm1d_training_and_eval(rng):
    bn = nn.BatchNorm1d(3, momentum=0.1)
    x = rng.standard_normal((8, 3)) * 2 + 5
    y = bn(tc.tensor(x, dtype=tc.float32)).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    z = bn(tc.tensor(x[:2], dtype=tc.float32)).numpy()
    ref = (x[:2] - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(z, ref, rtol=1e-4)
    with pytest.raises(tc.ShapeError):
        bn(tc.zeros((2, 4)))


def test_batchnorm1d_gradcheck_and_3d(rng):
    bn = nn.BatchNorm1d(3).to(tc.float64)
    with tc.no_grad():
        bn.weight.data[...] = rng.standard_normal(3)
    x = tc.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    assert tc.gradcheck(lambda t: bn(t), (x,))
    assert bn(x).shape == (4, 3, 2)


def test_batchnorm1d_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((6, 4)).astype(np.float32)
    bn, tbn = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    for _ in range(3):
        y = bn(tc.tensor(x))
        ty = tbn(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-5)
    bn.eval()
    tbn.eval()
    np.testing.assert_allclose(bn(tc.tensor(x)).numpy(), tbn(torch.tensor(x)).detach().numpy(), atol=1e-5)


# --- init -----------------------------------------------------------------------------------------


def test_init_schemes_and_seeding():
    w = nn.Parameter(tc.zeros((200, 300)))
    nn.init.xavier_uniform_(w)
    a = math.sqrt(6 / 500)
    assert float(abs(w).max()) <= a and float(abs(w).max()) > 0.95 * a
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(float(w.std()) - math.sqrt(2 / 300)) < 0.005
    nn.init.xavier_normal_(w)
    assert abs(float(w.std()) - math.sqrt(2 / 500)) < 0.005
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    assert float(abs(w).max()) <= math.sqrt(6 / 300)
    nn.init.uniform_(w, -0.1, 0.1)
    assert float(abs(w).max()) <= 0.1
    nn.init.normal_(w, 0, 0.01)
    assert abs(float(w.std()) - 0.01) < 0.001
    nn.init.constant_(w, 3.0)
    assert float(w.min()) == 3.0
    nn.init.zeros_(w)
    assert float(abs(w).max()) == 0
    nn.init.ones_(w)
    assert float(w.min()) == 1
    tc.manual_seed(7)
    first = nn.Linear(3, 3).weight.numpy().copy()
    tc.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(3, 3).weight.numpy(), first)
    g = tc.Generator(5)
    nn.init.normal_(w, generator=g)
    second = w.numpy().copy()
    nn.init.normal_(w, generator=tc.Generator(5))
    np.testing.assert_array_equal(w.numpy(), second)
    assert nn.init.calculate_gain("relu") == math.sqrt(2)


def test_init_bumps_version():
    w = nn.Parameter(tc.zeros(3))
    v = w._version
    nn.init.ones_(w)
    assert w._version == v + 1


# --- losses --------------------------------------------------------------------------------------


def test_loss_modules_match_functional(rng):
    logits = tc.tensor(rng.standard_normal((6, 4)), dtype=tc.float64)
    y = tc.tensor(rng.integers(0, 4, 6))
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(nn.CrossEntropyLoss(reduction=reduction)(logits, y).numpy(),
                                   F.cross_entropy(logits, y, reduction=reduction).numpy())
    logp = F.log_softmax(logits, dim=1)
    np.testing.assert_allclose(nn.NLLLoss()(logp, y).item(), nn.CrossEntropyLoss()(logits, y).item(), rtol=1e-12)
    t = tc.tensor(rng.standard_normal((6, 4)))
    np.testing.assert_allclose(nn.MSELoss()(logits, t).item(), ((logits.numpy() - t.numpy()) ** 2).mean())
    np.testing.assert_allclose(nn.L1Loss(reduction="sum")(logits, t).item(), np.abs(logits.numpy() - t.numpy()).sum())
    p = tc.tensor(rng.random((6, 4)))
    z = logits.numpy()
    ref = np.mean(np.maximum(z, 0) - z * p.numpy() + np.log1p(np.exp(-np.abs(z))))
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(logits, p).item(), ref, rtol=1e-10)
    with pytest.raises(ValueError):
        nn.MSELoss(reduction="avg")


def test_losses_against_torch(rng):
    torch = pytest.importorskip("torch")
    z = rng.standard_normal((5, 3))
    y = rng.integers(0, 3, 5)
    for ls in (0.0, 0.2):
        ours = nn.CrossEntropyLoss(label_smoothing=ls)(tc.tensor(z), tc.tensor(y)).item()
        ref = torch.nn.CrossEntropyLoss(label_smoothing=ls)(torch.tensor(z), torch.tensor(y)).item()
        assert ours == pytest.approx(ref, rel=1e-6)
    p = rng.random((5, 3))
    ours = nn.BCEWithLogitsLoss(pos_weight=tc.tensor([1.0, 2.0, 3.0], dtype=tc.float64))(tc.tensor(z), tc.tensor(p))
    ref = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))(
        torch.tensor(z), torch.tensor(p))
    assert ours.item() == pytest.approx(ref.item(), rel=1e-6)


def test_mlp_forward_backward_against_torch(rng):
    torch = pytest.importorskip("torch")
    model = tc.models.mlp(in_features=20, hidden=(8, 8), num_classes=4)
    tmodel = torch.nn.Sequential(torch.nn.Linear(20, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 4))
    with torch.no_grad():
        for tp, (_, p) in zip(tmodel.parameters(), model.named_parameters()):
            tp.copy_(torch.tensor(p.numpy()))
    x = rng.standard_normal((6, 20)).astype(np.float32)
    y = rng.integers(0, 4, 6)
    loss = F.cross_entropy(model(tc.tensor(x)), tc.tensor(y))
    loss.backward()
    tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    for tp, p in zip(tmodel.parameters(), model.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-6)


# --- state dicts --------------------------------------------------------------------------------


def test_state_dict_round_trip_through_checkpoint(tmp_path):
    tc.manual_seed(0)
    a = Net()
    a.count.data[...] = 4
    tc.save(a.state_dict(), tmp_path / "net.npz")
    tc.manual_seed(1)
    b = Net()
    result = b.load_state_dict(tc.load(tmp_path / "net.npz"))
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v.numpy(), v2.numpy())
    x = tc.randn(2, 3)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_state_dict_shares_memory_and_load_is_in_place():
    model = _mlp()
    sd = model.state_dict()
    w = model[0].weight
    v = w._version
    model.load_state_dict({k: t.numpy() * 0 + 1 for k, t in sd.items()})
    assert model[0].weight is w and w._version == v + 1
    assert float(sd["0.weight"].min()) == 1.0  # the state dict shares memory with the module


def test_load_state_dict_strict_names_every_problem():
    model = _mlp()
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    del sd["0.bias"]
    sd["extra.weight"] = np.zeros(3)
    sd["2.weight"] = np.zeros((4, 4), dtype=np.float32)
    before = model[2].weight.numpy().copy()
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(sd)
    msg = str(info.value)
    assert "0.bias" in msg and "extra.weight" in msg and "2.weight" in msg and "(4, 4)" in msg
    np.testing.assert_array_equal(model[2].weight.numpy(), before)  # nothing loaded


def test_load_state_dict_non_strict_reports_and_loads_the_rest():
    model = _mlp()
    sd = {k: np.full(v.shape, 0.5, dtype=np.float32) for k, v in model.state_dict().items()}
    del sd["0.bias"]
    sd["extra"] = np.zeros(1)
    result = model.load_state_dict(sd, strict=False)
    missing, unexpected = result  # PyTorch's pair (its _IncompatibleKeys)
    assert missing == ["0.bias"] and unexpected == ["extra"] and result.mismatched_keys == []
    assert float(model[0].weight.min()) == 0.5 and float(model[2].bias.max()) == 0.5
    sd["2.weight"] = np.zeros((1, 1), dtype=np.float32)
    before = model[2].weight.numpy().copy()
    with pytest.raises(StateDictError, match="2.weight"):  # a wrong shape is an error even then, as in PyTorch
        model.load_state_dict(sd, strict=False)
    np.testing.assert_array_equal(model[2].weight.numpy(), before)


def test_load_state_dict_refuses_int_for_float():
    model = nn.Linear(2, 2)
    sd = {"weight": np.zeros((2, 2), dtype=np.int64), "bias": np.zeros(2, dtype=np.float32)}
    with pytest.raises(StateDictError, match="weight"):
        model.load_state_dict(sd)
    model.load_state_dict({"weight": np.ones((2, 2)), "bias": np.ones(2)})  # float64 -> float32 is cast
    assert model.weight.dtype == np.float32 and float(model.weight.min()) == 1


# --- utils --------------------------------------------------------------------------------------


def test_clip_grad_norm_and_value():
    a = nn.Parameter(tc.zeros(2))
    b = nn.Parameter(tc.zeros(1))
    a.grad, b.grad = tc.tensor([3.0, 0.0]), tc.tensor([4.0])
    total = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)
    assert float(nn.utils.clip_grad_norm_([a, b], 10.0)) == pytest.approx(1.0, rel=1e-5)
    a.grad = tc.tensor([3.0, -7.0])
    nn.utils.clip_grad_value_([a], 2.0)
    np.testing.assert_allclose(a.grad.numpy(), [2.0, -2.0])
    a.grad = tc.tensor([3.0, -7.0])
    assert float(nn.utils.clip_grad_norm_([a], 1.0, norm_type=math.inf)) == 7.0
    a.grad = tc.tensor([float("nan"), 1.0])
    with pytest.raises(tc.GradientError):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_parameters_to_vector_round_trip():
    model = _mlp()
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (model.num_parameters(),)
    nn.utils.vector_to_parameters(vec * 0 + 2, model.parameters())
    assert all(float(p.min()) == 2 for p in model.parameters())


# --- fuzzed state dicts: any junk is a StateDictError naming the entry, never a crash ----------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=3),
    st.lists(st.integers(min_value=0, max_value=3), max_size=3).map(lambda s: np.zeros(s, dtype=np.float32)),
    st.sampled_from([np.zeros((3, 4), np.float32), np.zeros((3,), np.int64), np.zeros((3, 4), np.float64)]),
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["weight", "bias", "other", "0.weight"]), _values, max_size=4),
       st.booleans())
def test_load_state_dict_fuzz(state, strict):
    from tensorcore.errors import TensorcoreError

    layer = nn.Linear(4, 3)
    try:
        layer.load_state_dict(state, strict=strict)
    except TensorcoreError as e:
        assert "load_state_dict" in str(e)


def test_blas_threads_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas():
        return [d["num_threads"] for d in threadpoolctl.threadpool_info() if d["user_api"] == "blas"]

    before = blas()
    with nn.utils.blas_threads(1):
        assert all(n == 1 for n in blas())
    assert blas() == before
    with nn.utils.blas_threads(None):
        assert blas() == before
    assert nn.utils.small_model_threads(nn.Linear(10, 10)) == 1
    assert nn.utils.small_model_threads(nn.Linear(10, 10), limit=50) is None
