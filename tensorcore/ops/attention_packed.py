"""Multi-head self-attention on a packed q|k|v projection, one node (the GPT's attention core).

    y = merge_heads(SDPA(split_heads(qkv)))     qkv (B, T, 3C) = [q | k | v], y (B, T, C)

the same values as ``qkv.reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)``, then
``scaled_dot_product_attention(q, k, v)`` and ``y.transpose(1, 2).reshape(B, T, C)`` (nanoGPT's
lines), but as one node: the heads are strided views of qkv's array, and the backward writes
dq, dk and dv straight into one (B, T, 3, H, D) gradient (the composition's three index nodes
each built a zero gradient of qkv's size, then summed them). PyTorch fuses the same way in its
packed in-projection fast path of nn.MultiheadAttention. Under create_graph the backward is built
from tensor ops (gradients of gradients work).
"""

import math

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from .attention import _probabilities, attention_backward_saved, attention_forward_saving
from .joins import stack


def _heads(qkv, n_head):
    """q, k, v (B, H, T, D) as views of qkv (B, T, 3C) (arrays or tensors)."""
    B, T, C3 = qkv.shape
    h = qkv.reshape(B, T, 3, n_head, C3 // (3 * n_head))
    return (h.transpose(2, 0, 3, 1, 4) if not isinstance(h, Tensor) else h.permute(2, 0, 3, 1, 4))


class PackedSelfAttention(Function):
    """The fused node: forward saves (qkv, y, lse); the heads are views of qkv, the output's of y."""

    op_name = "packed_self_attention"

    @staticmethod
    def forward(ctx, qkv, n_head, is_causal, scale):
        B, T, C3 = qkv.shape
        h = _heads(qkv, n_head)
        y = ctx.backend.xp.empty((B, T, n_head, C3 // (3 * n_head)), dtype=qkv.dtype)  # merged heads
        _, lse, ctx.probs = attention_forward_saving(ctx.backend, h[0], h[1], h[2], None, is_causal, scale,
                                                     out=y.transpose(0, 2, 1, 3))
        ctx.n_head, ctx.is_causal, ctx.scale = n_head, is_causal, scale
        y = y.reshape(B, T, C3 // 3)
        ctx.save_for_backward(qkv, y, lse)
        return y

    @staticmethod
    def backward(ctx, g):
        qkv, _, _ = ctx.saved_tensors
        h = _heads(qkv, ctx.n_head)
        q, k, v = h[0], h[1], h[2]
        B, T, C = g.shape
        gout = g.reshape(B, T, ctx.n_head, C // ctx.n_head).permute(0, 2, 1, 3)
        p = _probabilities(q, k, None, ctx.is_causal, ctx.scale)
        dp = gout @ v.mT
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * ctx.scale
        return (stack([ds @ k, ds.mT @ q, p.mT @ gout], 0).permute(1, 3, 0, 2, 4).reshape(B, T, 3 * C),)

    @staticmethod
    def backward_arrays(ctx, g):
        qkv, y, lse = ctx.saved_arrays
        B, T, C = y.shape
        h = _heads(qkv, ctx.n_head)
        out, gout = (a.reshape(B, T, ctx.n_head, C // ctx.n_head).transpose(0, 2, 1, 3) for a in (y, g))
        d = ctx.backend.xp.empty(qkv.shape, dtype=qkv.dtype)
        dh = _heads(d, ctx.n_head)
        attention_backward_saved(ctx.backend, h[0], h[1], h[2], out, lse, ctx.probs, gout, None, ctx.is_causal,
                                 ctx.scale, grads=(dh[0], dh[1], dh[2]))
        ctx.probs = None
        return (d,)


def packed_self_attention(qkv, n_head, is_causal=False, scale=None):
    """Self-attention of qkv (B, T, 3C) = [q | k | v] over n_head heads of C / n_head -> (B, T, C).

    Example:
        y = packed_self_attention(c_attn(x), n_head=4, is_causal=True)   # x: (B, T, C)
    """
    if not isinstance(qkv, Tensor):
        raise ArgumentError(f"packed_self_attention: qkv must be a Tensor, got {type(qkv).__name__}")
    if qkv.ndim != 3 or qkv.shape[2] % 3 or (qkv.shape[2] // 3) % n_head:
        raise ShapeError(f"packed_self_attention: qkv must be (B, T, 3C) with C divisible by n_head ({n_head}), "
                         f"got shape {qkv.shape}")
    if qkv.dtype.kind not in "fV":
        raise DTypeError(f"packed_self_attention: qkv must be floating, got {qkv.dtype}")
    scale = 1.0 / math.sqrt(qkv.shape[2] // (3 * n_head)) if scale is None else float(scale)
    return PackedSelfAttention.apply(qkv, n_head=int(n_head), is_causal=bool(is_causal), scale=scale)
