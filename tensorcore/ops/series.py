"""Sequences and counts, with PyTorch's names: trapezoid, cumulative_trapezoid, combinations, histc,
unravel_index, broadcast_shapes, row_stack, narrow_copy."""

import itertools

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, _make
from .dims import one_dim
from .registry import register


def _spacing(op, y, x, dx, d):
    from .joins import narrow

    if x is not None and dx is not None:
        raise ArgumentError(f"{op}: give x or dx, not both")
    if x is None:
        return 1.0 if dx is None else dx
    n = y.shape[d]
    if x.ndim == 1:
        if x.shape[0] != n:
            raise ShapeError(f"{op}: x has {x.shape[0]} points, y has {n} along dim {d}")
        shape = [1] * y.ndim
        shape[d] = n - 1
        return (x[1:] - x[:-1]).reshape(tuple(shape))
    return narrow(x, d, 1, n - 1) - narrow(x, d, 0, n - 1)


@register("trapezoid")
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along `dim`: sum_i (y_i + y_{i+1}) / 2 * (x_{i+1} - x_i) (spacing dx, default 1)."""
    from .joins import narrow

    d = one_dim("trapezoid", dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return (y * 0).sum(d)
    if x is None:  # PyTorch's constant-spacing formula: (sum - (first + last) / 2) * dx (its NaN/inf results)
        ends = narrow(y, d, 0, 1).sum(d) + narrow(y, d, n - 1, 1).sum(d)
        return (y.sum(d) - ends * 0.5) * (1 if dx is None else dx)
    mid = (narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)) * 0.5
    return (mid * _spacing("trapezoid", y, x, dx, d)).sum(d)


@register("cumulative_trapezoid")
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal rule along `dim` (one element fewer than y)."""
    from .joins import narrow

    d = one_dim("cumulative_trapezoid", dim, y.ndim)
    n = y.shape[d]
    mid = (narrow(y, d, 1, max(n - 1, 0)) + narrow(y, d, 0, max(n - 1, 0))) * 0.5
    return (mid * _spacing("cumulative_trapezoid", y, x, dx, d)).cumsum(d)


@register("combinations")
def combinations(input, r=2, with_replacement=False):
    """The r-length combinations of the elements of a 1-D tensor, as rows (itertools.combinations order)."""
    from .index import index_select

    if input.ndim != 1:
        raise ShapeError(f"combinations: expects a 1-D tensor, got {tuple(input.shape)}")
    if not isinstance(r, int) or r < 0:
        raise ArgumentError(f"combinations: r must be a non-negative int, got {r!r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r)) if r else []
    idx = _make(input.device.backend.from_host(np.array(rows, dtype=np.int64).reshape(-1), copy=False),
                input.device, False, None)
    picked = index_select(input, 0, idx)  # empty results stay on the graph, as PyTorch's do
    return picked if r == 0 else picked.reshape(len(rows), r)


@register("histc", method=True)
def histc(input, bins=100, min=0, max=0):
    """Counts in `bins` equal bins over [min, max] (the data's range when min == max); values outside are
    ignored. Same dtype as the input; no gradient."""
    if input.dtype.kind not in "fV":
        from ..errors import DTypeError

        raise DTypeError(f"histc: expected a floating point tensor, got {input.dtype}")
    if not isinstance(bins, int) or bins <= 0:
        raise ArgumentError(f"histc: bins must be a positive int, got {bins!r}")
    xp = input.device.backend.xp
    a = input._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ArgumentError(f"histc: max ({max}) must not be smaller than min ({min})")
    counts, _ = xp.histogram(a, bins=bins, range=(lo, hi))
    return _make(counts.astype(input.dtype), input.device, False, None)


@register("unravel_index")
def unravel_index(indices, shape):
    """The coordinates of flat `indices` in a tensor of `shape`: a tuple of int64 tensors (negative indices wrap)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape))
    if not isinstance(indices, Tensor):
        from ..tensor import tensor

        indices = tensor(indices)
    if indices.dtype.kind not in "iu":
        raise ArgumentError(f"unravel_index: indices must be integers, got {indices.dtype}")
    a = indices._data
    if a.size and (int(a.min()) < -size or int(a.max()) >= size):
        raise ArgumentError(f"unravel_index: an index is out of range for shape {shape}")
    xp = indices.device.backend.xp
    return tuple(_make(c.astype(np.int64), indices.device, False, None) for c in xp.unravel_index(a % size, shape))


def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to (a Size)."""
    from ..tensor import Size

    try:
        return Size(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))
    except ValueError:
        raise ShapeError(f"broadcast_shapes: shapes {list(shapes)} do not broadcast") from None


@register("row_stack")
def row_stack(tensors):
    """vstack(tensors)."""
    from .layout import vstack

    return vstack(tensors)


@register("narrow_copy", method=True)
def narrow_copy(input, dim, start, length):
    """narrow(...) as a new tensor (not a view)."""
    from .joins import narrow

    return narrow(input, dim, start, length).clone()


@register("cov", method=True)
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of input (observations in the columns):
    sum_k w_k (x_ik - m_i)(x_jk - m_j) / (sum_k w_k - correction), with frequency and/or observation weights."""
    from .matmul import matmul

    if input.ndim > 2:
        raise ShapeError(f"cov: expects a 0-d, 1-D or 2-D tensor, got {tuple(input.shape)}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x.dtype.kind not in "fV":
        from ..dtypes import get_default_dtype

        x = x.astype(get_default_dtype())
    n = x.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is not None:
            if not isinstance(weights, Tensor) or tuple(weights.shape) != (n,):
                raise ShapeError(f"cov: {name} must be a 1-D Tensor of {n} observations")
            # NOTE: kept in their own dtype, as PyTorch does (float32 weights give float32 sums of weights)
            w = weights if w is None else w * weights
    if w is None:
        mean = x.mean(1, keepdim=True)
        factor = n - correction
    else:
        total = w.sum()
        mean = (x * w).sum(1, keepdim=True) / total
        factor = total - (correction * (w * aweights).sum() / total if aweights is not None else correction)
    centered = x - mean
    weighted = centered if w is None else centered * w
    out = matmul(weighted, centered.t()) / factor
    return out.reshape(()) if input.ndim < 2 or x.shape[0] == 1 else out


@register("corrcoef", method=True)
def corrcoef(input):
    """Pearson's correlation coefficients of the rows of input: cov / sqrt(var_i var_j), clipped to [-1, 1]."""
    from .compare import clip
    from .layout import diagonal
    from .unary import sqrt

    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = sqrt(diagonal(c))
    return clip(c / d.unsqueeze(1) / d.unsqueeze(0), -1.0, 1.0)


@register("dist")
def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    from .stats import vector_norm

    return vector_norm(input - other, p)
