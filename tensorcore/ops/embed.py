"""Writing a source into a copy of the input, PyTorch's *_scatter and put family: select_scatter,
slice_scatter, diagonal_scatter, put (and put_), index_reduce (and index_reduce_); in-place tril_ / triu_.
All are differentiable in the input and the source."""

import numpy as np

from ..errors import IndexingError, ShapeError
from ..tensor import Tensor, _make, attach_method
from .dims import one_dim
from .registry import register


def _check_src(op, src, want):
    if not isinstance(src, Tensor) or tuple(src.shape) != tuple(want):
        raise ShapeError(f"{op}: src must be a Tensor of shape {tuple(want)}, got {getattr(src, 'shape', src)}")


@register("select_scatter", method=True)
def select_scatter(input, src, dim, index):
    """A copy of input with input.select(dim, index) replaced by src."""
    from .index import index_put

    d = one_dim("select_scatter", dim, input.ndim)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexingError(f"select_scatter: index {index} is out of range for dim {d} of size {n}")
    _check_src("select_scatter", src, input.shape[:d] + input.shape[d + 1:])
    return index_put(input, (slice(None),) * d + (int(index) % n,), src.astype(input.dtype))


@register("slice_scatter", method=True)
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of input with input[..., start:end:step, ...] (at dim) replaced by src."""
    from .index import index_put

    d = one_dim("slice_scatter", dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    _check_src("slice_scatter", src, input._data[key].shape)
    return index_put(input, key, src.astype(input.dtype))


@register("diagonal_scatter", method=True)
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of input with its diagonal (offset, dim1, dim2) replaced by src."""
    from .compare import where
    from .layout import DiagonalScatter, diagonal

    a, b = one_dim("diagonal_scatter", dim1, input.ndim), one_dim("diagonal_scatter", dim2, input.ndim)
    _check_src("diagonal_scatter", src, diagonal(input, offset, a, b).shape)
    xp = input.device.backend.xp
    ones = xp.ones(src.shape, dtype=bool)
    mask = DiagonalScatter.apply(_make(ones, input.device, False, None), shape=input.shape, offset=int(offset),
                                 d1=a, d2=b)
    placed = DiagonalScatter.apply(src.astype(input.dtype), shape=input.shape, offset=int(offset), d1=a, d2=b)
    return where(mask, placed, input)


@register("put", method=True)
def put(input, index, source, accumulate=False):
    """A copy of input, seen as 1-D, with source written (or, accumulate=True, added) at `index`
    (negative indices count from the end)."""
    from .index import index_add, index_copy

    n = input.numel()
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        raise IndexingError(f"put: index must be an int64 Tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    if not isinstance(source, Tensor) or source.numel() != index.numel():
        raise ShapeError(f"put: source must be a Tensor with as many elements as index ({index.numel()})")
    flat = index._data.reshape(-1)
    if flat.size and (int(flat.min()) < -n or int(flat.max()) >= n):
        raise IndexingError(f"put: index out of range for a tensor of {n} elements")
    idx = _make(flat % n if n else flat, input.device, False, None)
    write = index_add if accumulate else index_copy
    return write(input.reshape(-1), 0, idx, source.reshape(-1).astype(input.dtype)).reshape(tuple(input.shape))


@register("index_reduce", method=True)
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """source[i] reduced into a copy of input at index[i] along `dim` by 'prod', 'mean', 'amax' or 'amin'."""
    from .gather import scatter_reduce
    from .index import _index_1d

    if reduce not in ("prod", "mean", "amax", "amin"):
        from ..errors import ArgumentError

        raise ArgumentError(f"index_reduce: reduce must be 'prod', 'mean', 'amax' or 'amin', got {reduce!r}")
    d, idx = _index_1d("index_reduce", input, dim, index)
    if input.ndim == 0:
        return index_reduce(input.reshape(1), 0, idx, source.reshape(-1), reduce,
                            include_self=include_self).reshape(())
    want = tuple(idx.shape[0] if i == d else n for i, n in enumerate(input.shape))
    _check_src("index_reduce", source, want)
    shape = [1] * input.ndim
    shape[d] = idx.shape[0]
    full = _make(input.device.backend.xp.ascontiguousarray(
        input.device.backend.xp.broadcast_to(idx._data.reshape(shape), want)), input.device, False, None)
    return scatter_reduce(input, d, full, source, reduce, include_self=include_self)


def _attach_methods():
    from .layout import tril, triu

    for name, fn in (("put_", put), ("index_reduce_", index_reduce), ("tril_", tril), ("triu_", triu)):
        attach_method(name, lambda self, *a, _fn=fn, _n=name, **k: self._inplace(_n, _fn(self, *a, **k)))


_attach_methods()
