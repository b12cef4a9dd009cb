"""CPU primitives for convolution and pooling (NCHW, NumPy + BLAS).

Every function takes and returns plain NumPy arrays; geometry arguments are pairs of ints
(`stride=(sh, sw)`, `padding=(ph, pw)` symmetric zero padding, `dilation=(dh, dw)`) and
`groups` an int. The CUDA backend implements the same names with the same signatures.

Convolution is im2col + one batched GEMM:
  cols[n, g, (c, i, j), (oh, ow)] = xpad[n, g*Cg + c, oh*sh + i*dh, ow*sw + j*dw]
  out[n, g, o, p] = sum_k w[g, o, k] cols[n, g, k, p]          (np.matmul over the (n, g) batch)
The column matrix is one strided copy out of `sliding_window_view` (no Python loop over pixels,
channels, batch or groups), and the (N, G, Og, P) product is already NCHW, so no output transpose.
The input gradient is the transposed GEMM followed by col2im: a loop over the kh*kw kernel
offsets, each adding one strided slab, in a batch-innermost layout (long memory runs).

# NOTE: measured and left out (2-core Xeon, NumPy 2.4, OpenBLAS): im2col over whole padded rows
# (longer copies, but 14-40% more GEMM work and no net gain once the weight gradient pays it too);
# one GEMM over the whole batch in a (K, N*P) layout (slower for LeNet's few channels, 5-28% faster
# only for AlexNet's 13x13 layers); cache-sized batch chunks (no gain beyond the noise).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import cpu_parallel as _parallel  # multi-core kernels for large arrays (imports numba only on use)

__all__ = [
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


def conv_output_size(size, kernel, stride, padding, dilation):
    """floor((size + 2 p - d (k - 1) - 1) / s) + 1, PyTorch's rule (may be <= 0 for bad arguments)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pad(x, padding, value=0.0):
    """x (N, C, H, W) with `value` around the two spatial axes (np.pad costs more for this case)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = np.empty((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    out[:, :, :ph] = value  # the border only: the interior is written once, by the copy below
    out[:, :, ph + h :] = value
    out[:, :, ph : ph + h, :pw] = value
    out[:, :, ph : ph + h, pw + w :] = value
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _windows(xpad, kernel, stride, dilation, out_hw):
    """A (N, C, OH, OW, kh, kw) strided view of the windows of `xpad` (no copy)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = out_hw
    v = sliding_window_view(xpad, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return v[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]


def _im2col(x, kernel, stride, padding, dilation, groups):
    """x (N, C, H, W) -> cols (N, G, C/G * kh * kw, OH * OW), one contiguous copy; and (OH, OW)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    win = _windows(_pad(x, padding), kernel, stride, dilation, (oh, ow))
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    cols[...] = win.transpose(0, 1, 4, 5, 2, 3)
    return cols.reshape(n, groups, (c // groups) * kh * kw, oh * ow), (oh, ow)


def conv2d_forward(x, w, stride, padding, dilation, groups, return_columns=False):
    """Cross-correlation, no bias: x (N, C, H, W), w (O, C/groups, kh, kw) -> (N, O, OH, OW).

    out[n, o, y, x] = sum_{c, i, j} w[o, c, i, j] xpad[n, g(o) C/G + c, y sh + i dh, x sw + j dw]
    return_columns=True returns (out, columns): the im2col matrix, an opaque object that
    conv2d_backward_weight accepts to skip rebuilding it (a backend may return None instead).
    """
    # float32/float64 only; the size: input or output (x.size / C * O, the MNIST convnet's first layer) times kh kw
    if x.dtype.itemsize >= 4 and _parallel.use(x.size * max(1, w.shape[0] // max(x.shape[1], 1)) * w.shape[2]
                                               * w.shape[3]):
        if _parallel.conv_direct(w.shape, stride, groups):
            return _parallel.kernels("conv").conv2d_forward(x, w, stride, padding, dilation, groups, return_columns)
        # One input channel a group, 3- or 5-wide rows, up to 512 weights (the MNIST convnet's first layer): the
        # direct rows measured faster than tiled (0.82 vs 1.06 ms one thread); other shapes mixed (0.17 vs 0.15)
        if w.shape[1] == 1 and w.shape[3] in (3, 5) and tuple(dilation) == (1, 1) and _parallel.conv_direct_weight(
                w.shape, stride, groups):
            y = _parallel.kernels("direct").conv2d_forward(x, w, padding, dilation, groups)
            return (y, None) if return_columns else y
        if _parallel.conv_tiled(w.shape, stride, groups):
            y = _parallel.kernels("tiled").conv2d_forward(x, w, stride, padding, dilation, groups)
            return (y, None) if return_columns else y
    o, cg, kh, kw = w.shape
    cols, (oh, ow) = _im2col(x, (kh, kw), stride, padding, dilation, groups)
    wg = w.reshape(groups, o // groups, cg * kh * kw)
    out = np.matmul(wg, cols).reshape(x.shape[0], o, oh, ow)  # (N, G, O/G, P): one batched GEMM
    return (out, cols) if return_columns else out


def conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups, columns=None):
    """d(sum(g * conv2d(x, w)))/dw: the correlation of x with g, shape w_shape (O, C/G, kh, kw).

    `columns`: what conv2d_forward(x, ..., return_columns=True) returned for this x, or None.
    """
    if columns is None and x.dtype.itemsize >= 4 and _parallel.use(max(x.size, g.size) * w_shape[2] * w_shape[3]):
        if _parallel.conv_direct_weight(w_shape, stride, groups):
            return _parallel.kernels("conv").conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups)
        if _parallel.conv_tiled(w_shape, stride, groups):
            return _parallel.kernels("tiled").conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups)
    o, cg, kh, kw = w_shape
    n = x.shape[0]
    cols = columns
    if cols is None:
        cols, _ = _im2col(x, (kh, kw), stride, padding, dilation, groups)
    gg = g.reshape(n, groups, o // groups, -1)
    gw = np.matmul(gg, cols.transpose(0, 1, 3, 2))  # (N, G, O/G, K), summed over the batch below
    return gw.sum(axis=0).reshape(w_shape)


def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    """d(sum(g * conv2d(x, w)))/dx for x of x_shape: the transposed convolution of g with w.

    Batch-innermost layout, so every memory run is long. For each kernel row i, one GEMM per group
    gives the column slabs
        dcols[g, j, c, oh, ow, n] = sum_o w[g, o, c, i, j] g[n, g, o, oh, ow]
    and col2im adds slab j into xpad^T[:, i dh + oh sh, j dw + ow sw, :] (loops over the kh*kw kernel
    offsets only; one kernel row of columns at a time keeps them in cache and the peak memory kh
    times smaller). A last transpose returns (N, C, H, W). Rows or columns of x that no window
    reaches (when (H + 2p - d(k-1) - 1) % s != 0) get zero.
    """
    if g.dtype.itemsize >= 4 and _parallel.use(g.size * w.shape[2] * w.shape[3]):
        if _parallel.conv_tiled(w.shape, stride, groups):
            return _parallel.kernels("tiled").conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups)
        if _parallel.conv_direct(w.shape, stride, groups) or _parallel.conv_columns_size(
                x_shape, w.shape, padding, dilation) >= _parallel.COL2IM_MIN_ELEMENTS:
            return _parallel.kernels("conv").conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups)
    n, c, h, wd = x_shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = g.shape[2], g.shape[3]
    og = o // groups
    # w (O, Cg, kh, kw) -> (kh, G, kw*Cg, Og); g (N, O, OH, OW) -> (G, Og, OH*OW*N)
    wt = w.reshape(groups, og, cg, kh, kw).transpose(3, 0, 4, 2, 1).reshape(kh, groups, kw * cg, og)
    gt = np.ascontiguousarray(g.transpose(1, 2, 3, 0)).reshape(groups, og, oh * ow * n)
    dxt = np.zeros((groups, cg, h + 2 * ph, wd + 2 * pw, n), dtype=g.dtype)
    for i in range(kh):
        dcols = np.matmul(wt[i], gt).reshape(groups, kw, cg, oh, ow, n)
        r0 = i * dh
        for j in range(kw):
            c0 = j * dw
            dxt[:, :, r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw] += dcols[:, j]
    dxt = dxt.reshape(c, h + 2 * ph, wd + 2 * pw, n)[:, ph : ph + h, pw : pw + wd]
    return np.ascontiguousarray(dxt.transpose(3, 0, 1, 2))


# --- pooling ---------------------------------------------------------------------------------------


def _pool_geometry(x_shape, kernel, stride, padding, dilation):
    h, w = x_shape[2], x_shape[3]
    oh = conv_output_size(h, kernel[0], stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kernel[1], stride[1], padding[1], dilation[1])
    return oh, ow


def _offset_slices(kernel, stride, dilation, out_hw):
    """For each kernel offset (i, j): the strided (rows, cols) slices of the padded input it reads."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))


def max_pool2d_forward(x, kernel, stride, padding, dilation=(1, 1)):
    """Max over each window -> (out (N, C, OH, OW), indices (N, C, OH, OW) int64).

    indices are PyTorch's: the flat position h * W + w of the maximum in its (n, c) input plane
    (unpadded coordinates), the first maximum in scan order on ties; a NaN wins (propagates; the last
    NaN of a window is its switch, as in PyTorch).
    Padding counts as -inf. Two loops over the kh*kw offsets, each step a few vectorized ops on
    output-sized arrays: a running np.maximum, then (in reverse, so the first offset wins) the
    offset where the window's value equals the maximum.
    """
    if _parallel.max_pool_forward(kernel, stride, padding, dilation, x.size) and _parallel.takes(x):
        return _parallel.kernels("pool").max_pool2d_forward(x, kernel, stride, padding, dilation)
    n, c, h, w = x.shape
    oh, ow = _pool_geometry(x.shape, kernel, stride, padding, dilation)
    xpad = _pad(x, padding, value=-np.inf)
    # each view reads xpad at plane position (row + i dh) * W + (col + j dw): offset i dh W + j dw
    views = [xpad[:, :, rows, cols] for _, _, (rows, cols) in _offset_slices(kernel, stride, dilation, (oh, ow))]
    offsets = np.array([i * dilation[0] * w + j * dilation[1] for i in range(kernel[0]) for j in range(kernel[1])])
    out = views[0].copy()
    for v in views[1:]:
        np.maximum(out, v, out=out)  # NOTE: np.maximum propagates NaN, as PyTorch's max pool does
    # The switch: the first view equal to the max, found with boolean ops (np.where, masked copyto
    # and argmax over a small last axis are all several times slower in NumPy 2.4).
    kind = np.int8 if len(views) < 128 else np.int32
    best = np.zeros(out.shape, dtype=kind)
    found = views[0] == out
    for k, v in enumerate(views[1:], start=1):
        hit = v == out
        hit &= ~found
        found |= hit
        best += hit.view(np.int8).astype(kind, copy=False) * kind(k)
    if bool(np.isnan(out).any()):  # NOTE: as in PyTorch's kernel (val > max || isnan(val)), the last NaN wins
        for k, v in enumerate(views):
            nan = np.isnan(v)
            best -= (best - kind(k)) * nan.astype(kind)
    base = ((np.arange(oh) * stride[0] - padding[0]) * w)[:, None] + (np.arange(ow) * stride[1] - padding[1])
    indices = offsets.take(best)
    indices += base
    return out, indices


def max_pool2d_backward(g, indices, x_shape, unique=False):
    """Scatter-add g (N, C, OH, OW) into zeros(x_shape) at the per-plane flat `indices`.

    Max pooling's input gradient and max_unpool2d's forward. `unique=True` promises that no index
    repeats within a plane (non-overlapping windows), so a plain assignment replaces the sum.
    """
    if _parallel.takes(g) and _parallel.use(int(np.prod(x_shape))):  # threads for dx's size (4x g's for 2x2)
        return _parallel.kernels("pool").max_pool2d_backward(g, indices, x_shape, unique)
    n, c, h, w = x_shape
    planes = n * c
    flat = (indices.reshape(planes, -1) + (np.arange(planes) * (h * w))[:, None]).reshape(-1)
    gflat = g.reshape(-1)
    if unique:
        out = np.zeros(planes * h * w, dtype=g.dtype)
        out[flat] = gflat
    else:
        out = np.bincount(flat, weights=gflat, minlength=planes * h * w).astype(g.dtype, copy=False)
    return out.reshape(x_shape)


def _avg_divisor(x_shape, kernel, stride, padding, count_include_pad, dtype):
    """The number each window's sum is divided by: kh*kw, or (count_include_pad=False) the in-bounds count."""
    if count_include_pad:
        return float(kernel[0] * kernel[1])
    oh, ow = _pool_geometry(x_shape, kernel, stride, padding, (1, 1))
    ones = _pad(np.ones((1, 1) + tuple(x_shape[2:]), dtype=dtype), padding)
    count = np.zeros((1, 1, oh, ow), dtype=dtype)
    for _, _, (rows, cols) in _offset_slices(kernel, stride, (1, 1), (oh, ow)):
        count += ones[:, :, rows, cols]
    return count


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    """Mean over each window (zero padding) -> (N, C, OH, OW); a loop over the kh*kw offsets."""
    if _parallel.takes(x):
        return _parallel.kernels("pool").avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)
    oh, ow = _pool_geometry(x.shape, kernel, stride, padding, (1, 1))
    xpad = _pad(x, padding)
    out = np.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for _, _, (rows, cols) in _offset_slices(kernel, stride, (1, 1), (oh, ow)):
        out += xpad[:, :, rows, cols]
    out /= _avg_divisor(x.shape, kernel, stride, padding, count_include_pad, x.dtype)
    return out


def avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad=True):
    """The adjoint of avg_pool2d_forward: each window's g / divisor added back over the window."""
    if _parallel.takes(g):
        return _parallel.kernels("pool").avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad)
    n, c, h, w = x_shape
    ph, pw = padding
    oh, ow = g.shape[2], g.shape[3]
    gd = g / _avg_divisor(x_shape, kernel, stride, padding, count_include_pad, g.dtype)
    dx = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    for _, _, (rows, cols) in _offset_slices(kernel, stride, (1, 1), (oh, ow)):
        dx[:, :, rows, cols] += gd
    if ph or pw:
        dx = dx[:, :, ph : ph + h, pw : pw + w]
    return dx
