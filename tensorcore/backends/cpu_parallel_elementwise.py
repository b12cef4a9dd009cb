"""Parallel elementwise rules and row-wise softmax for the CPU backend (Numba).

Each function matches its NumPy counterpart in cpu.py on C-contiguous float arrays of one dtype
(the caller, cpu.py, sends anything else to NumPy). One pass over memory instead of NumPy's one
per operator; each element or row belongs to one loop iteration, so the thread count never
changes a result. No fastmath.
tanh and exp stay NumPy's: Numba calls libm once per element (no SVML here), measured 13x (GELU's
tanh form), 16x (sigmoid) and 2-4x (softmax, cross-entropy) slower than NumPy's SIMD loops on
(16, 64, 512) float32 on one core of the 2-core Xeon. So those rules are a Numba pass for the
arithmetic around one in-place NumPy tanh/exp (bench/results/2026-12-01-cpu2-seq-kernels.md).
"""

import math

import numpy as np
from numba import njit, prange

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(parallel=True, cache=True)
def relu_kernel(x, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = 0 if v < 0 else v  # NOTE: np.maximum(x, 0): NaN and -0.0 pass through


@njit(parallel=True, cache=True)
def relu_backward_kernel(x, g, out):
    for i in prange(x.size):
        out[i] = g[i] * (x[i] > 0)  # NOTE: g * 0 at the kink x == 0 (and NaN * 0 stays NaN)


@njit(parallel=True, cache=True)
def sigmoid_outer_kernel(t, half, one):
    for i in prange(t.size):
        t[i] = (t[i] + one) * half  # NOTE: 0.5 (1 + tanh(x / 2)) never overflows


@njit(parallel=True, cache=True)
def sigmoid_backward_kernel(y, g, out, one):
    for i in prange(y.size):
        out[i] = g[i] * y[i] * (one - y[i])


@njit(parallel=True, cache=True)
def gelu_erf_kernel(x, out):
    """out = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))) (NumPy's erf is a slow masked rational approximation)."""
    for i in prange(x.size):
        v = np.float64(x[i])
        out[i] = 0.5 * v * (1.0 + math.erf(v * _INV_SQRT_2))


@njit(parallel=True, cache=True)
def gelu_erf_backward_kernel(x, g, out):
    for i in prange(x.size):
        v = np.float64(x[i])
        # NOTE: d/dx [x Phi(x)] = Phi(x) + x phi(x)
        out[i] = g[i] * (0.5 * (1.0 + math.erf(v * _INV_SQRT_2)) + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI)


# The GELU tanh-form kernels compute in x's dtype with cpu.py's operations in cpu.py's order (the same
# bits as the NumPy path; float64 arithmetic on float32 measured 2x slower). c = sqrt(2/pi),
# k1 = 0.044715 c, k3 = 3 k1, half and one: scalars of x's dtype.


@njit(parallel=True, cache=True)
def gelu_tanh_inner_kernel(x, u, c, k1):
    """u = (k1 x^2 + c) x = sqrt(2/pi) (x + 0.044715 x^3), the argument of GELU's tanh form."""
    for i in prange(x.size):
        v = x[i]
        u[i] = (v * v * k1 + c) * v


@njit(parallel=True, cache=True)
def gelu_tanh_outer_kernel(x, u, half, one):
    """u = 0.5 x (1 + u), u = tanh(...) on entry."""
    for i in prange(x.size):
        u[i] = (u[i] + one) * x[i] * half


@njit(parallel=True, cache=True)
def gelu_tanh_backward_outer_kernel(x, g, u, c, k3, half, one):
    """u = g (0.5 (1 + u) + 0.5 x (1 - u^2) sqrt(2/pi) (1 + 3 0.044715 x^2)), u = tanh(...) on entry."""
    for i in prange(x.size):
        v = x[i]
        t = u[i]
        a = (v * v * k3 + c) * v * (one - t * t)
        u[i] = ((t + one) + a) * half * g[i]


# NOTE: "reassoc" lets LLVM vectorize the float64 row sums (reordered additions of positive terms:
# relative error ~1e-16, far below the result's dtype).
@njit(parallel=True, cache=True, fastmath={"reassoc"})
def row_normalize_kernel(e, shifted, log):
    """e[r] = e[r] / sum(e[r]) (softmax), or shifted[r] - log(sum(e[r])) into e (log_softmax); e = exp(shifted)."""
    rows, c = e.shape
    for r in prange(rows):
        total = np.float64(0.0)
        for k in range(c):
            total += e[r, k]
        if log:
            lse = np.log(total)
            for k in range(c):
                e[r, k] = shifted[r, k] - lse
        else:
            inv = 1.0 / total
            for k in range(c):
                e[r, k] = e[r, k] * inv


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def cross_entropy_finish_kernel(shifted, e, targets, ignore_index, loss):
    """From shifted = x - rowmax and e = exp(shifted): loss[r] = lse_r - shifted[r, t_r], e[r] = softmax - onehot."""
    rows, c = e.shape
    for r in prange(rows):
        t = targets[r]
        if t == ignore_index:
            loss[r] = 0
            e[r, :] = 0
            continue
        total = np.float64(0.0)
        for k in range(c):
            total += e[r, k]
        lse = np.log(total)
        inv = 1.0 / total
        for k in range(c):
            e[r, k] = e[r, k] * inv
        loss[r] = lse - shifted[r, t]
        e[r, t] -= 1


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def channel_sum_kernel(x, out):
    """out[c] = sum over n, p of x[n, c, p], in float64 (a conv bias's gradient, x (N, C, H W))."""
    n, c, p = x.shape
    for ch in prange(c):
        total = 0.0
        for b in range(n):
            row = x[b, ch]
            part = 0.0  # NOTE: float64 partial sums (vectorized by reassoc: the order is fixed at compile time)
            for k in range(p):
                part += row[k]
            total += part
        out[ch] = total


def channel_sum(x, keepdims):
    """x (N, C, H, W) C-contiguous summed over axes (0, 2, 3): a float64 sum per channel, one rounding."""
    n, c, h, w = x.shape
    out = np.empty(c, dtype=np.float64)
    channel_sum_kernel(x.reshape(n, c, h * w), out)
    out = out.astype(x.dtype)
    return out.reshape(1, c, 1, 1) if keepdims else out


def relu(x):
    out = np.empty(x.shape, dtype=x.dtype)
    relu_kernel(x.reshape(-1), out.reshape(-1))
    return out


def relu_backward(x, g):
    out = np.empty(g.shape, dtype=g.dtype)
    relu_backward_kernel(x.reshape(-1), g.reshape(-1), out.reshape(-1))
    return out


def sigmoid(x):
    out = np.empty(x.shape, dtype=x.dtype)
    t = x.dtype.type
    flat = out.reshape(-1)
    np.multiply(x.reshape(-1), t(0.5), out=flat)
    np.tanh(flat, out=flat)
    sigmoid_outer_kernel(flat, t(0.5), t(1))
    return out


def sigmoid_backward(y, g):
    out = np.empty(g.shape, dtype=g.dtype)
    sigmoid_backward_kernel(y.reshape(-1), g.reshape(-1), out.reshape(-1), g.dtype.type(1))
    return out


def gelu(x, approximate="none"):
    out = np.empty(x.shape, dtype=x.dtype)
    if approximate == "tanh":
        flat, t = out.reshape(-1), x.dtype.type
        gelu_tanh_inner_kernel(x.reshape(-1), flat, t(_SQRT_2_OVER_PI), t(0.044715 * _SQRT_2_OVER_PI))
        np.tanh(flat, out=flat)
        gelu_tanh_outer_kernel(x.reshape(-1), flat, t(0.5), t(1))
        return out
    gelu_erf_kernel(x.reshape(-1), out.reshape(-1))
    return out


def gelu_backward(x, g, approximate="none"):
    out = np.empty(g.shape, dtype=g.dtype)
    if approximate == "tanh":
        flat, t = out.reshape(-1), x.dtype.type
        gelu_tanh_inner_kernel(x.reshape(-1), flat, t(_SQRT_2_OVER_PI), t(0.044715 * _SQRT_2_OVER_PI))
        np.tanh(flat, out=flat)
        gelu_tanh_backward_outer_kernel(x.reshape(-1), g.reshape(-1), flat, t(_SQRT_2_OVER_PI),
                                        t(3 * 0.044715 * _SQRT_2_OVER_PI), t(0.5), t(1))
        return out
    gelu_erf_backward_kernel(x.reshape(-1), g.reshape(-1), out.reshape(-1))
    return out


def softmax_rows(x2d, log):
    shifted = x2d - x2d.max(axis=1, keepdims=True)  # NOTE: the row max keeps exp() finite; NaN propagates
    e = np.exp(shifted)
    row_normalize_kernel(e, shifted, log)
    return e


def softmax_cross_entropy(logits, targets, ignore_index=-100):
    shifted = logits - logits.max(axis=1, keepdims=True)
    grad = np.exp(shifted)
    loss = np.empty(logits.shape[0], dtype=logits.dtype)
    cross_entropy_finish_kernel(shifted, grad, np.ascontiguousarray(targets, dtype=np.int64), ignore_index, loss)
    return loss, grad
