"""dropout1d / dropout3d (whole channels), alpha_dropout / feature_alpha_dropout (SELU-preserving) and
instance_norm, torch.nn.functional's. Masks come from tensorcore's generator (seeded by tc.manual_seed)."""

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..random import _gen
from ..tensor import _make
from .registry import register

_SELU_ALPHA_SCALE = 1.7580993408473766  # SELU's scale * alpha: the value alpha dropout drops to (negated)


def _p(op, p):
    if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
        raise ArgumentError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _constant(x, array):
    return _make(x.device.backend.from_host(np.ascontiguousarray(array.astype(x.dtype)), copy=False), x.device,
                 False, None)


def _channel_dropout(op, input, p, training, spatial, generator=None):
    p = _p(op, p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: expected {spatial + 1}-D or {spatial + 2}-D input, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    lead = input.shape[:input.ndim - spatial]
    keep = _gen(generator).random(lead) >= p
    return input * _constant(input, (keep / (1.0 - p)).reshape(lead + (1,) * spatial))


@register("dropout1d")
def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) / (C, L) with probability p, scale the rest by 1 / (1 - p)."""
    return _channel_dropout("dropout1d", input, p, training, 1)


@register("dropout3d")
def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) with probability p, scale the rest by 1 / (1 - p)."""
    return _channel_dropout("dropout3d", input, p, training, 3)


def _alpha(op, input, p, training, feature):
    p = _p(op, p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    if feature and input.ndim < 2:
        raise ShapeError(f"{op}: expected an input with a channel dimension, got shape {tuple(input.shape)}")
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape
    keep = (_gen(None).random(shape) >= p).astype(np.float64)
    a = 1.0 / np.sqrt((_SELU_ALPHA_SCALE ** 2 * p + 1) * (1 - p))
    b = (keep - 1) * _SELU_ALPHA_SCALE * a + _SELU_ALPHA_SCALE * a * p
    return input * _constant(input, keep * a) + _constant(input, b)


@register("alpha_dropout")
def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout (Klambauer et al.): dropped values go to -1.758..., then y = a x' + b keeps SELU's mean 0 and
    variance 1: a = ((1 - p)(1 + p alpha'^2))^-1/2, b = a alpha' p. training defaults to False, as PyTorch."""
    return _alpha("alpha_dropout", input, p, training, False)


@register("feature_alpha_dropout")
def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels."""
    return _alpha("feature_alpha_dropout", input, p, training, True)


@register("instance_norm")
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics of each (n, c) over the spatial dims
    (biased variance); with running buffers, they move by momentum towards the batch's mean of the instance
    means and unbiased variances (in place), and use_input_stats=False normalizes with them instead."""
    op = "instance_norm"
    if input.ndim < 3:
        raise ShapeError(f"{op}: expected an input of at least 3 dims (N, C, ...), got shape {tuple(input.shape)}")
    dims = tuple(range(2, input.ndim))
    view = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if use_input_stats:
        if int(np.prod(input.shape[2:])) == 1:  # (torch refuses it too: the variance of one element)
            raise ShapeError(f"{op}: expected more than 1 spatial element when training, got input of shape "
                             f"{tuple(input.shape)}")
        mean = input.mean(dim=dims, keepdim=True)
        var = ((input - mean) ** 2).mean(dim=dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            n = int(np.prod(input.shape[2:]))
            data = input._data
            batch_mean = data.mean(axis=dims).mean(axis=0)
            batch_var = (data.var(axis=dims) * (n / max(n - 1, 1))).mean(axis=0)
            if running_mean is not None:
                running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * batch_mean
                running_mean._version += 1
            if running_var is not None:
                running_var._data[...] = (1 - momentum) * running_var._data + momentum * batch_var
                running_var._version += 1
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError(f"{op}: expected running_mean and running_var to be defined when use_input_stats "
                                "is false")
        mean, var = running_mean.reshape(view), running_var.reshape(view)
    y = (input - mean) / (var + eps) ** 0.5
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y
