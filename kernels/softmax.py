"""Row-wise softmax and log-softmax (forward and backward) and fused softmax + cross-entropy.

Math, over the last axis of ``x`` viewed as ``(R, C)`` (rows ``r``, classes ``c``)::

    m_r = max_c x[r, c]                   s_r = sum_c exp(x[r, c] - m_r)
    softmax:      y = exp(x - m) / s      dx = y * (g - sum_c g y)
    log_softmax:  y = x - m - log s       dx = g - exp(y) * sum_c g
    cross-entropy with integer targets t_r (fused: loss and gradient in one kernel):
        loss_r = m_r + log s_r - x[r, t_r]
        dlogits[r, c] = scale * (softmax(x)[r, c] - [c == t_r])
    rows with ``t_r == ignore_index`` get loss 0 and gradient 0; other targets outside [0, C) give a
    NaN loss (the kernel cannot raise).

NOTE: stability. ``m`` and ``s`` are computed in one pass with the online rule
(``s <- s * exp(m_old - m_new) + exp(x - m_new)``), so every ``exp`` has a non-positive argument:
logits of 1e4 (or -1e4) give exact results instead of inf/NaN, and log-softmax uses ``x - m - log s``
rather than ``log(softmax)``, which would underflow to ``log 0``.

Parallelisation: one warp per row, ``WARPS_PER_BLOCK = 4`` rows per block of 128 threads; lanes
stride the row 32 columns apart (coalesced), ``UNROLL = 4`` columns per lane per step with their
loads issued together (enough bytes in flight for HBM3e), then combine their partial ``(m, s)`` or sums with
five ``shfl_xor_sync`` butterfly steps, so every lane ends with the row's total (no shared memory,
no ``syncthreads``). Grid ``min(cdiv(R, 4), 16 * SMs)`` blocks, grid-stride over rows.

Bytes (float32): forward reads x twice (the second read mostly hits L1/L2: one warp re-reads its own
row) and writes y once, ``>= 8 R C`` bytes; backward reads 2 and writes 1 array; cross-entropy reads
the logits (twice, as above) and writes the gradient plus ``R`` losses. FLOPs about 5 per element
plus one ``exp`` (two in the online pass).

Wrappers (last axis; any leading shape; float32/float64; C-contiguous)::

    softmax(x, out=None, stream=None)              softmax_backward(y, grad, out=None, stream=None)
    log_softmax(x, out=None, stream=None)          log_softmax_backward(y, grad, out=None, stream=None)
    softmax_cross_entropy(logits, targets, grad_scale=1.0, ignore_index=-100, loss_out=None,
                          grad_out=None, stream=None) -> (loss_per_row, grad)

    loss, dlogits = softmax_cross_entropy(logits, labels, grad_scale=1 / len(labels))
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _launch

#: Rows (warps) per block.
WARPS_PER_BLOCK = 4
THREADS = 32 * WARPS_PER_BLOCK
#: Columns per lane per step: a lane issues UNROLL loads (32 columns apart) before using them.
UNROLL = 4
_FULL_MASK = 0xFFFFFFFF


def make_forward_kernel(log: bool, dtype):
    """``out = softmax(x)`` or ``log_softmax(x)`` row-wise; args ``(x, out)``, both ``(R, C)``."""
    T = _launch.numba_type(dtype)
    LOG = bool(log)
    ZERO, ONE, NEG_INF = T(0.0), T(1.0), T(-math.inf)

    def softmax_forward(x, out):
        R, C = x.shape
        vals = cuda.local.array(UNROLL, T)
        lane = cuda.threadIdx.x % 32
        row = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        row_stride = cuda.gridDim.x * WARPS_PER_BLOCK
        while row < R:  # uniform across the warp: every lane takes part in the shuffles
            # Pass 1: online max m and sum s of exp(x - m), UNROLL loads in flight per lane.
            m = NEG_INF
            s = ZERO
            c0 = lane
            while c0 < C:
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    vals[u] = x[row, c] if c < C else NEG_INF
                mx = m
                for u in range(UNROLL):
                    mx = max(mx, vals[u])
                if mx != NEG_INF:
                    s *= math.exp(m - mx)
                    for u in range(UNROLL):
                        s += math.exp(vals[u] - mx)  # NaN in x makes s NaN: the row's output is NaN
                    m = mx
                c0 += 32 * UNROLL
            off = 16
            while off > 0:  # butterfly: every lane ends with the row's (m, s)
                m2 = cuda.shfl_xor_sync(_FULL_MASK, m, off)
                s2 = cuda.shfl_xor_sync(_FULL_MASK, s, off)
                mn = max(m, m2)
                if mn != NEG_INF:  # both lanes empty (C < 32): keep s = 0
                    s = s * math.exp(m - mn) + s2 * math.exp(m2 - mn)
                m = mn
                off //= 2
            shift = m + math.log(s)  # log_softmax: y = x - shift
            inv = ONE / s  # softmax: y = exp(x - m) * inv
            # Pass 2: write (the row is re-read from L1/L2).
            c0 = lane
            while c0 < C:
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    vals[u] = x[row, c] if c < C else ZERO
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    if c < C:
                        if LOG:
                            out[row, c] = vals[u] - shift
                        else:
                            out[row, c] = math.exp(vals[u] - m) * inv
                c0 += 32 * UNROLL
            row += row_stride

    name = "log_softmax" if log else "softmax"
    return _launch.named(softmax_forward, f"{name}_forward", dtype)


def make_backward_kernel(log: bool, dtype):
    """Row-wise backward from the forward output ``y``; args ``(y, grad, out)``, all ``(R, C)``."""
    T = _launch.numba_type(dtype)
    LOG = bool(log)
    ZERO = T(0.0)

    def softmax_backward(y, grad, out):
        R, C = y.shape
        ys = cuda.local.array(UNROLL, T)
        gs = cuda.local.array(UNROLL, T)
        lane = cuda.threadIdx.x % 32
        row = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        row_stride = cuda.gridDim.x * WARPS_PER_BLOCK
        while row < R:
            total = ZERO  # softmax: sum g*y; log_softmax: sum g
            c0 = lane
            while c0 < C:
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    gs[u] = grad[row, c] if c < C else ZERO
                    if not LOG:
                        ys[u] = y[row, c] if c < C else ZERO
                for u in range(UNROLL):
                    if LOG:
                        total += gs[u]
                    else:
                        total += gs[u] * ys[u]
                c0 += 32 * UNROLL
            off = 16
            while off > 0:
                total += cuda.shfl_xor_sync(_FULL_MASK, total, off)
                off //= 2
            c0 = lane
            while c0 < C:
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    gs[u] = grad[row, c] if c < C else ZERO
                    ys[u] = y[row, c] if c < C else ZERO
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    if c < C:
                        if LOG:
                            out[row, c] = gs[u] - math.exp(ys[u]) * total
                        else:
                            out[row, c] = ys[u] * (gs[u] - total)
                c0 += 32 * UNROLL
            row += row_stride

    name = "log_softmax" if log else "softmax"
    return _launch.named(softmax_backward, f"{name}_backward", dtype)


def make_cross_entropy_kernel(dtype):
    """Fused softmax + cross-entropy; args ``(logits (R, C), targets (R,) int, scale, ignore_index,
    loss (R,), grad (R, C))``."""
    T = _launch.numba_type(dtype)
    ZERO, ONE, NEG_INF, NAN = T(0.0), T(1.0), T(-math.inf), T(math.nan)

    def softmax_cross_entropy(x, targets, scale, ignore_index, loss, grad):
        R, C = x.shape
        vals = cuda.local.array(UNROLL, T)
        lane = cuda.threadIdx.x % 32
        row = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        row_stride = cuda.gridDim.x * WARPS_PER_BLOCK
        while row < R:
            t = targets[row]
            if t == ignore_index:
                c = lane
                while c < C:
                    grad[row, c] = ZERO
                    c += 32
                if lane == 0:
                    loss[row] = ZERO
            else:
                m = NEG_INF
                s = ZERO
                c0 = lane
                while c0 < C:
                    for u in range(UNROLL):
                        c = c0 + 32 * u
                        vals[u] = x[row, c] if c < C else NEG_INF
                    mx = m
                    for u in range(UNROLL):
                        mx = max(mx, vals[u])
                    if mx != NEG_INF:
                        s *= math.exp(m - mx)
                        for u in range(UNROLL):
                            s += math.exp(vals[u] - mx)
                        m = mx
                    c0 += 32 * UNROLL
                off = 16
                while off > 0:
                    m2 = cuda.shfl_xor_sync(_FULL_MASK, m, off)
                    s2 = cuda.shfl_xor_sync(_FULL_MASK, s, off)
                    mn = max(m, m2)
                    if mn != NEG_INF:
                        s = s * math.exp(m - mn) + s2 * math.exp(m2 - mn)
                    m = mn
                    off //= 2
                inv = ONE / s
                c0 = lane
                while c0 < C:
                    for u in range(UNROLL):
                        c = c0 + 32 * u
                        vals[u] = x[row, c] if c < C else ZERO
                    for u in range(UNROLL):
                        c = c0 + 32 * u
                        if c < C:
                            p = math.exp(vals[u] - m) * inv
                            if c == t:
                                p -= ONE
                            grad[row, c] = scale * p
                    c0 += 32 * UNROLL
                if lane == 0:
                    if 0 <= t < C:
                        loss[row] = m + math.log(s) - x[row, t]
                    else:
                        loss[row] = NAN
            row += row_stride

    return _launch.named(softmax_cross_entropy, "softmax_cross_entropy", dtype)


def _kernel(which, dtype):
    if which == "ce":
        return _launch.built(make_cross_entropy_kernel, dtype)
    direction, log = which
    return _launch.built(make_forward_kernel if direction == "forward" else make_backward_kernel, log, dtype)


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched."""
    out = []
    for dtype in _launch.FLOAT_DTYPES:
        t = _launch.numba_type(dtype)
        m = t[:, ::1]
        for log in (False, True):
            f = make_forward_kernel(log, dtype)
            b = make_backward_kernel(log, dtype)
            out.append((f.__name__, f, [numba.void(m, m)], None))
            out.append((b.__name__, b, [numba.void(m, m, m)], None))
        ce = make_cross_entropy_kernel(dtype)
        sigs = [numba.void(m, it[::1], t, numba.int64, t[::1], m) for it in (numba.int32, numba.int64)]
        out.append((ce.__name__, ce, sigs, None))
    return out


def _grid(rows):
    return _launch.grid_1d(rows, WARPS_PER_BLOCK)


def _rows(fn, x):
    if x.ndim < 1:
        raise ValueError(f"{fn}: x must have at least 1 dimension, got a scalar")
    C = tuple(x.shape)[-1]
    R = x.size // C if C else 0
    return R, C


def _forward(fn, log, x, out, stream):
    kind = _launch.check_same_kind(fn, x, out)
    _launch.check_float(fn, "x", x)
    out = _launch.output(fn, kind, out, x.shape, x.dtype)
    R, C = _rows(fn, x)
    if R and C:
        args = [_launch.reshape(a, (R, C)) for a in (x, out)]
        _launch.launch(_kernel(("forward", log), x.dtype), _grid(R), THREADS, _launch.stream_for(kind, stream), *args)
    return out


def _backward(fn, log, y, grad, out, stream):
    kind = _launch.check_same_kind(fn, y, grad, out)
    _launch.check_float(fn, "y", y)
    _launch.check(fn, "grad", grad, dtype=y.dtype, shape=y.shape)
    out = _launch.output(fn, kind, out, y.shape, y.dtype)
    R, C = _rows(fn, y)
    if R and C:
        args = [_launch.reshape(a, (R, C)) for a in (y, grad, out)]
        _launch.launch(_kernel(("backward", log), y.dtype), _grid(R), THREADS, _launch.stream_for(kind, stream), *args)
    return out


def softmax(x, out=None, stream=None):
    """``exp(x - max) / sum exp(x - max)`` over the last axis. Example: ``p = softmax(logits)``."""
    return _forward("softmax", False, x, out, stream)


def log_softmax(x, out=None, stream=None):
    """``x - max - log sum exp(x - max)`` over the last axis."""
    return _forward("log_softmax", True, x, out, stream)


def softmax_backward(y, grad, out=None, stream=None):
    """``y * (grad - sum(grad * y))`` over the last axis, from the forward output ``y``."""
    return _backward("softmax_backward", False, y, grad, out, stream)


def log_softmax_backward(y, grad, out=None, stream=None):
    """``grad - exp(y) * sum(grad)`` over the last axis, from the forward output ``y``."""
    return _backward("log_softmax_backward", True, y, grad, out, stream)


def softmax_cross_entropy(
    logits, targets, grad_scale=1.0, ignore_index=-100, loss_out=None, grad_out=None, stream=None
):
    """Per-row cross-entropy of ``softmax(logits)`` against integer ``targets``, and its gradient.

    ``logits``: ``(R, C)`` float32/float64; ``targets``: ``(R,)`` int32/int64. Returns
    ``(loss (R,), grad (R, C))`` with ``grad = grad_scale * (softmax(logits) - onehot(targets))``
    (pass ``grad_scale=1/R`` for a mean loss). Rows whose target is ``ignore_index`` get 0 loss and
    0 gradient; other out-of-range targets give a NaN loss.
    """
    fn = "softmax_cross_entropy"
    kind = _launch.check_same_kind(fn, logits, targets, loss_out, grad_out)
    _launch.check_float(fn, "logits", logits, ndim=2)
    R, C = logits.shape
    _launch.check(fn, "targets", targets, dtype=(np.int32, np.int64), shape=(R,))
    dtype = np.dtype(logits.dtype)
    loss = _launch.output(fn, kind, loss_out, (R,), dtype, name="loss_out")
    grad = _launch.output(fn, kind, grad_out, (R, C), dtype, name="grad_out")
    if R == 0:
        return loss, grad
    if C == 0:
        raise ValueError(f"{fn}: logits of shape {tuple(logits.shape)} have no classes")
    _launch.launch(
        _kernel("ce", dtype),
        _grid(R),
        THREADS,
        _launch.stream_for(kind, stream),
        logits,
        targets,
        dtype.type(grad_scale),
        int(ignore_index),
        loss,
        grad,
    )
    return loss, grad


# ----------------------------------------------------------------------------- NumPy references (float64)


def softmax_reference(x, log=False):
    """float64 softmax / log-softmax over the last axis."""
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    z = x - m
    lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z - lse if log else np.exp(z - lse)


def softmax_backward_reference(y, grad, log=False):
    y = np.asarray(y, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    if log:
        return g - np.exp(y) * g.sum(axis=-1, keepdims=True)
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def softmax_cross_entropy_reference(logits, targets, grad_scale=1.0, ignore_index=-100):
    """float64 ``(loss (R,), grad (R, C))`` of :func:`softmax_cross_entropy`."""
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets)
    R, C = x.shape
    logp = softmax_reference(x, log=True)
    ignored = t == ignore_index
    valid = (t >= 0) & (t < C)
    tc = np.where(valid, t, 0)
    loss = np.where(valid, -logp[np.arange(R), tc], np.nan)
    loss = np.where(ignored, 0.0, loss)
    grad = np.exp(logp)
    grad[np.arange(R)[valid], tc[valid]] -= 1.0
    grad = grad_scale * np.where(ignored[:, None], 0.0, grad)
    return loss, grad
