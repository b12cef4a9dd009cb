"""Row-wise softmax and log-softmax (forward and backward) and fused softmax + cross-entropy.

Math, over the last axis of ``x`` viewed as ``(R, C)`` (rows ``r``, classes ``c``)::

    m_r = max_c x[r, c]                   s_r = sum_c exp(x[r, c] - m_r)
    softmax:      y = exp(x - m) / s      dx = y * (g - sum_c g y)
    log_softmax:  y = x - m - log s       dx = g - exp(y) * sum_c g
    cross-entropy with integer targets t_r (fused: loss and gradient in one kernel):
        loss_r = m_r + log s_r - x[r, t_r]
        dlogits[r, c] = scale * (softmax(x)[r, c] - [c == t_r])
    rows with ``t_r == ignore_index`` get loss 0 and gradient 0; other targets outside [0, C) give a
    NaN loss (the kernel cannot raise).

NOTE: stability. ``m`` is the row's exact maximum (the row is in registers), so every ``exp`` has a
non-positive argument: logits of 1e4 (or -1e4) give exact results instead of inf/NaN; log-softmax
is ``x - m - log s`` rather than ``log(softmax)``, which would underflow to ``log 0``, and the
cross-entropy subtracts the target's raw logit, never ``log p``.

One pass over memory (kernels/_rows.py): each row is read from global memory once into registers
(``SLOTS`` values per thread), reduced (max, then the sum of ``exp``, with shuffles, and across
warps through shared memory in the block layout), and written once. A warp per row (4 rows per
128-thread block) while the row fits 32 lanes' registers (float32: 1024 columns forward, 512
backward, which holds ``y`` and ``grad``), a 512-thread block per row up to 16 times that (16384
and 8192), and beyond it the streaming kernels of kernels/_softmax_stream.py, which read it twice.
Grid ``min(cdiv(R, rows per block), 16 * SMs)`` blocks, grid-stride over rows.

float16 rows are widened to float32 as they are loaded (registers hold float32: the same row lengths
fit), every sum and ``exp`` is float32, and the stores round to float16; the cross-entropy's loss and
statistics are float32. When the rows are aligned and ``C % 4 == 0`` (float32/float16), the ``_vec``
kernels load and store 4 columns per instruction (``LDG.E.128`` / ``LDG.E.64``, kernels/_vector_f16.py):
thread ``t`` holds columns ``4 (t + tpr g) .. + 3`` for ``g < SLOTS / 4``. The cross-entropy also
reduces its mean inside the kernel (kernels/_ce_f16.py).

Bytes (float32; float16 half of it), the fewest possible in the cached layouts: forward ``8 R C``
(read x, write y); backward ``12 R C``; cross-entropy ``8 R C + 12 R`` (logits in, gradient out,
targets and losses). FLOPs about 5 per element plus one ``exp``.

Wrappers (last axis; any leading shape; float32/float64/float16; C-contiguous)::

    softmax(x, out=None, stream=None)              softmax_backward(y, grad, out=None, stream=None)
    log_softmax(x, out=None, stream=None)          log_softmax_backward(y, grad, out=None, stream=None)
    softmax_cross_entropy(logits, targets, grad_scale=1.0, ignore_index=-100, loss_out=None,
                          grad_out=None, stream=None, stats_out=None, return_stats=False)
        -> (loss_per_row, grad) or, with return_stats, (loss_per_row, grad, (sum, count, mean, max(count, 1)))

    loss, dlogits = softmax_cross_entropy(logits, labels, grad_scale=1 / len(labels))
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _ce_f16 as _ce
from . import _launch, _rows
from . import _softmax_stream as _stream
from . import _vector_f16 as _vec

U, I64 = numba.uint64, numba.int64


def _suffix(tpr: int, vec: bool) -> str:
    return _rows.name(tpr) + ("_vec" if vec else "")


def make_forward_kernel(log: bool, dtype, tpr: int, vec: bool = False):
    """``out = softmax(x)`` or ``log_softmax(x)`` row-wise, the row in registers; args ``(x, out)``, ``(R, C)``.
    With ``vec`` every load and store moves 4 columns (``C % 4 == 0``, aligned rows)."""
    T = _rows.compute_type(dtype)
    LOG = bool(log)
    S = _rows.slots(dtype, 1)
    W = _rows.width(vec)
    G = S // W
    SKIP = tpr > _rows.WARP  # block layout: stop at the row's end (the warp layout's padding is short)
    ROWS, WARPS = _rows.layout(tpr)[1], tpr // 32
    ZERO, ONE, NEG_INF = T(0.0), T(1.0), T(-math.inf)
    row_sum, row_max = _rows.reducers(tpr)
    load, store = _rows.row_io(vec, dtype)

    def softmax_forward(x, out):
        R, C = x.shape
        vals = cuda.local.array(S, T)
        red = cuda.shared.array((ROWS, WARPS), T)
        R, C = U(R), U(C)  # unsigned indices: Numba adds no negative-index wraparound (2 SEL per access)
        t = U(cuda.threadIdx.x) % U(tpr)
        sub = U(cuda.threadIdx.x) // U(tpr)
        lane = U(cuda.threadIdx.x) % U(32)
        warp = t // U(32)
        row = U(cuda.blockIdx.x) * U(ROWS) + sub
        while row < R:  # uniform across the row's threads (and the block, in the BLOCK layout)
            for g in range(G):  # the row's only read from global memory
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                load(vals, W * g, x, row, C, (t + U(tpr * g)) * U(W), NEG_INF)
            m = NEG_INF
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    m = max(m, vals[u])
            m = row_max(m, red, sub, warp, lane)
            s = ZERO
            for g in range(G):  # padding slots hold -inf: exp gives 0 (a row of -inf or a NaN: NaN, as PyTorch)
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    e = math.exp(vals[u] - m)
                    s += e
                    if not LOG:
                        vals[u] = e
            s = row_sum(s, red, sub, warp, lane)
            shift = m + math.log(s)
            inv = ONE / s
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    vals[u] = vals[u] - shift if LOG else vals[u] * inv
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                store(out, row, C, (t + U(tpr * g)) * U(W), vals, W * g)
            row += U(cuda.gridDim.x) * U(ROWS)

    name = "log_softmax" if log else "softmax"
    return _launch.named(softmax_forward, f"{name}_forward_{_suffix(tpr, vec)}", dtype)


def make_backward_kernel(log: bool, dtype, tpr: int, vec: bool = False):
    """Row-wise backward from the forward output ``y``, both rows in registers; args ``(y, grad, out)``."""
    T = _rows.compute_type(dtype)
    LOG = bool(log)
    S = _rows.slots(dtype, 2)
    W = _rows.width(vec)
    G = S // W
    SKIP = tpr > _rows.WARP  # block layout: stop at the row's end (the warp layout's padding is short)
    ROWS, WARPS = _rows.layout(tpr)[1], tpr // 32
    ZERO = T(0.0)
    row_sum, _ = _rows.reducers(tpr)
    load, store = _rows.row_io(vec, dtype)

    def softmax_backward(y, grad, out):
        R, C = y.shape
        ys = cuda.local.array(S, T)
        gs = cuda.local.array(S, T)
        red = cuda.shared.array((ROWS, WARPS), T)
        R, C = U(R), U(C)  # unsigned indices: Numba adds no negative-index wraparound (2 SEL per access)
        t = U(cuda.threadIdx.x) % U(tpr)
        sub = U(cuda.threadIdx.x) // U(tpr)
        lane = U(cuda.threadIdx.x) % U(32)
        warp = t // U(32)
        row = U(cuda.blockIdx.x) * U(ROWS) + sub
        while row < R:
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                c0 = (t + U(tpr * g)) * U(W)
                load(gs, W * g, grad, row, C, c0, ZERO)
                load(ys, W * g, y, row, C, c0, ZERO)
            total = ZERO  # softmax: sum g*y; log_softmax: sum g
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    total += gs[u] if LOG else gs[u] * ys[u]
            total = row_sum(total, red, sub, warp, lane)
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                for k in range(W):
                    u = W * g + k
                    gs[u] = gs[u] - math.exp(ys[u]) * total if LOG else ys[u] * (gs[u] - total)
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                store(out, row, C, (t + U(tpr * g)) * U(W), gs, W * g)
            row += U(cuda.gridDim.x) * U(ROWS)

    name = "log_softmax" if log else "softmax"
    return _launch.named(softmax_backward, f"{name}_backward_{_suffix(tpr, vec)}", dtype)


def make_cross_entropy_kernel(dtype, tpr: int, vec: bool = False):
    """Fused softmax + cross-entropy and its reduction, the row in registers; args ``(logits (R, C),
    targets (R,) int, scale, ignore_index, loss (R,), grad (R, C), partials (grid, 2), ticket (1,) int32,
    stats (4,))`` with ``loss``, ``partials`` and ``stats`` in the compute type (float32 for float16
    logits). ``stats = (sum of the non-ignored rows' losses, their count, sum / count, max(count, 1))``
    (kernels/_ce_f16.py)."""
    T = _rows.compute_type(dtype)
    S = _rows.slots(dtype, 1)
    W = _rows.width(vec)
    G = S // W
    SKIP = tpr > _rows.WARP  # block layout: stop at the row's end (the warp layout's padding is short)
    ROWS, WARPS = _rows.layout(tpr)[1], tpr // 32
    THREADS = _rows.layout(tpr)[0]
    ZERO, ONE, NEG_INF, NAN = T(0.0), T(1.0), T(-math.inf), T(math.nan)
    row_sum, row_max = _rows.reducers(tpr)
    load, store = _rows.row_io(vec, dtype)
    finish = _ce.make_finish(T, THREADS)

    def softmax_cross_entropy(x, targets, scale, ignore_index, loss, grad, partials, ticket, stats):
        R, C = x.shape
        vals = cuda.local.array(S, T)
        red = cuda.shared.array((ROWS, WARPS), T)
        R, C = U(R), U(C)  # unsigned indices: Numba adds no negative-index wraparound (2 SEL per access)
        t = U(cuda.threadIdx.x) % U(tpr)
        sub = U(cuda.threadIdx.x) // U(tpr)
        lane = U(cuda.threadIdx.x) % U(32)
        warp = t // U(32)
        row = U(cuda.blockIdx.x) * U(ROWS) + sub
        total = ZERO  # this thread's share of the reduction: the losses it wrote, and their rows
        count = ZERO
        while row < R:
            target = targets[row]  # the same for all the row's threads: the branch is uniform
            if target == ignore_index:
                for g in range(G):
                    if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                        break
                    for k in range(W):
                        u = W * g + k
                        vals[u] = ZERO
                if t == 0:
                    loss[row] = ZERO
            else:
                for g in range(G):
                    if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                        break
                    load(vals, W * g, x, row, C, (t + U(tpr * g)) * U(W), NEG_INF)
                m = NEG_INF
                xt = ZERO  # the target's logit, in the thread that holds it
                # an out-of-range target matches no slot (padding slots hold columns up to tpr S - 1)
                tcol = U(target) if 0 <= target < I64(C) else U(tpr * S)
                for g in range(G):
                    if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                        break
                    for k in range(W):
                        u = W * g + k
                        m = max(m, vals[u])
                        if (t + U(tpr * (u // W))) * U(W) + U(u % W) == tcol:
                            xt = vals[u]
                m = row_max(m, red, sub, warp, lane)
                s = ZERO
                for g in range(G):
                    if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                        break
                    for k in range(W):
                        u = W * g + k
                        e = math.exp(vals[u] - m)
                        s += e
                        vals[u] = e
                s = row_sum(s, red, sub, warp, lane)
                inv = ONE / s
                lse = m + math.log(s)
                for g in range(G):
                    if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                        break
                    for k in range(W):
                        u = W * g + k
                        p = vals[u] * inv
                        if (t + U(tpr * (u // W))) * U(W) + U(u % W) == tcol:  # the target's thread writes the loss
                            loss[row] = lse - xt
                            total += lse - xt
                            p -= ONE
                        vals[u] = scale * p
                if t == 0:
                    count += ONE
                    if not (0 <= target < I64(C)):
                        loss[row] = NAN
                        total += NAN
            for g in range(G):
                if SKIP and U(tpr * W * g) >= C:  # past the row in every thread (uniform)
                    break
                store(grad, row, C, (t + U(tpr * g)) * U(W), vals, W * g)
            row += U(cuda.gridDim.x) * U(ROWS)
        finish(total, count, partials, ticket, stats)

    return _launch.named(softmax_cross_entropy, f"softmax_cross_entropy_{_suffix(tpr, vec)}", dtype)


_MAKERS = {"forward": make_forward_kernel, "backward": make_backward_kernel}
_STREAM_MAKERS = {"forward": _stream.make_forward_kernel, "backward": _stream.make_backward_kernel}
#: Cached arrays per row of each kernel (they share the register budget).
_ARRAYS = {"forward": 1, "backward": 2, "ce": 1}


def _kernel(which, dtype, C, vec=False):
    """``(kernel, grid function of R, threads)``: the cached layout that holds a row of C (with 4-wide
    loads when ``vec``), else streaming."""
    direction = which if which == "ce" else which[0]
    tpr = _rows.choose(C, dtype, _ARRAYS[direction])
    if tpr is None:
        k = (_launch.built(_stream.make_cross_entropy_kernel, dtype) if which == "ce"
             else _launch.built(_STREAM_MAKERS[direction], which[1], dtype))
        return k, lambda R: _launch.grid_1d(R, _stream.WARPS_PER_BLOCK), _stream.THREADS
    bounds = _launch_bounds(tpr)
    if which == "ce":
        k = _launch.built(make_cross_entropy_kernel, dtype, tpr, bool(vec), launch_bounds=bounds)
    else:
        k = _launch.built(_MAKERS[direction], which[1], dtype, tpr, bool(vec), launch_bounds=bounds)
    return k, lambda R: _rows.grid(R, tpr), _rows.layout(tpr)[0]


def _launch_bounds(tpr):
    bounds = _rows.launch_bounds(tpr)
    return None if bounds is None else (lambda fn: bounds)


def ptx_signatures():
    """``(name, python function, [signatures], launch_bounds)`` of every kernel as launched."""
    out = []
    for dtype in _rows.DTYPES:
        t, a = _rows.storage_type(dtype), _rows.compute_type(dtype)
        m = t[:, ::1]
        ce_sigs = [numba.void(m, it[::1], a, numba.int64, a[::1], m, a[:, ::1], numba.int32[::1], a[::1])
                   for it in (numba.int32, numba.int64)]
        vecs = (False, True) if dtype in _vec.VECTOR_DTYPES else (False,)
        for tpr, vec in [(tpr, vec) for tpr in (_rows.WARP, _rows.BLOCK) for vec in vecs] + [(None, False)]:
            bounds = None if tpr is None else _rows.launch_bounds(tpr)
            for log in (False, True):
                f = (_stream.make_forward_kernel(log, dtype) if tpr is None
                     else make_forward_kernel(log, dtype, tpr, vec))
                b = (_stream.make_backward_kernel(log, dtype) if tpr is None
                     else make_backward_kernel(log, dtype, tpr, vec))
                out.append((f.__name__, f, [numba.void(m, m)], bounds))
                out.append((b.__name__, b, [numba.void(m, m, m)], bounds))
            ce = (_stream.make_cross_entropy_kernel(dtype) if tpr is None
                  else make_cross_entropy_kernel(dtype, tpr, vec))
            out.append((ce.__name__, ce, ce_sigs, bounds))
    return out


def _rows_of(fn, x):
    if x.ndim < 1:
        raise ValueError(f"{fn}: x must have at least 1 dimension, got a scalar")
    C = tuple(x.shape)[-1]
    R = x.size // C if C else 0
    return R, C


def _run(which, dtype, R, C, stream, *args, extra=None):
    """Launch the kernel for ``which`` on ``args`` (4-wide loads when every array argument allows them);
    ``extra(blocks)`` gives more arguments once the grid is known."""
    rows = [a for a in args if getattr(a, "ndim", 0) == 2]
    kernel, grid, threads = _kernel(which, dtype, C, _vec.aligned(*rows, last=C))
    blocks = grid(R)
    _launch.launch(kernel, blocks, threads, stream, *args, *(extra(blocks) if extra else ()))


def _forward(fn, log, x, out, stream):
    kind = _launch.check_same_kind(fn, x, out)
    _launch.check(fn, "x", x, dtype=_rows.DTYPES)
    out = _launch.output(fn, kind, out, x.shape, x.dtype)
    R, C = _rows_of(fn, x)
    if R and C:
        args = [_launch.reshape(a, (R, C)) for a in (x, out)]
        _run(("forward", log), x.dtype, R, C, _launch.stream_for(kind, stream), *args)
    return out


def _backward(fn, log, y, grad, out, stream):
    kind = _launch.check_same_kind(fn, y, grad, out)
    _launch.check(fn, "y", y, dtype=_rows.DTYPES)
    _launch.check(fn, "grad", grad, dtype=y.dtype, shape=y.shape)
    out = _launch.output(fn, kind, out, y.shape, y.dtype)
    R, C = _rows_of(fn, y)
    if R and C:
        args = [_launch.reshape(a, (R, C)) for a in (y, grad, out)]
        _run(("backward", log), y.dtype, R, C, _launch.stream_for(kind, stream), *args)
    return out


def softmax(x, out=None, stream=None):
    """``exp(x - max) / sum exp(x - max)`` over the last axis. Example: ``p = softmax(logits)``."""
    return _forward("softmax", False, x, out, stream)


def log_softmax(x, out=None, stream=None):
    """``x - max - log sum exp(x - max)`` over the last axis."""
    return _forward("log_softmax", True, x, out, stream)


def softmax_backward(y, grad, out=None, stream=None):
    """``y * (grad - sum(grad * y))`` over the last axis, from the forward output ``y``."""
    return _backward("softmax_backward", False, y, grad, out, stream)


def log_softmax_backward(y, grad, out=None, stream=None):
    """``grad - exp(y) * sum(grad)`` over the last axis, from the forward output ``y``."""
    return _backward("log_softmax_backward", True, y, grad, out, stream)


def softmax_cross_entropy(
    logits, targets, grad_scale=1.0, ignore_index=-100, loss_out=None, grad_out=None, stream=None,
    stats_out=None, return_stats=False,
):
    """Per-row cross-entropy of ``softmax(logits)`` against integer ``targets``, its gradient, and its mean.

    ``logits``: ``(R, C)`` float32/float64/float16; ``targets``: ``(R,)`` int32/int64. Returns
    ``(loss (R,), grad (R, C))`` with ``grad = grad_scale * (softmax(logits) - onehot(targets))``
    (``grad`` in the logits' dtype; ``loss`` in the compute dtype: float32 for float16 logits, as
    PyTorch's autocast runs cross-entropy in float32), and with ``return_stats`` also
    ``stats (4,) = (sum of the non-ignored rows' losses, their count, sum / count, max(count, 1))``,
    reduced inside the same kernel (kernels/_ce_f16.py; the mean over no rows is NaN, as PyTorch's).
    Rows whose target is ``ignore_index`` get 0 loss and 0 gradient; other out-of-range targets give a
    NaN loss.
    """
    fn = "softmax_cross_entropy"
    kind = _launch.check_same_kind(fn, logits, targets, loss_out, grad_out, stats_out)
    _launch.check(fn, "logits", logits, ndim=2, dtype=_rows.DTYPES)
    R, C = logits.shape
    _launch.check(fn, "targets", targets, dtype=(np.int32, np.int64), shape=(R,))
    dtype = np.dtype(logits.dtype)
    acc = _rows.compute_dtype(dtype)
    loss = _launch.output(fn, kind, loss_out, (R,), acc, name="loss_out")
    grad = _launch.output(fn, kind, grad_out, (R, C), dtype, name="grad_out")
    if R == 0:
        if not return_stats:
            return loss, grad
        stats = _launch.output(fn, kind, stats_out, (4,), acc, name="stats_out")
        stats[0], stats[1], stats[2], stats[3] = 0, 0, np.nan, 1
        return loss, grad, stats
    if C == 0:
        raise ValueError(f"{fn}: logits of shape {tuple(logits.shape)} have no classes")
    bufs = []

    def extra(blocks):
        bufs.extend(_ce.buffers(kind, blocks, acc, stats_out))
        return bufs

    args = (logits, targets, acc.type(grad_scale), int(ignore_index), loss, grad)
    _run("ce", dtype, R, C, _launch.stream_for(kind, stream), *args, extra=extra)
    return (loss, grad, bufs[2]) if return_stats else (loss, grad)


# ----------------------------------------------------------------------------- NumPy references (float64)


def softmax_reference(x, log=False):
    """float64 softmax / log-softmax over the last axis."""
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    z = x - m
    lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z - lse if log else np.exp(z - lse)


def softmax_backward_reference(y, grad, log=False):
    y = np.asarray(y, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    if log:
        return g - np.exp(y) * g.sum(axis=-1, keepdims=True)
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def softmax_cross_entropy_reference(logits, targets, grad_scale=1.0, ignore_index=-100):
    """float64 ``(loss (R,), grad (R, C))`` of :func:`softmax_cross_entropy`."""
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets)
    R, C = x.shape
    logp = softmax_reference(x, log=True)
    ignored = t == ignore_index
    valid = (t >= 0) & (t < C)
    tc = np.where(valid, t, 0)
    loss = np.where(valid, -logp[np.arange(R), tc], np.nan)
    loss = np.where(ignored, 0.0, loss)
    grad = np.exp(logp)
    grad[np.arange(R)[valid], tc[valid]] -= 1.0
    grad = grad_scale * np.where(ignored[:, None], 0.0, grad)
    return loss, grad
