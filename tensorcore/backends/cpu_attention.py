"""Sequence-model primitives of the CPU backend: attention, layer norm and embedding (NumPy).

Each primitive is written once for an array module ``xp`` (the ``*_xp`` functions), so the cuda
backend runs the very same code with CuPy when its Numba kernels are switched off
(``tc.backends.cuda.attention = "cupy"``) or do not apply. Signatures (shared by both backends)::

    attention_forward(q, k, v, mask, is_causal, scale) -> (out, lse)
    attention_backward(q, k, v, out, lse, dout, mask, is_causal, scale) -> (dq, dk, dv)
    attention_forward_probs(q, k, v, mask, is_causal, scale) -> (out, lse, pt)   (CPU only)
    attention_backward_probs(q, k, v, out, pt, dout, scale) -> (dq, dk, dv)      (CPU only)
    layer_norm_forward(x2d, weight, bias, eps) -> (y, mean, rstd)
    layer_norm_backward(dy, x2d, weight, mean, rstd) -> (dx, dweight, dbias)
    embedding_forward(weight, idx) -> out
    embedding_backward(dout, idx, num_embeddings, padding_idx) -> dweight
"""

import math
import threading

import numpy as np

from . import cpu_parallel as _parallel  # the Numba layer-norm kernels for large rows (numba loads on use)

__all__ = [
    "attention_forward",
    "attention_backward",
    "attention_forward_probs",
    "attention_backward_probs",
    "layer_norm_forward",
    "layer_norm_backward",
    "embedding_forward",
    "embedding_backward",
]


# --- attention ---------------------------------------------------------------------------------------------
#
# The scores are built transposed, keys first: st (..., S, L) = k q^T. Every reduction over the keys
# (max, sum) then runs down the columns of contiguous rows, which NumPy vectorizes (3x faster than
# along the short last axis), and every GEMM reads its second operand untransposed (NumPy's batched
# matmul with a transposed second operand measured 1.9x slower than a copy plus the plain product).

_CAUSAL = {}  # (xp name, S, L, dtype) -> the additive causal mask in the transposed layout (S, L)


def _causal_t(xp, S, L, dtype):
    """-inf where key j > query i (top-left aligned), 0 elsewhere, laid out (S, L)."""
    key = (xp.__name__, S, L, np.dtype(dtype).str)
    m = _CAUSAL.get(key)
    if m is None:
        if len(_CAUSAL) > 32:
            _CAUSAL.clear()
        m = _CAUSAL[key] = xp.where(xp.tril(xp.ones((S, L), dtype=bool), -1), -np.inf, 0.0).astype(dtype)
    return m


_WORK = threading.local()  # per thread: scratch arrays reused between calls, {(slot, shape, dtype): array}
SCRATCH_MAX_ELEMENTS = 1 << 22  # larger temporaries are allocated each call (not kept alive between calls)


def _scratch(xp, slot, shape, dtype):
    """An uninitialized array that only this call uses: reused between calls on the CPU (a fresh one
    of a few MB costs its page faults on every call, measured 2x the attention backward's time)."""
    if xp is not np or math.prod(shape) > SCRATCH_MAX_ELEMENTS:
        return xp.empty(shape, dtype=dtype)
    arrays = _WORK.__dict__.setdefault("arrays", {})
    key = (slot, shape, np.dtype(dtype).str)
    a = arrays.get(key)
    if a is None:
        if len(arrays) > 16:
            arrays.clear()
        a = arrays[key] = np.empty(shape, dtype=dtype)
    return a


def _t(xp, a, factor, slot):
    """``factor * a`` with its last two axes swapped, C-contiguous (one pass, into scratch `slot`)."""
    out = _scratch(xp, slot, a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)
    xp.multiply(xp.swapaxes(a, -1, -2), a.dtype.type(factor), out=out)
    return out


def _scale(q, scale):
    return 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale


def _scores_t(xp, q, k, mask, is_causal, scale, out=None):
    """``st = (scale q k^T + mask)^T``, shape ``(..., S, L)``; -inf where causal attention blocks a key."""
    # NOTE: q is scaled before the product (as PyTorch's CPU kernels do)
    if out is None:
        out = _scratch(xp, "st", k.shape[:-1] + q.shape[-2:-1], q.dtype)
    st = xp.matmul(k, _t(xp, q, _scale(q, scale), "qt"), out=out)
    if mask is not None:
        if mask.dtype == np.bool_:  # True takes part in attention (PyTorch's convention)
            mask = xp.where(mask, 0.0, -np.inf).astype(q.dtype)
        if mask.ndim < 2:
            mask = mask.reshape((1,) * (2 - mask.ndim) + mask.shape)
        st += xp.swapaxes(mask, -1, -2).astype(q.dtype, copy=False)
    if is_causal:
        st += _causal_t(xp, st.shape[-2], st.shape[-1], q.dtype)
    return st


def _numba_softmax(q, S):
    """Whether the Numba softmax over transposed scores takes this forward (float32/float64, large enough)."""
    return q.dtype in (np.float32, np.float64) and _parallel.use(math.prod(q.shape[:-1]) * S)


def attention_forward_xp(xp, q, k, v, mask, is_causal, scale, probs=None, into=None):
    """``(softmax(s) @ v, logsumexp(s))`` over the keys; a row with every key masked gives 0 and -inf.
    probs: an array ``(..., S, L)`` that receives the probabilities ``softmax(s)^T`` (else scratch);
    into: an array ``(..., L, Ev)`` (a view may be strided) that receives the output."""
    L, S = q.shape[-2], k.shape[-2]
    if L == 0 or S == 0:
        lead = q.shape[:-2]
        return xp.zeros(lead + (L, v.shape[-1]), dtype=q.dtype), xp.full(lead + (L,), -np.inf, dtype=q.dtype)
    if xp is np and mask is None and _numba_softmax(q, S):  # the Numba softmax: normalized p, then p^T v
        p = _scores_t(xp, q, k, None, False, scale, probs)
        lse = _parallel.kernels("seq").softmax_t(p, is_causal)
        return xp.matmul(xp.swapaxes(p, -1, -2), v, out=into), lse
    p = _scores_t(xp, q, k, mask, is_causal, scale, probs)  # (..., S, L): becomes exp(s - max) in place
    m = p.max(axis=-2, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0).astype(q.dtype, copy=False)  # NOTE: a dead row: exp(-inf - 0) = 0
    p -= m
    xp.exp(p, out=p)
    total = p.sum(axis=-2, keepdims=True)  # (..., 1, L)
    live = total > 0
    total = xp.where(live, total, 1.0).astype(q.dtype, copy=False)
    out = xp.matmul(xp.swapaxes(p, -1, -2), v, out=into)
    out /= xp.swapaxes(total, -1, -2)
    if probs is not None:
        p /= total  # the softmax itself, kept for the backward (a dead row stays 0)
    lse = xp.where(live, m + xp.log(total), -np.inf)[..., 0, :]
    return out.astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def attention_backward_xp(xp, q, k, v, out, lse, dout, mask, is_causal, scale, pt=None, into=(None,) * 3):
    """``(dq, dk, dv)`` with ``p = exp(s - lse)`` recomputed (or ``pt = p^T`` as the forward kept it):
    ``ds = p (dout v^T - rowsum(dout out))``; into: three arrays (or views) that receive them."""
    if q.shape[-2] == 0 or k.shape[-2] == 0:
        return xp.zeros_like(q), xp.zeros_like(k), xp.zeros_like(v)
    if pt is None:
        pt = _scores_t(xp, q, k, mask, is_causal, scale)  # (..., S, L): becomes p^T in place
        pt -= xp.where(xp.isfinite(lse), lse, np.inf).astype(q.dtype, copy=False)[..., None, :]  # a dead row: p = 0
        xp.exp(pt, out=pt)
    dv = xp.matmul(pt, dout, out=into[2])
    c = _scale(q, scale)
    dst = xp.matmul(v, _t(xp, dout, c, "doutt"), out=_scratch(xp, "dst", pt.shape, q.dtype))  # scale (dout v^T)^T
    delta = xp.einsum("...i,...i->...", dout, out)  # rowsum(dout out) (einsum: 4x faster than sum)
    delta *= q.dtype.type(c)
    if xp is np and pt.flags.c_contiguous and delta.flags.c_contiguous and _numba_softmax(q, k.shape[-2]):
        _parallel.kernels("seq").attention_ds(dst, delta, pt)
    else:
        dst -= delta[..., None, :]
        dst *= pt
    return xp.matmul(xp.swapaxes(dst, -1, -2), k, out=into[0]), xp.matmul(dst, q, out=into[1]), dv


# Scores per chunk of the leading axis: about this many entries (256 KB in float32), so that every
# pass over them stays in the core's L2 (measured on the GPT block with cold caches: forward +
# backward 3.7 -> 2.7 ms).
CHUNK_SCORES = 1 << 16


def _chunks(q, k, mask):
    """Slices of the leading axis of q (and k, v, ...) of about CHUNK_SCORES score entries, with the mask's slice."""
    per_item = math.prod(q.shape[1:-1]) * k.shape[-2]
    step = max(1, CHUNK_SCORES // max(per_item, 1))
    if q.ndim < 3 or step >= q.shape[0]:
        yield slice(None), mask
        return
    sliced = mask is not None and mask.ndim == q.ndim and mask.shape[0] == q.shape[0]
    for i in range(0, q.shape[0], step):
        sl = slice(i, i + step)
        yield sl, (mask[sl] if sliced else mask)


def attention_forward(q, k, v, mask, is_causal, scale):
    """``out = softmax(scale q k^T + mask) v`` and its row logsumexp ``lse``.

    q ``(..., L, E)``, k ``(..., S, E)``, v ``(..., S, Ev)`` of one float dtype; mask None, bool (True
    attends) or additive float broadcastable to ``(..., L, S)``; is_causal: key j <= query i (top-left);
    scale: a float, or None for ``1/sqrt(E)``. Returns ``(out (..., L, Ev), lse (..., L))``; a row whose
    keys are all masked gets ``out = 0`` and ``lse = -inf`` (as PyTorch's CPU flash kernel).
    """
    chunks = list(_chunks(q, k, mask))
    if len(chunks) == 1:
        return attention_forward_xp(np, q, k, v, mask, is_causal, scale)
    out = np.empty(q.shape[:-1] + (v.shape[-1],), dtype=q.dtype)
    lse = np.empty(q.shape[:-1], dtype=q.dtype)
    for sl, m in chunks:
        out[sl], lse[sl] = attention_forward_xp(np, q[sl], k[sl], v[sl], m, is_causal, scale)
    return out, lse


def attention_backward(q, k, v, out, lse, dout, mask, is_causal, scale):
    """``(dq, dk, dv)`` of :func:`attention_forward` from its ``out``, ``lse`` and ``dout (..., L, Ev)``."""
    chunks = list(_chunks(q, k, mask))
    if len(chunks) == 1:
        return attention_backward_xp(np, q, k, v, out, lse, dout, mask, is_causal, scale)
    dq, dk, dv = np.empty(q.shape, q.dtype), np.empty(k.shape, q.dtype), np.empty(v.shape, q.dtype)
    for sl, m in chunks:
        dq[sl], dk[sl], dv[sl] = attention_backward_xp(np, q[sl], k[sl], v[sl], out[sl], lse[sl], dout[sl], m,
                                                       is_causal, scale)
    return dq, dk, dv


# The probabilities kept from the forward for the backward when there are at most this many (16 MB in
# float32): the backward then skips the scores' GEMM, the mask and the exp (GPT block: 0.35 of 1.6 ms).
PROBS_MAX_ELEMENTS = 1 << 22


def attention_forward_probs(q, k, v, mask, is_causal, scale, out=None):
    """:func:`attention_forward`'s ``(out, lse)`` and ``pt``, the probabilities transposed ``(..., S, L)``
    for :func:`attention_backward_probs` (None where there are more than PROBS_MAX_ELEMENTS).
    out: an array ``(..., L, Ev)`` of q's dtype (a view may be strided) that receives the output."""
    shape = q.shape[:-2] + (k.shape[-2], q.shape[-2])
    if q.shape[:-2] != k.shape[:-2] or math.prod(shape) > PROBS_MAX_ELEMENTS or 0 in shape:
        o, lse = attention_forward(q, k, v, mask, is_causal, scale)
        if out is None:
            return o, lse, None
        out[...] = o
        return out, lse, None
    pt = np.empty(shape, dtype=q.dtype)
    if out is None:
        out = np.empty(q.shape[:-1] + (v.shape[-1],), dtype=q.dtype)
    lse = np.empty(q.shape[:-1], dtype=q.dtype)
    for sl, m in _chunks(q, k, mask):
        _, lse[sl] = attention_forward_xp(np, q[sl], k[sl], v[sl], m, is_causal, scale, pt[sl], out[sl])
    return out, lse, pt


def attention_backward_probs(q, k, v, out, pt, dout, scale, grads=None):
    """:func:`attention_backward` from the forward's kept probabilities ``pt`` (no scores recomputed);
    grads: three arrays (views may be strided) that receive ``(dq, dk, dv)``."""
    if grads is None:
        grads = np.empty(q.shape, q.dtype), np.empty(k.shape, q.dtype), np.empty(v.shape, q.dtype)
    for sl, _ in _chunks(q, k, None):
        attention_backward_xp(np, q[sl], k[sl], v[sl], out[sl], None, dout[sl], None, False, scale, pt[sl],
                              tuple(g[sl] for g in grads))
    return grads


# --- layer norm ------------------------------------------------------------------------------------------------
#
# Row sums as matrix-vector products (x @ ones): BLAS instead of NumPy's reduction along a short
# last axis; the squared deviations' sums as einsum (no temporary); dweight and dbias as ones @ (...).


def layer_norm_forward_xp(xp, x2d, weight, bias, eps):
    rows, c = x2d.shape
    if rows == 0 or c == 0:
        return _layer_norm_forward_reduce(xp, x2d, weight, bias, eps)
    mean = x2d @ xp.ones(c, dtype=x2d.dtype)
    mean /= c
    y = x2d - mean[:, None]
    var = xp.einsum("ij,ij->i", y, y)
    var /= c
    var += eps
    rstd = (1.0 / xp.sqrt(var)).astype(x2d.dtype, copy=False)
    y *= rstd[:, None]
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y, mean, rstd


def _layer_norm_forward_reduce(xp, x2d, weight, bias, eps):
    """The same with NumPy's reductions, for empty rows or columns (NaN statistics, as PyTorch)."""
    mean = x2d.mean(axis=1)
    xc = x2d - mean[:, None]
    rstd = (1.0 / xp.sqrt((xc * xc).mean(axis=1) + eps)).astype(x2d.dtype, copy=False)
    y = xc * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, mean, rstd


def layer_norm_backward_xp(xp, dy, x2d, weight, mean, rstd):
    rows, c = x2d.shape
    xhat = x2d - mean[:, None]
    xhat *= rstd[:, None]
    g = dy * weight if weight is not None else dy
    if rows == 0 or c == 0:
        g_mean, gx_mean = g.mean(axis=1), (g * xhat).mean(axis=1)
    else:
        g_mean = g @ xp.ones(c, dtype=g.dtype)
        g_mean /= c
        gx_mean = xp.einsum("ij,ij->i", g, xhat)
        gx_mean /= c
    dx = xhat * gx_mean[:, None]
    dx += g_mean[:, None]
    xp.subtract(g, dx, out=dx)
    dx *= rstd[:, None]
    ones = xp.ones(rows, dtype=dy.dtype)
    dw = ones @ (dy * xhat) if weight is not None else None
    return dx, dw, ones @ dy


def _norm_kernels_take(x2d, *arrays):
    """Whether the Numba layer-norm kernels take these rows (float32/float64; weight/bias of x's dtype)."""
    return x2d.ndim == 2 and x2d.shape[1] > 0 and _parallel.takes(x2d) and all(
        a is None or a.dtype == x2d.dtype for a in arrays)


def layer_norm_forward(x2d, weight, bias, eps):
    """``y = (x - mean) * rstd * weight + bias`` per row of ``x2d (R, C)``, ``rstd = 1/sqrt(var + eps)``
    (biased variance); weight/bias ``(C,)`` or None. Returns ``(y, mean (R,), rstd (R,))``."""
    if _norm_kernels_take(x2d, weight, bias):
        return _parallel.kernels("seq").layer_norm_forward(x2d, weight, bias, eps)
    return layer_norm_forward_xp(np, x2d, weight, bias, eps)


def layer_norm_backward(dy, x2d, weight, mean, rstd):
    """``(dx, dweight, dbias)``: ``dx = rstd (g - mean(g) - xhat mean(g xhat))`` with ``g = dy weight``,
    ``dweight = sum_rows dy xhat`` (None when weight is None), ``dbias = sum_rows dy``."""
    if _norm_kernels_take(x2d, dy, weight) and dy.shape == x2d.shape:
        return _parallel.kernels("seq").layer_norm_backward(dy, x2d, weight, mean, rstd)
    return layer_norm_backward_xp(np, dy, x2d, weight, mean, rstd)


# --- embedding ---------------------------------------------------------------------------------------------------


def embedding_forward(weight, idx):
    """``weight[idx]``: rows of ``weight (V, E)`` for integer ``idx`` of any shape -> ``idx.shape + (E,)``."""
    return np.take(weight, idx, axis=0)


def embedding_backward(dout, idx, num_embeddings, padding_idx):
    """``dweight (V, E)``: ``dweight[v] = sum of dout[i] where idx[i] == v``, in increasing ``i``
    (deterministic, as np.add.at); row ``padding_idx`` (None: none) stays zero."""
    if _parallel.takes(dout) and dout.ndim >= 1:
        return _parallel.kernels("seq").embedding_backward(dout, idx, num_embeddings, padding_idx)
    E = dout.shape[-1]
    dweight = np.zeros((num_embeddings, E), dtype=dout.dtype)
    # np.add.at adds in position order: the same bits as the cuda kernel's ordered per-row sums
    np.add.at(dweight, np.asarray(idx).reshape(-1), dout.reshape(-1, E))
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight
