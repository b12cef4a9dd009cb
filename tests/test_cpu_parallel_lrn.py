"""The fused local_response_norm node (ops/lrn_fused.py, backends/cpu_parallel_lrn.py) against the NumPy composite.

Values and gradients (the kernel's plain backward and the Tensor rule) for 3-, 4- and 5-D inputs, odd
and even window sizes (wider than the channels too), beta = 0.75 and others, float32 and float64,
non-contiguous inputs; gradcheck and double backward in float64; identical results for 1 and 2 threads.
"""

import numpy as np
import pytest

pytest.importorskip("numba", reason="the parallel CPU kernels need numba (the NumPy path is tested elsewhere)")

import tensorcore as tc  # noqa: E402
from tensorcore.autograd import set_fast_backward  # noqa: E402
from tensorcore.backends import cpu_parallel  # noqa: E402
from tensorcore.ops import lrn_fused  # noqa: E402
from tensorcore.ops.norm import local_response_norm as composite  # noqa: E402

TOL = {np.float32: 3e-6, np.float64: 1e-13}
# (shape, size, alpha, beta, k)
CASES = [
    ((2, 7, 5, 6), 5, 5e-4, 0.75, 2.0),
    ((3, 4, 9), 2, 1e-2, 0.75, 1.0),  # 3-D, even window
    ((1, 3, 4, 3, 5), 7, 0.3, 0.6, 0.5),  # 5-D, window wider than the channels, another beta
    ((2, 9, 3, 4), 1, 1.0, 1.3, 1.0),
    ((2, 6, 7, 5), 4, 2.0, 0.75, 0.2),  # large alpha: the window term dominates
]


@pytest.fixture
def kernels_for_every_size(monkeypatch):
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)


def _close(a, b, dtype):
    assert a.shape == b.shape and a.dtype == b.dtype == np.dtype(dtype)
    scale = max(float(np.abs(b).max()), 1.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * scale)


def _run(fn, xa, ga, args, fast=True):
    x = tc.tensor(xa, requires_grad=True)
    y = fn(x, *args)
    set_fast_backward(fast)
    try:
        y.backward(tc.tensor(ga))
    finally:
        set_fast_backward(True)
    return y.numpy(), x.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_fused_matches_the_composite(case, dtype, kernels_for_every_size):
    shape, *args = case
    rng = np.random.default_rng(1)
    xa = (rng.standard_normal(shape) * 3).astype(dtype)
    ga = rng.standard_normal(shape).astype(dtype)
    assert lrn_fused.takes(tc.tensor(xa))
    want = _run(composite, xa, ga, args)
    for x_in in (xa, np.swapaxes(np.swapaxes(xa, 0, 1).copy(), 0, 1)):  # contiguous and a strided view
        for fast in (True, False):  # the kernel's backward and the Tensor rule
            for got, ref in zip(_run(lrn_fused.local_response_norm, x_in, ga, args, fast), want):
                _close(got, ref, dtype)


def test_gradcheck_and_double_backward(kernels_for_every_size):
    rng = np.random.default_rng(2)
    shape, *args = CASES[0]
    xa = rng.standard_normal(shape)
    x = tc.tensor(xa, requires_grad=True)
    assert tc.gradcheck(lambda t: lrn_fused.local_response_norm(t, *args), (x,))
    v = tc.tensor(rng.standard_normal(shape))
    seconds = []
    for fn in (lrn_fused.local_response_norm, composite):
        x = tc.tensor(xa, requires_grad=True)
        (gx,) = tc.autograd.grad((fn(x, *args) * v).sum(), (x,), create_graph=True)
        (ggx,) = tc.autograd.grad((gx * gx).sum(), (x,))
        seconds.append(ggx.numpy())
    np.testing.assert_allclose(seconds[0], seconds[1], rtol=1e-10, atol=1e-12)


def test_the_same_for_one_and_two_threads(kernels_for_every_size, monkeypatch):
    rng = np.random.default_rng(3)
    xa = rng.standard_normal((3, 11, 20, 9)).astype(np.float32)
    ga = rng.standard_normal(xa.shape).astype(np.float32)
    runs = []
    for threads in (1, 2, 1):
        monkeypatch.setattr(cpu_parallel, "PARALLEL_MIN_ELEMENTS", 0)
        monkeypatch.setattr(cpu_parallel, "_threads", threads)
        runs.append(_run(lrn_fused.local_response_norm, xa, ga, (5, 5e-4, 0.75, 2.0)))
    for run in runs[1:]:
        for a, b in zip(run, runs[0]):
            assert np.array_equal(a, b)


def test_takes_only_large_cpu_float32_and_float64():
    assert lrn_fused.takes(tc.zeros(2, 96, 20, 20))
    assert not lrn_fused.takes(tc.zeros(2, 3, 4, 4))  # below MIN_ELEMENTS: the composite
    assert not lrn_fused.takes(tc.zeros(2, 96, 20, 20, dtype=tc.float16))
    assert not lrn_fused.takes(tc.zeros(96, 400 * 4))  # 2-D: the composite's error message


def test_matches_pytorch(kernels_for_every_size):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference where installed")
    rng = np.random.default_rng(4)
    xa = (rng.standard_normal((2, 13, 9, 8)) * 5).astype(np.float32)
    ga = rng.standard_normal(xa.shape).astype(np.float32)
    got = _run(lrn_fused.local_response_norm, xa, ga, (5, 5e-4, 0.75, 2.0))
    xt = torch.tensor(xa, requires_grad=True)
    yt = torch.nn.functional.local_response_norm(xt, 5, alpha=5e-4, beta=0.75, k=2.0)
    yt.backward(torch.tensor(ga))
    for a, b in zip(got, (yt.detach().numpy(), xt.grad.numpy())):
        _close(a, b, np.float32)
