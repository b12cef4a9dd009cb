"""2-D convolution (cross-correlation, NCHW), forward and both gradients, through im2col + the GEMM.

Math (``G`` groups, ``Cg = C / G`` input and ``Cog = Co / G`` output channels per group)::

    out[n, co, oh, ow] = bias[co] + sum_{cg, i, j} w[co, cg, i, j] *
                         x[n, g Cg + cg, oh sh - ph + i dh, ow sw - pw + j dw]        (g = co // Cog)
    Ho = (H + 2 ph - dh (kh - 1) - 1) // sh + 1, likewise Wo; zero padding.

Shapes: ``x (N, C, H, W)``, ``w (Co, Cg, kh, kw)``, ``bias (Co,)``, ``out (N, Co, Ho, Wo)``; float32 or
float64, C-contiguous. FLOPs ``2 N Co Ho Wo Cg kh kw`` for each of forward, input grad, weight grad.

Method: im2col/col2im feeding the tiled GEMM. The cuda backend runs every pass as an implicit GEMM
instead (kernels/conv_implicit.py: forward and stride-1 input gradient; kernels/conv_implicit_grad.py:
strided input gradients by stride phase and the split-K weight gradient; no column matrix, the k -> tap
decoding in host-built tables), and uses this module for input gradients with fewer than 16 input
channels per group (AlexNet conv1's 3: the implicit GEMM's rows are the channels, im2col's are
``Cg kh kw``). The column matrix is ``kh kw / (sh sw)`` times the
input (conv1 at batch 128: 363 x 387,200 floats = 0.56 GB written once and read once, about 0.3 ms
at 4 TB/s). Large batches are processed in chunks of images so it stays under ``MAX_COL_BYTES``
(``tc.backends.cuda.conv = "im2col"`` runs every pass here).

Layout: ``col[g, k, n P + p]`` (``G, K = Cg kh kw, N P`` with ``P = Ho Wo``, ``k = (cg kh + i) kw + j``),
so each group's problem is a single GEMM over all images:

* forward:       ``Y[g] (Cog, N P) = W[g] (Cog, K) @ col[g]``   (NN, bias per row fused), then
                 ``Y (Co, N, P)`` is transposed to ``out (N, Co, P)`` (skipped when N == 1);
* input grad:    ``dcol[g] = W[g]^T @ dY[g]``                   (TN), then col2im (a gather: each
                 input pixel sums the column entries that read it; no atomics, deterministic);
* weight grad:   ``dW[g] (Cog, K) = dY[g] (Cog, N P) @ col[g]^T`` (NT, split-K over the long N P);
* bias grad:     ``db[co] = sum_{n, p} dY[n, co, p]``           (a warp per channel, shuffles).

Kernels (all 1-D grid-stride, 256 threads, ``min(cdiv(n, 256), 16 SMs)`` blocks, bounds-guarded;
flat indices are decoded with 32-bit unsigned division, a third of the instructions of Numba's
default 64-bit division, so sizes must stay below 2^32 elements, which the wrappers check):
``im2col`` (one thread per column entry: reads 1 input element or pads with 0, writes 1 entry),
``col2im`` (one thread per input pixel, reading ``<= kh kw`` column entries), ``swap01`` (``(A, B, P) ->
(B, A, P)``: reads and writes each element once, coalesced along ``P``), ``bias_grad`` (4 warps
per block, a warp per channel).

Wrappers::

    conv2d_forward(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                   out=None, stream=None)
    conv2d_backward_input(grad_out, w, x_shape, stride, padding, dilation, groups, out=None, stream=None)
    conv2d_backward_weight(x, grad_out, w_shape, stride, padding, dilation, groups, out=None, stream=None)
    conv2d_backward_bias(grad_out, out=None, stream=None)

    y = conv2d_forward(x, w, b, stride=(4, 4), padding=(2, 2))
    dx = conv2d_backward_input(dy, w, x.shape, stride=(4, 4), padding=(2, 2))
"""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from . import _launch, gemm

#: Largest column matrix (bytes) built at once; bigger batches are processed in image chunks.
MAX_COL_BYTES = 512 * 1024 * 1024
#: The GEMM tile the convolution uses (tests may swap in ``gemm.SMALL_TILE`` to run faster in the simulator).
GEMM_TILE = gemm.TILE
#: Warps per block of the bias-gradient reduction.
BIAS_WARPS = 4
_FULL_MASK = 0xFFFFFFFF
div32, divmod32, unravel4 = _launch.div32, _launch.divmod32, _launch.unravel4  # 32-bit unsigned index decoding


def output_size(size, kernel, stride, padding, dilation):
    """Output length of one spatial axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def make_im2col_kernel(dtype):
    """``col[g, k, n P + p] = x[n, g Cg + cg, oh sh - ph + i dh, ow sw - pw + j dw]`` (0 outside).

    Args ``(x (N, C, H, W), col (G, K, N P), kh, kw, sh, sw, ph, pw, dh, dw, Wo)``.
    """
    T = _launch.numba_type(dtype)

    def im2col(x, col, kh, kw, sh, sw, ph, pw, dh, dw, Wo):
        N, C, H, W = x.shape
        G, K, NP = col.shape
        Cg = C // G
        P = NP // N
        total = G * K * NP
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            t, q = divmod32(i, NP)
            g, k = divmod32(t, K)
            n, p = divmod32(q, P)
            oh, ow = divmod32(p, Wo)
            t2, j = divmod32(k, kw)
            cg, ki = divmod32(t2, kh)
            ih = oh * sh - ph + ki * dh
            iw = ow * sw - pw + j * dw
            v = T(0.0)
            if ih >= 0 and ih < H and iw >= 0 and iw < W:
                v = x[n, g * Cg + cg, ih, iw]
            col[g, k, q] = v
            i += stride

    return _launch.named(im2col, "im2col", dtype)


def make_col2im_kernel(dtype):
    """``dx[n, c, h, w] = sum`` of the ``dcol`` entries that im2col read from ``x[n, c, h, w]``.

    Args ``(dcol (G, K, N P), dx (N, C, H, W), kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo)``.
    """
    T = _launch.numba_type(dtype)

    def col2im(dcol, dx, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo):
        N, C, H, W = dx.shape
        G = dcol.shape[0]
        Cg = C // G
        P = Ho * Wo
        total = N * C * H * W
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            n, c, ih, iw = unravel4(i, C, H, W)
            g, cg = divmod32(c, Cg)
            acc = T(0.0)
            for ki in range(kh):
                hnum = ih + ph - ki * dh
                if hnum >= 0:
                    oh = div32(hnum, sh)
                    if oh * sh == hnum and oh < Ho:
                        for kj in range(kw):
                            wnum = iw + pw - kj * dw
                            if wnum >= 0:
                                ow = div32(wnum, sw)
                                if ow * sw == wnum and ow < Wo:
                                    acc += dcol[g, (cg * kh + ki) * kw + kj, n * P + oh * Wo + ow]
            dx[n, c, ih, iw] = acc
            i += stride

    return _launch.named(col2im, "col2im", dtype)


def make_swap01_kernel(dtype):
    """``dst[b, a, p] = src[a, b, p]``; args ``(src (A, B, P), dst (B, A, P))``."""

    def swap01(src, dst):
        A, B, P = src.shape
        total = A * B * P
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            t, p = divmod32(i, P)
            b, a = divmod32(t, A)
            dst[b, a, p] = src[a, b, p]
            i += stride

    return _launch.named(swap01, "swap01", dtype)


def make_bias_grad_kernel(dtype):
    """``db[c] = sum_{n, p} dy[n, c, p]``; a warp per channel; args ``(dy (N, Co, P), db (Co,))``."""
    T = _launch.numba_type(dtype)

    def conv_bias_grad(dy, db):
        N, Co, P = dy.shape
        lane = cuda.threadIdx.x % 32
        c = cuda.blockIdx.x * BIAS_WARPS + cuda.threadIdx.x // 32
        while c < Co:  # uniform across the warp
            acc = T(0.0)
            for n in range(N):
                p = lane
                while p < P:
                    acc += dy[n, c, p]
                    p += 32
            off = 16
            while off > 0:
                acc += cuda.shfl_xor_sync(_FULL_MASK, acc, off)
                off //= 2
            if lane == 0:
                db[c] = acc
            c += cuda.gridDim.x * BIAS_WARPS

    return _launch.named(conv_bias_grad, "conv_bias_grad", dtype)


_MAKERS = {
    "im2col": make_im2col_kernel,
    "col2im": make_col2im_kernel,
    "swap01": make_swap01_kernel,
    "bias_grad": make_bias_grad_kernel,
}


def _kernel(name, dtype):
    return _launch.built(_MAKERS[name], dtype)


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of the convolution's own kernels (the
    GEMMs it launches are listed by :mod:`gemm`)."""
    out = []
    i64 = numba.int64
    for dtype in _launch.FLOAT_DTYPES:
        t = _launch.numba_type(dtype)
        a4, a3 = t[:, :, :, ::1], t[:, :, ::1]
        sigs = {
            "im2col": numba.void(a4, a3, *([i64] * 9)),
            "col2im": numba.void(a3, a4, *([i64] * 10)),
            "swap01": numba.void(a3, a3),
            "bias_grad": numba.void(a3, t[::1]),
        }
        for name, sig in sigs.items():
            fn = _MAKERS[name](dtype)
            out.append((fn.__name__, fn, [sig], None))
    return out


def _pair(fn, name, v):
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    v = tuple(int(e) for e in v)
    if len(v) != 2:
        raise ValueError(f"{fn}: {name} must be an int or a pair, got {v}")
    return v


def _params(fn, x_shape, w_shape, stride, padding, dilation, groups):
    """Check the geometry; return ``(sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo)``."""
    stride, padding, dilation = (
        _pair(fn, n, v) for n, v in (("stride", stride), ("padding", padding), ("dilation", dilation))
    )
    G = int(groups)
    N, C, H, W = x_shape
    Co, Cg, kh, kw = w_shape
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or G < 1:
        raise ValueError(
            f"{fn}: need stride >= 1, dilation >= 1, padding >= 0, groups >= 1; got "
            f"stride={stride}, padding={padding}, dilation={dilation}, groups={G}"
        )
    if C % G or Co % G or Cg != C // G:
        raise ValueError(
            f"{fn}: input {tuple(x_shape)} and weight {tuple(w_shape)} do not fit groups={G} "
            f"(need C and Co divisible by groups and w.shape[1] == C / groups)"
        )
    Ho = output_size(H, kh, stride[0], padding[0], dilation[0])
    Wo = output_size(W, kw, stride[1], padding[1], dilation[1])
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{fn}: kernel {kh}x{kw} (dilation {dilation}) larger than padded input {H}x{W}")
    return stride, padding, dilation, G, (Ho, Wo)


def _check32(fn, a, b, col_size):
    _launch.check_index32(fn, input=a.size, output=b.size, column_matrix=col_size)


def _chunks(N, per_image_bytes):
    per = max(1, MAX_COL_BYTES // max(1, per_image_bytes))
    return [(n0, min(N, n0 + per)) for n0 in range(0, N, per)]


def _im2col(kind, x, G, K, kh, kw, stride, padding, dilation, Wo, P, stream):
    N = x.shape[0]
    col = _launch.empty(kind, (G, K, N * P), x.dtype)
    _launch.launch(
        _kernel("im2col", x.dtype),
        _launch.grid_1d(col.size),
        _launch.THREADS_1D,
        stream,
        x,
        col,
        kh,
        kw,
        *stride,
        *padding,
        *dilation,
        Wo,
    )
    return col


def _swap01(kind, src, shape, stream):
    """``(A, B, P) -> (B, A, P)`` into a new array."""
    A, B, P = shape
    dst = _launch.empty(kind, (B, A, P), src.dtype)
    _launch.launch(
        _kernel("swap01", src.dtype),
        _launch.grid_1d(A * B * P),
        _launch.THREADS_1D,
        stream,
        _launch.reshape(src, (A, B, P)),
        dst,
    )
    return dst


def _check_input(fn, name, a, dtypes):
    if dtypes is None:
        _launch.check_float(fn, name, a, ndim=4)
    else:
        _launch.check(fn, name, a, ndim=4, dtype=dtypes)


def forward_args(fn, x, w, bias, out, stride, padding, dilation, groups, dtypes=None):
    """The checks of a forward convolution (here and in conv_implicit.py, whose `dtypes` add float16):
    (array kind, _params, out)."""
    kind = _launch.check_same_kind(fn, x, w, bias, out)
    _check_input(fn, "x", x, dtypes)
    _launch.check(fn, "w", w, ndim=4, dtype=x.dtype)
    params = _params(fn, x.shape, w.shape, stride, padding, dilation, groups)
    if bias is not None:
        _launch.check(fn, "bias", bias, dtype=x.dtype, shape=(w.shape[0],))
    Ho, Wo = params[4]
    return kind, params, _launch.output(fn, kind, out, (x.shape[0], w.shape[0], Ho, Wo), x.dtype)


def backward_input_args(fn, grad_out, w, x_shape, out, stride, padding, dilation, groups, dtypes=None):
    """The checks of an input-gradient convolution: (array kind, x_shape as ints, _params, out)."""
    kind = _launch.check_same_kind(fn, grad_out, w, out)
    _check_input(fn, "w", w, dtypes)
    x_shape = tuple(int(s) for s in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{fn}: x_shape must be (N, C, H, W), got {x_shape}")
    params = _params(fn, x_shape, w.shape, stride, padding, dilation, groups)
    Ho, Wo = params[4]
    _check_grad_out(fn, grad_out, x_shape[0], w.shape[0], Ho, Wo, w.dtype)
    return kind, x_shape, params, _launch.output(fn, kind, out, x_shape, w.dtype)


def conv2d_forward(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None):
    """``out = conv2d(x, w) + bias`` (cross-correlation, zero padding, groups). Shapes in the module doc.

    Example: ``y = conv2d_forward(x, w, b, stride=1, padding=1)``.
    """
    fn = "conv2d_forward"
    kind, params, out = forward_args(fn, x, w, bias, out, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = params
    N, C, H, W = x.shape
    Co, Cg, kh, kw = w.shape
    if out.size == 0:
        return out
    stream = _launch.stream_for(kind, stream)
    Cog, K, P = Co // G, Cg * kh * kw, Ho * Wo
    w3 = _launch.reshape(w, (G, Cog, K))
    bias2 = None if bias is None else _launch.reshape(bias, (G, Cog))
    mode = gemm.BIAS_NONE if bias is None else gemm.BIAS_ROWS
    chunks = _chunks(N, G * K * P * x.dtype.itemsize)
    _check32(fn, x, out, G * K * P * max(n1 - n0 for n0, n1 in chunks))
    for n0, n1 in chunks:
        xs, outs, nc = x[n0:n1], out[n0:n1], n1 - n0
        col = _im2col(kind, xs, G, K, kh, kw, (sh, sw), (ph, pw), (dh, dw), Wo, P, stream)
        if nc == 1:  # (Co, 1, P) is already (1, Co, P)
            gemm.gemm_batched(
                w3, col, _launch.reshape(outs, (G, Cog, P)), bias2, mode, stream=stream, tile=GEMM_TILE, fn=fn
            )
        else:
            y = _launch.empty(kind, (G, Cog, nc * P), x.dtype)
            gemm.gemm_batched(w3, col, y, bias2, mode, stream=stream, tile=GEMM_TILE, fn=fn)
            _launch.launch(
                _kernel("swap01", x.dtype),
                _launch.grid_1d(y.size),
                _launch.THREADS_1D,
                stream,
                _launch.reshape(y, (Co, nc, P)),
                _launch.reshape(outs, (nc, Co, P)),
            )
    return out


def _grad_out_t(kind, grad_out, stream):
    """``dY (N, Co, Ho, Wo)`` as ``(Co, N P)`` (a view when N == 1, else a transposed copy)."""
    N, Co, Ho, Wo = grad_out.shape
    if N == 1:
        return _launch.reshape(grad_out, (Co, Ho * Wo))
    return _launch.reshape(_swap01(kind, grad_out, (N, Co, Ho * Wo), stream), (Co, N * Ho * Wo))


def _check_grad_out(fn, grad_out, N, Co, Ho, Wo, dtype):
    _launch.check(fn, "grad_out", grad_out, dtype=dtype, shape=(N, Co, Ho, Wo))


def conv2d_backward_input(
    grad_out, w, x_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None
):
    """``dx`` of :func:`conv2d_forward` for an input of shape ``x_shape`` (the transposed convolution
    of ``grad_out`` with ``w``). Example: ``dx = conv2d_backward_input(dy, w, x.shape, padding=1)``."""
    fn = "conv2d_backward_input"
    kind, x_shape, params, out = backward_input_args(fn, grad_out, w, x_shape, out, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = params
    N, C, H, W = x_shape
    Co, Cg, kh, kw = w.shape
    if out.size == 0:
        return out
    stream = _launch.stream_for(kind, stream)
    Cog, K, P = Co // G, Cg * kh * kw, Ho * Wo
    w3 = _launch.reshape(w, (G, Cog, K))
    chunks = _chunks(N, G * K * P * w.dtype.itemsize)
    _check32(fn, out, grad_out, G * K * P * max(n1 - n0 for n0, n1 in chunks))
    for n0, n1 in chunks:
        nc = n1 - n0
        dyt = _launch.reshape(_grad_out_t(kind, grad_out[n0:n1], stream), (G, Cog, nc * P))
        dcol = _launch.empty(kind, (G, K, nc * P), w.dtype)
        gemm.gemm_batched(w3, dyt, dcol, trans_a=True, stream=stream, tile=GEMM_TILE, fn=fn)
        dxs = out[n0:n1]
        _launch.launch(
            _kernel("col2im", w.dtype),
            _launch.grid_1d(dxs.size),
            _launch.THREADS_1D,
            stream,
            dcol,
            dxs,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
            dh,
            dw,
            Ho,
            Wo,
        )
    return out


def conv2d_backward_weight(
    x, grad_out, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None
):
    """``dw`` of :func:`conv2d_forward` for a weight of shape ``w_shape``.

    Example: ``dw = conv2d_backward_weight(x, dy, w.shape, padding=1)``.
    """
    fn = "conv2d_backward_weight"
    kind = _launch.check_same_kind(fn, x, grad_out, out)
    _launch.check_float(fn, "x", x, ndim=4)
    w_shape = tuple(int(s) for s in w_shape)
    if len(w_shape) != 4:
        raise ValueError(f"{fn}: w_shape must be (Co, C / groups, kh, kw), got {w_shape}")
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = _params(fn, x.shape, w_shape, stride, padding, dilation, groups)
    N, C, H, W = x.shape
    Co, Cg, kh, kw = w_shape
    _check_grad_out(fn, grad_out, N, Co, Ho, Wo, x.dtype)
    out = _launch.output(fn, kind, out, w_shape, x.dtype)
    if out.size == 0:
        return out
    stream = _launch.stream_for(kind, stream)
    Cog, K, P = Co // G, Cg * kh * kw, Ho * Wo
    if N == 0:
        _launch.fill_zero(out, stream)
        return out
    chunks = _chunks(N, G * K * P * x.dtype.itemsize)
    _check32(fn, x, grad_out, G * K * P * max(n1 - n0 for n0, n1 in chunks))
    # One chunk: the GEMM writes dW. Several: each chunk writes its own slice, then they are summed.
    parts = out if len(chunks) == 1 else _launch.empty(kind, (len(chunks), Co * Cg * kh * kw), x.dtype)
    for ci, (n0, n1) in enumerate(chunks):
        nc = n1 - n0
        col = _im2col(kind, x[n0:n1], G, K, kh, kw, (sh, sw), (ph, pw), (dh, dw), Wo, P, stream)
        dyt = _launch.reshape(_grad_out_t(kind, grad_out[n0:n1], stream), (G, Cog, nc * P))
        target = parts if len(chunks) == 1 else parts[ci]
        gemm.gemm_batched(
            dyt, col, _launch.reshape(target, (G, Cog, K)), trans_b=True, stream=stream, tile=GEMM_TILE, fn=fn
        )
    if len(chunks) > 1:
        total = _launch.reshape(out, (1, Co * Cg * kh * kw))
        _launch.launch(
            gemm._sum_splits_kernel(x.dtype),
            _launch.grid_1d(total.size),
            _launch.THREADS_1D,
            stream,
            parts,
            total,
            len(chunks),
        )
    return out


def conv2d_backward_bias(grad_out, out=None, stream=None):
    """``db[co] = sum over n, h, w of grad_out[n, co, h, w]``. Example: ``db = conv2d_backward_bias(dy)``."""
    fn = "conv2d_backward_bias"
    kind = _launch.check_same_kind(fn, grad_out, out)
    _launch.check_float(fn, "grad_out", grad_out, ndim=4)
    N, Co, Ho, Wo = grad_out.shape
    out = _launch.output(fn, kind, out, (Co,), grad_out.dtype)
    if Co == 0:
        return out
    stream = _launch.stream_for(kind, stream)
    dy = _launch.reshape(grad_out, (N, Co, Ho * Wo))
    _launch.launch(
        _kernel("bias_grad", grad_out.dtype), _launch.grid_1d(Co, BIAS_WARPS), 32 * BIAS_WARPS, stream, dy, out
    )
    return out


# ----------------------------------------------------------------------------- NumPy references (float64)


def _ref_params(x_shape, w_shape, stride, padding, dilation, groups):
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = _params(
        "reference", x_shape, w_shape, stride, padding, dilation, groups
    )
    return sh, sw, ph, pw, dh, dw, G, Ho, Wo


def conv2d_forward_reference(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """float64 direct convolution: a loop over kernel taps, an einsum per tap and group."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    sh, sw, ph, pw, dh, dw, G, Ho, Wo = _ref_params(x.shape, w.shape, stride, padding, dilation, groups)
    N, C, H, W = x.shape
    Co, Cg, kh, kw = w.shape
    Cog = Co // G
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((N, Co, Ho, Wo))
    for g in range(G):
        xs = xp[:, g * Cg : (g + 1) * Cg]
        ws = w[g * Cog : (g + 1) * Cog]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh : i * dh + sh * (Ho - 1) + 1 : sh, j * dw : j * dw + sw * (Wo - 1) + 1 : sw]
                out[:, g * Cog : (g + 1) * Cog] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    if bias is not None:
        out += np.asarray(bias, np.float64)[None, :, None, None]
    return out


def conv2d_backward_input_reference(grad_out, w, x_shape, stride=1, padding=0, dilation=1, groups=1):
    g_out = np.asarray(grad_out, np.float64)
    w = np.asarray(w, np.float64)
    sh, sw, ph, pw, dh, dw, G, Ho, Wo = _ref_params(x_shape, w.shape, stride, padding, dilation, groups)
    N, C, H, W = x_shape
    Co, Cg, kh, kw = w.shape
    Cog = Co // G
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for g in range(G):
        gs = g_out[:, g * Cog : (g + 1) * Cog]
        ws = w[g * Cog : (g + 1) * Cog]
        for i in range(kh):
            for j in range(kw):
                dxp[
                    :,
                    g * Cg : (g + 1) * Cg,
                    i * dh : i * dh + sh * (Ho - 1) + 1 : sh,
                    j * dw : j * dw + sw * (Wo - 1) + 1 : sw,
                ] += np.einsum("nohw,oc->nchw", gs, ws[:, :, i, j])
    return dxp[:, :, ph : ph + H, pw : pw + W]


def conv2d_backward_weight_reference(x, grad_out, w_shape, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, np.float64)
    g_out = np.asarray(grad_out, np.float64)
    sh, sw, ph, pw, dh, dw, G, Ho, Wo = _ref_params(x.shape, w_shape, stride, padding, dilation, groups)
    Co, Cg, kh, kw = w_shape
    Cog = Co // G
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dw_ = np.zeros(w_shape)
    for g in range(G):
        xs = xp[:, g * Cg : (g + 1) * Cg]
        gs = g_out[:, g * Cog : (g + 1) * Cog]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh : i * dh + sh * (Ho - 1) + 1 : sh, j * dw : j * dw + sw * (Wo - 1) + 1 : sw]
                dw_[g * Cog : (g + 1) * Cog, :, i, j] = np.einsum("nchw,nohw->oc", patch, gs)
    return dw_


def conv2d_backward_bias_reference(grad_out):
    return np.asarray(grad_out, np.float64).sum(axis=(0, 2, 3))
