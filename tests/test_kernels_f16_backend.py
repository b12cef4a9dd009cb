"""The cuda backend's float16 wiring (tensorcore/backends/cuda.py, cuda_half.py): float16 tensors reach the
float16 kernels as they are (no widened copies), the sigmoid backward runs its kernel from the output, and
cross-entropy's mean comes from inside its kernel; results agree with the cpu device's (which computes float16
in float32 and rounds once), on a GPU or the simulated device."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

from .conftest import require_cuda

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _cuda():
    require_cuda()


@pytest.fixture
def calls(monkeypatch):
    """``calls[name]``: the dtypes of the first array argument of each call of these kernel wrappers."""
    import importlib

    seen = {}
    for family, names in {"activations": ("relu", "gelu", "sigmoid", "tanh", "relu_backward", "gelu_backward",
                                          "sigmoid_backward_from_output"),
                          "softmax": ("softmax", "log_softmax", "softmax_cross_entropy"),
                          "layernorm": ("layer_norm_forward", "layer_norm_backward"),
                          "attention": ("attention_forward", "attention_backward")}.items():
        module = importlib.import_module(f"tensorcore.kernels.{family}")
        for name in names:
            monkeypatch.setattr(module, name, _spy(seen, name, getattr(module, name)))
    return seen


def _spy(seen, name, fn):
    def spy(*args, **kw):
        seen.setdefault(name, []).append(np.dtype(args[0].dtype))
        return fn(*args, **kw)

    return spy


def _pair(a, requires_grad=True):
    cpu = tc.tensor(a, requires_grad=requires_grad)
    return cpu, tc.tensor(a).to("cuda").requires_grad_(requires_grad)


def _close(cuda_t, cpu_t, rtol=4e-3, atol=1e-3):
    got, want = cuda_t.to("cpu").numpy(), cpu_t.numpy()
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol)


@pytest.mark.parametrize("op", ["relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax"])
def test_half_elementwise_and_rows_reach_their_kernels(calls, op):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, (3, 12)).astype(np.float16)
    g = rng.uniform(-1, 1, (3, 12)).astype(np.float16)
    fn = {"softmax": lambda t: F.softmax(t, dim=-1), "log_softmax": lambda t: F.log_softmax(t, dim=-1)}.get(
        op, getattr(F, op))
    xc, xg = _pair(x)
    yc, yg = fn(xc), fn(xg)
    _close(yg, yc)
    yc.backward(tc.tensor(g))
    yg.backward(tc.tensor(g).to("cuda"))
    _close(xg.grad, xc.grad)
    assert calls[op] == [np.dtype(np.float16)], calls
    if op == "sigmoid":  # wired: one kernel from the output, not three CuPy ops
        assert calls["sigmoid_backward_from_output"] == [np.dtype(np.float16)]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_mean_from_inside_the_kernel(calls, dtype, reduction):
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, (5, 7)).astype(dtype)
    t = np.array([1, -100, 6, 0, 3])
    xc, xg = _pair(x)
    lc = F.cross_entropy(xc, tc.tensor(t), reduction=reduction)
    lg = F.cross_entropy(xg, tc.tensor(t).to("cuda"), reduction=reduction)
    _close(lg, lc, rtol=1e-5 if dtype == np.float32 else 4e-3)
    (lc.sum() if reduction == "none" else lc).backward()
    (lg.sum() if reduction == "none" else lg).backward()
    _close(xg.grad, xc.grad, rtol=1e-5 if dtype == np.float32 else 4e-3, atol=1e-6 if dtype == np.float32 else 1e-3)
    assert calls["softmax_cross_entropy"] == [np.dtype(dtype)]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cross_entropy_mean_over_no_rows_is_nan_with_zero_gradient(device):
    x = tc.tensor(np.ones((3, 4), np.float32)).to(device).requires_grad_(True)
    loss = F.cross_entropy(x, tc.tensor(np.full(3, -100)).to(device))
    assert np.isnan(loss.item())  # as PyTorch's
    loss.backward()
    assert (x.grad.to("cpu").numpy() == 0).all()


def test_half_layer_norm_and_attention_reach_their_kernels(calls):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, 3, 8)) + 4).astype(np.float16)
    w, b = rng.standard_normal(8).astype(np.float16), rng.standard_normal(8).astype(np.float16)
    (xc, xg), (wc, wg), (bc, bg) = _pair(x), _pair(w), _pair(b)
    yc, yg = F.layer_norm(xc, (8,), wc, bc), F.layer_norm(xg, (8,), wg, bg)
    _close(yg, yc, rtol=1e-2, atol=4e-3)
    yc.sum().backward()
    yg.sum().backward()
    for a, c in ((xg, xc), (wg, wc), (bg, bc)):
        _close(a.grad, c.grad, rtol=1e-2, atol=1e-2)
    assert calls["layer_norm_forward"] == calls["layer_norm_backward"] == [np.dtype(np.float16)]
    q = rng.standard_normal((1, 2, 5, 4)).astype(np.float16)
    (qc, qg) = _pair(q)
    oc = F.scaled_dot_product_attention(qc, qc, qc, is_causal=True)
    og = F.scaled_dot_product_attention(qg, qg, qg, is_causal=True)
    _close(og, oc, rtol=1e-2, atol=4e-3)
    oc.sum().backward()
    og.sum().backward()
    _close(qg.grad, qc.grad, rtol=2e-2, atol=1e-2)
    assert calls["attention_forward"] == calls["attention_backward"] == [np.dtype(np.float16)]
