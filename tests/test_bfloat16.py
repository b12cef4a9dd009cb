"""tc.bfloat16 (ml_dtypes' NumPy type) against torch.bfloat16: dtype rules, values, gradients, printing, save/load.

torch's bfloat16 values are compared through float32 (both hold the same bits; float32 holds every bfloat16).
"""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

R = np.random.default_rng(0)
BF = tc.bfloat16
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def _tc(a, requires_grad=False):
    return tc.tensor(np.asarray(a, np.float32), dtype=BF, requires_grad=requires_grad)


def _torch(a, requires_grad=False):
    return torch.tensor(np.asarray(a, np.float32)).to(torch.bfloat16).requires_grad_(requires_grad)


def _values(t):
    """A tensorcore or torch tensor's values as float32."""
    if isinstance(t, torch.Tensor):
        return t.detach().float().numpy()
    assert t.dtype == BF, t.dtype
    return t.numpy().astype(np.float32)


def test_dtype_finfo_and_floating():
    assert tc.bfloat16.name == "bfloat16" and tc.as_dtype("bfloat16") == BF
    x = tc.zeros(2, dtype=BF)
    assert x.is_floating_point() and tc.is_floating_point(x) and x.numpy().dtype == BF
    fi, ft = tc.finfo(BF), torch.finfo(torch.bfloat16)
    assert (float(fi.eps), float(fi.max), float(fi.tiny)) == (ft.eps, ft.max, ft.tiny)
    assert float(fi.eps) == 0.0078125 and float(fi.tiny) == pytest.approx(1.1755e-38, rel=1e-4)
    assert float(tc.finfo(tc.float16).eps) == torch.finfo(torch.float16).eps
    with pytest.raises(tc.DTypeError):
        tc.finfo(tc.int32)


@pytest.mark.parametrize("name", ["bfloat16", "float16", "float32", "float64"])
def test_finfo_fields_are_torch_finfo_values(name):
    ours, theirs = tc.finfo(getattr(tc, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, field) == getattr(theirs, field), field
        assert type(getattr(ours, field)) is type(getattr(theirs, field)), field
    assert ours.dtype == theirs.dtype
    assert tc.finfo().eps == torch.finfo().eps  # the default float type


@pytest.mark.parametrize("a", DTYPES)
def test_promote_types_matches_torch(a):
    for b in DTYPES:
        want = str(torch.promote_types(getattr(torch, a), getattr(torch, b))).replace("torch.", "")
        assert tc.promote_types(getattr(tc, a if a != "bool" else "bool_"), b).name == want, (a, b)


def test_result_type_and_operator_dtypes_match_torch():
    ours, theirs = _tc([1.0, 2.0]), _torch([1.0, 2.0])
    others = [(2.5, 2.5), (3, 3), (True, True), (tc.ones(2), torch.ones(2)), (tc.ones(2).half(), torch.ones(2).half()),
              (tc.ones(2, dtype=tc.int64), torch.ones(2, dtype=torch.int64)), (tc.tensor(2.0), torch.tensor(2.0))]
    for o, t in others:
        want = str(torch.result_type(theirs, t)).replace("torch.", "")
        assert tc.result_type(ours, o).name == want
        assert (ours + o).dtype.name == want and (ours * o).dtype.name == want


def test_creation_rounds_as_torch():
    vals = np.array([1.0, 1.00390625, 1.01171875, -3.14159, 1e-40, 65504.0, 3.4e38, np.inf, -np.inf, np.nan],
                    np.float32)
    np.testing.assert_array_equal(_values(_tc(vals)), _values(_torch(vals)))
    np.testing.assert_array_equal(_values(tc.tensor(vals.astype(np.float64)).bfloat16()), _values(_torch(vals)))
    assert tc.tensor([1, 2, 3], dtype=BF).dtype == BF and tc.ones(3, dtype="bfloat16").dtype == BF
    assert tc.randn(4, dtype=BF).dtype == BF and tc.zeros_like(_tc([1.0])).dtype == BF
    assert tc.tensor([1.5, 2.0]).to(BF).dtype == BF and _tc([1.0]).float().dtype == tc.float32
    shared = np.ones(3, BF)
    t = tc.from_numpy(shared)
    shared[0] = 2.5
    assert t.dtype == BF and t[0].item() == 2.5


def test_printing_matches_torch_values():
    vals = [1.5, 2.25, 3.1, -0.0123]
    ours, theirs = repr(_tc(vals)), repr(_torch(vals))
    assert ours.endswith("dtype=bfloat16)") and theirs.endswith("dtype=torch.bfloat16)")
    assert [float(v) for v in ours[8:ours.index("]")].split(",")] == [float(v) for v in
                                                                      theirs[8:theirs.index("]")].split(",")]
    assert repr(_tc(-1.13281)) == "tensor(-1.1328, dtype=bfloat16)"


@pytest.mark.parametrize("name", ["add", "mul", "sub", "div", "exp", "tanh", "sigmoid", "relu", "gelu", "softmax",
                                  "log_softmax", "sum", "mean", "max_pool2d", "avg_pool2d"])
def test_elementwise_and_reductions_match_torch(name):
    a, b = R.standard_normal((2, 3, 4, 6)), R.standard_normal((2, 3, 4, 6))
    fns = {"add": lambda m, x, y: x + y, "mul": lambda m, x, y: x * y, "sub": lambda m, x, y: x - y,
           "div": lambda m, x, y: x / (y.abs() + 0.5), "exp": lambda m, x, y: m.exp(x),
           "tanh": lambda m, x, y: m.tanh(x),
           "sigmoid": lambda m, x, y: m.sigmoid(x), "relu": lambda m, x, y: m.relu(x),
           "gelu": lambda m, x, y: (F if m is tc else TF).gelu(x), "softmax": lambda m, x, y: m.softmax(x, -1),
           "log_softmax": lambda m, x, y: m.log_softmax(x, -1), "sum": lambda m, x, y: x.sum(-1),
           "mean": lambda m, x, y: x.mean((0, 2)),
           "max_pool2d": lambda m, x, y: (F if m is tc else TF).max_pool2d(x, 2),
           "avg_pool2d": lambda m, x, y: (F if m is tc else TF).avg_pool2d(x, 2)}
    x, y = _tc(a, True), _tc(b)
    xt, yt = _torch(a, True), _torch(b)
    ours, theirs = fns[name](tc, x, y), fns[name](torch, xt, yt)
    assert ours.dtype == BF
    # one bfloat16 rounding apart at most (2^-7 relative: eps 2^-7 covers a tie broken the other way)
    np.testing.assert_allclose(_values(ours), _values(theirs), rtol=2 ** -7, atol=2 ** -9)
    g = R.standard_normal(ours.shape)
    ours.backward(_tc(g))
    theirs.backward(_torch(g))
    assert x.grad.dtype == BF
    # NOTE: the (log_)softmax backward g - p * sum(g) is composed of bfloat16 ops here (each rounded), fused in
    # float32 in PyTorch: where it cancels to near 0 the two differ by a few bfloat16 steps of sum(g)
    atol = 2 ** -5 if "softmax" in name else 2 ** -8
    np.testing.assert_allclose(_values(x.grad), _values(xt.grad), rtol=2 ** -6, atol=atol)


def test_long_sums_accumulate_in_float32_as_torch():
    ones = tc.ones(1000, dtype=BF)
    assert ones.sum().item() == torch.ones(1000, dtype=torch.bfloat16).sum().item() == 1000.0  # not 256
    x = R.standard_normal((64, 300))
    np.testing.assert_allclose(_values(_tc(x).sum(0)), _values(_torch(x).sum(0)), rtol=2 ** -7, atol=2 ** -7)
    u = R.random(100000)  # NumPy's own bfloat16 mean of these is 0.0026 (its bfloat16 running sum stops at 256)
    assert abs(_tc(u).mean().item() - _torch(u).mean().item()) <= 2 ** -8
    assert abs(_tc(u).sum().item() - float(u.astype(np.float32).astype(BF).astype(np.float64).sum())) <= 256


@pytest.mark.parametrize("name", ["matmul", "bmm", "linear", "conv2d", "conv1d", "conv_transpose2d"])
def test_gemm_ops_match_torch_with_float32_accumulation(name):
    shapes = {"matmul": ((5, 40), (40, 7)), "bmm": ((2, 5, 40), (2, 40, 7)), "linear": ((6, 40), (7, 40), (7,)),
              "conv2d": ((2, 3, 9, 9), (4, 3, 3, 3), (4,)), "conv1d": ((2, 3, 11), (4, 3, 3), (4,)),
              "conv_transpose2d": ((2, 3, 5, 5), (3, 4, 3, 3), (4,))}[name]
    arrays = [R.standard_normal(s) for s in shapes]
    ours_in, theirs_in = [_tc(a, True) for a in arrays], [_torch(a, True) for a in arrays]
    space = (tc if name in ("matmul", "bmm") else F), (torch if name in ("matmul", "bmm") else TF)
    ours, theirs = getattr(space[0], name)(*ours_in), getattr(space[1], name)(*theirs_in)
    assert ours.dtype == BF
    np.testing.assert_allclose(_values(ours), _values(theirs), rtol=2 ** -7, atol=2 ** -6)
    g = R.standard_normal(ours.shape)
    ours.backward(_tc(g))
    theirs.backward(_torch(g))
    for a, b in zip(ours_in, theirs_in):
        assert a.grad.dtype == BF
        np.testing.assert_allclose(_values(a.grad), _values(b.grad), rtol=2 ** -6, atol=2 ** -5)


def test_float32_accumulation_beats_a_bfloat16_one():
    # a length-4096 dot of ones with a small term: float32 accumulation keeps it, bfloat16 accumulation stalls at 256
    a = np.ones((1, 4096), np.float32)
    out = _tc(a) @ _tc(a.T)
    assert out.item() == 4096.0 == (_torch(a) @ _torch(a.T)).item()


def test_casts_keep_the_graph_and_the_gradient_dtype():
    w = tc.randn(3, 4, requires_grad=True)
    loss = (w.bfloat16() * 2).float().sum()
    loss.backward()
    assert w.grad.dtype == tc.float32 and np.array_equal(w.grad.numpy(), np.full((3, 4), 2.0, np.float32))
    x = tc.ones(2, dtype=BF).requires_grad_()
    assert x.requires_grad
    with pytest.raises(tc.DTypeError):
        tc.ones(2, dtype=tc.int32).requires_grad_()


def test_module_optimizer_and_save_load(tmp_path):
    tc.manual_seed(0)
    model = tc.nn.Linear(4, 3).bfloat16()
    assert model.weight.dtype == BF and model.bias.dtype == BF
    opt = tc.optim.Adam(model.parameters(), lr=0.1)
    before = model.weight.numpy().copy()
    F.cross_entropy(model(tc.randn(5, 4).bfloat16()).float(), tc.tensor([0, 1, 2, 0, 1])).backward()
    opt.step()
    assert model.weight.dtype == BF and not np.array_equal(model.weight.numpy(), before)
    path = tmp_path / "bf16.pt"
    tc.save({"model": model.state_dict(), "x": _tc([1.5, -2.25]), "raw": np.ones(2, BF)}, path)
    back = tc.load(path)
    assert back["x"].dtype == BF and back["raw"].dtype == BF
    np.testing.assert_array_equal(_values(back["x"]), [1.5, -2.25])
    fresh = tc.nn.Linear(4, 3).bfloat16()
    fresh.load_state_dict(back["model"])
    np.testing.assert_array_equal(fresh.weight.numpy().view(np.uint16), model.weight.numpy().view(np.uint16))


def test_autocast_bfloat16_matches_torch():
    x, w, b = R.standard_normal((6, 8)), R.standard_normal((5, 8)), R.standard_normal(5)
    xs = (tc.tensor(x, dtype=tc.float32), tc.tensor(w, dtype=tc.float32, requires_grad=True),
          tc.tensor(b, dtype=tc.float32, requires_grad=True))
    ts = (torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32, requires_grad=True),
          torch.tensor(b, dtype=torch.float32, requires_grad=True))
    with tc.autocast("cpu", dtype=tc.bfloat16):
        out = F.linear(*xs)
        loss = F.cross_entropy(out, tc.tensor([0, 1, 2, 3, 4, 0]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tout = TF.linear(*ts)
        tloss = TF.cross_entropy(tout, torch.tensor([0, 1, 2, 3, 4, 0]))
    assert out.dtype == BF and loss.dtype == tc.float32 and tloss.dtype == torch.float32
    np.testing.assert_allclose(_values(out), _values(tout), rtol=2 ** -7, atol=2 ** -6)
    loss.backward()
    tloss.backward()
    assert xs[1].grad.dtype == tc.float32
    np.testing.assert_allclose(xs[1].grad.numpy(), ts[1].grad.numpy(), rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(xs[2].grad.numpy(), ts[2].grad.numpy(), rtol=2e-2, atol=2e-3)
