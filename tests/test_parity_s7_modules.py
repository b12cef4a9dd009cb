"""Session 7 parity with PyTorch: the nn.Module API (hooks, lookups, registry order, duplicates) and the
activation modules (every torch.nn activation, the `inplace` flags, in place inside a recorded graph)."""

from collections import OrderedDict

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F

torch = pytest.importorskip("torch")


def _both(build):
    """build(lib) run with torch and with tensorcore."""
    return build(torch), build(tc)


# --- Module API ----------------------------------------------------------------------------------

def test_forward_pre_and_post_hooks_run_modify_and_remove():
    def build(lib):
        calls = []
        m = lib.nn.Sequential(lib.nn.Linear(3, 2))
        h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
        h2 = m.register_forward_hook(lambda mod, args, out: calls.append(tuple(out.shape)))
        h3 = m.register_forward_hook(lambda mod, args, out: out + 1, prepend=True)
        y = m(lib.ones(4, 3))
        bias = m[0].bias.detach().numpy()
        for h in (h1, h2, h3):
            h.remove()
        m(lib.ones(4, 3))
        return calls, y.detach().numpy() - bias
    (calls_t, y_t), (calls_c, y_c) = _both(build)
    assert calls_c == calls_t == [(4, 2)]
    np.testing.assert_allclose(y_c, y_t)
    np.testing.assert_allclose(y_c, np.ones((4, 2)))


def test_forward_hooks_with_kwargs_and_handle_as_context_manager():
    seen = []
    m = nn.Linear(2, 2)
    with m.register_forward_pre_hook(lambda mod, args, kwargs: seen.append(kwargs) or None, with_kwargs=True):
        m(tc.ones(1, 2))
    m(tc.ones(1, 2))
    assert seen == [{}]


def test_get_submodule_parameter_buffer():
    def build(lib):
        m = lib.nn.Sequential(OrderedDict(features=lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))))
        return (type(m.get_submodule("features.1")).__name__, tuple(m.get_parameter("features.0.weight").shape),
                tuple(m.get_buffer("features.1.running_var").shape), m.get_submodule("") is m)
    assert _both(build)[0] == _both(build)[1]
    with pytest.raises(AttributeError):
        nn.Sequential(nn.ReLU()).get_submodule("1")


def test_replacing_a_submodule_keeps_its_place():
    def build(lib):
        s = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.ReLU(), lib.nn.ReLU())
        s[0] = lib.nn.Tanh()
        m = lib.nn.Module()
        m.conv1, m.fc = lib.nn.Linear(1, 2), lib.nn.Linear(2, 3)
        m.conv1 = lib.nn.Linear(1, 2, bias=False)  # the transfer-learning swap
        m.register_buffer("b", lib.zeros(1))
        m.register_buffer("c", lib.zeros(1))
        m.b = lib.ones(2)
        return ([type(x).__name__ for x in s], [n for n, _ in s.named_children()], list(m.state_dict()),
                [n for n, _ in m.named_parameters()])
    t, c = _both(build)
    assert c == t
    assert t[0] == ["Tanh", "ReLU", "ReLU"]


def test_duplicates_in_parameters_modules_and_state_dict():
    def build(lib):
        shared = lib.nn.Linear(2, 2)
        m = lib.nn.Sequential(shared, lib.nn.ReLU(), shared)
        return ([n for n, _ in m.named_parameters()], [n for n, _ in m.named_parameters(remove_duplicate=False)],
                [n for n, _ in m.named_modules()], [n for n, _ in m.named_modules(remove_duplicate=False)],
                list(m.state_dict()))
    t, c = _both(build)
    assert c == t
    assert t[4] == ["0.weight", "0.bias", "2.weight", "2.bias"]


# --- activation modules ----------------------------------------------------------------------------

ACTIVATIONS = [
    ("ReLU", (True,)), ("ReLU6", (True,)), ("ReLU6", ()), ("Hardtanh", (-2.0, 2.0, True)), ("SiLU", (True,)),
    ("Mish", (True,)), ("Hardswish", (True,)), ("Hardsigmoid", ()), ("PReLU", (4,)), ("PReLU", ()),
    ("SELU", (True,)), ("CELU", (0.5,)), ("GLU", (1,)), ("LogSigmoid", ()), ("Softmin", (1,)), ("Softmax2d", ()),
    ("Softsign", ()), ("Softshrink", ()), ("Hardshrink", (0.3,)), ("Tanhshrink", ()), ("Threshold", (0.1, 20.0)),
    ("ELU", (1.0, True)), ("LeakyReLU", (0.2, True)), ("Softplus", (2.0, 10.0)), ("Dropout", (0.5, True)),
]


@pytest.mark.parametrize("name,args", ACTIVATIONS)
def test_activation_module_forward_grad_repr(name, args):
    x0 = np.random.default_rng(0).standard_normal((2, 4, 3, 3)) * 3
    results = []
    for lib in (torch, tc):
        m = getattr(lib.nn, name)(*args).double()
        if name == "Dropout":
            m.eval()
        x = lib.tensor(x0.copy(), requires_grad=True)
        h = x * 1.0  # a non-leaf in the graph, as a layer's output is
        y = m(h)
        (y * y).sum().backward()
        results.append((repr(m), y.detach().numpy(), x.grad.numpy(), [p.grad.numpy() for p in m.parameters()],
                        h.detach().numpy()))
    (rt, yt, gt, pt, ht), (rc, yc, gc, pc, hc) = results
    assert rc == rt
    np.testing.assert_allclose(yc, yt, rtol=1e-12, atol=1e-12)
    # NOTE: torch's float64 hardsigmoid/hardswish backward uses a float32 1/6 (relative error 3e-8).
    np.testing.assert_allclose(gc, gt, rtol=1e-7 if name.startswith("Hards") else 1e-12, atol=1e-12)
    np.testing.assert_allclose(hc, ht, rtol=1e-12, atol=1e-12)  # the input of an inplace module is overwritten
    for a, b in zip(pc, pt):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_bilinear_module_matches_torch():
    w = np.arange(24.0).reshape(4, 2, 3) / 10
    outs = []
    for lib in (torch, tc):
        m = lib.nn.Bilinear(2, 3, 4).double()
        m.load_state_dict({"weight": lib.tensor(w), "bias": lib.tensor([1.0, 2, 3, 4], dtype=lib.float64)})
        outs.append((repr(m), m(lib.ones(5, 2, dtype=lib.float64), lib.ones(5, 3, dtype=lib.float64)).detach().numpy()))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_allclose(outs[1][1], outs[0][1])


def test_functional_inplace_flags_write_into_the_input():
    for fn, args in [("relu", ()), ("leaky_relu", (0.2,)), ("elu", (1.0,)), ("hardtanh", (-1.0, 1.0))]:
        x = tc.tensor([-2.0, 0.5, 3.0])
        y = getattr(F, fn)(x, *args, inplace=True)
        expected = getattr(torch.nn.functional, fn)(torch.tensor([-2.0, 0.5, 3.0]), *args)
        assert y is x
        np.testing.assert_allclose(x.numpy(), expected.numpy(), rtol=1e-6)
    x = tc.tensor([-1.0, 1.0])
    assert F.relu_(x) is x and x.tolist() == [0.0, 1.0]


def test_functional_dropout_takes_pytorchs_positional_inplace():
    x = tc.ones(1000)
    y = F.dropout(x, 0.5, True, True)  # (input, p, training, inplace), as torch.nn.functional.dropout
    assert y is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    z = tc.ones(3)
    assert F.dropout(z, 0.5, False, True) is z


def test_resnet_block_with_inplace_relu_matches_torch():
    rng = np.random.default_rng(1)
    x0, w0 = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((3, 3, 3, 3)) * 0.2
    results = []
    for lib in (torch, tc):
        conv = lib.nn.Conv2d(3, 3, 3, padding=1, bias=False).double()
        bn, relu = lib.nn.BatchNorm2d(3).double(), lib.nn.ReLU(inplace=True)
        conv.load_state_dict({"weight": lib.tensor(w0)})
        x = lib.tensor(x0, requires_grad=True)
        out = relu(relu(bn(conv(x))) + x)
        out.sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy(), conv.weight.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


# --- print(model) ----------------------------------------------------------------------------------

REPRS = [
    lambda nn: nn.BatchNorm1d(4), lambda nn: nn.BatchNorm2d(4, momentum=None, affine=False),
    lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.LayerNorm((3, 4), elementwise_affine=False),
    lambda nn: nn.LayerNorm(4, bias=False), lambda nn: nn.InstanceNorm1d(3, affine=True),
    lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), lambda nn: nn.MaxPool1d(2), lambda nn: nn.AvgPool1d(3, 2, 1),
    lambda nn: nn.AvgPool3d(2), lambda nn: nn.AdaptiveMaxPool2d(2), lambda nn: nn.AdaptiveAvgPool1d(1),
    lambda nn: nn.Dropout2d(0.2), lambda nn: nn.Dropout(0.3), lambda nn: nn.Upsample(scale_factor=2),
    lambda nn: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=False), lambda nn: nn.PixelShuffle(2),
    lambda nn: nn.PixelUnshuffle(2), lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1),
    lambda nn: nn.MSELoss(reduction="sum"), lambda nn: nn.SmoothL1Loss(), lambda nn: nn.ZeroPad2d(1),
    lambda nn: nn.ConstantPad1d(2, 3.5), lambda nn: nn.ReflectionPad2d((1, 0, 1, 0)), lambda nn: nn.Fold((4, 4), 2),
    lambda nn: nn.Unfold(2), lambda nn: nn.MultiheadAttention(8, 2, batch_first=True),
    lambda nn: nn.TransformerEncoderLayer(8, 2, 16),
    lambda nn: nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]),
    lambda nn: nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()), lambda nn: nn.ELU(0.5),
    lambda nn: nn.Softplus(), lambda nn: nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True),
]


@pytest.mark.parametrize("build", REPRS)
def test_module_repr_is_torchs(build):
    assert repr(build(tc.nn)) == repr(build(torch.nn))


def _block(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(2, 2)

        def extra_repr(self):
            return "width=2"

    return Block()


def test_repr_of_a_module_with_extra_and_children():
    expected = "Block(\n  width=2\n  (fc): Linear(in_features=2, out_features=2, bias=True)\n)"
    assert repr(_block(tc)) == repr(_block(torch)) == expected


# --- copy.deepcopy(model): target networks, EMA, best-model snapshots -------------------------------------------

def test_deepcopy_of_a_model_is_independent_and_trains_as_torchs():
    import copy

    rng = np.random.default_rng(3)
    states, next_states = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    actions, rewards = np.array([0, 1, 1, 0, 1, 0]), rng.standard_normal(6)
    results = []
    for lib in (torch, tc):
        policy = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2), lib.nn.BatchNorm1d(2))
        policy = policy.double()
        if lib is torch:
            state = {k: v.detach().numpy().copy() for k, v in policy.state_dict().items()}
        else:
            policy.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
        target = copy.deepcopy(policy)
        assert all(a is not b for a, b in zip(policy.parameters(), target.parameters()))
        assert type(target[0].weight).__name__ == "Parameter" and target[0].weight.requires_grad
        assert target[3].num_batches_tracked.dtype == policy[3].num_batches_tracked.dtype
        opt = lib.optim.SGD(policy.parameters(), lr=0.05, momentum=0.9)  # (Adam would amplify rounding-level grads)
        for _ in range(3):
            q = policy(lib.tensor(states)).gather(1, lib.tensor(actions).unsqueeze(1)).squeeze(1)
            with lib.no_grad():
                best = target(lib.tensor(next_states)).max(1)[0]
            loss = lib.nn.functional.smooth_l1_loss(q, lib.tensor(rewards) + 0.9 * best)
            opt.zero_grad()
            loss.backward()
            opt.step()
        before = [p.detach().numpy().copy() for p in target.parameters()]
        target.load_state_dict(policy.state_dict())
        results.append((loss.item(), before, [p.detach().numpy() for p in target.parameters()]))
    assert abs(results[0][0] - results[1][0]) < 1e-10
    for a, b in zip(results[0][1] + results[0][2], results[1][1] + results[1][2]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_nn_buffer_and_data_parallel_as_torch():
    def build(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(2, 2)
                self.mask = lib.nn.Buffer(lib.ones(2))
                self.tmp = lib.nn.Buffer(lib.zeros(1), persistent=False)

            def forward(self, x):
                return self.fc(x) * self.mask

        m = M()
        wrapped = lib.nn.DataParallel(m)
        return (type(m.mask).__name__, list(m.state_dict()), [n for n, _ in m.named_buffers()],
                list(wrapped.state_dict()), tuple(wrapped(lib.ones(3, 2)).shape), wrapped.module is m)
    assert _both(build)[0] == _both(build)[1]


def test_with_indices_spellings_and_upsample():
    x = np.random.default_rng(2).standard_normal((1, 2, 6, 6))
    outs = []
    for lib in (torch, tc):
        F = lib.nn.functional
        t = lib.tensor(x)
        o, i = F.max_pool2d_with_indices(t, 2)
        o1, i1 = F.adaptive_max_pool2d_with_indices(t, 3)
        outs.append([o.numpy(), i.numpy(), o1.numpy(), i1.numpy(), F.upsample(t, scale_factor=2).numpy()])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(b, a)
