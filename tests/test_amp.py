"""tc.autocast and tc.amp.GradScaler: dtypes op by op against torch.autocast("cpu"), gradients against PyTorch's,
the region's semantics (nesting, threads, decorator, float64 untouched), and the scaler's skip and back-off."""

import threading
import warnings

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn as nn
import tensorcore.nn.functional as F
from tensorcore.amp import policy
from tensorcore.ops.registry import OPS

try:
    import torch

    TF = torch.nn.functional
except ImportError:  # the oracle tests skip; the others run
    torch = TF = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the oracle) is not installed")

R = np.random.default_rng(0)


def _n(*shape):
    return R.standard_normal(shape)


def _pm1(*shape):
    return np.where(R.standard_normal(shape) > 0, 1.0, -1.0)


def _u(*shape):
    return R.uniform(0.05, 0.95, shape)


def _i(high, *shape):
    return R.integers(0, high, shape)


# name, namespace ("t": tc / torch, "F": nn.functional), arguments (float arrays are cast, int arrays kept), kwargs
CASES = [
    ("matmul", "t", lambda: (_n(3, 4), _n(4, 5)), {}),
    ("mm", "t", lambda: (_n(3, 4), _n(4, 5)), {}),
    ("bmm", "t", lambda: (_n(2, 3, 4), _n(2, 4, 5)), {}),
    ("baddbmm", "t", lambda: (_n(2, 3, 5), _n(2, 3, 4), _n(2, 4, 5)), {}),
    ("addmm", "t", lambda: (_n(3, 5), _n(3, 4), _n(4, 5)), {}),
    ("addbmm", "t", lambda: (_n(3, 5), _n(2, 3, 4), _n(2, 4, 5)), {}),
    ("linear", "F", lambda: (_n(3, 4), _n(5, 4), _n(5)), {}),
    ("conv1d", "F", lambda: (_n(2, 3, 9), _n(4, 3, 3)), {}),
    ("conv2d", "F", lambda: (_n(2, 3, 7, 7), _n(4, 3, 3, 3), _n(4)), {}),
    ("conv3d", "F", lambda: (_n(1, 2, 5, 5, 5), _n(3, 2, 3, 3, 3)), {}),
    ("conv_transpose1d", "F", lambda: (_n(2, 3, 7), _n(3, 4, 3)), {}),
    ("conv_transpose2d", "F", lambda: (_n(2, 3, 5, 5), _n(3, 4, 3, 3)), {}),
    ("prelu", "F", lambda: (_n(2, 3, 4), _u(3)), {}),
    ("scaled_dot_product_attention", "F", lambda: (_n(2, 4, 5), _n(2, 4, 5), _n(2, 4, 5)), {}),
    ("cross_entropy", "F", lambda: (_n(4, 5), _i(5, 4)), {}),
    ("nll_loss", "F", lambda: (_n(4, 5), _i(5, 4)), {}),
    ("mse_loss", "F", lambda: (_n(4, 5), _n(4, 5)), {}),
    ("l1_loss", "F", lambda: (_n(4, 5), _n(4, 5)), {}),
    ("smooth_l1_loss", "F", lambda: (_n(4, 5), _n(4, 5)), {}),
    ("huber_loss", "F", lambda: (_n(4, 5), _n(4, 5)), {}),
    ("kl_div", "F", lambda: (_n(4, 5), _u(4, 5)), {"reduction": "batchmean"}),
    ("binary_cross_entropy_with_logits", "F", lambda: (_n(4, 5), _u(4, 5)), {}),
    ("binary_cross_entropy", "F", lambda: (_u(4, 5), _u(4, 5)), {}),
    ("poisson_nll_loss", "F", lambda: (_n(4, 5), _u(4, 5)), {}),
    ("cosine_embedding_loss", "F", lambda: (_n(4, 5), _n(4, 5), _pm1(4)), {}),
    ("hinge_embedding_loss", "F", lambda: (_n(4, 5), _pm1(4, 5)), {}),
    ("margin_ranking_loss", "F", lambda: (_n(4), _n(4), _pm1(4)), {}),
    ("soft_margin_loss", "F", lambda: (_n(4, 5), _pm1(4, 5)), {}),
    ("triplet_margin_loss", "F", lambda: (_n(4, 5), _n(4, 5), _n(4, 5)), {}),
    ("multilabel_soft_margin_loss", "F", lambda: (_n(4, 5), (_u(4, 5) > 0.5) * 1.0), {}),
    ("prod", "t", lambda: (_u(3, 4),), {}),
    ("quantile", "t", lambda: (_n(3, 4), 0.3), {}),
    ("cdist", "t", lambda: (_n(3, 4), _n(5, 4)), {}),
    ("trace", "t", lambda: (_n(4, 4),), {}),
    ("max_pool3d", "F", lambda: (_n(1, 2, 4, 4, 4), 2), {}),
    ("avg_pool3d", "F", lambda: (_n(1, 2, 4, 4, 4), 2), {}),
    ("adaptive_avg_pool3d", "F", lambda: (_n(1, 2, 4, 4, 4), 2), {}),
    ("multi_margin_loss", "F", lambda: (_n(3, 4), _i(4, 3)), {}),
    ("multilabel_margin_loss", "F", lambda: (_n(3, 4), np.array([[0, 2, -1, 0]] * 3)), {}),
    ("local_response_norm", "F", lambda: (_n(1, 4, 3, 3), 2), {}),
    ("max_unpool1d", "F", lambda: (_n(1, 2, 3), np.array([[[0, 3, 5], [1, 2, 4]]]), 2), {}),
    ("pad", "F", lambda: (_n(1, 2, 5), (1, 2)), {"mode": "reflect"}),
    ("pad", "F", lambda: (_n(1, 2, 5), (1, 2)), {"mode": "replicate"}),
    ("pad", "F", lambda: (_n(1, 2, 5), (1, 2)), {"mode": "circular"}),
    ("pad", "F", lambda: (_n(1, 2, 5), (1, 2)), {}),
    ("interpolate", "F", lambda: (_n(1, 2, 3, 3),), {"scale_factor": 2, "mode": "bilinear"}),
    ("cat", "t", lambda: ([_n(2, 3), _n(2, 3)],), {}),
    ("stack", "t", lambda: ([_n(2, 3), _n(2, 3)],), {}),
    ("index_copy", "t", lambda: (_n(5, 3), 0, _i(5, 2), _n(2, 3)), {}),
    # unlisted on cpu: they run in their inputs' dtype (on cuda softmax, sum, exp ... are float32 ops)
    ("softmax", "F", lambda: (_n(4, 5),), {"dim": -1}),
    ("log_softmax", "F", lambda: (_n(4, 5),), {"dim": -1}),
    ("layer_norm", "F", lambda: (_n(4, 5), (5,)), {}),
    ("exp", "t", lambda: (_n(4, 5),), {}),
    ("sum", "t", lambda: (_n(4, 5),), {}),
    ("relu", "F", lambda: (_n(4, 5),), {}),
    ("add", "t", lambda: (_n(4, 5), _n(4, 5)), {}),
    ("tanh", "t", lambda: (_n(4, 5),), {}),
]


def _call(lib, case, dtypes, low="float16"):
    """Run the case under lib's cpu autocast (dtype `low`), each float argument in the next of `dtypes`; the out
    dtype."""
    name, space, make, kwargs = case
    rng_state = R.bit_generator.state
    arrays = make()
    R.bit_generator.state = rng_state
    it = iter(dtypes)

    def conv(a):
        if isinstance(a, list):
            return [conv(x) for x in a]
        if not isinstance(a, np.ndarray):
            return a
        if a.dtype.kind == "f":
            d = next(it)
            if lib is tc:
                return tc.tensor(a.astype(d))
            return torch.tensor(a.astype(np.float32)).to(getattr(torch, np.dtype(d).name))
        return tc.tensor(a) if lib is tc else torch.tensor(a)

    args = [conv(a) for a in arrays]
    fn = getattr(F if space == "F" else tc, name) if lib is tc else getattr(TF if space == "F" else torch, name)
    ctx = tc.autocast("cpu", dtype=getattr(tc, low)) if lib is tc else torch.autocast("cpu", dtype=getattr(torch, low))
    with ctx:
        out = fn(*args, **kwargs)
    return str(out.dtype).replace("torch.", "")


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(c[3].get("mode", "")) for c in CASES])
def test_autocast_dtype_matches_torch_cpu(case):
    for low in ("float16", "bfloat16"):
        for dtypes in [("float32",) * 4, (low,) * 4, (low, "float32") * 2]:
            dts = [tc.bfloat16 if d == "bfloat16" else getattr(np, d) for d in dtypes]
            want = _call(torch, case, dts, low=low)
            got = _call(tc, case, dts, low=low)
            assert got == want, f"{case[0]} under {low} with inputs {dtypes[:2]}: tensorcore {got}, torch {want}"


@needs_torch
def test_recurrent_layers_under_cpu_autocast_match_torch():
    # PyTorch's cpu LSTM and RNN run in bfloat16 under autocast (oneDNN, aten's rnn_tanh), its GRU in float32
    for name, kwargs in (("LSTM", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {})):
        ours, theirs = getattr(nn, name)(4, 3, **kwargs), getattr(torch.nn, name)(4, 3, **kwargs)
        with tc.autocast("cpu", dtype=tc.bfloat16):
            out, h = ours(tc.randn(5, 2, 4))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            tout, th = theirs(torch.randn(5, 2, 4))
        assert str(out.dtype) == str(tout.dtype).replace("torch.", ""), name
        hs, ths = (h if isinstance(h, tuple) else (h,)), (th if isinstance(th, tuple) else (th,))
        assert [str(t.dtype) for t in hs] == [str(t.dtype).replace("torch.", "") for t in ths], name
        out.float().sum().backward()
        assert all(p.grad.dtype == tc.float32 for p in ours.parameters())


@needs_torch
def test_mv_keeps_its_inputs_dtype_as_torch():  # tensorcore's mv calls matmul; PyTorch's cpu mv is unlisted
    for low in ("float16", "bfloat16"):
        with tc.autocast("cpu", dtype=getattr(tc, low)), torch.autocast("cpu", dtype=getattr(torch, low)):
            assert tc.mv(tc.randn(3, 4), tc.randn(4)).dtype == tc.float32
            assert torch.mv(torch.randn(3, 4), torch.randn(4)).dtype == torch.float32


def test_bfloat16_is_the_cpu_default_and_refused_on_cuda():
    with tc.autocast("cpu"):  # PyTorch's cpu default is bfloat16
        assert tc.get_autocast_dtype("cpu") == tc.bfloat16
        assert (tc.ones(2, 3) @ tc.ones(3, 2)).dtype == tc.bfloat16
    with tc.autocast("cpu", dtype="bfloat16"):
        assert F.linear(tc.ones(2, 3), tc.ones(4, 3)).dtype == tc.bfloat16
    with pytest.raises(tc.DTypeError, match="no bfloat16"):
        tc.autocast("cuda", dtype=tc.bfloat16)
    with pytest.raises(tc.DeviceError):
        tc.autocast("tpu")


def test_unsupported_dtype_or_missing_cuda_warns_and_disables():
    with pytest.warns(UserWarning, match="not supported. Disabling"):
        a = tc.autocast("cpu", dtype=tc.float32)
    with a:
        assert (tc.ones(2, 2) @ tc.ones(2, 2)).dtype == tc.float32
    if not tc.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            tc.autocast("cuda")


def test_unlisted_ops_are_not_wrapped_and_listed_ones_are(monkeypatch):
    # with some autocast region open, listed ops go through autocast's dispatch and unlisted ones never do
    seen = []
    monkeypatch.setattr(policy, "active", 1)
    monkeypatch.setattr(policy, "dispatch", lambda name, op, args, kwargs: seen.append(name) or op(*args, **kwargs))
    x, w = tc.randn(2, 3), tc.randn(3, 3)
    OPS["relu"](x), OPS["add"](x, x)
    assert seen == []
    OPS["matmul"](x, w), OPS["linear"](x, w), OPS["sum"](x), OPS["cat"]([x, x])
    x @ w
    assert seen == ["matmul", "linear", "sum", "cat", "matmul"]


def test_operators_modules_and_float64():
    x, w = tc.randn(3, 4), tc.randn(4, 2)
    conv = nn.Conv2d(1, 2, 3)
    with tc.autocast("cpu", dtype=tc.float16):
        assert (x @ w).dtype == tc.float16
        assert nn.Linear(4, 2)(x).dtype == tc.float16
        assert conv(tc.randn(1, 1, 5, 5)).dtype == tc.float16
        assert (x.double() @ w.double()).dtype == tc.float64  # float64 is never cast
        assert tc.matmul(tc.ones(2, 2, dtype=tc.int64), tc.ones(2, 2, dtype=tc.int64)).dtype == tc.int64
        assert F.softmax(x.half(), dim=-1, dtype=tc.float64).dtype == tc.float64  # an explicit dtype= holds


def test_nesting_decorator_and_threads():
    x = tc.randn(2, 2)
    seen = {}

    @tc.autocast("cpu", dtype=tc.float16)
    def decorated():
        return (x @ x).dtype

    def other_thread():
        seen["dtype"] = (x @ x).dtype

    with tc.autocast("cpu", dtype=tc.float16):
        assert tc.is_autocast_enabled("cpu") and not tc.is_autocast_enabled("cuda")
        with tc.autocast("cpu", enabled=False):
            assert (x @ x).dtype == tc.float32
        assert (x @ x).dtype == tc.float16
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen["dtype"] == tc.float32  # autocast state is per thread
    assert (x @ x).dtype == tc.float32 and not tc.is_autocast_enabled("cpu")
    assert decorated() == tc.float16
    assert policy.active == 0


def test_weight_cast_is_cached_within_a_region():
    lin = nn.Linear(4, 4)
    x = tc.randn(2, 4)
    with tc.autocast("cpu", dtype=tc.float16):
        a, b = lin(x), lin(x)
        assert a.grad_fn.next[1] is b.grad_fn.next[1]  # one cast node for the weight, used twice
    with tc.autocast("cpu", dtype=tc.float16, cache_enabled=False):
        a, b = lin(x), lin(x)
        assert a.grad_fn.next[1] is not b.grad_fn.next[1]


def _torch_mlp(tmlp):
    m = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    with torch.no_grad():
        for tp, p in zip(m.parameters(), tmlp.parameters()):
            tp.copy_(torch.tensor(p.numpy()))
    return m


@needs_torch
def test_gradients_under_autocast_match_torch():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    tmodel = _torch_mlp(model)
    x, y = _n(8, 6).astype(np.float32), _i(3, 8)
    with tc.autocast("cpu", dtype=tc.float16):
        logits = model(tc.tensor(x))
        loss = F.cross_entropy(logits, tc.tensor(y))
    with torch.autocast("cpu", dtype=torch.float16):
        tlogits = tmodel(torch.tensor(x))
        tloss = TF.cross_entropy(tlogits, torch.tensor(y))
    assert (logits.dtype, loss.dtype) == (tc.float16, tc.float32)
    assert (tlogits.dtype, tloss.dtype) == (torch.float16, torch.float32)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=2e-3)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        assert p.grad.dtype == tc.float32  # the weights' dtype, as in PyTorch
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=2e-2, atol=2e-3)


# --- GradScaler --------------------------------------------------------------------------------------------

def _sgd_setup():
    w = tc.tensor([1.0, 2.0], requires_grad=True)
    return w, tc.optim.SGD([w], lr=0.1)


def test_scaler_scales_unscales_and_steps():
    w, opt = _sgd_setup()
    scaler = tc.amp.GradScaler("cpu", init_scale=8.0)
    loss = (w * w).sum()
    scaled = scaler.scale(loss)
    assert scaled.item() == pytest.approx(8.0 * loss.item())
    scaled.backward()
    np.testing.assert_allclose(w.grad.numpy(), 8.0 * 2 * np.array([1.0, 2.0]))
    scaler.step(opt)  # unscales first
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 0.1 * 2, 2.0 - 0.1 * 4])
    scaler.update()
    assert scaler.get_scale() == 8.0


def test_scaler_skips_the_step_and_backs_off_on_an_injected_inf():
    w, opt = _sgd_setup()
    scaler = tc.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=2)
    for inject in (float("inf"), float("nan")):
        scaler.scale((w * w).sum()).backward()
        w.grad._data[0] = inject  # an overflowed gradient
        before = w.detach().numpy().copy()
        assert scaler.step(opt) is None
        np.testing.assert_array_equal(w.detach().numpy(), before)  # skipped
        scale = scaler.get_scale()
        scaler.update()
        assert scaler.get_scale() == scale * 0.5
        assert scaler.state_dict()["_growth_tracker"] == 0
        opt.zero_grad()
    for _ in range(2):  # growth_interval clean steps: the scale doubles
        scaler.scale((w * w).sum()).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
    assert scaler.get_scale() == 2.0**14 * 2


@needs_torch
def test_scaler_sequence_matches_torch():
    pattern = [False, True, False, False, False, True, True, False, False, False]
    ours = tc.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3, backoff_factor=0.25, growth_factor=4.0)
    theirs = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3, backoff_factor=0.25, growth_factor=4.0)
    w, opt = _sgd_setup()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1)
    for bad in pattern:
        ours.scale((w * w).sum()).backward()
        theirs.scale((tw * tw).sum()).backward()
        if bad:
            w.grad._data[1] = np.inf
            tw.grad[1] = float("inf")
        ours.step(opt)
        theirs.step(topt)
        ours.update()
        theirs.update()
        opt.zero_grad()
        topt.zero_grad()
        assert ours.get_scale() == theirs.get_scale()
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    assert ours.state_dict() == theirs.state_dict()


def test_scaler_state_dict_errors_and_disabled():
    w, opt = _sgd_setup()
    scaler = tc.amp.GradScaler("cpu", init_scale=4.0)
    with pytest.raises(tc.GradientError, match="_scale is None"):
        scaler.step(opt)
    scaler.scale((w * w).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(tc.GradientError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(tc.GradientError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(tc.GradientError, match="Closure"):
        scaler.step(opt, closure=lambda: 0)
    scaler.update(new_scale=32.0)
    assert scaler.get_scale() == 32.0
    other = tc.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 32.0 and other.state_dict() == scaler.state_dict()
    with pytest.raises(tc.GradientError, match="No inf checks"):
        fresh = tc.amp.GradScaler("cpu")
        fresh.scale(tc.ones(1))
        fresh.update()
    off = tc.amp.GradScaler("cpu", enabled=False)
    loss = (w * w).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(tc.GradientError, match="empty"):
        tc.amp.GradScaler("cpu").load_state_dict({})


def test_device_namespaces():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with tc.cpu.amp.autocast(dtype=tc.float16):
            assert (tc.ones(2, 2) @ tc.ones(2, 2)).dtype == tc.float16
        assert isinstance(tc.cpu.amp.GradScaler(), tc.amp.GradScaler)
        assert issubclass(tc.cuda.amp.autocast, tc.autocast)
    with pytest.warns(FutureWarning, match="deprecated"):
        tc.cpu.amp.GradScaler()
    assert tc.GradScaler is tc.amp.GradScaler and tc.autocast is tc.amp.autocast
