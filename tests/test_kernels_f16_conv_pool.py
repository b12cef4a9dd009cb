"""float16 max and average pooling (kernels/pool.py) in the simulator: float16 in and out, float32 sums and
divisors, against float64 references of the same float16 inputs (overlapping windows, padding, odd sizes)."""

import numpy as np
import pytest

from .kernel_helpers import poisoned, requires_cuda, to_device, to_host
from .test_kernels_f16_conv import EPS32, check_half_sum, half

pytestmark = pytest.mark.kernels
H16 = np.float16
# (x shape, kernel, stride, padding): overlapping 3/2 windows with padding, and a non-square window.
CASES = [((1, 2, 7, 9), 3, 2, 1), ((1, 2, 5, 6), (2, 3), (1, 2), (1, 0))]


@pytest.fixture(scope="module")
def pool():
    from tensorcore.kernels import pool

    return pool


@requires_cuda
@pytest.mark.parametrize("case", CASES, ids=["3x3s2p1", "2x3"])
def test_max_pool_half(pool, rng, case):
    xs, k, s, p = case
    x = half(rng, xs)
    ref, ref_arg = pool.max_pool2d_forward_reference(x.astype(np.float64), k, s, p)
    out, arg = pool.max_pool2d_forward(to_device(x), k, s, p, out=poisoned(ref.shape, H16))
    assert to_host(out).dtype == H16
    np.testing.assert_array_equal(to_host(out).astype(np.float64), ref)  # a maximum is exact
    np.testing.assert_array_equal(to_host(arg), ref_arg)
    g = half(rng, ref.shape)
    dx = pool.max_pool2d_backward(to_device(g), arg, xs, k, s, p, out=poisoned(xs, H16))
    want = pool.max_pool2d_backward_reference(g.astype(np.float64), ref_arg, xs)
    abs_want = pool.max_pool2d_backward_reference(np.abs(g.astype(np.float64)), ref_arg, xs)
    check_half_sum(dx, want, abs_want, 4, "max backward")


@requires_cuda
@pytest.mark.parametrize("case", CASES, ids=["3x3s2p1", "2x3"])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_half(pool, rng, case, count_include_pad):
    xs, k, s, p = case
    x = half(rng, xs)
    x64 = x.astype(np.float64)
    ref = pool.avg_pool2d_forward_reference(x64, k, s, p, count_include_pad)
    out = pool.avg_pool2d_forward(to_device(x), k, s, p, count_include_pad, out=poisoned(ref.shape, H16))
    abs_ref = pool.avg_pool2d_forward_reference(np.abs(x64), k, s, p, count_include_pad)
    check_half_sum(out, ref, abs_ref, 10, "avg forward")  # 9 sums and a division
    g = half(rng, ref.shape)
    g64 = g.astype(np.float64)
    dx = pool.avg_pool2d_backward(to_device(g), xs, k, s, p, count_include_pad, out=poisoned(xs, H16))
    want = pool.avg_pool2d_backward_reference(g64, xs, k, s, p, count_include_pad)
    abs_want = pool.avg_pool2d_backward_reference(np.abs(g64), xs, k, s, p, count_include_pad)
    check_half_sum(dx, want, abs_want, 8, "avg backward")


def test_the_float32_bound_is_tight():
    """The tolerance helper fails a result rounded twice (float16 partial sums), so the tests above could fail."""
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (64, 40)).astype(H16).astype(np.float64)
    ref = a.sum(axis=1)
    twice = a[:, :20].sum(axis=1).astype(H16).astype(np.float64) + a[:, 20:].sum(axis=1).astype(H16)
    with pytest.raises(AssertionError):
        check_half_sum(twice.astype(H16), ref, np.abs(a).sum(axis=1), 40, "rounded twice")
    check_half_sum(ref.astype(np.float32).astype(H16), ref, np.abs(a).sum(axis=1), 40, "rounded once")
    assert EPS32 == 2.0**-24
