"""conv2d and conv_transpose2d (NCHW), with first and second derivatives.

Three Functions close over each other, so conv2d differentiates any number of times:
  Conv2d(x, w)               y = x (*) w                     (cross-correlation, PyTorch's conv2d)
  Conv2dBackwardInput(g, w)  T(g, w) = dL/dx                 (the transposed convolution)
  Conv2dBackwardWeight(g, x) W(g, x) = dL/dw                 (the correlation of x with g)
Each is bilinear, and <T(g, w), h> = <g, h (*) w> = <W(g, h), w>, so the backward of every one of
them is made of the other two. conv_transpose2d is Conv2dBackwardInput with a bias.
The arrays go through the backend's conv2d_forward / conv2d_backward_input / conv2d_backward_weight.
"""

from ..autograd import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .registry import register


def _pair(op, name, value):
    """An int or a pair of ints -> a pair of ints (a clear error otherwise)."""
    if isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int) or hasattr(value, "__index__") and not isinstance(value, (tuple, list)):
        return (int(value), int(value))
    try:
        pair = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None
    if len(pair) != 2:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return pair


def _geometry(op, stride, padding, dilation):
    stride, padding, dilation = _pair(op, "stride", stride), _pair(op, "padding", padding), \
        _pair(op, "dilation", dilation)
    if min(stride) < 1:
        raise ShapeError(f"{op}: stride must be >= 1, got {stride}")
    if min(padding) < 0:
        raise ShapeError(f"{op}: padding must be >= 0, got {padding}")
    if min(dilation) < 1:
        raise ShapeError(f"{op}: dilation must be >= 1, got {dilation}")
    return stride, padding, dilation


def out_size(size, kernel, stride, padding, dilation):
    """Output length along one axis: floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _check_output(op, x_shape, kernel, stride, padding, dilation):
    """Raise ShapeError when the (dilated) kernel does not fit in the padded input."""
    out = tuple(out_size(x_shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]) for a in (0, 1))
    if min(out) < 1:
        eff = tuple(dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1))
        padded = tuple(x_shape[2 + a] + 2 * padding[a] for a in (0, 1))
        raise ShapeError(
            f"{op}: kernel {kernel[0]}x{kernel[1]} (dilated {eff[0]}x{eff[1]}) is larger than the padded "
            f"input {padded[0]}x{padded[1]} (input {tuple(x_shape)}, padding {padding}); "
            f"the output would be {out[0]}x{out[1]}"
        )
    return out


def _check_float_pair(op, x, w):
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors")
    if x.dtype != w.dtype:
        raise DTypeError(f"{op}: input is {x.dtype} but weight is {w.dtype}; cast one of them")
    if x.dtype.kind not in "fV":  # 'V': bfloat16 (dtypes.FLOAT_KINDS)
        raise DTypeError(f"{op}: needs floating tensors, got {x.dtype}")


class Conv2d(Function):
    """y = conv2d(x, w) + b. Backward: T(g, w) for x, W(g, x) for w, g summed for b.

    When w needs a gradient, forward keeps the backend's im2col matrix (saved like any array, so it
    is freed after backward) and hands it to the weight gradient, which then skips rebuilding it.
    """

    op_name = "conv2d"

    @staticmethod
    def forward(ctx, x, w, b, geometry):
        ctx.geometry = geometry  # (stride, padding, dilation, groups)
        needs = ctx.needs_input_grad
        if needs and needs[1]:
            # Keep the im2col matrix for the weight gradient (the backend may give None instead).
            y, columns = ctx.backend.conv2d_forward(x, w, *geometry, return_columns=True)
            ctx.save_for_backward(x, w, columns)
        else:
            y = ctx.backend.conv2d_forward(x, w, *geometry)
            ctx.save_for_backward(x, w, None)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, columns = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:
            gx = Conv2dBackwardInput.apply(g, w, x_shape=x.shape, geometry=ctx.geometry)
        if needs[1]:
            gw = Conv2dBackwardWeight.apply(g, x, w_shape=w.shape, geometry=ctx.geometry,
                                            columns=None if columns is None else columns._data)
        if needs[2]:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


class Conv2dBackwardInput(Function):
    """T(g, w): the gradient of conv2d with respect to its input (x of shape x_shape).

    Linear in g and in w; it is also conv_transpose2d(g, w) with the matching output size.
    """

    op_name = "conv2d_backward_input"

    @staticmethod
    def forward(ctx, g, w, x_shape, geometry):
        ctx.save_for_backward(g, w)
        ctx.geometry = geometry
        return ctx.backend.conv2d_backward_input(g, w, x_shape, *geometry)

    @staticmethod
    def backward(ctx, h):
        g, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        dg = dw = None
        h, geometry = _conv_input_for(h, g.shape, w.shape, ctx.geometry)
        if needs[0]:  # <T(g, w), h> = <g, conv2d(h, w)>
            dg = Conv2d.apply(h, w, None, geometry=geometry)
        if needs[1]:  # ... = <W(g, h), w>
            dw = Conv2dBackwardWeight.apply(g, h, w_shape=w.shape, geometry=geometry)
        return dg, dw


def _conv_input_for(h, g_shape, w_shape, geometry):
    """(h', geometry') with conv2d(h', w, geometry') of g_shape's size reading exactly what conv2d(h, w) reads.

    # NOTE: conv_transpose2d's output_padding >= stride (allowed when the dilation is larger) gives an output
    # h with rows past those conv2d(h) maps onto g_shape; then h is zero-padded on the left and padded or
    # cropped on the right explicitly, and the conv runs without padding.
    """
    stride, padding, dilation, groups = geometry
    natural = all((h.shape[2 + a] + 2 * padding[a] - dilation[a] * (w_shape[2 + a] - 1) - 1) // stride[a] + 1
                  == g_shape[2 + a] for a in (0, 1))
    if natural:
        return h, geometry
    from .shape import pad

    length = [(g_shape[2 + a] - 1) * stride[a] + dilation[a] * (w_shape[2 + a] - 1) + 1 for a in (0, 1)]
    right = [length[a] - padding[a] - h.shape[2 + a] for a in (0, 1)]
    h = pad(h, ((0, 0), (0, 0), (padding[0], max(right[0], 0)), (padding[1], max(right[1], 0))))
    return h[:, :, :length[0], :length[1]], (stride, (0, 0), dilation, groups)


class Conv2dBackwardWeight(Function):
    """W(g, x): the gradient of conv2d with respect to its weight (of shape w_shape)."""

    op_name = "conv2d_backward_weight"

    @staticmethod
    def forward(ctx, g, x, w_shape, geometry, columns=None):
        ctx.save_for_backward(g, x)
        ctx.geometry = geometry
        return ctx.backend.conv2d_backward_weight(g, x, w_shape, *geometry, columns=columns)

    @staticmethod
    def backward(ctx, k):
        g, x = ctx.saved_tensors
        needs = ctx.needs_input_grad
        dg = dx = None
        if needs[0]:  # <W(g, x), k> = <g, conv2d(x, k)>
            dg = Conv2d.apply(x, k, None, geometry=ctx.geometry)
        if needs[1]:  # ... = <T(g, k), x>
            dx = Conv2dBackwardInput.apply(g, k, x_shape=x.shape, geometry=ctx.geometry)
        return dg, dx


def _same_padding(kernel, dilation):
    """Total padding d (k - 1) per axis, split as PyTorch does: the extra one goes after."""
    total = tuple(dilation[a] * (kernel[a] - 1) for a in (0, 1))
    before = tuple(t // 2 for t in total)
    after = tuple(t - b for t, b in zip(total, before))
    return before, after


def _batched(op, x, what="input"):
    """Accept (C, H, W) as one unbatched image: returns (x as 4-D, whether a batch axis was added)."""
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ShapeError(f"{op}: {what} must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}")
    return x, False


@register("conv2d")
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation over NCHW input, PyTorch's conv2d.

    y[n, o] = b[o] + sum_{c in group(o)} sum_{i, j} w[o, c, i, j] x_pad[n, c, y s + i d, x s + j d]
    x: (N, C, H, W) (or (C, H, W)); weight: (O, C / groups, kh, kw); bias: (O,) or None.
    stride, padding, dilation: an int or a pair; padding may also be 'valid' (0) or 'same'
    (output size = input size; stride 1 only; an odd total pads one more after, as PyTorch does).

    Example:
        y = tc.nn.functional.conv2d(tc.randn(8, 3, 32, 32), tc.randn(16, 3, 5, 5), padding=2)  # (8, 16, 32, 32)
    """
    op = "conv2d"
    _check_float_pair(op, x, weight)
    x, unbatched = _batched(op, x)
    if weight.ndim != 4:
        raise ShapeError(f"{op}: weight must be 4-D (out_channels, in_channels / groups, kh, kw), "
                         f"got shape {weight.shape}")
    if not isinstance(groups, int) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    c, o = x.shape[1], weight.shape[0]
    if c % groups or o % groups:
        raise ShapeError(f"{op}: in_channels {c} and out_channels {o} must both be divisible by groups={groups} "
                         f"(input {x.shape}, weight {weight.shape})")
    if weight.shape[1] * groups != c:
        raise ShapeError(f"{op}: input of shape {x.shape} has {c} channels but weight of shape {weight.shape} "
                         f"expects {weight.shape[1] * groups} (= {weight.shape[1]} x groups={groups})")
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.shape != (o,):
            raise ShapeError(f"{op}: bias must have shape ({o},), got {getattr(bias, 'shape', bias)}")
        if bias.dtype != x.dtype:
            raise DTypeError(f"{op}: bias is {bias.dtype} but input is {x.dtype}")
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            stride_p, dilation_p = _pair(op, "stride", stride), _pair(op, "dilation", dilation)
            if stride_p != (1, 1):
                raise ShapeError(f"{op}: padding='same' needs stride 1, got stride {stride_p}")
            before, after = _same_padding(kernel, dilation_p)
            if before != after:
                from .shape import pad

                x = pad(x, ((0, 0), (0, 0), (before[0], after[0]), (before[1], after[1])))
                padding = 0
            else:
                padding = before
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    stride, padding, dilation = _geometry(op, stride, padding, dilation)
    _check_output(op, x.shape, kernel, stride, padding, dilation)
    y = Conv2d.apply(x, weight, bias, geometry=(stride, padding, dilation, groups))
    return y.squeeze(0) if unbatched else y


@register("conv_transpose2d")
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution (the adjoint of conv2d in its input), PyTorch's conv_transpose2d.

    x: (N, C_in, H, W); weight: (C_in, C_out / groups, kh, kw) (PyTorch's layout); bias: (C_out,).
    Output size: (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
    conv_transpose2d(g, w, stride=s, padding=p) is the gradient of conv2d(x, w, stride=s, padding=p)
    with respect to x (for x of the matching size), which is how ZFNet's deconvnet projects features.

    Example:
        y = tc.nn.functional.conv_transpose2d(tc.randn(1, 16, 8, 8), tc.randn(16, 3, 4, 4), stride=2, padding=1)
        y.shape == (1, 3, 16, 16)
    """
    op = "conv_transpose2d"
    _check_float_pair(op, x, weight)
    x, unbatched = _batched(op, x)
    if weight.ndim != 4:
        raise ShapeError(f"{op}: weight must be 4-D (in_channels, out_channels / groups, kh, kw), "
                         f"got shape {weight.shape}")
    if not isinstance(groups, int) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    c = x.shape[1]
    if weight.shape[0] != c:
        raise ShapeError(f"{op}: input of shape {x.shape} has {c} channels but weight of shape {weight.shape} "
                         f"expects {weight.shape[0]}")
    if c % groups:
        raise ShapeError(f"{op}: in_channels {c} must be divisible by groups={groups}")
    stride, padding, dilation = _geometry(op, stride, padding, dilation)
    output_padding = _pair(op, "output_padding", output_padding)
    for a in (0, 1):
        if not 0 <= output_padding[a] < max(stride[a], dilation[a]):
            raise ShapeError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} "
                             f"or dilation {dilation}")
    kernel = weight.shape[2:]
    c_out = weight.shape[1] * groups
    size = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * (kernel[a] - 1)
                 + output_padding[a] + 1 for a in (0, 1))
    if min(size) < 1:
        raise ShapeError(f"{op}: input {x.shape} with kernel {tuple(kernel)}, stride {stride}, padding {padding} "
                         f"gives an empty output {size}")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (c_out,)):
        raise ShapeError(f"{op}: bias must have shape ({c_out},), got {getattr(bias, 'shape', bias)}")
    out_shape = (x.shape[0], c_out) + size
    y = Conv2dBackwardInput.apply(x, weight, x_shape=out_shape, geometry=(stride, padding, dilation, groups))
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y.squeeze(0) if unbatched else y
