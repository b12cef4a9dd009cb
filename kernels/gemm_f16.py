"""Half-precision GEMM: ``C = op(A) @ op(B) + bias`` with float16 storage and float32 accumulation.

Math and shapes
---------------
For every batch ``z`` of ``C`` (shape ``(batch, M, N)``, float16)::

    C[z] = float16( sum_k float32(op(A[z % batchA]))[:, k] * float32(op(B[z % batchB]))[k, :] + bias )

``op(A)`` is ``A`` (stored ``(M, K)``) or, with ``trans_a``, ``A.T`` (``A`` stored ``(K, M)``); likewise
``op(B)``. Every product and sum runs in float32 (what tensor-core HGEMMs and PyTorch's autocast GEMMs do):
the only rounding to float16 is the final store, so each output is within half an ulp of float16 of the
float32 result. ``bias`` is per column, ``(batchBias, N)`` float16, or absent. Any M, N, K >= 0; every global
index is bounds-guarded. FLOPs ``2*batch*M*N*K``; fewest bytes ``2*(|A| + |B| + |C|)``.

Tiling
------
A block of 256 threads computes a ``64 x 64`` tile of C, each thread a ``4 x 4`` micro-tile (16 float32
accumulators), walking K 16 columns at a time. The float16 tiles are widened to float32 as they are stored
in shared memory (``2 * 16 * 64 * 4 B = 8 KiB``), so the inner loop is the float32 one: per k step a thread
reads 8 shared words for 16 FMAs. Thread ``(ty, tx)`` owns rows ``ty + 16 i`` and columns ``tx + 16 j``
(strided: a half-warp reads 16 consecutive shared words of the B tile). Per K step a block moves
``(64 + 64) * 16 * 2 B = 4 KiB`` from global memory for ``2 * 64 * 64 * 16 = 131,072`` FLOPs (32 FLOP/B).
This is a plain CUDA-core kernel (float32 FMA), not a tensor-core (mma) one: Numba has no mma intrinsics.

Launch grid: ``(cdiv(N, 64), cdiv(M, 64), batch)`` blocks of 256 threads.

Wrapper
-------
``matmul(a, b, out=None, bias=None, activation=None, trans_a=False, trans_b=False, stream=None)``, the
interface of :func:`tensorcore.kernels.gemm.matmul` for float16 operands (``activation`` must be None).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from . import _launch
from .gemm import GemmTile

#: The production tile (see the module docstring).
TILE = GemmTile(bm=64, bn=64, bk=16, tm=4, tn=4)
#: A small tile for the simulator tests: many blocks and partial tiles at tiny sizes (same code).
SMALL_TILE = GemmTile(bm=8, bn=8, bk=4, tm=2, tn=2)
HALF = np.dtype(np.float16)


def make_gemm_f16_kernel(trans_a: bool, trans_b: bool, tile: GemmTile = TILE):
    """Build the float16 GEMM kernel for one layout and tile (compile-time constants).

    Kernel arguments: ``A, B, C`` (3-D float16, C-contiguous), ``bias`` (2-D float16; a ``(1, 1)`` dummy
    when ``has_bias == 0``), ``has_bias``. Launch: grid ``(cdiv(N, bn), cdiv(M, bm), batch)``, block
    ``tile.threads``.
    """
    BM, BN, BK, TM, TN = tile
    THREADS = tile.threads
    TX = BN // TN  # threads along N
    TY = BM // TM  # threads along M
    A_LOADS = BM * BK // THREADS
    B_LOADS = BN * BK // THREADS
    assert A_LOADS * THREADS == BM * BK and B_LOADS * THREADS == BN * BK, tile
    TRANS_A = bool(trans_a)
    TRANS_B = bool(trans_b)
    f32 = numba.float32
    f16 = numba.types.float16

    def gemm_f16_kernel(A, B, C, bias, has_bias):
        M = C.shape[1]
        N = C.shape[2]
        K = A.shape[1] if TRANS_A else A.shape[2]
        z = cuda.blockIdx.z
        za = z % A.shape[0]
        zb = z % B.shape[0]
        m0 = cuda.blockIdx.y * BM
        n0 = cuda.blockIdx.x * BN
        tid = cuda.threadIdx.x
        ty = tid // TX
        tx = tid - ty * TX
        As = cuda.shared.array((BK, BM), f32)
        Bs = cuda.shared.array((BK, BN), f32)
        acc = cuda.local.array((TM, TN), f32)
        a_frag = cuda.local.array(TM, f32)
        b_frag = cuda.local.array(TN, f32)
        for i in range(TM):
            for j in range(TN):
                acc[i, j] = f32(0.0)
        for k0 in range(0, K, BK):
            for s in range(A_LOADS):
                e = tid + s * THREADS
                if TRANS_A:  # A stored (K, M): consecutive threads read consecutive m
                    kk = e // BM
                    mm = e - kk * BM
                else:  # A stored (M, K): consecutive threads read consecutive k
                    mm = e // BK
                    kk = e - mm * BK
                gm = m0 + mm
                gk = k0 + kk
                v = f32(0.0)
                if gm < M and gk < K:
                    v = f32(A[za, gk, gm]) if TRANS_A else f32(A[za, gm, gk])
                As[kk, mm] = v
            for s in range(B_LOADS):
                e = tid + s * THREADS
                if TRANS_B:  # B stored (N, K)
                    nn = e // BK
                    kk = e - nn * BK
                else:  # B stored (K, N)
                    kk = e // BN
                    nn = e - kk * BN
                gn = n0 + nn
                gk = k0 + kk
                v = f32(0.0)
                if gn < N and gk < K:
                    v = f32(B[zb, gn, gk]) if TRANS_B else f32(B[zb, gk, gn])
                Bs[kk, nn] = v
            cuda.syncthreads()
            for kk in range(BK):
                for i in range(TM):
                    a_frag[i] = As[kk, ty + TY * i]
                for j in range(TN):
                    b_frag[j] = Bs[kk, tx + TX * j]
                for i in range(TM):
                    for j in range(TN):
                        acc[i, j] += a_frag[i] * b_frag[j]
            cuda.syncthreads()
        zbias = z % bias.shape[0]
        for i in range(TM):
            row = m0 + ty + TY * i
            if row < M:
                for j in range(TN):
                    col = n0 + tx + TX * j
                    if col < N:
                        v = acc[i, j]
                        if has_bias:
                            v += f32(bias[zbias, col])
                        C[z, row, col] = f16(v)

    layout = ("T" if trans_a else "N") + ("T" if trans_b else "N")
    gemm_f16_kernel.__name__ = gemm_f16_kernel.__qualname__ = f"gemm_f16_{layout}"
    if tile != TILE:
        gemm_f16_kernel.__name__ += f"_{tile.bm}x{tile.bn}x{tile.bk}"
    return gemm_f16_kernel


def get_gemm_f16_kernel(trans_a: bool, trans_b: bool, tile: GemmTile = TILE):
    """The jitted kernel for a layout and tile, built once and cached."""
    return _launch.built(make_gemm_f16_kernel, bool(trans_a), bool(trans_b), GemmTile(*tile))


def _signature():
    h = numba.types.float16
    return numba.void(h[:, :, ::1], h[:, :, ::1], h[:, :, ::1], h[:, ::1], numba.int64)


#: The layouts the wrappers launch: matmul/linear forward (NN, NT), backward (NN, TN) and TT.
LAYOUTS = ((False, False), (False, True), (True, False), (True, True))


def ptx_signatures():
    """``(name, python function, [signature], launch_bounds)`` for every kernel the wrapper launches."""
    out = []
    for ta, tb in LAYOUTS:
        fn = make_gemm_f16_kernel(ta, tb)
        out.append((fn.__name__, fn, [_signature()], None))
    return out


_dummies: dict = {}


def _dummy_bias(kind: str):
    key = kind if kind == "numpy" else "device"
    d = _dummies.get(key)
    if d is None:
        d = _dummies[key] = _launch.zeros("numpy" if kind == "numpy" else "numba", (1, 1), HALF)
    return d


def matmul(a, b, out=None, bias=None, activation=None, trans_a=False, trans_b=False, stream=None, tile=TILE):
    """``out = op(a) @ op(b) + bias`` in float16 with float32 accumulation (shapes as gemm.matmul).

    Example::

        y = matmul(x16, w16, bias=b16, trans_b=True)      # x @ w.T + b, a half-precision linear layer
    """
    fn = "gemm_f16.matmul"
    kind = _launch.check_same_kind(fn, a, b, out, bias)
    _launch.check(fn, "a", a, ndim=(2, 3), dtype=HALF)
    _launch.check(fn, "b", b, ndim=(2, 3), dtype=HALF)
    if activation is not None:
        raise ValueError(f"{fn}: no fused activation in the float16 GEMM, got {activation!r}")
    ash, bsh = tuple(a.shape), tuple(b.shape)
    M = ash[-1] if trans_a else ash[-2]
    Ka = ash[-2] if trans_a else ash[-1]
    Kb = bsh[-1] if trans_b else bsh[-2]
    N = bsh[-2] if trans_b else bsh[-1]
    if Ka != Kb:
        raise ValueError(f"{fn}: inner dimensions differ: a {ash}{' (transposed)' if trans_a else ''} "
                         f"and b {bsh}{' (transposed)' if trans_b else ''}")
    if a.ndim == 3 and b.ndim == 3 and ash[0] != bsh[0]:
        raise ValueError(f"{fn}: batch sizes differ: a {ash}, b {bsh}")
    a3 = a if a.ndim == 3 else _launch.reshape(a, (1,) + ash)
    b3 = b if b.ndim == 3 else _launch.reshape(b, (1,) + bsh)
    batch = max(a3.shape[0], b3.shape[0])
    out_shape = (M, N) if (a.ndim == 2 and b.ndim == 2) else (batch, M, N)
    out = _launch.output(fn, kind, out, out_shape, HALF)
    c3 = out if out.ndim == 3 else _launch.reshape(out, (1, M, N))
    if bias is None:
        bias2, has_bias = _dummy_bias(kind), 0
    else:
        _launch.check(fn, "bias", bias, ndim=1, dtype=HALF, shape=(N,))
        bias2, has_bias = _launch.reshape(bias, (1, N)), 1
    if batch == 0 or M == 0 or N == 0:
        return out
    tile = GemmTile(*tile)
    grid = (_launch.cdiv(N, tile.bn), _launch.cdiv(M, tile.bm), batch)
    kernel = get_gemm_f16_kernel(trans_a, trans_b, tile)
    _launch.launch(kernel, grid, tile.threads, _launch.stream_for(kind, stream), a3, b3, c3, bias2, has_bias)
    return out


def gemm_f16_reference(a, b, bias=None, trans_a=False, trans_b=False):
    """NumPy float64 reference (of the float16 inputs' exact values): op(a) @ op(b) + bias."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = np.swapaxes(a, -1, -2) if trans_a else a
    b = np.swapaxes(b, -1, -2) if trans_b else b
    out = a @ b
    return out if bias is None else out + np.asarray(bias, dtype=np.float64)
