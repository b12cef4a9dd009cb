"""Cases of the reductions (reduce.py, stats.py), scans (scan.py) and ordering ops (sort.py), with NumPy
references. Inputs for max/min/sort-like ops have distinct values spaced wider than the finite-difference
step, so no choice flips under the perturbation."""

import numpy as np

import tensorcore as tc

from .cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _distinct(rng, *shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def _pos(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def _with_zeros(rng):
    x = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x[0, 1] = 0.0
    x[2, 0] = x[2, 3] = 0.0
    return (x,)


def _nan(rng):
    x = rng.standard_normal((3, 4))
    x[0, 2] = x[2, 1] = np.nan
    return (x,)


def _ties(rng):
    return (np.array([[1.0, 3.0, 3.0, 2.0], [0.5, 0.5, -1.0, 2.5]]),)


def _lower_median(x, axis):
    s = np.sort(x, axis=axis)
    return np.take(s, (x.shape[axis] - 1) // 2, axis=axis)


def _mode_ref(x):
    values = []
    for row in x:
        u, c = np.unique(row, return_counts=True)
        values.append(u[np.argmax(c)])
    return np.array(values)


def _logcumsumexp(x, axis):
    return np.logaddexp.accumulate(x, axis=axis)


def _cummax_idx(x):
    out = np.zeros(x.shape, dtype=np.int64)
    for i, row in enumerate(x):
        best = 0
        for j, v in enumerate(row):
            if v >= row[best]:
                best = j
            out[i, j] = best
    return out


CASES = [
    # sum / mean / prod with PyTorch's dim and keepdim (NumPy's axis / keepdims as aliases)
    OpCase("sum", lambda r: (_n(r, 2, 3, 4),), lambda x: x.sum((0, 2)), lambda x: x.sum(axis=(0, 2))),
    OpCase("sum", lambda r: (_n(r, 2, 3),), lambda x: tc.sum(x, dim=1, keepdim=True),
           lambda x: x.sum(axis=1, keepdims=True), label="keepdim"),
    OpCase("sum", lambda r: (_n(r, 2, 3),), lambda x: x.sum(axis=1, keepdims=True),
           lambda x: x.sum(axis=1, keepdims=True), label="numpy aliases"),
    OpCase("mean", lambda r: (_n(r, 2, 3, 4),), lambda x: x.mean(-1), lambda x: x.mean(axis=-1)),
    OpCase("mean", lambda r: (_n(r, 2, 3),), lambda x: x.mean(), lambda x: x.mean(), label="all"),
    OpCase("prod", lambda r: (_pos(r, 2, 3),), lambda x: x.prod(1), lambda x: x.prod(axis=1)),
    OpCase("prod", _with_zeros, lambda x: x.prod(1), lambda x: x.prod(axis=1), label="zeros", gradgrad=False),
    # extremes
    OpCase("amax", lambda r: (_distinct(r, 3, 4),), lambda x: tc.amax(x, (0, 1)), lambda x: x.max()),
    OpCase("amax", _ties, lambda x: tc.amax(x, 1), lambda x: x.max(axis=1), label="ties share",
           gradgrad=False),
    OpCase("amin", lambda r: (_distinct(r, 3, 4),), lambda x: x.amin(0, keepdim=True),
           lambda x: x.min(axis=0, keepdims=True)),
    OpCase("max", lambda r: (_distinct(r, 3, 4),), lambda x: x.max(1), lambda x: (x.max(1), x.argmax(1)),
           label="dim: (values, indices)"),
    OpCase("max", lambda r: (_distinct(r, 3, 4),), lambda x: x.max(), lambda x: x.max(), label="all"),
    OpCase("max", lambda r: (_distinct(r, 3, 4), _distinct(r, 4) + 0.11), tc.max, np.maximum, label="elementwise"),
    OpCase("min", lambda r: (_distinct(r, 3, 4),), lambda x: tc.min(x, 0, keepdim=True),
           lambda x: (x.min(0, keepdims=True), x.argmin(0)[None])),
    OpCase("aminmax", lambda r: (_distinct(r, 3, 4),), lambda x: tc.aminmax(x, dim=1),
           lambda x: (x.min(1), x.max(1))),
    OpCase("argmax", lambda r: (_distinct(r, 3, 4),), lambda x: x.argmax(dim=1, keepdim=True),
           lambda x: x.argmax(1)[:, None], differentiable=False),
    OpCase("argmin", lambda r: (_distinct(r, 3, 4),), lambda x: tc.argmin(x), lambda x: x.argmin(),
           differentiable=False),
    # logic and counting (no gradient)
    OpCase("all", lambda r: (_n(r, 3, 4),), lambda x: (x > -1).all(1), lambda x: (x > -1).all(1), differentiable=False),
    OpCase("any", lambda r: (_n(r, 3, 4),), lambda x: tc.any(x > 1, dim=0), lambda x: (x > 1).any(0),
           differentiable=False),
    OpCase("count_nonzero", _with_zeros, lambda x: x.count_nonzero(1), lambda x: (x != 0).sum(1), differentiable=False),
    # NaN-aware
    OpCase("nansum", _nan, lambda x: x.nansum(1), lambda x: np.nansum(x, 1)),
    OpCase("nanmean", _nan, lambda x: tc.nanmean(x, 0), lambda x: np.nanmean(x, 0)),
    OpCase("logsumexp", lambda r: (_n(r, 3, 4),), lambda x: x.logsumexp(1), lambda x: np.log(np.exp(x).sum(1))),
    OpCase("logsumexp", lambda r: (_n(r, 3, 4) * 300,), lambda x: tc.logsumexp(x, (0, 1), keepdim=True),
           lambda x: np.logaddexp.reduce(x.reshape(-1)).reshape(1, 1), label="large"),
    # spread (correction=1 by default, as PyTorch)
    OpCase("var", lambda r: (_n(r, 3, 4),), lambda x: x.var(1), lambda x: x.var(axis=1, ddof=1)),
    OpCase("var", lambda r: (_n(r, 3, 4),), lambda x: x.var(unbiased=False), lambda x: x.var(), label="unbiased=False"),
    OpCase("var", lambda r: (_n(r, 3, 4),), lambda x: tc.var(x, 0, correction=0, keepdim=True),
           lambda x: x.var(0, keepdims=True), label="correction=0"),
    OpCase("std", lambda r: (_n(r, 3, 4),), lambda x: x.std(0), lambda x: x.std(axis=0, ddof=1)),
    OpCase("var_mean", lambda r: (_n(r, 3, 4),), lambda x: tc.var_mean(x, 1), lambda x: (x.var(1, ddof=1), x.mean(1))),
    OpCase("std_mean", lambda r: (_n(r, 3, 4),), lambda x: tc.std_mean(x, (0, 1), correction=2),
           lambda x: (np.sqrt(((x - x.mean()) ** 2).sum() / 10), x.mean())),
    # norms
    OpCase("norm", lambda r: (_n(r, 3, 4),), lambda x: x.norm(), lambda x: np.sqrt((x * x).sum())),
    OpCase("norm", lambda r: (_n(r, 3, 4),), lambda x: tc.norm(x, 1, dim=1), lambda x: np.abs(x).sum(1), label="p=1"),
    OpCase("linalg.vector_norm", lambda r: (_n(r, 3, 4),), lambda x: tc.linalg.vector_norm(x, 3, 1),
           lambda x: (np.abs(x) ** 3).sum(1) ** (1 / 3)),
    OpCase("linalg.vector_norm", lambda r: (_distinct(r, 3, 4),),
           lambda x: tc.linalg.vector_norm(x, float("inf"), 0, keepdim=True),
           lambda x: np.abs(x).max(0, keepdims=True), label="inf"),
    OpCase("linalg.matrix_norm", lambda r: (_n(r, 2, 3, 4),), tc.linalg.matrix_norm,
           lambda x: np.linalg.norm(x, "fro", axis=(-2, -1))),
    OpCase("linalg.matrix_norm", lambda r: (_distinct(r, 3, 4),), lambda x: tc.linalg.matrix_norm(x, 1),
           lambda x: np.linalg.norm(x, 1), label="ord=1"),
    OpCase("linalg.matrix_norm", lambda r: (_n(r, 3, 4),), lambda x: tc.linalg.matrix_norm(x, "nuc"),
           lambda x: np.linalg.norm(x, "nuc"), label="nuc", gradgrad=False),
    # scans
    OpCase("cumsum", lambda r: (_n(r, 3, 4),), lambda x: x.cumsum(1), lambda x: x.cumsum(1)),
    OpCase("cumprod", lambda r: (_pos(r, 3, 4),), lambda x: x.cumprod(1), lambda x: x.cumprod(1)),
    OpCase("cumprod", _with_zeros, lambda x: tc.cumprod(x, 1), lambda x: x.cumprod(1), label="zeros"),
    OpCase("cummax", lambda r: (_distinct(r, 3, 5),), lambda x: x.cummax(1),
           lambda x: (np.maximum.accumulate(x, 1), _cummax_idx(x))),
    OpCase("cummin", lambda r: (_distinct(r, 3, 5),), lambda x: tc.cummin(x, 1),
           lambda x: (np.minimum.accumulate(x, 1), _cummax_idx(-x))),
    OpCase("logcumsumexp", lambda r: (_n(r, 3, 4) * 5,), lambda x: x.logcumsumexp(1), lambda x: _logcumsumexp(x, 1)),
    # ordering
    OpCase("sort", lambda r: (_distinct(r, 3, 4),), lambda x: x.sort(1),
           lambda x: (np.sort(x, 1), np.argsort(x, 1))),
    OpCase("sort", lambda r: (_distinct(r, 3, 4),), lambda x: tc.sort(x, 0, descending=True),
           lambda x: (-np.sort(-x, 0), np.argsort(-x, 0)), label="descending"),
    OpCase("argsort", lambda r: (_distinct(r, 3, 4),), lambda x: x.argsort(1), lambda x: np.argsort(x, 1),
           differentiable=False),
    OpCase("topk", lambda r: (_distinct(r, 3, 5),), lambda x: x.topk(2),
           lambda x: (-np.sort(-x, 1)[:, :2], np.argsort(-x, 1)[:, :2])),
    OpCase("topk", lambda r: (_distinct(r, 3, 5),), lambda x: tc.topk(x, 2, 0, largest=False),
           lambda x: (np.sort(x, 0)[:2], np.argsort(x, 0)[:2]), label="smallest"),
    OpCase("kthvalue", lambda r: (_distinct(r, 3, 5),), lambda x: x.kthvalue(2, 1),
           lambda x: (np.sort(x, 1)[:, 1], np.argsort(x, 1)[:, 1])),
    OpCase("median", lambda r: (_distinct(r, 3, 4),), lambda x: x.median(1),
           lambda x: (_lower_median(x, 1), np.argsort(x, 1)[:, 1])),
    OpCase("median", lambda r: (_distinct(r, 3, 5),), lambda x: x.median(), lambda x: _lower_median(x.reshape(-1), 0),
           label="all"),
    OpCase("nanmedian", _nan, lambda x: x.nanmedian(1),
           lambda x: (np.array([_lower_median(row[~np.isnan(row)], 0) for row in x]),
                      np.array([np.flatnonzero(row == _lower_median(row[~np.isnan(row)], 0))[0] for row in x]))),
    OpCase("mode", lambda r: (np.array([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 5.0, 5.0]]),), lambda x: x.mode(1).values,
           _mode_ref, differentiable=False),
    # searching and counting (no gradient, except bincount's weights)
    OpCase("unique", lambda r: (np.array([[2.0, 1.0], [2.0, 3.0]]),),
           lambda x: tc.unique(x, return_inverse=True, return_counts=True),
           lambda x: (np.array([1.0, 2.0, 3.0]), np.array([[1, 0], [1, 2]]), np.array([1, 2, 1])),
           differentiable=False),
    OpCase("searchsorted", lambda r: (np.array([0.5, 1.5, 2.5]), np.array([[0.0, 1.5], [3.0, 2.0]])),
           lambda s, v: tc.searchsorted(s, v, right=True), lambda s, v: np.searchsorted(s, v, side="right"),
           differentiable=False),
    OpCase("bucketize", lambda r: (np.array([0.0, 1.5, 3.0]), np.array([0.5, 1.5, 2.5])),
           lambda v, b: tc.bucketize(v, b), lambda v, b: np.searchsorted(b, v, side="left"), differentiable=False),
    OpCase("msort", lambda r: (_distinct(r, 3, 4),), lambda x: x.msort(), lambda x: np.sort(x, 0)),
    OpCase("unique_consecutive", lambda r: (np.array([1.0, 1.0, 2.0, 1.0, 1.0, 3.0]),),
           lambda x: tc.unique_consecutive(x, return_inverse=True, return_counts=True),
           lambda x: (np.array([1.0, 2.0, 1.0, 3.0]), np.array([0, 0, 1, 2, 2, 3]), np.array([2, 1, 2, 1])),
           differentiable=False),
    OpCase("isin", lambda r: (np.array([[1.0, 2.0], [3.0, 1.0]]),), lambda x: tc.isin(x, 1.0),
           lambda x: x == 1.0, differentiable=False),
    OpCase("quantile", lambda r: (_distinct(r, 3, 5),), lambda x: x.quantile(0.3, 1), lambda x: np.quantile(x, 0.3, 1)),
    OpCase("quantile", lambda r: (_distinct(r, 3, 5),), lambda x: tc.quantile(x, tc.tensor([0.2, 0.9], device=x.device,
                                                                                           dtype=x.dtype)),
           lambda x: np.quantile(x, [0.2, 0.9]), label="several q, all elements"),
    OpCase("nanquantile", _nan, lambda x: x.nanquantile(0.5, 1, interpolation="nearest"),
           lambda x: np.nanquantile(x, 0.5, 1, method="nearest")),
    OpCase("diff", lambda r: (_n(r, 3, 5),), lambda x: x.diff(), lambda x: np.diff(x)),
    OpCase("diff", lambda r: (_n(r, 3, 5),), lambda x: tc.diff(x, 2, 0, append=x[:1]),
           lambda x: np.diff(x, 2, 0, append=x[:1]), label="n=2, append"),
    OpCase("trapezoid", lambda r: (_n(r, 3, 4),), lambda y: tc.trapezoid(y, dx=0.5), lambda y: np.trapezoid(y, dx=0.5)),
    OpCase("cumulative_trapezoid", lambda r: (_n(r, 3, 4),), lambda y: tc.cumulative_trapezoid(y, dim=0),
           lambda y: np.cumsum((y[1:] + y[:-1]) / 2, 0)),
    OpCase("combinations", lambda r: (_n(r, 4),), lambda x: tc.combinations(x),
           lambda x: np.array([[x[i], x[j]] for i in range(4) for j in range(i + 1, 4)])),
    OpCase("histc", lambda r: (_n(r, 20),), lambda x: tc.histc(x, 4, -1, 1),
           lambda x: np.histogram(x, 4, (-1, 1))[0], differentiable=False),
    OpCase("unravel_index", lambda r: (_n(r, 2),), lambda x: tc.unravel_index(tc.tensor([3, 7, -1], device=x.device),
                                                                             (3, 4)),
           lambda x: np.unravel_index([3, 7, 11], (3, 4)), differentiable=False),
    OpCase("cov", lambda r: (_n(r, 3, 6),), lambda x: x.cov(), np.cov),
    OpCase("cov", lambda r: (_n(r, 3, 6), _pos(r, 6)), lambda x, w: tc.cov(x, aweights=w, correction=0),
           lambda x, w: np.cov(x, aweights=w, ddof=0), label="aweights"),
    OpCase("corrcoef", lambda r: (_n(r, 3, 6),), tc.corrcoef, np.corrcoef),
    OpCase("dist", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda a, b: tc.dist(a, b, 3),
           lambda a, b: (np.abs(a - b) ** 3).sum() ** (1 / 3)),
    OpCase("trapz", lambda r: (_n(r, 3, 4),), lambda y: tc.trapz(y, dim=0), lambda y: np.trapezoid(y, axis=0)),
    OpCase("renorm", lambda r: (_n(r, 3, 4),), lambda x: x.renorm(2, 0, 1.0),
           lambda x: x * np.where(np.linalg.norm(x, axis=1, keepdims=True) > 1.0,
                                  1.0 / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-7), 1.0)),
    OpCase("nonzero_static", lambda r: (_n(r, 3, 4),), lambda x: tc.nonzero_static(x > 0, size=20),
           lambda x: np.concatenate([np.argwhere(x > 0), np.full((20 - (x > 0).sum(), 2), -1)]), differentiable=False),
    OpCase("histogram", lambda r: (_n(r, 20),), lambda x: tc.histogram(x, 4, range=(-1.0, 1.0)),
           lambda x: np.histogram(x, 4, (-1, 1)), differentiable=False),
    OpCase("bincount", lambda r: (_n(r, 5),), lambda w: tc.bincount(tc.tensor([0, 2, 2, 4, 0], device=w.device), w),
           lambda w: np.bincount([0, 2, 2, 4, 0], w)),
]
