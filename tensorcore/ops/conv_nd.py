"""conv1d, conv_transpose1d and conv3d (torch.nn.functional's), built on conv2d / conv_transpose2d.

conv1d is conv2d with a kernel of height 1; conv3d sums, over the kernel's depth, conv2d of the
matching depth slices with the output depths folded into the batch. Gradients (and their gradients)
come from conv2d's.
"""

import operator

from ..errors import ArgumentError, ShapeError
from .conv import conv2d, conv_transpose2d
from .registry import register


def _ints(op, name, value, n):
    """An int or a sequence of n ints -> a tuple of n ints."""
    if isinstance(value, bool):
        raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {value!r}")
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {tuple(value)}")
        return tuple(operator.index(v) for v in value)
    try:
        return (operator.index(value),) * n
    except TypeError:
        raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {type(value).__name__}") from None


def _batched(op, x, ndim):
    if x.ndim == ndim + 1:
        return x.unsqueeze(0), True
    if x.ndim != ndim + 2:
        raise ShapeError(f"{op}: expected a {ndim + 2}-D (batched) or {ndim + 1}-D (unbatched) input, got shape "
                         f"{tuple(x.shape)}")
    return x, False


@register("conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation over (N, C, L): weight (O, C / groups, k); padding an int, 'valid' or 'same'."""
    op = "conv1d"
    x, unbatched = _batched(op, input, 1)
    if weight.ndim != 3:
        raise ShapeError(f"{op}: weight must be 3-D (out_channels, in_channels / groups, k), got shape "
                         f"{tuple(weight.shape)}")
    (s,), (d,) = _ints(op, "stride", stride, 1), _ints(op, "dilation", dilation, 1)
    pad = padding if isinstance(padding, str) else (0,) + _ints(op, "padding", padding, 1)
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), pad, (1, d), groups).squeeze(2)
    return y.squeeze(0) if unbatched else y


@register("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 1-D convolution: weight (C_in, C_out / groups, k); output length
    (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""
    op = "conv_transpose1d"
    x, unbatched = _batched(op, input, 1)
    if weight.ndim != 3:
        raise ShapeError(f"{op}: weight must be 3-D (in_channels, out_channels / groups, k), got shape "
                         f"{tuple(weight.shape)}")
    (s,), (p,), (d,) = (_ints(op, n, v, 1) for n, v in (("stride", stride), ("padding", padding),
                                                         ("dilation", dilation)))
    (o,) = _ints(op, "output_padding", output_padding, 1)
    y = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), (0, p), (0, o), groups, (1, d))
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def _same_3d(kernel, dilation):
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [(t // 2, t - t // 2) for t in total]


@register("conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation over (N, C, D, H, W): weight (O, C / groups, kd, kh, kw).

    y[:, :, z] = sum_i conv2d(x_pad[:, :, z s_d + i d_d], weight[:, :, i]) over the kernel depth i.
    """
    from .shape import pad as constant_pad

    op = "conv3d"
    x, unbatched = _batched(op, input, 3)
    if weight.ndim != 5:
        raise ShapeError(f"{op}: weight must be 5-D (out_channels, in_channels / groups, kd, kh, kw), got shape "
                         f"{tuple(weight.shape)}")
    stride, dilation = _ints(op, "stride", stride, 3), _ints(op, "dilation", dilation, 3)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ArgumentError(f"{op}: padding must be an int, 3 ints, 'same' or 'valid', got {padding!r}")
        if padding == "same" and stride != (1, 1, 1):
            raise ArgumentError(f"{op}: padding='same' is not supported for strided convolutions")
        widths = _same_3d(kernel, dilation) if padding == "same" else [(0, 0)] * 3
    else:
        widths = [(p, p) for p in _ints(op, "padding", padding, 3)]
    if any(w != (0, 0) for w in widths):
        x = constant_pad(x, ((0, 0), (0, 0), *widths))
    n, c, depth, h, w = x.shape
    out_depth = (depth - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    if out_depth < 1:
        raise ShapeError(f"{op}: kernel depth {kernel[0]} (dilation {dilation[0]}) is larger than the padded input "
                         f"depth {depth}")
    y = None
    for i in range(kernel[0]):
        start = i * dilation[0]
        planes = x[:, :, start:start + (out_depth - 1) * stride[0] + 1:stride[0]]
        planes = planes.permute(0, 2, 1, 3, 4).reshape(n * out_depth, c, h, w)
        part = conv2d(planes, weight[:, :, i], None, stride[1:], 0, dilation[1:], groups)
        y = part if y is None else y + part
    o, oh, ow = y.shape[1:]
    y = y.reshape(n, out_depth, o, oh, ow).permute(0, 2, 1, 3, 4)
    if bias is not None:
        if tuple(bias.shape) != (o,):
            raise ShapeError(f"{op}: bias must have shape ({o},), got {tuple(bias.shape)}")
        y = y + bias.reshape(1, o, 1, 1, 1)
    return y.squeeze(0) if unbatched else y
