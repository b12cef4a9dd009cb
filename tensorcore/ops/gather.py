"""Gather and scatter along a dimension (PyTorch's): gather, scatter, scatter_add, scatter_reduce,
take_along_dim, take; in-place scatter_, scatter_add_, scatter_reduce_.

For index of shape I (as many dims as the input; I[d] <= the input's size in every other dim d):
    gather:   out[i][j][k] = x[index[i][j][k]][j][k]            (dim 0)
    scatter:  out = x; out[index[i][j][k]][j][k] = src[i][j][k]
The index tensor is saved for backward and version-checked like any saved tensor.
"""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, IndexingError, ShapeError
from ..tensor import Tensor, _make, attach_method
from .dims import one_dim
from .registry import register


def _positions(xp, index, dim):
    """The full index tuple of `index` along `dim`: open ranges in every other dimension."""
    nd = index.ndim
    out = []
    for d in range(nd):
        if d == dim:
            out.append(index)
        else:
            shape = [1] * nd
            shape[d] = index.shape[d]
            out.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(out)


def _check_index(op, x, dim, index, src=None):
    if not isinstance(index, Tensor):
        raise ArgumentError(f"{op}: index must be a Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise DTypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    if index.device is not x.device:
        from ..errors import DeviceError

        raise DeviceError(f"{op}: index on {index.device}, input on {x.device}")
    d = one_dim(op, dim, x.ndim)
    if index.ndim != max(x.ndim, 1) and not (index.ndim == 0 and x.ndim == 0) and index.numel() != 0:
        raise ShapeError(f"{op}: index has {index.ndim} dimensions, input {tuple(x.shape)} has {x.ndim}")
    for i, n in enumerate(index.shape):
        if i != d and i < x.ndim and n > x.shape[i]:
            raise ShapeError(f"{op}: index of shape {tuple(index.shape)} is larger than the input "
                             f"{tuple(x.shape)} outside dim {d}")
        if src is not None and i < src.ndim and n > src.shape[i]:
            raise ShapeError(f"{op}: index of shape {tuple(index.shape)} is larger than src {tuple(src.shape)}")
    if index.numel():
        lo, hi = int(index._data.min()), int(index._data.max())
        size = x.shape[d] if x.ndim else 1
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise IndexingError(f"{op}: index {bad} is out of bounds for dim {d} with size {size}")
    return d


def _pad_to(g, shape):
    """A gradient for the leading part of a larger src, zero-padded to src's shape."""
    if shape is None or tuple(g.shape) == tuple(shape):
        return g
    from .index import ScatterAdd

    return ScatterAdd.apply(g, shape=tuple(shape), index=tuple(slice(0, n) for n in g.shape), advanced=False)


def _restrict(a, shape):
    """a[:shape[0], :shape[1], ...]: the part of `a` an index of `shape` addresses."""
    if a.shape == tuple(shape):
        return a
    return a[tuple(slice(0, n) for n in shape)]


class Gather(Function):
    op_name = "gather"

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return x[_positions(ctx.backend.xp, index, dim)]

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        zeros = _make(ctx.backend.xp.zeros(ctx.shape, dtype=g.dtype), g.device, False, None)
        return ScatterReduce.apply(zeros, index, g, dim=ctx.dim, reduce="sum", include_self=True), None


class Scatter(Function):
    """out = x with out[positions(index)] = src (a tensor, or a number)."""

    op_name = "scatter"

    @staticmethod
    def forward(ctx, x, index, src, dim):
        ctx.dim, ctx.src_shape = dim, getattr(src, "shape", None)
        ctx.save_for_backward(index)
        out = x.copy()
        out[_positions(ctx.backend.xp, index, dim)] = _restrict(src, index.shape) if hasattr(src, "shape") else src
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gx = Scatter.apply(g, index, 0.0, dim=ctx.dim) if ctx.needs_input_grad[0] else None
        gs = _pad_to(Gather.apply(g, index, dim=ctx.dim), ctx.src_shape) if ctx.needs_input_grad[2] else None
        return gx, None, gs


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}


class ScatterReduce(Function):
    """out = x with src reduced into out[positions(index)] by sum, prod, mean, amax or amin."""

    op_name = "scatter_reduce"

    @staticmethod
    def forward(ctx, x, index, src, dim, reduce, include_self):
        xp = ctx.backend.xp
        ctx.save_for_backward(x, index, src)
        ctx.src_shape = src.shape
        src = _restrict(src, index.shape)
        pos = _positions(xp, index, dim)
        out = x.copy()
        hit = xp.zeros(x.shape, dtype=np.int64)
        xp.add.at(hit, pos, 1)
        if not include_self:
            fill = _IDENTITY.get(reduce)
            if fill is None:  # amax/amin: the dtype's lowest/highest value (bool: False/True; floats: -inf/inf)
                if x.dtype.kind in "fV":
                    fill = -np.inf if reduce == "amax" else np.inf
                elif x.dtype.kind == "b":
                    fill = reduce == "amin"
                else:
                    info = np.iinfo(x.dtype)
                    fill = info.min if reduce == "amax" else info.max
            out[hit > 0] = fill
        ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
        ufunc.at(out, pos, src)
        if reduce == "mean":
            count = hit + (1 if include_self else 0)
            count[count == 0] = 1
            out = ((out / count) if x.dtype.kind in "fV" else out // count).astype(x.dtype, copy=False)
            ctx.count = count.astype(x.dtype)
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        ctx.hit = hit > 0
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        from .compare import where

        x, index, src = ctx.saved_tensors
        if tuple(src.shape) != tuple(index.shape):
            src = src[tuple(slice(0, n) for n in index.shape)]
        dim, reduce, need = ctx.dim, ctx.reduce, ctx.needs_input_grad
        dev = g.device
        hit = _make(ctx.hit, dev, False, None)
        keep = 1.0 if ctx.include_self else _make((~ctx.hit).astype(g.dtype), dev, False, None)
        if reduce == "sum":
            return (g * keep if need[0] else None), None, (_pad_to(Gather.apply(g, index, dim=dim), ctx.src_shape)
                                                           if need[2] else None)
        if reduce == "mean":
            gn = g / _make(ctx.count, dev, False, None)
            return (gn * keep if need[0] else None), None, (_pad_to(Gather.apply(gn, index, dim=dim), ctx.src_shape)
                                                            if need[2] else None)
        if reduce in ("amax", "amin"):
            # NOTE: the gradient is shared evenly among all elements equal to the result (self included).
            out_c = _make(ctx.out, dev, False, None)
            self_mask = (x.detach() == out_c) * keep
            src_mask = src.detach() == Gather.apply(out_c, index, dim=dim)
            zeros = _make(ctx.backend.xp.zeros(tuple(x.shape), dtype=g.dtype), dev, False, None)
            count = self_mask + ScatterReduce.apply(zeros, index, src_mask.astype(g.dtype), dim=dim,
                                                    reduce="sum", include_self=True)
            gc = g / where(count == 0, 1.0, count)
            return ((gc * self_mask) if need[0] else None), None, (
                _pad_to(Gather.apply(gc, index, dim=dim) * src_mask, ctx.src_shape) if need[2] else None)
        # prod. NOTE: the product of the other factors without dividing by zero, as in reduce.Prod: with P
        # the product of the non-zero factors of an output and z its number of zero factors.
        xz, sz = x == 0, src == 0
        x1, s1 = where(xz, 1.0, x), where(sz, 1.0, src)
        p = ScatterReduce.apply(x1 if ctx.include_self else x1 * 0 + 1, index, s1, dim=dim, reduce="prod",
                                include_self=True)
        zx = xz.astype(g.dtype) * keep if ctx.include_self else xz.astype(g.dtype) * 0
        zeros = _make(ctx.backend.xp.zeros(tuple(x.shape), dtype=g.dtype), dev, False, None)
        z = zx + ScatterReduce.apply(zeros, index, sz.astype(g.dtype), dim=dim, reduce="sum", include_self=True)
        gx = gs = None
        if need[0]:
            others = where(z == 0, p / x1, 0.0) + where((z == 1) & xz, p, 0.0)
            gx = g * where(hit, others, 1.0) if ctx.include_self else g * keep
        if need[2]:
            pg, zg = Gather.apply(p, index, dim=dim), Gather.apply(z, index, dim=dim)
            others = where(zg == 0, pg / s1, 0.0) + where((zg == 1) & sz, pg, 0.0)
            gs = _pad_to(Gather.apply(g, index, dim=dim) * others, ctx.src_shape)
        return gx, None, gs


def _src_tensor(op, x, src):
    if not isinstance(src, Tensor):
        raise ArgumentError(f"{op}: src must be a Tensor, got {type(src).__name__}")
    if src.device is not x.device:
        from ..errors import DeviceError

        raise DeviceError(f"{op}: src on {src.device}, input on {x.device}")
    if src.ndim != x.ndim and src.numel() > 1:
        raise ShapeError(f"{op}: src {tuple(src.shape)} must have as many dimensions as the input {tuple(x.shape)}")
    return src if src.dtype == x.dtype else src.astype(x.dtype)


@register("gather", method=True)
def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j][k] = input[index[i][j][k]][j][k] along `dim` (index int64, same number of dims)."""
    if sparse_grad:
        raise ArgumentError("gather: sparse_grad=True is not supported (tensorcore has no sparse tensors)")
    if isinstance(index, Tensor) and index.numel() == 0 and index.dtype.kind in "iu":  # PyTorch: any empty index
        one_dim("gather", dim, input.ndim)
        return input.reshape(-1)[:0].reshape(tuple(index.shape))
    if input.ndim == 0:
        one_dim("gather", dim, 0)
        return gather(input.reshape(1), 0, index.reshape(-1)).reshape(tuple(index.shape))
    d = _check_index("gather", input, dim, index)
    return Gather.apply(input, index, dim=d)


@register("scatter", method=True)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of input with input[index[i][j][k]][j][k] = src[i][j][k] (or the number `value`) along `dim`."""
    if (src is None) == (value is None):
        if src is None or not isinstance(src, (int, float)):
            raise ArgumentError("scatter: give exactly one of src (a tensor) and value (a number)")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if input.ndim == 0:
        one_dim("scatter", dim, 0)
        flat = src.reshape(-1) if isinstance(src, Tensor) else src
        return scatter(input.reshape(1), 0, index.reshape(-1), flat, value=value, reduce=reduce).reshape(())
    if reduce is not None:
        kinds = {"add": "sum", "multiply": "prod"}
        if reduce not in kinds:
            raise ArgumentError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        if src is None:
            src = _make(input.device.backend.xp.full(tuple(index.shape), value, dtype=input.dtype), input.device,
                        False, None)
        return scatter_reduce(input, dim, index, src, kinds[reduce])
    d = _check_index("scatter", input, dim, index, src)
    if src is not None:
        return Scatter.apply(input, index, _src_tensor("scatter", input, src), dim=d)
    if isinstance(value, Tensor):
        value = value.item()
    return Scatter.apply(input, index, value, dim=d)


@register("scatter_add", method=True)
def scatter_add(input, dim, index, src):
    """A copy of input with src[i][j][k] added at input[index[i][j][k]][j][k] along `dim` (repeats add up)."""
    return scatter_reduce(input, dim, index, src, "sum")


@register("scatter_reduce", method=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """src reduced into a copy of input at the positions of index along `dim`; reduce is 'sum', 'prod',
    'mean', 'amax' or 'amin' (include_self=False leaves input's own values out where anything lands)."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ArgumentError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got {reduce!r}")
    if input.ndim == 0:
        one_dim("scatter_reduce", dim, 0)
        return scatter_reduce(input.reshape(1), 0, index.reshape(-1), src.reshape(-1), reduce,
                              include_self=include_self).reshape(())
    src = _src_tensor("scatter_reduce", input, src)
    d = _check_index("scatter_reduce", input, dim, index, src)
    return ScatterReduce.apply(input, index, src, dim=d, reduce=reduce, include_self=bool(include_self))


@register("take_along_dim", method=True)
def take_along_dim(input, indices, dim=None):
    """input gathered at `indices` along `dim`, the other dims broadcast; over the flattened input when dim is None."""
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise DTypeError(f"take_along_dim: indices must be an integer Tensor, got {getattr(indices, 'dtype', indices)}")
    if dim is None:
        return gather(input.reshape(-1), 0, _wrapped("take_along_dim", indices.reshape(-1), input.numel()))
    if input.ndim == 0:  # PyTorch: a 0-d input has no dim to take along
        raise ShapeError(f"take_along_dim: dim {dim} given for a 0-d input (give dim=None)")
    d = one_dim("take_along_dim", dim, input.ndim)
    indices = _wrapped("take_along_dim", indices, input.shape[d])
    if indices.ndim != input.ndim:
        raise ShapeError(f"take_along_dim: indices {tuple(indices.shape)} and input {tuple(input.shape)} "
                         "need the same number of dimensions")
    shape = []
    for i, (a, b) in enumerate(zip(input.shape, indices.shape)):
        if i != d and a != b and a != 1 and b != 1:
            raise ShapeError(f"take_along_dim: input {tuple(input.shape)} and indices {tuple(indices.shape)} "
                             f"do not broadcast outside dim {d}")
        shape.append(max(a, b))
    xs = tuple(input.shape[i] if i == d else n for i, n in enumerate(shape))
    js = tuple(indices.shape[i] if i == d else n for i, n in enumerate(shape))
    x = input.expand(*xs) if xs != tuple(input.shape) else input
    idx = indices.expand(*js) if js != tuple(indices.shape) else indices
    return gather(x, d, idx)


def _wrapped(op, indices, n):
    """Negative indices counted from the end (PyTorch's take_along_dim and take), checked against n."""
    a = indices._data
    if a.size and (int(a.min()) < -n or int(a.max()) >= n):
        bad = int(a.min()) if int(a.min()) < -n else int(a.max())
        raise IndexingError(f"{op}: index {bad} is out of range for size {n}")
    if a.size and int(a.min()) < 0:
        return _make(a % n, indices.device, False, None)
    return indices


@register("take", method=True)
def take(input, index):
    """input treated as 1-D, read at `index` (negative indices count from the end); the result has index's shape."""
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        raise DTypeError(f"take: index must be an int64 Tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    n = input.numel()
    flat = index._data.reshape(-1)
    if flat.size and (int(flat.min()) < -n or int(flat.max()) >= n):
        raise IndexingError(f"take: index out of range for a tensor of {n} elements")
    wrapped = _make(flat % n if n else flat, index.device, False, None)
    return gather(input.reshape(-1), 0, wrapped).reshape(tuple(index.shape))


def _attach_methods():
    for name, fn in (("scatter_", scatter), ("scatter_add_", scatter_add), ("scatter_reduce_", scatter_reduce)):
        attach_method(name, lambda self, *a, _fn=fn, _name=name, **k: self._inplace(_name, _fn(self, *a, **k)))


_attach_methods()
