"""Scaled dot-product attention (PyTorch's F.scaled_dot_product_attention), one node per call.

    out = softmax(q @ k^T * scale + mask) @ v,   q (..., L, E), k (..., S, E), v (..., S, Ev)

Forward and plain backward run the backend's fused primitives (`attention_forward` saves the
row logsumexp, `attention_backward` recomputes the probabilities from it; the NumPy ones, in
backends/cpu_attention.py, are also the CuPy fallback of the cuda backend). On the CPU the forward
keeps the probabilities themselves when they are small (`attention_forward_probs`), and the plain
backward starts from them. Under create_graph the
backward is rebuilt from tensor ops, so gradients of gradients work. A float mask that requires
grad, or dropout_p > 0, takes the composite path (every step an ordinary op).
"""

import math

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..random import _gen
from ..tensor import Tensor, _make
from .compare import where
from .nn import softmax
from .registry import register

# NOTE: a finite stand-in for -inf in the composite path: exp(-1e30 - max) is exactly 0 in float32 and
# float64, and a fully masked row stays finite (it is zeroed afterwards instead of becoming NaN).
_MASKED = -1e30


def _additive_mask(xp, mask, dtype):
    """A bool mask (True = attend) or a float mask -> an additive float array (0 / -inf)."""
    if mask.dtype == np.bool_:
        return xp.where(mask, 0.0, -np.inf).astype(dtype)
    return mask.astype(dtype, copy=False)


class ScaledDotProductAttention(Function):
    """The fused node: forward saves (q, k, v, out, lse); the mask is a constant additive array."""

    op_name = "scaled_dot_product_attention"

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale):
        out, lse, ctx.probs = attention_forward_saving(ctx.backend, q, k, v, mask, is_causal, scale)
        ctx.mask, ctx.is_causal, ctx.scale = mask, is_causal, scale
        ctx.save_for_backward(q, k, v, out, lse)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, out, lse = ctx.saved_tensors
        # the fused backward's formulas from tensor ops of q, k, v (so they differentiate again)
        p = _probabilities(q, k, ctx.mask, ctx.is_causal, ctx.scale)
        dv = p.mT @ g
        dp = g @ v.mT
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * ctx.scale
        return ds @ k, ds.mT @ q, dv

    @staticmethod
    def backward_arrays(ctx, g):
        q, k, v, out, lse = ctx.saved_arrays
        grads = attention_backward_saved(ctx.backend, q, k, v, out, lse, ctx.probs, g, ctx.mask, ctx.is_causal,
                                         ctx.scale)
        ctx.probs = None
        return tuple(a if need else None for a, need in zip(grads, ctx.needs_input_grad))


def attention_forward_saving(backend, q, k, v, mask, is_causal, scale, out=None):
    """The backend's ``(out, lse)`` and, where it keeps them (the CPU, small scores), the probabilities
    transposed for the backward (else None: the backward recomputes them from lse). out: an array
    (or a strided view) that receives the output."""
    forward = getattr(backend, "attention_forward_probs", None)
    if forward is not None:
        return forward(q, k, v, mask, is_causal, scale, out)
    o, lse = backend.attention_forward(q, k, v, mask, is_causal, scale)
    if out is not None:
        out[...] = o
        o = out
    return o, lse, None


def attention_backward_saved(backend, q, k, v, out, lse, probs, dout, mask, is_causal, scale, grads=None):
    """``(dq, dk, dv)`` from the kept probabilities, or the backend's backward that recomputes them;
    grads: three arrays (or strided views) that receive them."""
    if probs is not None:
        return backend.attention_backward_probs(q, k, v, out, probs, dout, scale, grads)
    result = backend.attention_backward(q, k, v, out, lse, dout, mask, is_causal, scale)
    if grads is None:
        return result
    for g, r in zip(grads, result):
        g[...] = r
    return grads


def _probabilities(q, k, mask, is_causal, scale, dropout_p=0.0, generator=None):
    """softmax(q k^T scale + mask) from tensor ops; masked entries use a finite stand-in, empty rows are 0."""
    xp = q.device.backend.xp
    s = (q @ k.mT) * scale
    length, source = q.shape[-2], k.shape[-2]
    blocked = None
    if is_causal:
        blocked = ~xp.tril(xp.ones((length, source), dtype=bool))
    if isinstance(mask, Tensor):  # a float mask that requires grad: it is part of the graph
        s = s + where(mask._data == -np.inf, _MASKED, mask)
        inf = mask._data == -np.inf
        blocked = inf if blocked is None else (blocked | inf)
    elif mask is not None:
        inf = mask == -np.inf
        s = s + _make(xp.where(inf, 0.0, mask).astype(q.dtype), q.device, False, None)
        blocked = inf if blocked is None else (blocked | inf)
    if blocked is None:
        p = softmax(s, -1)
    else:
        blocked = xp.broadcast_to(blocked, s.shape)
        p = softmax(where(blocked, _MASKED, s), -1)
        empty = blocked.all(axis=-1, keepdims=True)
        if empty.any():
            p = where(xp.broadcast_to(empty, s.shape), 0.0, p)
    if dropout_p > 0.0:
        keep = _gen(generator).random(p.shape) >= dropout_p
        keep = (keep / (1.0 - dropout_p)).astype(q.dtype)
        p = p * _make(q.device.backend.from_host(keep, copy=False), q.device, False, None)
    return p


def _check_inputs(q, k, v, attn_mask):
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise ArgumentError(f"scaled_dot_product_attention: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ShapeError(f"scaled_dot_product_attention: {name} needs at least 2 dimensions, got {t.shape}")
        if t.dtype.kind not in "fV":
            raise DTypeError(f"scaled_dot_product_attention: {name} must be floating, got {t.dtype}")
    if not (q.dtype == k.dtype == v.dtype):
        raise DTypeError(f"scaled_dot_product_attention: query, key and value dtypes differ "
                         f"({q.dtype}, {k.dtype}, {v.dtype})")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2] or not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ShapeError(f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and value {v.shape} do not "
                         "fit (..., L, E), (..., S, E), (..., S, Ev)")
    if attn_mask is not None:
        scores = q.shape[:-1] + (k.shape[-2],)
        shape = attn_mask.shape
        ok = len(shape) <= len(scores) and all(m in (1, n) for m, n in zip(shape[::-1], scores[::-1]))
        if not ok:
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {shape} does not broadcast to the "
                             f"scores' shape {scores}")


@register("scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, scale = 1/sqrt(E) by default (PyTorch's).

    attn_mask: bool (True = take part in attention) or float (added to the scores), broadcastable
    to (..., L, S). is_causal: query i sees keys j <= i. A row with every key masked gives zeros.
    enable_gqa: key and value may have fewer heads (axis -3) than query; each serves a group of them.

    Example:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)   # q, k, v: (B, H, T, D)
    """
    if enable_gqa and isinstance(query, Tensor) and isinstance(key, Tensor) and query.ndim >= 3 and key.ndim >= 3:
        hq, hk = query.shape[-3], key.shape[-3]
        if hk != hq:
            if hk == 0 or hq % hk or value.shape[-3] != hk:
                raise ShapeError(f"scaled_dot_product_attention: {hq} query heads cannot be grouped over key/value "
                                 f"heads {hk} and {value.shape[-3]}")
            key, value = key.repeat_interleave(hq // hk, dim=-3), value.repeat_interleave(hq // hk, dim=-3)
    _check_inputs(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise ArgumentError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    if not 0.0 <= dropout_p < 1.0:
        raise ArgumentError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    xp = query.device.backend.xp
    mask = None
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            attn_mask = _make(xp.asarray(attn_mask), query.device, False, None)
        if attn_mask.dtype != np.bool_ and attn_mask.dtype.kind not in "fV":
            raise DTypeError(f"scaled_dot_product_attention: attn_mask must be bool or floating, got {attn_mask.dtype}")
        if attn_mask.requires_grad:  # a mask that learns: the composite path, differentiable in the mask
            mask = attn_mask.astype(query.dtype)
        else:
            mask = _additive_mask(xp, attn_mask._data, query.dtype)
    if dropout_p > 0.0 or isinstance(mask, Tensor):
        return _probabilities(query, key, mask, is_causal, scale, dropout_p) @ value
    return ScaledDotProductAttention.apply(query, key, value, mask=mask, is_causal=bool(is_causal), scale=scale)
