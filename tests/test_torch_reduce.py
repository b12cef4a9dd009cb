"""Reductions, scans, norms and ordering against PyTorch: the same call spelled the same way gives the same
values, dtypes, shapes, named tuples and gradients (float64). Includes the names whose meaning changed
from NumPy's: var/std (correction=1), max/min with dim ((values, indices)), tc.max(x, y) (elementwise)."""

import math

import numpy as np
import pytest

import tensorcore as tc

from .torch_compare import compare

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
X = R.standard_normal((3, 4))
X3 = R.standard_normal((2, 3, 4))
DISTINCT = (R.permutation(20) * 0.37 - 3.0).reshape(4, 5)
WITH_ZEROS = np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 1.0, 2.0], [0.7, -1.1, 0.4, 3.0]])
WITH_NAN = np.array([[1.0, np.nan, 0.0, 2.0], [3.0, 1.0, 2.0, -1.0]])
INTS = np.array([[3, 1, 2], [0, 5, 5]])


def _both(fn):
    """The same lambda for tensorcore and PyTorch: `lib` is tc or torch."""
    return (lambda *a: fn(tc, *a)), (lambda *a: fn(torch, *a))


SAME_CALL = {
    # the reversed names
    "var default correction=1": lambda m, x: x.var(),
    "var dim": lambda m, x: m.var(x, 1),
    "var unbiased=False": lambda m, x: x.var(0, unbiased=False),
    "var correction=0 keepdim": lambda m, x: m.var(x, dim=1, correction=0, keepdim=True),
    "var positional unbiased": lambda m, x: m.var(x, 1, False),
    "std default": lambda m, x: x.std(),
    "std dim tuple": lambda m, x: m.std(x, (0, 1), correction=2),
    "var_mean": lambda m, x: m.var_mean(x, 1),
    "std_mean": lambda m, x: m.std_mean(x, 0, keepdim=True),
    "max dim": lambda m, x: x.max(1),
    "max dim keepdim": lambda m, x: m.max(x, 0, keepdim=True),
    "max all": lambda m, x: x.max(),
    "max elementwise": lambda m, x: m.max(x, x.flip(1)),
    "min dim": lambda m, x: m.min(x, dim=-1),
    "min elementwise method": lambda m, x: x.min(x * 0.5),
    # sum / mean / prod
    "sum dim keepdim": lambda m, x: x.sum(1, keepdim=True),
    "sum dims": lambda m, x: m.sum(x, (0, 1)),
    "sum dtype": lambda m, x: m.sum(x, 1, dtype=m.float32),
    "mean dim": lambda m, x: x.mean(dim=0),
    "prod dim": lambda m, x: x.prod(1),
    "prod all": lambda m, x: m.prod(x),
    "amax dims": lambda m, x: m.amax(x, (0, 1)),
    "amin keepdim": lambda m, x: x.amin(1, keepdim=True),
    "aminmax": lambda m, x: m.aminmax(x, dim=1),
    "nansum": lambda m, x: x.nansum(),
    "nanmean dim": lambda m, x: m.nanmean(x, 1),
    "logsumexp": lambda m, x: m.logsumexp(x, 1),
    "logsumexp keepdim": lambda m, x: x.logsumexp((0, 1), keepdim=True),
    # scans
    "cumsum": lambda m, x: x.cumsum(1),
    "cumsum dim 0": lambda m, x: m.cumsum(x, dim=0),
    "cumprod": lambda m, x: m.cumprod(x, 1),
    "cummax": lambda m, x: x.cummax(1),
    "cummin": lambda m, x: m.cummin(x, 0),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x * 30, 1),
    # norms
    "norm": lambda m, x: x.norm(),
    "norm p=1 dim": lambda m, x: m.norm(x, 1, dim=1),
    "norm p=3 keepdim": lambda m, x: m.norm(x, 3, 0, True),
    "norm fro dims": lambda m, x: m.norm(x, "fro", (0, 1)),
    "norm nuc": lambda m, x: m.norm(x, "nuc"),
    "vector_norm": lambda m, x: m.linalg.vector_norm(x),
    "vector_norm ord=0.5": lambda m, x: m.linalg.vector_norm(x, 0.5, 1),
    "vector_norm inf": lambda m, x: m.linalg.vector_norm(x, math.inf, 1),
    "vector_norm -inf": lambda m, x: m.linalg.vector_norm(x, -math.inf),
    "vector_norm -1": lambda m, x: m.linalg.vector_norm(x, -1, 1),
    "vector_norm -2.5": lambda m, x: m.linalg.vector_norm(x, -2.5),
    "vector_norm 0": lambda m, x: m.linalg.vector_norm(x, 0, 1),
    "matrix_norm fro": lambda m, x: m.linalg.matrix_norm(x),
    "matrix_norm 1": lambda m, x: m.linalg.matrix_norm(x, 1),
    "matrix_norm -1": lambda m, x: m.linalg.matrix_norm(x, -1),
    "matrix_norm inf": lambda m, x: m.linalg.matrix_norm(x, math.inf),
    "matrix_norm -inf keepdim": lambda m, x: m.linalg.matrix_norm(x, -math.inf, keepdim=True),
    "matrix_norm 2": lambda m, x: m.linalg.matrix_norm(x, 2),
    "matrix_norm -2": lambda m, x: m.linalg.matrix_norm(x, -2),
    "matrix_norm nuc": lambda m, x: m.linalg.matrix_norm(x, "nuc"),
    "linalg.norm": lambda m, x: m.linalg.norm(x),
    "linalg.norm dim": lambda m, x: m.linalg.norm(x, 3, 1),
    # ordering
    "sort": lambda m, x: x.sort(),
    "sort descending dim 0": lambda m, x: m.sort(x, 0, descending=True),
    "sort stable": lambda m, x: m.sort(x, dim=1, stable=True),
    "argsort": lambda m, x: x.argsort(1, descending=True),
    "topk": lambda m, x: x.topk(3),
    "topk smallest": lambda m, x: m.topk(x, 2, dim=0, largest=False),
    "kthvalue": lambda m, x: x.kthvalue(2, 1),
    "kthvalue keepdim": lambda m, x: m.kthvalue(x, 3, 0, True),
    "median": lambda m, x: x.median(),
    "median dim": lambda m, x: m.median(x, 1),
    "median even dim keepdim": lambda m, x: x.median(0, keepdim=True),
    "nanmedian": lambda m, x: x.nanmedian(1),
}


@pytest.mark.parametrize("name", sorted(SAME_CALL))
def test_same_call_as_pytorch(name):
    fn = SAME_CALL[name]
    ours, theirs = _both(fn)
    x = DISTINCT if any(k in name for k in ("max", "min", "sort", "topk", "kth", "median", "inf", "norm 1",
                                            "norm -1", "cummax", "cummin")) else X
    compare(ours, theirs, x)


@pytest.mark.parametrize("name,fn", [
    ("prod with zeros", lambda m, x: x.prod(1)),
    ("prod all with zeros", lambda m, x: x.prod()),
    ("cumprod with zeros", lambda m, x: x.cumprod(1)),
    ("count_nonzero", lambda m, x: m.count_nonzero(x, 1)),
    ("count_nonzero all", lambda m, x: x.count_nonzero()),
    ("all", lambda m, x: x.all(1)),
    ("any keepdim", lambda m, x: m.any(x, 0, keepdim=True)),
    ("norm with a zero row", lambda m, x: (x * m.tensor([[1.0], [0.0], [1.0]], dtype=x.dtype)).norm(dim=1)),
])
def test_with_zeros(name, fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, WITH_ZEROS)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.nansum(1), lambda m, x: m.nanmean(x), lambda m, x: x.nanmedian(1), lambda m, x: x.median(1),
    lambda m, x: x.median(), lambda m, x: x.nanmedian(), lambda m, x: m.sort(x, 1), lambda m, x: x.sort(1, True),
    lambda m, x: x.max(1), lambda m, x: x.cummax(1), lambda m, x: m.kthvalue(x, 4, 1),
])
def test_nan_handling(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, WITH_NAN, grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.sum(), lambda m, x: x.sum(1), lambda m, x: m.prod(x, 0), lambda m, x: x.cumsum(1),
    lambda m, x: m.cumprod(x, 0), lambda m, x: x.max(1), lambda m, x: m.amax(x), lambda m, x: x.argmax(),
    lambda m, x: m.argmax(x, 1, keepdim=True), lambda m, x: x.argmin(dim=0), lambda m, x: m.logsumexp(x, 1),
    lambda m, x: x.sort(1), lambda m, x: m.unique(x), lambda m, x: m.mode(x, 1).values, lambda m, x: x.bool().all(),
    lambda m, x: (x > 2).sum(1), lambda m, x: x.cummax(1).values, lambda m, x: m.argmax(x, keepdim=True),
    lambda m, x: m.aminmax(x), lambda m, x: x.to(m.uint8).any(1),
])
def test_integer_inputs_keep_pytorch_dtypes(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, INTS, grad=False)


def test_mode_unique_searchsorted_bucketize_bincount():
    x = np.array([[1.0, 2.0, 2.0, 3.0, 1.0], [4.0, 4.0, 5.0, 5.0, 0.0]])
    compare(lambda t: t.mode(1), lambda t: t.mode(1), x, grad=False)
    compare(lambda t: tc.unique(t, return_inverse=True, return_counts=True),
            lambda t: torch.unique(t, return_inverse=True, return_counts=True), x, grad=False)
    compare(lambda t: tc.unique(t, dim=1, return_counts=True), lambda t: torch.unique(t, dim=1, return_counts=True),
            np.array([[1, 2, 1], [3, 0, 3]]), grad=False)
    s, v = np.array([0.5, 1.5, 2.5]), np.array([[0.0, 1.5], [3.0, 2.5]])
    for kw in ({}, {"right": True}, {"side": "right"}, {"out_int32": True}):
        bkw = {k: w for k, w in kw.items() if k != "side"}
        compare(lambda a, b, kw=kw: tc.searchsorted(a, b, **kw), lambda a, b, kw=kw: torch.searchsorted(a, b, **kw),
                s, v, grad=False)
        compare(lambda a, b, bkw=bkw: tc.bucketize(b, a, **bkw), lambda a, b, bkw=bkw: torch.bucketize(b, a, **bkw),
                s, v, grad=False)
    rows = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 3.0]])
    compare(lambda a, b: tc.searchsorted(a, b), lambda a, b: torch.searchsorted(a, b), rows, np.array([[1.0], [1.0]]),
            grad=False)
    compare(lambda a: tc.searchsorted(a, 1.0), lambda a: torch.searchsorted(a, 1.0), s, grad=False)
    ints = np.array([0, 3, 3, 1, 0, 0])
    compare(lambda a: tc.bincount(a), lambda a: torch.bincount(a), ints, grad=False)
    compare(lambda a: a.bincount(minlength=7), lambda a: a.bincount(minlength=7), ints, grad=False)
    w = R.standard_normal(6)
    compare(lambda a, b: tc.bincount(a, b), lambda a, b: torch.bincount(a, b), ints, w, grad=False)


def test_bincount_weights_gradient():
    idx, w = tc.tensor([0, 2, 2]), tc.tensor([1.0, 2.0, 3.0], dtype=tc.float64, requires_grad=True)
    out = tc.bincount(idx, w)
    out.backward(tc.tensor([10.0, 20.0, 30.0], dtype=tc.float64))
    np.testing.assert_array_equal(w.grad.numpy(), [10.0, 30.0, 30.0])


def test_max_with_dim_is_a_named_tuple():
    x = tc.tensor(DISTINCT)
    out = x.max(1)
    values, indices = out
    assert type(out).__name__ == "max" and out.values is values and out.indices is indices
    assert indices.dtype == tc.int64 and "values=" in repr(out)
    assert tc.min(x, 0).indices.shape == (5,) and x.sort().values.shape == (4, 5)
    np.testing.assert_array_equal(tc.max(x, tc.zeros(5)).numpy(), np.maximum(DISTINCT, 0))


def test_all_minus_inf_logsumexp_is_minus_inf():
    x = tc.tensor([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(tc.logsumexp(x, 1).numpy(), [-np.inf, 0.0])
    np.testing.assert_array_equal(torch.logsumexp(torch.tensor(x.numpy()), 1).numpy(), [-np.inf, 0.0])
    np.testing.assert_array_equal(tc.logcumsumexp(x, 1).numpy(), [[-np.inf, -np.inf], [0.0, 0.0]])
    assert float(tc.logsumexp(tc.tensor([1e4, 1e4]), 0)) == pytest.approx(1e4 + math.log(2))


def test_numpy_aliases_and_conflicts():
    x = tc.tensor(X)
    np.testing.assert_allclose(x.sum(axis=1, keepdims=True).numpy(), X.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(x.var(axis=0, ddof=0).numpy(), X.var(axis=0))
    np.testing.assert_allclose(x.amax(axis=0).numpy(), X.max(axis=0))
    with pytest.raises(tc.ArgumentError, match="both dim= and its alias axis="):
        x.sum(dim=0, axis=1)
    with pytest.raises(tc.ArgumentError, match="only one of unbiased=, correction= and ddof="):
        x.var(unbiased=True, correction=0)


def test_unsupported_arguments_raise_named_errors():
    x = tc.tensor(X)
    with pytest.raises(tc.TensorcoreError, match="out"):
        tc.sum(x, 0, out=x)
    with pytest.raises(tc.DTypeError, match="mean: could not infer the output dtype"):
        tc.tensor([1, 2]).mean()
    with pytest.raises(tc.ShapeError, match="no degrees of freedom"):
        tc.tensor([1.0]).var()
    with pytest.raises(tc.ArgumentError, match="vector_norm: ord must be a number"):
        tc.linalg.vector_norm(x, "fro")
    with pytest.raises(tc.ShapeError, match="topk: k=5"):
        x.topk(5)
    with pytest.raises(tc.ShapeError, match="max: reduction of an empty tensor"):
        tc.zeros((0, 3)).max()
    with pytest.raises(tc.ShapeError, match="sum: dim 2 is out of range"):
        x.sum(2)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile(interpolation):
    q = np.array([0.1, 0.5, 0.75])
    for fn in (lambda m, x: x.quantile(0.3, 1, interpolation=interpolation),
               lambda m, x: m.quantile(x, 0.5, interpolation=interpolation),
               lambda m, x: x.quantile(m.tensor(q), 0, keepdim=True, interpolation=interpolation),
               lambda m, x: m.quantile(x, m.tensor(q), keepdim=True, interpolation=interpolation),
               lambda m, x: x[0, 0].quantile(0.5, 0, keepdim=True, interpolation=interpolation)):
        ours, theirs = _both(fn)
        compare(ours, theirs, DISTINCT)
    with_nan = WITH_NAN.copy()
    with_nan[1] = np.nan
    for fn in (lambda m, x: x.nanquantile(0.4, 1, interpolation=interpolation), lambda m, x: x.quantile(0.4, 1),
               lambda m, x: m.nanquantile(x, 0.5)):
        ours, theirs = _both(fn)
        compare(ours, theirs, with_nan, grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.diff(), lambda m, x: m.diff(x, 2, 0), lambda m, x: x.diff(1, 1, prepend=x[:, :1], append=x),
    lambda m, x: (x > 0).diff(), lambda m, x: x.msort(),
])
def test_diff_and_msort(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, DISTINCT)


def test_unique_consecutive_and_isin():
    v = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    compare(lambda a: tc.unique_consecutive(a, return_inverse=True, return_counts=True),
            lambda a: torch.unique_consecutive(a, return_inverse=True, return_counts=True), v, grad=False)
    m = np.array([[1, 2, 2, 3], [1, 2, 2, 3], [0, 2, 2, 1]])
    compare(lambda a: tc.unique_consecutive(a, return_counts=True, dim=1),
            lambda a: torch.unique_consecutive(a, return_counts=True, dim=1), m, grad=False)
    compare(lambda a: tc.isin(a, tc.tensor([1, 3])), lambda a: torch.isin(a, torch.tensor([1, 3])), v, grad=False)
    compare(lambda a: tc.isin(a, 2, invert=True), lambda a: torch.isin(a, 2, invert=True), v, grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.trapezoid(x), lambda m, x: m.trapezoid(x, dx=0.5, dim=0),
    lambda m, x: m.trapezoid(x, m.tensor([0.0, 1.0, 3.0, 4.0, 4.5], dtype=x.dtype)),
    lambda m, x: m.cumulative_trapezoid(x), lambda m, x: m.cumulative_trapezoid(x, x, dim=0),
    lambda m, x: m.combinations(x[0]), lambda m, x: m.combinations(x[0], 3, with_replacement=True),
])
def test_trapezoid_and_combinations(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, DISTINCT)


def test_histc_unravel_index_broadcast_shapes():
    compare(lambda a: tc.histc(a, 5), lambda a: torch.histc(a, 5), X, grad=False)
    compare(lambda a: a.histc(4, -1, 1), lambda a: a.histc(4, -1, 1), X, grad=False)
    compare(lambda a: tc.unravel_index(tc.tensor([3, 7, -1]), (3, 4)),
            lambda a: torch.unravel_index(torch.tensor([3, 7, -1]), (3, 4)), X, grad=False)
    assert tuple(tc.broadcast_shapes((3, 1), (4,), 1)) == tuple(torch.broadcast_shapes((3, 1), (4,), 1))


@pytest.mark.parametrize("fn", [
    lambda m, x: m.cov(x), lambda m, x: x.cov(correction=0), lambda m, x: m.cov(x[0]), lambda m, x: m.corrcoef(x),
    lambda m, x: m.cov(x[:1]), lambda m, x: m.corrcoef(x[:1]), lambda m, x: m.combinations(x[0, :1], 2),
    lambda m, x: m.cov(x, fweights=m.tensor([1, 2, 1, 3, 1]), aweights=x[0].abs() + 0.5),
    lambda m, x: m.dist(x[0], x[1], 3), lambda m, x: m.dist(x, x[:1]),
])
def test_cov_corrcoef_dist(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, DISTINCT)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.trapz(x), lambda m, x: m.trapz(x, dx=2.0, dim=0), lambda m, x: m.renorm(x, 2, 0, 1.0),
    lambda m, x: x.renorm(1, 1, 2.0), lambda m, x: x.renorm(3, 0, 100.0),
])
def test_trapz_renorm(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, DISTINCT)


def test_nonzero_static_and_histogram():
    for fn in (lambda m, x: m.nonzero_static(x > 0, size=4),
               lambda m, x: m.nonzero_static(x > 0, size=30, fill_value=7),
               lambda m, x: m.histogram(x, 5), lambda m, x: x.histogram(3, range=(-1.0, 1.0)),
               lambda m, x: m.histogram(x, m.tensor([-1.0, 0.0, 2.0], dtype=x.dtype), weight=x.abs(), density=True)):
        ours, theirs = _both(fn)
        compare(ours, theirs, DISTINCT, grad=False)


def test_quantile_is_differentiable_in_q_and_diff_n0():
    ours, theirs = _both(lambda m, x, q: m.quantile(x, q, 1))
    compare(ours, theirs, DISTINCT, np.array([0.2318, 0.0788, 0.9]))
    ours, theirs = _both(lambda m, x, q: x.nanquantile(q, keepdim=True))
    compare(ours, theirs, DISTINCT, np.array([0.5, 0.25]))
    ours, theirs = _both(lambda m, x: m.diff(x, 0, 0, prepend=x[:1], append=x))
    compare(ours, theirs, DISTINCT)
