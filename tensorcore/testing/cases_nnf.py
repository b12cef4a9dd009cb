"""Gradcheck cases for the nn.functional ops of ops/losses.py, padding.py, conv_nd.py, pool_nd.py (and ceil_mode,
conv_transpose2d output_padding), with NumPy references where they are short."""

import numpy as np

import tensorcore as tc

from ..ops import conv_nd as C
from ..ops import dropout_nd as DN
from ..ops import fold as FO
from ..ops import losses as L
from ..ops import pool_nd as P
from ..ops import resample as RS
from ..ops.padding import pad
from .cases import OpCase

_SIGNS = np.array([[1.0, -1.0, 1.0, -1.0], [-1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, 1.0]])
_SIGN3 = np.array([1.0, -1.0, 1.0])
_PROBS = np.array([[0.1, 0.7, 0.0, 1.0], [0.5, 0.2, 0.9, 0.3], [1.0, 0.0, 0.6, 0.4]])
_COUNTS = np.array([[0.0, 1.0, 2.0, 5.0], [3.0, 0.0, 1.0, 1.5], [7.0, 2.0, 0.5, 4.0]])


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _t(a, like=None):
    """A constant input (targets, weights) in `like`'s dtype and on its device."""
    return tc.tensor(a, dtype=None if like is None else like.dtype, device=None if like is None else like.device)


def _softplus(x):
    return np.logaddexp(0, x)


def _huber(d, delta):
    a = np.abs(d)
    return np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def _norm(x, p, axis, keepdims=False):
    return (np.abs(x) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)


def _cos_embed(a, b, y, margin):
    cos = (a * b).sum(-1) / np.sqrt(((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12))
    return np.where(y == 1, 1 - cos, np.maximum(cos - margin, 0)).mean()


def _triplet(a, p, n, margin=1.0, pn=2, swap=False):
    dp, dn = _norm(a - p + 1e-6, pn, -1), _norm(a - n + 1e-6, pn, -1)
    if swap:
        dn = np.minimum(dn, _norm(p - n + 1e-6, pn, -1))
    return np.maximum(margin + dp - dn, 0).mean()


CASES = [
    OpCase("l1_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), L.l1_loss, lambda x, y: np.abs(x - y).mean()),
    OpCase("l1_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), lambda x, y: L.l1_loss(x, y, reduction="none"),
           lambda x, y: np.abs(x - y), label="none"),
    OpCase("smooth_l1_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), lambda x, y: L.smooth_l1_loss(x, y, beta=0.7),
           lambda x, y: np.where(np.abs(x - y) < 0.7, 0.5 * (x - y) ** 2 / 0.7, np.abs(x - y) - 0.35).mean()),
    OpCase("huber_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), lambda x, y: L.huber_loss(x, y, "sum", delta=0.8),
           lambda x, y: _huber(x - y, 0.8).sum()),
    OpCase("kl_div", lambda r: (np.log(r.uniform(0.1, 1, (3, 4))), r.uniform(0.1, 1, (3, 4))),
           lambda x, t: L.kl_div(x, t, reduction="batchmean"), lambda x, t: (t * (np.log(t) - x)).sum() / 3),
    OpCase("kl_div", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), lambda x, t: L.kl_div(x, t, log_target=True),
           lambda x, t: (np.exp(t) * (t - x)).mean(), label="log_target"),
    OpCase("binary_cross_entropy", lambda r: (r.uniform(0.05, 0.95, (3, 4)),),
           lambda p: L.binary_cross_entropy(p, _t(_PROBS, p), weight=_t(np.arange(1.0, 5.0), p)),
           lambda p: (-(_PROBS * np.log(p) + (1 - _PROBS) * np.log(1 - p)) * np.arange(1.0, 5.0)).mean()),
    OpCase("soft_margin_loss", lambda r: (_n(r, 3, 4),), lambda x: L.soft_margin_loss(x, _t(_SIGNS, x)),
           lambda x: _softplus(-_SIGNS * x).mean()),
    OpCase("multilabel_soft_margin_loss", lambda r: (_n(r, 3, 4),),
           lambda x: L.multilabel_soft_margin_loss(x, _t((_SIGNS > 0) * 1.0, x),
                                                     weight=_t(np.array([1.0, 2, 3, 4]), x)),
           lambda x: ((_softplus(-x) * (_SIGNS > 0) + _softplus(x) * (_SIGNS < 0)) * np.array([1.0, 2, 3, 4]))
           .mean(axis=1).mean()),
    OpCase("margin_ranking_loss", lambda r: (_n(r, 4), _n(r, 4)),
           lambda a, b: L.margin_ranking_loss(a, b, _t(_SIGNS[0], a), margin=0.1),
           lambda a, b: np.maximum(-_SIGNS[0] * (a - b) + 0.1, 0).mean()),
    OpCase("hinge_embedding_loss", lambda r: (_n(r, 3, 4),),
           lambda x: L.hinge_embedding_loss(x, _t(_SIGNS, x), margin=0.5, reduction="sum"),
           lambda x: np.where(_SIGNS == 1, x, np.maximum(0.5 - x, 0)).sum()),
    OpCase("cosine_embedding_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4)),
           lambda a, b: L.cosine_embedding_loss(a, b, _t(_SIGN3, a), margin=-0.2),
           lambda a, b: _cos_embed(a, b, _SIGN3, -0.2)),
    OpCase("pairwise_distance", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), lambda a, b: L.pairwise_distance(a, b, p=3.0),
           lambda a, b: _norm(a - b + 1e-6, 3.0, -1)),
    OpCase("triplet_margin_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4), _n(r, 3, 4)),
           lambda a, p, n: L.triplet_margin_loss(a, p, n, margin=2.0, swap=True),
           lambda a, p, n: _triplet(a, p, n, 2.0, swap=True)),
    OpCase("poisson_nll_loss", lambda r: (_n(r, 3, 4),), lambda x: L.poisson_nll_loss(x, _t(_COUNTS, x), full=True),
           lambda x: (np.exp(x) - _COUNTS * x + np.where(_COUNTS > 1, _COUNTS * np.log(np.maximum(_COUNTS, 1))
                      - _COUNTS + 0.5 * np.log(2 * np.pi * np.maximum(_COUNTS, 1)), 0)).mean()),
    OpCase("poisson_nll_loss", lambda r: (r.uniform(0.5, 2, (3, 4)),),
           lambda x: L.poisson_nll_loss(x, _t(_COUNTS, x), log_input=False),
           lambda x: (x - _COUNTS * np.log(x + 1e-8)).mean(), label="log_input=False"),
    OpCase("gaussian_nll_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4), r.uniform(0.5, 2, (3, 1))),
           lambda x, t, v: L.gaussian_nll_loss(x, t, v, full=True),
           lambda x, t, v: (0.5 * (np.log(v) + (x - t) ** 2 / v) + 0.5 * np.log(2 * np.pi)).mean()),
    OpCase("normalize", lambda r: (_n(r, 3, 4),), lambda x: L.normalize(x, p=3.0, dim=0),
           lambda x: x / _norm(x, 3.0, 0, keepdims=True)),
    OpCase("cosine_similarity", lambda r: (_n(r, 3, 4), _n(r, 1, 4)), lambda a, b: L.cosine_similarity(a, b, dim=1),
           lambda a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))),
    OpCase("functional_pad", lambda r: (_n(r, 2, 3, 4),), lambda x: pad(x, (1, -1, 2, 0), value=0.5),
           lambda x: np.pad(x[:, :, :3], ((0, 0), (2, 0), (1, 0)), constant_values=0.5), label="constant"),
    OpCase("functional_pad", lambda r: (_n(r, 2, 3, 4),), lambda x: pad(x, (2, 3, 1, 2), mode="reflect"),
           lambda x: np.pad(x, ((0, 0), (1, 2), (2, 3)), mode="reflect"), label="reflect"),
    OpCase("functional_pad", lambda r: (_n(r, 2, 3, 4),), lambda x: pad(x, (2, 1), mode="replicate"),
           lambda x: np.pad(x, ((0, 0), (0, 0), (2, 1)), mode="edge"), label="replicate"),
    OpCase("functional_pad", lambda r: (_n(r, 1, 2, 3, 4),), lambda x: pad(x, (1, 4, 0, 3, 2, 1), mode="circular"),
           lambda x: np.pad(x, ((0, 0), (2, 1), (0, 3), (1, 4)), mode="wrap"), label="circular"),
    OpCase("max_pool2d", lambda r: (r.permutation(42).reshape(1, 1, 6, 7) * 0.37,),
           lambda x: tc.ops.pool.max_pool2d(x, 3, 2, 1, ceil_mode=True), label="ceil_mode"),
    OpCase("avg_pool2d", lambda r: (_n(r, 1, 2, 5, 6),),
           lambda x: tc.ops.pool.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), label="ceil_mode"),
    OpCase("conv_transpose2d", lambda r: (_n(r, 1, 2, 3, 3), _n(r, 2, 2, 3, 2)),
           lambda x, w: tc.ops.conv.conv_transpose2d(x, w, stride=(1, 2), dilation=(3, 1), output_padding=(2, 1)),
           label="output_padding >= stride"),
    OpCase("conv1d", lambda r: (_n(r, 2, 4, 7), _n(r, 4, 2, 3), _n(r, 4)),
           lambda x, w, b: C.conv1d(x, w, b, stride=2, padding=1, dilation=1, groups=2)),
    OpCase("conv_transpose1d", lambda r: (_n(r, 1, 2, 4), _n(r, 2, 3, 3)),
           lambda x, w: C.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1)),
    OpCase("conv3d", lambda r: (_n(r, 1, 2, 3, 4, 3), _n(r, 2, 2, 2, 2, 2), _n(r, 2)),
           lambda x, w, b: C.conv3d(x, w, b, stride=(1, 2, 1), padding=(1, 0, 1))),
    OpCase("max_pool1d", lambda r: (r.permutation(14).reshape(1, 2, 7) * 0.37,),
           lambda x: P.max_pool1d(x, 3, 2, 1, ceil_mode=True)),
    OpCase("avg_pool1d", lambda r: (_n(r, 1, 2, 7),), lambda x: P.avg_pool1d(x, 3, 2, 1, count_include_pad=False)),
    OpCase("max_pool3d", lambda r: (r.permutation(60).reshape(1, 1, 3, 4, 5) * 0.37,),
           lambda x: P.max_pool3d(x, 2, (1, 2, 2), ceil_mode=True)),
    OpCase("avg_pool3d", lambda r: (_n(r, 1, 1, 3, 4, 5),), lambda x: P.avg_pool3d(x, (2, 2, 3), 2, (1, 1, 1))),
    OpCase("adaptive_avg_pool1d", lambda r: (_n(r, 1, 2, 7),), lambda x: P.adaptive_avg_pool1d(x, 3)),
    OpCase("adaptive_avg_pool3d", lambda r: (_n(r, 1, 1, 3, 4, 5),), lambda x: P.adaptive_avg_pool3d(x, (2, 3, 2))),
    OpCase("adaptive_max_pool1d", lambda r: (r.permutation(14).reshape(1, 2, 7) * 0.37,),
           lambda x: P.adaptive_max_pool1d(x, 3)),
    OpCase("adaptive_max_pool2d", lambda r: (r.permutation(30).reshape(1, 1, 5, 6) * 0.37,),
           lambda x: P.adaptive_max_pool2d(x, (3, 4))),
    OpCase("adaptive_max_pool3d", lambda r: (r.permutation(60).reshape(1, 1, 3, 4, 5) * 0.37,),
           lambda x: P.adaptive_max_pool3d(x, (2, 3, 3))),
    OpCase("pixel_shuffle", lambda r: (_n(r, 1, 8, 2, 3),), lambda x: RS.pixel_shuffle(x, 2),
           lambda x: x.reshape(1, 2, 2, 2, 2, 3).transpose(0, 1, 4, 2, 5, 3).reshape(1, 2, 4, 6)),
    OpCase("pixel_unshuffle", lambda r: (_n(r, 1, 2, 4, 6),), lambda x: RS.pixel_unshuffle(x, 2),
           lambda x: x.reshape(1, 2, 2, 2, 3, 2).transpose(0, 1, 3, 5, 2, 4).reshape(1, 8, 2, 3)),
    OpCase("interpolate", lambda r: (_n(r, 1, 2, 3, 4),), lambda x: RS.interpolate(x, scale_factor=2),
           lambda x: x.repeat(2, axis=2).repeat(2, axis=3), label="nearest"),
    OpCase("interpolate", lambda r: (_n(r, 1, 2, 3, 4),),
           lambda x: RS.interpolate(x, size=(5, 3), mode="bilinear", align_corners=True), label="bilinear"),
    OpCase("instance_norm", lambda r: (_n(r, 2, 3, 4, 5), _n(r, 3), _n(r, 3)),
           lambda x, w, b: DN.instance_norm(x, weight=w, bias=b),
           lambda x, w, b: (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
           * w.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1)),
    OpCase("dropout1d", lambda r: (_n(r, 2, 3, 4),), lambda x: DN.dropout1d(x, 0.5, training=False), lambda x: x,
           label="eval"),
    OpCase("dropout3d", lambda r: (_n(r, 2, 3, 2, 2, 2),), lambda x: DN.dropout3d(x, 0.0), lambda x: x, label="p=0"),
    OpCase("alpha_dropout", lambda r: (_n(r, 3, 4),), lambda x: DN.alpha_dropout(x, 0.3), lambda x: x,
           label="eval (the default)"),
    OpCase("feature_alpha_dropout", lambda r: (_n(r, 3, 4, 2),), lambda x: DN.feature_alpha_dropout(x, 0.3),
           lambda x: x, label="eval (the default)"),
    OpCase("unfold", lambda r: (_n(r, 1, 2, 4, 5),),
           lambda x: FO.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2)),
    OpCase("fold", lambda r: (_n(r, 1, 8, 9),), lambda x: FO.fold(x, (4, 5), 2, padding=1, stride=2)),
    OpCase("interpolate", lambda r: (_n(r, 1, 2, 3, 4),),
           lambda x: RS.interpolate(x, size=(5, 3), mode="bicubic"), label="bicubic"),
]
