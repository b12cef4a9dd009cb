"""Normalization over features: layer_norm (one fused node), rms_norm and group_norm (composites).

    layer_norm: y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) axes
    rms_norm:   y = x / sqrt(mean(x^2) + eps) * weight
    group_norm: layer_norm over each group of C / G channels of (N, C, ...), then a per-channel affine
"""

import math

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from .registry import register


class LayerNorm(Function):
    """One node over x (..., *shape) normalized over its trailing `shape` (d elements), with optional
    weight and bias of that shape; the backend primitive sees the rows (R, d) (views, no copies)."""

    op_name = "layer_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, eps, shape):
        d = math.prod(shape)
        y, mean, rstd = ctx.backend.layer_norm_forward(x.reshape(-1, d), None if weight is None else weight.reshape(d),
                                                       None if bias is None else bias.reshape(d), eps)
        ctx.eps, ctx.shape, ctx.has_weight, ctx.has_bias = eps, shape, weight is not None, bias is not None
        ctx.save_for_backward(x, weight, mean, rstd)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x, weight, _, _ = ctx.saved_tensors
        needs = ctx.needs_input_grad
        d = math.prod(ctx.shape)
        # the fused backward's formulas from tensor ops of x and weight (so they differentiate again)
        x2, g2 = x.reshape(-1, d), g.reshape(-1, d)
        m = x2.mean(axis=1, keepdims=True)
        xc = x2 - m
        r = ((xc * xc).mean(axis=1, keepdims=True) + ctx.eps) ** -0.5
        xhat = xc * r
        dxhat = g2 * weight.reshape(d) if ctx.has_weight else g2
        dx = r * (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
        dw = (g2 * xhat).sum(axis=0).reshape(ctx.shape) if ctx.has_weight and needs[1] else None
        db = g2.sum(axis=0).reshape(ctx.shape) if ctx.has_bias and needs[2] else None
        return dx.reshape(x.shape) if needs[0] else None, dw, db

    @staticmethod
    def backward_arrays(ctx, g):
        x, weight, mean, rstd = ctx.saved_arrays
        needs = ctx.needs_input_grad
        d = math.prod(ctx.shape)
        dx, dw, db = ctx.backend.layer_norm_backward(g.reshape(-1, d), x.reshape(-1, d),
                                                     None if weight is None else weight.reshape(d), mean, rstd)
        return (dx.reshape(x.shape) if needs[0] else None,
                dw.reshape(ctx.shape) if ctx.has_weight and needs[1] else None,
                db.reshape(ctx.shape) if ctx.has_bias and needs[2] else None)


def _normalized_size(op, x, normalized_shape, weight, bias):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    if not isinstance(x, Tensor):
        raise ArgumentError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fV":
        raise DTypeError(f"{op}: needs a floating tensor, got {x.dtype}")
    k = len(normalized_shape)
    if k == 0 or x.shape[x.ndim - k:] != normalized_shape or x.ndim < k:
        raise ShapeError(f"{op}: input of shape {x.shape} does not end with normalized_shape {normalized_shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise ShapeError(f"{op}: {name} of shape {t.shape} for normalized_shape {normalized_shape}")
    return normalized_shape, math.prod(normalized_shape)


@register("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalized_shape` (biased var).

    Example:
        y = F.layer_norm(x, (128,), ln.weight, ln.bias)     # x: (B, T, 128)
    """
    shape, _ = _normalized_size("layer_norm", input, normalized_shape, weight, bias)
    return LayerNorm.apply(input, weight, bias, eps=float(eps), shape=shape)


@register("rms_norm")
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing `normalized_shape`; eps=None is finfo(dtype).eps."""
    shape, _ = _normalized_size("rms_norm", input, normalized_shape, weight, None)
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * ((input * input).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return y * weight if weight is not None else y


@register("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, ...) over each of num_groups groups of channels (and all positions), then affine."""
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ShapeError(f"group_norm: input must be a Tensor (N, C, ...), got {getattr(input, 'shape', input)}")
    if input.dtype.kind not in "fV":
        raise DTypeError(f"group_norm: needs a floating tensor, got {input.dtype}")
    n, c = input.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ShapeError(f"group_norm: {c} channels are not divisible into {num_groups} groups")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ShapeError(f"group_norm: {name} of shape {t.shape} for {c} channels")
    rows = input.reshape(n * num_groups, -1)
    y = LayerNorm.apply(rows, None, None, eps=float(eps), shape=rows.shape[1:]).reshape(input.shape)
    view = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y
