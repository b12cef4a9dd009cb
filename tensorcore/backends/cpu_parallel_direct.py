"""Direct stride-1 convolution on whole padded rows (Numba), for filters with few weights.

xpad: the zero-padded input, flat, plane (n, c) at (n C + c) Hp Wp, with (kw - 1) dw zeros of
slack at the end; run(i, j) = the Q = OH Wp values from i dh Wp + j dw on; column q = oy Wp + ox.
    forward   y[n, o, oy, ox] = sum_{c, i, j} w[o, c, i, j] run_{n,c}(i, j)[q]       (q valid: ox < OW)
    weight    dw[o, c, i, j]  = sum_n sum_q g_wide[n, o, q] run_{n,c}(i, j)[q]
    input     dxpad[n, c, s(i, j) + q] += w[o, c, i, j] g_wide[n, o, q]         then cropped
g_wide is g with zero columns ox >= OW, which makes the wide sums exact. Each task owns one output
(plane, or filter tap row) and sums in a fixed order, so the thread count never changes a result.
"""

import numpy as np
from numba import njit, prange

# NOTE: the weight gradient's dot products are vectorized by letting LLVM reassociate the sum
# (fastmath 'reassoc' and 'contract'; no nnan/ninf, so NaN and inf propagate). Measured against the
# float64 result on LeNet-5's layers (batch 64, float32): max error / max |dw| 3.2e-7 and 2.5e-7,
# NumPy's BLAS path 2.9e-7 and 2.8e-7. The order is fixed at compile time: deterministic.
_REASSOC = {"reassoc", "contract"}
# NOTE: the forward's sums keep their order (no reassoc); 'contract' lets each w x + acc be one fused
# multiply-add (one rounding instead of two). 3- and 5-wide filter rows (the MNIST convnet's and LeNet-5's
# first layers) are summed a row per pass over acc, one store per row instead of per tap: one thread,
# LeNet-5's (64, 1, 28, 28) * 6x5x5 0.52 -> 0.32 ms, the MNIST convnet's * 32x3x3 1.09 -> 0.78 ms; the
# weight gradient's row of dot products in one pass over g: 0.38 -> 0.25 ms and 0.72 -> 0.52 ms.
_CONTRACT = {"contract"}


@njit(parallel=True, cache=True, fastmath=_CONTRACT)
def forward_kernel(xpad, w, y, c, hp, wp, dh, dw, groups):
    """y (N, O, OH, OW) = the direct convolution of xpad with w (O, C/G, kh, kw)."""
    n, o, oh, ow = y.shape
    _, cg, kh, kw = w.shape
    og = o // groups
    q = oh * wp
    plane = hp * wp
    for task in prange(n * o):
        b = task // o
        oc = task - b * o
        g = oc // og
        acc = np.zeros(q, dtype=y.dtype)
        for cc in range(cg):
            base = (b * c + g * cg + cc) * plane
            for i in range(kh):
                at = base + i * dh * wp
                if kw == 3 and dw == 1:  # NOTE: a filter row per pass over acc (kw loads, one store)
                    w0, w1, w2 = w[oc, cc, i, 0], w[oc, cc, i, 1], w[oc, cc, i, 2]
                    r = xpad[at : at + q + 2]
                    for k in range(q):
                        acc[k] += w0 * r[k] + w1 * r[k + 1] + w2 * r[k + 2]
                elif kw == 5 and dw == 1:
                    w0, w1, w2 = w[oc, cc, i, 0], w[oc, cc, i, 1], w[oc, cc, i, 2]
                    w3, w4 = w[oc, cc, i, 3], w[oc, cc, i, 4]
                    r = xpad[at : at + q + 4]
                    for k in range(q):
                        acc[k] += w0 * r[k] + w1 * r[k + 1] + w2 * r[k + 2] + w3 * r[k + 3] + w4 * r[k + 4]
                else:
                    for j in range(kw):
                        wv = w[oc, cc, i, j]
                        run = xpad[at + j * dw :][:q]
                        for k in range(q):
                            acc[k] += wv * run[k]
        for oy in range(oh):
            y[b, oc, oy, :] = acc[oy * wp : oy * wp + ow]


@njit(parallel=True, cache=True, fastmath=_REASSOC)
def weight_kernel(xpad, g_wide, gw, c, hp, wp, dh, dw, groups, zero):
    """gw (O, C/G, kh, kw) = sum over images of the dot products of g_wide rows with the runs."""
    n, o, q = g_wide.shape
    _, cg, kh, kw = gw.shape
    og = o // groups
    plane = hp * wp
    for task in prange(o * cg):
        oc = task // cg
        cc = task - oc * cg
        g = oc // og
        acc = np.zeros(kh * kw, dtype=gw.dtype)
        for b in range(n):
            base = (b * c + g * cg + cc) * plane
            grow = g_wide[b, oc]
            for i in range(kh):
                at = base + i * dh * wp
                t = i * kw
                if kw == 3 and dw == 1:  # NOTE: a filter row's dot products in one pass (g read once)
                    r = xpad[at : at + q + 2]
                    s0, s1, s2 = zero, zero, zero
                    for k in range(q):
                        gk = grow[k]
                        s0 += gk * r[k]
                        s1 += gk * r[k + 1]
                        s2 += gk * r[k + 2]
                    acc[t] += s0
                    acc[t + 1] += s1
                    acc[t + 2] += s2
                elif kw == 5 and dw == 1:
                    r = xpad[at : at + q + 4]
                    s0, s1, s2, s3, s4 = zero, zero, zero, zero, zero
                    for k in range(q):
                        gk = grow[k]
                        s0 += gk * r[k]
                        s1 += gk * r[k + 1]
                        s2 += gk * r[k + 2]
                        s3 += gk * r[k + 3]
                        s4 += gk * r[k + 4]
                    acc[t] += s0
                    acc[t + 1] += s1
                    acc[t + 2] += s2
                    acc[t + 3] += s3
                    acc[t + 4] += s4
                else:
                    for j in range(kw):
                        run = xpad[at + j * dw :][:q]
                        part = zero
                        for k in range(q):
                            part += grow[k] * run[k]
                        acc[t + j] += part
        for i in range(kh):
            for j in range(kw):
                gw[oc, cc, i, j] = acc[i * kw + j]


@njit(parallel=True, cache=True)
def input_kernel(g_wide, w, dx, hp, wp, ph, pw, dh, dw, oh):
    """dx (N, C, H, W) = the transposed direct convolution of g_wide (N, O, OH Wp) with w."""
    n, c, h, wd = dx.shape
    o, cg, kh, kw = w.shape
    groups = c // cg
    og = o // groups
    q = oh * wp
    plane = hp * wp
    for task in prange(n * c):
        b = task // c
        ci = task - b * c
        g = ci // cg
        cc = ci - g * cg
        buf = np.zeros(plane, dtype=dx.dtype)
        for oo in range(og):
            oc = g * og + oo
            grow = g_wide[b, oc]
            for i in range(kh):
                for j in range(kw):
                    wv = w[oc, cc, i, j]
                    s = i * dh * wp + j * dw
                    m = min(q, plane - s)  # the values past the plane are columns ox >= OW: zero
                    dst = buf[s:][:m]
                    for k in range(m):
                        dst[k] += wv * grow[k]
        for y in range(h):
            dx[b, ci, y, :] = buf[(y + ph) * wp + pw : (y + ph) * wp + pw + wd]


def conv2d_forward(x, w, padding, dilation, groups):
    """The stride-1 direct convolution y (N, O, OH, OW) of x (N, C, H, W) with w (O, C/G, kh, kw), no bias."""
    from .cpu_parallel_conv import _pad_flat, _plan  # NOTE: imported here (that module imports this one)

    w = np.ascontiguousarray(w)
    oh, ow, hp, wp, _, _ = _plan(x.shape, w.shape, (1, 1), padding, dilation, groups)
    y = np.empty((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype)
    forward_kernel(_pad_flat(x, padding, dilation, w.shape[3]), w, y, x.shape[1], hp, wp, dilation[0], dilation[1],
                   groups)
    return y
