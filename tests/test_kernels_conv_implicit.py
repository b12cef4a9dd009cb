"""Implicit-GEMM convolution (kernels/conv_implicit.py) against the float64 references of kernels/conv.py:
odd sizes, padding, stride, dilation, groups, partial tiles in every direction, poisoned outputs."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, to_device, to_host

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def ci():
    from tensorcore.kernels import conv_implicit

    return conv_implicit


@pytest.fixture(scope="module")
def ref():
    from tensorcore.kernels import conv

    return conv


# (N, C, H, W, Co, kh, kw, stride, padding, dilation, groups): a partial K step (K = 18 = 8 + 8 + 2)
# with stride, padding and dilation; groups with a stride-1 input gradient; and two row tiles and two
# column tiles (Co = 65 > BM = 64, N Ho Wo = 162 > BN = 128).
CASES = [
    (2, 3, 9, 8, 5, 3, 2, (2, 1), (1, 0), (1, 2), 1),
    (1, 4, 5, 5, 6, 3, 3, (1, 1), (1, 1), (1, 1), 2),
]


@requires_cuda
@pytest.mark.parametrize("case", CASES)
def test_forward_and_input_gradient(ci, ref, rng, case):
    N, C, H, W, Co, kh, kw, stride, padding, dilation, G = case
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=G)
    x = random(rng, (N, C, H, W), np.float64)
    w = random(rng, (Co, C // G, kh, kw), np.float64)
    b = random(rng, (Co,), np.float64)
    want = ref.conv2d_forward_reference(x, w, b, **kw_)
    out = poisoned(want.shape, np.float64)
    ci.conv2d_forward(to_device(x), to_device(w), to_device(b), out=out, **kw_)
    assert_close(out, want, np.float64, what="forward")
    dy = random(rng, want.shape, np.float64)
    dx = poisoned(x.shape, np.float64)
    ci.conv2d_backward_input(to_device(dy), to_device(w), x.shape, out=dx, **kw_)
    assert_close(dx, ref.conv2d_backward_input_reference(dy, w, x.shape, **kw_), np.float64, what="input grad")


@requires_cuda
def test_the_128_row_tile(ci, ref, rng):
    N, C, H, W, Co, kh, kw, stride, padding, dilation, G = CASES[1]
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=G, tile=128)
    x, w = random(rng, (N, C, H, W), np.float64), random(rng, (Co, C // G, kh, kw), np.float64)
    want = ref.conv2d_forward_reference(x, w, None, stride=stride, padding=padding, dilation=dilation, groups=G)
    assert_close(ci.conv2d_forward(to_device(x), to_device(w), **kw_), want, np.float64, what="forward")
    dy = random(rng, want.shape, np.float64)
    dx = ci.conv2d_backward_input(to_device(dy), to_device(w), x.shape, **kw_)
    want_dx = ref.conv2d_backward_input_reference(dy, w, x.shape, stride=stride, padding=padding, groups=G)
    assert_close(dx, want_dx, np.float64, what="input grad")
    assert [ci.choose_tile(m) for m in (64, 65, 192, 256, 384)] == [64, 128, 64, 128, 128]


@requires_cuda
def test_two_tiles_each_way_float32_no_bias(ci, ref, rng):
    x = random(rng, (2, 1, 9, 9), np.float32)
    w = random(rng, (65, 1, 3, 3), np.float32)
    out = ci.conv2d_forward(to_device(x), to_device(w), padding=1)
    assert_close(out, ref.conv2d_forward_reference(x, w, padding=1), np.float32, tol=1e-6)
    w3 = w[:3]
    dy = random(rng, (2, 3, 9, 9), np.float32)
    dx = ci.conv2d_backward_input(to_device(dy), to_device(w3), x.shape, padding=1)
    assert_close(dx, ref.conv2d_backward_input_reference(dy, w3, x.shape, padding=1), np.float32, tol=1e-6)


@requires_cuda
def test_errors_name_the_function(ci, rng):
    x = to_device(random(rng, (1, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="conv2d_forward: input .* do not fit groups=2"):
        ci.conv2d_forward(x, to_device(random(rng, (4, 3, 3, 3), np.float32)), groups=2)
    with pytest.raises(ValueError, match=r"conv2d_backward_input: grad_out must have shape \(1, 4, 3, 3\)"):
        ci.conv2d_backward_input(to_device(np.zeros((1, 4, 2, 2), np.float32)),
                                 to_device(random(rng, (4, 3, 3, 3), np.float32)), (1, 3, 5, 5))
    assert to_host(ci.conv2d_forward(x, to_device(np.zeros((0, 3, 3, 3), np.float32)))).shape == (1, 0, 3, 3)
