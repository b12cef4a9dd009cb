"""Cross-entropy's bookkeeping inside its kernel (kernels/softmax.py, _softmax_stream.py): the sum of the
non-ignored rows' losses, their count and the mean, with no separate reduction ops.

Every thread adds the losses it writes (and, once per row, a count of 1 for each non-ignored row) to two
registers. At the kernel's end :func:`make_finish`'s device function sums them over the block (warp
butterflies, then the warps in order through shared memory) into ``partials[block] = (sum, count)``;
after a ``threadfence`` the block takes a ticket (``atomic.add(ticket, 0, 1)``), and the block that
takes the last one sums every block's partials in a fixed order (thread ``k`` takes blocks
``k, k + threads, ...``, then the block sum) and writes ``stats = (sum, count, sum / count,
max(count, 1))`` and
resets the ticket to 0 for the next launch; ``stats[3] = max(count, 1)`` is the divisor of the mean's
gradient (a zero gradient when every row is ignored, as PyTorch's). Deterministic (no floating-point
atomics): the same bits for the same grid. ``sum / count`` is NaN when every row is ignored
(PyTorch's mean of nothing), and a row whose target is out of range makes every statistic but the
count NaN.

The arithmetic is the compute type (float32 for float16 logits; kernels/_rows.py). The ticket is one
int32 per device and array kind, zero between launches; launches of this kernel on two streams of one
device at once would share it (the backend launches on one stream).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _launch

_FULL_MASK = 0xFFFFFFFF
_tickets: dict = {}


def make_finish(T, threads: int):
    """``finish(total, count, partials, ticket, stats)``: the block reduction and the last block's
    total (see the module docstring); every thread of the block must call it."""
    WARPS = (threads + 31) // 32
    ZERO, ONE, NAN = T(0.0), T(1.0), T(math.nan)

    @cuda.jit(device=True, inline=True)
    def block_sum2(a, b, sh):
        off = 16
        while off > 0:
            a += cuda.shfl_xor_sync(_FULL_MASK, a, off)
            b += cuda.shfl_xor_sync(_FULL_MASK, b, off)
            off //= 2
        lane = cuda.threadIdx.x % 32
        warp = cuda.threadIdx.x // 32
        if lane == 0:
            sh[0, warp] = a
            sh[1, warp] = b
        cuda.syncthreads()
        a = sh[0, 0]
        b = sh[1, 0]
        for w in range(1, WARPS):  # fixed order
            a += sh[0, w]
            b += sh[1, w]
        cuda.syncthreads()  # before sh is written again
        return a, b

    @cuda.jit(device=True, inline=True)
    def finish(total, count, partials, ticket, stats):
        sh = cuda.shared.array((2, WARPS), T)
        last = cuda.shared.array(1, numba.int32)
        if partials.shape[1] < 2 or stats.shape[0] < 4:  # not the buffers of buffers(): nothing to reduce into
            return
        a, b = block_sum2(total, count, sh)
        if cuda.threadIdx.x == 0:
            partials[cuda.blockIdx.x, 0] = a
            partials[cuda.blockIdx.x, 1] = b
            cuda.threadfence()  # the partials are visible to every block before the ticket is taken
            last[0] = 1 if cuda.atomic.add(ticket, 0, 1) == cuda.gridDim.x - 1 else 0
        cuda.syncthreads()
        if last[0] == 1:
            a = ZERO
            b = ZERO
            k = cuda.threadIdx.x
            while k < cuda.gridDim.x:
                a += partials[k, 0]
                b += partials[k, 1]
                k += cuda.blockDim.x
            a, b = block_sum2(a, b, sh)
            if cuda.threadIdx.x == 0:
                stats[0] = a
                stats[1] = b
                stats[2] = a / b if b > ZERO else NAN
                stats[3] = b if b > ONE else ONE
                ticket[0] = 0

    return finish


def ticket(kind: str):
    """The zeroed int32 ticket of the current device for arrays of ``kind`` (allocated once)."""
    dev = 0
    if kind == "cupy":
        import cupy

        dev = cupy.cuda.Device().id
    elif kind == "numba":
        dev = cuda.get_current_device().id
    key = (kind, dev)
    t = _tickets.get(key)
    if t is None:
        t = _tickets[key] = _launch.zeros(kind, (1,), np.int32)
    return t


def buffers(kind: str, blocks: int, dtype, stats_out=None, fn="softmax_cross_entropy"):
    """``(partials (blocks, 2), ticket, stats (4,))`` for one launch, in ``dtype`` (the compute type)."""
    partials = _launch.empty(kind, (blocks, 2), dtype)
    stats = _launch.output(fn, kind, stats_out, (4,), dtype, name="stats_out")
    return partials, ticket(kind), stats
