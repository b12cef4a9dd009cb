"""Fused Adam / AdamW and SGD updates: one grid-stride launch per parameter tensor (or per flat buffer of
them: tensorcore.optim's fused Adam path), updating in place.

Math (step ``t >= 1``; PyTorch's formulation)::

    g = grad + wd * p                        (Adam with L2 weight decay: decoupled=False)
    m = beta1 m + (1 - beta1) g
    v = beta2 v + (1 - beta2) g^2
    p = p - lr wd p                          (AdamW, decoupled=True, instead of the L2 term)
    p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The bias corrections are computed once on the host. Shapes: ``param``, ``grad``, ``m``, ``v`` all of
one shape and dtype (float32/float64), C-contiguous; ``param``, ``m`` and ``v`` are updated in place.
Cost per element: reads 4 and writes 3 elements (28 bytes in float32), about 15 FLOPs and one
``sqrt``: memory bound. One kernel instead of the ~10 elementwise ops an unfused update needs, so
each parameter is read once. Launch: 1-D grid-stride, 256 threads, ``min(cdiv(n, 256), 16 SMs)``
blocks.

Wrapper::

    adam_update(param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=1,
                decoupled=False, stream=None) -> param

    adam_update(w, dw, m_w, v_w, lr=1e-3, step=t, weight_decay=0.01, decoupled=True)   # AdamW
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _launch


def make_adam_kernel(dtype):
    """Args ``(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2, decoupled)``:
    1-D arrays and scalars of the array dtype (``step_size = lr / (1 - beta1^t)``,
    ``inv_sqrt_bc2 = 1 / sqrt(1 - beta2^t)``), ``decoupled`` an int."""
    T = _launch.numba_type(dtype)
    ONE = T(1.0)

    def adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2, decoupled):
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        n = p.size
        while i < n:
            w = p[i]
            gi = g[i]
            if decoupled:
                w -= lr * weight_decay * w
            else:
                gi += weight_decay * w
            mi = beta1 * m[i] + (ONE - beta1) * gi
            vi = beta2 * v[i] + (ONE - beta2) * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = w - step_size * mi / (math.sqrt(vi) * inv_sqrt_bc2 + eps)
            i += stride

    return _launch.named(adam_update, "adam_update", dtype)


def make_sgd_kernel(dtype):
    """Args ``(p, g, b, lr, momentum, dampening, weight_decay, first, nesterov, maximize)``: 1-D arrays, scalars
    of the array dtype, then ints; ``b`` (the momentum buffer) is neither read nor written when
    ``momentum == 0``, and only written on the ``first`` momentum step."""
    T = _launch.numba_type(dtype)
    ZERO = T(0.0)
    ONE = T(1.0)

    def sgd_update(p, g, b, lr, momentum, dampening, weight_decay, first, nesterov, maximize):
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        n = p.size
        while i < n:
            w = p[i]
            d = -g[i] if maximize else g[i]
            if weight_decay != ZERO:  # never 0 * inf
                d += weight_decay * w
            if momentum != ZERO:
                bi = d if first else momentum * b[i] + (ONE - dampening) * d
                b[i] = bi
                d = d + momentum * bi if nesterov else bi
            p[i] = w - lr * d
            i += stride

    return _launch.named(sgd_update, "sgd_update", dtype)


def _kernel(dtype):
    return _launch.built(make_adam_kernel, dtype)


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of the optimizer kernels."""
    out = []
    for dtype in _launch.FLOAT_DTYPES:
        t = _launch.numba_type(dtype)
        fn = make_adam_kernel(dtype)
        out.append((fn.__name__, fn, [numba.void(*([t[::1]] * 4), *([t] * 7), numba.int64)], None))
        fn = make_sgd_kernel(dtype)
        out.append((fn.__name__, fn, [numba.void(*([t[::1]] * 3), *([t] * 4), *([numba.int64] * 3))], None))
    return out


def adam_update(
    param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=1, decoupled=False, stream=None
):
    """One Adam (``decoupled=False``) or AdamW (``decoupled=True``) step on ``param`` in place (also
    updating the moment buffers ``m`` and ``v``); returns ``param``. ``step`` counts from 1.

    Over a flat buffer holding every parameter (tensorcore.optim's fused path), this is the whole
    optimizer step in one launch."""
    fn = "adam_update"
    kind = _launch.check_same_kind(fn, param, grad, m, v)
    _launch.check_float(fn, "param", param)
    dtype, shape = param.dtype, param.shape
    for name, a in (("grad", grad), ("m", m), ("v", v)):
        if a.dtype != dtype or a.shape != shape or not _launch.is_c_contiguous(a):
            _launch.check(fn, name, a, dtype=dtype, shape=shape)
    n = param.size
    key = (dtype, lr, beta1, beta2, eps, weight_decay, step, bool(decoupled))
    scalars = _scalars.get(key)
    if scalars is None:
        scalars = _step_scalars(fn, *key)
    if n == 0:
        return param
    _launch.launch(
        _kernel(dtype), _launch.grid_1d(n), _launch.THREADS_1D, _launch.stream_for(kind, stream),
        _launch.Flat(param), _launch.Flat(grad), _launch.Flat(m), _launch.Flat(v), *scalars,
    )
    return param


_scalars: dict = {}  # (dtype, hyperparameters, step) -> the kernel's scalar arguments, made once per step


def _step_scalars(fn, dtype, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """The kernel's scalars ``(lr, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2, decoupled)``."""
    if int(step) != step or step < 1:
        raise ValueError(f"{fn}: step counts from 1, got {step}")
    if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
        raise ValueError(f"{fn}: betas must be in [0, 1), got {beta1}, {beta2}")
    step = int(step)
    T = np.dtype(dtype).type
    step_size = lr / (1.0 - beta1**step)
    inv_sqrt_bc2 = 1.0 / math.sqrt(1.0 - beta2**step)
    values = tuple(T(s) for s in (lr, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2)) + (int(decoupled),)
    if len(_scalars) > 64:  # one entry per step and parameter group: old steps are dropped
        _scalars.clear()
    _scalars[(dtype, lr, beta1, beta2, eps, weight_decay, step, decoupled)] = values
    return values


def sgd_update(
    param, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False, first=True,
    stream=None,
):
    """One SGD step on ``param`` in place, PyTorch's formulas (tensorcore/optim/sgd.py): ``d = +-grad + wd p``;
    with momentum ``b = d`` (``first``) or ``momentum b + (1 - dampening) d``, ``d = d + momentum b`` (nesterov)
    or ``b``; ``p -= lr d``. ``buf`` (the momentum buffer, updated in place) may be None without momentum."""
    fn = "sgd_update"
    kind = _launch.check_same_kind(fn, param, grad, buf)
    _launch.check_float(fn, "param", param)
    _launch.check(fn, "grad", grad, dtype=param.dtype, shape=param.shape)
    if momentum:
        if buf is None:
            raise ValueError(f"{fn}: momentum {momentum} needs a momentum buffer")
        _launch.check(fn, "buf", buf, dtype=param.dtype, shape=param.shape)
    n = param.size
    if n == 0:
        return param
    key = (param.dtype, lr, momentum, dampening, weight_decay, bool(first), bool(nesterov), bool(maximize))
    scalars = _scalars.get(key)
    if scalars is None:
        T = np.dtype(param.dtype).type
        scalars = tuple(T(v) for v in key[1:5]) + tuple(int(v) for v in key[5:])
        if len(_scalars) > 64:
            _scalars.clear()
        _scalars[key] = scalars
    _launch.launch(
        _launch.built(make_sgd_kernel, param.dtype), _launch.grid_1d(n), _launch.THREADS_1D,
        _launch.stream_for(kind, stream), _launch.Flat(param), _launch.Flat(grad),
        # NOTE: without momentum grad stands in for the unused buffer: never param (the simulator copies each
        # argument back after a launch, and a second copy of param would undo the update).
        _launch.Flat(buf if momentum else grad), *scalars,
    )
    return param


def sgd_update_reference(param, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                         maximize=False, first=True):
    """float64 ``(param, buf)`` after one step (new arrays)."""
    p, d = np.asarray(param, np.float64).copy(), np.asarray(grad, np.float64) * (-1 if maximize else 1)
    d = d + weight_decay * p
    b = None
    if momentum:
        b = d.copy() if first else momentum * np.asarray(buf, np.float64) + (1 - dampening) * d
        d = d + momentum * b if nesterov else b
    return p - lr * d, b


def adam_update_reference(
    param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=1, decoupled=False
):
    """float64 ``(param, m, v)`` after one step (new arrays; the inputs are not modified)."""
    p, g, m, v = (np.asarray(a, np.float64).copy() for a in (param, grad, m, v))
    if decoupled:
        p = p - lr * weight_decay * p
    else:
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    mhat = m / (1 - beta1**step)
    vhat = v / (1 - beta2**step)
    return p - lr * mhat / (np.sqrt(vhat) + eps), m, v
