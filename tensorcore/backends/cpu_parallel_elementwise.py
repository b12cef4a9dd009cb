"""Parallel elementwise rules and row-wise softmax for the CPU backend (Numba).

Each function matches its NumPy counterpart in cpu.py on C-contiguous float arrays of one dtype
(the caller, cpu.py, sends anything else to NumPy). One pass over memory instead of NumPy's one
per operator; each element or row belongs to one loop iteration, so the thread count never
changes a result. No fastmath: the same operations in the same order as the NumPy reference.
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
def sigmoid_kernel(x, out, half, one):
    for i in prange(x.size):
        out[i] = (np.tanh(x[i] * half) + one) * half  # NOTE: 0.5 (1 + tanh(x / 2)) never overflows


@njit(parallel=True, cache=True)
def sigmoid_backward_kernel(y, g, out, one):
    for i in prange(y.size):
        out[i] = g[i] * y[i] * (one - y[i])


@njit(parallel=True, cache=True)
def gelu_kernel(x, out, tanh_form):
    for i in prange(x.size):
        v = np.float64(x[i])
        if tanh_form:
            out[i] = 0.5 * v * (1.0 + math.tanh(_SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)))
        else:
            out[i] = 0.5 * v * (1.0 + math.erf(v * _INV_SQRT_2))


@njit(parallel=True, cache=True)
def gelu_backward_kernel(x, g, out, tanh_form):
    for i in prange(x.size):
        v = np.float64(x[i])
        if tanh_form:
            u = math.tanh(_SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))
            du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * v * v)
            d = 0.5 * (1.0 + u) + 0.5 * v * (1.0 - u * u) * du
        else:
            # NOTE: d/dx [x Phi(x)] = Phi(x) + x phi(x)
            d = 0.5 * (1.0 + math.erf(v * _INV_SQRT_2)) + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI
        out[i] = g[i] * d


@njit(parallel=True, cache=True)
def softmax_rows_kernel(x, out, log):
    """out[r] = softmax(x[r]) or log_softmax(x[r]) for the rows of x (R, C)."""
    rows, c = x.shape
    for r in prange(rows):
        m = x[r, 0]
        for k in range(1, c):
            if x[r, k] > m or x[r, k] != x[r, k]:  # NOTE: NaN propagates, as np.max does
                m = x[r, k]
        total = x[r, 0] * 0
        for k in range(c):
            e = np.exp(x[r, k] - m)  # NOTE: the row max keeps exp() finite
            out[r, k] = e
            total += e
        if log:
            lse = np.log(total)
            for k in range(c):
                out[r, k] = (x[r, k] - m) - lse
        else:
            for k in range(c):
                out[r, k] /= total


@njit(parallel=True, cache=True)
def cross_entropy_rows_kernel(x, targets, ignore_index, loss, grad):
    """loss[r] = -log_softmax(x[r])[t_r], grad[r] = softmax(x[r]) - onehot(t_r); 0 for ignored rows."""
    rows, c = x.shape
    for r in prange(rows):
        t = targets[r]
        if t == ignore_index:
            loss[r] = 0
            grad[r, :] = 0
            continue
        m = x[r, 0]
        for k in range(1, c):
            if x[r, k] > m or x[r, k] != x[r, k]:
                m = x[r, k]
        total = x[r, 0] * 0
        for k in range(c):
            total += np.exp(x[r, k] - m)
        lse = np.log(total)
        for k in range(c):
            grad[r, k] = np.exp((x[r, k] - m) - lse)
        loss[r] = -((x[r, t] - m) - lse)
        grad[r, t] -= 1


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
    sigmoid_kernel(x.reshape(-1), out.reshape(-1), t(0.5), t(1))
    return out


def sigmoid_backward(y, g):
    out = np.empty(g.shape, dtype=g.dtype)
    sigmoid_backward_kernel(y.reshape(-1), g.reshape(-1), out.reshape(-1), g.dtype.type(1))
    return out


def gelu(x, approximate="none"):
    out = np.empty(x.shape, dtype=x.dtype)
    gelu_kernel(x.reshape(-1), out.reshape(-1), approximate == "tanh")
    return out


def gelu_backward(x, g, approximate="none"):
    out = np.empty(g.shape, dtype=g.dtype)
    gelu_backward_kernel(x.reshape(-1), g.reshape(-1), out.reshape(-1), approximate == "tanh")
    return out


def softmax_rows(x2d, log):
    out = np.empty_like(x2d)
    softmax_rows_kernel(x2d, out, log)
    return out


def softmax_cross_entropy(logits, targets, ignore_index=-100):
    loss = np.empty(logits.shape[0], dtype=logits.dtype)
    grad = np.empty_like(logits)
    cross_entropy_rows_kernel(logits, np.ascontiguousarray(targets, dtype=np.int64), ignore_index, loss, grad)
    return loss, grad
