"""GEMM: ``C = act(op(A) @ op(B) + bias)`` in one kernel (batched, split-K when the tiles are few).

Math and shapes
---------------
For every batch ``z`` of ``C`` (shape ``(batch, M, N)``)::

    C[z] = act(op(A[z % batchA]) @ op(B[z % batchB]) + bias)

``op(A)`` is ``A`` (stored ``(M, K)``) or, with ``trans_a``, ``A.T`` (``A`` stored ``(K, M)``);
likewise ``op(B)`` is ``B`` (``(K, N)``) or ``B.T`` (``B`` stored ``(N, K)``). All four layouts
compile (NN, NT, TN, TT); linear and convolution forward/backward use NN, NT and TN. Batches are
strided (contiguous 3-D arrays); an operand with fewer batches is reused cyclically (``z % batchA``),
so a 2-D weight broadcasts over a batch and ``(G, ...)`` group weights over ``(N*G, ...)`` images.
``bias`` is per column (``(batchBias, N)``, the linear layer's bias) or per row (``(batchBias, M)``,
the convolution's per-channel bias), batch ``z % batchBias``. ``act`` is none, ReLU or GELU (erf).
Any M, N, K >= 0: no multiple-of-tile assumption; every global index is bounds-guarded and
out-of-range tile entries load as zero. FLOPs ``2*batch*M*N*K``; fewest bytes
``itemsize*(|A| + |B| + |C|)``.

Tiling (why 128x128x8 with an 8x8 micro-tile)
----------------------------------------------
A block of 256 threads computes a ``BM x BN = 128 x 128`` tile of ``C``; each thread owns an
``TM x TN = 8 x 8`` micro-tile held in 64 registers. The K loop walks ``BK = 8`` columns at a time:

* Global/L2 -> shared: per K step a block loads ``(BM + BN) * BK * 4 B = 8 KiB`` and performs
  ``2 * BM * BN * BK = 262,144`` FLOPs: **32 FLOP per byte**. H200 HBM gives ~4.3 TB/s, so the
  FP32 peak (~67 TFLOP/s) needs only ~16 FLOP/B: the 128x128 tile makes DRAM/L2 traffic no
  bottleneck (a 32x32 tile would give 8 FLOP/B and be memory bound).
* Shared -> registers: per K column a thread reads ``TM + TN = 16`` words for ``TM * TN = 64``
  FMAs: 8 FLOP per shared word (a 4x4 micro-tile gives 4, which is why published 4x4 Numba
  kernels stall on shared-memory bandwidth at ~21% of cuBLAS).
* Thread ``(ty, tx)`` of the 16x16 thread grid owns rows ``ty + 16 i`` and columns ``tx + 16 j``
  (strided, not blocked): the 16 lanes of a half-warp read 16 consecutive shared words of the B
  tile (no bank conflict; the A reads are broadcasts) and store 16 consecutive floats of C per row.
* Shared tiles are stored K-major and split by fragment: ``As[k, i, ty]`` holds ``A[m0 + 16 i + ty,
  k0 + k]`` (``Bs[k, j, tx]`` likewise). After unrolling, the 16 fragment loads of one k step are
  one base address plus immediate offsets (the inner loop is 16 LDS + 64 FFMA + a few integer ops;
  a flat ``As[k, 16 i + ty]`` index costs a 64-bit add and a wrap-around check per load). One extra
  ``i`` row per k slab (``TM + 1``) pads the slabs apart: the transposing stores of a row-major tile
  are at worst 2-way bank conflicted (4 stores per thread per K step, against 128 loads).
* Resources: 64 accumulators + 16 fragment + 8 prefetch registers + addressing, capped at 128
  registers (``launch_bounds`` 256 threads x 2 blocks per SM) without spills;
  ``2 buffers * 2 * 8 * 9 * 16 * 4 B = 18 KiB`` of shared memory per block.
  ``kernels/RESOURCES.md`` records the ptxas figures.
* Register prefetch and double-buffered shared tiles: each K step first issues the global loads of
  the next step into 8 registers, runs its 512 FMAs from one shared buffer, then stores the
  prefetched elements into the other buffer: global latency overlaps compute and there is one
  barrier per K step. Not done (a candidate once timed on a GPU): 128-bit vector loads (Numba
  has no float4 loads of array elements).

Launch grid: ``(cdiv(N, BN), cdiv(M, BM), batch * splits)`` blocks of ``(BM/TM) * (BN/TN) = 256``
threads (``splits`` > 1 only for split-K, when the output tiles cannot fill the GPU).

Wrapper
-------
``matmul(a, b, out=None, bias=None, activation=None, trans_a=False, trans_b=False, stream=None)``;
``a``/``b`` 2-D or 3-D (batched), float32 or float64, C-contiguous, CuPy/Numba device arrays (or
NumPy arrays in the simulator)::

    c = matmul(x, w, bias=b, activation="relu", trans_b=True)   # relu(x @ w.T + b)
    dw = matmul(grad, x, trans_a=True)                           # grad.T @ x

:func:`gemm_batched` is the lower-level entry (3-D operands, row or column bias) used by conv.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import cuda

from . import _launch


class GemmTile(NamedTuple):
    """A block tile ``bm x bn x bk`` computed by ``(bm/tm) * (bn/tn)`` threads of ``tm x tn`` each."""

    bm: int
    bn: int
    bk: int
    tm: int
    tn: int

    @property
    def threads(self) -> int:
        return (self.bm // self.tm) * (self.bn // self.tn)


#: The production tile (see the module docstring).
TILE = GemmTile(bm=128, bn=128, bk=8, tm=8, tn=8)
#: A small tile for the simulator tests that want many blocks cheaply (same code, other constants).
SMALL_TILE = GemmTile(bm=16, bn=16, bk=4, tm=2, tn=2)

#: Shortest K range one split-K block walks (see :func:`auto_split_k`).
SPLIT_K_MIN = 256
#: Activation codes of the fused epilogue.
ACTIVATIONS = {None: 0, "none": 0, "relu": 1, "gelu": 2}
#: Bias modes of the fused epilogue.
BIAS_NONE, BIAS_COLUMNS, BIAS_ROWS = 0, 1, 2

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def make_gemm_kernel(trans_a: bool, trans_b: bool, dtype, activation=None, tile: GemmTile = TILE):
    """Build the GEMM kernel for one layout, dtype and tile (all compile-time constants).

    Kernel arguments: ``A, B, C`` (3-D, C-contiguous), ``bias`` (2-D; a ``(1, 1)`` dummy when
    ``bias_mode == 0``) and ``bias_mode`` (0 none, 1 columns, 2 rows). The activation (None,
    "relu", "gelu") is a compile-time constant: a runtime switch would make the epilogue too large
    for NVVM to unroll, which moves the accumulators to local memory. Launch: grid
    ``(cdiv(N, bn), cdiv(M, bm), batch)``, block ``tile.threads``; ``launch_bounds`` (set on the
    returned function) asks ptxas for 2 blocks per SM in float32 (<= 128 registers, no spills).
    """
    nbtype = _launch.numba_type(dtype)
    BM, BN, BK, TM, TN = tile
    THREADS = tile.threads
    TX = BN // TN  # threads along N
    TY = BM // TM  # threads along M
    A_LOADS = BM * BK // THREADS
    B_LOADS = BN * BK // THREADS
    assert A_LOADS * THREADS == BM * BK and B_LOADS * THREADS == BN * BK, tile
    A_KSTEP = THREADS // BM  # k rows covered by one pass of all threads over a (K, M) tile
    B_KSTEP = THREADS // BN
    assert BK % A_LOADS == 0 and BK % B_LOADS == 0 and A_KSTEP >= 1 and B_KSTEP >= 1, tile
    TM1 = TM + 1
    TN1 = TN + 1
    TRANS_A = bool(trans_a)
    TRANS_B = bool(trans_b)
    INV_SQRT2 = _INV_SQRT2
    ACTIVATION = ACTIVATIONS[activation]

    def gemm_kernel(A, B, C, bias, bias_mode, splits, k_chunk):
        M = C.shape[1]
        N = C.shape[2]
        if TRANS_A:
            K = A.shape[1]
        else:
            K = A.shape[2]
        zs = cuda.blockIdx.z  # batch * splits + split (split-K: C holds batch * splits partial products)
        z = zs // splits
        k_begin = (zs % splits) * k_chunk
        k_end = min(K, k_begin + k_chunk)
        za = z % A.shape[0]
        zb = z % B.shape[0]
        tid = cuda.threadIdx.x
        tx = tid % TX
        ty = tid // TX
        m0 = cuda.blockIdx.y * BM
        n0 = cuda.blockIdx.x * BN
        # This thread's first element of the A and B tiles (the loads are A_LOADS/B_LOADS apart).
        if TRANS_A:
            a_k = tid // BM
            a_m = tid % BM
        else:
            a_k = (tid % (BK // A_LOADS)) * A_LOADS
            a_m = tid // (BK // A_LOADS)
        if TRANS_B:
            b_k = (tid % (BK // B_LOADS)) * B_LOADS
            b_n = tid // (BK // B_LOADS)
        else:
            b_k = tid // BN
            b_n = tid % BN

        # Shared tiles, K-major, split so a thread's fragment is [k, i, ty]: As[k, i, ty] holds
        # A[m0 + i * TY + ty, k0 + k] (and Bs[k, j, tx] holds B[k0 + k, n0 + j * TX + tx]). With the
        # fragment index i a constant after unrolling, the inner loop loads from one base address with
        # immediate offsets. The extra (TM + 1)-th row pads each k slab against bank conflicts.
        As = cuda.shared.array((2, BK, TM1, TY), nbtype)
        Bs = cuda.shared.array((2, BK, TN1, TX), nbtype)
        acc = cuda.local.array((TM, TN), nbtype)
        a_frag = cuda.local.array(TM, nbtype)
        b_frag = cuda.local.array(TN, nbtype)
        for i in range(TM):
            for j in range(TN):
                acc[i, j] = nbtype(0.0)

        # One K step per iteration, with register prefetch: the global loads of the *next* K step are
        # issued into registers (a_next, b_next) before this step's FMAs, so their latency overlaps
        # the compute; after a barrier they are stored to the (single) shared tile. Consecutive
        # threads read consecutive addresses of the stored layout; out-of-range elements are 0.
        a_next = cuda.local.array(A_LOADS, nbtype)
        b_next = cuda.local.array(B_LOADS, nbtype)
        buf = 0  # the shared buffer computed from; the other one receives the next K step
        k0 = k_begin - BK
        while k0 < k_end:  # uniform across the block (syncthreads inside)
            kn = k0 + BK
            if kn < k_end:
                for r in range(A_LOADS):
                    gm = m0 + a_m
                    v = nbtype(0.0)
                    if TRANS_A:  # A[za] is (K, M): a warp reads 32 consecutive m of one k row
                        gk = kn + a_k + r * A_KSTEP
                        if gm < M and gk < k_end:
                            v = A[za, gk, gm]
                    else:  # A[za] is (M, K): a thread reads A_LOADS consecutive k of one m row
                        gk = kn + a_k + r
                        if gm < M and gk < k_end:
                            v = A[za, gm, gk]
                    a_next[r] = v
                for r in range(B_LOADS):
                    gn = n0 + b_n
                    v = nbtype(0.0)
                    if TRANS_B:  # B[zb] is (N, K): a thread reads B_LOADS consecutive k of one n row
                        gk = kn + b_k + r
                        if gn < N and gk < k_end:
                            v = B[zb, gn, gk]
                    else:  # B[zb] is (K, N): a warp reads 32 consecutive n of one k row
                        gk = kn + b_k + r * B_KSTEP
                        if gn < N and gk < k_end:
                            v = B[zb, gk, gn]
                    b_next[r] = v
            if k0 >= k_begin:
                # Shared -> registers -> 8x8 outer product per k.
                for kk in range(BK):
                    for i in range(TM):
                        a_frag[i] = As[buf, kk, i, ty]
                    for j in range(TN):
                        b_frag[j] = Bs[buf, kk, j, tx]
                    for i in range(TM):
                        for j in range(TN):
                            acc[i, j] += a_frag[i] * b_frag[j]
            if kn < k_end:  # nobody reads buffer 1 - buf during this step: no barrier needed before
                for r in range(A_LOADS):
                    if TRANS_A:
                        kk = a_k + r * A_KSTEP
                    else:
                        kk = a_k + r
                    As[1 - buf, kk, a_m // TY, a_m % TY] = a_next[r]
                for r in range(B_LOADS):
                    if TRANS_B:
                        kk = b_k + r
                    else:
                        kk = b_k + r * B_KSTEP
                    Bs[1 - buf, kk, b_n // TX, b_n % TX] = b_next[r]
            cuda.syncthreads()  # the one barrier per K step
            buf = 1 - buf
            k0 = kn

        # Epilogue, in three fully unrolled loops so the accumulators stay in registers (an
        # epilogue indexing acc[i, j] in a loop that is not unrolled puts acc in local memory).
        # 1. Bias fragments (bounds-guarded loads), reusing the a/b fragment registers.
        zbias = z % bias.shape[0]
        for i in range(TM):
            gm = m0 + ty + i * TY
            a_frag[i] = nbtype(0.0)
            if bias_mode == 2 and gm < M:
                a_frag[i] = bias[zbias, gm]
        for j in range(TN):
            gn = n0 + tx + j * TX
            b_frag[j] = nbtype(0.0)
            if bias_mode == 1 and gn < N:
                b_frag[j] = bias[zbias, gn]
        # 2. Bias and activation in registers.
        for i in range(TM):
            for j in range(TN):
                v = acc[i, j] + a_frag[i] + b_frag[j]
                if ACTIVATION == 1:
                    if v < 0:  # NOTE: `v < 0` keeps NaN as NaN, like max(NaN, 0) in NumPy.
                        v = nbtype(0.0)
                elif ACTIVATION == 2:
                    v = nbtype(0.5) * v * (nbtype(1.0) + math.erf(v * nbtype(INV_SQRT2)))
                acc[i, j] = v
        # 3. Bounds-guarded stores: a half-warp writes 16 consecutive elements of a row.
        for i in range(TM):
            gm = m0 + ty + i * TY
            if gm < M:
                for j in range(TN):
                    gn = n0 + tx + j * TX
                    if gn < N:
                        C[zs, gm, gn] = acc[i, j]

    layout = ("T" if trans_a else "N") + ("T" if trans_b else "N")
    act = "" if ACTIVATION == 0 else "_" + activation
    _launch.named(gemm_kernel, f"gemm_{layout}{act}", dtype)
    # float32: 2 blocks of 256 threads per SM (<= 128 registers); float64 accumulators alone need 128.
    gemm_kernel.launch_bounds = (THREADS, 2 if nbtype == numba.float32 else 1)
    return gemm_kernel


def get_gemm_kernel(trans_a: bool, trans_b: bool, dtype, activation=None, tile: GemmTile = TILE):
    """The jitted kernel for a layout/dtype/activation/tile, built once and cached (it then compiles
    once, on its first launch)."""
    ACTIVATIONS[activation]  # unknown activation names fail here, before anything is built
    return _launch.built(make_gemm_kernel, bool(trans_a), bool(trans_b), dtype, activation, GemmTile(*tile),
                         launch_bounds=lambda fn: fn.launch_bounds)


def _signature(dtype):
    t = _launch.numba_type(dtype)
    i64 = numba.int64
    return numba.void(t[:, :, ::1], t[:, :, ::1], t[:, :, ::1], t[:, ::1], i64, i64, i64)


#: The (layout, activation) pairs the wrappers launch: matmul/linear (NN, NT with any activation),
#: conv forward (NN), conv input grad (TN), weight grad (NT); TT only without activation.
LAUNCHED = [
    ((ta, tb), act) for ta, tb in ((False, False), (False, True), (True, False)) for act in (None, "relu", "gelu")
]
LAUNCHED += [((True, True), None)]


def ptx_signatures():
    """``(name, python function, [signature], launch_bounds)`` for every GEMM kernel the wrappers
    launch (``kernels/resources.py`` compiles each to sm_90)."""
    out = []
    for dtype in _launch.FLOAT_DTYPES:
        for (ta, tb), act in LAUNCHED:
            if dtype == np.float64 and act is not None:
                continue  # float64 is for checks; its activations compile the same code path
            fn = make_gemm_kernel(ta, tb, dtype, act)
            out.append((fn.__name__, fn, [_signature(dtype)], fn.launch_bounds))
        t = _launch.numba_type(dtype)
        red = make_sum_splits_kernel(dtype)
        out.append((red.__name__, red, [numba.void(t[:, ::1], t[:, ::1], numba.int64)], None))
    return out


_dummies: dict = {}


def _dummy_bias(kind: str, dtype):
    key = (kind if kind == "numpy" else "device", np.dtype(dtype))
    d = _dummies.get(key)
    if d is None:
        d = _dummies[key] = _launch.zeros("numpy" if kind == "numpy" else "numba", (1, 1), dtype)
    return d


def gemm_batched(
    a,
    b,
    c,
    bias=None,
    bias_mode=BIAS_NONE,
    activation=None,
    trans_a=False,
    trans_b=False,
    stream=None,
    tile: GemmTile = TILE,
    split_k=None,
    fn="gemm_batched",
):
    """``c[z] = act(op(a[z % A]) @ op(b[z % B]) + bias)`` on 3-D operands, written into ``c``.

    ``bias`` is 2-D ``(batchBias, N)`` with ``bias_mode=BIAS_COLUMNS`` or ``(batchBias, M)`` with
    ``BIAS_ROWS``. Shapes are checked; ``c`` must be allocated by the caller. Returns ``c``.
    ``split_k``: split the K loop over that many blocks writing partial products to a scratch array,
    then add them (:func:`make_sum_splits_kernel`); None chooses (:func:`auto_split_k`) when there is
    no bias or activation to fuse.
    """
    kind = _launch.check_same_kind(fn, a, b, c, bias)
    for name, x in (("a", a), ("b", b), ("c", c)):
        _launch.check_float(fn, name, x, ndim=3)
    dtype = np.dtype(c.dtype)
    if np.dtype(a.dtype) != dtype or np.dtype(b.dtype) != dtype:
        raise TypeError(f"{fn}: dtypes differ: a {a.dtype}, b {b.dtype}, out {c.dtype}")
    batch, M, N = c.shape
    am, ak = (a.shape[2], a.shape[1]) if trans_a else (a.shape[1], a.shape[2])
    bk, bn = (b.shape[2], b.shape[1]) if trans_b else (b.shape[1], b.shape[2])
    if am != M or bn != N or ak != bk:
        raise ValueError(
            f"{fn}: shapes do not multiply: a {tuple(a.shape)}{' (transposed)' if trans_a else ''}, "
            f"b {tuple(b.shape)}{' (transposed)' if trans_b else ''}, out {tuple(c.shape)}"
        )
    for name, x in (("a", a), ("b", b)):
        if x.shape[0] < 1 or batch % x.shape[0]:
            raise ValueError(f"{fn}: batch of {name} ({x.shape[0]}) must divide the output batch ({batch})")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{fn}: activation must be one of None, 'relu', 'gelu', got {activation!r}")
    if bias is None or bias_mode == BIAS_NONE:
        bias, bias_mode = _dummy_bias(kind, dtype), BIAS_NONE
    else:
        length = N if bias_mode == BIAS_COLUMNS else M
        _launch.check(fn, "bias", bias, ndim=2, dtype=dtype)
        if bias.shape[1] != length or bias.shape[0] < 1 or batch % bias.shape[0]:
            raise ValueError(f"{fn}: bias of shape {tuple(bias.shape)} does not fit output {tuple(c.shape)}")
    if batch == 0 or M == 0 or N == 0:
        return c
    tile = GemmTile(*tile)
    K = ak
    if split_k is None:
        split_k = auto_split_k(M, N, K, batch, tile) if (bias_mode == BIAS_NONE and activation is None) else 1
    elif split_k > 1 and (bias_mode != BIAS_NONE or activation is not None):
        raise ValueError(f"{fn}: split_k > 1 cannot fuse a bias or an activation")
    k_chunk = max(tile.bk, _launch.cdiv(_launch.cdiv(K, max(1, int(split_k))), tile.bk) * tile.bk)
    splits = max(1, _launch.cdiv(K, k_chunk))
    stream = _launch.stream_for(kind, stream)
    kernel = get_gemm_kernel(trans_a, trans_b, dtype, activation, tile)
    target = c if splits == 1 else _launch.empty(kind, (batch * splits, M, N), dtype)
    grid = (_launch.cdiv(N, tile.bn), _launch.cdiv(M, tile.bm), batch * splits)
    _launch.launch(
        kernel, grid, tile.threads, stream, a, b, target, bias, int(bias_mode), splits, k_chunk if splits > 1 else K
    )
    if splits > 1:
        part = _launch.reshape(target, (batch * splits, M * N))
        out = _launch.reshape(c, (batch, M * N))
        _launch.launch(
            _sum_splits_kernel(dtype), _launch.grid_1d(batch * M * N), _launch.THREADS_1D, stream, part, out, splits
        )
    return c


def auto_split_k(M, N, K, batch, tile: GemmTile = TILE) -> int:
    """Split-K factor for a GEMM whose output tiles alone cannot fill the GPU (a convolution's weight
    gradient: ``Cout x Cin*kh*kw`` outputs, ``K = batch*H*W`` long): enough splits for about two
    blocks per SM, each split at least ``SPLIT_K_MIN`` long. 1 (no split) in the simulator."""
    if _launch.SIMULATOR:
        return 1
    blocks = _launch.cdiv(M, tile.bm) * _launch.cdiv(N, tile.bn) * batch
    want = _launch.cdiv(2 * _launch.sm_count(), blocks)
    return max(1, min(want, K // SPLIT_K_MIN))


def make_sum_splits_kernel(dtype):
    """``out[z, i] = sum_s part[z * splits + s, i]``: adds split-K partial products. Grid-stride over
    ``out.size``; reads ``splits`` and writes 1 element per output."""
    T = _launch.numba_type(dtype)

    def gemm_sum_splits(part, out, splits):
        n = out.shape[1]
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < out.size:
            z = i // n
            r = i - z * n
            acc = T(0.0)
            for s in range(splits):
                acc += part[z * splits + s, r]
            out[z, r] = acc
            i += stride

    return _launch.named(gemm_sum_splits, "gemm_sum_splits", dtype)


def _sum_splits_kernel(dtype):
    return _launch.built(make_sum_splits_kernel, dtype)


def matmul(a, b, out=None, bias=None, activation=None, trans_a=False, trans_b=False, stream=None):
    """``out = act(op(a) @ op(b) + bias)`` (``op`` transposes the last two axes when asked).

    ``a``: ``(M, K)``, or ``(K, M)`` with ``trans_a``, or 3-D with a leading batch; ``b``: ``(K, N)``
    or ``(N, K)`` with ``trans_b``, or 3-D. 2-D times 2-D gives ``(M, N)``; otherwise the output is
    ``(batch, M, N)`` and a 2-D operand is shared by every batch. ``bias``: ``(N,)``, added to every
    row. ``activation``: None, ``"relu"`` or ``"gelu"`` (erf form). float32 or float64,
    C-contiguous. ``stream``: a Numba or CuPy stream (default: CuPy's current stream for CuPy input).

    Example::

        y = matmul(x, w, bias=b, trans_b=True)      # x @ w.T + b, a linear layer
    """
    fn = "matmul"
    kind = _launch.check_same_kind(fn, a, b, out, bias)
    _launch.check_float(fn, "a", a, ndim=(2, 3))
    _launch.check_float(fn, "b", b, ndim=(2, 3))
    if np.dtype(a.dtype) != np.dtype(b.dtype):
        raise TypeError(f"{fn}: a and b dtypes differ: {a.dtype} vs {b.dtype}")
    dtype = np.dtype(a.dtype)
    ash, bsh = tuple(a.shape), tuple(b.shape)  # (the simulator's shapes take no negative index)
    M = ash[-1] if trans_a else ash[-2]
    Ka = ash[-2] if trans_a else ash[-1]
    Kb = bsh[-1] if trans_b else bsh[-2]
    N = bsh[-2] if trans_b else bsh[-1]
    if Ka != Kb:
        raise ValueError(
            f"{fn}: inner dimensions differ: a {tuple(a.shape)}{' (transposed)' if trans_a else ''} "
            f"and b {tuple(b.shape)}{' (transposed)' if trans_b else ''}"
        )
    a3 = a if a.ndim == 3 else _launch.reshape(a, (1,) + tuple(a.shape))
    b3 = b if b.ndim == 3 else _launch.reshape(b, (1,) + tuple(b.shape))
    batch = max(a3.shape[0], b3.shape[0])
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise ValueError(f"{fn}: batch sizes differ: a {tuple(a.shape)}, b {tuple(b.shape)}")
    out_shape = (M, N) if (a.ndim == 2 and b.ndim == 2) else (batch, M, N)
    out = _launch.output(fn, kind, out, out_shape, dtype)
    c3 = out if out.ndim == 3 else _launch.reshape(out, (1, M, N))
    bias2 = None
    if bias is not None:
        _launch.check(fn, "bias", bias, ndim=1, dtype=dtype, shape=(N,))
        bias2 = _launch.reshape(bias, (1, N))
    gemm_batched(
        a3,
        b3,
        c3,
        bias2,
        BIAS_COLUMNS if bias is not None else BIAS_NONE,
        activation,
        trans_a,
        trans_b,
        stream,
        fn=fn,
    )
    return out


def gemm_reference(a, b, bias=None, bias_mode=BIAS_NONE, activation=None, trans_a=False, trans_b=False):
    """NumPy float64 reference of :func:`gemm_batched` (3-D operands) and :func:`matmul` (2-D)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    opa = np.swapaxes(a, -1, -2) if trans_a else a
    opb = np.swapaxes(b, -1, -2) if trans_b else b
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        batch = max(a.shape[0], b.shape[0])
        opa = opa[np.arange(batch) % a.shape[0]]
        opb = opb[np.arange(batch) % b.shape[0]]
    r = opa @ opb
    if bias is not None and bias_mode != BIAS_NONE:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.ndim == 1:
            bias = bias[None]
        zb = np.arange(r.shape[0] if r.ndim == 3 else 1) % bias.shape[0]
        bb = bias[zb]  # (batch, L)
        if r.ndim == 2:
            bb = bb[0]
            r = r + (bb[None, :] if bias_mode == BIAS_COLUMNS else bb[:, None])
        else:
            r = r + (bb[:, None, :] if bias_mode == BIAS_COLUMNS else bb[:, :, None])
    if activation == "relu":
        r = np.where(r < 0, 0.0, r)
    elif activation == "gelu":
        r = gelu_erf_reference(r)
    return r


def gelu_erf_reference(x):
    """``0.5 x (1 + erf(x / sqrt 2))`` in float64 (NumPy has no erf; math.erf elementwise)."""
    x = np.asarray(x, dtype=np.float64)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
