"""Shape ops with PyTorch's meanings: reshape/view, permute, transpose (swaps two dims), movedim, expand,
flatten/unflatten, squeeze/unsqueeze, cat/stack, split (chunks of a size), tensor_split (NumPy's split),
chunk, unbind, narrow, select, contiguous; and NumPy-style constant pad. Views (is_view) share the input's
memory and version counter. Backward rules are shape ops too, so they differentiate any number of times."""

import builtins

import numpy as np

from .. import grad_mode
from ..autograd import Function
from ..errors import ArgumentError, ShapeError, TensorcoreError
from ..grad_mode import modes
from ..tensor import Tensor, _make
from . import copy_slices as _copy_slices
from .dims import alias, dims, is_int, one_dim, sizes
from .reduce import normalize_axis  # noqa: F401  (re-exported for older imports)
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

    @staticmethod
    def backward_arrays(ctx, g):
        return (g.reshape(ctx.src),)


class Permute(Function):
    op_name = "permute"
    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return Permute.apply(g, axes=tuple(int(a) for a in np.argsort(ctx.axes)))


Transpose = Permute


class BroadcastTo(Function):
    op_name = "expand"
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return ctx.backend.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g  # the engine sums the broadcast axes back to the input's shape


class Slice(Function):
    """x[index] for a basic index (ints, slices, None, Ellipsis): a view."""

    op_name = "getitem"
    is_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            out = x[index]
        except IndexError as e:
            from ..errors import IndexingError

            raise IndexingError(f"getitem: {e} (tensor of shape {x.shape})") from None
        if isinstance(out, np.generic):  # every dim indexed by an int: the 0-d view of that element, as PyTorch's
            out = x[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
        return out

    @staticmethod
    def backward(ctx, g):
        from .index import ScatterAdd

        return ScatterAdd.apply(g, shape=ctx.shape, index=ctx.index, advanced=False)


class Contiguous(Function):
    op_name = "contiguous"

    @staticmethod
    def forward(ctx, x):
        return ctx.backend.xp.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        return g


class Pad(Function):
    op_name = "pad"

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return ctx.backend.xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index]


def _infer(op, shape, numel, src):
    """A shape with at most one -1, checked against the number of elements."""
    if builtins.sum(1 for n in shape if n == -1) > 1 or builtins.any(n < -1 for n in shape):
        raise ShapeError(f"{op}: invalid shape {shape} for a tensor of shape {src}")
    known = int(np.prod([n for n in shape if n != -1]))
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape {shape} is invalid for input of size {numel}")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    elif known != numel:
        raise ShapeError(f"{op}: shape {shape} is invalid for input of size {numel} (shape {src})")
    return shape


def _plain_sizes(shape):
    """True for a tuple of Python ints >= -1 with at most one -1 (what NumPy checks the same way)."""
    holes = 0
    for n in shape:
        if type(n) is not int or n < -1:
            return False
        holes += n == -1
    return holes <= 1


@register("reshape", method=True)
def reshape(input, *shape):
    """The same elements in a new shape (a view when the memory allows); one dimension may be -1."""
    if len(shape) == 1 and type(shape[0]) is tuple:
        shape = shape[0]
    if _plain_sizes(shape):
        if (type(input) is Tensor and not (input.requires_grad and modes.grad_enabled)
                and not (grad_mode.anomaly_threads and modes.anomaly_forward)):
            try:  # nothing records: Reshape.forward, inline (NumPy's reshape infers -1 and checks the size)
                out = _make(input._data.reshape(shape), input.device, False, None)
                out._vcounter = vc = input._vc
                if not vc[1]:
                    _copy_slices.first_view(vc, input)  # the counter keeps the memory's owner
                return out
            except ValueError:
                pass  # the checked path below names what is wrong
        try:  # plain ints: NumPy's reshape infers -1 and checks the size
            return Reshape.apply(input, shape=shape)
        except TensorcoreError:
            pass  # the checked path below names what is wrong
    shape = _infer("reshape", sizes("reshape", shape), input.numel(), tuple(input.shape))
    if shape == input.shape:
        return input
    return Reshape.apply(input, shape=shape)


@register("view", method=True)
def view(input, *shape, dtype=None):
    """view(*shape): reshape that never copies (an error when the strides do not allow it);
    view(dtype): the same bytes read as another dtype of the same size (no gradient)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list)) and not is_int(shape[0]):
        dtype, shape = shape[0], ()
    if dtype is not None:
        return _view_dtype(input, dtype)
    if input._data.flags.c_contiguous:  # any shape of the same size is a view of contiguous memory
        out = reshape(input, *shape)
        return out if out is not input else Reshape.apply(input, shape=tuple(input.shape))
    shape = _infer("view", sizes("view", shape), input.numel(), tuple(input.shape))
    if shape == input.shape:
        return Reshape.apply(input, shape=shape)
    try:  # a check on the strides only: the strided stand-in is never read
        if input.numel():
            stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=input.dtype), input.shape, _strides_of(input))
            np.reshape(stand_in, shape, copy=False)
    except ValueError:
        raise ShapeError(f"view: a view of shape {shape} is not compatible with the input's shape "
                         f"{tuple(input.shape)} and strides {input.stride()}; use .reshape(...) instead") from None
    return Reshape.apply(input, shape=shape)


def _strides_of(t):
    return tuple(0 if n == 1 else s for s, n in zip(t._data.strides, t._data.shape))


def _view_dtype(input, dtype):
    from ..dtypes import as_dtype

    dtype = as_dtype(dtype)
    if dtype.itemsize != input.dtype.itemsize:
        raise ArgumentError(f"view: dtype {dtype} has {dtype.itemsize} bytes per element, the input's {input.dtype} "
                            f"{input.dtype.itemsize}; only same-size dtypes are supported")
    if input.requires_grad and dtype != input.dtype:
        from ..errors import GradientError

        raise GradientError(f"view: reading a tensor that requires grad as {dtype} is not differentiable; detach() it")
    if dtype == input.dtype:
        return Reshape.apply(input, shape=tuple(input.shape))
    out = _make(input._data.view(dtype), input.device, False, None)
    out._vc = input._vc
    return out


@register("view_as", method=True)
def view_as(input, other):
    """input.view(other.size())."""
    return view(input, tuple(other.shape))


@register("reshape_as", method=True)
def reshape_as(input, other):
    """input.reshape(other.size())."""
    return reshape(input, tuple(other.shape))


@register("permute", method=True)
def permute(input, *dims):
    """The dimensions reordered: out.shape[i] = input.shape[dims[i]] (a view)."""
    order = sizes("permute", dims)
    if len(order) != input.ndim:
        raise ShapeError(f"permute: {len(order)} dims {order} for a tensor of {input.ndim} dimensions")
    axes = tuple(one_dim("permute", d, input.ndim) for d in order)
    if sorted(axes) != list(range(input.ndim)):
        raise ShapeError(f"permute: dims {order} are not a permutation of the {input.ndim} dims of "
                         f"{tuple(input.shape)}")
    return input if axes == tuple(range(input.ndim)) else Permute.apply(input, axes=axes)


@register("transpose", method=True)
def transpose(input, dim0, dim1, *more):
    """input with dims dim0 and dim1 swapped (a view). For NumPy's transpose(axes) use permute."""
    if more:
        raise ArgumentError(f"transpose: takes two dims (dim0, dim1), got {(dim0, dim1) + more}; "
                            "use permute(*dims) to reorder all dims")
    a, b = one_dim("transpose", dim0, input.ndim), one_dim("transpose", dim1, input.ndim)
    if a == b or input.ndim < 2:
        return input
    axes = list(range(input.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(input, axes=tuple(axes))


@register("swapaxes", method=True)
def swapaxes(input, axis0, axis1):
    """transpose(input, axis0, axis1)."""
    return transpose(input, axis0, axis1)


@register("swapdims", method=True)
def swapdims(input, dim0, dim1):
    """transpose(input, dim0, dim1)."""
    return transpose(input, dim0, dim1)


@register("t", method=True)
def t(input):
    """The transpose of a matrix (0-d and 1-D tensors are returned as they are)."""
    if input.ndim > 2:
        raise ShapeError(f"t: expects a tensor of at most 2 dimensions, got {tuple(input.shape)}; use transpose or mT")
    return transpose(input, 0, 1) if input.ndim == 2 else input


@register("movedim", method=True)
def movedim(input, source, destination):
    """input with dims `source` moved to positions `destination` (ints or tuples); the rest keep their order."""
    src = (source,) if is_int(source) else tuple(source)
    dst = (destination,) if is_int(destination) else tuple(destination)
    if len(src) != len(dst):
        raise ShapeError(f"movedim: {len(src)} source dims and {len(dst)} destination dims")
    src = tuple(one_dim("movedim", d, input.ndim) for d in src)
    dst = tuple(one_dim("movedim", d, input.ndim) for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError(f"movedim: repeated dims in {source} or {destination}")
    rest = iter([d for d in range(input.ndim) if d not in src])
    placed = dict(zip(dst, src))
    return permute(input, *[placed[i] if i in placed else next(rest) for i in range(input.ndim)])


@register("moveaxis", method=True)
def moveaxis(input, source, destination):
    """movedim(input, source, destination)."""
    return movedim(input, source, destination)


@register("expand", method=True)
def expand(input, *sizes_):
    """A view with size-1 dims repeated to `sizes` (-1 keeps a dim; new dims go in front)."""
    return _expand("expand", input, sizes("expand", sizes_))


def _expand(op, input, shape):
    if len(shape) < input.ndim:
        raise ShapeError(f"{op}: {len(shape)} sizes {shape} for a tensor of {input.ndim} dimensions")
    lead = len(shape) - input.ndim
    out = []
    for i, n in enumerate(shape):
        have = input.shape[i - lead] if i >= lead else None
        if n == -1:
            if have is None:
                raise ShapeError(f"{op}: -1 is not allowed for the new leading dim {i} in {shape}")
            n = have
        if have is not None and have != n and have != 1:
            raise ShapeError(f"{op}: the size {have} of dim {i - lead} of {tuple(input.shape)} cannot be expanded "
                             f"to {n} (only size-1 dims can be)")
        out.append(n)
    out = tuple(out)
    return input if out == input.shape else BroadcastTo.apply(input, shape=out)


@register("expand_as", method=True)
def expand_as(input, other):
    """input.expand(other.size())."""
    return expand(input, tuple(other.shape))


@register("broadcast_to", method=True)
def broadcast_to(input, size):
    """input.expand(size): a view repeated along size-1 and new leading dims."""
    return _expand("broadcast_to", input, sizes("broadcast_to", (tuple(size),)))


@register("contiguous", method=True)
def contiguous(input, memory_format=None):
    """input itself when its memory is C-contiguous, else a contiguous copy."""
    from ..dtypes import check_layout

    if isinstance(memory_format, str):  # (torch wants a torch.memory_format: tc.channels_last, not its name)
        raise ArgumentError(f"contiguous: memory_format={memory_format!r} is not supported: pass tc.channels_last")
    check_layout("contiguous", memory_format)  # channels_last: a layout hint, as in Tensor.to (dtypes.check_layout)
    return input if input.is_contiguous() else Contiguous.apply(input)


@register("flatten", method=True)
def flatten(input, start_dim=0, end_dim=-1):
    """Dims start_dim..end_dim merged into one (all by default); a 0-d tensor becomes 1-D."""
    if input.ndim == 0:
        one_dim("flatten", start_dim, 0), one_dim("flatten", end_dim, 0)  # 0 or -1 only, as PyTorch
        return reshape(input, (1,))
    s, e = one_dim("flatten", start_dim, input.ndim), one_dim("flatten", end_dim, input.ndim)
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for {tuple(input.shape)}")
    return reshape(input, input.shape[:s] + (int(np.prod(input.shape[s:e + 1])),) + input.shape[e + 1:])


@register("unflatten", method=True)
def unflatten(input, dim, sizes_):
    """Dim `dim` split into `sizes` (one may be -1)."""
    d = one_dim("unflatten", dim, input.ndim)
    inner = _infer("unflatten", sizes("unflatten", (sizes_,)), input.shape[d], input.shape[d])
    return reshape(input, input.shape[:d] + inner + input.shape[d + 1:])


@register("squeeze", method=True)
def squeeze(input, dim=None, *, axis=None):
    """Size-1 dims removed: all of them, or those of `dim` (int or tuple) that have size 1 (others stay)."""
    dim = alias("squeeze", dim, axis)
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        axes = dims("squeeze", dim, input.ndim, empty_means_all=False)
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in axes and n == 1))
    return input if shape == input.shape else Reshape.apply(input, shape=shape)


@register("unsqueeze", method=True)
def unsqueeze(input, dim):
    """A size-1 dim inserted at `dim` (negative dims count in the result: -1 appends)."""
    d = one_dim("unsqueeze", dim, input.ndim + 1)
    return Reshape.apply(input, shape=input.shape[:d] + (1,) + input.shape[d:])


expand_dims = unsqueeze  # NumPy's name


@register("pad")
def pad(x, pad_width, value=0.0):
    """Constant padding, NumPy style: pad_width is ((before, after), ...) per axis, or one int
    (torch.nn.functional.pad's reversed flat list is nn.functional's)."""
    if isinstance(pad_width, (int, np.integer)):
        widths = ((int(pad_width), int(pad_width)),) * x.ndim
    else:
        widths = tuple((int(a), int(b)) for a, b in (
            (p, p) if isinstance(p, (int, np.integer)) else p for p in pad_width))
    if len(widths) != x.ndim or builtins.any(a < 0 or b < 0 for a, b in widths):
        raise ShapeError(f"pad: pad_width {pad_width} does not fit a tensor of shape {x.shape}")
    return Pad.apply(x, widths=widths, value=value)


def _reverse_all(self):
    return self if self.ndim < 2 else permute(self, *range(self.ndim - 1, -1, -1))


def _attach_methods():
    Tensor.expand_dims = unsqueeze
    Tensor.T = property(_reverse_all)  # PyTorch: the matrix transpose; deprecated reversal of all dims for others
    Tensor.mT = property(lambda self: transpose(self, -2, -1))
    Tensor.mH = property(lambda self: transpose(self, -2, -1))


_attach_methods()

from .joins import cat, chunk, concat, concatenate, narrow, select, split, stack, tensor_split, unbind  # noqa: E402, F401

