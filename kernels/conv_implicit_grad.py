"""Implicit-GEMM convolution gradients: the strided input gradient (one GEMM per stride phase) and the
weight gradient (split-K over ``N Ho Wo``), with no column matrix in global memory.

Math, shapes and tiles as kernels/conv_implicit.py (``x (N, C, H, W)``, ``w (Co, Cg, kh, kw)``, ``G``
groups, ``P = Ho Wo``; ``BM x 128`` output tiles of 256 threads, ``BK = 8``, register double buffering).

* strided input grad: input row ``h`` is reached by tap ``i`` only when ``(h + ph - i dh) % sh == 0``.
  The rows split into ``sh`` phases by ``r = (h + ph) % sh``; phase ``r`` holds ``h = h0 + sh t``
  (``h0 = (r - ph) % sh``) and only the taps with ``i dh % sh == r``, for which
  ``oh = t + (h0 + ph - i dh) / sh`` exactly (likewise columns). Each of the ``sh sw`` phases is a
  GEMM ``dx[g, phase] (Cg, N Hr Wr) = W[g, taps]^T @ DY[g, taps]`` with ``K = Cog |I_r| |J_r|``
  (conv1's 11 x 11 stride 4: 9 taps of 121 per phase at most, not 121 with 7 of 8 zero); one launch,
  grid ``(cdiv(N max Hr Wr, 128), cdiv(Cg, BM), G sh sw)``, a phase table of ``(h0, w0, Hr, Wr, K)``
  and per-phase gather tables ``(co Ho Wo, oi, oj, w offset)`` padded to the longest ``K``.
* weight grad:  ``dW[g] (Cog, K) = DY[g] (Cog, N P) @ X[g]^T (N P, K)``, ``K = Cg kh kw``, ``X`` the
  forward's gathered image. The long ``N P`` reduction is cut into ``S`` splits (blockIdx.z = g S + s),
  each writing its own partial product; one more kernel (gemm's split-K sum) adds the ``S`` partials
  in a fixed order: the same bits on every run, no atomics. Each thread loads one reduction row ``q``
  per K step (its ``(n, oh, ow)`` decoded once per step) and keeps its four output columns' gather
  offsets in registers for the whole loop.

FLOPs ``2 N Co Ho Wo Cg kh kw`` per pass. Bytes: ``dy`` and ``x`` read through L1/L2 once per tile;
``dx`` written once; the weight gradient's partials are ``S Co Cg kh kw`` floats (conv1: 88 x 23 k
floats = 8 MB, against the 0.56 GB column matrix of im2col).

float16 as kernels/conv_implicit.py (float16 loads widened to float32 as they are staged, float32 FMAs, one
rounding per store); the float16 weight gradient keeps its split-K partials in float32 and rounds once, in
the sum (:func:`make_sum_splits_half_kernel`), or stores float16 straight from the accumulators with one split.

Wrappers (float32/float64/float16, C-contiguous)::

    dx = conv2d_backward_input(dy, w, x.shape, stride=(4, 4), padding=(2, 2))
    dw = conv2d_backward_weight(x, dy, w.shape, stride=(4, 4), padding=(2, 2))
"""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from . import _launch, gemm
from . import conv as _conv
from . import conv_implicit as _ci

BN, BK, THREADS, TN, TILES = _ci.BN, _ci.BK, _ci.THREADS, _ci.TN, _ci.TILES
_TY, _TX, B_LOADS, U = _ci._TY, _ci._TX, _ci.B_LOADS, _ci.U
#: Fewest K steps (of ``BK`` reduction rows) per weight-gradient split.
MIN_SPLIT_STEPS = 32
#: Weight-gradient blocks aimed at per SM (split-K fills the GPU up to this).
BLOCKS_PER_SM = 2
#: The dtype of the float16 weight gradient's split-K partials.
_PARTIALS = np.dtype(np.float32)
_FAR = 1 << 30  # a padded tap's output offset: never inside [0, Ho)
#: Fewest input channels per group for which the input gradient runs as an implicit GEMM: its rows are
#: the ``Cg`` channels, so AlexNet conv1's 3 would fill 3 of a 64-row tile (21x the FMAs); im2col's GEMM
#: has ``Cg kh kw`` rows instead (363 there).
MIN_IMPLICIT_INPUT_CHANNELS = 16


def input_grad_is_implicit(Cg: int) -> bool:
    """Whether the cuda backend runs the input gradient implicit (else im2col + GEMM + col2im)."""
    return Cg >= MIN_IMPLICIT_INPUT_CHANNELS


def make_backward_input_strided_kernel(dtype, bm: int = 64):
    """Args ``(dy1 (N Co Ho Wo,), w1 (Co Cg kh kw,), koff, oi, oj, wtab (S, Kmax) int32, phase (S, 5) int32,
    out (N, C, H W), Cog, Ho, Wo, W, sh, sw, kh kw)``; ``phase[s] = (h0, w0, Hr, Wr, K)``; per phase
    ``(koff, oi, oj, wtab)[s, k] = (co Ho Wo, oh - t, ow - u, co Cg kh kw + i kw + j)``, padded with ``wtab = -1``."""
    ST, T = _ci.types(dtype)
    ZERO = T(0.0)
    BM, TM = TILES[bm]
    ACC, A_LOADS = TM * TN, BM * BK // THREADS
    _fma_step = _ci._make_fma_step(T, TM)

    def conv_implicit_backward_input_strided(dy1, w1, koff, oi, oj, wtab, phase, out, Cog, Ho, Wo, W, sh, sw, khw):
        N, C, HW = out.shape
        S = phase.shape[0]
        if phase.shape[1] != 5:  # not a phase table (a probe launch with dummy arguments): read nothing
            return
        G = cuda.gridDim.z // S
        Cg = C // G
        g = cuda.blockIdx.z // S
        s = cuda.blockIdx.z - g * S
        h0 = phase[s, 0]
        w0 = phase[s, 1]
        Hr = phase[s, 2]
        Wr = phase[s, 3]
        K = phase[s, 4]
        R = Hr * Wr
        NQ = N * R
        m0 = cuda.blockIdx.y * BM
        q0 = cuda.blockIdx.x * BN
        if q0 >= NQ:  # uniform over the block: this phase has fewer pixels than the largest
            return
        tid = cuda.threadIdx.x
        As = cuda.shared.array((BK, BM), T)
        Bs = cuda.shared.array((BK, BN), T)
        acc = cuda.local.array(ACC, T)
        a_reg = cuda.local.array(A_LOADS, T)
        b_reg = cuda.local.array(B_LOADS, T)
        for e in range(ACC):
            acc[e] = ZERO
        bq = tid % BN
        q = q0 + bq
        n = q // R
        rr = q - n * R
        t = rr // Wr
        u = rr - t * Wr
        ybase = (n * G * Cog + g * Cog) * Ho * Wo
        wbase = g * Cog * Cg * khw
        q_ok = q < NQ
        for k0 in range(0, K + BK, BK):
            if k0 > 0:
                cuda.syncthreads()
                for r in range(A_LOADS):
                    e = tid + THREADS * r
                    As[e % BK, e // BK] = a_reg[r]
                for r in range(B_LOADS):
                    Bs[(tid + THREADS * r) // BN, bq] = b_reg[r]
                cuda.syncthreads()
            if k0 < K:
                for r in range(A_LOADS):
                    e = U(tid + THREADS * r)
                    c = U(m0) + e // U(BK)
                    k = U(k0) + e % U(BK)
                    v = ZERO
                    if c < U(Cg) and k < U(K):
                        wo = wtab[s, k]
                        if wo >= 0:
                            v = T(w1[U(wbase) + c * U(khw) + U(wo)])
                    a_reg[r] = v
                for r in range(B_LOADS):
                    k = U(k0 + (tid + THREADS * r) // BN)
                    v = ZERO
                    if q_ok and k < U(K):
                        oh = t + oi[s, k]
                        ow = u + oj[s, k]
                        if 0 <= oh < Ho and 0 <= ow < Wo:
                            v = T(dy1[U(ybase + koff[s, k] + oh * Wo + ow)])
                    b_reg[r] = v
            if k0 > 0:
                ty = U(tid) // U(_TX)
                tx = U(tid) % U(_TX)
                _fma_step(As, Bs, 0, ty, tx, acc)
                _fma_step(As, Bs, 1, ty, tx, acc)
                _fma_step(As, Bs, 2, ty, tx, acc)
                _fma_step(As, Bs, 3, ty, tx, acc)
                _fma_step(As, Bs, 4, ty, tx, acc)
                _fma_step(As, Bs, 5, ty, tx, acc)
                _fma_step(As, Bs, 6, ty, tx, acc)
                _fma_step(As, Bs, 7, ty, tx, acc)
        ty = tid // _TX
        tx = tid % _TX
        for j in range(TN):
            qq = q0 + tx + _TX * j
            if qq < NQ:
                nn = qq // R
                r2 = qq - nn * R
                tt = r2 // Wr
                pix = (h0 + sh * tt) * W + w0 + sw * (r2 - tt * Wr)
                for i in range(TM):
                    c = m0 + ty + _TY * i
                    if c < Cg:
                        out[nn, g * Cg + c, pix] = ST(acc[i * TN + j])

    return _launch.named(conv_implicit_backward_input_strided, f"conv_implicit_backward_input_strided_{BM}x{BN}",
                         dtype)


def make_backward_weight_kernel(dtype, bm: int = 64, part_dtype=None):
    """Args ``(x1 (N C H W,), dy1 (N Co P,), koff, di, dj (K,) int32, part (G S, Cog, K), C, H, W, Wo, sh, sw,
    ph, pw, chunk, G)``: block ``z = g S + s`` reduces ``q`` in ``[s chunk, (s + 1) chunk)`` into ``part[z]``; the
    gather table as the forward's. ``part`` is ``part_dtype`` (default ``dtype``; float32 partials of float16)."""
    T = _ci.types(dtype)[1]
    PT = _ci.types(dtype if part_dtype is None else part_dtype)[0]
    ZERO = T(0.0)
    BM, TM = TILES[bm]
    ACC, A_LOADS = TM * TN, BM * BK // THREADS
    _fma_step = _ci._make_fma_step(T, TM)

    def conv_implicit_backward_weight(x1, dy1, koff, di, dj, part, C, H, W, Wo, sh, sw, ph, pw, chunk, G):
        GS, Cog, K = part.shape
        N = x1.shape[0] // (C * H * W)
        Co = G * Cog
        P = dy1.shape[0] // (N * Co)
        S = GS // G
        NP = N * P
        g = cuda.blockIdx.z // S
        s = cuda.blockIdx.z - g * S
        m0 = cuda.blockIdx.y * BM
        kc0 = cuda.blockIdx.x * BN
        qa = s * chunk
        qb = min(NP, qa + chunk)
        tid = cuda.threadIdx.x
        As = cuda.shared.array((BK, BM), T)
        Bs = cuda.shared.array((BK, BN), T)
        acc = cuda.local.array(ACC, T)
        a_reg = cuda.local.array(A_LOADS, T)
        b_reg = cuda.local.array(B_LOADS, T)
        b_off = cuda.local.array(B_LOADS, numba.int32)
        b_di = cuda.local.array(B_LOADS, numba.int32)
        b_dj = cuda.local.array(B_LOADS, numba.int32)
        for e in range(ACC):
            acc[e] = ZERO
        kk = tid // 32  # this thread's reduction row in each K step
        lane = tid % 32
        for r in range(B_LOADS):  # this thread's output columns: their gather offsets, once
            k = kc0 + lane + 32 * r
            b_off[r] = koff[k] if k < K else 0
            b_di[r] = di[k] if k < K else _FAR
            b_dj[r] = dj[k] if k < K else _FAR
        ybase0 = g * Cog * P
        xbase0 = g * (C // G) * H * W
        for k0 in range(qa, qb + BK, BK):
            if k0 > qa:
                cuda.syncthreads()
                for r in range(A_LOADS):
                    As[kk, lane + 32 * r] = a_reg[r]
                for r in range(B_LOADS):
                    Bs[kk, lane + 32 * r] = b_reg[r]
                cuda.syncthreads()
            if k0 < qb:
                q = U(k0 + kk)
                ok = q < U(qb)
                n = q // U(P)
                p = q - n * U(P)
                oh = p // U(Wo)
                ih0 = numba.int64(oh) * sh - ph
                iw0 = numba.int64(p - oh * U(Wo)) * sw - pw
                ybase = U(n) * U(Co * P) + U(ybase0) + p
                xbase = numba.int64(n) * C * H * W + xbase0 + ih0 * W + iw0
                for r in range(A_LOADS):
                    m = U(m0 + lane + 32 * r)
                    a_reg[r] = T(dy1[ybase + m * U(P)]) if ok and m < U(Cog) else ZERO
                for r in range(B_LOADS):
                    v = ZERO
                    ih = ih0 + b_di[r]
                    iw = iw0 + b_dj[r]
                    if ok and 0 <= ih < H and 0 <= iw < W:
                        v = T(x1[U(xbase + b_off[r])])
                    b_reg[r] = v
            if k0 > qa:
                ty = U(tid) // U(_TX)
                tx = U(tid) % U(_TX)
                _fma_step(As, Bs, 0, ty, tx, acc)
                _fma_step(As, Bs, 1, ty, tx, acc)
                _fma_step(As, Bs, 2, ty, tx, acc)
                _fma_step(As, Bs, 3, ty, tx, acc)
                _fma_step(As, Bs, 4, ty, tx, acc)
                _fma_step(As, Bs, 5, ty, tx, acc)
                _fma_step(As, Bs, 6, ty, tx, acc)
                _fma_step(As, Bs, 7, ty, tx, acc)
        ty = tid // _TX
        tx = tid % _TX
        z = cuda.blockIdx.z
        for j in range(TN):
            k = kc0 + tx + _TX * j
            if k < K:
                for i in range(TM):
                    m = m0 + ty + _TY * i
                    if m < Cog:
                        part[z, m, k] = PT(acc[i * TN + j])

    stem = f"conv_implicit_backward_weight_{BM}x{BN}" + ("" if part_dtype is None else "_partials")
    return _launch.named(conv_implicit_backward_weight, stem, dtype)


def make_sum_splits_half_kernel():
    """``out[g, i] = float16(sum_s part[g S + s, i])``, args ``(part (G S, n) float32, out (G, n) float16, S)``:
    the float16 weight gradient's float32 partials added in a fixed order, rounded once. Grid-stride."""
    f32, f16 = numba.float32, numba.types.float16

    def conv_implicit_sum_splits_float16(part, out, splits):
        n = out.shape[1]
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < out.size:
            z = i // n
            r = i - z * n
            acc = f32(0.0)
            for s in range(splits):
                acc += part[z * splits + s, r]
            out[z, r] = f16(acc)
            i += stride

    return conv_implicit_sum_splits_float16


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched."""
    out = []
    i64, tab, tab2 = numba.int64, numba.int32[::1], numba.int32[:, ::1]
    for dtype in _ci.DTYPES:
        t = _ci.types(dtype)[0]
        v, a3 = t[::1], t[:, :, ::1]
        for bm in TILES:
            b = make_backward_input_strided_kernel(dtype, bm)
            out.append((b.__name__, b, [numba.void(v, v, tab2, tab2, tab2, tab2, tab2, a3, *([i64] * 7))], THREADS))
            wg = make_backward_weight_kernel(dtype, bm)
            out.append((wg.__name__, wg, [numba.void(v, v, tab, tab, tab, a3, *([i64] * 10))], THREADS))
            if dtype == _ci.HALF:
                wp = make_backward_weight_kernel(dtype, bm, _PARTIALS)
                p3 = numba.float32[:, :, ::1]
                out.append((wp.__name__, wp, [numba.void(v, v, tab, tab, tab, p3, *([i64] * 10))], THREADS))
    red = make_sum_splits_half_kernel()
    out.append((red.__name__, red, [numba.void(numba.float32[:, ::1], numba.types.float16[:, ::1], i64)], None))
    return out


def _bounds(fn):
    return THREADS


# --------------------------------------------------------------------------------------------- wrappers


def _axis_phases(size, k, s, p, d):
    """Per phase ``r`` of one axis: ``(first pixel, pixel count, [(tap, output offset)])``."""
    out = []
    for r in range(s):
        first = (r - p) % s
        count = max(0, -(-(size - first) // s))
        taps = [(i, (first + p - i * d) // s) for i in range(k) if (i * d) % s == r]
        out.append((first, count, taps))
    return out


def _strided_tables(Cog, Cg, Ho, Wo, H, W, kh, kw, sh, sw, ph, pw, dh, dw):
    """``(koff, oi, oj, wtab (S, Kmax), phase (S, 5))`` for :func:`make_backward_input_strided_kernel`."""
    rows, phases = [], []
    for h0, hr, itaps in _axis_phases(H, kh, sh, ph, dh):
        for w0, wr, jtaps in _axis_phases(W, kw, sw, pw, dw):
            ent = [(co * Ho * Wo, oi, oj, co * Cg * kh * kw + i * kw + j)
                   for co in range(Cog) for i, oi in itaps for j, oj in jtaps]
            rows.append(ent)
            phases.append((h0, w0, hr, wr, len(ent)))
    kmax = max(1, max(len(e) for e in rows))
    tabs = np.zeros((4, len(rows), kmax), np.int64)
    tabs[1:3] = _FAR
    tabs[3] = -1
    for s, ent in enumerate(rows):
        if ent:
            tabs[:, s, : len(ent)] = np.array(ent, np.int64).T
    return tabs[0], tabs[1], tabs[2], tabs[3], np.array(phases, np.int64)


def conv2d_backward_input(
    grad_out, w, x_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None, tile=None
):
    """``dx`` of a strided convolution as one implicit GEMM per stride phase (any stride; stride 1 is
    kernels/conv_implicit.py's kernel). Example: ``dx = conv2d_backward_input(dy, w, x.shape, stride=2)``."""
    fn = "conv2d_backward_input"
    kind, x_shape, params, out = _ci.backward_input_args(fn, grad_out, w, x_shape, out, stride, padding, dilation,
                                                         groups)
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = params
    N, C, H, W = x_shape
    Co, Cg, kh, kw = w.shape
    if out.size == 0:
        return out
    Cog = Co // G
    _ci._check_int32(fn, grad_out=Cog * Ho * Wo, weight=w.size)
    _launch.check_index32(fn, input=out.size, output=grad_out.size)
    key = (Cog, Cg, Ho, Wo, H, W, kh, kw, sh, sw, ph, pw, dh, dw)
    tabs = _ci._table(kind, ("bwd_strided",) + key, lambda: _strided_tables(*key))
    phase = _ci._table("numpy", ("bwd_phase",) + key, lambda: [_strided_tables(*key)[4]])[0]
    bm = _ci.choose_tile(Cg) if tile is None else tile
    kernel = _launch.built(make_backward_input_strided_kernel, w.dtype, bm, launch_bounds=_bounds)
    S = sh * sw
    grid = (max(1, _launch.cdiv(N * int((phase[:, 2] * phase[:, 3]).max()), BN)), _launch.cdiv(Cg, bm), G * S)
    _launch.launch(
        kernel, grid, THREADS, _launch.stream_for(kind, stream),
        _launch.reshape(grad_out, (grad_out.size,)), _launch.reshape(w, (w.size,)), *tabs,
        _launch.reshape(out, (N, C, H * W)), Cog, Ho, Wo, W, sh, sw, kh * kw,
    )
    return out


def weight_splits(blocks: int, steps: int) -> int:
    """Split-K factor of the weight gradient: enough blocks to fill the GPU, at least ``MIN_SPLIT_STEPS``
    K steps each (conv1 at batch 128: 3 tiles, 88 splits of 550 steps)."""
    target = (_launch.SIM_MAX_BLOCKS if _launch.SIMULATOR else _launch.sm_count() * BLOCKS_PER_SM)
    return max(1, min(target // max(1, blocks), steps // MIN_SPLIT_STEPS))


def conv2d_backward_weight(
    x, grad_out, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None,
    tile=None, splits=None,
):
    """``dw`` of :func:`conv_implicit.conv2d_forward` as one implicit GEMM over ``N Ho Wo`` (split-K with a
    deterministic sum). Example: ``dw = conv2d_backward_weight(x, dy, w.shape, stride=4, padding=2)``."""
    fn = "conv2d_backward_weight"
    kind = _launch.check_same_kind(fn, x, grad_out, out)
    _launch.check(fn, "x", x, ndim=4, dtype=_ci.DTYPES)
    w_shape = tuple(int(s) for s in w_shape)
    if len(w_shape) != 4:
        raise ValueError(f"{fn}: w_shape must be (Co, C / groups, kh, kw), got {w_shape}")
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = _conv._params(fn, x.shape, w_shape, stride, padding, dilation, groups)
    N, C, H, W = x.shape
    Co, Cg, kh, kw = w_shape
    _conv._check_grad_out(fn, grad_out, N, Co, Ho, Wo, x.dtype)
    out = _launch.output(fn, kind, out, w_shape, x.dtype)
    if out.size == 0:
        return out
    stream = _launch.stream_for(kind, stream)
    if N == 0:
        _launch.fill_zero(out, stream)
        return out
    _ci._check_int32(fn, input=x.size, grad_out=grad_out.size)
    Cog, K, NP = Co // G, Cg * kh * kw, N * Ho * Wo
    tab = _ci._table(kind, ("fwd", Cg, H, W, kh, kw, dh, dw), lambda: _ci._forward_table(Cg, H, W, kh, kw, dh, dw))
    bm = _ci.choose_tile(Cog) if tile is None else tile
    blocks = _launch.cdiv(K, BN) * _launch.cdiv(Cog, bm) * G
    steps = _launch.cdiv(NP, BK)
    S = weight_splits(blocks, steps) if splits is None else max(1, min(int(splits), steps))
    chunk = _launch.cdiv(steps, S) * BK
    S = _launch.cdiv(NP, chunk)  # no empty split
    half = x.dtype == _ci.HALF and S > 1  # float32 partials, one rounding in the sum
    part = out if S == 1 else _launch.empty(kind, (G * S, Cog * K), _PARTIALS if half else x.dtype)
    if half:
        kernel = _launch.built(make_backward_weight_kernel, x.dtype, bm, _PARTIALS, launch_bounds=_bounds)
    else:
        kernel = _launch.built(make_backward_weight_kernel, x.dtype, bm, launch_bounds=_bounds)
    _launch.launch(
        kernel, (_launch.cdiv(K, BN), _launch.cdiv(Cog, bm), G * S), THREADS, stream,
        _launch.reshape(x, (x.size,)), _launch.reshape(grad_out, (grad_out.size,)), *tab,
        _launch.reshape(part, (G * S, Cog, K)), C, H, W, Wo, sh, sw, ph, pw, chunk, G,
    )
    if S > 1:
        total = _launch.reshape(out, (G, Cog * K))
        red = _launch.built(make_sum_splits_half_kernel) if half else gemm._sum_splits_kernel(x.dtype)
        _launch.launch(red, _launch.grid_1d(total.size), _launch.THREADS_1D, stream, part, total, S)
    return out
