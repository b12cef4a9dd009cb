"""Indexing: x[index] with ints, slices (with steps), None, Ellipsis, integer arrays and boolean
masks; and index_put, the functional form of x[index] = value.

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
    """x[index], NumPy semantics; repeated integer indices accumulate their gradients."""
    index, advanced = _normalize_index(index, x.device)
    if len(index) == 1:
        index = index[0]
    return GetItem.apply(x, index=index, advanced=advanced)


@register("index_put")
def index_put(x, index, value):
    """A copy of x with x[index] = value; differentiable in x and value."""
    index, advanced = _normalize_index(index, x.device)
    if len(index) == 1:
        index = index[0]
    if not isinstance(value, Tensor):
        if not isinstance(value, (int, float)):
            value = _make(x.device.backend.asarray(value, dtype=x.dtype), x.device, False, None)
    elif value.device is not x.device:
        from ..errors import DeviceError

        raise DeviceError(f"setitem: value on {value.device}, tensor on {x.device}")
    return IndexPut.apply(x, value, index=index, advanced=advanced)


def _attach_methods():
    from ..tensor import Tensor

    def __iter__(self):
        if self._data.ndim == 0:
            from ..errors import ArgumentError

            raise ArgumentError("iteration over a 0-d tensor")
        return (getitem(self, i) for i in range(self._data.shape[0]))

    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = lambda self, index, value: self._inplace("setitem", index_put(self, index, value))
    Tensor.__iter__ = __iter__


_attach_methods()
