"""Local response normalization in two fused passes (Numba, parallel over the (n, c) rows).

For x (N, C, P) (P: the flattened spatial axes), the window [c - before, c + after] (channels past
the edges count as zeros) and coef = alpha / size:
    d[n, c]  = k + coef * sum over the window of x[n, c']^2
    y[n, c]  = x[n, c] / d[n, c]^beta
    dx[n, c] = g[n, c] / d^beta - 2 beta coef x[n, c] * sum over c'' in [c - after, c + before] of t[n, c'']
               with t = g x / d^(beta + 1)
Each output row is one loop iteration with a fixed inner order (the window summed in ascending channel
order, as the NumPy composite does), so the results do not depend on the thread count.
beta = 0.75 (AlexNet's and PyTorch's default) takes d^0.75 = sqrt(d) sqrt(sqrt(d)), which vectorizes;
other betas call pow per element.
"""

import math

import numpy as np
from numba import njit, prange


@njit(nogil=True, cache=True)
def _power_row(d, beta, out):
    """out = d ** beta for one row; the beta = 0.75 loop apart (a branch inside the loop stops LLVM vectorizing)."""
    if beta == 0.75:
        for t in range(d.size):
            r = math.sqrt(d[t])
            out[t] = r * math.sqrt(r)
    else:
        for t in range(d.size):
            out[t] = d[t] ** beta


@njit(parallel=True, nogil=True, cache=True)
def _forward_kernel(x, before, after, coef, k, beta, y, d):
    n, c, p = x.shape
    for row in prange(n * c):
        b = row // c
        ch = row - b * c
        dr = d[b, ch]
        dr[:] = 0
        for cc in range(max(0, ch - before), min(c, ch + after + 1)):
            src = x[b, cc]
            for t in range(p):
                dr[t] += src[t] * src[t]
        xr = x[b, ch]
        yr = y[b, ch]
        for t in range(p):
            dr[t] = dr[t] * coef + k
        _power_row(dr, beta, yr)
        for t in range(p):
            yr[t] = xr[t] / yr[t]


@njit(parallel=True, nogil=True, cache=True)
def _backward_kernel(g, x, d, before, after, coef, beta, dx, tmp):
    n, c, p = x.shape
    for row in prange(n * c):
        b = row // c
        ch = row - b * c
        gr, xr, dr, out, tr = g[b, ch], x[b, ch], d[b, ch], dx[b, ch], tmp[b, ch]
        _power_row(dr, beta, tr)
        for t in range(p):
            out[t] = gr[t] / tr[t]
            tr[t] = out[t] * xr[t] / dr[t]
    scale = 2.0 * beta * coef
    for row in prange(n * c):
        b = row // c
        ch = row - b * c
        out, xr = dx[b, ch], x[b, ch]
        for cc in range(max(0, ch - after), min(c, ch + before + 1)):
            tr = tmp[b, cc]
            for t in range(p):
                out[t] -= scale * xr[t] * tr[t]


def lrn_forward(x, size, alpha, beta, k):
    """(y, d) for x (N, C, ...): y = x / d^beta, d = k + alpha / size * (window sum of x^2 over channels)."""
    x3 = np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)
    y = np.empty_like(x3)
    d = np.empty_like(x3)
    one = x3.dtype.type
    _forward_kernel(x3, size // 2, (size - 1) // 2, one(alpha / size), one(k), one(beta), y, d)
    return y.reshape(x.shape), d.reshape(x.shape)


def lrn_backward(g, x, d, size, alpha, beta):
    """dx of sum(g * lrn(x)) from x and lrn_forward's d (same shape as x)."""
    shape = x.shape
    g3, x3, d3 = (np.ascontiguousarray(a).reshape(shape[0], shape[1], -1) for a in (g, x, d))
    dx = np.empty_like(x3)
    tmp = np.empty_like(x3)
    one = x3.dtype.type
    _backward_kernel(g3, x3, d3, size // 2, (size - 1) // 2, one(alpha / size), one(beta), dx, tmp)
    return dx.reshape(shape)
