"""Scans along a dimension: cumsum, cumprod, cummax, cummin, logcumsumexp. Integer and bool inputs
accumulate in int64 (as in PyTorch) unless dtype= is given."""

import numpy as np

from .. import return_types
from ..autograd import Function
from ..tensor import _make
from .dims import one_dim
from .registry import register


class CumSum(Function):
    """out_j = sum_{i<=j} x_i; its gradient is the reversed cumulative sum."""

    op_name = "cumsum"

    @staticmethod
    def forward(ctx, x, dim, reverse):
        ctx.dim, ctx.reverse = dim, reverse
        xp = ctx.backend.xp
        if reverse:
            return xp.flip(xp.cumsum(xp.flip(x, dim), axis=dim), dim).copy()
        return xp.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return CumSum.apply(g, dim=ctx.dim, reverse=not ctx.reverse)


def _reverse_cumsum(t, d):
    return CumSum.apply(t, dim=d, reverse=True)


class CumProd(Function):
    """out_j = prod_{i<=j} x_i. # NOTE: with no zero the gradient is revcumsum(g * out) / x; with zeros it
    is computed without division: for each i, the cumulative product of x with x_i replaced by 1."""

    op_name = "cumprod"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        ctx.save_for_backward(x)
        return ctx.backend.xp.cumprod(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        from .compare import where

        (x,) = ctx.saved_tensors
        d = ctx.dim
        if not bool((x._data == 0).any()):
            out = CumProd.apply(x, dim=d)
            return _reverse_cumsum(g * out, d) / x
        n = x.shape[d]
        xp = ctx.backend.xp
        xm, gm = x.movedim(d, -1), g.movedim(d, -1)
        eye = _make(xp.eye(n, dtype=bool), x.device, False, None)
        upper = _make(xp.triu(xp.ones((n, n), dtype=x.dtype)), x.device, False, None)
        others = CumProd.apply(where(eye, 1.0, xm.unsqueeze(-2)), dim=xm.ndim)  # (..., i, j)
        grad = (gm.unsqueeze(-2) * others * upper).sum(-1)
        return grad.movedim(-1, d)


class LogCumSumExp(Function):
    """out_j = log sum_{i<=j} exp(x_i). # NOTE: the gradient sum_{j>=i} g_j exp(x_i - out_j) is formed as an
    (n, n) matrix of exponents x_i - out_j <= 0 (masked to -inf where j < i), so nothing overflows."""

    op_name = "logcumsumexp"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        out = ctx.backend.xp.logaddexp.accumulate(x, axis=dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        from .compare import where
        from .unary import exp

        x, out = ctx.saved_tensors
        d, n, xp = ctx.dim, x.shape[ctx.dim], ctx.backend.xp
        later = _make(xp.triu(xp.ones((n, n), dtype=bool)), x.device, False, None)  # [i, j]: j >= i
        xm, om, gm = x.movedim(d, -1), out.movedim(d, -1), g.movedim(d, -1)
        exponent = where(later, xm.unsqueeze(-1) - om.unsqueeze(-2), -np.inf)
        return (exp(exponent) * gm.unsqueeze(-2)).sum(-1).movedim(-1, d)


def _prepare(op, input, dim, dtype):
    if dtype is not None:
        input = input.astype(dtype)
    elif input.dtype.kind in "biu":
        input = input.astype(np.int64)
    if input.ndim == 0:
        one_dim(op, dim, 0)
        return input, None
    return input, one_dim(op, dim, input.ndim)


@register("cumsum", method=True)
def cumsum(input, dim, *, dtype=None, axis=None):
    """out_j = sum_{i<=j} x_i along `dim`."""
    x, d = _prepare("cumsum", input, dim if axis is None else axis, dtype)
    return x if d is None else CumSum.apply(x, dim=d, reverse=False)


@register("cumprod", method=True)
def cumprod(input, dim, *, dtype=None, axis=None):
    """out_j = prod_{i<=j} x_i along `dim` (the gradient is exact with zeros)."""
    x, d = _prepare("cumprod", input, dim if axis is None else axis, dtype)
    return x if d is None else CumProd.apply(x, dim=d)


def _cumext(kind, input, dim):
    xp = input.device.backend.xp
    d = one_dim(kind, dim, input.ndim)
    if input.ndim == 0:
        return getattr(return_types, kind)(input, _make(xp.zeros((), dtype=np.int64), input.device, False, None))
    a = input._data
    ufunc = xp.maximum if kind == "cummax" else xp.minimum
    running = ufunc.accumulate(a, axis=d)
    at = a == running
    if a.dtype.kind in "fV":
        at |= xp.isnan(a)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    positions = xp.where(at, xp.arange(a.shape[d]).reshape(shape), 0)
    indices = _make(xp.maximum.accumulate(positions, axis=d).astype(np.int64), input.device, False, None)
    from .gather import Gather

    return getattr(return_types, kind)(Gather.apply(input, indices, dim=d), indices)


@register("cummax", method=True)
def cummax(input, dim):
    """(values, indices) of the running maximum along `dim` (the later index at ties; NaN propagates)."""
    return _cumext("cummax", input, dim)


@register("cummin", method=True)
def cummin(input, dim):
    """(values, indices) of the running minimum along `dim`."""
    return _cumext("cummin", input, dim)


@register("logcumsumexp", method=True)
def logcumsumexp(input, dim):
    """out_j = log sum_{i<=j} exp(x_i) along `dim`, stable (all -inf so far gives -inf)."""
    from ..dtypes import get_default_dtype

    x = input if input.dtype.kind in "fV" else input.astype(get_default_dtype())
    if x.ndim == 0:
        one_dim("logcumsumexp", dim, 0)
        return x * 1
    return LogCumSumExp.apply(x, dim=one_dim("logcumsumexp", dim, x.ndim))


@register("diff", method=True)
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along `dim`: out_i = x_{i+1} - x_i (bools: x_{i+1} != x_i), after
    joining prepend and append to input along dim."""
    from .joins import cat, narrow

    d = one_dim("diff", dim, input.ndim)
    if not isinstance(n, int) or n < 0:
        from ..errors import ArgumentError

        raise ArgumentError(f"diff: n must be a non-negative int, got {n!r}")
    if n == 0:  # PyTorch: nothing to difference, and prepend / append are not joined
        return input
    x = cat([t for t in (prepend, input, append) if t is not None], d) if prepend is not None or append is not None \
        else input
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        hi, lo = narrow(x, d, 1, size - 1), narrow(x, d, 0, size - 1)
        x = (hi != lo) if x.dtype == np.bool_ else hi - lo
    return x
