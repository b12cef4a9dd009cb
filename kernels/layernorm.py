"""LayerNorm over the last axis: forward (saving mean and rstd) and backward (dx, dweight, dbias).

Math, over ``x`` viewed as ``(R, C)`` (rows ``r``, features ``c``; ``w``/``b`` of shape ``(C,)``)::

    mean_r = sum_c x / C      var_r = sum_c (x - mean_r)^2 / C (biased)      rstd_r = 1 / sqrt(var_r + eps)
    xhat = (x - mean) * rstd                                  y = xhat * w + b
  backward, from dy (g = dy * w):
    dx = rstd * (g - sum_c g / C - xhat * sum_c (g * xhat) / C)
    dw = sum_r dy * xhat                                      db = sum_r dy

NOTE: the variance never cancels: with the row in registers it is the exact two-pass
``sum (x - mean)^2``; the streaming kernels use Welford's running ``(count, mean, M2)`` per lane, merged
with Chan's formula. Rows with a large mean lose no digits (``E[x^2] - E[x]^2`` would cancel).

Row kernels (forward, dx), one pass over memory (kernels/_rows.py): while a row fits the registers
of a warp (float32: 1024 columns forward, 512 backward, which holds ``g`` and ``xhat``) or of a
512-thread block (16 times that), it is read from global memory once, reduced with shuffles (and
across the block's warps through shared memory), and written once; the forward's variance is then
the exact two-pass ``sum (x - mean)^2`` over the registers. Longer rows use the streaming kernels
below: one warp per row, ``WARPS_PER_BLOCK = 4`` rows per block, grid-stride, Welford's one-pass
statistics, then a second sweep that re-reads the row.

dw/db without atomics, in a fixed order. With the row in registers, the dx kernel also sums
``dy xhat`` and ``dy`` over its block's rows (each thread owns the same columns in every row; the
WARP layout's 4 warps are then summed in shared memory in order) into ``partial[block, c]``, over at
most ``FUSED_BLOCKS = 256`` blocks (a fixed grid: the same order on every GPU), and a second kernel
sums the partials of each column in order. For streaming rows a separate partials kernel re-reads
dy and x: a grid of ``(cdiv(C, PARTIAL_COLS), chunks)`` blocks of ``PARTIAL_COLS x
PARTIAL_ROW_THREADS`` threads sums its chunk of rows for 32 columns into ``partial[chunk, c]``,
``chunks = cdiv(R, rows_per_chunk)`` with ``rows_per_chunk = max(PARTIAL_ROWS, cdiv(R, MAX_CHUNKS))``.

Bytes (float32): forward reads x once and writes y, ``8 R C``; backward reads dy and x once and
writes dx, ``12 R C``, plus ``16 blocks C`` for the partials (streaming rows: ``20 R C``, the
partials kernel reading dy and x again). FLOPs about 8 per element forward, 12 backward.

float16: x, w, b, y, dy, dx, dw and db are float16 in memory; the arithmetic, ``mean``/``rstd`` and the
dw/db partials are float32 (kernels/_rows.py). Aligned rows with ``C % 4 == 0`` (float32/float16) load
and store 4 columns per instruction in the row kernels (``_vec`` in their names).

Wrappers (float32/float64/float16, C-contiguous; ``weight``/``bias`` may be None: 1 and 0)::

    y, mean, rstd = layer_norm_forward(x2d, weight, bias, eps=1e-5)
    dx, dw, db = layer_norm_backward(dy, x2d, weight, mean, rstd)
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _launch, _rows
from . import _vector_f16 as _vec

#: Rows (warps) per block of the row kernels.
WARPS_PER_BLOCK = 4
THREADS = 32 * WARPS_PER_BLOCK
#: Columns and row threads of a dw/db partials block (256 threads).
PARTIAL_COLS = 32
PARTIAL_ROW_THREADS = 8
#: Fewest rows per partials chunk, and most chunks (bounds the partials buffer to MAX_CHUNKS x C).
PARTIAL_ROWS = 128
MAX_CHUNKS = 256
_FULL_MASK = 0xFFFFFFFF
U = numba.uint64


def make_forward_kernel(dtype):
    """Args ``(x (R, C), w (C,), b (C,), eps, y (R, C), mean (R,), rstd (R,))``."""
    T = _rows.compute_type(dtype)
    ZERO, ONE = T(0.0), T(1.0)

    def layer_norm_forward(x, w, b, eps, y, mean, rstd):
        R, C = x.shape
        lane = cuda.threadIdx.x % 32
        row = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        while row < R:  # uniform across the warp: every lane takes part in the shuffles
            n = ZERO
            mu = ZERO
            m2 = ZERO
            c = lane
            while c < C:  # Welford
                xv = T(x[row, c])
                n += ONE
                delta = xv - mu
                mu += delta / n
                m2 += delta * (xv - mu)
                c += 32
            off = 16
            while off > 0:  # Chan's merge of (n, mu, m2) across lanes
                n2 = cuda.shfl_xor_sync(_FULL_MASK, n, off)
                mu2 = cuda.shfl_xor_sync(_FULL_MASK, mu, off)
                m22 = cuda.shfl_xor_sync(_FULL_MASK, m2, off)
                total = n + n2
                if n2 > ZERO:
                    delta = mu2 - mu
                    mu += delta * (n2 / total)
                    m2 += m22 + delta * delta * (n * n2 / total)
                    n = total
                off //= 2
            # lanes may differ in the last bit (merge order): every lane uses lane 0's statistics
            mu = cuda.shfl_sync(_FULL_MASK, mu, 0)
            m2 = cuda.shfl_sync(_FULL_MASK, m2, 0)
            r = ONE / math.sqrt(m2 / T(C) + eps)
            c = lane
            while c < C:
                y[row, c] = (T(x[row, c]) - mu) * r * T(w[c]) + T(b[c])
                c += 32
            if lane == 0:
                mean[row] = mu
                rstd[row] = r
            row += cuda.gridDim.x * WARPS_PER_BLOCK

    layer_norm_forward.__name__ = layer_norm_forward.__qualname__ = f"layer_norm_forward_stream_{np.dtype(dtype).name}"
    return layer_norm_forward


def make_backward_input_kernel(dtype):
    """Args ``(dy (R, C), x (R, C), w (C,), mean (R,), rstd (R,), dx (R, C))``."""
    T = _rows.compute_type(dtype)
    ZERO = T(0.0)

    def layer_norm_backward_input(dy, x, w, mean, rstd, dx):
        R, C = x.shape
        lane = cuda.threadIdx.x % 32
        row = cuda.blockIdx.x * WARPS_PER_BLOCK + cuda.threadIdx.x // 32
        while row < R:
            mu = mean[row]
            r = rstd[row]
            sum_g = ZERO
            sum_gx = ZERO
            c = lane
            while c < C:
                g = T(dy[row, c]) * T(w[c])
                sum_g += g
                sum_gx += g * ((T(x[row, c]) - mu) * r)
                c += 32
            off = 16
            while off > 0:
                sum_g += cuda.shfl_xor_sync(_FULL_MASK, sum_g, off)
                sum_gx += cuda.shfl_xor_sync(_FULL_MASK, sum_gx, off)
                off //= 2
            mean_g = sum_g / T(C)
            mean_gx = sum_gx / T(C)
            c = lane
            while c < C:
                xhat = (T(x[row, c]) - mu) * r
                dx[row, c] = r * (T(dy[row, c]) * T(w[c]) - mean_g - xhat * mean_gx)
                c += 32
            row += cuda.gridDim.x * WARPS_PER_BLOCK

    layer_norm_backward_input.__name__ = layer_norm_backward_input.__qualname__ = (
        f"layer_norm_backward_input_stream_{np.dtype(dtype).name}"
    )
    return layer_norm_backward_input


def make_forward_cached_kernel(dtype, tpr, vec=False):
    """:func:`make_forward_kernel`'s math with the row in registers (one read of x; exact two-pass
    mean and variance over the registers); same args. ``vec``: 4-wide loads and stores (kernels/_rows.py)."""
    T = _rows.compute_type(dtype)
    S = _rows.slots(dtype, 1)
    W = _rows.width(vec)
    G = S // W
    SKIP = tpr > _rows.WARP  # block layout: stop at the row's end (the warp layout's padding is short)
    ROWS, WARPS = _rows.layout(tpr)[1], tpr // 32
    ZERO, ONE = T(0.0), T(1.0)
    row_sum, _ = _rows.reducers(tpr)
    load, store = _rows.row_io(vec, dtype)
    load1 = _rows.vector_io(vec, dtype)

    def layer_norm_forward(x, w, b, eps, y, mean, rstd):
        R, C = x.shape
        n = T(C)
        R, C = U(R), U(C)  # unsigned indices: no negative-index wraparound code
        vals = cuda.local.array(S, T)
        wv = cuda.local.array(W, T)
        bv = cuda.local.array(W, T)
        red = cuda.shared.array((ROWS, WARPS), T)
        t = U(cuda.threadIdx.x) % U(tpr)
        sub = U(cuda.threadIdx.x) // U(tpr)
        lane = U(cuda.threadIdx.x) % U(32)
        warp = t // U(32)
        row = U(cuda.blockIdx.x) * U(ROWS) + sub
        while row < R:
            for g in range(G):  # the row's only read
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                load(vals, W * g, x, row, C, (t + U(tpr * g)) * U(W), ZERO)
            acc = ZERO
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    acc += vals[u]
            mu = row_sum(acc, red, sub, warp, lane) / n
            acc = ZERO
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    if (t + U(tpr * (u // W))) * U(W) + U(u % W) < C:
                        d = vals[u] - mu
                        vals[u] = d
                        acc += d * d
            r = ONE / math.sqrt(row_sum(acc, red, sub, warp, lane) / n + eps)
            for g in range(G):  # y = (x - mu) r w + b, w and b from L1/L2
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                c0 = (t + U(tpr * g)) * U(W)
                load1(wv, 0, w, C, c0, ZERO)
                load1(bv, 0, b, C, c0, ZERO)
                for k in range(W):
                    vals[W * g + k] = vals[W * g + k] * r * wv[k] + bv[k]
                store(y, row, C, c0, vals, W * g)
            if t == 0:
                mean[row] = mu
                rstd[row] = r
            row += U(cuda.gridDim.x) * U(ROWS)

    suffix = "_vec" if vec else ""
    return _launch.named(layer_norm_forward, f"layer_norm_forward_{_rows.name(tpr)}{suffix}", dtype)


def make_backward_input_cached_kernel(dtype, tpr, vec=False):
    """:func:`make_backward_input_kernel`'s math with ``g = dy w`` and ``xhat`` in registers, and the
    dw/db partials of the block's rows fused in: args ``(dy, x, w, mean, rstd, dx, dw_part, db_part)``
    with ``dw_part[b, c] = sum over block b's rows of dy xhat`` (``db_part`` of dy), ``(blocks, C)`` in the
    compute type. ``vec``: 4-wide loads and stores of dy, x, w and dx (kernels/_rows.py)."""
    T = _rows.compute_type(dtype)
    S = _rows.slots(dtype, 2)
    W = _rows.width(vec)
    G = S // W
    SKIP = tpr > _rows.WARP  # block layout: stop at the row's end (the warp layout's padding is short)
    ROWS, WARPS = _rows.layout(tpr)[1], tpr // 32
    WIDTH = tpr * S if ROWS > 1 else 1  # the warps' column partials, summed in shared memory (WARP layout)
    ZERO = T(0.0)
    row_sum, _ = _rows.reducers(tpr)
    load, store = _rows.row_io(vec, dtype)
    load1 = _rows.vector_io(vec, dtype)

    def layer_norm_backward_input(dy, x, w, mean, rstd, dx, dw_part, db_part):
        R, C = x.shape
        n = T(C)
        R, C = U(R), U(C)
        gs = cuda.local.array(S, T)
        xh = cuda.local.array(S, T)
        dwa = cuda.local.array(S, T)
        dba = cuda.local.array(S, T)
        wv = cuda.local.array(W, T)
        red = cuda.shared.array((ROWS, WARPS), T)
        sh_w = cuda.shared.array((ROWS, WIDTH), T)
        sh_b = cuda.shared.array((ROWS, WIDTH), T)
        t = U(cuda.threadIdx.x) % U(tpr)
        sub = U(cuda.threadIdx.x) // U(tpr)
        lane = U(cuda.threadIdx.x) % U(32)
        warp = t // U(32)
        for u in range(S):
            dwa[u] = ZERO
            dba[u] = ZERO
        row = U(cuda.blockIdx.x) * U(ROWS) + sub
        while row < R:
            mu = mean[row]
            r = rstd[row]
            for g in range(G):  # the rows' only read (padding: dy = 0, x = mu, so g = xhat = 0)
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                c0 = (t + U(tpr * g)) * U(W)
                load(gs, W * g, dy, row, C, c0, ZERO)
                load(xh, W * g, x, row, C, c0, mu)
                load1(wv, 0, w, C, c0, ZERO)
                for k in range(W):
                    xh[W * g + k] = (xh[W * g + k] - mu) * r
                    dwa[W * g + k] += gs[W * g + k] * xh[W * g + k]
                    dba[W * g + k] += gs[W * g + k]
                    gs[W * g + k] *= wv[k]
            sum_g = ZERO
            sum_gx = ZERO
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    sum_g += gs[u]
                    sum_gx += gs[u] * xh[u]
            mean_g = row_sum(sum_g, red, sub, warp, lane) / n
            mean_gx = row_sum(sum_gx, red, sub, warp, lane) / n
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    gs[u] = r * (gs[u] - mean_g - xh[u] * mean_gx)
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                store(dx, row, C, (t + U(tpr * g)) * U(W), gs, W * g)
            row += U(cuda.gridDim.x) * U(ROWS)
        if ROWS > 1:  # the block's warps hold the same columns: sum them in a fixed order
            for u in range(S):
                sh_w[sub, t + U(tpr * u)] = dwa[u]
                sh_b[sub, t + U(tpr * u)] = dba[u]
            cuda.syncthreads()
            if sub == 0:
                for u in range(S):
                    for k in range(1, ROWS):
                        dwa[u] += sh_w[k, t + U(tpr * u)]
                        dba[u] += sh_b[k, t + U(tpr * u)]
        if sub == 0:
            for u in range(S):
                c = (t + U(tpr * (u // W))) * U(W) + U(u % W)
                if c < C:
                    dw_part[cuda.blockIdx.x, c] = dwa[u]
                    db_part[cuda.blockIdx.x, c] = dba[u]

    suffix = "_vec" if vec else ""
    return _launch.named(layer_norm_backward_input, f"layer_norm_backward_fused_{_rows.name(tpr)}{suffix}", dtype)


#: Most blocks of the fused dx + dw/db kernel (its partial rows): a fixed number, so dw and db are summed
#: in the same order on every GPU.
FUSED_BLOCKS = 256


def _row_kernel(cached_maker, stream_maker, C, dtype, arrays, vec=False):
    """``(kernel, blocks for R rows, threads)``: the cached layout that holds a row of C (4-wide loads with
    ``vec``), else streaming."""
    tpr = _rows.choose(C, dtype, arrays)
    if tpr is None:
        return _launch.built(stream_maker, dtype), lambda R: _launch.grid_1d(R, WARPS_PER_BLOCK), THREADS
    bounds = _rows.launch_bounds(tpr)
    lb = None if bounds is None else (lambda fn: bounds)
    k = _launch.built(cached_maker, dtype, tpr, bool(vec), launch_bounds=lb)
    return k, lambda R: _rows.grid(R, tpr), _rows.layout(tpr)[0]


def make_backward_partials_kernel(dtype):
    """Args ``(dy, x, mean, rstd, rows_per_chunk, dw_part (chunks, C), db_part (chunks, C))``;
    grid ``(cdiv(C, PARTIAL_COLS), chunks)``, ``PARTIAL_COLS * PARTIAL_ROW_THREADS`` threads."""
    T = _rows.compute_type(dtype)
    ZERO = T(0.0)

    def layer_norm_backward_partials(dy, x, mean, rstd, rows_per_chunk, dw_part, db_part):
        R, C = x.shape
        tx = cuda.threadIdx.x % PARTIAL_COLS
        ty = cuda.threadIdx.x // PARTIAL_COLS
        c = cuda.blockIdx.x * PARTIAL_COLS + tx
        chunk = cuda.blockIdx.y
        dw_sh = cuda.shared.array((PARTIAL_ROW_THREADS, PARTIAL_COLS), T)
        db_sh = cuda.shared.array((PARTIAL_ROW_THREADS, PARTIAL_COLS), T)
        acc_w = ZERO
        acc_b = ZERO
        if c < C:
            row = chunk * rows_per_chunk + ty
            end = min(R, (chunk + 1) * rows_per_chunk)
            while row < end:
                g = T(dy[row, c])
                acc_w += g * ((T(x[row, c]) - mean[row]) * rstd[row])
                acc_b += g
                row += PARTIAL_ROW_THREADS
        dw_sh[ty, tx] = acc_w
        db_sh[ty, tx] = acc_b
        cuda.syncthreads()
        if ty == 0 and c < C:
            for t in range(1, PARTIAL_ROW_THREADS):  # a fixed order: deterministic
                acc_w += dw_sh[t, tx]
                acc_b += db_sh[t, tx]
            dw_part[chunk, c] = acc_w
            db_part[chunk, c] = acc_b

    layer_norm_backward_partials.__name__ = layer_norm_backward_partials.__qualname__ = (
        f"layer_norm_backward_partials_{np.dtype(dtype).name}"
    )
    return layer_norm_backward_partials


def make_sum_partials_kernel(dtype):
    """``out[c] = sum_k part[k, c]`` in order k = 0, 1, ...; args ``(dw_part, db_part, dw, db)``, grid-stride."""
    T = _rows.compute_type(dtype)
    ZERO = T(0.0)

    def layer_norm_sum_partials(dw_part, db_part, dw, db):
        chunks, C = dw_part.shape
        c = cuda.grid(1)
        while c < C:
            acc_w = ZERO
            acc_b = ZERO
            for k in range(chunks):
                acc_w += dw_part[k, c]
                acc_b += db_part[k, c]
            dw[c] = acc_w
            db[c] = acc_b
            c += cuda.gridsize(1)

    layer_norm_sum_partials.__name__ = layer_norm_sum_partials.__qualname__ = (
        f"layer_norm_sum_partials_{np.dtype(dtype).name}"
    )
    return layer_norm_sum_partials


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched."""
    out = []
    for dtype in _rows.DTYPES:
        t, a = _rows.storage_type(dtype), _rows.compute_type(dtype)
        m, v, am, av = t[:, ::1], t[::1], a[:, ::1], a[::1]
        f = make_forward_kernel(dtype)
        bi = make_backward_input_kernel(dtype)
        bp = make_backward_partials_kernel(dtype)
        sp = make_sum_partials_kernel(dtype)
        for tpr in (_rows.WARP, _rows.BLOCK):
            for vec in (False, True) if dtype in _vec.VECTOR_DTYPES else (False,):
                fc = make_forward_cached_kernel(dtype, tpr, vec)
                bc = make_backward_input_cached_kernel(dtype, tpr, vec)
                out.append((fc.__name__, fc, [numba.void(m, v, v, a, m, av, av)], _rows.launch_bounds(tpr)))
                out.append((bc.__name__, bc, [numba.void(m, m, v, av, av, m, am, am)], _rows.launch_bounds(tpr)))
        out.append((f.__name__, f, [numba.void(m, v, v, a, m, av, av)], None))
        out.append((bi.__name__, bi, [numba.void(m, m, v, av, av, m)], None))
        out.append((bp.__name__, bp, [numba.void(m, m, av, av, numba.int64, am, am)], None))
        out.append((sp.__name__, sp, [numba.void(am, am, v, v)], None))
    return out


# ----------------------------------------------------------------------------------------------- wrappers


def _affine(fn, kind, name, a, C, dtype, fill):
    if a is None:
        return (_launch.zeros if fill == 0 else _ones)(kind, (C,), dtype)
    _launch.check(fn, name, a, dtype=dtype, shape=(C,))
    return a


def _ones(kind, shape, dtype):
    if kind == "cupy":
        import cupy

        return cupy.ones(shape, dtype=dtype)
    if kind == "numpy":
        return np.ones(shape, dtype=dtype)
    return cuda.to_device(np.ones(shape, dtype=dtype))


def layer_norm_forward(x2d, weight=None, bias=None, eps=1e-5, out=None, stream=None):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per row of ``x2d (R, C)``; returns
    ``(y (R, C), mean (R,), rstd (R,))`` (``rstd = 1 / sqrt(var + eps)``, the biased variance; ``mean``
    and ``rstd`` in the compute dtype: float32 for float16 ``x2d``, as PyTorch's CUDA layer norm)."""
    fn = "layer_norm_forward"
    kind = _launch.check_same_kind(fn, x2d, weight, bias, out)
    _launch.check(fn, "x2d", x2d, ndim=2, dtype=_rows.DTYPES)
    R, C = x2d.shape
    dtype = np.dtype(x2d.dtype)
    acc = _rows.compute_dtype(dtype)
    w = _affine(fn, kind, "weight", weight, C, dtype, 1)
    b = _affine(fn, kind, "bias", bias, C, dtype, 0)
    y = _launch.output(fn, kind, out, (R, C), dtype)
    mean = _launch.empty(kind, (R,), acc)
    rstd = _launch.empty(kind, (R,), acc)
    if R and C:
        vec = _vec.aligned(x2d, w, b, y, last=C)
        k, blocks, threads = _row_kernel(make_forward_cached_kernel, make_forward_kernel, C, dtype, 1, vec)
        st = _launch.stream_for(kind, stream)
        _launch.launch(k, blocks(R), threads, st, x2d, w, b, acc.type(eps), y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(dy, x2d, weight, mean, rstd, stream=None, rows_per_chunk=None):
    """``(dx, dweight, dbias)`` of :func:`layer_norm_forward` from its saved ``mean``/``rstd``
    (``weight`` None means 1; dweight and dbias are returned all the same, in ``x2d``'s dtype, summed
    in the compute dtype). ``rows_per_chunk`` overrides the dw/db chunking (tests use it to get several
    chunks from a few rows)."""
    fn = "layer_norm_backward"
    kind = _launch.check_same_kind(fn, dy, x2d, weight, mean, rstd)
    _launch.check(fn, "x2d", x2d, ndim=2, dtype=_rows.DTYPES)
    R, C = x2d.shape
    dtype = np.dtype(x2d.dtype)
    acc = _rows.compute_dtype(dtype)
    _launch.check(fn, "dy", dy, dtype=dtype, shape=(R, C))
    _launch.check(fn, "mean", mean, dtype=acc, shape=(R,))
    _launch.check(fn, "rstd", rstd, dtype=acc, shape=(R,))
    w = _affine(fn, kind, "weight", weight, C, dtype, 1)
    st = _launch.stream_for(kind, stream)
    dx = _launch.empty(kind, (R, C), dtype)
    if R == 0 or C == 0:
        return dx, _launch.zeros(kind, (C,), dtype), _launch.zeros(kind, (C,), dtype)
    dw = _launch.empty(kind, (C,), dtype)
    db = _launch.empty(kind, (C,), dtype)
    tpr = _rows.choose(C, dtype, 2)
    if tpr is not None:  # one pass: dx and the dw/db partials of each block's rows, then their sum
        rows = _rows.layout(tpr)[1]
        blocks = _launch.cdiv(R, rows if rows_per_chunk is None else max(rows, int(rows_per_chunk)))
        blocks = min(blocks, FUSED_BLOCKS, _launch.SIM_MAX_BLOCKS if _launch.SIMULATOR else FUSED_BLOCKS)
        dw_part = _launch.empty(kind, (blocks, C), acc)
        db_part = _launch.empty(kind, (blocks, C), acc)
        bounds = _rows.launch_bounds(tpr)
        vec = _vec.aligned(dy, x2d, w, dx, last=C)
        k = _launch.built(make_backward_input_cached_kernel, dtype, tpr, vec,
                          launch_bounds=None if bounds is None else (lambda fn: bounds))
        _launch.launch(k, blocks, _rows.layout(tpr)[0], st, dy, x2d, w, mean, rstd, dx, dw_part, db_part)
        _launch.launch(_launch.built(make_sum_partials_kernel, dtype), _launch.grid_1d(C), _launch.THREADS_1D, st,
                       dw_part, db_part, dw, db)
        return dx, dw, db
    _launch.launch(_launch.built(make_backward_input_kernel, dtype), _launch.grid_1d(R, WARPS_PER_BLOCK), THREADS,
                   st, dy, x2d, w, mean, rstd, dx)
    if rows_per_chunk is None:
        rows_per_chunk = max(PARTIAL_ROWS, _launch.cdiv(R, MAX_CHUNKS))
    chunks = _launch.cdiv(R, rows_per_chunk)
    dw_part = _launch.empty(kind, (chunks, C), acc)
    db_part = _launch.empty(kind, (chunks, C), acc)
    _launch.launch(_launch.built(make_backward_partials_kernel, dtype), (_launch.cdiv(C, PARTIAL_COLS), chunks),
                   PARTIAL_COLS * PARTIAL_ROW_THREADS, st, dy, x2d, mean, rstd, int(rows_per_chunk), dw_part, db_part)
    _launch.launch(_launch.built(make_sum_partials_kernel, dtype), _launch.grid_1d(C), _launch.THREADS_1D, st,
                   dw_part, db_part, dw, db)
    return dx, dw, db


# ------------------------------------------------------------------------------------ NumPy references (float64)


def layer_norm_reference(x2d, weight=None, bias=None, eps=1e-5):
    """float64 ``(y, mean, rstd)`` of :func:`layer_norm_forward` (two-pass variance)."""
    x = np.asarray(x2d, np.float64)
    mean = x.mean(axis=1)
    rstd = 1.0 / np.sqrt(((x - mean[:, None]) ** 2).mean(axis=1) + eps)
    y = (x - mean[:, None]) * rstd[:, None]
    if weight is not None:
        y = y * np.asarray(weight, np.float64)
    if bias is not None:
        y = y + np.asarray(bias, np.float64)
    return y, mean, rstd


def layer_norm_backward_reference(dy, x2d, weight=None, eps=1e-5):
    """float64 ``(dx, dweight, dbias)`` of :func:`layer_norm_backward`."""
    x, g = np.asarray(x2d, np.float64), np.asarray(dy, np.float64)
    _, mean, rstd = layer_norm_reference(x, eps=eps)
    xhat = (x - mean[:, None]) * rstd[:, None]
    gw = g * (1.0 if weight is None else np.asarray(weight, np.float64))
    dx = rstd[:, None] * (gw - gw.mean(axis=1, keepdims=True) - xhat * (gw * xhat).mean(axis=1, keepdims=True))
    return dx, (g * xhat).sum(axis=0), g.sum(axis=0)
