"""Masks: masked_fill, masked_scatter, masked_select (with in-place masked_fill_, masked_scatter_), and
nonzero / argwhere / one-argument where. A mask is a bool tensor that broadcasts to the input's shape;
it is saved for backward as a constant of the graph."""

import numpy as np

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make, attach_method
from .registry import register


def _mask(op, input, mask):
    if not isinstance(mask, Tensor):
        raise DTypeError(f"{op}: mask must be a bool Tensor, got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise DTypeError(f"{op}: mask must be a bool tensor, got {mask.dtype}")
    if mask.device is not input.device:
        from ..errors import DeviceError

        raise DeviceError(f"{op}: mask on {mask.device}, input on {input.device}")
    try:
        shape = np.broadcast_shapes(tuple(mask.shape), tuple(input.shape))
    except ValueError:
        raise ShapeError(f"{op}: mask of shape {tuple(mask.shape)} does not broadcast to the input's "
                         f"{tuple(input.shape)}") from None
    return shape


@register("masked_fill", method=True)
def masked_fill(input, mask, value):
    """input with `value` (a number or a 0-d tensor) where mask is True."""
    from .compare import where

    _mask("masked_fill", input, mask)  # out of place, input and mask broadcast together (masked_fill_ cannot grow)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        value = value if value.dtype == input.dtype else value.astype(input.dtype)
    elif not isinstance(value, (int, float, bool)):
        raise DTypeError(f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
    elif input.dtype.kind not in "fV":
        from .declare import _wrapped_int

        if type(value) is int and input.dtype.kind in "iu":  # out of range wraps, as PyTorch casts it
            value = _wrapped_int(value, input.dtype, "masked_fill")
        value = _make(input.device.backend.xp.asarray(value, dtype=input.dtype), input.device, False, None)
    out = where(mask, value, input)
    return out if out.dtype == input.dtype else out.astype(input.dtype)


@register("masked_scatter", method=True)
def masked_scatter(input, mask, source):
    """input with the elements of `source`, in order, written where mask is True."""
    from .index import index_copy

    shape = _mask("masked_scatter", input, mask)
    xp = input.device.backend.xp
    m = xp.broadcast_to(mask._data, shape).reshape(-1)
    x = input.expand(*shape) if shape != tuple(input.shape) else input
    positions = xp.nonzero(m)[0].astype(np.int64)
    k = int(positions.size)
    if source.numel() < k:
        raise ShapeError(f"masked_scatter: the mask selects {k} elements, source has only {source.numel()}")
    src = source.reshape(-1)[:k]
    out = index_copy(x.reshape(-1), 0, _make(positions, input.device, False, None), src)
    return out.reshape(shape)


@register("masked_select", method=True)
def masked_select(input, mask):
    """The elements of input where mask is True (both broadcast), as a 1-D tensor."""
    from .index import GetItem

    shape = _mask("masked_select", input, mask)
    x = input.expand(*shape) if shape != tuple(input.shape) else input
    m = mask._data if tuple(mask.shape) == shape else input.device.backend.xp.broadcast_to(mask._data, shape)
    return GetItem.apply(x, index=m, advanced=True)


@register("nonzero", method=True)
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, input.dim()) int64 tensor, or (as_tuple) one 1-D
    tensor per dim."""
    xp = input.device.backend.xp
    a = input._data if input.ndim else input._data.reshape(1)
    found = [i.astype(np.int64) for i in xp.nonzero(a)]
    if as_tuple:
        return tuple(_make(i, input.device, False, None) for i in found)
    if input.ndim == 0:
        return _make(xp.zeros((found[0].size, 0), dtype=np.int64), input.device, False, None)
    return _make(xp.stack(found, axis=1), input.device, False, None)


@register("argwhere", method=True)
def argwhere(input):
    """nonzero(input): an (n, input.dim()) int64 tensor of the indices of non-zero elements."""
    return nonzero(input)


def where(condition, input=None, other=None):
    """where(condition, input, other): input where condition else other (broadcast); where(condition):
    nonzero(condition, as_tuple=True)."""
    from .compare import where as where3

    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        from ..errors import ArgumentError

        raise ArgumentError("where: give both input and other, or neither")
    return where3(condition, input, other)


def _attach_methods():
    for name, fn in (("masked_fill_", masked_fill), ("masked_scatter_", masked_scatter)):
        attach_method(name, lambda self, *a, _fn=fn, _n=name, **k: self._inplace(_n, _fn(self, *a, **k)))


_attach_methods()
