"""Embedding: forward (a row gather) and a deterministic backward (sorted keys, one owner per row).

Math (``weight (V, E)``, integer ``idx (N,)``, ``dout (N, E)``)::

    out[i, :] = weight[idx[i], :]
    dweight[v, :] = sum_{i : idx[i] = v} dout[i, :]   (in increasing i), 0 for v == padding_idx

Forward: one warp per index, ``WARPS_PER_BLOCK = 4`` per block, grid-stride; lanes copy the row 32
columns apart (coalesced). An index outside ``[0, V)`` gives a row of NaN (a kernel cannot raise;
PyTorch raises on the CPU and asserts on the GPU). Bytes ``8 N E`` (float32) plus the indices.

Backward without atomics, deterministic: a key kernel writes ``key[i] = idx[i] * N + i`` (``-1`` for
an index outside ``[0, V)``); the keys are unique, so sorting them (CuPy's radix sort, NumPy's in
the simulator) gives one order whatever the sort's stability: by index, then by position. Then one
warp owns each row ``v`` of ``dweight`` (grid-stride over ``V``): it finds its run of keys
``[v N, (v + 1) N)`` by binary search and sums those rows of ``dout`` in increasing position, its
lanes over the columns (``UNROLL = 4`` columns per lane in flight). Every row of ``dweight`` is
written exactly once (zeros where ``v`` never occurs and for ``padding_idx``); the sum order is
that of ``np.add.at``. Bytes: ``4 N E`` read, ``4 V E`` written, ``V log N`` key reads (float32).

Wrappers (C-contiguous; weight/dout float32 or float64; idx int32 or int64, 1-D)::

    out = embedding_forward(weight, idx)
    dweight = embedding_backward(dout, idx, num_embeddings, padding_idx=None)
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
#: Columns per lane per step of the backward sum (loads issued together).
UNROLL = 4
_NUMBA_TYPES = {np.dtype(np.float32): numba.float32, np.dtype(np.float64): numba.float64}


def make_forward_kernel(dtype):
    """Args ``(weight (V, E), idx (N,), out (N, E))``."""
    T = _NUMBA_TYPES[np.dtype(dtype)]
    NAN = T(math.nan)

    def embedding_forward(weight, idx, out):
        V, E = weight.shape
        N = idx.shape[0]
        lane = cuda.threadIdx.x % 32
        i = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        while i < N:
            v = idx[i]
            ok = 0 <= v < V
            c = lane
            while c < E:
                out[i, c] = weight[v, c] if ok else NAN
                c += 32
            i += cuda.gridDim.x * WARPS_PER_BLOCK

    embedding_forward.__name__ = embedding_forward.__qualname__ = f"embedding_forward_{np.dtype(dtype).name}"
    return embedding_forward


def make_keys_kernel():
    """``key[i] = idx[i] * N + i`` (or -1 outside ``[0, V)``); args ``(idx (N,), V, keys (N,) int64)``."""

    def embedding_backward_keys(idx, V, keys):
        N = idx.shape[0]
        i = cuda.grid(1)
        while i < N:
            v = numba.int64(idx[i])
            keys[i] = v * N + i if 0 <= v < V else numba.int64(-1)
            i += cuda.gridsize(1)

    return embedding_backward_keys


def make_backward_kernel(dtype):
    """Args ``(dout (N, E), keys (N,) sorted int64, padding_idx, dweight (V, E))``; ``padding_idx`` -1: none."""
    T = _NUMBA_TYPES[np.dtype(dtype)]
    ZERO = T(0.0)

    def embedding_backward(dout, keys, padding_idx, dweight):
        V, E = dweight.shape
        N = keys.shape[0]
        acc = cuda.local.array(UNROLL, T)
        lane = cuda.threadIdx.x % 32
        v = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        while v < V:
            base = numba.int64(v) * N
            lo = numba.int64(0)  # first key >= base
            hi = numba.int64(N)
            while lo < hi:
                mid = (lo + hi) // 2
                if keys[mid] < base:
                    lo = mid + 1
                else:
                    hi = mid
            end = lo  # first key >= base + N
            hi = numba.int64(N)
            while end < hi:
                mid = (end + hi) // 2
                if keys[mid] < base + N:
                    end = mid + 1
                else:
                    hi = mid
            if v == padding_idx:
                end = lo
            c0 = lane
            while c0 < E:
                for u in range(UNROLL):
                    acc[u] = ZERO
                p = lo
                while p < end:  # increasing position: a fixed order
                    i = keys[p] - base
                    for u in range(UNROLL):
                        c = c0 + 32 * u
                        if c < E:
                            acc[u] += dout[i, c]
                    p += 1
                for u in range(UNROLL):
                    c = c0 + 32 * u
                    if c < E:
                        dweight[v, c] = acc[u]
                c0 += 32 * UNROLL
            v += cuda.gridDim.x * WARPS_PER_BLOCK

    embedding_backward.__name__ = embedding_backward.__qualname__ = f"embedding_backward_{np.dtype(dtype).name}"
    return embedding_backward


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched."""
    out = []
    i64 = numba.int64
    for dtype in (np.float32, np.float64):
        t = _NUMBA_TYPES[np.dtype(dtype)]
        f = make_forward_kernel(dtype)
        b = make_backward_kernel(dtype)
        sigs = [numba.void(t[:, ::1], it[::1], t[:, ::1]) for it in (numba.int32, numba.int64)]
        out.append((f.__name__, f, sigs, None))
        out.append((b.__name__, b, [numba.void(t[:, ::1], i64[::1], i64, t[:, ::1])], None))
    keys = make_keys_kernel()
    out.append((keys.__name__, keys, [numba.void(it[::1], i64, i64[::1]) for it in (numba.int32, numba.int64)], None))
    return out


# ----------------------------------------------------------------------------------------------- wrappers


def _check_idx(fn, idx):
    _launch.check(fn, "idx", idx, ndim=1, dtype=(np.int32, np.int64))


def embedding_forward(weight, idx, out=None, stream=None):
    """``out[i] = weight[idx[i]]`` for ``weight (V, E)`` and 1-D ``idx (N,)``; returns ``(N, E)``."""
    fn = "embedding_forward"
    kind = _launch.check_same_kind(fn, weight, idx, out)
    _launch.check_float(fn, "weight", weight, ndim=2)
    _check_idx(fn, idx)
    N, E = idx.shape[0], weight.shape[1]
    out = _launch.output(fn, kind, out, (N, E), weight.dtype)
    if N and E:
        _launch.launch(_launch.built(make_forward_kernel, weight.dtype), _launch.grid_1d(N, WARPS_PER_BLOCK), THREADS,
                       _launch.stream_for(kind, stream), weight, idx, out)
    return out


def _sort(kind, keys):
    """Sorted copy of the unique int64 keys: NumPy's sort in the simulator, CuPy's radix sort otherwise."""
    if kind == "numpy":
        return np.sort(keys)
    import cupy  # a Numba device array is viewed through __cuda_array_interface__ (no copy)

    return cupy.sort(cupy.asarray(keys))


def embedding_backward(dout, idx, num_embeddings, padding_idx=None, stream=None):
    """``dweight (V, E)`` with ``dweight[v] = sum of dout[i] over idx[i] == v`` (in increasing ``i``),
    row ``padding_idx`` zero; deterministic (no atomics). Indices outside ``[0, V)`` are ignored."""
    fn = "embedding_backward"
    kind = _launch.check_same_kind(fn, dout, idx)
    _launch.check_float(fn, "dout", dout, ndim=2)
    _check_idx(fn, idx)
    N, E = dout.shape
    V = int(num_embeddings)
    if idx.shape[0] != N:
        raise ValueError(f"{fn}: idx of shape {tuple(idx.shape)} does not match dout of shape {tuple(dout.shape)}")
    if padding_idx is not None and not -V <= int(padding_idx) < V:
        raise ValueError(f"{fn}: padding_idx={padding_idx} is outside [-{V}, {V})")
    pad = -1 if padding_idx is None else int(padding_idx) % V
    st = _launch.stream_for(kind, stream)
    if N == 0 or E == 0 or V == 0:
        return _launch.zeros(kind, (V, E), dout.dtype)
    keys = _launch.empty(kind, (N,), np.int64)
    _launch.launch(_launch.built(make_keys_kernel), _launch.grid_1d(N), _launch.THREADS_1D, st, idx, V, keys)
    keys = _sort(kind, keys)
    dweight = _launch.empty(kind, (V, E), dout.dtype)
    _launch.launch(_launch.built(make_backward_kernel, dout.dtype), _launch.grid_1d(V, WARPS_PER_BLOCK), THREADS, st,
                   dout, keys, pad, dweight)
    return dweight


# ------------------------------------------------------------------------------------ NumPy references (float64)


def embedding_reference(weight, idx):
    """float64 ``weight[idx]``."""
    return np.asarray(weight, np.float64)[np.asarray(idx)]


def embedding_backward_reference(dout, idx, num_embeddings, padding_idx=None):
    """float64 ``dweight`` by ``np.add.at`` (rows in increasing position), the padding row zero."""
    out = np.zeros((num_embeddings, dout.shape[1]))
    np.add.at(out, np.asarray(idx), np.asarray(dout, np.float64))
    if padding_idx is not None:
        out[padding_idx] = 0.0
    return out
