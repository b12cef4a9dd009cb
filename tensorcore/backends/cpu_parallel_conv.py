"""Parallel convolution for the CPU backend (Numba): same signatures and results as cpu_conv.py.

Stride 1 works on whole padded rows. With xpad the zero-padded input, each image plane flat
(Hp Wp), a kernel offset (i, j) reads one contiguous run of Q = OH Wp values starting at
i dh Wp + j dw, and output column q = oy Wp + ox is valid for ox < OW (the others are cropped):
    y_wide[n, o, q] = sum_{c, i, j} w[o, c, i, j] xpad[n, c, i dh Wp + j dw + q]
so every inner loop is a long contiguous run. Two ways to evaluate it:
  * direct (few filter weights per group, LeNet-5's first layer): the loop above, one (image,
    channel) output plane per task; its weight and input gradients are the same runs
    (cpu_parallel_direct.py);
  * GEMM: cols[(c, i, j), (n, q)] = those runs, then one BLAS call per group over the whole batch:
    y^T = w cols, dw = g^T cols^T, dcols = w^T g^T and col2im.
Strides > 1 use the GEMM with compact columns (q = oy OW + ox, rows gathered with a stride).
Which convolutions come here is cpu_parallel's choice (conv_direct, COL2IM_MIN_ELEMENTS): on the
2-core Xeon the direct path for tiny filters and the col2im input gradient of large layers beat
NumPy's batched GEMMs; the GEMM forward and weight gradient here did not, so cpu_conv keeps those.
Every task writes its own output, in a fixed order: the thread count never changes a result.
"""

import numpy as np
from numba import njit, prange

from . import cpu_parallel as policy
from . import cpu_parallel_direct as direct


def conv_output_size(size, kernel, stride, padding, dilation):
    """floor((size + 2 p - d (k - 1) - 1) / s) + 1, PyTorch's rule."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@njit(parallel=True, cache=True)
def pad_planes_kernel(x, xpad, ph, pw):
    """xpad (N C Hp Wp + slack,) flat: x (N, C, H, W) with ph, pw zeros around each plane, zero slack."""
    n, c, h, w = x.shape
    wp = w + 2 * pw
    size = (h + 2 * ph) * wp
    for task in prange(n * c):
        b = task // c
        ci = task - b * c
        base = task * size
        xpad[base : base + ph * wp] = 0
        for y in range(h):
            r = base + (y + ph) * wp
            xpad[r : r + pw] = 0
            xpad[r + pw : r + pw + w] = x[b, ci, y, :]
            xpad[r + pw + w : r + wp] = 0
        xpad[base + (ph + h) * wp : base + size] = 0
    xpad[n * c * size :] = 0


@njit(parallel=True, cache=True)
def im2col_rows_kernel(xpad, cols, n, c, hp, wp, kh, kw, dh, dw, oh, ow):
    """cols (C kh kw, N OH Wp) = the whole-row runs of xpad; the columns ox >= OW are set to 0."""
    q = oh * wp
    for task in prange(c * kh * kw * n):
        row = task // n
        b = task - row * n
        ci = row // (kh * kw)
        r = row - ci * (kh * kw)
        i = r // kw
        j = r - i * kw
        src = (b * c + ci) * hp * wp + i * dh * wp + j * dw
        dst = b * q
        cols[row, dst : dst + q] = xpad[src : src + q]
        if ow < wp:
            for oy in range(oh):
                cols[row, dst + oy * wp + ow : dst + (oy + 1) * wp] = 0


@njit(parallel=True, cache=True)
def col2im_rows_kernel(dcols, dx, hp, wp, ph, pw, kh, kw, dh, dw, oh):
    """dx (N, C, H, W): every column run of dcols (zero at ox >= OW) added back at its offset, then cropped."""
    n, c, h, w = dx.shape
    q = oh * wp
    plane = hp * wp
    for task in prange(n * c):
        b = task // c
        ci = task - b * c
        buf = np.zeros(plane, dtype=dx.dtype)
        for i in range(kh):
            for j in range(kw):
                row = (ci * kh + i) * kw + j
                s = i * dh * wp + j * dw
                src = b * q
                m = min(q, plane - s)  # the runs past the plane are columns ox >= OW: zero
                for k in range(m):
                    buf[s + k] += dcols[row, src + k]
        for y in range(h):
            dx[b, ci, y, :] = buf[(y + ph) * wp + pw : (y + ph) * wp + pw + w]


@njit(parallel=True, cache=True)
def im2col_strided_kernel(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """cols (C kh kw, N OH OW) from x (N, C, H, W) for any stride; zero where a window reads padding."""
    n, c, h, w = x.shape
    p = oh * ow
    for task in prange(c * kh * kw * n):
        row = task // n
        b = task - row * n
        ci = row // (kh * kw)
        r = row - ci * (kh * kw)
        i = r // kw
        j = r - i * kw
        x0, lo, hi = _valid_columns(j, w, sw, pw, dw, ow)
        for oy in range(oh):
            y = oy * sh + i * dh - ph
            dst = b * p + oy * ow
            if y < 0 or y >= h:
                cols[row, dst : dst + ow] = 0
                continue
            cols[row, dst : dst + lo] = 0
            for ox in range(lo, hi):
                cols[row, dst + ox] = x[b, ci, y, ox * sw + x0]
            cols[row, dst + hi : dst + ow] = 0


@njit(parallel=True, cache=True)
def col2im_strided_kernel(dcols, dx, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """dx (N, C, H, W) = the sum of every column entry back at the input position it was read from."""
    n, c, h, w = dx.shape
    p = oh * ow
    for task in prange(n * c):
        b = task // c
        ci = task - b * c
        dx[b, ci] = 0
        for i in range(kh):
            for j in range(kw):
                row = (ci * kh + i) * kw + j
                x0, lo, hi = _valid_columns(j, w, sw, pw, dw, ow)
                for oy in range(oh):
                    y = oy * sh + i * dh - ph
                    if y < 0 or y >= h:
                        continue
                    src = b * p + oy * ow
                    for ox in range(lo, hi):
                        dx[b, ci, y, ox * sw + x0] += dcols[row, src + ox]


@njit(inline="always")
def _valid_columns(j, w, sw, pw, dw, ow):
    """(x0, lo, hi): output columns [lo, hi) read input column ox sw + x0 inside [0, w)."""
    x0 = j * dw - pw
    lo = 0 if x0 >= 0 else (-x0 + sw - 1) // sw
    hi = (w - x0 + sw - 1) // sw
    lo = min(lo, ow)
    hi = max(min(hi, ow), lo)
    return x0, lo, hi


@njit(parallel=True, cache=True)
def widen_kernel(g, out, wp, swap):
    """g (N, O, OH, OW) -> out (O, N, OH Wp) if swap else (N, O, OH Wp), zero at columns ox >= OW."""
    n, o, oh, ow = g.shape
    for task in prange(n * o):
        b = task // o
        oc = task - b * o
        for oy in range(oh):
            d = oy * wp
            if swap:
                out[oc, b, d : d + ow] = g[b, oc, oy, :]
                out[oc, b, d + ow : d + wp] = 0
            else:
                out[b, oc, d : d + ow] = g[b, oc, oy, :]
                out[b, oc, d + ow : d + wp] = 0


@njit(parallel=True, cache=True)
def crop_swap_kernel(yt, y, wp):
    """y (N, O, OH, OW) = yt (O, N, OH Wp) without the columns ox >= OW."""
    n, o, oh, ow = y.shape
    for task in prange(n * o):
        b = task // o
        oc = task - b * o
        for oy in range(oh):
            y[b, oc, oy, :] = yt[oc, b, oy * wp : oy * wp + ow]


# --- the primitives --------------------------------------------------------------------------------


def _plan(x_shape, w_shape, stride, padding, dilation, groups):
    """The geometry: (OH, OW, Hp, Wp, Q, rows) with rows True for the whole-row (stride 1) layout."""
    n, c, h, w = x_shape
    o, cg, kh, kw = w_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(w, kw, sw, pw, dw)
    rows = sh == 1 and sw == 1
    hp, wp = h + 2 * ph, w + 2 * pw
    return oh, ow, hp, wp, (oh * wp if rows else oh * ow), rows


def _is_direct(w_shape, groups, rows):
    return rows and policy.conv_direct(w_shape, (1, 1), groups)


def _pad_flat(x, padding, dilation, kw):
    """x (N, C, H, W) -> the flat zero-padded planes, with (kw - 1) dw zeros of slack at the end."""
    n, c, h, w = x.shape
    ph, pw = padding
    xpad = np.empty(n * c * (h + 2 * ph) * (w + 2 * pw) + (kw - 1) * dilation[1], dtype=x.dtype)
    pad_planes_kernel(np.ascontiguousarray(x), xpad, ph, pw)
    return xpad


def _columns(x, w_shape, stride, padding, dilation, groups):
    """The GEMM operand cols (C kh kw, N Q) of x."""
    n, c = x.shape[:2]
    _, _, kh, kw = w_shape
    oh, ow, hp, wp, q, rows = _plan(x.shape, w_shape, stride, padding, dilation, groups)
    cols = np.empty((c * kh * kw, n * q), dtype=x.dtype)
    if rows:
        xpad = _pad_flat(x, padding, dilation, kw)
        im2col_rows_kernel(xpad, cols, n, c, hp, wp, kh, kw, dilation[0], dilation[1], oh, ow)
    else:
        im2col_strided_kernel(np.ascontiguousarray(x), cols, kh, kw, *stride, *padding, *dilation, oh, ow)
    return cols


def _widen(g, wp, swap):
    n, o, oh, _ = g.shape
    out = np.empty((o, n, oh * wp) if swap else (n, o, oh * wp), dtype=g.dtype)
    widen_kernel(np.ascontiguousarray(g), out, wp, swap)
    return out


def conv2d_forward(x, w, stride, padding, dilation, groups, return_columns=False):
    """Cross-correlation, no bias: x (N, C, H, W), w (O, C/groups, kh, kw) -> (N, O, OH, OW).

    return_columns=True returns (out, columns): the GEMM's column matrix (C kh kw, N Q), or None
    on the direct path (whose weight gradient reads x itself).
    """
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    w = np.ascontiguousarray(w)
    oh, ow, hp, wp, q, rows = _plan(x.shape, w.shape, stride, padding, dilation, groups)
    y = np.empty((n, o, oh, ow), dtype=x.dtype)
    if _is_direct(w.shape, groups, rows):
        xpad = _pad_flat(x, padding, dilation, kw)
        direct.forward_kernel(xpad, w, y, x.shape[1], hp, wp, dilation[0], dilation[1], groups)
        return (y, None) if return_columns else y
    cols = _columns(x, w.shape, stride, padding, dilation, groups)
    yt = np.matmul(w.reshape(groups, o // groups, cg * kh * kw), cols.reshape(groups, cg * kh * kw, -1))
    crop_swap_kernel(yt.reshape(o, n, q), y, wp if rows else ow)
    return (y, cols) if return_columns else y


def conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups, columns=None):
    """d(sum(g * conv2d(x, w)))/dw of shape w_shape; `columns`: what this module's forward returned, or None."""
    o, cg, kh, kw = w_shape
    oh, ow, hp, wp, q, rows = _plan(x.shape, w_shape, stride, padding, dilation, groups)
    if rows and columns is None and policy.conv_direct_weight(w_shape, (1, 1), groups):
        xpad = _pad_flat(x, padding, dilation, kw)
        gw = np.empty(w_shape, dtype=g.dtype)
        direct.weight_kernel(xpad, _widen(g, wp, False), gw, x.shape[1], hp, wp, dilation[0], dilation[1],
                             groups, g.dtype.type(0))
        return gw
    cols = columns if columns is not None else _columns(x, w_shape, stride, padding, dilation, groups)
    gt = _widen(g, wp if rows else ow, True)  # (O, N, Q)
    kg = cg * kh * kw
    gw = np.matmul(gt.reshape(groups, o // groups, -1), cols.reshape(groups, kg, -1).transpose(0, 2, 1))
    return gw.reshape(w_shape)


def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    """d(sum(g * conv2d(x, w)))/dx for x of x_shape: the transposed convolution of g with w."""
    o, cg, kh, kw = w.shape
    w = np.ascontiguousarray(w)
    oh, ow, hp, wp, q, rows = _plan(x_shape, w.shape, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    dx = np.empty(x_shape, dtype=g.dtype)
    if _is_direct(w.shape, groups, rows):
        direct.input_kernel(_widen(g, wp, False), w, dx, hp, wp, ph, pw, dh, dw, oh)
        return dx
    kg = cg * kh * kw
    gt = _widen(g, wp if rows else ow, True)  # (O, N, Q)
    wt = w.reshape(groups, o // groups, kg).transpose(0, 2, 1)
    dcols = np.matmul(wt, gt.reshape(groups, o // groups, -1)).reshape(groups * kg, -1)  # (C kh kw, N Q)
    if rows:
        col2im_rows_kernel(dcols, dx, hp, wp, ph, pw, kh, kw, dh, dw, oh)
    else:
        col2im_strided_kernel(dcols, dx, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    return dx
