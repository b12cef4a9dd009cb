"""Gradcheck cases for the ops that issue 13's op_db run brought to PyTorch's meaning: max_unpool1d/2d/3d,
return_indices and divisor_override in the pools, pinv(hermitian=True), svd(full_matrices=True), qr of a
wide matrix, pad's negative widths, broadcasting cosine_similarity / cross / tensordot, nll_loss on (C,),
as_strided and its copy / scatter. Tiny shapes; NumPy references."""

import math

import numpy as np

import tensorcore as tc

from ..ops import bessel as BE
from ..ops import linalg_more as LM
from ..ops import losses as L
from ..ops import nn as NN
from ..ops import nn_more as NM
from ..ops import numeric as NU
from ..ops import polynomials as PN
from ..ops import pool as PO
from ..ops import pool_nd as P
from ..ops import products as PR
from ..ops import strided as ST
from ..ops import svd_qr as SQ
from ..ops import unpool as U
from ..ops.layout import tril
from ..ops.padding import pad
from .cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _distinct(rng, *shape):
    """Distinct values (no ties in a max), well apart for finite differences."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.25 + rng.uniform(-0.05, 0.05, shape)


def _out(n, k, s, p, ceil):
    """PyTorch's pooled length (ceil mode drops a last window that starts past the input and its left pad)."""
    span = n + 2 * p - k
    o = (-(-span // s) if ceil else span // s) + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


def _sum_pool(x, k, s, p, ceil=False):
    """Sum over each window of the last len(k) dims, zero padding."""
    nd = len(k)
    sizes = x.shape[-nd:]
    outs = [_out(sizes[a], k[a], s[a], p[a], ceil) for a in range(nd)]
    xp = np.pad(x, [(0, 0)] * (x.ndim - nd) + [(p[a], p[a] + k[a] + s[a]) for a in range(nd)])
    out = np.zeros(x.shape[:-nd] + tuple(outs))
    for idx in np.ndindex(*outs):
        window = tuple(slice(idx[a] * s[a], idx[a] * s[a] + k[a]) for a in range(nd))
        out[(Ellipsis,) + idx] = xp[(Ellipsis,) + window].sum(axis=tuple(range(-nd, 0)))
    return out


def _max_pool3d_ref(x):
    n, c, d, h, w = x.shape
    return x.reshape(n, c, d // 2, 2, h // 2, 2, w // 2, 2).max(axis=(3, 5, 7))


def _adaptive_max_ref(x, sizes):
    out = np.zeros(x.shape[:2] + sizes)
    for i, j in np.ndindex(*sizes):
        (h0, h1), (w0, w1) = [((a * n) // o, -((-(a + 1) * n) // o)) for a, n, o in zip((i, j), x.shape[2:], sizes)]
        out[:, :, i, j] = x[:, :, h0:h1, w0:w1].max(axis=(2, 3))
    return out


# switches from the pools, as max_unpool gets them (unique: non-overlapping windows)
_SRC1 = np.random.default_rng(5).permutation(12).reshape(1, 2, 6) * 1.0
_IDX1 = P.max_pool1d(tc.tensor(_SRC1), 2, return_indices=True)[1]
_SRC3 = np.random.default_rng(6).permutation(16).reshape(1, 1, 2, 2, 4) * 1.0
_IDX3 = P.max_pool3d(tc.tensor(_SRC3), 2, return_indices=True)[1]


def _unpool_ref(v, idx, shape):
    out = np.zeros(shape[:2] + (int(np.prod(shape[2:])),))
    np.put_along_axis(out, idx.numpy().reshape(shape[0], shape[1], -1), v.reshape(shape[0], shape[1], -1), axis=2)
    return out.reshape(shape)


def _degree3(name):
    fn = getattr(PN, name)
    return lambda x: fn(x, 3)


def _multi_margin_ref(x, t, p=1, margin=1.0):
    n, c = x.shape
    z = np.maximum(margin - x[np.arange(n), t][:, None] + x, 0) ** p
    z[np.arange(n), t] = 0
    return z.sum(1).mean() / c


def _multilabel_ref(x, labels):
    n, c = x.shape
    loss = np.zeros(n)
    for r in range(n):
        others = [i for i in range(c) if i not in labels[r]]
        loss[r] = sum(max(0, 1 - (x[r, j] - x[r, i])) for j in labels[r] for i in others) / c
    return loss.mean()


def _np_gradient(x, h, axis, edge_order):
    return np.gradient(x, h, axis=axis, edge_order=edge_order)


def _bessel_i1(x):
    """I_1 by its series (40 terms: |x| <= 3 here)."""
    return sum((x / 2) ** (2 * k + 1) / (math.factorial(k) * math.factorial(k + 1)) for k in range(40))


def _const(a, like):
    return tc.tensor(a, dtype=like.dtype, device=like.device)


def _crop_pad(x, widths, mode):
    """np.pad after cropping the negative widths (last dim first, as PyTorch's pad tuple)."""
    for i in range(len(widths) // 2):
        d, lo, hi = x.ndim - 1 - i, widths[2 * i], widths[2 * i + 1]
        x = x[(slice(None),) * d + (slice(max(-lo, 0), x.shape[d] - max(-hi, 0)),)]
    pads = [(0, 0)] * x.ndim
    for i in range(len(widths) // 2):
        pads[x.ndim - 1 - i] = (max(widths[2 * i], 0), max(widths[2 * i + 1], 0))
    return np.pad(x, pads, mode={"replicate": "edge", "circular": "wrap"}.get(mode, mode))


def _strided_ref(x, size, stride, offset):
    flat = np.ascontiguousarray(x).reshape(-1)
    return np.lib.stride_tricks.as_strided(flat[offset:], size, tuple(s * flat.itemsize for s in stride)).copy()


def _scatter_ref(x, src, size, stride, offset):
    out = np.ascontiguousarray(x).copy().reshape(-1)
    np.lib.stride_tricks.as_strided(out[offset:], size, tuple(s * out.itemsize for s in stride))[...] = src
    return out.reshape(x.shape)


CASES = [
    # unpooling: the values written back at their switches; the gradient gathers g there
    OpCase("max_unpool1d", lambda r: (_n(r, 1, 2, 3),), lambda v: U.max_unpool1d(v, _IDX1, 2),
           lambda v: _unpool_ref(v, _IDX1, (1, 2, 6))),
    OpCase("max_unpool3d", lambda r: (_n(r, 1, 1, 1, 1, 2),), lambda v: U.max_unpool3d(v, _IDX3, 2),
           lambda v: _unpool_ref(v, _IDX3, (1, 1, 2, 2, 4))),
    OpCase("max_unpool2d", lambda r: (_n(r, 1, 1, 2, 2),),
           lambda v: U.max_unpool("max_unpool2d", v, tc.tensor([[[[0, 3], [9, 14]]]]), 2, None, 0, (1, 1, 4, 5), 2),
           lambda v: _unpool_ref(v, tc.tensor([[[[0, 3], [9, 14]]]]), (1, 1, 4, 5)), label="4-d output_size"),
    # the pools' switches and divisors
    OpCase("max_pool3d", lambda r: (_distinct(r, 1, 1, 2, 2, 4),), lambda x: P.max_pool3d(x, 2, return_indices=True)[0],
           _max_pool3d_ref, label="return_indices"),
    OpCase("adaptive_max_pool2d", lambda r: (_distinct(r, 1, 2, 3, 5),),
           lambda x: P.adaptive_max_pool2d(x, (2, 3), return_indices=True)[0],
           lambda x: _adaptive_max_ref(x, (2, 3)), label="return_indices"),
    OpCase("avg_pool2d", lambda r: (_n(r, 1, 1, 4, 4),), lambda x: PO.avg_pool2d(x, 3, 1, 1, False, True, 2),
           lambda x: _sum_pool(x, (3, 3), (1, 1), (1, 1)) / 2, label="divisor_override"),
    OpCase("avg_pool2d", lambda r: (_n(r, 1, 1, 5, 5),), lambda x: PO.avg_pool2d(x, 2, 2, 0, True, False, 3),
           lambda x: _sum_pool(x, (2, 2), (2, 2), (0, 0), ceil=True) / 3, label="divisor_override ceil"),
    OpCase("avg_pool3d", lambda r: (_n(r, 1, 1, 3, 3, 3),), lambda x: P.avg_pool3d(x, 2, 1, divisor_override=-3),
           lambda x: _sum_pool(x, (2, 2, 2), (1, 1, 1), (0, 0, 0)) / -3, label="divisor_override"),
    # linear algebra
    OpCase("pinv", lambda r: (_n(r, 2, 2) + np.diag([1.0, 3.0]),), lambda a: SQ.pinv(a + a.mT, hermitian=True),
           lambda a: np.linalg.pinv(a + a.T), label="hermitian"),
    OpCase("svd", lambda r: (_n(r, 3, 2),), lambda a: SQ.svd(a, full_matrices=True).U[:, :2].abs(),
           lambda a: np.abs(np.linalg.svd(a)[0][:, :2]), label="full_matrices"),
    OpCase("qr", lambda r: (_n(r, 2, 3),), lambda a: SQ.qr(a, mode="complete").R.abs(),
           lambda a: np.abs(np.linalg.qr(a)[1]), label="wide"),
    OpCase("tensordot", lambda r: (_n(r, 1, 2), _n(r, 2, 2, 1)), lambda a, b: PR.tensordot(a, b, ([0, 1], [0, 1])),
           lambda a, b: np.tensordot(a, b.sum(0, keepdims=True), ([0, 1], [0, 1])), label="size-1 broadcast",
           gradgrad=False),
    OpCase("cross", lambda r: (_n(r, 1, 3), _n(r, 2, 3)), lambda a, b: PR.cross(a, b, dim=1),
           lambda a, b: np.cross(a, b, axis=1), label="broadcast"),
    # nn.functional
    OpCase("cosine_similarity", lambda r: (_n(r, 1, 2, 3), _n(r, 2, 1, 3)),
           lambda a, b: L.cosine_similarity(a, b, dim=-2),
           lambda a, b: (lambda x, y: (x * y).sum(-2) / np.sqrt((x * x).sum(-2) * (y * y).sum(-2)))(
               *np.broadcast_arrays(a, b)), label="broadcast along dim"),
    OpCase("nll_loss", lambda r: (_n(r, 4),), lambda x: NN.nll_loss(x, tc.tensor(2, device=x.device), reduction="none"),
           lambda x: -x[2], label="unbatched"),
    OpCase("functional_pad", lambda r: (_n(r, 2, 3, 4),), lambda x: pad(x, (-1, 2, 1, -1), mode="replicate"),
           lambda x: _crop_pad(x, (-1, 2, 1, -1), "replicate"), label="replicate negative"),
    OpCase("functional_pad", lambda r: (_n(r, 2, 3, 4),), lambda x: pad(x, (-1, 1), mode="reflect"),
           lambda x: _crop_pad(x, (-1, 1), "reflect"), label="reflect negative"),
    OpCase("functional_pad", lambda r: (_n(r, 2, 3, 4),), lambda x: pad(x, (1, -2, -1, 0), mode="circular"),
           lambda x: _crop_pad(x, (1, -2, -1, 0), "circular"), label="circular negative"),
    # storage views
    OpCase("as_strided", lambda r: (_n(r, 3, 3),), lambda x: ST.as_strided(x.contiguous(), (2, 2), (1, 2), 1),
           lambda x: _strided_ref(x, (2, 2), (1, 2), 1)),
    OpCase("as_strided", lambda r: (_n(r, 4),), lambda x: ST.as_strided(x.contiguous(), (3, 2), (1, 1)),
           lambda x: _strided_ref(x, (3, 2), (1, 1), 0), label="overlapping"),
    OpCase("as_strided_copy", lambda r: (_n(r, 6),), lambda x: ST.as_strided_copy(x.contiguous(), (2, 2), (2, 1), 1),
           lambda x: _strided_ref(x, (2, 2), (2, 1), 1)),
    OpCase("as_strided_scatter", lambda r: (_n(r, 3, 3), _n(r, 2, 2)),
           lambda x, s: ST.as_strided_scatter(x.contiguous(), s, (2, 2), (1, 3), 1),
           lambda x, s: _scatter_ref(x, s, (2, 2), (1, 3), 1), requires_grad=(False, True)),
    # linalg_more.py and nn_more.py: compositions (2 x 2: each matmul is a simulated GEMM on cuda); where a
    # composition's double backward is its parts' (matmul, solve, inv: gradgradchecked by their own cases), it
    # is not gradgradchecked again
    OpCase("logdet", lambda r: (_n(r, 2, 2) + 3 * np.eye(2),), LM.logdet, lambda a: np.log(np.linalg.det(a))),
    OpCase("inner", lambda r: (_n(r, 2, 3), _n(r, 1, 3)), LM.inner, np.inner, gradgrad=False),
    OpCase("addr", lambda r: (_n(r, 2, 3), _n(r, 2), _n(r, 3)), lambda c, a, b: LM.addr(c, a, b, beta=0.5, alpha=2),
           lambda c, a, b: 0.5 * c + 2 * np.outer(a, b)),
    OpCase("multi_dot", lambda r: (_n(r, 2), _n(r, 2, 2), _n(r, 2)), lambda a, b, c: LM.multi_dot([a, b, c]),
           lambda a, b, c: np.linalg.multi_dot([a, b, c]), gradgrad=False),
    OpCase("vander", lambda r: (_n(r, 3),), lambda x: LM.vander(x, N=3), lambda x: np.vander(x, 3, increasing=True)),
    OpCase("cholesky_solve", lambda r: (_n(r, 2, 1), _n(r, 2, 2) + 2 * np.eye(2)),
           lambda b, l: LM.cholesky_solve(b, tril(l)), lambda b, l: np.linalg.solve(np.tril(l) @ np.tril(l).T, b),
           gradgrad=False),
    OpCase("cholesky_inverse", lambda r: (_n(r, 2, 2) + 2 * np.eye(2),),
           lambda l: LM.cholesky_inverse(tril(l).mT, True), lambda l: np.linalg.inv(np.tril(l) @ np.tril(l).T),
           gradgrad=False),
    OpCase("solve_triangular", lambda r: (_n(r, 2, 2) + 3 * np.eye(2), _n(r, 2, 1)),
           lambda a, b: LM.solve_triangular(a, b, upper=True), lambda a, b: np.linalg.solve(np.triu(a), b)),
    OpCase("triangular_solve", lambda r: (_n(r, 2, 1), _n(r, 2, 2) + 3 * np.eye(2)),
           lambda b, a: LM.triangular_solve(b, a, upper=False, transpose=True, unitriangular=True).solution,
           lambda b, a: np.linalg.solve((np.tril(a, -1) + np.eye(2)).T, b)),
    OpCase("matrix_rank", lambda r: (np.outer(_n(r, 3), _n(r, 3)) + np.outer(_n(r, 3), _n(r, 3)),), LM.matrix_rank,
           np.linalg.matrix_rank, differentiable=False),
    OpCase("cond", lambda r: (_n(r, 2, 2) + 3 * np.eye(2),), lambda a: LM.cond(a, 1), lambda a: np.linalg.cond(a, 1)),
    OpCase("bilinear", lambda r: (_n(r, 2, 2), _n(r, 2, 3), _n(r, 2, 2, 3), _n(r, 2)), NM.bilinear,
           lambda a, b, w, c: np.einsum("bi,oij,bj->bo", a, w, b) + c),
    OpCase("channel_shuffle", lambda r: (_n(r, 1, 4, 2),), lambda x: NM.channel_shuffle(x, 2),
           lambda x: x.reshape(1, 2, 2, 2).transpose(0, 2, 1, 3).reshape(1, 4, 2)),
    OpCase("pdist", lambda r: (_n(r, 3, 2),), NM.pdist,
           lambda x: np.sqrt(((x[[0, 0, 1]] - x[[1, 2, 2]]) ** 2).sum(-1))),
    # torch.special's polynomials at n = 3 (forward only, as PyTorch), against their closed forms
    *[OpCase(f"special.{name}", lambda r: (r.uniform(-0.9, 0.9, (2, 3)),), _degree3(name), ref,
             differentiable=False, label="n=3")
      for name, ref in [
          ("chebyshev_polynomial_t", lambda x: 4 * x**3 - 3 * x),
          ("chebyshev_polynomial_u", lambda x: 8 * x**3 - 4 * x),
          ("chebyshev_polynomial_v", lambda x: 8 * x**3 - 4 * x**2 - 4 * x + 1),
          ("chebyshev_polynomial_w", lambda x: 8 * x**3 + 4 * x**2 - 4 * x - 1),
          ("shifted_chebyshev_polynomial_t", lambda x: 4 * (2 * x - 1)**3 - 3 * (2 * x - 1)),
          ("shifted_chebyshev_polynomial_u", lambda x: 8 * (2 * x - 1)**3 - 4 * (2 * x - 1)),
          ("shifted_chebyshev_polynomial_v", lambda x: (lambda y: 8 * y**3 - 4 * y**2 - 4 * y + 1)(2 * x - 1)),
          ("shifted_chebyshev_polynomial_w", lambda x: (lambda y: 8 * y**3 + 4 * y**2 - 4 * y - 1)(2 * x - 1)),
          ("hermite_polynomial_h", lambda x: 8 * x**3 - 12 * x),
          ("hermite_polynomial_he", lambda x: x**3 - 3 * x),
          ("laguerre_polynomial_l", lambda x: (-x**3 + 9 * x**2 - 18 * x + 6) / 6),
          ("legendre_polynomial_p", lambda x: (5 * x**3 - 3 * x) / 2)]],
    OpCase("tensorinv", lambda r: (_n(r, 2, 2, 4) + 3 * np.eye(4).reshape(2, 2, 4),), lambda a: LM.tensorinv(a, 2),
           lambda a: np.linalg.tensorinv(a, 2), gradgrad=False),
    OpCase("tensorsolve", lambda r: (_n(r, 2, 2, 4) + 3 * np.eye(4).reshape(2, 2, 4), _n(r, 2, 2)), LM.tensorsolve,
           np.linalg.tensorsolve, gradgrad=False),
    OpCase("multi_margin_loss", lambda r: (_n(r, 3, 4),),
           lambda x: NM.multi_margin_loss(x, tc.tensor([1, 0, 3], device=x.device), p=2, margin=0.7),
           lambda x: _multi_margin_ref(x, np.array([1, 0, 3]), 2, 0.7)),
    OpCase("multilabel_margin_loss", lambda r: (_n(r, 2, 4),),
           lambda x: NM.multilabel_margin_loss(x, tc.tensor([[3, 0, -1, 1], [1, 2, 1, -1]], device=x.device)),
           lambda x: _multilabel_ref(x, [[3, 0], [1, 2, 1]])),
    OpCase("gradient", lambda r: (_n(r, 3, 4),), lambda x: NU.gradient(x, spacing=[0.5, 2.0], edge_order=2),
           lambda x: np.concatenate([g.reshape(-1) for g in np.gradient(x, 0.5, 2.0, edge_order=2)])),
    OpCase("gradient", lambda r: (_n(r, 4),), lambda x: NU.gradient(x, spacing=[_const([0.0, 0.5, 2.0, 2.5], x)]),
           lambda x: np.gradient(x, np.array([0.0, 0.5, 2.0, 2.5])), label="coordinates"),
    OpCase("constant_pad_nd", lambda r: (_n(r, 2, 3),), lambda x: NU.constant_pad_nd(x, (1, -1, 0, 2), 0.5),
           lambda x: np.pad(x[:, :-1], ((0, 2), (1, 0)), constant_values=0.5)),
    OpCase("split_with_sizes_copy", lambda r: (_n(r, 2, 5),), lambda x: NU.split_with_sizes_copy(x, [2, 3], 1),
           lambda x: np.concatenate([x[:, :2].reshape(-1), x[:, 2:].reshape(-1)])),
    # modified Bessel functions (ops/bessel.py)
    OpCase("i0", lambda r: (r.uniform(-3, 3, (2, 3)),), BE.i0, np.i0),
    OpCase("special.i1", lambda r: (r.uniform(-3, 3, (2, 3)),), BE.i1, _bessel_i1),
    OpCase("special.i0e", lambda r: (r.uniform(-3, 3, (2, 3)),), BE.i0e, lambda x: np.i0(x) * np.exp(-np.abs(x))),
    OpCase("special.i1e", lambda r: (r.uniform(-3, 3, (2, 3)),), BE.i1e, lambda x: _bessel_i1(x) * np.exp(-np.abs(x))),
    OpCase("einsum", lambda r: (_n(r, 2, 2, 3), _n(r, 1, 3)), lambda a, b: PR.einsum("b...i,...i->b...", a, b),
           lambda a, b: np.einsum("b...i,...i->b...", a, b), label="ellipsis broadcast", gradgrad=False),
    OpCase("einsum", lambda r: (_n(r, 2, 3, 2),), lambda a: PR.einsum("iji->j", a), lambda a: np.einsum("iji->j", a),
           label="diagonal"),
    OpCase("lstsq", lambda r: (_n(r, 3, 2), _n(r, 3, 1)), lambda a, b: LM.lstsq(a, b, driver="gelsd")[:2],
           lambda a, b: np.concatenate([np.linalg.lstsq(a, b, rcond=None)[0].reshape(-1),
                                        np.linalg.lstsq(a, b, rcond=None)[1].reshape(-1)]), gradgrad=False),
    OpCase("matrix_exp", lambda r: (_n(r, 2, 2),), LM.matrix_exp,
           lambda a: sum(np.linalg.matrix_power(a, k) / math.factorial(k) for k in range(30))),
    OpCase("special.zeta", lambda r: (r.uniform(1.5, 4, (2, 3)), r.uniform(0.5, 3, (2, 3))), BE.zeta,
           lambda x, q: sum((k + q) ** -x for k in range(200000)) + (199999.5 + q) ** (1 - x) / (x - 1),
           differentiable=False, rtol=1e-6),
]
