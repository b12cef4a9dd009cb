"""Normalization and channel dropout for conv nets: local_response_norm, batch_norm, dropout2d."""

import warnings

from ..autograd import Function
from ..errors import DTypeError, ShapeError
from ..random import _gen
from ..tensor import Tensor, _make
from .registry import register

# --- local response normalization ---------------------------------------------------------------


class ChannelWindowSum(Function):
    """out[:, c] = sum of x[:, c - before .. c + after] (zero outside the channels), axis 1.

    Linear; its adjoint is the same sum with `before` and `after` swapped.
    """

    op_name = "channel_window_sum"

    @staticmethod
    def forward(ctx, x, before, after):
        ctx.before, ctx.after = before, after
        xp = ctx.backend.xp
        c = x.shape[1]
        widths = [(0, 0)] * x.ndim
        widths[1] = (before, after)
        padded = xp.pad(x, widths)
        out = padded[:, 0:c].copy()
        for t in range(1, before + after + 1):
            out += padded[:, t : t + c]
        return out

    @staticmethod
    def backward(ctx, g):
        return ChannelWindowSum.apply(g, before=ctx.after, after=ctx.before)


@register("local_response_norm")
def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalize each value by the energy of `size` neighbouring channels (PyTorch's convention).

        b[n, c] = a[n, c] / (k + alpha / size * sum_{c' = c - size//2}^{c + (size-1)//2} a[n, c']^2) ** beta

    # NOTE: the alpha convention. PyTorch (and this function) divide alpha by `size`; the AlexNet paper
    # does not: its k=2, n=5, alpha=1e-4, beta=0.75 is local_response_norm(x, size=5, alpha=5e-4,
    # beta=0.75, k=2) here. Channels beyond the edges count as zeros.

    Works on (N, C, ...) input of 3 or more dimensions; differentiable twice (all ops compose).

    Example:
        y = tc.nn.functional.local_response_norm(tc.randn(2, 96, 55, 55), size=5, alpha=5e-4, beta=0.75, k=2.0)
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"local_response_norm: expected a Tensor, got {type(x).__name__}")
    if x.ndim < 3:
        raise ShapeError(f"local_response_norm: input must be (N, C, ...) with 3 or more dimensions, got {x.shape}")
    if not isinstance(size, int) or size < 1:
        raise ShapeError(f"local_response_norm: size must be a positive int, got {size!r}")
    from . import lrn_fused  # the backend's one-node form, where it has one (lrn_fused imports this module)

    if lrn_fused.takes(x):
        return lrn_fused.local_response_norm(x, size, alpha, beta, k)
    energy = ChannelWindowSum.apply(x * x, before=size // 2, after=(size - 1) // 2)
    return x / (energy * (alpha / size) + k) ** beta


# --- batch normalization --------------------------------------------------------------------------


def _stat_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _channel_view(t, ndim):
    return t.reshape((1, -1) + (1,) * (ndim - 2))


class BatchNormTrain(Function):
    """y = (x - mean) / sqrt(var + eps) with batch statistics over every axis but the channel axis.

    Forward in one NumPy pass; backward is the standard formula
        dx = invstd / M * (M g - sum(g) - xhat sum(g xhat))
    on arrays under plain backward, and rebuilt from tensor ops under create_graph, so it
    differentiates twice. The affine weight and bias are applied outside, by ordinary ops.
    """

    op_name = "batch_norm"

    @staticmethod
    def forward(ctx, x, eps, stats_out):
        xp = ctx.backend.xp
        axes = _stat_axes(x)
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = xp.mean(xc * xc, axis=axes, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat = xc * invstd
        ctx.axes, ctx.eps = axes, eps
        ctx.save_for_backward(x, xhat, invstd)
        if stats_out is not None:
            stats_out.append((mean.reshape(-1), var.reshape(-1)))
        return xhat

    @staticmethod
    def backward(ctx, g):
        x, _, _ = ctx.saved_tensors
        axes = ctx.axes
        m = x.numel() // x.shape[1]
        # The same formula as backward_arrays, from differentiable ops of x (so create_graph works).
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        inv = ((xc * xc).mean(axis=axes, keepdims=True) + ctx.eps) ** -0.5
        xh = xc * inv
        return inv / m * (g * m - g.sum(axis=axes, keepdims=True) - xh * (g * xh).sum(axis=axes, keepdims=True))

    @staticmethod
    def backward_arrays(ctx, gd):
        x, xh, inv = ctx.saved_arrays
        axes = ctx.axes
        m = x.size // x.shape[1]
        sum_g = gd.sum(axis=axes, keepdims=True)
        sum_gx = (gd * xh).sum(axis=axes, keepdims=True)
        dx = gd * m
        dx -= sum_g
        dx -= xh * sum_gx
        dx *= inv / m
        return (dx,)


@register("batch_norm")
def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalization over the channel axis 1 of (N, C), (N, C, L) or (N, C, H, W) input (PyTorch's).

    training=True: normalize with the batch mean and biased variance, and update the running stats in
    place: running = (1 - momentum) running + momentum * batch, with the unbiased variance
    (M / (M - 1)) stored, as PyTorch does. training=False: normalize with the running stats.
    y = xhat * weight + bias when weight / bias (shape (C,)) are given.

    Example:
        rm, rv = tc.zeros(16), tc.ones(16)
        y = tc.nn.functional.batch_norm(x, rm, rv, training=True)   # x: (N, 16, H, W)
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"batch_norm: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fV":
        raise DTypeError(f"batch_norm: needs a floating tensor, got {x.dtype}")
    if x.numel() == 0 and x.ndim < 2:  # as PyTorch: an empty input comes back empty, the stats untouched
        return x * 1.0
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: input must be (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ShapeError(f"batch_norm: {name} of shape {t.shape} for input of shape {x.shape} "
                             f"(expected ({c},))")
    if x.numel() == 0:
        return x * 1.0
    if training:
        m = x.numel() // c
        if m <= 1:
            raise ShapeError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {x.shape}")
        stats = [] if running_mean is not None or running_var is not None else None
        y = BatchNormTrain.apply(x, eps=eps, stats_out=stats)
        if stats:
            mean, var = stats[0]
            if running_mean is not None:
                _update_running(running_mean, mean, momentum)
            if running_var is not None:
                _update_running(running_var, var * (m / (m - 1)), momentum)
        if weight is not None:
            y = y * _channel_view(weight, x.ndim)
        if bias is not None:
            y = y + _channel_view(bias, x.ndim)
        return y
    if running_mean is None or running_var is None:
        raise ShapeError("batch_norm: running_mean and running_var are needed when training=False")
    xp = x.device.backend.xp
    invstd = (1.0 / xp.sqrt(running_var._data + eps)).astype(x.dtype, copy=False)
    scale = _make(invstd, x.device, False, None)
    if weight is not None:
        scale = scale * weight
    shift = _make(-running_mean._data.astype(x.dtype, copy=False), x.device, False, None) * scale
    if bias is not None:
        shift = shift + bias
    return x * _channel_view(scale, x.ndim) + _channel_view(shift, x.ndim)


def _update_running(stat, batch_value, momentum):
    """stat <- (1 - momentum) stat + momentum batch_value, in place (a buffer: no gradient).

    momentum=None is a cumulative average; the caller passes 1 / num_batches_tracked then.
    """
    data = stat._data
    data *= 1.0 - momentum
    data += (momentum * batch_value).astype(data.dtype, copy=False)
    stat._version += 1


# --- channel dropout --------------------------------------------------------------------------------


@register("dropout2d")
def dropout2d(x, p=0.5, training=True, generator=None):
    """Zero whole channels with probability p and scale the rest by 1 / (1 - p) (PyTorch's dropout2d).

    Input (N, C, H, W): one draw per (n, c) feature map, as in Tompson et al. (2015): neighbouring pixels are
    correlated, so dropping pixels would not regularize. As PyTorch's, any input of 2 or more dims is taken as
    (N, C, *) with one draw per input[n, c], with its warnings: a 3-D input is (N, C, L), not an unbatched
    (C, H, W) (torch keeps that historical reading), and 2-D or 5-D inputs are deprecated (mnist_rnn's
    Dropout2d on (N, features) drops single features).

    Example:
        y = tc.nn.functional.dropout2d(tc.randn(8, 16, 5, 5), 0.2)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if x.ndim < 2:
        raise ShapeError(f"dropout2d: feature dropout requires at least 2 dimensions in the input, got shape "
                         f"{x.shape}")
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result in "
                      "an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      "inputs).", UserWarning, stacklevel=2)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", UserWarning, stacklevel=2)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    lead = x.shape[:2]
    keep = _gen(generator).random(lead) >= p
    mask = (keep / (1.0 - p)).astype(x.dtype).reshape(lead + (1,) * (x.ndim - 2))
    return x * _make(x.device.backend.from_host(mask, copy=False), x.device, False, None)
