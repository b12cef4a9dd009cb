"""Joining and splitting with PyTorch's meanings: cat / concat / concatenate, stack, split (pieces of a
given size, or of given sizes), tensor_split (NumPy's array_split), chunk, unbind, select and narrow.
The pieces are views of the input."""

import builtins

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .dims import is_int, one_dim, sizes
from .registry import register


class Concatenate(Function):
    op_name = "cat"

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


def _tensors(op, tensors):
    if isinstance(tensors, Tensor):
        raise ArgumentError(f"{op}: expected a sequence of tensors, got one Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ShapeError(f"{op}: needs at least one tensor")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise ArgumentError(f"{op}: expected tensors, got {type(t).__name__}")
    return tensors


def _dim_or_axis(op, dim, axis):
    if axis is None:
        return dim
    if dim != 0:
        raise ArgumentError(f"{op}: got both dim= and its alias axis=")
    return axis


def _common_dtype(tensors):
    """PyTorch's promotion across tensors: the widest float if any is floating, else NumPy's integer rule."""
    floats = [t.dtype for t in tensors if t.dtype.kind in "fV"]
    return np.result_type(*floats) if floats else np.result_type(*[t.dtype for t in tensors])


@register("cat")
def cat(tensors, dim=0, *, axis=None):
    """Tensors joined along the existing dim `dim`; all other sizes must match (1-D empty tensors are skipped)."""
    tensors = _tensors("cat", tensors)
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    dtype = _common_dtype(tensors)  # a skipped empty tensor still takes part in the promotion, as in PyTorch
    kept = [t if t.dtype == dtype else t.astype(dtype) for t in kept]
    first = kept[0]
    d = one_dim("cat", _dim_or_axis("cat", dim, axis), first.ndim)
    for t in kept[1:]:
        if t.ndim != first.ndim or builtins.any(m != n for i, (m, n) in enumerate(zip(t.shape, first.shape)) if i != d):
            shapes = ", ".join(str(tuple(u.shape)) for u in kept)
            raise ShapeError(f"cat: shapes {shapes} differ outside dim {d}")
    return Concatenate.apply(*kept, axis=d)


@register("concatenate")
def concatenate(tensors, dim=0, *, axis=None):
    """cat(tensors, dim)."""
    return cat(tensors, dim, axis=axis)


@register("concat")
def concat(tensors, dim=0, *, axis=None):
    """cat(tensors, dim)."""
    return cat(tensors, dim, axis=axis)


@register("stack")
def stack(tensors, dim=0, *, axis=None):
    """Same-shaped tensors joined along a new dim `dim`."""
    tensors = _tensors("stack", tensors)
    if builtins.any(t.shape != tensors[0].shape for t in tensors):
        raise ShapeError(f"stack: all shapes must be equal, got {[tuple(t.shape) for t in tensors]}")
    d = one_dim("stack", _dim_or_axis("stack", dim, axis), tensors[0].ndim + 1)
    from .shape import unsqueeze

    return cat([unsqueeze(t, d) for t in tensors], d)


def _pieces(input, d, bounds):
    from .shape import Slice

    index = [slice(None)] * input.ndim
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[d] = slice(int(lo), int(hi))
        out.append(Slice.apply(input, index=tuple(index)))
    return tuple(out)


@register("split", method=True)
def split(tensor, split_size_or_sections, dim=0):
    """Pieces along `dim`: of split_size each (the last may be smaller), or of the given sizes (a list)."""
    d = one_dim("split", dim, tensor.ndim)
    n = tensor.shape[d]
    if is_int(split_size_or_sections):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise ShapeError(f"split: split_size must be positive, got {size}")
        bounds = list(range(0, n, size)) + [n] if n else [0, 0]
    else:
        parts = sizes("split", (split_size_or_sections,))
        if builtins.sum(parts) != n or builtins.any(p < 0 for p in parts):
            raise ShapeError(f"split: sizes {list(parts)} do not add up to the size {n} of dim {d}")
        bounds = list(np.cumsum([0] + list(parts)))
    return _pieces(tensor, d, bounds)


@register("tensor_split", method=True)
def tensor_split(input, indices_or_sections, dim=0):
    """NumPy's array_split: n nearly equal pieces (the first n % sections one longer), or cuts at indices."""
    d = one_dim("tensor_split", dim, input.ndim)
    n = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if is_int(indices_or_sections):
        k = int(indices_or_sections)
        if k <= 0:
            raise ShapeError(f"tensor_split: the number of sections must be positive, got {k}")
        lengths = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = list(np.cumsum([0] + lengths))
    else:
        given = sizes("tensor_split", (indices_or_sections,))
        cuts = [builtins.min(builtins.max(c + n if c < 0 else c, 0), n) for c in given]
        bounds = [0] + cuts + [n]
        bounds = [bounds[0]] + [builtins.max(b, a) for a, b in zip(bounds[:-1], bounds[1:])]
    return _pieces(input, d, bounds)


@register("chunk", method=True)
def chunk(input, chunks, dim=0):
    """At most `chunks` pieces of ceil(size / chunks) along `dim` (fewer when the size runs out)."""
    if not is_int(chunks) or chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be a positive int, got {chunks!r}")
    d = one_dim("chunk", dim, input.ndim)
    n = input.shape[d]
    return split(input, -(-n // chunks), d) if n else _pieces(input, d, [0] * (chunks + 1))


@register("unbind", method=True)
def unbind(input, dim=0):
    """The slices along `dim`, that dim removed (views)."""
    d = one_dim("unbind", dim, input.ndim)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


@register("select", method=True)
def select(input, dim, index):
    """input[..., index, ...] at dim `dim`, that dim removed (a view)."""
    from .shape import Slice

    d = one_dim("select", dim, input.ndim)
    n = input.shape[d]
    if not is_int(index) or not -n <= index < n:
        raise ShapeError(f"select: index {index!r} is out of range for dim {d} of size {n}")
    key = [slice(None)] * input.ndim
    key[d] = int(index) % n
    return Slice.apply(input, index=tuple(key))


@register("narrow", method=True)
def narrow(input, dim, start, length):
    """input[..., start:start + length, ...] at dim `dim` (a view; a negative start counts from the end)."""
    from .shape import Slice

    d = one_dim("narrow", dim, input.ndim)
    n = input.shape[d]
    start = int(start.item()) if isinstance(start, Tensor) else start
    if not is_int(start) or not is_int(length) or not -n <= start <= n:
        raise ShapeError(f"narrow: start {start!r} is out of range for dim {d} of size {n}")
    start = start + n if start < 0 else start  # (start == n is the end: only length 0 fits there)
    if length < 0 or start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds the size {n} of dim {d}")
    key = [slice(None)] * input.ndim
    key[d] = slice(start, start + length)
    return Slice.apply(input, index=tuple(key))


def _split_sections(op, input, sections, d, need):
    if input.ndim < need:
        raise ShapeError(f"{op}: needs a tensor of at least {need} dims, got {tuple(input.shape)}")
    if is_int(sections) and input.shape[d] % int(sections):
        raise ShapeError(f"{op}: dim {d} of size {input.shape[d]} does not divide into {sections} equal pieces")
    return tensor_split(input, sections, d)


@register("hsplit", method=True)
def hsplit(input, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for 1-D tensors); a number of sections must divide the size."""
    return _split_sections("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


@register("vsplit", method=True)
def vsplit(input, indices_or_sections):
    """tensor_split along dim 0 of a tensor of at least 2 dims."""
    return _split_sections("vsplit", input, indices_or_sections, 0, 2)


@register("dsplit", method=True)
def dsplit(input, indices_or_sections):
    """tensor_split along dim 2 of a tensor of at least 3 dims."""
    return _split_sections("dsplit", input, indices_or_sections, 2, 3)


@register("ravel", method=True)
def ravel(input):
    """The elements as a 1-D tensor (a view when the memory allows)."""
    from .shape import reshape

    return reshape(input, -1)


class Unfold(Function):
    """Windows of `size` every `step` along dim, as a new last dim: a read-only view."""

    op_name = "unfold"
    is_view = True

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.shape, ctx.dim, ctx.size, ctx.step = x.shape, dim, size, step
        count = (x.shape[dim] - size) // step + 1
        shape = x.shape[:dim] + (count,) + x.shape[dim + 1:] + (size,)
        strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1:] + (x.strides[dim],)
        as_strided = ctx.backend.xp.lib.stride_tricks.as_strided
        try:
            return as_strided(x, shape, strides, writeable=False)  # NumPy: a read-only view
        except TypeError:  # CuPy's as_strided has no writeable argument
            return as_strided(x, shape, strides)

    @staticmethod
    def backward(ctx, g):
        return UnfoldBackward.apply(g, shape=ctx.shape, dim=ctx.dim, size=ctx.size, step=ctx.step)


class UnfoldBackward(Function):
    """zeros(shape) with every window of g added back where it came from (overlaps add up)."""

    op_name = "unfold_backward"

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.dim, ctx.size, ctx.step = dim, size, step
        xp = ctx.backend.xp
        out = xp.zeros(shape, dtype=g.dtype)
        moved, windows = xp.moveaxis(out, dim, 0), xp.moveaxis(g, dim, 0)
        count = g.shape[dim]
        for k in range(size):
            moved[k:k + step * (count - 1) + 1:step] += windows[..., k]
        return out

    @staticmethod
    def backward(ctx, gg):
        return Unfold.apply(gg, dim=ctx.dim, size=ctx.size, step=ctx.step)


def unfold(input, dimension, size, step):
    """Tensor.unfold: the windows input[..., i*step : i*step + size, ...] along `dimension`, as a new last dim."""
    d = one_dim("unfold", dimension, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not is_int(size) or not is_int(step) or step <= 0 or not 0 <= size <= n:
        raise ShapeError(f"unfold: size {size!r} and step {step!r} do not fit dim {d} of size {n} (0 <= size <= {n}, "
                         "step > 0)")
    if input.ndim == 0:  # PyTorch: a 0-d input gives the one window as a 1-D tensor of `size`
        return Unfold.apply(input.reshape(1), dim=0, size=int(size), step=int(step)).reshape(int(size))
    return Unfold.apply(input, dim=d, size=int(size), step=int(step))


unfold = register("Tensor.unfold", method="unfold")(unfold)  # F.unfold (im2col) is another op
