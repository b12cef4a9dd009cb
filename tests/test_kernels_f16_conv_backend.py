"""The cuda backend's float16 convolution and pooling (tensorcore/backends/cuda.py): float16 tensors reach the
implicit-GEMM and pooling kernels as they are (no widened copies), and conv2d / max_pool2d / avg_pool2d forward
and backward agree with the cpu device's float16 results, on a GPU or the simulated device."""

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
    """``calls[name]``: the dtype of the first array argument of each call of these kernel wrappers."""
    import importlib

    seen = {}
    for family, names in {"conv_implicit": ("conv2d_forward", "conv2d_backward_input"),
                          "conv_implicit_grad": ("conv2d_backward_weight",),
                          "pool": ("max_pool2d_forward", "avg_pool2d_forward", "avg_pool2d_backward")}.items():
        module = importlib.import_module(f"tensorcore.kernels.{family}")
        for name in names:
            monkeypatch.setattr(module, name, _spy(seen, name, getattr(module, name)))
    return seen


def _spy(seen, name, fn):
    def spy(*args, **kw):
        seen.setdefault(name, []).append(np.dtype(args[0].dtype))
        return fn(*args, **kw)

    return spy


def _close(cuda_t, cpu_t, rtol=4e-3, atol=2e-3):
    got, want = cuda_t.to("cpu").numpy(), cpu_t.numpy()
    assert got.dtype == want.dtype == np.float16, (got.dtype, want.dtype)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol)


def _compare_devices(x, w, net):
    """net(x, w) -> outputs, on the cpu and on cuda: the outputs and both input gradients (of the last output's sum)
    agree."""
    out = {}
    for dev in ("cpu", "cuda"):
        xt = tc.tensor(x).to(dev).requires_grad_(True)
        wt = tc.tensor(w).to(dev).requires_grad_(True)
        ys = net(xt, wt)
        ys[-1].sum().backward()
        out[dev] = (*ys, xt.grad, wt.grad)
    for got, want in zip(out["cuda"], out["cpu"]):
        _close(got, want)


def test_half_conv_and_pools_reach_their_kernels(calls):
    rng = np.random.default_rng(0)
    # 16 input channels: the input gradient runs implicit (conv_implicit_grad.MIN_IMPLICIT_INPUT_CHANNELS)
    x = rng.uniform(-1, 1, (1, 16, 5, 5)).astype(np.float16)
    w = rng.uniform(-0.3, 0.3, (3, 16, 3, 3)).astype(np.float16)
    def net(xt, wt):
        y = F.conv2d(xt, wt, stride=2, padding=1)
        return y, F.max_pool2d(y, 2, 1) + F.avg_pool2d(y, 2, 1)

    _compare_devices(x, w, net)
    for name in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "max_pool2d_forward",
                 "avg_pool2d_forward", "avg_pool2d_backward"):
        assert calls.get(name) == [np.dtype(np.float16)], (name, calls.get(name))


def test_half_conv_with_few_input_channels_widens_its_input_gradient(calls):
    """3 input channels: the input gradient runs im2col + GEMM (float32 only), through float32 copies; the forward
    and the weight gradient still reach the float16 implicit kernels."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1, 3, 5, 4)).astype(np.float16)
    w = rng.uniform(-0.5, 0.5, (2, 3, 3, 3)).astype(np.float16)
    _compare_devices(x, w, lambda xt, wt: (F.conv2d(xt, wt, padding=1),))
    assert calls["conv2d_forward"] == calls["conv2d_backward_weight"] == [np.dtype(np.float16)], calls
    assert "conv2d_backward_input" not in calls, calls  # kernels/conv.py's, on float32 copies
