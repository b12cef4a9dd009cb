"""Parallel max and average pooling for the CPU backend (Numba): same signatures and results as cpu_conv.py.

One task per (image, channel) plane, which it reads and writes alone, in scan order: the thread
count never changes a result. Geometry as in cpu_conv.py (pairs of ints, symmetric padding).
"""

import numpy as np
from numba import njit, prange


def _out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@njit(inline="always")
def _taps(start, step, k, size):
    """[lo, hi): the kernel taps t whose position start + t step lies inside [0, size)."""
    lo = 0 if start >= 0 else (-start + step - 1) // step
    hi = (size - start + step - 1) // step
    return min(lo, k), max(min(hi, k), min(lo, k))


@njit(parallel=True, cache=True)
def max_pool_forward_kernel(x, out, idx, kh, kw, sh, sw, ph, pw, dh, dw):
    """out, idx (N C, OH, OW): the max of each window and its flat plane position y W + x.

    # NOTE: as PyTorch's kernel, `v > best or isnan(v)`: the first maximum wins on ties, the last NaN
    # of a window wins over everything; padding is never read (it counts as -inf).
    """
    planes, h, w = x.shape
    _, oh, ow = out.shape
    for task in prange(planes):
        plane = x[task]
        for oy in range(oh):
            y0 = oy * sh - ph
            ilo, ihi = _taps(y0, dh, kh, h)
            orow = out[task, oy]
            irow = idx[task, oy]
            for ox in range(ow):
                x0 = ox * sw - pw
                jlo, jhi = 0, kw
                if x0 < 0 or x0 + (kw - 1) * dw >= w:  # NOTE: the divisions only at the borders (they cost)
                    jlo, jhi = _taps(x0, dw, kw, w)
                best = -np.inf
                at = -1
                for i in range(ilo, ihi):
                    y = y0 + i * dh
                    row = plane[y]
                    for j in range(jlo, jhi):
                        xx = x0 + j * dw
                        v = row[xx]
                        take = (v > best) | (v != v) | (at < 0)  # a select, not a branch
                        best = v if take else best
                        at = y * w + xx if take else at
                orow[ox] = best
                irow[ox] = at


@njit(parallel=True, cache=True)
def max_pool_2x2_kernel(x, out, idx):
    """max_pool_forward_kernel for 2x2 windows, stride 2, no padding (LeNet-5, the MNIST convnet)."""
    planes, h, w = x.shape
    _, oh, ow = out.shape
    for task in prange(planes):
        for oy in range(oh):
            r0 = x[task, 2 * oy]
            r1 = x[task, 2 * oy + 1]
            orow = out[task, oy]
            irow = idx[task, oy]
            base = 2 * oy * w
            for ox in range(ow):
                c = 2 * ox
                best = r0[c]
                at = base + c
                v = r0[c + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                at = base + c + 1 if take else at
                v = r1[c]
                take = (v > best) | (v != v)
                best = v if take else best
                at = base + w + c if take else at
                v = r1[c + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                at = base + w + c + 1 if take else at
                orow[ox] = best
                irow[ox] = at


@njit(parallel=True, cache=True)
def scatter_planes_kernel(g, idx, dx):
    """dx (N C, H W) = zeros with g (N C, P) added at the plane positions idx (N C, P)."""
    planes, p = g.shape
    for task in prange(planes):
        dx[task, :] = 0
        for k in range(p):
            dx[task, idx[task, k]] += g[task, k]


@njit(parallel=True, cache=True)
def avg_pool_forward_kernel(x, out, kh, kw, sh, sw, ph, pw, count_include_pad):
    """out (N C, OH, OW) = the sum of each window's in-bounds values / (kh kw, or their count)."""
    planes, h, w = x.shape
    _, oh, ow = out.shape
    for task in prange(planes):
        for oy in range(oh):
            y0 = oy * sh - ph
            for ox in range(ow):
                x0 = ox * sw - pw
                total = x[task, 0, 0] * 0  # the input's dtype
                count = 0
                for i in range(kh):
                    y = y0 + i
                    if y < 0 or y >= h:
                        continue
                    for j in range(kw):
                        xx = x0 + j
                        if 0 <= xx < w:
                            total += x[task, y, xx]
                            count += 1
                if count_include_pad:
                    count = kh * kw
                out[task, oy, ox] = total / count


@njit(parallel=True, cache=True)
def avg_pool_backward_kernel(g, dx, kh, kw, sh, sw, ph, pw, count_include_pad):
    """dx (N C, H, W): each window's g / divisor added back over the window's in-bounds positions."""
    planes, h, w = dx.shape
    _, oh, ow = g.shape
    for task in prange(planes):
        dx[task] = 0
        for i in range(kh):
            for j in range(kw):
                for oy in range(oh):
                    y = oy * sh - ph + i
                    if y < 0 or y >= h:
                        continue
                    for ox in range(ow):
                        xx = ox * sw - pw + j
                        if xx < 0 or xx >= w:
                            continue
                        if count_include_pad:
                            count = kh * kw
                        else:
                            ylo, yhi = max(oy * sh - ph, 0), min(oy * sh - ph + kh, h)
                            xlo, xhi = max(ox * sw - pw, 0), min(ox * sw - pw + kw, w)
                            count = (yhi - ylo) * (xhi - xlo)
                        dx[task, y, xx] += g[task, oy, ox] / count


def _planes(a):
    n, c = a.shape[:2]
    return np.ascontiguousarray(a).reshape(n * c, a.shape[2], a.shape[3])


def max_pool2d_forward(x, kernel, stride, padding, dilation=(1, 1)):
    """Max over each window -> (out (N, C, OH, OW), indices (N, C, OH, OW) int64, PyTorch's)."""
    n, c, h, w = x.shape
    oh = _out_size(h, kernel[0], stride[0], padding[0], dilation[0])
    ow = _out_size(w, kernel[1], stride[1], padding[1], dilation[1])
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    if tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0) and tuple(dilation) == (1, 1):
        max_pool_2x2_kernel(_planes(x), out.reshape(n * c, oh, ow), idx.reshape(n * c, oh, ow))
    else:
        max_pool_forward_kernel(_planes(x), out.reshape(n * c, oh, ow), idx.reshape(n * c, oh, ow),
                                *kernel, *stride, *padding, *dilation)
    return out, idx


def max_pool2d_backward(g, indices, x_shape, unique=False):
    """Scatter-add g (N, C, OH, OW) into zeros(x_shape) at the per-plane flat `indices` (in range)."""
    n, c, h, w = x_shape
    dx = np.empty(x_shape, dtype=g.dtype)
    scatter_planes_kernel(np.ascontiguousarray(g).reshape(n * c, -1),
                          np.ascontiguousarray(indices).reshape(n * c, -1), dx.reshape(n * c, h * w))
    return dx


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    """Mean over each window (zero padding) -> (N, C, OH, OW)."""
    n, c, h, w = x.shape
    oh = _out_size(h, kernel[0], stride[0], padding[0], 1)
    ow = _out_size(w, kernel[1], stride[1], padding[1], 1)
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    avg_pool_forward_kernel(_planes(x), out.reshape(n * c, oh, ow), *kernel, *stride, *padding,
                            bool(count_include_pad))
    return out


def avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad=True):
    """The adjoint of avg_pool2d_forward."""
    n, c, h, w = x_shape
    dx = np.empty(x_shape, dtype=g.dtype)
    avg_pool_backward_kernel(_planes(g), dx.reshape(n * c, h, w), *kernel, *stride, *padding,
                             bool(count_include_pad))
    return dx
