"""Indexing: x[index] with ints, slices (with steps), None, Ellipsis, integer arrays and boolean
masks; index_put, the functional form of x[index] = value; and PyTorch's index_select, index_add,
index_fill, index_copy (with in-place index_add_, index_fill_, index_copy_, index_put_), whose 1-D index
is saved for backward and version-checked.

# NOTE: with integer-array indices an element can be picked more than once; its gradient is then
# the sum over the picks (scatter-add), never the last write.
"""

import numpy as np

from ..autograd import Function
from ..errors import IndexingError
from ..tensor import Tensor, _make
from .registry import register


def _normalize_index(index, device):
    """Tensors and lists inside an index become backend arrays; returns (index, is_advanced)."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    advanced = False
    xp = device.backend.xp
    for item in items:
        if isinstance(item, Tensor):
            if item.device is not device:
                from ..errors import DeviceError

                raise DeviceError(f"getitem: index on {item.device}, tensor on {device}")
            item = item._data
        elif isinstance(item, list):
            item = xp.asarray(item)
        elif isinstance(item, np.ndarray) and xp is not np:
            from ..errors import DeviceError

            raise DeviceError(f"getitem: a NumPy index for a tensor on {device}; make it a tensor on {device}")
        if hasattr(item, "dtype") and getattr(item, "ndim", 0) >= 0 and not isinstance(item, (np.integer,)):
            if item.dtype.kind not in "biu":
                raise IndexingError(f"getitem: index arrays must be integer or bool, got {item.dtype}")
            advanced = True
        out.append(item)
    return tuple(out), advanced


class GetItem(Function):
    op_name = "getitem"

    @staticmethod
    def forward(ctx, x, index, advanced):
        try:
            out = x[index]
        except IndexError as e:
            raise IndexingError(f"getitem: {e} (tensor of shape {x.shape})") from None
        ctx.shape, ctx.index, ctx.advanced = x.shape, index, advanced
        return ctx.backend.xp.asarray(out)  # x[int] on a 1-D array is a scalar: make it 0-d

    @staticmethod
    def backward(ctx, g):
        return ScatterAdd.apply(g, shape=ctx.shape, index=ctx.index, advanced=ctx.advanced)


class ScatterAdd(Function):
    """zeros(shape) with g added at `index`: getitem's backward, whose own backward is getitem."""

    op_name = "scatter_add"

    @staticmethod
    def forward(ctx, g, shape, index, advanced):
        xp = ctx.backend.xp
        out = xp.zeros(shape, dtype=g.dtype)
        if advanced:
            xp.add.at(out, index, g)
        else:
            out[index] = g
        ctx.index, ctx.advanced = index, advanced
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, index=ctx.index, advanced=ctx.advanced)


class IndexPut(Function):
    """out = x with out[index] = value (value broadcast to the indexed shape)."""

    op_name = "index_put"

    @staticmethod
    def forward(ctx, x, value, index, advanced):
        out = x.copy()
        try:
            out[index] = value
        except IndexError as e:
            raise IndexingError(f"setitem: {e} (tensor of shape {x.shape})") from None
        except ValueError as e:
            raise IndexingError(f"setitem: {e} (tensor of shape {x.shape}, value of shape "
                                f"{np.shape(value)})") from None
        ctx.index, ctx.advanced, ctx.value_shape = index, advanced, np.shape(value)
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = IndexPut.apply(g, 0.0, index=ctx.index, advanced=ctx.advanced)
        if ctx.needs_input_grad[1]:
            gv = GetItem.apply(g, index=ctx.index, advanced=ctx.advanced)  # the engine sums to value's shape
        return gx, gv


@register("getitem")
def getitem(x, index):
    """x[index]: ints, slices, None and Ellipsis give a view; integer and bool tensors (advanced indexing)
    a copy, where repeated integer indices accumulate their gradients."""
    index, advanced = _normalize_index(index, x.device)
    if len(index) == 1:
        index = index[0]
    if not advanced:
        from .shape import Slice

        return Slice.apply(x, index=index)
    return GetItem.apply(x, index=index, advanced=advanced)


@register("index_put", method=True)
def index_put(x, index, value, accumulate=False):
    """A copy of x with x[index] = value (accumulate=True: x[index] += value, repeats adding up);
    differentiable in x and value."""
    if accumulate:
        index, advanced = _normalize_index(index, x.device)
        index = index[0] if len(index) == 1 else index
        if type(value) is int and x.dtype.kind in "iu":
            from .declare import _wrapped_int

            value = _wrapped_int(value, x.dtype, "index_put")
        if not isinstance(value, Tensor):
            value = _make(x.device.backend.asarray(value, dtype=x.dtype), x.device, False, None)
        picked = x._data[index]
        from .shape import expand

        target = tuple(getattr(picked, "shape", ()))
        value = expand(value, target) if tuple(value.shape) != target else value
        return x + ScatterAdd.apply(value.astype(x.dtype), shape=x.shape, index=index, advanced=advanced)
    index, advanced = _normalize_index(index, x.device)
    if len(index) == 1:
        index = index[0]
    if type(value) is int and x.dtype.kind in "iu":  # PyTorch's checked cast: uint8[i] = -2 stores 254
        from .declare import _wrapped_int

        value = _wrapped_int(value, x.dtype, "setitem")
    if not isinstance(value, Tensor):
        if not isinstance(value, (int, float)):
            value = _make(x.device.backend.asarray(value, dtype=x.dtype), x.device, False, None)
    elif value.device is not x.device:
        from ..errors import DeviceError

        raise DeviceError(f"setitem: value on {value.device}, tensor on {x.device}")
    return IndexPut.apply(x, value, index=index, advanced=advanced)


class IndexSelect(Function):
    """out = x taken at the 1-D `index` along dim; its backward is index_add into zeros."""

    op_name = "index_select"

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return ctx.backend.xp.take(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        zeros = _make(ctx.backend.xp.zeros(ctx.shape, dtype=g.dtype), g.device, False, None)
        return IndexAdd.apply(zeros, index, g, dim=ctx.dim, alpha=1), None


class IndexAdd(Function):
    """out = x with alpha * src[i] added at x[index[i]] along dim (repeated indices add up)."""

    op_name = "index_add"

    @staticmethod
    def forward(ctx, x, index, src, dim, alpha):
        xp = ctx.backend.xp
        ctx.dim, ctx.alpha = dim, alpha
        ctx.save_for_backward(index)
        out = x.copy()
        xp.add.at(xp.moveaxis(out, dim, 0), index, xp.moveaxis(src * alpha if alpha != 1 else src, dim, 0))
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gs = IndexSelect.apply(g, index, dim=ctx.dim) if ctx.needs_input_grad[2] else None
        return g, None, (gs * ctx.alpha if gs is not None and ctx.alpha != 1 else gs)


class IndexCopy(Function):
    """out = x with x[index[i]] = src[i] along dim (value: a number or 0-d tensor written at each index)."""

    op_name = "index_copy"

    @staticmethod
    def forward(ctx, x, index, src, dim, fill):
        xp = ctx.backend.xp
        ctx.dim, ctx.fill = dim, fill
        ctx.save_for_backward(index)
        out = x.copy()
        xp.moveaxis(out, dim, 0)[index] = src if fill else xp.moveaxis(src, dim, 0)
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = IndexCopy.apply(g, index, 0.0, dim=ctx.dim, fill=True) if need[0] else None
        gs = None
        if need[2]:
            if ctx.fill:  # a 0-d value tensor: the sum of g at the (distinct) filled positions
                xp = ctx.backend.xp
                distinct = _make(xp.unique(index._data), g.device, False, None)
                gs = IndexSelect.apply(g, distinct, dim=ctx.dim).sum()
            else:
                gs = IndexSelect.apply(g, index, dim=ctx.dim)
        return gx, None, gs


def _index_1d(op, x, dim, index, negative=False):
    """(dim, int64 index) of index_select & co; negative indices count from the end only where PyTorch's op
    takes them (index_fill), the others refuse them as PyTorch's do."""
    from .dims import one_dim

    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        raise IndexingError(f"{op}: index must be a 0-d or 1-D integer Tensor, got "
                            f"{getattr(index, 'shape', type(index).__name__)} {getattr(index, 'dtype', '')}")
    if index.device is not x.device:
        from ..errors import DeviceError

        raise DeviceError(f"{op}: index on {index.device}, input on {x.device}")
    d = one_dim(op, dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    idx = index._data.reshape(-1)
    if idx.size and (int(idx.min()) < (-n if negative else 0) or int(idx.max()) >= n):
        raise IndexingError(f"{op}: index out of range for dim {d} of size {n} (range [{int(idx.min())}, "
                            f"{int(idx.max())}])")
    if idx.size and int(idx.min()) < 0:
        idx = idx % n
    elif idx.dtype == np.int64 and index.ndim == 1:
        return d, index
    return d, _make(idx.astype(np.int64), x.device, False, None)


def _source(op, x, d, index, source):
    if not isinstance(source, Tensor):
        raise IndexingError(f"{op}: source must be a Tensor, got {type(source).__name__}")
    want = tuple(index.shape[0] if i == d else n for i, n in enumerate(x.shape))
    if tuple(source.shape) != want and not (x.ndim == 0 and source.numel() == index.numel()):
        from ..errors import ShapeError

        raise ShapeError(f"{op}: source of shape {tuple(source.shape)} should be {want} for input "
                         f"{tuple(x.shape)}, dim {d} and {index.shape[0]} indices")
    return source if source.dtype == x.dtype else source.astype(x.dtype)


@register("index_select", method=True)
def index_select(input, dim, index):
    """input taken at the indices of the 1-D `index` along `dim` (a copy; the gradient adds up repeats)."""
    d, index = _index_1d("index_select", input, dim, index)
    if input.ndim == 0:  # PyTorch: a 0-d input gives a 0-d result
        return IndexSelect.apply(input.reshape(1), index, dim=0).reshape(())
    return IndexSelect.apply(input, index, dim=d)


@register("index_add", method=True)
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of input with alpha * source[i] added at index[i] along `dim`."""
    d, index = _index_1d("index_add", input, dim, index)
    if input.ndim == 0:
        return index_add(input.reshape(1), 0, index, source.reshape(-1), alpha=alpha).reshape(())
    return IndexAdd.apply(input, index, _source("index_add", input, d, index, source), dim=d, alpha=alpha)


@register("index_copy", method=True)
def index_copy(input, dim, index, source):
    """A copy of input with source[i] written at index[i] along `dim`."""
    d, index = _index_1d("index_copy", input, dim, index)
    if input.ndim == 0:
        return index_copy(input.reshape(1), 0, index, source.reshape(-1)).reshape(())
    return IndexCopy.apply(input, index, _source("index_copy", input, d, index, source), dim=d, fill=False)


@register("index_fill", method=True)
def index_fill(input, dim, index, value):
    """A copy of input with `value` (a number or a 0-d tensor) written at the indices along `dim`."""
    d, index = _index_1d("index_fill", input, dim, index, negative=True)
    if input.ndim == 0:
        return index_fill(input.reshape(1), 0, index, value).reshape(())
    if isinstance(value, Tensor):
        if value.ndim != 0:
            from ..errors import ShapeError

            raise ShapeError(f"index_fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        value = value if value.dtype == input.dtype else value.astype(input.dtype)
    elif not isinstance(value, (int, float, bool)):
        raise IndexingError(f"index_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
    return IndexCopy.apply(input, index, value, dim=d, fill=True)


def _attach_methods():
    from ..tensor import Tensor

    for name in ("index_add", "index_copy", "index_fill", "index_put"):
        fn = globals()[name]
        setattr(Tensor, name + "_", lambda self, *a, _fn=fn, _n=name + "_", **k: self._inplace(_n, _fn(self, *a, **k)))

    def __iter__(self):
        if self._data.ndim == 0:
            from ..errors import ArgumentError

            raise ArgumentError("iteration over a 0-d tensor")
        return (getitem(self, i) for i in range(self._data.shape[0]))

    def __setitem__(self, index, value):
        if isinstance(value, Tensor) and value._vcounter is not None and value._vcounter is self._vcounter \
                and _same_region(self._data, index, value._data):
            # x[i] op= v: Python assigns the view x[i], just changed in place, back to itself. Nothing to
            # write or record (its change already is in the graph), only PyTorch's version bump of the copy.
            self._vcounter[0] += 1
            return
        self._inplace("setitem", index_put(self, index, value))

    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = __setitem__
    Tensor.__iter__ = __iter__


def _same_region(data, index, region):
    """Whether `region` is the view data[index] for a basic index (ints, slices, None, Ellipsis)."""
    items = index if isinstance(index, tuple) else (index,)
    if not all(i is None or i is Ellipsis or isinstance(i, (int, slice)) and not isinstance(i, bool) for i in items):
        return False
    try:
        view = data[items]
        if isinstance(view, np.generic):  # every dim indexed by an int: the element's 0-d view
            view = data[(*items, Ellipsis)]
    except (IndexError, TypeError):
        return False
    if view.shape != region.shape or view.strides != region.strides:
        return False
    if isinstance(view, np.ndarray):
        return view.__array_interface__["data"][0] == region.__array_interface__["data"][0]
    return view.data.ptr == region.data.ptr  # CuPy


_attach_methods()
