"""Shape ops: reshape, transpose, squeeze/unsqueeze, broadcast_to, concatenate, stack, split, pad,
repeat, tile. Their backward rules are shape ops too, so they differentiate any number of times."""

import builtins

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from .reduce import normalize_axis
from .registry import register


class Reshape(Function):
    op_name = "reshape"
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.src = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.src)


class Transpose(Function):
    op_name = "transpose"
    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return transpose(g, *np.argsort(ctx.axes))


class BroadcastTo(Function):
    op_name = "broadcast_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.src = x.shape
        return ctx.backend.xp.broadcast_to(x, shape)

    is_view = True

    @staticmethod
    def backward(ctx, g):
        return g  # the engine sums the broadcast axes back to the input's shape


class Concatenate(Function):
    op_name = "concatenate"

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        return ctx.backend.xp.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        index = [slice(None)] * g.ndim
        grads = []
        for i, needed in enumerate(ctx.needs_input_grad):
            if needed:
                index[ctx.axis] = slice(int(ctx.bounds[i]), int(ctx.bounds[i + 1]))
                grads.append(g[tuple(index)])
            else:
                grads.append(None)
        return tuple(grads)


class Pad(Function):
    op_name = "pad"

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return ctx.backend.xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index]


class Repeat(Function):
    op_name = "repeat"

    @staticmethod
    def forward(ctx, x, repeats, axis):
        ctx.shape, ctx.repeats, ctx.axis = x.shape, repeats, axis
        return ctx.backend.xp.repeat(x, repeats, axis=axis)

    @staticmethod
    def backward(ctx, g):
        shape, r, axis = ctx.shape, ctx.repeats, ctx.axis
        # out[..., i*r + k, ...] = x[..., i, ...]: split the axis into (n, r) and sum the r copies.
        split = shape[:axis] + (shape[axis], r) + shape[axis + 1:]
        return g.reshape(split).sum(axis=axis + 1)


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
        return g.reshape(tuple(split)).sum(axis=tuple(range(0, 2 * len(ctx.shape), 2)))


@register("reshape", method=True)
def reshape(x, *shape):
    """The same elements in a new shape; one dimension may be -1."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(n) for n in shape)
    if shape == x.shape:
        return x
    if min(shape, default=0) < -1:
        raise ShapeError(f"reshape: negative dimension in {shape} for a tensor of shape {x.shape}")
    return Reshape.apply(x, shape=shape)  # NumPy checks the sizes; apply names the op in its error


@register("transpose", method=True)
def transpose(x, *axes):
    """Permute axes (NumPy's transpose: reverses them when none are given)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        axes = tuple(range(x.ndim - 1, -1, -1))
    if sorted(int(a) % builtins.max(x.ndim, 1) for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ShapeError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of {x.shape}")
    axes = tuple(int(a) % x.ndim for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return Transpose.apply(x, axes=axes)


def swapaxes(x, a, b):
    a, b = normalize_axis("swapaxes", a, x.ndim)[0], normalize_axis("swapaxes", b, x.ndim)[0]
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, *axes)


@register("broadcast_to", method=True)
def broadcast_to(x, shape):
    """A read-only view of x repeated along size-1 and new leading axes (NumPy rules)."""
    shape = tuple(shape)
    if shape == x.shape:
        return x
    ok = len(shape) >= x.ndim and builtins.all(
        m == n or m == 1 for m, n in zip(reversed(x.shape), reversed(shape)))
    if not ok:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)


@register("flatten", method=True)
def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes start_axis..end_axis into one (all of them by default)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s = normalize_axis("flatten", start_axis, x.ndim)[0]
    e = normalize_axis("flatten", end_axis, x.ndim)[0]
    if s > e:
        raise ShapeError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for {x.shape}")
    shape = x.shape[:s] + (-1,) + x.shape[e + 1:]
    return reshape(x, shape)


@register("squeeze", method=True)
def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in `axis`, which must have size 1)."""
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = normalize_axis("squeeze", axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ShapeError(f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


@register("unsqueeze", method=True)
def unsqueeze(x, axis):
    """Insert a size-1 axis at `axis` (NumPy's expand_dims)."""
    nd = x.ndim + 1
    if not -nd <= axis < nd:
        raise ShapeError(f"unsqueeze: axis {axis} is out of range for a result of {nd} dimensions")
    axis %= nd
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


expand_dims = unsqueeze


@register("concatenate")
def concatenate(tensors, axis=0):
    """Join tensors along an existing axis; all other dimensions must match."""
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("concatenate: needs at least one tensor")
    first = tensors[0]
    ax = normalize_axis("concatenate", axis, first.ndim)[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or builtins.any(
                m != n for i, (m, n) in enumerate(zip(t.shape, first.shape)) if i != ax):
            shapes = ", ".join(str(u.shape) for u in tensors)
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    return Concatenate.apply(*tensors, axis=ax)


@register("stack")
def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("stack: needs at least one tensor")
    if builtins.any(t.shape != tensors[0].shape for t in tensors):
        raise ShapeError(f"stack: all shapes must be equal, got {[t.shape for t in tensors]}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


@register("split")
def split(x, indices_or_sections, axis=0):
    """NumPy's split: a number of equal sections, or the indices where to cut. Returns a list."""
    ax = normalize_axis("split", axis, x.ndim)[0]
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ShapeError(f"split: axis {axis} of size {n} does not divide into {k} equal sections")
        cuts = [n // k * i for i in range(1, k)]
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = [0] + cuts + [n]
    index = [slice(None)] * x.ndim
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[ax] = slice(lo, hi)
        out.append(x[tuple(index)])
    return out


@register("pad")
def pad(x, pad_width, value=0.0):
    """Constant padding, NumPy style: pad_width is ((before, after), ...) per axis, or one int."""
    if isinstance(pad_width, (int, np.integer)):
        widths = ((int(pad_width), int(pad_width)),) * x.ndim
    else:
        widths = tuple((int(a), int(b)) for a, b in (
            (p, p) if isinstance(p, (int, np.integer)) else p for p in pad_width))
    if len(widths) != x.ndim or builtins.any(a < 0 or b < 0 for a, b in widths):
        raise ShapeError(f"pad: pad_width {pad_width} does not fit a tensor of shape {x.shape}")
    return Pad.apply(x, widths=widths, value=value)


@register("repeat", method=True)
def repeat(x, repeats, axis=None):
    """Repeat each element `repeats` times along `axis` (flattened first when axis is None)."""
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if not isinstance(repeats, (int, np.integer)) or repeats < 0:
        raise ShapeError(f"repeat: repeats must be a non-negative int, got {repeats!r}")
    ax = normalize_axis("repeat", axis, x.ndim)[0]
    return Repeat.apply(x, repeats=int(repeats), axis=ax)


@register("tile", method=True)
def tile(x, reps):
    """Repeat the whole tensor `reps` times along each axis (NumPy's tile)."""
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    if len(reps) > x.ndim:
        x = reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    return Tile.apply(x, reps=reps)



def _attach_methods():
    from ..tensor import Tensor

    Tensor.view = reshape
    Tensor.swapaxes = swapaxes
    Tensor.expand_dims = unsqueeze
    Tensor.T = property(lambda self: transpose(self))
    Tensor.mT = property(lambda self: swapaxes(self, -1, -2))


_attach_methods()
