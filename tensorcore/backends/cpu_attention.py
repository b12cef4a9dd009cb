"""Sequence-model primitives of the CPU backend: attention, layer norm and embedding (NumPy).

Each primitive is written once for an array module ``xp`` (the ``*_xp`` functions), so the cuda
backend runs the very same code with CuPy when its Numba kernels are switched off
(``tc.backends.cuda.attention = "cupy"``) or do not apply. Signatures (shared by both backends)::

    attention_forward(q, k, v, mask, is_causal, scale) -> (out, lse)
    attention_backward(q, k, v, out, lse, dout, mask, is_causal, scale) -> (dq, dk, dv)
    layer_norm_forward(x2d, weight, bias, eps) -> (y, mean, rstd)
    layer_norm_backward(dy, x2d, weight, mean, rstd) -> (dx, dweight, dbias)
    embedding_forward(weight, idx) -> out
    embedding_backward(dout, idx, num_embeddings, padding_idx) -> dweight
"""

import math

import numpy as np

__all__ = [
    "attention_forward",
    "attention_backward",
    "layer_norm_forward",
    "layer_norm_backward",
    "embedding_forward",
    "embedding_backward",
]


# --- attention ---------------------------------------------------------------------------------------------


def _scores(xp, q, k, mask, is_causal, scale):
    """``s = scale q k^T + mask`` (-inf above the diagonal when causal), shape ``(..., L, S)``."""
    s = xp.matmul(q, xp.swapaxes(k, -1, -2))
    s *= q.dtype.type(1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        if mask.dtype == np.bool_:  # True takes part in attention (PyTorch's convention)
            mask = xp.where(mask, 0.0, -np.inf).astype(q.dtype)
        s += mask.astype(q.dtype, copy=False)
    if is_causal:
        L, S = s.shape[-2:]
        s[..., xp.triu(xp.ones((L, S), dtype=bool), 1)] = -np.inf
    return s


def attention_forward_xp(xp, q, k, v, mask, is_causal, scale):
    """``(softmax(s) @ v, logsumexp(s))`` over the keys; a row with every key masked gives 0 and -inf."""
    s = _scores(xp, q, k, mask, is_causal, scale)
    m = s.max(axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0).astype(q.dtype, copy=False)
    e = xp.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    live = total > 0
    out = xp.matmul(e, v) / xp.where(live, total, 1.0)
    lse = xp.where(live, m + xp.log(xp.where(live, total, 1.0)), -np.inf)[..., 0]
    return out.astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def attention_backward_xp(xp, q, k, v, out, lse, dout, mask, is_causal, scale):
    """``(dq, dk, dv)`` with ``p = exp(s - lse)`` recomputed: ``ds = p (dout v^T - rowsum(dout out))``."""
    s = _scores(xp, q, k, mask, is_causal, scale)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    p = xp.exp(s - xp.where(xp.isfinite(lse), lse, np.inf)[..., None])  # a dead row (lse -inf): p = 0
    dv = xp.matmul(xp.swapaxes(p, -1, -2), dout)
    ds = xp.matmul(dout, xp.swapaxes(v, -1, -2))
    ds -= (dout * out).sum(axis=-1, keepdims=True)
    ds *= p
    ds *= q.dtype.type(scale)
    return xp.matmul(ds, k), xp.matmul(xp.swapaxes(ds, -1, -2), q), dv


def attention_forward(q, k, v, mask, is_causal, scale):
    """``out = softmax(scale q k^T + mask) v`` and its row logsumexp ``lse``.

    q ``(..., L, E)``, k ``(..., S, E)``, v ``(..., S, Ev)`` of one float dtype; mask None, bool (True
    attends) or additive float broadcastable to ``(..., L, S)``; is_causal: key j <= query i (top-left);
    scale: a float, or None for ``1/sqrt(E)``. Returns ``(out (..., L, Ev), lse (..., L))``; a row whose
    keys are all masked gets ``out = 0`` and ``lse = -inf`` (as PyTorch's CPU flash kernel).
    """
    return attention_forward_xp(np, q, k, v, mask, is_causal, scale)


def attention_backward(q, k, v, out, lse, dout, mask, is_causal, scale):
    """``(dq, dk, dv)`` of :func:`attention_forward` from its ``out``, ``lse`` and ``dout (..., L, Ev)``."""
    return attention_backward_xp(np, q, k, v, out, lse, dout, mask, is_causal, scale)


# --- layer norm ------------------------------------------------------------------------------------------------


def layer_norm_forward_xp(xp, x2d, weight, bias, eps):
    mean = x2d.mean(axis=1)
    xc = x2d - mean[:, None]
    rstd = (1.0 / xp.sqrt((xc * xc).mean(axis=1) + eps)).astype(x2d.dtype, copy=False)
    y = xc
    y *= rstd[:, None]
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y, mean, rstd


def layer_norm_backward_xp(xp, dy, x2d, weight, mean, rstd):
    xhat = (x2d - mean[:, None]) * rstd[:, None]
    g = dy * weight if weight is not None else dy
    dx = g - g.mean(axis=1, keepdims=True)
    dx -= xhat * (g * xhat).mean(axis=1, keepdims=True)
    dx *= rstd[:, None]
    dw = (dy * xhat).sum(axis=0) if weight is not None else None
    return dx, dw, dy.sum(axis=0)


def layer_norm_forward(x2d, weight, bias, eps):
    """``y = (x - mean) * rstd * weight + bias`` per row of ``x2d (R, C)``, ``rstd = 1/sqrt(var + eps)``
    (biased variance); weight/bias ``(C,)`` or None. Returns ``(y, mean (R,), rstd (R,))``."""
    return layer_norm_forward_xp(np, x2d, weight, bias, eps)


def layer_norm_backward(dy, x2d, weight, mean, rstd):
    """``(dx, dweight, dbias)``: ``dx = rstd (g - mean(g) - xhat mean(g xhat))`` with ``g = dy weight``,
    ``dweight = sum_rows dy xhat`` (None when weight is None), ``dbias = sum_rows dy``."""
    return layer_norm_backward_xp(np, dy, x2d, weight, mean, rstd)


# --- embedding ---------------------------------------------------------------------------------------------------


def embedding_forward(weight, idx):
    """``weight[idx]``: rows of ``weight (V, E)`` for integer ``idx`` of any shape -> ``idx.shape + (E,)``."""
    return np.take(weight, idx, axis=0)


def embedding_backward(dout, idx, num_embeddings, padding_idx):
    """``dweight (V, E)``: ``dweight[v] = sum of dout[i] where idx[i] == v``, in increasing ``i``
    (deterministic, as np.add.at); row ``padding_idx`` (None: none) stays zero."""
    E = dout.shape[-1]
    dweight = np.zeros((num_embeddings, E), dtype=dout.dtype)
    # np.add.at adds in position order: the same bits as the cuda kernel's ordered per-row sums
    np.add.at(dweight, np.asarray(idx).reshape(-1), dout.reshape(-1, E))
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight
