"""Convolution (kernels/conv.py: im2col/col2im + GEMM) against float64 NumPy direct convolution."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def conv():
    from tensorcore.kernels import conv

    return conv


# (x shape, w shape, stride, padding, dilation, groups): odd sizes, every option, N = 1 and N > 1.
CASES = [
    ((2, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    ((1, 3, 5, 5), (2, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((3, 1, 4, 3), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1), 1),
]


@requires_cuda
@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv2d_forward_and_gradients(conv, rng, case, monkeypatch):
    from tensorcore.kernels import gemm

    monkeypatch.setattr(conv, "GEMM_TILE", gemm.SMALL_TILE if case else gemm.TILE)  # case 0: real tile
    xs, ws, stride, padding, dilation, groups = CASES[case]
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    dtype = np.float64
    x, w, b = random(rng, xs, dtype), random(rng, ws, dtype), random(rng, (ws[0],), dtype)
    ref = conv.conv2d_forward_reference(x, w, b, **kw)
    out = poisoned(ref.shape, dtype)
    assert conv.conv2d_forward(to_device(x), to_device(w), to_device(b), out=out, **kw) is out
    assert_close(out, ref, dtype, what="forward")
    dy = random(rng, ref.shape, dtype)
    dx = conv.conv2d_backward_input(to_device(dy), to_device(w), xs, out=poisoned(xs, dtype), **kw)
    assert_close(dx, conv.conv2d_backward_input_reference(dy, w, xs, **kw), dtype, what="input grad")
    dw = conv.conv2d_backward_weight(to_device(x), to_device(dy), ws, out=poisoned(ws, dtype), **kw)
    assert_close(dw, conv.conv2d_backward_weight_reference(x, dy, ws, **kw), dtype, what="weight grad")
    db = conv.conv2d_backward_bias(to_device(dy), out=poisoned((ws[0],), dtype))
    assert_close(db, conv.conv2d_backward_bias_reference(dy), dtype, what="bias grad")


@requires_cuda
def test_conv2d_float32_chunked_batches(conv, rng, monkeypatch):
    """Batches larger than MAX_COL_BYTES run in image chunks (forward, input and weight grads)."""
    from tensorcore.kernels import gemm

    monkeypatch.setattr(conv, "GEMM_TILE", gemm.SMALL_TILE)
    xs, ws = (3, 2, 5, 4), (3, 2, 2, 2)
    monkeypatch.setattr(conv, "MAX_COL_BYTES", 2 * 8 * 12 * 4)  # two images' columns per chunk
    x, w = random(rng, xs, np.float32), random(rng, ws, np.float32)
    ref = conv.conv2d_forward_reference(x, w, padding=1)
    assert_close(conv.conv2d_forward(to_device(x), to_device(w), padding=1), ref, np.float32, what="forward")
    dy = random(rng, ref.shape, np.float32)
    assert_close(
        conv.conv2d_backward_input(to_device(dy), to_device(w), xs, padding=1),
        conv.conv2d_backward_input_reference(dy, w, xs, padding=1),
        np.float32,
        what="input grad",
    )
    assert_close(
        conv.conv2d_backward_weight(to_device(x), to_device(dy), ws, padding=1),
        conv.conv2d_backward_weight_reference(x, dy, ws, padding=1),
        np.float32,
        what="weight grad",
    )


@requires_cuda
def test_conv2d_errors(conv, rng):
    x = to_device(random(rng, (1, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"conv2d_forward: input \(1, 4, 5, 5\) and weight \(2, 3, 3, 3\) do not fit"):
        conv.conv2d_forward(x, to_device(random(rng, (2, 3, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="kernel 7x7 .* larger than padded input 5x5"):
        conv.conv2d_forward(x, to_device(random(rng, (2, 4, 7, 7), np.float32)))
    with pytest.raises(TypeError, match="conv2d_forward: w must have dtype float32"):
        conv.conv2d_forward(x, to_device(random(rng, (2, 4, 3, 3), np.float64)))
    with pytest.raises(ValueError, match=r"conv2d_backward_input: grad_out must have shape \(1, 2, 3, 3\)"):
        conv.conv2d_backward_input(
            to_device(np.ones((1, 2, 4, 4), np.float32)), to_device(random(rng, (2, 4, 3, 3), np.float32)), (1, 4, 5, 5)
        )


@requires_gpu
@pytest.mark.gpu
def test_conv2d_alexnet_like_gpu(conv, rng):
    xs, ws, kw = (8, 3, 63, 63), (64, 3, 11, 11), dict(stride=4, padding=2)
    x, w, b = random(rng, xs, np.float32), random(rng, ws, np.float32), random(rng, (64,), np.float32)
    ref = conv.conv2d_forward_reference(x, w, b, **kw)
    assert_close(conv.conv2d_forward(to_device(x), to_device(w), to_device(b), **kw), ref, np.float32, tol=1e-5)
    dy = random(rng, ref.shape, np.float32)
    assert_close(
        conv.conv2d_backward_input(to_device(dy), to_device(w), xs, **kw),
        conv.conv2d_backward_input_reference(dy, w, xs, **kw),
        np.float32,
        tol=1e-5,
    )
    assert_close(
        conv.conv2d_backward_weight(to_device(x), to_device(dy), ws, **kw),
        conv.conv2d_backward_weight_reference(x, dy, ws, **kw),
        np.float32,
        tol=1e-5,
    )
    xs2, ws2 = (4, 8, 13, 13), (12, 4, 3, 3)
    x2, w2 = random(rng, xs2, np.float32), random(rng, ws2, np.float32)
    kw2 = dict(padding=1, groups=2)
    assert_close(
        conv.conv2d_forward(to_device(x2), to_device(w2), **kw2),
        conv.conv2d_forward_reference(x2, w2, **kw2),
        np.float32,
        tol=1e-5,
    )
