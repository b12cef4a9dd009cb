"""Implicit-GEMM convolution gradients (kernels/conv_implicit_grad.py) against the float64 references of
kernels/conv.py: strided input gradients by stride phase, the split-K weight gradient; odd sizes, padding,
dilation, groups, partial tiles, poisoned outputs."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, to_device

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def cg():
    from tensorcore.kernels import conv_implicit_grad

    return conv_implicit_grad


@pytest.fixture(scope="module")
def ref():
    from tensorcore.kernels import conv

    return conv


# (N, C, H, W, Co, kh, kw, stride, padding, dilation, groups): stride 2 x 3 with padding and a phase
# whose taps are fewer (kh = 3 over stride 2); stride 4 with an 5 x 5 kernel, dilation 2 and groups
# (phases with no tap at all: every dilated tap lands on an even residue); H < stride in one axis.
CASES = [
    (2, 3, 7, 8, 5, 3, 2, (2, 3), (1, 1), (1, 1), 1),
    (1, 4, 9, 3, 4, 3, 1, (4, 2), (2, 0), (2, 1), 2),
]


@requires_cuda
@pytest.mark.parametrize("case", CASES)
def test_strided_input_gradient(cg, ref, rng, case):
    N, C, H, W, Co, kh, kw, stride, padding, dilation, G = case
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=G)
    w = random(rng, (Co, C // G, kh, kw), np.float64)
    Ho, Wo = (ref.output_size(s, k, st, p, d) for s, k, st, p, d in zip((H, W), (kh, kw), stride, padding, dilation))
    dy = random(rng, (N, Co, Ho, Wo), np.float64)
    dx = poisoned((N, C, H, W), np.float64)
    cg.conv2d_backward_input(to_device(dy), to_device(w), (N, C, H, W), out=dx, **kw_)
    want = ref.conv2d_backward_input_reference(dy, w, (N, C, H, W), **kw_)
    assert_close(dx, want, np.float64, what="strided input grad")


@requires_cuda
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("splits", [1, 3])
def test_weight_gradient(cg, ref, rng, case, splits):
    N, C, H, W, Co, kh, kw, stride, padding, dilation, G = case
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=G)
    x = random(rng, (N, C, H, W), np.float64)
    want_y = ref.conv2d_forward_reference(x, random(rng, (Co, C // G, kh, kw), np.float64), **kw_)
    dy = random(rng, want_y.shape, np.float64)
    dw = poisoned((Co, C // G, kh, kw), np.float64)
    cg.conv2d_backward_weight(to_device(x), to_device(dy), dw.shape, out=dw, splits=splits, **kw_)
    assert_close(dw, ref.conv2d_backward_weight_reference(x, dy, dw.shape, **kw_), np.float64, what="weight grad")


@requires_cuda
def test_weight_gradient_two_column_tiles_float32(cg, ref, rng):
    # K = 3 * 7 * 7 = 147 > 128 columns, Cog = 65 > 64 rows with the 64-row tile: a partial tile both ways;
    # N Ho Wo = 2 * 3 * 3 = 18: a partial last K step.
    x = random(rng, (2, 3, 9, 9), np.float32)
    dy = random(rng, (2, 65, 3, 3), np.float32)
    dw = cg.conv2d_backward_weight(to_device(x), to_device(dy), (65, 3, 7, 7), stride=2, padding=1, tile=64)
    want = ref.conv2d_backward_weight_reference(x, dy, (65, 3, 7, 7), stride=2, padding=1)
    assert_close(dw, want, np.float32, tol=1e-6)


def test_phase_tables_cover_every_tap_once(cg):
    # Every (input pixel, tap) pair that reaches an output appears in exactly one phase.
    H, k, s, p, d = 11, 11, 4, 2, 1
    seen = 0
    for first, count, taps in cg._axis_phases(H, k, s, p, d):
        for t in range(count):
            for i, off in taps:
                assert (first + s * t + p - i * d) == s * (t + off)
                seen += 1
    assert seen == sum(1 for h in range(H) for i in range(k) if (h + p - i * d) % s == 0) == 30
    assert [len(t) for _, _, t in cg._axis_phases(H, k, s, p, d)] == [3, 3, 3, 2]
    assert cg.weight_splits(3, 48400) >= 1 and cg.weight_splits(3, 10) == 1


@requires_cuda
@pytest.mark.parametrize("mode,C", [("implicit", 3), ("implicit", 16), ("im2col", 3)])
def test_cuda_backend_strided_conv_gradients_match_the_cpu(rng, mode, C):
    # C = 3: the input gradient through im2col (3 of 64 tile rows would be filled), C = 16: implicit.
    from tensorcore.kernels import conv_implicit_grad

    import tensorcore as tc

    assert conv_implicit_grad.input_grad_is_implicit(C) == (C == 16)
    be = tc.device("cuda").backend
    x = random(rng, (2, C, 7, 6), np.float32)
    w = random(rng, (4, C, 3, 3), np.float32)
    grads = {}
    old = be.conv
    try:
        be.conv = mode
        for dev in ("cpu", "cuda"):
            xt = tc.tensor(x, device=dev, requires_grad=True)
            wt = tc.tensor(w, device=dev, requires_grad=True)
            y = tc.nn.functional.conv2d(xt, wt, stride=2, padding=1)
            (y * y).sum().backward()
            grads[dev] = (y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy())
    finally:
        be.conv = old
    for a, b in zip(grads["cpu"], grads["cuda"]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
