"""Fused Adam/AdamW and SGD updates for the CPU backend (Numba): one parallel pass over the arrays.

The same formulas, operations and order as tensorcore.optim.adam.adam_update and
tensorcore.optim.sgd.sgd_update (whose docstrings give the math), with every scalar cast to the
arrays' dtype first, so float32 rounds as NumPy's weak-scalar arithmetic does. The flush of
subnormal state every FLUSH_EVERY steps happens in the same pass (|v| < the smallest normal -> 0).
"""

import math

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, sign, weight_decay, decay_factor, one_m_beta1,
                beta2, one_m_beta2, eps_scaled, step_size, amsgrad, flush, tiny):
    for i in prange(param.size):
        g = grad[i] * sign
        p = param[i]
        if decay_factor != 1:
            p = p * decay_factor
        if weight_decay != 0:
            g = g + weight_decay * p
        m = exp_avg[i] + (g - exp_avg[i]) * one_m_beta1
        v = exp_avg_sq[i] * beta2 + (g * g) * one_m_beta2
        second = v
        if amsgrad:
            second = max(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = second
        param[i] = p - (m / (np.sqrt(second) + eps_scaled)) * step_size
        if flush:
            if abs(m) < tiny:
                m = tiny * 0
            if abs(v) < tiny:
                v = tiny * 0
        exp_avg[i] = m
        exp_avg_sq[i] = v


@njit(parallel=True, cache=True)
def sgd_kernel(param, grad, buf, sign, weight_decay, lr, momentum, one_m_dampening, first, nesterov, flush, tiny):
    use_momentum = momentum != 0
    for i in prange(param.size):
        g = grad[i] * sign
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        if use_momentum:
            b = g if first else buf[i] * momentum + one_m_dampening * g
            buf[i] = tiny * 0 if (flush and abs(b) < tiny) else b
            g = g + momentum * b if nesterov else b
        param[i] = param[i] - lr * g


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps, weight_decay,
                amsgrad, maximize, decoupled_weight_decay, flush):
    """One Adam/AdamW step in place on 1-D contiguous arrays of one float dtype."""
    t = param.dtype.type
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    decay = t(1 - lr * weight_decay) if (weight_decay and decoupled_weight_decay) else t(1)
    l2 = t(weight_decay) if (weight_decay and not decoupled_weight_decay) else t(0)
    vmax = max_exp_avg_sq if amsgrad else exp_avg_sq  # a placeholder the kernel does not touch
    adam_kernel(param, grad, exp_avg, exp_avg_sq, vmax, t(-1 if maximize else 1), l2, decay, t(1 - beta1),
                t(beta2), t(1 - beta2), t(eps * bias_correction2_sqrt),
                t(lr * bias_correction2_sqrt / bias_correction1), bool(amsgrad), bool(flush),
                t(np.finfo(param.dtype).tiny))


def sgd_update(param, grad, momentum_buffer, *, step, lr, momentum, dampening, weight_decay, nesterov, maximize,
               flush):
    """One SGD step in place on 1-D contiguous arrays; returns the momentum buffer (new on the first step)."""
    t = param.dtype.type
    first = momentum_buffer is None or step == 1
    buf = np.empty_like(param) if (momentum and momentum_buffer is None) else momentum_buffer
    sgd_kernel(param, grad, param if buf is None else buf, t(-1 if maximize else 1), t(weight_decay), t(lr),
               t(momentum), t(1 - dampening), first, bool(nesterov), bool(flush), t(np.finfo(param.dtype).tiny))
    return buf
