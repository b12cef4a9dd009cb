"""Reductions with PyTorch's arguments (`dim`, `keepdim`, `dtype`; NumPy's `axis` / `keepdims` as aliases):
sum, mean, prod, amax/amin, max/min (a (values, indices) tuple with `dim`, elementwise with a tensor),
aminmax, argmax/argmin, all/any, count_nonzero, nansum/nanmean, logsumexp."""

import builtins
import functools

import numpy as np

from .. import grad_mode, return_types
from ..amp import policy as amp_policy
from ..autograd import Function, _record
from ..dtypes import get_default_dtype
from ..errors import ArgumentError, DTypeError, ShapeError
from ..grad_mode import modes
from ..tensor import Tensor, _make
from .dims import alias, dims, one_dim
from .registry import guard, register


def normalize_axis(op, axis, ndim):
    """int, tuple or None -> a sorted tuple of non-negative axes; a clear error when out of range."""
    return dims(op, axis, ndim, empty_means_all=False)


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _dropped_shape(shape, axes):
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Expand(Function):
    """A reduced gradient broadcast back to the input's shape: the backward of sum and mean.

    One node (reshape to the kept shape, then a broadcast view); its own backward is a sum.
    """

    op_name = "expand"

    @staticmethod
    def forward(ctx, g, shape, axes, keepdims):
        ctx.axes, ctx.keepdims = axes, keepdims
        if not keepdims:
            g = g.reshape(_kept_shape(shape, axes))
        return ctx.backend.xp.broadcast_to(g, shape)

    @staticmethod
    def backward(ctx, gg):
        return Sum.apply(gg, axes=ctx.axes, keepdims=ctx.keepdims)


def _expand(g, shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape."""
    return Expand.apply(g, shape=shape, axes=axes, keepdims=keepdims)


class Sum(Function):
    op_name = "sum"

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        out = ctx.backend.sum(x, axes, keepdims)
        return out if out.dtype == x.dtype else out.astype(x.dtype)  # NumPy sums int32 into int64; dtype= kept

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdims)

    @staticmethod
    def backward_arrays(ctx, g):
        return (_expand_array(ctx.backend, g, ctx.shape, ctx.axes, ctx.keepdims),)  # a tuple: no count check


def _expand_array(be, g, shape, axes, keepdims):
    """The reduced raw gradient written out to the input's shape (a fresh array: np.broadcast_to's Python
    wrapper costs more than filling one, and a leaf's .grad would copy the view anyway)."""
    out = be.xp.empty(shape, g.dtype)
    out[...] = g if keepdims or g.ndim == 0 else g.reshape(_kept_shape(shape, axes))  # a 0-d g fills out as it is
    return out


class Mean(Function):
    op_name = "mean"

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        ctx.count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        if x.dtype.itemsize == 2:  # NOTE: float32 accumulation (NumPy adds bfloat16 in bfloat16: a sum stalls at 256)
            return x.mean(axis=axes, keepdims=keepdims, dtype=np.float32).astype(x.dtype)
        return x.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(g / ctx.count, ctx.shape, ctx.axes, ctx.keepdims)

    @staticmethod
    def backward_arrays(ctx, g):
        return (_expand_array(ctx.backend, g / ctx.count, ctx.shape, ctx.axes, ctx.keepdims),)


class MaxMin(Function):
    """amax or amin over axes. # NOTE: tied extremes share the gradient evenly (PyTorch's amax/amin rule)."""

    op_name = "amax"

    @staticmethod
    def forward(ctx, x, axes, keepdims, kind):
        if builtins.any(x.shape[a] == 0 for a in axes) or (x.size == 0 and not axes):
            raise ShapeError(f"{kind}: reduction over an empty dimension of a tensor of shape {x.shape}")
        out = x.max(axis=axes, keepdims=True) if kind == "amax" else x.min(axis=axes, keepdims=True)
        mask = x == out
        weight = mask / mask.sum(axis=axes, keepdims=True)
        ctx.save_for_backward(weight.astype(x.dtype, copy=False))
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return out if keepdims else out.reshape(_dropped_shape(x.shape, axes))

    @staticmethod
    def backward(ctx, g):
        (weight,) = ctx.saved_tensors
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdims) * weight


class Prod(Function):
    op_name = "prod"

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        out = x.prod(axis=axes, keepdims=True)
        ctx.save_for_backward(x)
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return out if keepdims else out.reshape(_dropped_shape(x.shape, axes))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        from .compare import where

        gb = _expand(g, ctx.shape, ctx.axes, ctx.keepdims)
        zero = x == 0
        if not bool(zero._data.any()):
            return gb * Prod.apply(x, axes=ctx.axes, keepdims=True) / x
        # NOTE: the product of the other elements without dividing by zero. With P the product of the
        # non-zero elements of a slice and z its number of zeros: others = P / x where z == 0, P at
        # the zero where z == 1, and 0 everywhere else.
        nonzero = where(zero, 1.0, x)
        p = Prod.apply(nonzero, axes=ctx.axes, keepdims=True)
        z = _make(zero._data.sum(axis=ctx.axes, keepdims=True), x.device, False, None)
        others = where(z == 0, p / nonzero, 0.0) + where((z == 1) & zero, p, 0.0)
        return gb * others


_ALL_DIMS = [tuple(range(n)) for n in range(65)]  # every rank NumPy 2 allows (64)


def _with_dtype(op, x, dtype, integers_to_int64=True):
    """x cast to `dtype` first (PyTorch's dtype= argument); bool and integer inputs accumulate in int64."""
    if dtype is not None:
        return x.astype(dtype)
    if integers_to_int64 and x.dtype.kind in "biu" and x.dtype != np.int64:
        return x.astype(np.int64)
    return x


def _floating_only(op, x, dtype):
    if dtype is None and x.dtype.kind not in "fcV":
        raise DTypeError(f"{op}: could not infer the output dtype; the input must be floating point, got "
                         f"{x.dtype} (pass dtype= or cast with .float())")
    return x if dtype is None else x.astype(dtype)


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """sum_i x_i over `dim` (int, tuple, or None for all); integers and bools sum in int64."""
    dim, keepdim = alias("sum", dim, axis), bool(alias("sum", keepdim, keepdims, "keepdim", "keepdims"))
    x = _with_dtype("sum", input, dtype)
    return Sum.apply(x, axes=dims("sum", dim, x.ndim), keepdims=keepdim)


_sum = guard("sum", sum)  # the general call, behind the boundary


@register("sum", method=True, lean=True)
@functools.wraps(sum)
def sum(*args, **kwargs):  # the public op: its common call inline
    if (len(args) == 1 and not kwargs and not amp_policy.active
            and not (grad_mode.anomaly_threads and modes.anomaly_forward)):
        (input,) = args
        if type(input) is Tensor and input._data.dtype.kind == "f":  # the plain x.sum() of a float tensor
            x, device = input._data, input.device
            if input.requires_grad and modes.grad_enabled:
                return _record(Sum, args, {"axes": _ALL_DIMS[x.ndim], "keepdims": False}, device)
            return _make(device.backend.sum(x, _ALL_DIMS[x.ndim], False), device, False, None)  # Sum.forward, inline
    return _sum(*args, **kwargs)


@register("mean", method=True)
def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """(1/n) sum_i x_i over `dim`; the input must be floating point unless dtype= is given."""
    dim, keepdim = alias("mean", dim, axis), bool(alias("mean", keepdim, keepdims, "keepdim", "keepdims"))
    x = _floating_only("mean", input, dtype)
    return Mean.apply(x, axes=dims("mean", dim, x.ndim), keepdims=keepdim)


@register("prod", method=True)
def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """prod_i x_i over one `dim` (or all); the gradient is exact with zeros present."""
    dim, keepdim = alias("prod", dim, axis), bool(alias("prod", keepdim, keepdims, "keepdim", "keepdims"))
    x = _with_dtype("prod", input, dtype)
    return Prod.apply(x, axes=dims("prod", dim, x.ndim), keepdims=keepdim)


def _amax(name, kind):
    def fn(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = alias(name, dim, axis), bool(alias(name, keepdim, keepdims, "keepdim", "keepdims"))
        return MaxMin.apply(input, axes=dims(name, dim, input.ndim), keepdims=keepdim, kind=kind)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The {'largest' if kind == 'amax' else 'smallest'} value over `dim` (all by default); "
                  "ties share the gradient.")
    return register(name, method=True)(fn)


amax = _amax("amax", "amax")
amin = _amax("amin", "amin")


def _extreme(name, input, dim, keepdim, axis, keepdims, other):
    from .compare import maximum, minimum

    if isinstance(dim, Tensor) or other is not None:
        other = dim if isinstance(dim, Tensor) else other
        return (maximum if name == "max" else minimum)(input, other)
    dim, keepdim = alias(name, dim, axis), bool(alias(name, keepdim, keepdims, "keepdim", "keepdims"))
    if dim is None:
        if keepdim:
            raise ArgumentError(f"{name}: keepdim=True needs a dim")
        if input.numel() == 0:
            raise ShapeError(f"{name}: reduction of an empty tensor of shape {tuple(input.shape)} (give a dim)")
        return MaxMin.apply(input, axes=tuple(range(input.ndim)), keepdims=False, kind="a" + name)
    d = one_dim(name, dim, input.ndim)
    indices = _arg(input, d, True, "arg" + name)
    from .gather import Gather

    values = Gather.apply(input, indices, dim=d) if input.ndim else input  # indices valid by construction
    if not keepdim and input.ndim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return getattr(return_types, name)(values, indices)


@register("max", method=True)
def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):
    """max(x): the largest value (ties share the gradient); max(x, dim): (values, indices), the gradient
    going to the index; max(x, y): the elementwise maximum."""
    return _extreme("max", input, dim, keepdim, axis, keepdims, other)


@register("min", method=True)
def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):
    """min(x), min(x, dim) -> (values, indices), min(x, y) elementwise: as max."""
    return _extreme("min", input, dim, keepdim, axis, keepdims, other)


@register("aminmax", method=True)
def aminmax(input, *, dim=None, keepdim=False):
    """(amin(x, dim), amax(x, dim)) as a named tuple (min, max)."""
    d = () if dim is None else one_dim("aminmax", dim, input.ndim)
    return return_types.aminmax(amin(input, d, keepdim), amax(input, d, keepdim))


def _arg(x, dim, keepdim, name):
    if x.numel() == 0 and (dim is None or x.ndim == 0 or x.shape[one_dim(name, dim, x.ndim)] == 0):
        raise ShapeError(f"{name}: empty tensor of shape {tuple(x.shape)}"
                         + ("" if dim is None else f" has no elements along dim {dim}"))
    xp = x.device.backend.xp
    if dim is None:
        out = getattr(xp, name)(x._data)
        out = out.reshape((1,) * x.ndim) if keepdim else xp.asarray(out)
    else:
        d = one_dim(name, dim, x.ndim)
        out = getattr(xp, name)(x._data, axis=d, keepdims=keepdim) if x.ndim else xp.asarray(0)
    return _make(out.astype(np.int64), x.device, False, None)


@register("argmax", method=True)
def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest value along `dim` (int64, first of ties); of the flattened tensor when dim is None."""
    if isinstance(input, Tensor) and input.dtype.kind == "b":
        raise DTypeError("argmax: does not support bool input (as in PyTorch; max(x, dim) does)")
    return _arg(input, alias("argmax", dim, axis), bool(alias("argmax", keepdim, keepdims, "keepdim", "keepdims")),
                "argmax")


@register("argmin", method=True)
def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the smallest value along `dim` (int64, first of ties)."""
    if isinstance(input, Tensor) and input.dtype.kind == "b":
        raise DTypeError("argmin: does not support bool input (as in PyTorch; max(x, dim) does)")
    return _arg(input, alias("argmin", dim, axis), bool(alias("argmin", keepdim, keepdims, "keepdim", "keepdims")),
                "argmin")


def _logical(name):
    def fn(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = alias(name, dim, axis), bool(alias(name, keepdim, keepdims, "keepdim", "keepdims"))
        axes = dims(name, dim, input.ndim)
        out = getattr(input.device.backend.xp, name)(input._data, axis=axes, keepdims=keepdim)
        dtype = np.uint8 if input.dtype == np.uint8 else np.bool_
        return _make(out.astype(dtype), input.device, False, None)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Whether {'every' if name == 'all' else 'some'} element along `dim` is non-zero (bool)."
    return register(name, method=True)(fn)


all = _logical("all")
any = _logical("any")


@register("count_nonzero", method=True)
def count_nonzero(input, dim=None, *, axis=None):
    """The number of non-zero elements along `dim` (int64)."""
    axes = dims("count_nonzero", alias("count_nonzero", dim, axis), input.ndim)
    out = (input._data != 0).sum(axis=axes)
    return _make(input.device.backend.xp.asarray(out, dtype=np.int64), input.device, False, None)


def _without_nan(x):
    from .compare import where

    if x.dtype.kind not in "fcV":
        return x
    nan = _make(x.device.backend.xp.isnan(x._data), x.device, False, None)
    return where(nan, 0.0, x)


@register("nansum", method=True)
def nansum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """sum over `dim` with NaNs counted as zero (they get no gradient)."""
    return sum(_without_nan(input), dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)


@register("nanmean", method=True)
def nanmean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """mean over `dim` of the non-NaN elements: nansum / count of non-NaN."""
    dim, keepdim = alias("nanmean", dim, axis), bool(alias("nanmean", keepdim, keepdims, "keepdim", "keepdims"))
    x = _floating_only("nanmean", input, dtype)
    axes = dims("nanmean", dim, x.ndim)
    count = (~x.device.backend.xp.isnan(x._data)).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
    return sum(_without_nan(x), axes, keepdim) / _make(count, x.device, False, None)


@register("logsumexp", method=True)
def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log(sum(exp(x))) over `dim`, stable (the max is subtracted first); all -inf gives -inf."""
    from .unary import exp, log

    dim, keepdim = alias("logsumexp", dim, axis), bool(alias("logsumexp", keepdim, keepdims, "keepdim", "keepdims"))
    x = input if input.dtype.kind in "fcV" else input.astype(get_default_dtype())
    axes = dims("logsumexp", dim, x.ndim)
    if x.numel() == 0:  # nothing to shift by: an empty sum is 0, its log -inf (as PyTorch)
        with np.errstate(divide="ignore"):
            out = log(sum(exp(x), axes, True))
        return out if keepdim else out.reshape(_dropped_shape(x.shape, axes))
    # NOTE: the shift m is a constant: logsumexp(x) = m + logsumexp(x - m) for any finite m; an infinite
    # max (all -inf, or some +inf) shifts by 0, so all -inf gives log(0) = -inf, not NaN.
    xp = x.device.backend.xp
    m = x._data.max(axis=axes, keepdims=True)
    m = _make(xp.where(xp.isfinite(m), m, 0).astype(x.dtype), x.device, False, None)
    with np.errstate(divide="ignore"):
        out = log(sum(exp(x - m), axes, True)) + m
    if not keepdim:
        out = out.reshape(_dropped_shape(x.shape, axes))
    return out
