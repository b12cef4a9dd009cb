"""Rearranging elements, with PyTorch's meanings: flip, fliplr, flipud, roll, rot90; tril, triu, diag,
diagonal (a view), diag_embed; hstack, vstack, dstack, column_stack; atleast_1d/2d/3d, meshgrid,
broadcast_tensors; tile, repeat (tiles, as torch's does) and repeat_interleave (NumPy's repeat)."""

import builtins

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, _make
from .dims import dims as dims_module
from .dims import is_int, one_dim, sizes
from .joins import cat
from .registry import register
from .shape import expand, reshape, transpose


class Flip(Function):
    op_name = "flip"

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return ctx.backend.xp.flip(x, axes).copy()  # PyTorch's flip copies

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, axes=ctx.axes)


class Roll(Function):
    op_name = "roll"

    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return ctx.backend.xp.roll(x, shifts, axes)

    @staticmethod
    def backward(ctx, g):
        return Roll.apply(g, shifts=tuple(-s for s in ctx.shifts), axes=ctx.axes)


class Triangle(Function):
    """tril / triu of the last two dims; the gradient is the same triangle of g."""

    op_name = "tril"

    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        xp = ctx.backend.xp
        return xp.triu(x, k) if upper else xp.tril(x, k)

    @staticmethod
    def backward(ctx, g):
        return Triangle.apply(g, k=ctx.k, upper=ctx.upper)


def _diagonal_positions(xp, length, offset):
    return xp.arange(length) + builtins.max(-offset, 0), xp.arange(length) + builtins.max(offset, 0)


class Diagonal(Function):
    """The diagonal (offset) of dims d1, d2, appended as the last dim: a view."""

    op_name = "diagonal"
    is_view = True

    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.shape, ctx.offset, ctx.d1, ctx.d2 = x.shape, offset, d1, d2
        out = ctx.backend.xp.diagonal(x, offset, d1, d2)
        if getattr(x.flags, "writeable", False) and not getattr(out.flags, "writeable", True):
            out.flags.writeable = True  # NumPy's diagonal is read-only; PyTorch's writes through
        return out

    @staticmethod
    def backward(ctx, g):
        return DiagonalScatter.apply(g, shape=ctx.shape, offset=ctx.offset, d1=ctx.d1, d2=ctx.d2)


class DiagonalScatter(Function):
    """zeros(shape) with the last dim of g written on the diagonal (offset) of dims d1, d2."""

    op_name = "diag_embed"

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.offset, ctx.d1, ctx.d2 = offset, d1, d2
        xp = ctx.backend.xp
        out = xp.zeros(shape, dtype=g.dtype)
        rows, cols = _diagonal_positions(xp, g.shape[-1], offset)
        xp.moveaxis(out, (d1, d2), (-2, -1))[..., rows, cols] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return Diagonal.apply(gg, offset=ctx.offset, d1=ctx.d1, d2=ctx.d2)


@register("flip", method=True)
def flip(input, *dims_, dims=None):
    """input with the order of elements reversed along `dims` (a copy)."""
    axes = dims_module("flip", sizes("flip", dims_ if dims is None else (dims,)), input.ndim, empty_means_all=False)
    return Flip.apply(input, axes=axes)


@register("fliplr", method=True)
def fliplr(input):
    """flip(input, 1): left and right swapped (at least 2 dims)."""
    if input.ndim < 2:
        raise ShapeError(f"fliplr: the input must have at least 2 dims, got {tuple(input.shape)}")
    return Flip.apply(input, axes=(1,))


@register("flipud", method=True)
def flipud(input):
    """flip(input, 0): up and down swapped (at least 1 dim)."""
    if input.ndim < 1:
        raise ShapeError("flipud: the input must have at least 1 dim, got a 0-d tensor")
    return Flip.apply(input, axes=(0,))


@register("roll", method=True)
def roll(input, shifts, dims=None):
    """Elements shifted by `shifts` along `dims` (wrapping around); over the flattened tensor when dims is None."""
    shifts = (shifts,) if is_int(shifts) else sizes("roll", (shifts,))
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: {len(shifts)} shifts need as many dims")
        return reshape(Roll.apply(reshape(input, -1), shifts=shifts, axes=(0,)), tuple(input.shape))
    axes = (dims,) if is_int(dims) else sizes("roll", (dims,))
    if len(axes) != len(shifts):
        raise ShapeError(f"roll: {len(shifts)} shifts and {len(axes)} dims")
    return Roll.apply(input, shifts=shifts, axes=tuple(one_dim("roll", d, input.ndim) for d in axes))


@register("rot90", method=True)
def rot90(input, k=1, dims=(0, 1)):
    """The plane of `dims` rotated by k * 90 degrees, from the first dim towards the second."""
    if len(dims) != 2 or input.ndim < 2:
        raise ShapeError(f"rot90: needs two dims of a tensor of at least 2 dims, got dims {dims} for "
                         f"{tuple(input.shape)}")
    a, b = one_dim("rot90", dims[0], input.ndim), one_dim("rot90", dims[1], input.ndim)
    if a == b:
        raise ShapeError(f"rot90: the two dims must differ, got {dims}")
    k %= 4
    if k == 0:
        return input.clone()  # (a copy: * 1 would turn bool into int64)
    if k == 2:
        return Flip.apply(input, axes=tuple(sorted((a, b))))
    return transpose(Flip.apply(input, axes=(b if k == 1 else a,)), a, b)


def _triangle(name, upper):
    def fn(input, diagonal=0):
        if input.ndim < 2:
            raise ShapeError(f"{name}: the input must have at least 2 dims, got {tuple(input.shape)}")
        if not is_int(diagonal):
            raise ArgumentError(f"{name}: diagonal must be an int, got {diagonal!r}")
        return Triangle.apply(input, k=int(diagonal), upper=upper)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The {'upper' if upper else 'lower'} triangle of the last two dims (on and "
                  f"{'above' if upper else 'below'} diagonal `diagonal`), zeros elsewhere.")
    return register(name, method=True)(fn)


tril = _triangle("tril", False)
triu = _triangle("triu", True)


@register("diagonal", method=True)
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal `offset` (above the main one when positive) of the plane (dim1, dim2), as the last dim (a view)."""
    a, b = one_dim("diagonal", dim1, input.ndim), one_dim("diagonal", dim2, input.ndim)
    if a == b or input.ndim < 2:
        raise ShapeError(f"diagonal: needs two different dims of a tensor of at least 2 dims, got {dim1}, {dim2} "
                         f"for {tuple(input.shape)}")
    return Diagonal.apply(input, offset=int(offset), d1=a, d2=b)


@register("diag_embed", method=True)
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices with input's last dim on their diagonal `offset`, in the plane (dim1, dim2) of the result."""
    nd = input.ndim + 1
    a, b = one_dim("diag_embed", dim1, nd), one_dim("diag_embed", dim2, nd)
    if a == b:
        raise ShapeError(f"diag_embed: dim1 and dim2 must differ, got {dim1}, {dim2}")
    n = (input.shape[-1] if input.ndim else 1) + builtins.abs(int(offset))
    shape = list(input.shape[:-1])
    for d in sorted((a, b)):
        shape.insert(d, n)
    x = input if input.ndim else reshape(input, 1)
    return DiagonalScatter.apply(x, shape=tuple(shape), offset=int(offset), d1=a, d2=b)


@register("diag", method=True)
def diag(input, diagonal=0):
    """1-D: the square matrix with input on diagonal `diagonal`; 2-D: that diagonal, as a new tensor."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return Diagonal.apply(input, offset=int(diagonal), d1=0, d2=1).clone()
    raise ShapeError(f"diag: expects a 1-D or 2-D tensor, got {tuple(input.shape)}")


def _atleast(name, n, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    items = tensors[0] if len(tensors) == 1 and not single else tensors
    out = []
    for t in items:
        if t.ndim >= n:
            out.append(t)
        elif n == 1 or t.ndim == 0:
            out.append(reshape(t, (1,) * n))
        elif n == 2:
            out.append(reshape(t, (1,) + tuple(t.shape)))
        else:  # 3: (k,) -> (1, k, 1); (a, b) -> (a, b, 1)
            out.append(reshape(t, (1, t.shape[0], 1) if t.ndim == 1 else tuple(t.shape) + (1,)))
    return out[0] if single else tuple(out)


@register("atleast_1d")
def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes shape (1,)); one tensor in, one out, else a tuple."""
    return _atleast("atleast_1d", 1, tensors)


@register("atleast_2d")
def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: (k,) becomes (1, k)."""
    return _atleast("atleast_2d", 2, tensors)


@register("atleast_3d")
def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: (k,) becomes (1, k, 1) and (a, b) becomes (a, b, 1)."""
    return _atleast("atleast_3d", 3, tensors)


@register("hstack")
def hstack(tensors):
    """cat along dim 1 (dim 0 for 1-D tensors)."""
    ts = atleast_1d(*tensors) if len(tensors) != 1 else (atleast_1d(tensors[0]),)
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


@register("vstack")
def vstack(tensors):
    """cat along dim 0 of atleast_2d(tensors)."""
    return cat([atleast_2d(t) for t in tensors], 0)


@register("dstack")
def dstack(tensors):
    """cat along dim 2 of atleast_3d(tensors)."""
    return cat([atleast_3d(t) for t in tensors], 2)


@register("column_stack")
def column_stack(tensors):
    """0-d and 1-D tensors as columns (n, 1), then cat along dim 1."""
    return cat([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors], 1)


@register("meshgrid")
def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 1-D tensors: indexing='ij' (the default, matrix order) or 'xy' (the first two dims
    swapped, Cartesian order)."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0-d or 1-D tensors, got {tuple(t.shape)}")
    lengths = [t.numel() for t in tensors]
    axis_of = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axis_of[0], axis_of[1] = 1, 0
    shape = [0] * len(tensors)
    for i, n in enumerate(lengths):
        shape[axis_of[i]] = n
    out = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[axis_of[i]] = lengths[i]
        out.append(expand(reshape(t, tuple(view)), tuple(shape)))
    return tuple(out)


@register("broadcast_tensors")
def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views)."""
    try:
        shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    except ValueError:
        raise ShapeError(f"broadcast_tensors: shapes {[tuple(t.shape) for t in tensors]} do not broadcast") from None
    return tuple(expand(t, shape) for t in tensors)


class Tile(Function):
    op_name = "tile"

    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape, ctx.reps = x.shape, reps
        return ctx.backend.xp.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        # out axis i has reps[i] blocks of shape[i]: view it as (reps[i], shape[i]) and sum the blocks.
        split = []
        for r, n in zip(ctx.reps, ctx.shape):
            split += [r, n]
        return g.reshape(tuple(split)).sum(tuple(range(0, 2 * len(ctx.shape), 2)))


@register("tile", method=True)
def tile(input, *dims_):
    """The whole tensor repeated dims[i] times along dim i (missing leading dims count as 1, either side)."""
    reps = sizes("tile", dims_)
    if builtins.any(r < 0 for r in reps):
        raise ShapeError(f"tile: negative repeats {reps}")
    if len(reps) < input.ndim:
        reps = (1,) * (input.ndim - len(reps)) + reps
    x = reshape(input, (1,) * (len(reps) - input.ndim) + tuple(input.shape)) if len(reps) > input.ndim else input
    return Tile.apply(x, reps=reps)


@register("repeat", method=True)
def repeat(input, *sizes_):
    """PyTorch's repeat: the whole tensor tiled sizes[i] times along dim i (len(sizes) >= input.dim());
    NumPy's element repeat is repeat_interleave."""
    from .._validate import fits_in_memory

    reps = sizes("repeat", sizes_)
    if len(reps) < input.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeats {reps} for a tensor of {input.ndim} dims (need at least "
                         f"{input.ndim}; for NumPy's repeat use repeat_interleave)")
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    fits_in_memory(tuple(s * r for s, r in zip(shape, reps)), input.dtype, "repeat")
    return tile(input, reps)


@register("repeat_interleave", method=True)
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element repeated `repeats` times (an int, or one count per element) along `dim` (over the flattened
    tensor when dim is None); repeat_interleave(counts) gives arange(len(counts)) repeated."""
    from .index import index_select

    xp = input.device.backend.xp
    if repeats is None:  # the one-argument form
        counts = input._data
        return _make(xp.repeat(xp.arange(counts.size, dtype=np.int64), counts), input.device, False, None)
    x = reshape(input, -1) if dim is None else input
    d = 0 if dim is None else one_dim("repeat_interleave", dim, input.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu" or repeats.ndim > 1 or repeats.numel() not in (1, n):
            raise ShapeError(f"repeat_interleave: repeats must be an int tensor of 1 or {n} elements, got "
                             f"{tuple(repeats.shape)} {repeats.dtype}")
        counts = repeats._data.reshape(-1)
    elif is_int(repeats):
        counts = xp.asarray([int(repeats)])
    else:
        raise ArgumentError(f"repeat_interleave: repeats must be an int or a Tensor, got {type(repeats).__name__}")
    if bool((counts < 0).any()):
        raise ShapeError("repeat_interleave: repeats must be non-negative")
    from .._validate import fits_in_memory

    total = int(counts.sum()) * (n if counts.size == 1 else 1)
    fits_in_memory((total,), np.dtype(np.int64), "repeat_interleave")
    fits_in_memory((total * (x.numel() // max(n, 1) if x.ndim else 1),), input.dtype, "repeat_interleave")
    counts = xp.broadcast_to(counts, (n,))
    index = _make(xp.repeat(xp.arange(n, dtype=np.int64), counts), input.device, False, None)
    if output_size is not None and output_size != index.numel():
        raise ShapeError(f"repeat_interleave: output_size={output_size}, but the repeats give {index.numel()}")
    return index_select(x if x.ndim else reshape(x, 1), d, index)
