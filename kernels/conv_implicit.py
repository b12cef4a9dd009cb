"""2-D convolution (NCHW) as an implicit GEMM: forward and input gradient with no column matrix.

Math and shapes as kernels/conv.py (``x (N, C, H, W)``, ``w (Co, Cg, kh, kw)``, ``G`` groups,
``Cg = C / G``, ``Cog = Co / G``, ``P = Ho Wo``). Each pass is one GEMM per group whose operand ``B``
is gathered from the image tile by tile, straight into shared memory:

* forward:     ``out[g] (Cog, N P) = W[g] (Cog, K) @ X[g] (K, N P)``, ``K = Cg kh kw``, where
               ``X[k, (n, p)] = x[n, g Cg + cg, oh sh - ph + i dh, ow sw - pw + j dw]`` (0 outside);
               bias fused into the epilogue;
* input grad:  ``dx[g] (Cg, N H W) = W[g]^T (Cg, K) @ DY[g] (K, N H W)``, ``K = Cog kh kw``, where
               ``DY[k, (n, h, w)] = dy[n, g Cog + co, h + ph - i dh, w + pw - j dw]`` inside
               ``[0, Ho) x [0, Wo)``, else 0: a gather, so no atomics and the same bits on every run.
               Stride 1 here: with stride ``s`` all but ``1 / (sh sw)`` of the gathered taps would be
               zeros (16x wasted FMAs for AlexNet conv1), so strided input gradients run one GEMM per
               stride phase (kernels/conv_implicit_grad.py, which also holds the weight gradient).

The per-``k`` part of each gathered address (``k -> (cg, i, j)`` or ``(co, i, j)``) is decoded once
on the host into small int32 tables of ``K`` entries (kept on the device per geometry), and the per-pixel
part once per thread (each thread loads the same pixel column throughout), so the K loop does no
division.

Tiling: a ``BM x 128`` output tile per 256-thread block, ``BK = 8``, each thread a ``TM x 8``
register tile (rows ``ty + 16 i``, columns ``tx + 16 j``: conflict-free shared reads, coalesced
stores); the next tile's global loads are issued into registers before the current tile's FMAs
(register double buffering). Two tiles, chosen by the GEMM's rows ``M`` (:func:`choose_tile`): 64 x 128
(``TM = 4``, 45% FFMA in the K step, 127 registers: conv1's 64 output channels fill it) and
128 x 128 (``TM = 8``, 59% FFMA, 176 registers, one block an SM), whichever issues the fewest
instructions for the padded rows. Grid ``(cdiv(N P, 128), cdiv(M, BM), G)``.

FLOPs ``2 N Co Ho Wo Cg kh kw`` per pass. Bytes: the input (or ``dy``) and ``w`` are read through
L1/L2 once per tile that needs them; the output is written once; nothing else touches DRAM (the
im2col path writes and reads the ``K x N P`` column matrix: 0.56 GB for AlexNet conv1 at batch 128).

float16 (``DTYPES``): x, w, bias, dy and the outputs stay float16 in global memory; each element is widened
to float32 as it is loaded into the staging registers, so shared memory, the FMAs and the accumulators are the
float32 kernel's, and each output is rounded to float16 once, on its store (half the global bytes of float32).

Wrappers (float32/float64/float16, C-contiguous; weight gradient in conv_implicit_grad.py, bias gradient in
conv.py)::

    y = conv2d_forward(x, w, b, stride=(4, 4), padding=(2, 2))
    dx = conv2d_backward_input(dy, w, x.shape, stride=(1, 1), padding=(1, 1))
"""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from . import _launch, _rows
from . import conv as _conv

#: Pixel columns per tile, K step, threads, register-tile columns; 16 x 16 threads in both tiles.
BN, BK, THREADS, TN = 128, 8, 256, 8
#: The tiles by their rows ``BM``: ``(BM, TM)``, each thread ``TM x TN`` outputs.
TILES = {64: (64, 4), 128: (128, 8)}
#: FFMA share of each tile's float32 K step (kernels/RESOURCES.md), for :func:`choose_tile`.
FFMA_SHARE = {64: 0.45, 128: 0.59}
_TY = 16  # thread rows: BM // TM for both tiles
_TX = BN // TN  # 16 thread columns
B_LOADS = BN * BK // THREADS  # 4 gathered elements per thread per K step
U = numba.uint64
HALF = np.dtype(np.float16)
#: The storage dtypes: float16 is computed in float32 (float32 shared tiles and accumulators).
DTYPES = _launch.FLOAT_DTYPES + (HALF,)


def types(dtype):
    """``(storage, compute)`` Numba types of a storage dtype: ``(float16, float32)`` for float16, else both it."""
    return _rows.storage_type(dtype), _rows.compute_type(dtype)


def choose_tile(M: int) -> int:
    """The tile rows ``BM`` for ``M`` GEMM rows: least padded work per FFMA issued (64 rows for conv1's
    64 channels or 192, 128 for 256 and 384)."""
    return min(TILES, key=lambda bm: (_launch.cdiv(M, bm) * bm / FFMA_SHARE[bm], bm))


def _make_fma_step(T, TM):
    @cuda.jit(device=True, inline=True)
    def fma_step(As, Bs, kk, ty, tx, acc):
        """``acc[i, j] += As[kk, ty + 16 i] * Bs[kk, tx + 16 j]``: one k of the TM x TN register tile."""
        a = cuda.local.array(TM, T)
        for i in range(TM):
            a[i] = As[kk, ty + U(_TY * i)]
        for j in range(TN):
            b = Bs[kk, tx + U(_TX * j)]
            for i in range(TM):
                acc[i * TN + j] += a[i] * b

    return fma_step


def make_forward_kernel(dtype, has_bias: bool, bm: int = 64):
    """Args ``(x1 (N C H W,), w3 (G, Cog, K), koff, di, dj (K,) int32, bias (Co,), out (N, Co, P), C, H, W,
    Wo, sh, sw, ph, pw)``; the gather table ``(koff, di, dj)[k] = (cg H W + i dh W + j dw, i dh, j dw)``."""
    ST, T = types(dtype)
    ZERO = T(0.0)
    BIAS = bool(has_bias)
    BM, TM = TILES[bm]
    ACC, A_LOADS = TM * TN, BM * BK // THREADS
    _fma_step = _make_fma_step(T, TM)

    def conv_implicit_forward(x1, w3, koff, di, dj, bias, out, C, H, W, Wo, sh, sw, ph, pw):
        G, Cog, K = w3.shape
        N, Co, P = out.shape
        NP = N * P
        g = cuda.blockIdx.z
        m0 = cuda.blockIdx.y * BM
        q0 = cuda.blockIdx.x * BN
        tid = cuda.threadIdx.x
        As = cuda.shared.array((BK, BM), T)
        Bs = cuda.shared.array((BK, BN), T)
        acc = cuda.local.array(ACC, T)
        a_reg = cuda.local.array(A_LOADS, T)
        b_reg = cuda.local.array(B_LOADS, T)
        for e in range(ACC):
            acc[e] = ZERO
        # This thread's gathered pixel column, decoded once: q -> (n, oh, ow).
        bq = tid % BN
        q = q0 + bq
        n = q // P
        p = q - n * P
        oh = p // Wo
        ih0 = oh * sh - ph
        iw0 = (p - oh * Wo) * sw - pw
        base = (n * C + g * (C // G)) * H * W + ih0 * W + iw0
        q_ok = q < NP
        for k0 in range(0, K + BK, BK):  # one step past the end: the last tile is stored, then used
            if k0 > 0:
                cuda.syncthreads()  # everyone is done with the previous tile
                for r in range(A_LOADS):
                    e = tid + THREADS * r
                    As[e % BK, e // BK] = a_reg[r]
                for r in range(B_LOADS):
                    Bs[(tid + THREADS * r) // BN, bq] = b_reg[r]
                cuda.syncthreads()
            if k0 < K:  # the next tile into registers: these loads fly during the FMAs below
                for r in range(A_LOADS):  # unsigned indices: no negative-index wraparound code
                    e = U(tid + THREADS * r)
                    m = U(m0) + e // U(BK)
                    k = U(k0) + e % U(BK)
                    a_reg[r] = T(w3[U(g), m, k]) if m < U(Cog) and k < U(K) else ZERO
                for r in range(B_LOADS):
                    k = U(k0 + (tid + THREADS * r) // BN)
                    v = ZERO
                    if q_ok and k < U(K):
                        ih = ih0 + di[k]
                        iw = iw0 + dj[k]
                        if 0 <= ih < H and 0 <= iw < W:
                            v = T(x1[U(base + koff[k])])
                    b_reg[r] = v
            if k0 > 0:  # BK = 8 steps written out: NVVM does not unroll a loop of 32 FMAs
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
            if qq < NP:
                nn = qq // P
                pp = qq - nn * P
                for i in range(TM):
                    m = m0 + ty + _TY * i
                    if m < Cog:
                        co = g * Cog + m
                        v = acc[i * TN + j]
                        if BIAS:
                            v += T(bias[co])
                        out[nn, co, pp] = ST(v)

    name = f"conv_implicit_forward_{BM}x{BN}" + ("_bias" if BIAS else "")
    return _launch.named(conv_implicit_forward, name, dtype)


def make_backward_input_kernel(dtype, bm: int = 64):
    """Stride 1. Args ``(dy1 (N Co Ho Wo,), w1 (Co Cg kh kw,), koff, di, dj, wtab (K,) int32,
    out (N, C, H W), Cog, Ho, Wo, W, ph, pw)``; ``(koff, di, dj)[k] = (co Ho Wo, i dh, j dw)``,
    ``wtab[k] = co Cg kh kw + i kw + j``."""
    ST, T = types(dtype)
    ZERO = T(0.0)
    BM, TM = TILES[bm]
    ACC, A_LOADS = TM * TN, BM * BK // THREADS
    _fma_step = _make_fma_step(T, TM)

    def conv_implicit_backward_input(dy1, w1, koff, di, dj, wtab, out, Cog, Ho, Wo, W, ph, pw):
        N, C, HW = out.shape
        K = koff.shape[0]
        G = cuda.gridDim.z
        Cg = C // G
        NQ = N * HW
        g = cuda.blockIdx.z
        m0 = cuda.blockIdx.y * BM
        q0 = cuda.blockIdx.x * BN
        tid = cuda.threadIdx.x
        As = cuda.shared.array((BK, BM), T)
        Bs = cuda.shared.array((BK, BN), T)
        acc = cuda.local.array(ACC, T)
        a_reg = cuda.local.array(A_LOADS, T)
        b_reg = cuda.local.array(B_LOADS, T)
        for e in range(ACC):
            acc[e] = ZERO
        khw = K // Cog
        bq = tid % BN
        q = q0 + bq
        n = q // HW
        r_hw = q - n * HW
        hp = r_hw // W + ph
        wp = r_hw - (r_hw // W) * W + pw
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
                    a_reg[r] = T(w1[U(wbase) + c * U(khw) + U(wtab[k])]) if c < U(Cg) and k < U(K) else ZERO
                for r in range(B_LOADS):
                    k = U(k0 + (tid + THREADS * r) // BN)
                    v = ZERO
                    if q_ok and k < U(K):
                        oh = hp - di[k]  # stride 1: output row oh = h + ph - i dh
                        ow = wp - dj[k]
                        if 0 <= oh < Ho and 0 <= ow < Wo:
                            v = T(dy1[U(ybase + koff[k] + oh * Wo + ow)])
                    b_reg[r] = v
            if k0 > 0:  # BK = 8 steps written out: NVVM does not unroll a loop of 32 FMAs
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
                nn = qq // HW
                pp = qq - nn * HW
                for i in range(TM):
                    c = m0 + ty + _TY * i
                    if c < Cg:
                        out[nn, g * Cg + c, pp] = ST(acc[i * TN + j])

    return _launch.named(conv_implicit_backward_input, f"conv_implicit_backward_input_{BM}x{BN}", dtype)


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched."""
    out = []
    i64, tab = numba.int64, numba.int32[::1]
    for dtype in DTYPES:
        t = types(dtype)[0]
        v, a3 = t[::1], t[:, :, ::1]
        for bm in TILES:
            for has_bias in (True, False):
                f = make_forward_kernel(dtype, has_bias, bm)
                out.append((f.__name__, f, [numba.void(v, a3, tab, tab, tab, v, a3, *([i64] * 8))], THREADS))
            b = make_backward_input_kernel(dtype, bm)
            out.append((b.__name__, b, [numba.void(v, v, tab, tab, tab, tab, a3, *([i64] * 6))], THREADS))
    return out


def _bounds(fn):
    return THREADS


# --------------------------------------------------------------------------------------------- wrappers

_tables: dict = {}


def _table(kind, key, build):
    """Small int32 gather tables (1-D columns) on the device, built on the host once per geometry (so
    repeated calls, and CUDA graph capture after a warm-up, copy nothing)."""
    full = (kind,) + key
    t = _tables.get(full)
    if t is None:
        t = []
        for column in build():
            host = np.ascontiguousarray(column, dtype=np.int32)
            if kind == "cupy":
                import cupy

                t.append(cupy.asarray(host))
            else:
                t.append(cuda.to_device(host) if kind == "numba" else host)
        t = _tables[full] = tuple(t)
    return t


def _forward_table(Cg, H, W, kh, kw, dh, dw):
    cg, i, j = np.meshgrid(np.arange(Cg), np.arange(kh), np.arange(kw), indexing="ij")
    di, dj = (i * dh).ravel(), (j * dw).ravel()
    return cg.ravel() * H * W + di * W + dj, di, dj


def _input_tables(Cog, Cg, Ho, Wo, kh, kw, dh, dw):
    co, i, j = np.meshgrid(np.arange(Cog), np.arange(kh), np.arange(kw), indexing="ij")
    return co.ravel() * Ho * Wo, (i * dh).ravel(), (j * dw).ravel(), (co * Cg * kh * kw + i * kw + j).ravel()


def _check_int32(fn, **sizes):
    for name, n in sizes.items():
        if int(n) >= 2**31:
            raise ValueError(f"{fn}: {name} has {int(n)} elements; the gather tables index with 32 bits (< 2^31)")


def forward_args(fn, x, w, bias, out, stride, padding, dilation, groups):
    """kernels/conv.py's forward checks with float16 allowed: ``(array kind, geometry, out)``."""
    return _conv.forward_args(fn, x, w, bias, out, stride, padding, dilation, groups, DTYPES)


def backward_input_args(fn, grad_out, w, x_shape, out, stride, padding, dilation, groups):
    """kernels/conv.py's input-gradient checks with float16 allowed: ``(array kind, x_shape, geometry, out)``."""
    return _conv.backward_input_args(fn, grad_out, w, x_shape, out, stride, padding, dilation, groups, DTYPES)


def conv2d_forward(
    x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None, tile=None
):
    """``out = conv2d(x, w) + bias`` as one implicit GEMM (no column matrix; ``tile`` overrides
    :func:`choose_tile`). Example: ``y = conv2d_forward(x, w, b, stride=1, padding=1)``."""
    fn = "conv2d_forward"
    kind, params, out = forward_args(fn, x, w, bias, out, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = params
    N, C, H, W = x.shape
    Co, Cg, kh, kw = w.shape
    if out.size == 0:
        return out
    _check_int32(fn, input=C * H * W)
    _launch.check_index32(fn, input=x.size, output=out.size)
    Cog, K, P = Co // G, Cg * kh * kw, Ho * Wo
    tab = _table(kind, ("fwd", Cg, H, W, kh, kw, dh, dw), lambda: _forward_table(Cg, H, W, kh, kw, dh, dw))
    bm = choose_tile(Cog) if tile is None else tile
    kernel = _launch.built(make_forward_kernel, x.dtype, bias is not None, bm, launch_bounds=_bounds)
    grid = (_launch.cdiv(N * P, BN), _launch.cdiv(Cog, bm), G)
    _launch.launch(
        kernel, grid, THREADS, _launch.stream_for(kind, stream),
        _launch.reshape(x, (x.size,)), _launch.reshape(w, (G, Cog, K)), *tab,
        _launch.reshape(w, (w.size,)) if bias is None else bias,  # the bias-free kernel never reads it
        _launch.reshape(out, (N, Co, P)), C, H, W, Wo, sh, sw, ph, pw,
    )
    return out


def conv2d_backward_input(
    grad_out, w, x_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out=None, stream=None, tile=None
):
    """``dx`` of :func:`conv2d_forward` (the transposed convolution of ``grad_out`` with ``w``) as one
    implicit GEMM. Example: ``dx = conv2d_backward_input(dy, w, x.shape, padding=1)``."""
    fn = "conv2d_backward_input"
    kind, x_shape, params, out = backward_input_args(fn, grad_out, w, x_shape, out, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw), G, (Ho, Wo) = params
    N, C, H, W = x_shape
    Co, Cg, kh, kw = w.shape
    if out.size == 0:
        return out
    if (sh, sw) != (1, 1):  # one GEMM per stride phase (a plain gather would multiply most taps by zero)
        from . import conv_implicit_grad

        return conv_implicit_grad.conv2d_backward_input(grad_out, w, x_shape, stride, padding, dilation, groups,
                                                        out, stream, tile)
    Cog = Co // G
    _check_int32(fn, grad_out=Cog * Ho * Wo, weight=w.size)
    _launch.check_index32(fn, input=out.size, output=grad_out.size)
    key = (Cog, Cg, Ho, Wo, kh, kw, dh, dw)
    tabs = _table(kind, ("bwd",) + key, lambda: _input_tables(*key))
    bm = choose_tile(Cg) if tile is None else tile
    kernel = _launch.built(make_backward_input_kernel, w.dtype, bm, launch_bounds=_bounds)
    grid = (_launch.cdiv(N * H * W, BN), _launch.cdiv(Cg, bm), G)
    _launch.launch(
        kernel, grid, THREADS, _launch.stream_for(kind, stream),
        _launch.reshape(grad_out, (grad_out.size,)), _launch.reshape(w, (w.size,)),
        *tabs,
        _launch.reshape(out, (N, C, H * W)), Cog, Ho, Wo, W, ph, pw,
    )
    return out
