"""Fused scaled-dot-product attention, forward and backward (FlashAttention-2 style), float32 or float16.

Math, per batch-head ``z`` (``q: (BH, L, DK)``, ``k: (BH, S, DK)``, ``v: (BH, S, DV)``)::

    s[i, j] = scale * q[i] . k[j] + mask[i, j]       (mask: additive float32; -inf drops a key)
              = -inf where is_causal and j > i        (top-left aligned, as PyTorch's is_causal)
    lse[i]  = log sum_j exp(s[i, j])                  p[i, j] = exp(s[i, j] - lse[i])
    out[i]  = sum_j p[i, j] v[j]
  backward, from dout:
    delta[i] = dout[i] . out[i]                       dp[i, j] = dout[i] . v[j]
    ds[i, j] = p[i, j] (dp[i, j] - delta[i])
    dq[i] = scale sum_j ds[i, j] k[j]    dk[j] = scale sum_i ds[i, j] q[i]    dv[j] = sum_i p[i, j] dout[i]

A row whose keys are all masked gets ``out = 0``, ``lse = -inf`` and zero gradients (PyTorch's CPU
flash kernel does the same). ``mask`` is 4-D ``(MB, MH, ML, MS)`` with each dimension 1 (broadcast) or
full (``B = BH / heads``, ``heads``, ``L``, ``S``); batch-head ``z`` is ``(b, h) = divmod(z, heads)``.

No ``L x S`` matrix reaches global memory. The forward walks the keys in tiles of ``block_n`` staged
in shared memory and keeps, per query row, a running max ``m`` and sum ``l`` of ``exp(s - m)``
(NOTE: online softmax: when a score exceeds ``m`` the accumulator and ``l`` are rescaled by
``exp(m_old - m_new)``, so every ``exp`` argument is <= 0 and nothing overflows); the output is
divided by ``l`` once at the end and ``lse = m + log l`` is saved. The backward recomputes ``p``
tile by tile from ``lse``: one kernel per key tile accumulates ``dk, dv`` over all query tiles,
another per query tile accumulates ``dq`` over all key tiles (no atomics: deterministic), after a
row kernel computes ``delta``.

Thread layout: a block owns ``block_m`` query rows (forward, dq) or ``block_n`` key rows (dk/dv);
``lanes`` consecutive threads share a row and split the head dimension, thread ``lane`` holding
columns ``lane + lanes * t`` for ``t < d_max / lanes`` in registers (q, the output accumulator, ...).
A dot product is a per-lane partial sum plus ``log2(lanes)`` butterfly shuffles. The forward
thread holds ``FORWARD_ROWS = 2`` query rows (``block_m / 2`` apart), so each key/value word it reads
from shared memory feeds two FMAs (the backward kernels hold one row: their registers are full).
The other operand (keys/values, or queries/dout for dk/dv) is staged in shared memory, read without
bank conflicts (the lanes of a row read consecutive words, other rows read the same words:
broadcasts), by coalesced row passes (inline helpers from :func:`_make_loaders`). ``launch_bounds``
asks for ``THREADS_PER_SM = 512`` resident threads per SM (<= 128 registers) for the forward and dq,
``DKDV_THREADS_PER_SM = 256`` for dk/dv (four accumulator rows of registers: 128 would spill);
kernels/RESOURCES.md has the figures.

FLOPs (no causal skipping): forward ``2 BH L S (DK + DV)``; backward ``BH L S (4 DK + 3 DV)`` for
dk/dv plus ``BH L S (4 DK + 2 DV)`` for dq (scores and ``dp`` are computed twice); one ``exp`` per
score per lane. Fewest bytes: forward ``4 BH (L DK + S DK + S DV + L DV + L)``; backward reads q, k,
v, out, dout, lse and writes dq, dk, dv. Keys and values are re-read (from L2) once per query tile.

Launch grids: forward and dq ``(BH, cdiv(L, block_m))``, dk/dv ``(BH, cdiv(S, block_n))``, blocks of
``rows * lanes`` threads (forward ``block_m / 2 * lanes``); delta: a warp per row, 4 rows per block (grid-stride).

float16: q, k, v, out, dout and the gradients are float16 in memory, widened to float32 as they are
loaded (into registers or the float32 shared-memory tiles), so every product, sum and ``exp`` is float32
and only the stores round; ``mask``, ``lse`` and ``delta`` stay float32. Same kernels, compiled for the
float16 argument types (kernels/RESOURCES.md lists both).

Wrappers (C-contiguous float32 or float16 device arrays; NumPy arrays in the simulator)::

    out, lse = attention_forward(q, k, v, mask=None, is_causal=False, scale=None, heads=1)
    dq, dk, dv = attention_backward(q, k, v, out, lse, dout, mask=None, is_causal=False, scale=None, heads=1)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import cuda

from . import _launch


class AttentionTile(NamedTuple):
    """``block_m`` queries x ``block_n`` keys per tile; ``lanes`` threads per row split ``d_max`` columns."""

    block_m: int
    block_n: int
    lanes: int
    d_max: int


#: Production tiles by the largest head dimension they hold (16 columns per thread, 64-1024 threads).
TILES = (AttentionTile(32, 32, 2, 32), AttentionTile(32, 32, 4, 64), AttentionTile(32, 32, 8, 128))
#: A small tile for simulator tests that want several query and key tiles cheaply (same code).
SMALL_TILE = AttentionTile(4, 4, 4, 8)
#: ``launch_bounds`` asks ptxas for this many resident threads per SM (<= 128 registers, no spills).
THREADS_PER_SM = 512
DKDV_THREADS_PER_SM = 256
#: Query rows per thread in the forward (each shared-memory word of k and v feeds this many FMAs).
FORWARD_ROWS = 2
#: Rows (warps) per block of the delta kernel.
DELTA_WARPS = 4
_FULL_MASK = 0xFFFFFFFF
_F32 = numba.float32
#: Operand dtypes: float16 q, k, v, out, dout, dq, dk, dv are widened to float32 as they are loaded.
DTYPES = (np.dtype(np.float32), np.dtype(np.float16))
_NEG_INF = -math.inf


def tile_for(head_dim: int) -> AttentionTile:
    """The smallest production tile whose ``d_max`` holds ``head_dim`` (ValueError above 128)."""
    for t in TILES:
        if head_dim <= t.d_max:
            return t
    raise ValueError(f"attention: head dimension {head_dim} > {TILES[-1].d_max} is not supported by the kernel")


def launch_bounds(tile: AttentionTile, rows: int, threads_per_sm: int = THREADS_PER_SM):
    """``(threads, min blocks per SM)`` of a kernel whose block owns ``rows`` rows of ``tile.lanes`` threads."""
    threads = rows * tile.lanes
    return threads, max(1, threads_per_sm // threads)


def _constants(tile):
    bm, bn, lanes, d_max = tile
    assert d_max % lanes == 0 and lanes & (lanes - 1) == 0 and lanes <= 32, tile
    return bm, bn, bn + 1, lanes, d_max, d_max // lanes, lanes.bit_length() - 1


def _make_loaders(tile: AttentionTile, threads: int, rows: int):
    """Inline device functions staging ``rows`` rows of an operand (and the mask tile) in shared memory.

    Consecutive threads read consecutive columns (coalesced), ``threads / d_max`` rows per pass, so
    the index math is done once per thread, not per element. The pass count is a runtime bound (the
    rows left), which keeps NVVM from unrolling every pass and holding all loads in registers.
    """
    BM, BN, BN1, LANES, DMAX, DPT, LOG2_LANES = _constants(tile)
    ROWS_PER_PASS, MASK_ROWS_PER_PASS = threads // DMAX, threads // BN
    assert threads % DMAX == 0 and rows % ROWS_PER_PASS == 0, (tile, threads)
    assert threads % BN == 0 and BM % MASK_ROWS_PER_PASS == 0, (tile, threads)
    PASSES, MASK_PASSES = rows // ROWS_PER_PASS, BM // MASK_ROWS_PER_PASS
    ZERO = _F32(0.0)

    @cuda.jit(device=True, inline=True)
    def load_rows(dst, src, z, r0, scale, tid):
        """``dst[r, t, lane] = scale * src[z, r0 + r, lane + LANES t]``, 0 outside ``src``."""
        n_rows, n_cols = src.shape[1], src.shape[2]
        r_first, d = tid // DMAX, tid % DMAX
        t, lane = d // LANES, d % LANES
        # rows past the end are skipped, not zeroed: the callers never read them
        for p in range(min(PASSES, (n_rows - r0 + ROWS_PER_PASS - 1) // ROWS_PER_PASS)):
            r = p * ROWS_PER_PASS + r_first
            dst[r, t, lane] = _F32(src[z, r0 + r, d]) * scale if (r0 + r < n_rows and d < n_cols) else ZERO

    @cuda.jit(device=True, inline=True)
    def load_mask(dst, mask, mb, mh, i0, j0, L, S, tid):
        """``dst[r, n] = mask[mb, mh, i0 + r, j0 + n]`` (broadcast axes of size 1), 0 past ``S``."""
        r_first, n = tid // BN, tid % BN
        j = j0 + n
        mj = j if mask.shape[3] > 1 else 0
        for p in range(min(MASK_PASSES, (L - i0 + MASK_ROWS_PER_PASS - 1) // MASK_ROWS_PER_PASS)):
            r = p * MASK_ROWS_PER_PASS + r_first
            i = i0 + r
            dst[r, n] = mask[mb, mh, i if mask.shape[2] > 1 else 0, mj] if (i < L and j < S) else ZERO

    return load_rows, load_mask


def make_forward_kernel(tile: AttentionTile):
    """Args ``(q, k, v, mask, out, lse, heads, scale, causal, has_mask)``; grid ``(BH, cdiv(L, block_m))``,
    ``block_m / FORWARD_ROWS * lanes`` threads: each thread holds ``FORWARD_ROWS`` query rows, ``block_m /
    FORWARD_ROWS`` apart, so every key and value word read from shared memory feeds that many FMAs."""
    BM, BN, BN1, LANES, DMAX, DPT, LOG2_LANES = _constants(tile)
    RM = FORWARD_ROWS
    GROUPS = BM // RM
    assert GROUPS * RM == BM, tile
    ZERO, ONE, NEG_INF = _F32(0.0), _F32(1.0), _F32(_NEG_INF)
    load_rows, load_mask = _make_loaders(tile, GROUPS * LANES, BN)

    def attention_forward(q, k, v, mask, out, lse, heads, scale, causal, has_mask):
        L, DK = q.shape[1], q.shape[2]
        S, DV = k.shape[1], v.shape[2]
        z = cuda.blockIdx.x
        m0 = cuda.blockIdx.y * BM
        tid = cuda.threadIdx.x
        group = tid // LANES
        lane = tid % LANES
        mb = (z // heads) if mask.shape[0] > 1 else 0
        mh = (z % heads) if mask.shape[1] > 1 else 0
        k_tile = cuda.shared.array((BN, DPT, LANES), _F32)
        v_tile = cuda.shared.array((BN, DPT, LANES), _F32)
        mask_tile = cuda.shared.array((BM, BN1), _F32)
        q_reg = cuda.local.array((RM, DPT), _F32)
        acc = cuda.local.array((RM, DPT), _F32)
        s = cuda.local.array(RM, _F32)
        m_run = cuda.local.array(RM, _F32)
        l_run = cuda.local.array(RM, _F32)
        for r in range(RM):
            qi = m0 + group + GROUPS * r
            for t in range(DPT):
                d = lane + LANES * t
                q_reg[r, t] = _F32(q[z, qi, d]) * scale if (qi < L and d < DK) else ZERO
                acc[r, t] = ZERO
            m_run[r] = NEG_INF
            l_run[r] = ZERO
        n_end = min(S, m0 + BM) if causal else S
        n0 = 0
        while n0 < n_end:  # uniform across the block (syncthreads inside)
            load_rows(k_tile, k, z, n0, ONE, tid)
            load_rows(v_tile, v, z, n0, ONE, tid)
            if has_mask:
                load_mask(mask_tile, mask, mb, mh, m0, n0, L, S, tid)
            cuda.syncthreads()
            for n in range(min(BN, n_end - n0)):
                for r in range(RM):
                    s[r] = ZERO
                for t in range(DPT):
                    kv = k_tile[n, t, lane]
                    for r in range(RM):
                        s[r] += q_reg[r, t] * kv
                for step in range(LOG2_LANES):
                    for r in range(RM):
                        s[r] += cuda.shfl_xor_sync(_FULL_MASK, s[r], LANES >> (step + 1))
                for r in range(RM):
                    row = group + GROUPS * r
                    sr = s[r]
                    if has_mask:
                        sr += mask_tile[row, n]
                    if causal and n0 + n > m0 + row:
                        sr = NEG_INF
                    if sr > m_run[r]:  # a new running max: rescale what was summed so far
                        alpha = math.exp(m_run[r] - sr)
                        l_run[r] *= alpha
                        for t in range(DPT):
                            acc[r, t] *= alpha
                        m_run[r] = sr
                    s[r] = math.exp(sr - m_run[r]) if sr != NEG_INF else ZERO  # p
                    l_run[r] += s[r]
                for t in range(DPT):
                    vv = v_tile[n, t, lane]
                    for r in range(RM):
                        acc[r, t] += s[r] * vv
            cuda.syncthreads()
            n0 += BN
        for r in range(RM):
            qi = m0 + group + GROUPS * r
            if qi < L:
                inv = ONE / l_run[r] if l_run[r] > ZERO else ZERO
                for t in range(DPT):
                    d = lane + LANES * t
                    if d < DV:
                        out[z, qi, d] = acc[r, t] * inv
                if lane == 0:
                    lse[z, qi] = m_run[r] + math.log(l_run[r]) if l_run[r] > ZERO else NEG_INF

    attention_forward.__name__ = attention_forward.__qualname__ = f"attention_forward_d{DMAX}"
    return attention_forward


def make_delta_kernel():
    """``delta[r] = sum_c dout[r, c] * out[r, c]``; args ``(dout, out, delta)`` as ``(R, C)``, ``(R,)``."""

    ZERO = _F32(0.0)

    def attention_backward_delta(dout, out, delta):
        R, C = out.shape
        lane = cuda.threadIdx.x % 32
        r = cuda.blockIdx.x * DELTA_WARPS + cuda.threadIdx.x // 32
        while r < R:  # uniform across the warp
            total = ZERO
            c = lane
            while c < C:
                total += _F32(dout[r, c]) * _F32(out[r, c])
                c += 32
            off = 16
            while off > 0:
                total += cuda.shfl_xor_sync(_FULL_MASK, total, off)
                off //= 2
            if lane == 0:
                delta[r] = total
            r += cuda.gridDim.x * DELTA_WARPS

    return attention_backward_delta


def make_dq_kernel(tile: AttentionTile):
    """Args ``(q, k, v, mask, lse, delta, dout, dq, heads, scale, causal, has_mask)``; grid like the forward."""
    BM, BN, BN1, LANES, DMAX, DPT, LOG2_LANES = _constants(tile)
    ZERO, ONE, NEG_INF = _F32(0.0), _F32(1.0), _F32(_NEG_INF)
    load_rows, load_mask = _make_loaders(tile, BM * LANES, BN)

    def attention_backward_dq(q, k, v, mask, lse, delta, dout, dq, heads, scale, causal, has_mask):
        L, DK = q.shape[1], q.shape[2]
        S, DV = k.shape[1], v.shape[2]
        z = cuda.blockIdx.x
        m0 = cuda.blockIdx.y * BM
        tid = cuda.threadIdx.x
        row = tid // LANES
        lane = tid % LANES
        qi = m0 + row
        mb = (z // heads) if mask.shape[0] > 1 else 0
        mh = (z % heads) if mask.shape[1] > 1 else 0
        k_tile = cuda.shared.array((BN, DPT, LANES), _F32)
        v_tile = cuda.shared.array((BN, DPT, LANES), _F32)
        mask_tile = cuda.shared.array((BM, BN1), _F32)
        q_reg = cuda.local.array(DPT, _F32)
        do_reg = cuda.local.array(DPT, _F32)
        acc = cuda.local.array(DPT, _F32)
        for t in range(DPT):
            d = lane + LANES * t
            q_reg[t] = _F32(q[z, qi, d]) * scale if (qi < L and d < DK) else ZERO
            do_reg[t] = _F32(dout[z, qi, d]) if (qi < L and d < DV) else ZERO
            acc[t] = ZERO
        lse_i = lse[z, qi] if qi < L else NEG_INF
        delta_i = delta[z, qi] if qi < L else ZERO
        n_end = min(S, m0 + BM) if causal else S
        n0 = 0
        while n0 < n_end:  # uniform
            load_rows(k_tile, k, z, n0, ONE, tid)
            load_rows(v_tile, v, z, n0, ONE, tid)
            if has_mask:
                load_mask(mask_tile, mask, mb, mh, m0, n0, L, S, tid)
            cuda.syncthreads()
            for n in range(min(BN, n_end - n0)):
                s = ZERO
                dp = ZERO
                for t in range(DPT):
                    s += q_reg[t] * k_tile[n, t, lane]
                    dp += do_reg[t] * v_tile[n, t, lane]
                for step in range(LOG2_LANES):
                    s += cuda.shfl_xor_sync(_FULL_MASK, s, LANES >> (step + 1))
                    dp += cuda.shfl_xor_sync(_FULL_MASK, dp, LANES >> (step + 1))
                if has_mask:
                    s += mask_tile[row, n]
                if not ((causal and n0 + n > qi) or s == NEG_INF or lse_i == NEG_INF):
                    ds = math.exp(s - lse_i) * (dp - delta_i)
                    for t in range(DPT):
                        acc[t] += ds * k_tile[n, t, lane]
            cuda.syncthreads()
            n0 += BN
        if qi < L:
            for t in range(DPT):
                d = lane + LANES * t
                if d < DK:
                    dq[z, qi, d] = acc[t] * scale

    attention_backward_dq.__name__ = attention_backward_dq.__qualname__ = f"attention_backward_dq_d{DMAX}"
    return attention_backward_dq


def make_dkdv_kernel(tile: AttentionTile):
    """Args ``(q, k, v, mask, lse, delta, dout, dk, dv, heads, scale, causal, has_mask)``;
    grid ``(BH, cdiv(S, block_n))``, ``block_n * lanes`` threads (a row per key)."""
    BM, BN, BN1, LANES, DMAX, DPT, LOG2_LANES = _constants(tile)
    THREADS = BN * LANES
    ZERO, ONE, NEG_INF = _F32(0.0), _F32(1.0), _F32(_NEG_INF)
    load_rows, load_mask = _make_loaders(tile, THREADS, BM)

    def attention_backward_dkdv(q, k, v, mask, lse, delta, dout, dk, dv, heads, scale, causal, has_mask):
        L, DK = q.shape[1], q.shape[2]
        S, DV = k.shape[1], v.shape[2]
        z = cuda.blockIdx.x
        n0 = cuda.blockIdx.y * BN
        tid = cuda.threadIdx.x
        row = tid // LANES
        lane = tid % LANES
        kj = n0 + row
        mb = (z // heads) if mask.shape[0] > 1 else 0
        mh = (z % heads) if mask.shape[1] > 1 else 0
        q_tile = cuda.shared.array((BM, DPT, LANES), _F32)
        do_tile = cuda.shared.array((BM, DPT, LANES), _F32)
        mask_tile = cuda.shared.array((BM, BN1), _F32)
        lse_tile = cuda.shared.array(BM, _F32)
        delta_tile = cuda.shared.array(BM, _F32)
        k_reg = cuda.local.array(DPT, _F32)
        v_reg = cuda.local.array(DPT, _F32)
        dk_acc = cuda.local.array(DPT, _F32)
        dv_acc = cuda.local.array(DPT, _F32)
        for t in range(DPT):
            d = lane + LANES * t
            k_reg[t] = _F32(k[z, kj, d]) if (kj < S and d < DK) else ZERO
            v_reg[t] = _F32(v[z, kj, d]) if (kj < S and d < DV) else ZERO
            dk_acc[t] = ZERO
            dv_acc[t] = ZERO
        # causal: query tiles that end before this key tile starts see none of its keys
        m0 = (n0 // BM) * BM if causal else 0
        while m0 < L:  # uniform
            load_rows(q_tile, q, z, m0, scale, tid)
            load_rows(do_tile, dout, z, m0, ONE, tid)
            e = tid
            while e < BM:
                ok = m0 + e < L
                lse_tile[e] = lse[z, m0 + e] if ok else NEG_INF
                delta_tile[e] = delta[z, m0 + e] if ok else ZERO
                e += THREADS
            if has_mask:
                load_mask(mask_tile, mask, mb, mh, m0, n0, L, S, tid)
            cuda.syncthreads()
            for r in range(min(BM, L - m0)):
                s = ZERO
                dp = ZERO
                for t in range(DPT):
                    s += k_reg[t] * q_tile[r, t, lane]
                    dp += v_reg[t] * do_tile[r, t, lane]
                for step in range(LOG2_LANES):
                    s += cuda.shfl_xor_sync(_FULL_MASK, s, LANES >> (step + 1))
                    dp += cuda.shfl_xor_sync(_FULL_MASK, dp, LANES >> (step + 1))
                if has_mask:
                    s += mask_tile[r, row]
                lse_i = lse_tile[r]
                if kj < S and not ((causal and kj > m0 + r) or s == NEG_INF or lse_i == NEG_INF):
                    p = math.exp(s - lse_i)
                    ds = p * (dp - delta_tile[r])
                    for t in range(DPT):
                        dv_acc[t] += p * do_tile[r, t, lane]
                        dk_acc[t] += ds * q_tile[r, t, lane]  # q_tile holds scale * q
            cuda.syncthreads()
            m0 += BM
        if kj < S:
            for t in range(DPT):
                d = lane + LANES * t
                if d < DK:
                    dk[z, kj, d] = dk_acc[t]
                if d < DV:
                    dv[z, kj, d] = dv_acc[t]

    attention_backward_dkdv.__name__ = attention_backward_dkdv.__qualname__ = f"attention_backward_dkdv_d{DMAX}"
    return attention_backward_dkdv


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched (float32 and
    float16 operands; the mask, ``lse`` and ``delta`` are float32 in both)."""
    i64 = numba.int64
    m4, l2, d1 = _F32[:, :, :, ::1], _F32[:, ::1], _F32[::1]
    out = []
    for st in (_F32, numba.types.float16):
        a3, a2 = st[:, :, ::1], st[:, ::1]
        for tile in TILES:
            f, dq, dkdv = make_forward_kernel(tile), make_dq_kernel(tile), make_dkdv_kernel(tile)
            rows_bounds = launch_bounds(tile, tile.block_m)
            keys_bounds = launch_bounds(tile, tile.block_n, DKDV_THREADS_PER_SM)
            fwd_bounds = launch_bounds(tile, tile.block_m // FORWARD_ROWS)
            out.append((f.__name__, f, [numba.void(a3, a3, a3, m4, a3, l2, i64, _F32, i64, i64)], fwd_bounds))
            out.append((dq.__name__, dq, [numba.void(a3, a3, a3, m4, l2, l2, a3, a3, i64, _F32, i64, i64)],
                        rows_bounds))
            out.append((dkdv.__name__, dkdv, [numba.void(a3, a3, a3, m4, l2, l2, a3, a3, a3, i64, _F32, i64, i64)],
                        keys_bounds))
        delta = make_delta_kernel()
        out.append((delta.__name__, delta, [numba.void(a2, a2, d1)], None))
    return out


# ----------------------------------------------------------------------------------------------- wrappers


def _check_inputs(fn, q, k, v, mask, heads, extra=()):
    kind = _launch.check_same_kind(fn, q, k, v, mask, *extra)
    _launch.check(fn, "q", q, ndim=3, dtype=DTYPES)
    for name, a in (("k", k), ("v", v)):
        _launch.check(fn, name, a, ndim=3, dtype=q.dtype)
    BH, L, DK = q.shape
    S, DV = k.shape[1], v.shape[2]
    _launch.check(fn, "k", k, shape=(BH, S, DK))
    _launch.check(fn, "v", v, shape=(BH, S, DV))
    heads = int(heads)
    if heads < 1 or BH % heads:
        raise ValueError(f"{fn}: heads={heads} does not divide the batch-head dimension {BH}")
    if mask is None:
        mask = _launch.zeros(kind, (1, 1, 1, 1), np.float32)
    else:
        _launch.check(fn, "mask", mask, ndim=4, dtype=np.float32)
        for dim, full in zip(mask.shape, (BH // heads, heads, L, S)):
            if dim not in (1, full):
                raise ValueError(f"{fn}: mask of shape {tuple(mask.shape)} does not broadcast to "
                                 f"{(BH // heads, heads, L, S)}")
    if L >= 65535 * TILES[0].block_m or S >= 65535 * TILES[0].block_n:
        raise ValueError(f"{fn}: sequence lengths L={L}, S={S} exceed the launch grid")
    return kind, mask, (BH, L, S, DK, DV)


def _kernel(make, tile, rows, threads_per_sm=THREADS_PER_SM):
    return _launch.built(make, tile, launch_bounds=lambda _: launch_bounds(tile, rows, threads_per_sm))


def _scale(scale, dk):
    """``scale``, or PyTorch's default ``1 / sqrt(DK)`` (1 for an empty head dimension: all scores are 0)."""
    if scale is None:
        scale = 1.0 / math.sqrt(dk) if dk else 1.0
    return np.float32(scale)


def attention_forward(q, k, v, mask=None, is_causal=False, scale=None, heads=1, out=None, lse_out=None, stream=None,
                      tile=None):
    """``out = softmax(scale q k^T + mask) v`` and ``lse = logsumexp(scale q k^T + mask)`` per row.

    ``q (BH, L, DK)``, ``k (BH, S, DK)``, ``v (BH, S, DV)`` float32 or float16 (``out`` too; ``lse``
    float32); ``mask`` None or float32
    ``(MB, MH, ML, MS)`` broadcasting to ``(BH / heads, heads, L, S)``; ``scale`` defaults to
    ``1 / sqrt(DK)``. Returns ``(out (BH, L, DV), lse (BH, L))``.
    """
    fn = "attention_forward"
    kind, mask4, (BH, L, S, DK, DV) = _check_inputs(fn, q, k, v, mask, heads, (out, lse_out))
    tile = tile or tile_for(max(DK, DV))
    out = _launch.output(fn, kind, out, (BH, L, DV), q.dtype)
    lse = _launch.output(fn, kind, lse_out, (BH, L), np.float32, name="lse_out")
    if BH and L:
        groups = tile.block_m // FORWARD_ROWS
        _launch.launch(_kernel(make_forward_kernel, tile, groups), (BH, _launch.cdiv(L, tile.block_m)),
                       groups * tile.lanes, _launch.stream_for(kind, stream), q, k, v, mask4, out, lse,
                       int(heads), _scale(scale, DK), int(bool(is_causal)), int(mask is not None))
    return out, lse


def attention_backward(q, k, v, out, lse, dout, mask=None, is_causal=False, scale=None, heads=1, stream=None,
                       tile=None):
    """``(dq, dk, dv)`` of :func:`attention_forward` from its ``out``, ``lse`` and the gradient ``dout``
    (``p`` is recomputed from ``lse`` tile by tile; see the module docstring for the formulas)."""
    fn = "attention_backward"
    kind, mask4, (BH, L, S, DK, DV) = _check_inputs(fn, q, k, v, mask, heads, (out, lse, dout))
    _launch.check(fn, "out", out, dtype=q.dtype, shape=(BH, L, DV))
    _launch.check(fn, "dout", dout, dtype=q.dtype, shape=(BH, L, DV))
    _launch.check(fn, "lse", lse, dtype=np.float32, shape=(BH, L))
    tile = tile or tile_for(max(DK, DV))
    st = _launch.stream_for(kind, stream)
    dq = _launch.empty(kind, (BH, L, DK), q.dtype)
    dk = _launch.empty(kind, (BH, S, DK), q.dtype)
    dv = _launch.empty(kind, (BH, S, DV), q.dtype)
    args = (int(heads), _scale(scale, DK), int(bool(is_causal)), int(mask is not None))
    delta = _launch.empty(kind, (BH, L), np.float32)
    if BH and L:
        R = BH * L
        _launch.launch(_launch.built(make_delta_kernel), _launch.grid_1d(R, DELTA_WARPS), 32 * DELTA_WARPS, st,
                       _launch.reshape(dout, (R, DV)), _launch.reshape(out, (R, DV)), _launch.reshape(delta, (R,)))
        _launch.launch(_kernel(make_dq_kernel, tile, tile.block_m), (BH, _launch.cdiv(L, tile.block_m)),
                       tile.block_m * tile.lanes, st, q, k, v, mask4, lse, delta, dout, dq, *args)
    if BH and S:
        dkdv = _kernel(make_dkdv_kernel, tile, tile.block_n, DKDV_THREADS_PER_SM)
        _launch.launch(dkdv, (BH, _launch.cdiv(S, tile.block_n)), tile.block_n * tile.lanes, st,
                       q, k, v, mask4, lse, delta, dout, dk, dv, *args)
    return dq, dk, dv


# ------------------------------------------------------------------------------------ NumPy references (float64)


def _scores_reference(q, k, mask, is_causal, scale, heads):
    q = np.asarray(q, np.float64)
    k = np.asarray(k, np.float64)
    BH, L, DK = q.shape
    S = k.shape[1]
    scale = 1.0 / math.sqrt(DK) if scale is None else scale
    s = scale * q @ k.transpose(0, 2, 1)
    if mask is not None:
        m = np.broadcast_to(np.asarray(mask, np.float64), (BH // heads, heads, L, S))
        s = s + m.reshape(BH, L, S)
    if is_causal:
        s = np.where(np.triu(np.ones((L, S), bool), 1), -np.inf, s)
    return s, scale


def attention_reference(q, k, v, mask=None, is_causal=False, scale=None, heads=1):
    """float64 ``(out, lse)`` of :func:`attention_forward` through the full ``(BH, L, S)`` scores."""
    s, _ = _scores_reference(q, k, mask, is_causal, scale, heads)
    m = s.max(axis=-1, keepdims=True)
    dead = ~np.isfinite(m)  # every key masked
    e = np.where(dead, 0.0, np.exp(s - np.where(dead, 0.0, m)))
    total = e.sum(axis=-1, keepdims=True)
    out = np.where(dead, 0.0, (e / np.where(dead, 1.0, total)) @ np.asarray(v, np.float64))
    lse = np.where(dead, -np.inf, m + np.log(np.where(dead, 1.0, total)))[..., 0]
    return out, lse


def attention_backward_reference(q, k, v, dout, mask=None, is_causal=False, scale=None, heads=1):
    """float64 ``(dq, dk, dv)`` of :func:`attention_backward`."""
    s, scale = _scores_reference(q, k, mask, is_causal, scale, heads)
    out, lse = attention_reference(q, k, v, mask, is_causal, scale, heads)
    dead = ~np.isfinite(lse)[..., None]
    p = np.where(dead, 0.0, np.exp(s - np.where(dead, 0.0, lse[..., None])))
    q, k, v, g = (np.asarray(a, np.float64) for a in (q, k, v, dout))
    dv = p.transpose(0, 2, 1) @ g
    dp = g @ v.transpose(0, 2, 1)
    ds = p * (dp - (g * out).sum(axis=-1, keepdims=True))
    return scale * ds @ k, scale * ds.transpose(0, 2, 1) @ q, dv
