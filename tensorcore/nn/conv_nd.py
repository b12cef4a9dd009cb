"""Conv1d, Conv3d, ConvTranspose1d and the 1-D / 3-D / adaptive pooling modules (torch.nn's names,
parameter names, shapes and default initialization: a PyTorch state_dict loads)."""

from .. import _validate as check
from ..errors import ArgumentError
from ..ops import conv_nd, pool_nd
from ..ops.conv_nd import _ints
from .conv import _ConvNd, check_padding_mode, mode_padded
from .layers import _empty_parameter
from .module import Module


class _ConvModule(_ConvNd):
    dims, transposed = 1, False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, output_padding=0):
        super().__init__()
        op, n = type(self).__name__, self.dims
        check_padding_mode(op, padding_mode, self.transposed)
        self.in_channels = check.integer(in_channels, "in_channels", op, minimum=1)
        self.out_channels = check.integer(out_channels, "out_channels", op, minimum=1)
        self.groups = check.integer(groups, "groups", op, minimum=1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ArgumentError(f"{op}: in_channels {in_channels} and out_channels {out_channels} must be divisible "
                                f"by groups={groups}")
        self.kernel_size, self.stride = _ints(op, "kernel_size", kernel_size, n), _ints(op, "stride", stride, n)
        self.dilation = _ints(op, "dilation", dilation, n)
        if isinstance(padding, str):
            check.choice(padding, "padding", op, ("valid", "same"))
            self.padding = padding
        else:
            self.padding = _ints(op, "padding", padding, n)
        self.output_padding = _ints(op, "output_padding", output_padding, n)
        sizes = [("kernel_size", self.kernel_size, 1), ("stride", self.stride, 1), ("dilation", self.dilation, 1),
                 ("output_padding", self.output_padding, 0)]
        for name, values, least in sizes + ([] if isinstance(self.padding, str) else [("padding", self.padding, 0)]):
            if any(v < least for v in values):
                raise ArgumentError(f"{op}: {name} must be >= {least} in every dimension, got {values}")
        self.padding_mode = padding_mode
        shape = (self.in_channels, self.out_channels // self.groups) if self.transposed else \
            (self.out_channels, self.in_channels // self.groups)
        self.weight = _empty_parameter(shape + self.kernel_size, device, dtype)
        if bias:
            self.bias = _empty_parameter((self.out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()



class Conv1d(_ConvModule):
    """1-D convolution over (N, C, L): weight (out, in / groups, k)."""

    def forward(self, input):
        if self.padding_mode != "zeros":
            return conv_nd.conv1d(mode_padded(self, input), self.weight, self.bias, self.stride, 0, self.dilation,
                                  self.groups)
        return conv_nd.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv3d(_ConvModule):
    """3-D convolution over (N, C, D, H, W): weight (out, in / groups, kd, kh, kw)."""

    dims = 3

    def forward(self, input):
        if self.padding_mode != "zeros":
            return conv_nd.conv3d(mode_padded(self, input), self.weight, self.bias, self.stride, 0, self.dilation,
                                  self.groups)
        return conv_nd.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose1d(_ConvModule):
    """Transposed 1-D convolution: weight (in, out / groups, k)."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            base = (input.shape[-1] - 1) * self.stride[0] - 2 * self.padding[0] + \
                self.dilation[0] * (self.kernel_size[0] - 1) + 1
            output_padding = (int(tuple(output_size)[-1]) - base,)
        return conv_nd.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                        self.groups, self.dilation)


class _Pool(Module):
    fn = None

    def __init__(self, **options):
        super().__init__()
        for k, v in options.items():
            setattr(self, k, v)

    _repr = ()  # the attributes PyTorch's repr shows, in its order

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._repr)


class MaxPool1d(_Pool):
    _repr = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, dilation=dilation, return_indices=return_indices, ceil_mode=ceil_mode)

    def forward(self, input):
        return pool_nd.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                  self.return_indices)


class MaxPool3d(MaxPool1d):
    def forward(self, input):
        return pool_nd.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                  self.return_indices)


class AvgPool1d(_Pool):
    def extra_repr(self):  # PyTorch's shows 1-tuples here
        k, s, p = (tuple(v) if isinstance(v, (tuple, list)) else (v,) for v in (self.kernel_size, self.stride,
                                                                                 self.padding))
        return f"kernel_size={k}, stride={s}, padding={p}"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)

    def forward(self, input):
        return pool_nd.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                  self.count_include_pad)


class AvgPool3d(_Pool):
    _repr = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                         divisor_override=divisor_override)

    def forward(self, input):
        return pool_nd.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                  self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool1d(_Pool):
    _repr = ("output_size",)

    def __init__(self, output_size):
        super().__init__(output_size=output_size)

    def forward(self, input):
        return pool_nd.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool3d(AdaptiveAvgPool1d):
    def forward(self, input):
        return pool_nd.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool1d(_Pool):
    _repr = ("output_size",)

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size=output_size, return_indices=return_indices)

    def forward(self, input):
        return pool_nd.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(AdaptiveMaxPool1d):
    def forward(self, input):
        return pool_nd.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(AdaptiveMaxPool1d):
    def forward(self, input):
        return pool_nd.adaptive_max_pool3d(input, self.output_size, self.return_indices)
