"""LayerNorm kernels (kernels/layernorm.py) against float64 NumPy references, in the simulator or on a GPU."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device, to_host

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def ln():
    from tensorcore.kernels import layernorm

    return layernorm


def _check(ln, rng, R, C, dtype, affine, offset=0.0, rows_per_chunk=None, tol=None):
    x = random(rng, (R, C), dtype, -2, 2) + dtype(offset)
    w, b = (random(rng, (C,), dtype, 0.5, 1.5), random(rng, (C,), dtype)) if affine else (None, None)
    g = random(rng, (R, C), dtype)
    dev = [None if a is None else to_device(a) for a in (x, w, b)]
    out = poisoned((R, C), dtype)
    y, mean, rstd = ln.layer_norm_forward(*dev, eps=1e-5, out=out)
    assert y is out
    ref_y, ref_mean, ref_rstd = ln.layer_norm_reference(x, w, b, eps=1e-5)
    what = f"{R}x{C} {np.dtype(dtype).name} affine={affine} offset={offset}"
    for name, a, ref in (("y", y, ref_y), ("mean", mean, ref_mean), ("rstd", rstd, ref_rstd)):
        assert_close(a, ref, dtype, tol=tol, what=f"{name} {what}")
    dx, dw, db = ln.layer_norm_backward(to_device(g), dev[0], dev[1], mean, rstd, rows_per_chunk=rows_per_chunk)
    refs = ln.layer_norm_backward_reference(g, x, w, eps=1e-5)
    for name, a, ref in zip(("dx", "dweight", "dbias"), (dx, dw, db), refs):
        assert_close(a, ref, dtype, tol=tol, what=f"{name} {what}")
    return to_host(dw), to_host(db)


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("R, C, affine", [(7, 13, True), (5, 1, False), (3, 70, True)])
def test_layer_norm_forward_backward(ln, rng, dtype, R, C, affine):
    # C = 1: variance 0 (y = bias); C = 70: several 32-column steps per lane, the last partial
    _check(ln, rng, R, C, dtype, affine)


@requires_cuda
def test_layer_norm_large_mean_and_several_chunks(ln, rng):
    """Rows with mean 1e3 and spread 1 (Welford loses no digits); dw/db from 4 partial chunks."""
    _check(ln, rng, 7, 13, np.float64, True, offset=1e3, rows_per_chunk=2, tol=1e-10)
    _check(ln, rng, 7, 13, np.float32, True, offset=10.0, rows_per_chunk=2, tol=1e-5)


@requires_cuda
def test_layer_norm_backward_is_deterministic(ln, rng):
    x, g = random(rng, (9, 11), np.float32), random(rng, (9, 11), np.float32)
    _, mean, rstd = ln.layer_norm_forward(to_device(x))
    runs = [ln.layer_norm_backward(to_device(g), to_device(x), None, mean, rstd, rows_per_chunk=3) for _ in range(2)]
    for a, b in zip(*runs):
        assert np.array_equal(to_host(a), to_host(b))


@requires_cuda
def test_layer_norm_errors(ln):
    x = to_device(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"layer_norm_forward: weight must have shape \(4,\), got \(3,\)"):
        ln.layer_norm_forward(x, to_device(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="weight must have dtype float32, got float64"):
        ln.layer_norm_forward(x, to_device(np.ones(4)))
    with pytest.raises(ValueError, match="x2d must be 2-D"):
        ln.layer_norm_forward(to_device(np.ones(4, np.float32)))


@requires_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("R, C", [(4097, 768), (1000, 1031), (3, 50257)])
def test_layer_norm_large_gpu(ln, rng, R, C):
    _check(ln, rng, R, C, np.float32, True, tol=1e-5)
