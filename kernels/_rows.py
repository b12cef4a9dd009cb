"""What the row kernels share (kernels/softmax.py, kernels/layernorm.py): the row held in registers.

A row of ``C`` values is read from global memory once into ``cuda.local.array(SLOTS, T)``, a
register array indexed only by constants (every loop over it runs ``SLOTS`` times and is unrolled),
so thread ``t`` of the row's ``TPR`` threads holds columns ``t, t + TPR, t + 2 TPR, ...``
(coalesced). Two layouts:

* ``WARP``: a warp per row, ``ROWS_PER_BLOCK`` rows per 128-thread block, warp shuffles only;
* ``BLOCK``: a 512-thread block per row, warp shuffles and then a fixed-order sum over the 16
  warps' partials in shared memory (two ``syncthreads``; every thread gets the same bits).

``SLOTS = CACHE_WORDS / arrays / (itemsize / 4)`` values per thread per cached array (32 float32
words of registers in all), so one array of float32 rows up to ``32 * 32 = 1024`` columns fits a
warp and up to ``512 * 32 = 16384`` a block; longer rows go to the streaming kernels, which read
them twice (kernels/_softmax_stream.py, layernorm.py).

float16 rows are stored float16 and held as float32 (:func:`compute_dtype`; the same slot counts as
float32). With aligned rows of ``C % 4 == 0`` (float32/float16), :func:`row_io`'s vector functions move
4 columns per instruction, thread ``t`` holding columns ``4 (t + TPR g) .. + 3`` (kernels/_vector_f16.py).
Every loop over the slots stops at the first slot past the row in all the row's threads (a uniform
branch), so a short row in the block layout does not run the padding's arithmetic.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from . import _launch

#: Threads per row of the two layouts.
WARP, BLOCK = 32, 512
#: Rows per 128-thread block in the WARP layout.
ROWS_PER_BLOCK = 4
#: 32-bit register words per thread for the cached row values (all cached arrays together).
CACHE_WORDS = 32
_FULL_MASK = 0xFFFFFFFF
U3 = np.uint64(3)


def slots(dtype, arrays: int) -> int:
    """Values per thread of each of ``arrays`` cached arrays of ``dtype``."""
    return CACHE_WORDS // arrays // (compute_dtype(dtype).itemsize // 4)


def layout(tpr: int):
    """``(threads per block, rows per block)`` of a layout."""
    return (ROWS_PER_BLOCK * WARP, ROWS_PER_BLOCK) if tpr == WARP else (tpr, 1)


def choose(C: int, dtype, arrays: int):
    """The layout (``WARP`` or ``BLOCK``) whose registers hold a row of ``C`` values, or None (stream it)."""
    s = slots(dtype, arrays)
    for tpr in (WARP, BLOCK):
        if C <= tpr * s:
            return tpr
    return None


def name(tpr: int) -> str:
    """The layout's name in kernel names: ``"warp"`` or ``"block"``."""
    return "warp" if tpr == WARP else "block"


def grid(R: int, tpr: int) -> int:
    """Blocks for ``R`` rows (grid-stride over rows beyond a full GPU)."""
    return _launch.grid_1d(R, layout(tpr)[1])


def launch_bounds(tpr: int) -> int:
    """ptxas's register budget: the block size (512 threads need at most 128 registers each)."""
    return None if tpr == WARP else layout(tpr)[0]


def reducers(tpr: int):
    """``(row_sum, row_max)`` device functions for a layout: ``f(v, red, sub, warp, lane)`` returns the
    sum (max) of ``v`` over the row's threads, the same bits in every thread; ``red`` is the
    kernel's ``(rows per block, warps per row)`` shared array, ``sub`` the row within the block."""
    warps = tpr // 32

    @cuda.jit(device=True, inline=True)
    def row_sum(v, red, sub, warp, lane):
        off = 16
        while off > 0:  # butterfly: a + b and b + a are the same bits, so every lane agrees
            v += cuda.shfl_xor_sync(_FULL_MASK, v, off)
            off //= 2
        if warps > 1:
            if lane == 0:
                red[sub, warp] = v
            cuda.syncthreads()
            v = red[sub, 0]
            for k in range(1, min(warps, (cuda.blockDim.x + 31) // 32)):  # fixed order; only warps launched
                v += red[sub, k]
            cuda.syncthreads()  # before red is written again
        return v

    @cuda.jit(device=True, inline=True)
    def row_max(v, red, sub, warp, lane):
        off = 16
        while off > 0:
            v = max(v, cuda.shfl_xor_sync(_FULL_MASK, v, off))
            off //= 2
        if warps > 1:
            if lane == 0:
                red[sub, warp] = v
            cuda.syncthreads()
            v = red[sub, 0]
            for k in range(1, min(warps, (cuda.blockDim.x + 31) // 32)):
                v = max(v, red[sub, k])
            cuda.syncthreads()
        return v

    return row_sum, row_max


#: The storage dtypes of the row kernels: float16 rows are widened to float32 in registers.
DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16))
_HALF = np.dtype(np.float16)


def compute_dtype(dtype):
    """The arithmetic dtype of a storage dtype: float32 for float16 (float32 accumulation), else itself."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype == _HALF else dtype


def compute_type(dtype):
    """The Numba type of :func:`compute_dtype`."""
    return _launch.numba_type(compute_dtype(dtype))


def storage_type(dtype):
    """The Numba scalar type of a storage dtype (float16 included)."""
    import numba

    return numba.types.float16 if np.dtype(dtype) == _HALF else _launch.numba_type(dtype)


def row_io(vec: bool, dtype):
    """``(load, store)`` inline device functions moving ``W`` values (``W = 4`` with ``vec``, else 1) of
    row ``row`` of a C-contiguous ``(R, C)`` array between global memory and a register array:
    ``load(vals, base, a, row, C, c0, fill)`` sets ``vals[base : base + W]`` to columns ``c0 ...`` as the
    compute type (``fill`` past the row's end); ``store(a, row, C, c0, vals, base)`` writes them back
    (rounded to the storage type). The ``vec`` versions are one 4-wide instruction each
    (kernels/_vector_f16.py) and need ``C % 4 == 0`` and aligned rows (``_vector_f16.aligned``)."""
    from . import _vector_f16 as _vec

    T = compute_type(dtype)
    if vec:

        @cuda.jit(device=True, inline=True)
        def load(vals, base, a, row, C, c0, fill):
            if c0 + U3 < C:  # a whole vector inside the row (C % 4 == 0: the same as c0 < C), never past it
                v0, v1, v2, v3 = _vec.load4(a, row * C + c0)
            else:
                v0 = v1 = v2 = v3 = fill
            vals[base] = v0
            vals[base + 1] = v1
            vals[base + 2] = v2
            vals[base + 3] = v3

        @cuda.jit(device=True, inline=True)
        def store(a, row, C, c0, vals, base):
            if c0 + U3 < C:
                _vec.store4(a, row * C + c0, vals[base], vals[base + 1], vals[base + 2], vals[base + 3])

    else:

        @cuda.jit(device=True, inline=True)
        def load(vals, base, a, row, C, c0, fill):
            vals[base] = T(a[row, c0]) if c0 < C else fill

        @cuda.jit(device=True, inline=True)
        def store(a, row, C, c0, vals, base):
            if c0 < C:
                a[row, c0] = vals[base]

    return load, store


def vector_io(vec: bool, dtype):
    """``load(vals, base, a, C, c0, fill)``: :func:`row_io`'s load for a 1-D array ``a`` of ``C`` values
    (a layer norm's weight and bias)."""
    from . import _vector_f16 as _vec

    T = compute_type(dtype)
    if vec:

        @cuda.jit(device=True, inline=True)
        def load(vals, base, a, C, c0, fill):
            if c0 + U3 < C:
                v0, v1, v2, v3 = _vec.load4(a, c0)
            else:
                v0 = v1 = v2 = v3 = fill
            vals[base] = v0
            vals[base + 1] = v1
            vals[base + 2] = v2
            vals[base + 3] = v3

    else:

        @cuda.jit(device=True, inline=True)
        def load(vals, base, a, C, c0, fill):
            vals[base] = T(a[c0]) if c0 < C else fill

    return load


def width(vec: bool) -> int:
    """Values per load/store of the :func:`row_io` functions."""
    return 4 if vec else 1
