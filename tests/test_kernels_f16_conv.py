"""float16 implicit-GEMM convolution (kernels/conv_implicit.py, kernels/conv_implicit_grad.py) and pooling
(kernels/pool.py) in the simulator: float16 in and out, float32 arithmetic, against float64 references of
the same float16 inputs, on tiny odd shapes (partial K steps and tiles, stride, padding, dilation, groups)."""

import numpy as np
import pytest

from .kernel_helpers import poisoned, requires_cuda, to_device, to_host

pytestmark = pytest.mark.kernels
H16 = np.float16
EPS32 = 2.0**-24  # float32 unit roundoff


def half(rng, shape):
    return rng.uniform(-1, 1, shape).astype(H16)


def check_half_sum(out, ref, abs_ref, terms, what):
    """Each float16 output is the rounding of a float32 sum of ``terms`` products: within half a float16 ulp of
    the float64 value plus the float32 summation bound ``terms eps32 sum|products|`` (``abs_ref``)."""
    out = to_host(out)
    assert out.dtype == H16, f"{what}: dtype {out.dtype}"
    out = out.astype(np.float64)
    assert not np.isnan(out).any(), f"{what}: NaN (an element was not written)"
    ulp = np.spacing(np.abs(ref).astype(H16)).astype(np.float64)
    err = np.abs(out - ref)
    bound = 0.5 * ulp + 2 * terms * EPS32 * abs_ref
    assert (err <= bound).all(), f"{what}: max error/bound {(err / bound).max():.3f}"
    assert (err <= 0.5 * ulp).mean() > 0.98, f"{what}: too few outputs correctly rounded"


@pytest.fixture(scope="module")
def conv_refs():
    from tensorcore.kernels import conv

    return conv


# (N, C, H, W, Co, kh, kw, stride, padding, dilation, groups): a partial K step (K = 18) with stride 2x1 (the
# strided input-gradient kernel), padding and dilation; and groups with stride 1 (the stride-1 input gradient).
CASES = [
    (2, 3, 9, 8, 5, 3, 2, (2, 1), (1, 0), (1, 2), 1),
    (1, 4, 5, 5, 6, 3, 3, (1, 1), (1, 1), (1, 1), 2),
]


@requires_cuda
@pytest.mark.parametrize("case", CASES, ids=["stride2-dilation", "groups"])
def test_conv_half_forward_and_gradients(conv_refs, rng, case):
    from tensorcore.kernels import conv_implicit, conv_implicit_grad

    N, C, H, W, Co, kh, kw, stride, padding, dilation, G = case
    geo = dict(stride=stride, padding=padding, dilation=dilation, groups=G)
    x, w, b = half(rng, (N, C, H, W)), half(rng, (Co, C // G, kh, kw)), half(rng, (Co,))
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    K = (C // G) * kh * kw
    want = conv_refs.conv2d_forward_reference(x64, w64, b64, **geo)
    y = poisoned(want.shape, H16)
    conv_implicit.conv2d_forward(to_device(x), to_device(w), to_device(b), out=y, **geo)
    abs_y = conv_refs.conv2d_forward_reference(np.abs(x64), np.abs(w64), np.abs(b64), **geo)
    check_half_sum(y, want, abs_y, K + 1, "forward")

    dy = half(rng, want.shape)
    dy64 = dy.astype(np.float64)
    dx = poisoned(x.shape, H16)
    conv_implicit.conv2d_backward_input(to_device(dy), to_device(w), x.shape, out=dx, **geo)
    want = conv_refs.conv2d_backward_input_reference(dy64, w64, x.shape, **geo)
    abs_dx = conv_refs.conv2d_backward_input_reference(np.abs(dy64), np.abs(w64), x.shape, **geo)
    check_half_sum(dx, want, abs_dx, (Co // G) * kh * kw, "input grad")

    want = conv_refs.conv2d_backward_weight_reference(x64, dy64, w.shape, **geo)
    abs_dw = conv_refs.conv2d_backward_weight_reference(np.abs(x64), np.abs(dy64), w.shape, **geo)
    for splits in (1, 3):  # float16 straight from the accumulators; float32 partials summed, rounded once
        dw = poisoned(w.shape, H16)
        conv_implicit_grad.conv2d_backward_weight(to_device(x), to_device(dy), w.shape, out=dw, splits=splits, **geo)
        check_half_sum(dw, want, abs_dw, dy.size // Co, f"weight grad, {splits} splits")


@requires_cuda
def test_conv_half_rejects_mixed_dtypes(rng):
    from tensorcore.kernels import conv_implicit

    x, w = half(rng, (1, 2, 4, 4)), half(rng, (3, 2, 3, 3))
    with pytest.raises(TypeError, match="conv2d_forward: w must have dtype float16"):
        conv_implicit.conv2d_forward(to_device(x), to_device(w.astype(np.float32)))
    with pytest.raises(TypeError, match="conv2d_forward: x must have dtype"):
        conv_implicit.conv2d_forward(to_device(x.astype(np.int32)), to_device(w))
