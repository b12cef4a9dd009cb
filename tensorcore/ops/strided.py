"""PyTorch's storage-level ops: as_strided (a view on the input's storage), as_strided_copy,
as_strided_scatter, and the in-place resize_ / resize_as_.

A tensor's storage is the contiguous array its memory belongs to (its NumPy / CuPy base); positions in it
count elements from its start, as PyTorch's storage offsets and strides do. as_strided's gradient adds g
into the storage positions it read and reads back the input's own positions (PyTorch's as_strided_backward
for an input that does not overlap itself).
"""

import operator

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, GradientError, ShapeError
from ..tensor import Tensor, _make, attach_method
from .registry import register


def _address(a):
    return a.data.ptr if hasattr(a.data, "ptr") else a.__array_interface__["data"][0]


def _storage(op, a):
    """(the storage as a flat array in memory order, a's offset in it in elements)."""
    root = a
    while True:
        base = getattr(root, "base", None)
        if base is not None and not hasattr(base, "strides"):  # NumPy's as_strided wraps its base
            base = getattr(base, "base", None)
        if base is None or not hasattr(base, "strides"):
            break
        root = base
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise ArgumentError(f"{op}: the input's memory is not one contiguous storage (strides "
                            f"{tuple(s // a.itemsize for s in root.strides)}); call .contiguous() first")
    flat = root.ravel(order="K")
    return flat, (_address(a) - _address(flat)) // a.itemsize if a.size else 0


def _positions(shape, strides, offset):
    """Storage positions (int64, shaped `shape`) of a geometry."""
    pos = np.full(tuple(shape), offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        pos += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos


def _geometry(op, x, size, stride, storage_offset):
    try:
        size = tuple(operator.index(s) for s in size)
        stride = tuple(operator.index(s) for s in stride)
    except TypeError:
        raise ArgumentError(f"{op}: size and stride must be sequences of ints, got {size!r} and {stride!r}") from None
    if len(size) != len(stride):
        raise ShapeError(f"{op}: mismatch in length of strides and shape ({len(stride)} vs {len(size)})")
    if min(size, default=0) < 0 or min(stride, default=0) < 0:
        raise ShapeError(f"{op}: sizes {size} and strides {stride} must be non-negative")
    flat, own = _storage(op, x._data)
    offset = own if storage_offset is None else operator.index(storage_offset)
    if offset < 0:
        raise ShapeError(f"{op}: storage_offset must be non-negative, got {offset}")
    need = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
    if need > flat.size:
        raise ShapeError(f"{op}: size {size}, stride {stride} and storage offset {offset} need a storage of {need} "
                         f"elements; the input {tuple(x.shape)} has {flat.size}")
    return flat, own, size, stride, offset


class AsStrided(Function):
    """A view of the input's storage with the given geometry; backward scatter-adds g into the storage."""

    op_name = "as_strided"
    is_view = True
    remakes_view = False  # (flat, a param, is the input's storage: in-place changes through it are refused)

    @staticmethod
    def forward(ctx, x, flat, own, size, stride, offset):
        ctx.x_geometry = (x.shape, tuple(s // x.itemsize for s in x.strides), own, flat.size)
        ctx.geometry = (size, stride, offset)
        view = ctx.backend.xp.lib.stride_tricks.as_strided(flat[offset:] if flat.size else flat, size,
                                                tuple(s * x.itemsize for s in stride))
        return view

    @staticmethod
    def backward(ctx, g):
        from .index import index_add, index_select

        shape, strides, own, storage = ctx.x_geometry
        size, stride, offset = ctx.geometry
        x_pos = _positions(shape, strides, own).reshape(-1)
        if np.unique(x_pos).size != x_pos.size:
            raise GradientError(f"as_strided: the gradient of an input that overlaps itself (shape {shape}, "
                                f"strides {strides}) is not supported")
        owner = np.full(storage, -1, dtype=np.int64)
        owner[x_pos] = np.arange(x_pos.size)
        hit = owner[_positions(size, stride, offset).reshape(-1)]
        keep = np.nonzero(hit >= 0)[0]
        be = g.device.backend
        src = index_select(g.reshape(-1), 0, _make(be.from_host(keep), g.device, False, None))
        zeros = _make(be.xp.zeros(x_pos.size, dtype=g.dtype), g.device, False, None)
        return index_add(zeros, 0, _make(be.from_host(hit[keep]), g.device, False, None), src).reshape(shape)


@register("as_strided", method=True)
def as_strided(input, size, stride, storage_offset=None):
    """A view of input's storage: element i of the result is storage[offset + sum_d i_d stride_d] (PyTorch's)."""
    flat, own, size, stride, offset = _geometry("as_strided", input, size, stride, storage_offset)
    return AsStrided.apply(input, flat=flat, own=own, size=size, stride=stride, offset=offset)


@register("as_strided_copy")
def as_strided_copy(input, size, stride, storage_offset=None):
    """as_strided's values in new memory."""
    return as_strided(input, size, stride, storage_offset).clone()


@register("as_strided_scatter", method=True)
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of input with src written where as_strided(input, size, stride, storage_offset) would look.

    Differentiable in src only: PyTorch's gradient for input (g at the written positions, zero elsewhere) is not
    the derivative (which is zero there and g elsewhere), so that one is refused rather than given differently.
    """
    if isinstance(input, Tensor) and input.requires_grad:
        raise GradientError("as_strided_scatter: the gradient with respect to input is not supported (PyTorch's is "
                            "g at the written positions, not the derivative); detach input, or use index_copy")
    if not isinstance(src, Tensor) or tuple(src.shape) != tuple(size):
        raise ShapeError(f"as_strided_scatter: src of shape {tuple(getattr(src, 'shape', ()))} for size {tuple(size)}")
    flat, own, size, stride, offset = _geometry("as_strided_scatter", input, size, stride, storage_offset)
    if own != 0 or not input._data.flags.c_contiguous:
        raise ArgumentError("as_strided_scatter: the input must be a contiguous tensor at the start of its storage")
    pos = _positions(size, stride, offset).reshape(-1)
    if np.unique(pos).size != pos.size:
        raise ArgumentError(f"as_strided_scatter: size {size} and stride {stride} write some positions twice")
    from .index import index_copy

    be = input.device.backend
    index = _make(be.from_host(pos), input.device, False, None)
    return index_copy(input.reshape(-1), 0, index, src.reshape(-1)).reshape(input.shape)


def resize_(self, *sizes, memory_format=None):
    """In place: the shape `sizes`, contiguous, keeping the first elements in memory order (new ones are 0)."""
    if memory_format is not None:
        from ..dtypes import memory_format_name

        if memory_format_name(memory_format) != "contiguous_format":
            raise ArgumentError(f"resize_: memory_format={memory_format} is not supported")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    try:
        sizes = tuple(operator.index(s) for s in sizes)
    except TypeError:
        raise ArgumentError(f"resize_: sizes must be ints, got {sizes!r}") from None
    if min(sizes, default=0) < 0:
        raise ShapeError(f"resize_: sizes {sizes} must be non-negative")
    if self.requires_grad:
        raise GradientError(f"resize_: cannot resize a tensor that requires grad (shape {tuple(self.shape)})")
    n = int(np.prod(sizes))
    a = self._data
    if n == a.size and a.flags.c_contiguous:
        self._data = a.reshape(sizes)
    elif n <= a.size and a.flags.c_contiguous:
        self._data = a.reshape(-1)[:n].reshape(sizes)
    else:  # new memory: the old elements (memory order) first
        xp = self.device.backend.xp
        out = xp.zeros(n, dtype=a.dtype)
        old = a.ravel(order="K")[:n]
        out[:old.size] = old
        self._data = out.reshape(sizes)
    self._version += 1
    return self


def resize_as_(self, the_template, memory_format=None):
    """resize_ to the template's shape."""
    return resize_(self, tuple(the_template.shape), memory_format=memory_format)


attach_method("resize_", resize_)
attach_method("resize_as_", resize_as_)
