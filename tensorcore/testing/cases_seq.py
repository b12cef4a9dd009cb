"""Gradcheck cases of the sequence-model ops: embedding, layer/rms/group norm, attention, RNN layers."""

import numpy as np

import tensorcore.nn.functional as F

try:
    from tensorcore.testing.cases import OpCase
except ImportError:  # before the cases package moved: the same dataclass in ops/cases.py
    from tensorcore.ops.cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


_IDX = np.array([[1, 2, 0], [3, 2, 2]])
_NOT_PAD = (_IDX != 2)[..., None].astype(np.float64)
_BOOL_MASK = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])


def _ln_ref(x, w, b, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def _sdpa_ref(q, k, v, mask=None, causal=False):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        mask = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool))
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True) @ v


CASES = [
    OpCase("embedding", lambda r: (_n(r, 5, 3),), lambda w: F.embedding(_IDX, w), lambda w: w[_IDX]),
    # the padding row gets no gradient: the check multiplies its picks by 0 so the numeric gradient agrees
    OpCase("embedding", lambda r: (_n(r, 5, 3),), lambda w: F.embedding(_IDX, w, padding_idx=2) * _NOT_PAD,
           lambda w: w[_IDX] * _NOT_PAD, label="padding_idx"),
    OpCase("layer_norm", lambda r: (_n(r, 3, 4, 5), _n(r, 5), _n(r, 5)),
           lambda x, w, b: F.layer_norm(x, (5,), w, b), _ln_ref),
    OpCase("layer_norm", lambda r: (_n(r, 2, 3, 4),), lambda x: F.layer_norm(x, (3, 4)),
           lambda x: _ln_ref(x.reshape(2, 12), 1.0, 0.0).reshape(2, 3, 4), label="2 axes, no affine"),
    OpCase("rms_norm", lambda r: (_n(r, 3, 5), _n(r, 5)), lambda x, w: F.rms_norm(x, (5,), w, eps=1e-6),
           lambda x, w: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w),
    OpCase("group_norm", lambda r: (_n(r, 2, 6, 3), _n(r, 6), _n(r, 6)), lambda x, w, b: F.group_norm(x, 3, w, b),
           lambda x, w, b: (_ln_ref(x.reshape(6, 6), 1.0, 0.0).reshape(2, 6, 3) * w[:, None] + b[:, None])),
    OpCase("scaled_dot_product_attention", lambda r: (_n(r, 2, 3, 4), _n(r, 2, 4, 4), _n(r, 2, 4, 3)),
           F.scaled_dot_product_attention, _sdpa_ref),
    OpCase("scaled_dot_product_attention", lambda r: (_n(r, 2, 4, 3), _n(r, 2, 4, 3), _n(r, 2, 4, 2)),
           lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
           lambda q, k, v: _sdpa_ref(q, k, v, causal=True), label="causal"),
    OpCase("scaled_dot_product_attention", lambda r: (_n(r, 2, 3, 4), _n(r, 2, 4, 4), _n(r, 2, 4, 3)),
           lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=_BOOL_MASK),
           lambda q, k, v: _sdpa_ref(q, k, v, _BOOL_MASK), label="bool mask"),
    OpCase("scaled_dot_product_attention", lambda r: (_n(r, 2, 3, 4), _n(r, 2, 4, 4), _n(r, 2, 4, 3), _n(r, 3, 4)),
           lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
           lambda q, k, v, m: _sdpa_ref(q, k, v, m), label="float mask with grad"),
]
