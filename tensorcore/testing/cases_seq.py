"""Gradcheck cases of the sequence-model ops: embedding, layer/rms/group norm, attention, RNN layers."""

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.ops.rnn import rnn_layer
from tensorcore.testing.cases import OpCase


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


def _rnn_tanh_ref(x, h0, w_ih, w_hh, b_ih, b_hh):
    h, out = h0, []
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        out.append(h)
    return np.concatenate([np.stack(out).reshape(-1), h.reshape(-1)])


def _rnn_inputs(rng, gates, hidden=3, out=3, proj=False, bias=True, c0=False):
    T, B, In = 3, 2, 2
    arrays = [_n(rng, T, B, In) * 0.5, _n(rng, B, out) * 0.5] + ([_n(rng, B, hidden) * 0.5] if c0 else [])
    arrays += [_n(rng, gates * hidden, In) * 0.5, _n(rng, gates * hidden, out) * 0.5]
    arrays += [_n(rng, gates * hidden) * 0.5, _n(rng, gates * hidden) * 0.5] if bias else []
    return tuple(arrays + ([_n(rng, out, hidden) * 0.5] if proj else []))


# The RNN layers' backward is BPTT on arrays (once differentiable): gradcheck only.
_RNN_CASES = [
    OpCase("rnn_layer", lambda r: _rnn_inputs(r, 1),
           lambda x, h, wi, wh, bi, bh: rnn_layer(x, h, None, wi, wh, bi, bh, mode="RNN_TANH")[:2],
           _rnn_tanh_ref, gradgrad=False, label="tanh"),
    OpCase("rnn_layer", lambda r: _rnn_inputs(r, 1, bias=False),
           lambda x, h, wi, wh: rnn_layer(x, h, None, wi, wh, mode="RNN_RELU", reverse=True)[:2],
           gradgrad=False, label="relu, reverse, no bias"),
    OpCase("rnn_layer", lambda r: _rnn_inputs(r, 4, c0=True),
           lambda x, h, c, wi, wh, bi, bh: rnn_layer(x, h, c, wi, wh, bi, bh, mode="LSTM"),
           gradgrad=False, label="lstm"),
    OpCase("rnn_layer", lambda r: _rnn_inputs(r, 4, hidden=3, out=2, proj=True, c0=True),
           lambda x, h, c, wi, wh, bi, bh, wr: rnn_layer(x, h, c, wi, wh, bi, bh, wr, mode="LSTM",
                                                         batch_sizes=(2, 2, 1), reverse=True),
           gradgrad=False, label="lstm, proj_size, packed, reverse"),
    OpCase("rnn_layer", lambda r: _rnn_inputs(r, 3),
           lambda x, h, wi, wh, bi, bh: rnn_layer(x, h, None, wi, wh, bi, bh, mode="GRU", batch_sizes=(2, 1, 1))[:2],
           gradgrad=False, label="gru, packed"),
]

CASES = _RNN_CASES + [
    OpCase("embedding", lambda r: (_n(r, 5, 3),), lambda w: F.embedding(_IDX, w), lambda w: w[_IDX]),
    # the padding row gets no gradient: the check multiplies its picks by 0 so the numeric gradient agrees
    OpCase("embedding", lambda r: (_n(r, 5, 3),),
           lambda w: F.embedding(_IDX, w, padding_idx=2) * tc.tensor(_NOT_PAD, dtype=w.dtype, device=w.device),
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
