"""2-D max and average pooling (NCHW), forward and backward.

Math (window of output ``(oh, ow)``: rows ``oh sh - ph ... + kh - 1``, columns likewise; floor mode,
``Ho = (H + 2 ph - kh) // sh + 1``; padding at most half the kernel, so no window is all padding)::

    max:  out = max over the window (padding counts as -inf); argmax = h W + w of the first maximum
          (a NaN counts as the maximum, so NaN propagates); dx[h, w] = sum of grad_out over the
          windows whose argmax is (h, w).
    avg:  out = sum over the window / d, d = kh kw (count_include_pad, the default) or the number of
          in-bounds elements; dx[h, w] = sum over the windows containing (h, w) of grad_out / d.

Shapes: ``x (N, C, H, W)`` float32/float64/float16 (float16 is read as float16 and computed in float32: the
window sums, the divisor and the gradient sums are float32, one rounding per store),
``out``/``grad_out (N, C, Ho, Wo)``, ``argmax`` int32 of ``out``'s shape (an index into the ``H x W`` plane,
PyTorch's convention). Backward kernels gather:
one thread per input pixel visits the ``<= ceil(kh/sh) ceil(kw/sw)`` windows that contain it, so
overlapping windows (AlexNet's 3x3 stride 2) need no atomics and the result is deterministic.

Cost: forward reads ``kh kw / (sh sw)`` times the output count (mostly cache hits: neighbouring
threads share input rows) and writes ``out`` (+ 4-byte argmax); backward reads ``grad_out`` (and
``argmax``) about ``kh kw / (sh sw)`` times and writes ``dx`` once. Memory bound; no FLOPs to speak of.

Launch: 1-D grid-stride, 256 threads, ``min(cdiv(n, 256), 16 SMs)`` blocks, one thread per output
(forward) or input (backward) element.

Wrappers::

    max_pool2d_forward(x, kernel, stride=None, padding=0, out=None, argmax_out=None, stream=None)
        -> (out, argmax)
    max_pool2d_backward(grad_out, argmax, x_shape, kernel, stride=None, padding=0, out=None, stream=None)
    avg_pool2d_forward(x, kernel, stride=None, padding=0, count_include_pad=True, out=None, stream=None)
    avg_pool2d_backward(grad_out, x_shape, kernel, stride=None, padding=0, count_include_pad=True,
                        out=None, stream=None)

    y, idx = max_pool2d_forward(x, 3, 2); dx = max_pool2d_backward(dy, idx, x.shape, 3, 2)
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _launch, _rows

div32, unravel4 = _launch.div32, _launch.unravel4  # 32-bit unsigned index decoding (sizes < 2^32)
ARGMAX_DTYPE = np.int32
#: The storage dtypes of the pooling kernels.
DTYPES = _launch.FLOAT_DTYPES + (np.dtype(np.float16),)


def _types(dtype):
    """``(storage, compute)`` Numba types: ``(float16, float32)`` for float16, else both the dtype's."""
    return _rows.storage_type(dtype), _rows.compute_type(dtype)


def make_max_forward_kernel(dtype):
    """Args ``(x (N, C, H, W), out (N, C, Ho, Wo), argmax (int32, like out), kh, kw, sh, sw, ph, pw)``."""
    ST, T = _types(dtype)
    NEG_INF = T(-math.inf)

    def max_pool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw):
        N, C, H, W = x.shape
        Ho, Wo = out.shape[2], out.shape[3]
        total = N * C * Ho * Wo
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            n, c, oh, ow = unravel4(i, C, Ho, Wo)
            h0 = oh * sh - ph
            w0 = ow * sw - pw
            best = NEG_INF
            best_idx = -1
            for di in range(kh):
                h = h0 + di
                if h >= 0 and h < H:
                    for dj in range(kw):
                        w = w0 + dj
                        if w >= 0 and w < W:
                            v = T(x[n, c, h, w])
                            if v > best or (v != v and best == best) or best_idx < 0:
                                best = v
                                best_idx = h * W + w
            out[n, c, oh, ow] = ST(best)
            argmax[n, c, oh, ow] = best_idx
            i += stride

    return _launch.named(max_pool2d_forward, "max_pool2d_forward", dtype)


def make_max_backward_kernel(dtype):
    """Args ``(grad_out (N, C, Ho, Wo), argmax, dx (N, C, H, W), kh, kw, sh, sw, ph, pw)``."""
    ST, T = _types(dtype)

    def max_pool2d_backward(grad_out, argmax, dx, kh, kw, sh, sw, ph, pw):
        N, C, H, W = dx.shape
        Ho, Wo = grad_out.shape[2], grad_out.shape[3]
        total = N * C * H * W
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            n, c, h, w = unravel4(i, C, H, W)
            # Windows containing row h: oh sh - ph <= h <= oh sh - ph + kh - 1.
            num = h + ph - kh + 1
            oh_lo = div32(num + sh - 1, sh) if num > 0 else 0
            oh_hi = min(Ho - 1, div32(h + ph, sh))
            num = w + pw - kw + 1
            ow_lo = div32(num + sw - 1, sw) if num > 0 else 0
            ow_hi = min(Wo - 1, div32(w + pw, sw))
            me = h * W + w
            acc = T(0.0)
            for oh in range(oh_lo, oh_hi + 1):
                for ow in range(ow_lo, ow_hi + 1):
                    if argmax[n, c, oh, ow] == me:
                        acc += T(grad_out[n, c, oh, ow])
            dx[n, c, h, w] = ST(acc)
            i += stride

    return _launch.named(max_pool2d_backward, "max_pool2d_backward", dtype)


def make_avg_forward_kernel(dtype):
    """Args ``(x (N, C, H, W), out (N, C, Ho, Wo), kh, kw, sh, sw, ph, pw, count_include_pad)``."""
    ST, T = _types(dtype)

    def avg_pool2d_forward(x, out, kh, kw, sh, sw, ph, pw, count_include_pad):
        N, C, H, W = x.shape
        Ho, Wo = out.shape[2], out.shape[3]
        total = N * C * Ho * Wo
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            n, c, oh, ow = unravel4(i, C, Ho, Wo)
            h0 = oh * sh - ph
            w0 = ow * sw - pw
            acc = T(0.0)
            count = 0
            for di in range(kh):
                h = h0 + di
                if h >= 0 and h < H:
                    for dj in range(kw):
                        w = w0 + dj
                        if w >= 0 and w < W:
                            acc += T(x[n, c, h, w])
                            count += 1
            if count_include_pad:
                count = kh * kw
            out[n, c, oh, ow] = ST(acc / T(count))
            i += stride

    return _launch.named(avg_pool2d_forward, "avg_pool2d_forward", dtype)


def make_avg_backward_kernel(dtype):
    """Args ``(grad_out (N, C, Ho, Wo), dx (N, C, H, W), kh, kw, sh, sw, ph, pw, count_include_pad)``."""
    ST, T = _types(dtype)

    def avg_pool2d_backward(grad_out, dx, kh, kw, sh, sw, ph, pw, count_include_pad):
        N, C, H, W = dx.shape
        Ho, Wo = grad_out.shape[2], grad_out.shape[3]
        total = N * C * H * W
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < total:
            n, c, h, w = unravel4(i, C, H, W)
            num = h + ph - kh + 1
            oh_lo = div32(num + sh - 1, sh) if num > 0 else 0
            oh_hi = min(Ho - 1, div32(h + ph, sh))
            num = w + pw - kw + 1
            ow_lo = div32(num + sw - 1, sw) if num > 0 else 0
            ow_hi = min(Wo - 1, div32(w + pw, sw))
            acc = T(0.0)
            for oh in range(oh_lo, oh_hi + 1):
                if count_include_pad:
                    rows = kh
                else:
                    rows = min(oh * sh - ph + kh, H) - max(oh * sh - ph, 0)
                for ow in range(ow_lo, ow_hi + 1):
                    if count_include_pad:
                        cols = kw
                    else:
                        cols = min(ow * sw - pw + kw, W) - max(ow * sw - pw, 0)
                    acc += T(grad_out[n, c, oh, ow]) / T(rows * cols)
            dx[n, c, h, w] = ST(acc)
            i += stride

    return _launch.named(avg_pool2d_backward, "avg_pool2d_backward", dtype)


_MAKERS = {
    "max_forward": make_max_forward_kernel,
    "max_backward": make_max_backward_kernel,
    "avg_forward": make_avg_forward_kernel,
    "avg_backward": make_avg_backward_kernel,
}


def _kernel(name, dtype):
    return _launch.built(_MAKERS[name], dtype)


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every pooling kernel as launched."""
    out = []
    i64 = numba.int64
    idx = numba.int32[:, :, :, ::1]
    for dtype in DTYPES:
        a4 = _types(dtype)[0][:, :, :, ::1]
        sigs = {
            "max_forward": numba.void(a4, a4, idx, *([i64] * 6)),
            "max_backward": numba.void(a4, idx, a4, *([i64] * 6)),
            "avg_forward": numba.void(a4, a4, *([i64] * 7)),
            "avg_backward": numba.void(a4, a4, *([i64] * 7)),
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


def _geometry(fn, x_shape, kernel, stride, padding):
    """Check the window; return ``(kh, kw), (sh, sw), (ph, pw), (Ho, Wo)``."""
    k = _pair(fn, "kernel", kernel)
    s = k if stride is None else _pair(fn, "stride", stride)
    p = _pair(fn, "padding", padding)
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"{fn}: need kernel >= 1, stride >= 1, padding >= 0; got {k}, {s}, {p}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{fn}: padding {p} must be at most half the kernel {k}")
    if len(x_shape) != 4:
        raise ValueError(f"{fn}: input must be (N, C, H, W), got shape {tuple(x_shape)}")
    H, W = x_shape[2], x_shape[3]
    Ho = (H + 2 * p[0] - k[0]) // s[0] + 1
    Wo = (W + 2 * p[1] - k[1]) // s[1] + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{fn}: kernel {k} larger than the padded input {H}x{W}")
    return k, s, p, (Ho, Wo)


def _launch_1d(name, dtype, kind, stream, n, *args):
    _launch.check_index32(name, input=max(a.size for a in args if hasattr(a, "size")))
    if n:
        _launch.launch(
            _kernel(name, dtype), _launch.grid_1d(n), _launch.THREADS_1D, _launch.stream_for(kind, stream), *args
        )


def max_pool2d_forward(x, kernel, stride=None, padding=0, out=None, argmax_out=None, stream=None):
    """Max pooling; returns ``(out, argmax)`` (argmax: int32 index ``h W + w`` into each input plane).
    ``stride`` defaults to ``kernel``. Example: ``y, idx = max_pool2d_forward(x, 3, 2)``."""
    fn = "max_pool2d_forward"
    kind = _launch.check_same_kind(fn, x, out, argmax_out)
    _launch.check(fn, "x", x, ndim=4, dtype=DTYPES)
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = _geometry(fn, x.shape, kernel, stride, padding)
    shape = (x.shape[0], x.shape[1], Ho, Wo)
    out = _launch.output(fn, kind, out, shape, x.dtype)
    argmax = _launch.output(fn, kind, argmax_out, shape, ARGMAX_DTYPE, name="argmax_out")
    _launch_1d("max_forward", x.dtype, kind, stream, out.size, x, out, argmax, kh, kw, sh, sw, ph, pw)
    return out, argmax


def max_pool2d_backward(grad_out, argmax, x_shape, kernel, stride=None, padding=0, out=None, stream=None):
    """``dx``: each input pixel gets the sum of ``grad_out`` over the windows whose maximum it was."""
    fn = "max_pool2d_backward"
    kind = _launch.check_same_kind(fn, grad_out, argmax, out)
    x_shape = tuple(int(s) for s in x_shape)
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = _geometry(fn, x_shape, kernel, stride, padding)
    shape = (x_shape[0], x_shape[1], Ho, Wo)
    _launch.check(fn, "grad_out", grad_out, dtype=DTYPES, shape=shape)
    _launch.check(fn, "argmax", argmax, dtype=ARGMAX_DTYPE, shape=shape)
    dx = _launch.output(fn, kind, out, x_shape, grad_out.dtype)
    _launch_1d("max_backward", grad_out.dtype, kind, stream, dx.size, grad_out, argmax, dx, kh, kw, sh, sw, ph, pw)
    return dx


def avg_pool2d_forward(x, kernel, stride=None, padding=0, count_include_pad=True, out=None, stream=None):
    """Average pooling (divisor ``kh kw``, or the in-bounds count with ``count_include_pad=False``)."""
    fn = "avg_pool2d_forward"
    kind = _launch.check_same_kind(fn, x, out)
    _launch.check(fn, "x", x, ndim=4, dtype=DTYPES)
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = _geometry(fn, x.shape, kernel, stride, padding)
    out = _launch.output(fn, kind, out, (x.shape[0], x.shape[1], Ho, Wo), x.dtype)
    _launch_1d(
        "avg_forward", x.dtype, kind, stream, out.size, x, out, kh, kw, sh, sw, ph, pw, int(bool(count_include_pad))
    )
    return out


def avg_pool2d_backward(
    grad_out, x_shape, kernel, stride=None, padding=0, count_include_pad=True, out=None, stream=None
):
    """``dx``: each input pixel gets ``grad_out / divisor`` summed over the windows containing it."""
    fn = "avg_pool2d_backward"
    kind = _launch.check_same_kind(fn, grad_out, out)
    x_shape = tuple(int(s) for s in x_shape)
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = _geometry(fn, x_shape, kernel, stride, padding)
    _launch.check(fn, "grad_out", grad_out, dtype=DTYPES, shape=(x_shape[0], x_shape[1], Ho, Wo))
    dx = _launch.output(fn, kind, out, x_shape, grad_out.dtype)
    _launch_1d(
        "avg_backward",
        grad_out.dtype,
        kind,
        stream,
        dx.size,
        grad_out,
        dx,
        kh,
        kw,
        sh,
        sw,
        ph,
        pw,
        int(bool(count_include_pad)),
    )
    return dx


# ----------------------------------------------------------------------------- NumPy references (float64)


def _windows(x_shape, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = _geometry("reference", x_shape, kernel, stride, padding)
    for oh in range(Ho):
        for ow in range(Wo):
            h0, w0 = oh * sh - ph, ow * sw - pw
            hs = slice(max(h0, 0), min(h0 + kh, x_shape[2]))
            ws = slice(max(w0, 0), min(w0 + kw, x_shape[3]))
            yield oh, ow, hs, ws, kh * kw


def max_pool2d_forward_reference(x, kernel, stride=None, padding=0):
    """float64 ``(out, argmax)`` by an explicit loop over windows."""
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    wins = list(_windows(x.shape, kernel, stride, padding))
    Ho, Wo = wins[-1][0] + 1, wins[-1][1] + 1
    out = np.empty((N, C, Ho, Wo))
    arg = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for oh, ow, hs, ws, _ in wins:
        patch = x[:, :, hs, ws].reshape(N, C, -1)
        k = np.argmax(patch, axis=-1)  # first maximum (NaN counts as the maximum, like the kernel)
        out[:, :, oh, ow] = np.take_along_axis(patch, k[..., None], -1)[..., 0]
        pw_ = ws.stop - ws.start
        arg[:, :, oh, ow] = (hs.start + k // pw_) * W + ws.start + k % pw_
    return out, arg


def max_pool2d_backward_reference(grad_out, argmax, x_shape):
    g = np.asarray(grad_out, np.float64)
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W))
    rows = np.repeat(np.arange(N * C), g.shape[2] * g.shape[3])
    np.add.at(dx, (rows, np.asarray(argmax).reshape(-1)), g.reshape(-1))
    return dx.reshape(x_shape)


def avg_pool2d_forward_reference(x, kernel, stride=None, padding=0, count_include_pad=True):
    x = np.asarray(x, np.float64)
    wins = list(_windows(x.shape, kernel, stride, padding))
    out = np.empty(x.shape[:2] + (wins[-1][0] + 1, wins[-1][1] + 1))
    for oh, ow, hs, ws, full in wins:
        d = full if count_include_pad else (hs.stop - hs.start) * (ws.stop - ws.start)
        out[:, :, oh, ow] = x[:, :, hs, ws].sum(axis=(2, 3)) / d
    return out


def avg_pool2d_backward_reference(grad_out, x_shape, kernel, stride=None, padding=0, count_include_pad=True):
    g = np.asarray(grad_out, np.float64)
    dx = np.zeros(x_shape)
    for oh, ow, hs, ws, full in _windows(x_shape, kernel, stride, padding):
        d = full if count_include_pad else (hs.stop - hs.start) * (ws.stop - ws.start)
        dx[:, :, hs, ws] += (g[:, :, oh, ow] / d)[:, :, None, None]
    return dx
