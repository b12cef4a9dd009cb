"""nn.MultiheadAttention with PyTorch's names, layouts, masks and initialization.

    MultiHead(q, k, v) = concat(head_1..head_h) W_o^T + b_o,
    head_i = softmax(q W_qi^T (k W_ki^T)^T / sqrt(d) + mask) v W_vi^T

Parameters: in_proj_weight (3E, E) and in_proj_bias (3E,) when kdim = vdim = embed_dim, else
q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim); out_proj.weight / .bias.
Masks follow nn.MultiheadAttention: a bool True means "do not attend" (the opposite of SDPA's bool).
"""

import numpy as np

from .. import _validate as check
from ..errors import ArgumentError, DTypeError, ShapeError
from ..ops.attention import _probabilities
from ..tensor import Tensor, _make
from . import functional as F
from . import init
from .layers import Linear, _empty_parameter
from .module import Module


def _float_mask(mask, like, name):
    """A bool (True = masked) or float mask -> an additive float array or Tensor (0 / -inf)."""
    if mask is None:
        return None
    xp = like.device.backend.xp
    if not isinstance(mask, Tensor):
        mask = _make(xp.asarray(mask), like.device, False, None)
    if mask.dtype == np.bool_:
        return xp.where(mask._data, -np.inf, 0.0).astype(like.dtype)
    if mask.dtype.kind not in "fV":
        raise DTypeError(f"MultiheadAttention: {name} must be bool or floating, got {mask.dtype}")
    return mask.astype(like.dtype) if mask.requires_grad else mask._data.astype(like.dtype, copy=False)


def _pad_keys(mask, extra, like):
    """An additive mask (array or Tensor) with `extra` unmasked key columns appended (0 = attend)."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        return F.pad(mask, (0, extra))
    xp = like.device.backend.xp
    return xp.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, extra)])


def _add_masks(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's name for MultiheadAttention's out_proj (a plain Linear; the name shows in print(model))."""


class MultiheadAttention(Module):
    """Attention with num_heads heads over embed_dim features (PyTorch's nn.MultiheadAttention).

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None).
    Inputs are (L, N, E), or (N, L, E) with batch_first, or unbatched (L, E).

    Example:
        mha = nn.MultiheadAttention(64, 4, batch_first=True)
        out, w = mha(x, x, x)          # x: (N, L, 64) -> (N, L, 64), (N, L, L)
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        embed_dim = check.integer(embed_dim, "embed_dim", "MultiheadAttention", minimum=1)
        num_heads = check.integer(num_heads, "num_heads", "MultiheadAttention", minimum=1)
        check.number(dropout, "dropout", "MultiheadAttention", low=0, high=1)
        kdim = kdim if kdim is None else check.size(kdim, "kdim", "MultiheadAttention")
        vdim = vdim if vdim is None else check.size(vdim, "vdim", "MultiheadAttention")
        if embed_dim % num_heads:
            raise ArgumentError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                                f"({num_heads}), both positive")
        self.embed_dim, self.num_heads, self.dropout = int(embed_dim), int(num_heads), float(dropout)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.batch_first, self.head_dim = bool(batch_first), self.embed_dim // self.num_heads
        self.add_zero_attn = bool(add_zero_attn)
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty_parameter((3 * E, E), device, dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = _empty_parameter((E, E), device, dtype)
            self.k_proj_weight = _empty_parameter((E, self.kdim), device, dtype)
            self.v_proj_weight = _empty_parameter((E, self.vdim), device, dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty_parameter((3 * E,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        if add_bias_kv:  # one learned key and value appended to every sequence
            self.bias_k = _empty_parameter((1, 1, E), device, dtype)
            self.bias_v = _empty_parameter((1, 1, E), device, dtype)
        else:
            self.bias_k = self.bias_v = None
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query, key, value):
        E, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one GEMM for q, k and v
                qkv = F.linear(query, w, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        if is_causal and attn_mask is None:
            raise ArgumentError("MultiheadAttention: is_causal=True is a hint and needs attn_mask (PyTorch's rule); "
                                "pass nn.Transformer.generate_square_subsequent_mask(L)")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ShapeError(f"MultiheadAttention: query {query.shape}, key {key.shape} and value {value.shape} must "
                             "all be 3-D (batched) or 2-D (unbatched)")
        same = query is key and key is value
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.reshape(1, -1)
        elif self.batch_first:
            query, key, value = query.swapaxes(0, 1), key.swapaxes(0, 1), value.swapaxes(0, 1)
        if same:
            key = value = query
        L, N, E = query.shape
        S = key.shape[0]
        if E != self.embed_dim or key.shape[2] != self.kdim or value.shape[2] != self.vdim or value.shape[:2] != (S, N):
            raise ShapeError(f"MultiheadAttention: query {query.shape}, key {key.shape}, value {value.shape} "
                             f"do not fit embed_dim={self.embed_dim}, kdim={self.kdim}, vdim={self.vdim}")
        q, k, v = self._projections(query, key, value)
        H, D = self.num_heads, self.head_dim
        extra = 0  # key positions added by add_bias_kv and add_zero_attn (never masked)
        if self.bias_k is not None:
            from ..ops.joins import cat

            k, v = cat([k, self.bias_k.expand(1, N, E)], 0), cat([v, self.bias_v.expand(1, N, E)], 0)
            extra += 1
        heads = lambda t, n: t.reshape(n, N, H, D).permute(1, 2, 0, 3)  # noqa: E731  (n, N, E) -> (N, H, n, D)
        q, k, v = heads(q, L), heads(k, S + extra), heads(v, S + extra)
        if self.add_zero_attn:
            from ..ops.joins import cat

            zeros = (k[:, :, :1] * 0).detach()
            k, v = cat([k, zeros], 2), cat([v, zeros], 2)
            extra += 1
        attn, padding = self._attn_mask(attn_mask, q, N, L, S), self._padding_mask(key_padding_mask, q, N, S)
        if extra:
            attn, padding = _pad_keys(attn, extra, q), _pad_keys(padding, extra, q)
        mask = _add_masks(attn, padding)
        p_drop = self.dropout if self.training else 0.0
        if need_weights:
            weights = _probabilities(q, k, mask, False, 1.0 / np.sqrt(D), p_drop)
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p_drop)
            weights = None
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            out = out.squeeze(1)
            weights = weights.squeeze(0) if weights is not None else None
        elif self.batch_first:
            out = out.swapaxes(0, 1)
        return out, weights

    def _attn_mask(self, attn_mask, like, N, L, S):
        m = _float_mask(attn_mask, like, "attn_mask")
        if m is None:
            return None
        if m.shape == (L, S):
            return m
        if m.shape == (N * self.num_heads, L, S):
            return m.reshape(N, self.num_heads, L, S)
        raise ShapeError(f"MultiheadAttention: attn_mask of shape {tuple(m.shape)}, expected {(L, S)} or "
                         f"{(N * self.num_heads, L, S)}")

    def _padding_mask(self, key_padding_mask, like, N, S):
        m = _float_mask(key_padding_mask, like, "key_padding_mask")
        if m is None:
            return None
        if m.shape != (N, S):
            raise ShapeError(f"MultiheadAttention: key_padding_mask of shape {tuple(m.shape)}, expected {(N, S)}")
        return m.reshape(N, 1, 1, S)

    def extra_repr(self):
        return ""  # PyTorch's repr shows only out_proj

