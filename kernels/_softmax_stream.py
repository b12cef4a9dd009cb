"""The softmax family's streaming kernels, for rows too long to hold in registers (kernels/_rows.py).

Same math, arguments and results as kernels/softmax.py (which launches them); float16 rows are
widened to float32 as they are loaded (kernels/_rows.py). One warp per row,
``WARPS_PER_BLOCK = 4`` rows per block of 128 threads; lanes stride the row 32 columns apart
(coalesced), ``UNROLL = 4`` columns per lane per step with their loads issued together, and combine
their partial ``(m, s)`` or sums with five ``shfl_xor_sync`` butterfly steps.

NOTE: stability. ``m`` and ``s`` are computed in one pass with the online rule
(``s <- s * exp(m_old - m_new) + exp(x - m_new)``), so every ``exp`` has a non-positive argument.

Bytes (float32): each row is read twice (the second read hits L2 only while the row's warp's rows
fit there) and written once: ``8 R C`` to ``12 R C``; backward reads two arrays twice.
"""

from __future__ import annotations

import math

from numba import cuda

from . import _ce_f16 as _ce
from . import _launch, _rows

#: Rows (warps) per block.
WARPS_PER_BLOCK = 4
THREADS = 32 * WARPS_PER_BLOCK
#: Columns per lane per step: a lane issues UNROLL loads (32 columns apart) before using them.
UNROLL = 4
_FULL_MASK = 0xFFFFFFFF


def make_forward_kernel(log: bool, dtype):
    """``out = softmax(x)`` or ``log_softmax(x)`` row-wise; args ``(x, out)``, both ``(R, C)``."""
    T = _rows.compute_type(dtype)
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
                    vals[u] = T(x[row, c]) if c < C else NEG_INF
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
                    vals[u] = T(x[row, c]) if c < C else ZERO
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
    return _launch.named(softmax_forward, f"{name}_forward_stream", dtype)


def make_backward_kernel(log: bool, dtype):
    """Row-wise backward from the forward output ``y``; args ``(y, grad, out)``, all ``(R, C)``."""
    T = _rows.compute_type(dtype)
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
                    gs[u] = T(grad[row, c]) if c < C else ZERO
                    if not LOG:
                        ys[u] = T(y[row, c]) if c < C else ZERO
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
                    gs[u] = T(grad[row, c]) if c < C else ZERO
                    ys[u] = T(y[row, c]) if c < C else ZERO
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
    return _launch.named(softmax_backward, f"{name}_backward_stream", dtype)


def make_cross_entropy_kernel(dtype):
    """Fused softmax + cross-entropy and its reduction; args ``(logits (R, C), targets (R,) int, scale,
    ignore_index, loss (R,), grad (R, C), partials, ticket, stats)`` (kernels/_ce_f16.py)."""
    T = _rows.compute_type(dtype)
    ZERO, ONE, NEG_INF, NAN = T(0.0), T(1.0), T(-math.inf), T(math.nan)
    finish = _ce.make_finish(T, THREADS)

    def softmax_cross_entropy(x, targets, scale, ignore_index, loss, grad, partials, ticket, stats):
        R, C = x.shape
        total = ZERO  # lane 0's share of the reduction (kernels/_ce_f16.py)
        count = ZERO
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
                        vals[u] = T(x[row, c]) if c < C else NEG_INF
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
                        vals[u] = T(x[row, c]) if c < C else ZERO
                    for u in range(UNROLL):
                        c = c0 + 32 * u
                        if c < C:
                            p = math.exp(vals[u] - m) * inv
                            if c == t:
                                p -= ONE
                            grad[row, c] = scale * p
                    c0 += 32 * UNROLL
                if lane == 0:
                    lo = m + math.log(s) - T(x[row, t]) if 0 <= t < C else NAN
                    loss[row] = lo
                    total += lo
                    count += ONE
            row += row_stride
        finish(total, count, partials, ticket, stats)

    return _launch.named(softmax_cross_entropy, "softmax_cross_entropy_stream", dtype)
