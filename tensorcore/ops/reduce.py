"""Reductions: sum, mean, max, min, var, std, logsumexp, prod; argmax/argmin (no gradient)."""


import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import _make, attach_method
from .registry import register


def normalize_axis(op, axis, ndim):
    """int, tuple or None -> a sorted tuple of non-negative axes; a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise ArgumentError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise ArgumentError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor of {ndim} dimensions")
        a = int(a) % ndim
        if a in out:
            raise ShapeError(f"{op}: axis {a} repeated in {axis!r}")
        out.append(a)
    return tuple(sorted(out))


class Expand(Function):
    """A reduced gradient broadcast back to the input's shape: the backward of sum and mean.

    One node (reshape to the kept shape, then a broadcast view); its own backward is a sum.
    """

    op_name = "expand"

    @staticmethod
    def forward(ctx, g, shape, axes, keepdims):
        ctx.axes, ctx.keepdims = axes, keepdims
        if not keepdims:
            g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
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
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdims)


class Mean(Function):
    op_name = "mean"

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        ctx.count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        return x.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(g / ctx.count, ctx.shape, ctx.axes, ctx.keepdims)


class MaxMin(Function):
    """max or min over axes. # NOTE: ties share the gradient evenly (like NumPy-style amax in PyTorch)."""

    op_name = "max"

    @staticmethod
    def forward(ctx, x, axes, keepdims, kind):
        if x.size == 0:
            raise ShapeError(f"{kind}: reduction of an empty tensor of shape {x.shape}")
        out = x.max(axis=axes, keepdims=True) if kind == "max" else x.min(axis=axes, keepdims=True)
        mask = x == out
        weight = mask / mask.sum(axis=axes, keepdims=True)
        ctx.save_for_backward(weight.astype(x.dtype, copy=False))
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

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
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        from .compare import where

        gb = _expand(g, ctx.shape, ctx.axes, ctx.keepdims)
        zero = x == 0
        if not bool(zero._data.any()):
            return gb * prod(x, axis=ctx.axes, keepdims=True) / x
        # NOTE: the product of the other elements without dividing by zero. With P the product of the
        # non-zero elements of a slice and z its number of zeros: others = P / x where z == 0, P at
        # the zero where z == 1, and 0 everywhere else.
        nonzero = where(zero, 1.0, x)
        p = prod(nonzero, axis=ctx.axes, keepdims=True)
        z = _make(zero._data.sum(axis=ctx.axes, keepdims=True), x.device, False, None)
        others = where(z == 0, p / nonzero, 0.0) + where((z == 1) & zero, p, 0.0)
        return gb * others


@register("sum", method=True)
def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (int, tuple or None for all)."""
    return Sum.apply(x, axes=normalize_axis("sum", axis, x.ndim), keepdims=keepdims)


@register("mean", method=True)
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`."""
    return Mean.apply(x, axes=normalize_axis("mean", axis, x.ndim), keepdims=keepdims)


@register("max", method=True)
def max(x, axis=None, keepdims=False):
    """Largest value over `axis`; tied maxima share the gradient."""
    return MaxMin.apply(x, axes=normalize_axis("max", axis, x.ndim), keepdims=keepdims, kind="max")


@register("min", method=True)
def min(x, axis=None, keepdims=False):
    """Smallest value over `axis`; tied minima share the gradient."""
    return MaxMin.apply(x, axes=normalize_axis("min", axis, x.ndim), keepdims=keepdims, kind="min")


@register("prod", method=True)
def prod(x, axis=None, keepdims=False):
    """Product over `axis` (gradients are exact with zeros present, first order)."""
    return Prod.apply(x, axes=normalize_axis("prod", axis, x.ndim), keepdims=keepdims)


@register("var", method=True)
def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over `axis` with NumPy's `ddof` (0: population, 1: unbiased)."""
    axes = normalize_axis("var", axis, x.ndim)
    n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if n - ddof <= 0:
        raise ShapeError(f"var: {n} elements over axis {axis} with ddof={ddof}")
    centered = x - mean(x, axis=axes, keepdims=True)
    return sum(centered * centered, axis=axes, keepdims=keepdims) / (n - ddof)


@register("std", method=True)
def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation: sqrt(var)."""
    from .unary import sqrt

    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


@register("logsumexp", method=True)
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, stable: the max is subtracted first (finite for 1e4)."""
    from .unary import exp, log

    axes = normalize_axis("logsumexp", axis, x.ndim)
    if x.numel() == 0:
        raise ShapeError(f"logsumexp: reduction of an empty tensor of shape {x.shape}")
    # NOTE: the shift m is a constant: logsumexp(x) = m + logsumexp(x - m) for any m.
    m = _make(x._data.max(axis=axes, keepdims=True), x.device, False, None)
    out = log(sum(exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))
    return out


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value (int64, no gradient); over the flattened tensor when axis is None."""
    return _arg(x, axis, keepdims, "argmax")


def argmin(x, axis=None, keepdims=False):
    return _arg(x, axis, keepdims, "argmin")


def _arg(x, axis, keepdims, name):
    if axis is not None:
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ArgumentError(f"{name}: axis must be an int or None, got {axis!r}")
        normalize_axis(name, axis, x.ndim)
    if x.numel() == 0:
        raise ShapeError(f"{name}: empty tensor of shape {x.shape}")
    xp = x.device.backend.xp
    out = getattr(xp, name)(x._data, axis=axis, keepdims=keepdims).astype(np.int64)
    return _make(out, x.device, False, None)


attach_method("argmax", argmax)
attach_method("argmin", argmin)
