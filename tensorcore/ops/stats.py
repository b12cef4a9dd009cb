"""Spread and size: var, std (PyTorch's correction=1 by default; unbiased= and correction= accepted, NumPy's
ddof= as an alias), var_mean, std_mean, and the norms: norm, linalg.vector_norm, linalg.matrix_norm."""

import math

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import _make
from .dims import alias, dims, one_dim
from .reduce import amax, amin, mean, sum
from .registry import register


def _correction(op, unbiased, correction, ddof):
    if len([v for v in (unbiased, correction, ddof) if v is not None]) > 1:
        raise ArgumentError(f"{op}: give only one of unbiased=, correction= and ddof=")
    if unbiased is not None:
        return 1 if unbiased else 0
    value = correction if correction is not None else ddof
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentError(f"{op}: correction must be a number, got {value!r}")
    return value


def _var(op, input, dim, unbiased, keepdim, correction, axis, keepdims, ddof):
    if isinstance(dim, bool):  # var(x, True): the legacy (input, unbiased) overload
        if unbiased is not None:
            raise ArgumentError(f"{op}: unbiased given twice")
        dim, unbiased = None, dim
    dim, keepdim = alias(op, dim, axis), bool(alias(op, keepdim, keepdims, "keepdim", "keepdims"))
    c = _correction(op, unbiased, correction, ddof)
    if input.dtype.kind not in "fcV":
        raise DTypeError(f"{op}: only floating point inputs are supported, got {input.dtype}")
    axes = dims(op, dim, input.ndim)
    n = int(np.prod([input.shape[a] for a in axes])) if axes else 1
    if n - c <= 0:
        raise ShapeError(f"{op}: {n} element(s) over dim {dim} leave no degrees of freedom with correction={c} "
                         "(PyTorch would return nan or inf)")
    centered = input - mean(input, axes, True)
    return sum(centered * centered, axes, keepdim) / (n - c), axes


@register("var", method=True)
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None, ddof=None):
    """sum (x - mean)^2 / (n - correction) over `dim`; correction=1 (the unbiased estimate) by default."""
    return _var("var", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)[0]


@register("std", method=True)
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None, ddof=None):
    """sqrt(var(x)): correction=1 by default."""
    return _sqrt_zero_grad(_var("std", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)[0])


def _sqrt_zero_grad(v):
    """sqrt(v) whose gradient is 0 where v == 0 (PyTorch's std: a constant slice has a zero gradient, not NaN)."""
    from .compare import where
    from .unary import sqrt

    zero = v == 0
    return where(zero, v, sqrt(where(zero, 1.0, v)))


@register("var_mean")
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """(var(x, dim), mean(x, dim)) in one call."""
    v, axes = _var("var_mean", input, dim, unbiased, keepdim, correction, axis, keepdims, None)
    return v, mean(input, axes, bool(alias("var_mean", keepdim, keepdims, "keepdim", "keepdims")))


@register("std_mean")
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """(std(x, dim), mean(x, dim)) in one call."""
    v, axes = _var("std_mean", input, dim, unbiased, keepdim, correction, axis, keepdims, None)
    return _sqrt_zero_grad(v), mean(input, axes, bool(alias("std_mean", keepdim, keepdims, "keepdim", "keepdims")))


# --- norms ----------------------------------------------------------------------------------------------


class VectorNorm(Function):
    """(sum |x|^p)^(1/p) over axes. # NOTE: the gradient is taken as 0 where the norm is 0 (as PyTorch does)."""

    op_name = "vector_norm"

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = ctx.backend.xp
        a = xp.abs(x)
        if p == 0:
            out = (a != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        elif p == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif p < 0:  # a zero element makes the sum infinite and the norm 0
            with np.errstate(divide="ignore"):
                out = (a ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        else:
            # NOTE: scaled by the max first, so large p neither overflows nor underflows.
            m = a.max(axis=axes, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, dtype=a.dtype)
            safe = xp.where(m > 0, m, 1)
            out = ((a / safe) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p) * safe
        ctx.p, ctx.kept = p, out.shape
        result = out if keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, g):
        from .compare import where

        x, out = ctx.saved_tensors
        g, out = g.reshape(ctx.kept), out.reshape(ctx.kept)
        if ctx.p == 0:  # a count: piecewise constant
            return (g * 0).expand(*x.shape)
        if ctx.p == 1:
            return g * x.sign()
        zero = out == 0
        denom = where(zero, 1.0, out)
        if ctx.p == 2:
            return where(zero, 0.0, g * x / denom)
        return where(zero, 0.0, g * x.sign() * x.abs() ** (ctx.p - 1) / denom ** (ctx.p - 1))


class SingularValueNorm(Function):
    """The nuclear norm (sum of singular values) or the spectral norm (largest / smallest), over the last
    two axes; the gradient is U diag(w) V^T with w the weights of the singular values used."""

    op_name = "matrix_norm"
    once_differentiable = True

    @staticmethod
    def forward(ctx, a, kind):
        xp = ctx.backend.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        w = xp.zeros_like(s)
        if kind == "nuc":
            w[...] = 1
            out = s.sum(axis=-1)
        else:
            pick = 0 if kind == 2 else -1
            w[..., pick] = 1
            out = s[..., pick]
        ctx.grad_matrix = (u * w[..., None, :]) @ vh
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(tuple(g.shape) + (1, 1)) * _make(ctx.grad_matrix, g.device, False, None)


def _floating(op, x, dtype):
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind not in "fcV":
        raise DTypeError(f"{op}: expected a floating point tensor, got {x.dtype} (cast it, or pass dtype=)")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum_i |x_i|^ord)^(1/ord) over `dim` (all by default); ord inf / -inf: max / min |x|; 0: count of non-zeros."""
    x = _floating("linalg.vector_norm", x, dtype)
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise ArgumentError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = dims("linalg.vector_norm", dim, x.ndim)
    if ord == math.inf:
        return amax(x.abs(), axes, keepdim)
    if ord == -math.inf:
        return amin(x.abs(), axes, keepdim)
    return VectorNorm.apply(x, p=float(ord) if ord not in (0, 1, 2) else int(ord), axes=axes, keepdim=bool(keepdim))


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """A matrix norm over the two dims `dim`: 'fro', 'nuc', inf / -inf (max / min row sum of |A|),
    1 / -1 (max / min column sum), 2 / -2 (largest / smallest singular value)."""
    op = "linalg.matrix_norm"
    A = _floating(op, A, dtype)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ArgumentError(f"{op}: dim must be a pair of dims, got {dim!r}")
    if A.ndim < 2:
        raise ShapeError(f"{op}: expected a tensor of at least 2 dimensions, got shape {tuple(A.shape)}")
    r, c = (d % A.ndim if -A.ndim <= d < A.ndim else d for d in dim)
    dims(op, (r, c), A.ndim)
    if ord == "fro":
        return VectorNorm.apply(A, p=2, axes=tuple(sorted((r, c))), keepdim=bool(keepdim))
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        sums = sum(A.abs(), inner, True)
        out = (amax if ord > 0 else amin)(sums, outer, True)
        return out if keepdim else out.squeeze((r, c))
    if ord in ("nuc", 2, -2):
        moved = A.movedim((r, c), (-2, -1))
        out = SingularValueNorm.apply(moved, kind=ord)
        return out.unsqueeze(min(r, c)).unsqueeze(max(r, c)) if keepdim else out
    raise ArgumentError(f"{op}: ord must be 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2, got {ord!r}")


@register("norm", method=True)
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm: a number p is linalg.vector_norm(x, p, dim); 'fro' the 2-norm over dim (all by default),
    'nuc' the nuclear norm over two dims."""
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        if p not in ("fro", "nuc"):
            raise ArgumentError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
        return matrix_norm(input, p, tuple(range(input.ndim)) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype)


vector_norm = register("linalg.vector_norm")(vector_norm)
matrix_norm = register("linalg.matrix_norm")(matrix_norm)


# --- quantiles --------------------------------------------------------------------------------------------


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    from ..tensor import Tensor
    from .compare import where
    from .gather import gather
    from .sort import sort

    modes = ("linear", "lower", "higher", "nearest", "midpoint")
    if interpolation not in modes:
        raise ArgumentError(f"{op}: interpolation must be one of {modes}, got {interpolation!r}")
    if input.dtype.kind not in "fV":
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype}")
    qs = q.tolist() if isinstance(q, Tensor) else q
    scalar = not isinstance(qs, list)
    qs = [qs] if scalar else qs
    if isinstance(q, Tensor) and q.ndim > 1:
        raise ShapeError(f"{op}: q must be a number or a 0-d / 1-D tensor, got shape {tuple(q.shape)}")
    if any(not 0 <= v <= 1 for v in qs):
        raise ArgumentError(f"{op}: q values must be in [0, 1], got {qs}")
    if input.numel() == 0:
        raise ShapeError(f"{op}: input tensor must be non-empty, got shape {tuple(input.shape)} (as PyTorch)")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else dims(op, dim, input.ndim)[0] if input.ndim else one_dim(op, dim, 0)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.shape[d] == 0:
        raise ShapeError(f"{op}: dim {d} of shape {tuple(x.shape)} is empty")
    xp = x.device.backend.xp
    s = sort(x, d).values
    nan = xp.isnan(x._data)
    n = x.shape[d]
    count = (n - nan.sum(axis=d, keepdims=True)) if ignore_nan else xp.full(s.shape[:d] + (1,) + s.shape[d + 1:], n)
    outs = []
    q_flat = q.reshape(-1) if isinstance(q, Tensor) and q.requires_grad else None
    for i, v in enumerate(qs):
        span = (xp.maximum(count, 1) - 1).astype(x.dtype)
        pos = v * span
        lo, hi = xp.floor(pos), xp.ceil(pos)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = xp.round(pos)
        weight = 0.5 if interpolation == "midpoint" else (pos - lo).astype(x.dtype)
        lo_i = _make(xp.clip(lo, 0, n - 1).astype(np.int64), x.device, False, None)
        hi_i = _make(xp.clip(hi, 0, n - 1).astype(np.int64), x.device, False, None)
        v_lo, v_hi = gather(s, d, lo_i), gather(s, d, hi_i)
        w = weight if isinstance(weight, float) else _make(weight, x.device, False, None)
        if q_flat is not None and interpolation == "linear":
            # the position q (n - 1) is differentiable in q: d out / d q = (v_hi - v_lo) (n - 1)
            w = q_flat[i] * _make(span, x.device, False, None) - _make(lo, x.device, False, None)
        out = v_lo + (v_hi - v_lo) * w if interpolation != "lower" and interpolation != "higher" else v_lo
        bad = (count == 0) if ignore_nan else nan.any(axis=d, keepdims=True)
        if bool(bad.any()):
            out = where(_make(bad, x.device, False, None), float("nan"), out)
        if input.ndim == 0:
            outs.append(out.reshape(()))
        elif dim is not None:
            outs.append(out if keepdim else out.squeeze(d))
        else:
            outs.append(out.reshape((1,) * input.ndim if keepdim else ()))
    if scalar:
        return outs[0]
    from .joins import stack

    return stack(outs, 0)


@register("quantile", method=True)
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles along `dim` (of all elements when dim is None), interpolating between the two
    nearest sorted values; a slice with a NaN gives NaN. A tensor q adds a leading dim."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@register("nanquantile", method=True)
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile ignoring NaNs (an all-NaN slice gives NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)
