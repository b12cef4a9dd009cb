"""More of torch.nn.functional: multi_head_attention_forward (nn.MultiheadAttention's forward on given weights),
conv_tbc (a 1-D convolution over time-batch-channel input) and native_channel_shuffle."""

from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .attention import MultiheadAttention
from .module import Module

__all__ = ["multi_head_attention_forward", "conv_tbc", "native_channel_shuffle"]


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """torch.nn.functional.multi_head_attention_forward: query (L, N, E) or (L, E), key / value (S, N, kdim / vdim);
    returns (attn_output, attn_weights or None), exactly as nn.MultiheadAttention with these weights."""
    op = "multi_head_attention_forward"
    if static_k is not None or static_v is not None:
        raise ArgumentError(f"{op}: static_k / static_v are not supported")
    for name, t in (("query", query), ("key", key), ("value", value), ("out_proj_weight", out_proj_weight)):
        if not isinstance(t, Tensor):
            raise ArgumentError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    embed_dim = query.shape[-1]
    if embed_dim != embed_dim_to_check:
        raise ShapeError(f"{op}: was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    if not isinstance(num_heads, int) or num_heads < 1 or embed_dim % num_heads:
        raise ArgumentError(f"{op}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ArgumentError(f"{op}: use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                "v_proj_weight is None")
        kdim, vdim = k_proj_weight.shape[-1], v_proj_weight.shape[-1]
    else:
        if in_proj_weight is None:
            raise ArgumentError(f"{op}: use_separate_proj_weight is False but in_proj_weight is None")
        kdim = vdim = embed_dim
    if (bias_k is None) != (bias_v is None):
        raise ArgumentError(f"{op}: bias_k and bias_v must both be given or both be None")
    # nn.MultiheadAttention's forward, on a stand-in holding these tensors (nothing registered)
    shim = object.__new__(MultiheadAttention)
    Module.__init__(shim)
    shim.__dict__.update(
        embed_dim=embed_dim, num_heads=num_heads, dropout=float(dropout_p), kdim=kdim, vdim=vdim,
        _qkv_same_embed_dim=not use_separate_proj_weight, batch_first=False, head_dim=embed_dim // num_heads,
        add_zero_attn=bool(add_zero_attn), in_proj_weight=None if use_separate_proj_weight else in_proj_weight,
        q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight, v_proj_weight=v_proj_weight,
        in_proj_bias=in_proj_bias, bias_k=bias_k, bias_v=bias_v, training=bool(training),
        out_proj=lambda x: _linear(x, out_proj_weight, out_proj_bias))
    return MultiheadAttention.forward(shim, query, key, value, key_padding_mask, need_weights, attn_mask,
                                      average_attn_weights, is_causal)


def _linear(x, w, b):
    from . import functional as F

    return F.linear(x, w, b)


def conv_tbc(input, weight, bias, pad=0):
    """torch.conv_tbc / F.conv_tbc: input (T, B, C_in), weight (K, C_in, C_out), bias (C_out,) -> (T + 2 pad - K + 1,
    B, C_out), y[t] = sum_k x[t + k - pad] @ weight[k] + bias."""
    from . import functional as F

    op = "conv_tbc"
    if not all(isinstance(t, Tensor) for t in (input, weight, bias)):
        raise ArgumentError(f"{op}: input, weight and bias must be Tensors")
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise ShapeError(f"{op}: expected input (T, B, C_in), weight (K, C_in, C_out) and bias (C_out,), got "
                         f"{tuple(input.shape)}, {tuple(weight.shape)} and {tuple(bias.shape)}")
    if weight.shape[1] != input.shape[2] or bias.shape[0] != weight.shape[2]:
        raise ShapeError(f"{op}: input {tuple(input.shape)}, weight {tuple(weight.shape)} and bias "
                         f"{tuple(bias.shape)} do not fit (C_in, C_out)")
    y = F.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, 1, pad)
    return y.permute(2, 0, 1)


def native_channel_shuffle(input, groups):
    """torch.nn.functional.native_channel_shuffle: channel_shuffle."""
    from . import functional as F

    return F.channel_shuffle(input, groups)
