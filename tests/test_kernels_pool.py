"""Pooling kernels (kernels/pool.py) against float64 NumPy references."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device, to_host

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def pool():
    from tensorcore.kernels import pool

    return pool


# (x shape, kernel, stride, padding): overlapping windows (AlexNet's 3/2), padding, non-square, k = 1.
CASES = [((2, 3, 7, 9), 3, 2, 1), ((1, 2, 5, 6), (2, 3), (1, 2), (1, 0)), ((1, 1, 4, 4), 1, 1, 0)]


@requires_cuda
@pytest.mark.parametrize("case", CASES)
def test_max_pool(pool, rng, case):
    xs, k, s, p = case
    x = random(rng, xs, np.float64)
    ref, ref_arg = pool.max_pool2d_forward_reference(x, k, s, p)
    out, arg = poisoned(ref.shape, np.float64), to_device(np.full(ref.shape, -7, np.int32))
    r = pool.max_pool2d_forward(to_device(x), k, s, p, out=out, argmax_out=arg)
    assert r[0] is out and r[1] is arg
    assert_close(out, ref, np.float64, what="max forward")
    np.testing.assert_array_equal(to_host(arg), ref_arg)
    g = random(rng, ref.shape, np.float64)
    dx = pool.max_pool2d_backward(to_device(g), arg, xs, k, s, p, out=poisoned(xs, np.float64))
    assert_close(dx, pool.max_pool2d_backward_reference(g, ref_arg, xs), np.float64, what="max backward")


@requires_cuda
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool(pool, rng, case, count_include_pad):
    xs, k, s, p = case
    x = random(rng, xs, np.float64)
    ref = pool.avg_pool2d_forward_reference(x, k, s, p, count_include_pad)
    out = pool.avg_pool2d_forward(to_device(x), k, s, p, count_include_pad, out=poisoned(ref.shape, np.float64))
    assert_close(out, ref, np.float64, what="avg forward")
    g = random(rng, ref.shape, np.float64)
    dx = pool.avg_pool2d_backward(to_device(g), xs, k, s, p, count_include_pad, out=poisoned(xs, np.float64))
    assert_close(
        dx, pool.avg_pool2d_backward_reference(g, xs, k, s, p, count_include_pad), np.float64, what="avg backward"
    )


@requires_cuda
def test_max_pool_float32_nan_ties_and_errors(pool):
    x = np.zeros((1, 1, 3, 4), np.float32)  # all ties: the first maximum wins
    x[0, 0, 2, 3] = np.nan
    out, arg = pool.max_pool2d_forward(to_device(x), 2, 2)
    np.testing.assert_array_equal(to_host(arg), [[[[0, 2]]]])
    out, arg = pool.max_pool2d_forward(to_device(x), 2, 1)
    assert np.isnan(to_host(out)[0, 0, 1, 2]) and to_host(arg)[0, 0, 1, 2] == 11
    with pytest.raises(ValueError, match=r"max_pool2d_forward: padding \(2, 2\) must be at most half the kernel"):
        pool.max_pool2d_forward(to_device(x), 3, 1, 2)
    with pytest.raises(ValueError, match="max_pool2d_forward: x must be 4-D"):
        pool.max_pool2d_forward(to_device(x[0]), 2)
    with pytest.raises(TypeError, match="argmax must have dtype int32"):
        pool.max_pool2d_backward(
            to_device(np.ones((1, 1, 1, 2), np.float32)), to_device(np.zeros((1, 1, 1, 2))), x.shape, 2, 2
        )


@requires_gpu
@pytest.mark.gpu
def test_pool_large_gpu(pool, rng):
    xs = (16, 64, 55, 55)
    x = random(rng, xs, np.float32)
    ref, ref_arg = pool.max_pool2d_forward_reference(x, 3, 2)
    out, arg = pool.max_pool2d_forward(to_device(x), 3, 2)
    assert_close(out, ref, np.float32)
    np.testing.assert_array_equal(to_host(arg), ref_arg)
    g = random(rng, ref.shape, np.float32)
    assert_close(
        pool.max_pool2d_backward(to_device(g), arg, xs, 3, 2),
        pool.max_pool2d_backward_reference(g, ref_arg, xs),
        np.float32,
    )
    assert_close(
        pool.avg_pool2d_forward(to_device(x), 3, 2, 1), pool.avg_pool2d_forward_reference(x, 3, 2, 1), np.float32
    )
