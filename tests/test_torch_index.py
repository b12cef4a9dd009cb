"""Indexing, gather/scatter and masks against PyTorch (values, dtypes, gradients in float64), their in-place
variants (version-checked), and the saved index tensors and masks being version-checked too."""

import numpy as np
import pytest

import tensorcore as tc

from .torch_compare import compare

torch = pytest.importorskip("torch")

R = np.random.default_rng(1)
X = R.standard_normal((3, 4))
SRC = R.standard_normal((2, 3))
IDX = np.array([[0, 2, 1], [1, 1, 0]])
UNIQUE = np.array([[3, 0, 1], [2, 3, 0]])
MASK = (np.arange(12).reshape(3, 4) % 3) == 0


def _lib(m, a):
    return m.tensor(a)


def _both(fn):
    return (lambda *a: fn(tc, *a)), (lambda *a: fn(torch, *a))


CALLS = {
    "gather": lambda m, x: x.gather(1, _lib(m, IDX)),
    "gather dim 0": lambda m, x: m.gather(x, 0, _lib(m, IDX)),
    "scatter src": lambda m, x: x.scatter(1, _lib(m, UNIQUE[:, :3]), x[:2, :3] * 2),
    "scatter value": lambda m, x: m.scatter(x, 1, _lib(m, UNIQUE), 0.25),
    "scatter value kw": lambda m, x: x.scatter(0, _lib(m, np.array([[2, 0, 1, 1]])), value=-1.0),
    "scatter reduce=add": lambda m, x: x.scatter(1, _lib(m, IDX), x[:2, :3], reduce="add"),
    "scatter_add": lambda m, x: x.scatter_add(1, _lib(m, IDX), x[:2, :3] * 3),
    "take_along_dim": lambda m, x: m.take_along_dim(x, _lib(m, np.array([[0], [3], [1]])), 1),
    "take_along_dim broadcast": lambda m, x: m.take_along_dim(x, _lib(m, np.array([[0, 3]])), dim=1),
    "take_along_dim flat": lambda m, x: m.take_along_dim(x, _lib(m, np.array([5, 0, 11]))),
    "take_along_dim negative": lambda m, x: m.take_along_dim(x, _lib(m, np.array([[-1], [0], [-4]])), 1),
    "gather int32 index": lambda m, x: x.gather(1, _lib(m, IDX.astype(np.int32))),
    "index_select 0-d": lambda m, x: x[0, 0].index_select(0, _lib(m, np.array([0]))),
    "index_add 0-d": lambda m, x: x[0, 0].index_add(0, _lib(m, np.array([0])), x[1, 1]),
    "index_fill 0-d": lambda m, x: x[0, 0].index_fill(0, _lib(m, np.array([0])), 2.0),
    "take": lambda m, x: x.take(_lib(m, np.array([[0, -1], [5, 5]]))),
    "index_select": lambda m, x: x.index_select(1, _lib(m, np.array([0, 3, 3]))),
    "index_select dim 0": lambda m, x: m.index_select(x, 0, _lib(m, np.array([2]))),
    "index_add": lambda m, x: x.index_add(1, _lib(m, np.array([0, 3, 0])), x[:, :3] * 2),
    "index_add alpha": lambda m, x: m.index_add(x, 0, _lib(m, np.array([1, 1])), x[:2], alpha=0.5),
    "index_copy": lambda m, x: x.index_copy(1, _lib(m, np.array([2, 0])), x[:, 1:3] * 3),
    "index_fill": lambda m, x: x.index_fill(0, _lib(m, np.array([2, 0])), -1.5),
    "index_fill tensor value": lambda m, x: x.index_fill(1, _lib(m, np.array([1, 1, 3])), x[0, 0] * 2),
    "masked_fill": lambda m, x: x.masked_fill(_lib(m, MASK), 2.0),
    "masked_fill broadcast": lambda m, x: m.masked_fill(x, _lib(m, MASK[0]), float("-inf")).exp(),
    "masked_fill tensor value": lambda m, x: x.masked_fill(x > 0, x[1, 1]),
    "masked_fill mask enlarges": lambda m, x: x[0].masked_fill(_lib(m, MASK), 1.0),
    "gather empty index": lambda m, x: x[0].gather(0, _lib(m, np.zeros((2, 0), dtype=np.int64))),
    "masked_scatter": lambda m, x: x.masked_scatter(_lib(m, MASK), x.flip(0) * 2),
    "masked_select": lambda m, x: x.masked_select(_lib(m, MASK)),
    "masked_select broadcast": lambda m, x: m.masked_select(x, _lib(m, MASK[:, :1])),
    "getitem ints": lambda m, x: x[_lib(m, np.array([0, 2, 0]))],
    "getitem slices": lambda m, x: x[1:, ::2],
    "getitem bool": lambda m, x: x[x > 0],
    "index_put": lambda m, x: x.index_put((_lib(m, np.array([0, 2])),), x[1] * 2),
    "index_put accumulate": lambda m, x: x.index_put((_lib(m, np.array([0, 0])),), x[1] * 2, accumulate=True),
}


NO_GRAD_IN_PYTORCH = {"scatter reduce=add"}  # "derivative for aten::scatter is not implemented"


@pytest.mark.parametrize("name", sorted(CALLS))
def test_same_call_as_pytorch(name):
    ours, theirs = _both(CALLS[name])
    compare(ours, theirs, X, grad=name not in NO_GRAD_IN_PYTORCH)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    distinct = (R.permutation(12) * 0.37 - 2.0).reshape(3, 4)
    ours, theirs = _both(lambda m, x, s: x.scatter_reduce(1, _lib(m, IDX), s, reduce, include_self=include_self))
    compare(ours, theirs, distinct, SRC + 0.11)


def test_scatter_reduce_ties_and_zeros_like_pytorch():
    x = np.array([[1.0, 2.0, 0.0, 4.0]])
    src = np.array([[2.0, 0.0, 2.0]])
    idx = np.array([[1, 2, 1]])
    for reduce in ("amax", "amin", "prod"):
        compare(lambda a, s, r=reduce: a.scatter_reduce(1, tc.tensor(idx), s, r),
                lambda a, s, r=reduce: a.scatter_reduce(1, torch.tensor(idx), s, r), x, src)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.nonzero(x), lambda m, x: x.nonzero(as_tuple=True), lambda m, x: m.argwhere(x),
    lambda m, x: m.where(x > 0), lambda m, x: m.where(x > 0, x, -x), lambda m, x: m.nonzero(x[0, 0]),
])
def test_nonzero_and_where(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, np.where(X > 0.3, X, 0.0), grad=False)


def test_integer_and_bool_inputs():
    ints = np.array([[3, 1, 2], [0, 5, 5]])
    for fn in (lambda m, x: x.gather(1, _lib(m, np.array([[2], [0]]))), lambda m, x: x.masked_fill(x > 2, 7),
               lambda m, x: x.index_select(0, _lib(m, np.array([1]))), lambda m, x: x.scatter_add(1, x * 0, x),
               lambda m, x: (x > 1).masked_fill(x > 4, False), lambda m, x: x.index_fill(1, _lib(m, np.array([0])), 9),
               lambda m, x: x.scatter_reduce(1, x * 0, x, "mean")):
        ours, theirs = _both(fn)
        compare(ours, theirs, ints, grad=False)


def test_in_place_variants_match_pytorch_and_bump_the_version():
    steps = [
        lambda m, x: x.scatter_(1, _lib(m, UNIQUE[:, :3]), m.ones(2, 3, dtype=x.dtype)),
        lambda m, x: x.scatter_add_(1, _lib(m, IDX), m.ones(2, 3, dtype=x.dtype)),
        lambda m, x: x.scatter_reduce_(1, _lib(m, IDX), m.ones(2, 3, dtype=x.dtype) * 5, "amax"),
        lambda m, x: x.index_add_(0, _lib(m, np.array([2, 2])), m.ones(2, 4, dtype=x.dtype)),
        lambda m, x: x.index_fill_(1, _lib(m, np.array([0])), 3.0),
        lambda m, x: x.index_copy_(0, _lib(m, np.array([1])), m.zeros(1, 4, dtype=x.dtype)),
        lambda m, x: x.masked_fill_(_lib(m, MASK), -2.0),
        lambda m, x: x.masked_scatter_(_lib(m, ~MASK), m.arange(12, dtype=x.dtype)),
        lambda m, x: x.index_put_((_lib(m, np.array([0])),), m.tensor(9.0, dtype=x.dtype)),
    ]
    ours, theirs = tc.tensor(X), torch.tensor(X)
    for step in steps:
        before = ours._version
        assert step(tc, ours) is ours
        step(torch, theirs)
        assert ours._version == before + 1
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_in_place_through_the_graph_matches_pytorch():
    def run(m):
        x = m.tensor(X, requires_grad=True)
        y = x * 2
        y.masked_fill_(y > 1, 0.0)
        y.index_add_(1, m.tensor([0, 0]), x[:, :2])
        y.sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(tc), run(torch))


def test_saved_index_changed_in_place_raises():
    x = tc.tensor(X, requires_grad=True)
    idx = tc.tensor(IDX)
    y = x.gather(1, idx)
    idx.add_(0)
    with pytest.raises(tc.GradientError, match="modified in place"):
        y.sum().backward()
    x2 = tc.tensor(X, requires_grad=True)
    i1 = tc.tensor([0, 2])
    z = x2.index_select(1, i1) * 1.0
    i1.zero_()
    with pytest.raises(tc.GradientError, match="modified in place"):
        z.sum().backward()


def test_saved_mask_changed_in_place_raises():
    x = tc.tensor(X, requires_grad=True)
    mask = tc.tensor(MASK)
    y = x.masked_fill(mask, 0.0)
    mask.logical_not_() if hasattr(mask, "logical_not_") else mask.fill_(False)
    with pytest.raises(tc.GradientError, match="modified in place"):
        y.sum().backward()


def test_errors_name_the_op_and_argument():
    x = tc.tensor(X)
    with pytest.raises(tc.IndexingError, match="gather: index 4 is out of bounds for dim 1 with size 4"):
        x.gather(1, tc.tensor([[4]]))
    with pytest.raises(tc.DTypeError, match="gather: index must be an integer tensor"):
        x.gather(1, tc.tensor([[0.0]]))
    with pytest.raises(tc.ArgumentError, match="sparse_grad"):
        x.gather(1, tc.tensor([[0]]), sparse_grad=True)
    with pytest.raises(tc.ArgumentError, match="scatter_reduce: reduce must be"):
        x.scatter_reduce(1, tc.tensor([[0]]), x, "max")
    with pytest.raises(tc.DTypeError, match="masked_fill: mask must be a bool tensor"):
        x.masked_fill(tc.tensor(MASK.astype(np.int64)), 0.0)
    with pytest.raises(tc.ShapeError, match="masked_fill_: a result of shape \\(3, 4\\) cannot be written"):
        tc.tensor(X[0]).masked_fill_(tc.tensor(MASK), 0.0)
    with pytest.raises(tc.IndexingError, match="index_select: index out of range"):
        x.index_select(0, tc.tensor([3]))
    with pytest.raises(tc.ShapeError, match="masked_scatter: the mask selects 4 elements, source has only 2"):
        x.masked_scatter(tc.tensor(MASK), tc.zeros(2, dtype=tc.float64))


@pytest.mark.parametrize("fn", [
    lambda m, x: m.select_scatter(x, x[0] * 2, 0, 1), lambda m, x: x.slice_scatter(x[:, ::2] * 3, 1, 0, None, 2),
    lambda m, x: m.diagonal_scatter(x, x[0, :3] * 2), lambda m, x: m.diagonal_scatter(x, x[0, :3], 1),
    lambda m, x: x.put(m.tensor([0, -1, 5]), x[1, :3]), lambda m, x: x.put(m.tensor([0, 0, 5]), x[1, :3], True),
])
def test_writing_a_source_into_a_copy(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, X)


@pytest.mark.filterwarnings("ignore:index_reduce")
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    ours, theirs = _both(lambda m, x: x.index_reduce(1, m.tensor([0, 3, 0]), x[:, :3] * 2 + 0.1, reduce,
                                                     include_self=include_self))
    compare(ours, theirs, X)


def test_more_in_place_variants():
    ours, theirs = tc.tensor(X), torch.tensor(X)
    for m, t in ((tc, ours), (torch, theirs)):
        t.tril_(1)
        t.put_(m.tensor([1, 2]), m.tensor([5.0, 6.0], dtype=t.dtype))
        t.triu_(-1)
    assert ours._version == 3
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
