"""Conv-net layers: Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, MaxUnpool2d,
LocalResponseNorm, BatchNorm2d, Dropout2d (PyTorch's names, arguments and defaults; NCHW).

Init (PyTorch's): a conv weight (out, in / groups, kh, kw) gets kaiming_uniform_(a=sqrt(5)), which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in / groups * kh * kw; the bias gets the same
bound. ConvTranspose2d's weight is (in, out / groups, kh, kw) and its fan_in is computed from that
layout as PyTorch does (out / groups * kh * kw). BatchNorm2d: weight ones, bias zeros, running
mean 0, running variance 1.
"""

import math

from .. import _validate as check
from .. import ops
from ..errors import ArgumentError, ShapeError
from . import init
from .layers import BatchNorm1d, _empty_parameter
from .module import Module


def _conv_args(op, in_channels, out_channels, kernel_size, stride, dilation, groups, padding_mode):
    """Checked (in, out, kernel, stride, dilation, groups): ints, kernel/stride/dilation/groups >= 1."""
    check_padding_mode(op, padding_mode, transposed=op.startswith("ConvTranspose"))
    in_channels = check.integer(in_channels, "in_channels", op, minimum=1)
    out_channels = check.integer(out_channels, "out_channels", op, minimum=1)
    groups = check.integer(groups, "groups", op, minimum=1)
    if in_channels % groups or out_channels % groups:
        raise ShapeError(f"{op}: in_channels {in_channels} and out_channels {out_channels} must be "
                         f"divisible by groups={groups}")
    kernel = check.int_tuple(kernel_size, "kernel_size", op, minimum=1)
    stride = check.int_tuple(stride, "stride", op, minimum=1)
    dilation = check.int_tuple(dilation, "dilation", op, minimum=1)
    return in_channels, out_channels, kernel, stride, dilation, groups


def check_padding_mode(op, padding_mode, transposed=False):
    """PyTorch's padding modes: 'zeros', 'reflect', 'replicate', 'circular' (transposed convs: 'zeros' only)."""
    check.choice(padding_mode, "padding_mode", op, ("zeros", "reflect", "replicate", "circular"))
    if transposed and padding_mode != "zeros":
        raise ArgumentError(f"{op}: only 'zeros' padding mode is supported, got {padding_mode!r}")
    return padding_mode


def mode_padded(module, x):
    """x padded for module (a conv with padding_mode other than 'zeros') as PyTorch does: F.pad with the
    module's padding in its mode, last dimension first ('same': dilation (k - 1) split, the extra one after)."""
    from .functional import pad

    pads = []
    for i in reversed(range(len(module.kernel_size))):
        if module.padding == "same":
            total = module.dilation[i] * (module.kernel_size[i] - 1)
            pads += [total // 2, total - total // 2]
        elif module.padding == "valid":
            pads += [0, 0]
        else:
            pads += [module.padding[i]] * 2
    return pad(x, pads, mode=module.padding_mode)


def _pool_args(op, kernel_size, stride, padding, dilation=1):
    """Checked (kernel, stride, padding, dilation) pairs; padding at most half the kernel (PyTorch's rule)."""
    kernel = check.int_tuple(kernel_size, "kernel_size", op, minimum=1)
    stride = kernel if stride is None else check.int_tuple(stride, "stride", op, minimum=1)
    padding = check.int_tuple(padding, "padding", op, minimum=0)
    dilation = check.int_tuple(dilation, "dilation", op, minimum=1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ArgumentError(f"{op}: padding {padding} should be at most half of the kernel size {kernel}")
    return kernel, stride, padding, dilation


class _ConvNd(Module):
    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        """PyTorch's: the non-default padding, dilation, output_padding, groups, bias and padding_mode."""
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        n = len(self.kernel_size)
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0,) * n) != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if getattr(self, "padding_mode", "zeros") != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C, H, W): weight (out, in / groups, kh, kw).

    padding: an int, a pair, 'valid' or 'same'. padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example:
        conv = nn.Conv2d(1, 6, 5, padding=2)
        conv(tc.zeros((8, 1, 28, 28))).shape       # (8, 6, 28, 28)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        in_channels, out_channels, self.kernel_size, self.stride, self.dilation, groups = _conv_args(
            "Conv2d", in_channels, out_channels, kernel_size, stride, dilation, groups, padding_mode)
        if isinstance(padding, str):
            check.choice(padding, "padding", "Conv2d", ("valid", "same"))
            if padding == "same" and self.stride != (1, 1):
                raise ArgumentError("Conv2d: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = check.int_tuple(padding, "padding", "Conv2d", minimum=0)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        self.weight = _empty_parameter((out_channels, in_channels // groups) + self.kernel_size, device, dtype)
        if bias:
            self.bias = _empty_parameter((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def forward(self, x):
        if self.padding_mode != "zeros":
            return ops.conv.conv2d(mode_padded(self, x), self.weight, self.bias, self.stride, 0, self.dilation,
                                   self.groups)
        return ops.conv.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution: weight (in, out / groups, kh, kw).

    Output size (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
    `forward(x, output_size=None)`: output_size (H, W) picks output_padding, as in PyTorch.

    Example:
        up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        up(tc.zeros((1, 16, 7, 7))).shape          # (1, 8, 14, 14)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        op = "ConvTranspose2d"
        in_channels, out_channels, self.kernel_size, self.stride, self.dilation, groups = _conv_args(
            op, in_channels, out_channels, kernel_size, stride, dilation, groups, padding_mode)
        self.padding = check.int_tuple(padding, "padding", op, minimum=0)
        self.output_padding = check.int_tuple(output_padding, "output_padding", op, minimum=0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ArgumentError(f"{op}: output_padding {self.output_padding} must be smaller than either stride "
                                f"{self.stride} or dilation {self.dilation}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        self.weight = _empty_parameter((in_channels, out_channels // groups) + self.kernel_size, device, dtype)
        if bias:
            self.bias = _empty_parameter((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def forward(self, x, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            want = tuple(int(s) for s in tuple(output_size)[-2:])
            base = tuple((x.shape[-2 + a] - 1) * self.stride[a] - 2 * self.padding[a]
                         + self.dilation[a] * (self.kernel_size[a] - 1) + 1 for a in (0, 1))
            output_padding = tuple(w - b for w, b in zip(want, base))
        return ops.conv.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                                         self.groups, self.dilation)


class MaxPool2d(Module):
    """Max pooling; stride defaults to kernel_size. return_indices=True returns (out, switches).

    Example:
        nn.MaxPool2d(3, stride=2)(tc.zeros((1, 96, 55, 55))).shape    # (1, 96, 27, 27): AlexNet's overlapping pool
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        _pool_args("MaxPool2d", kernel_size, stride, padding, dilation)
        check.flag(ceil_mode, "ceil_mode", "MaxPool2d")
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, \
            padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return ops.pool.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                   self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Average pooling; stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        _pool_args("AvgPool2d", kernel_size, stride, padding)
        check.flag(ceil_mode, "ceil_mode", "AvgPool2d")
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, \
            padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return ops.pool.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                   self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (PyTorch's bins); AdaptiveAvgPool2d(1) is global pooling."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        if isinstance(output_size, (tuple, list)) and len(output_size) != 2:
            raise ArgumentError(f"AdaptiveAvgPool2d: output_size must be an int or a pair, got {output_size}")
        for s in sizes:
            if s is not None or not isinstance(output_size, (tuple, list)):
                check.integer(s, "output_size", "AdaptiveAvgPool2d", minimum=1)
        self.output_size = output_size

    def forward(self, x):
        return ops.pool.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Inverse of MaxPool2d given its switches: forward(x, indices, output_size=None)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        _pool_args("MaxUnpool2d", kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, \
            padding

    def forward(self, x, indices, output_size=None):
        return ops.pool.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)


class LocalResponseNorm(Module):
    """Local response normalization across channels, PyTorch's convention (alpha is divided by size).

    The AlexNet paper's (k=2, n=5, alpha=1e-4, beta=0.75) is LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0).
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        op = "LocalResponseNorm"
        self.size = check.integer(size, "size", op, minimum=1)
        # NOTE: k > 0 keeps (k + alpha / n sum x^2)^-beta finite on an all-zero neighbourhood.
        self.alpha, self.beta = check.number(alpha, "alpha", op, low=0), check.number(beta, "beta", op)
        self.k = check.number(k, "k", op, low=0, low_open=True)

    def forward(self, x):
        return ops.norm.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class BatchNorm2d(BatchNorm1d):
    """Batch normalization over (N, C, H, W), per channel (statistics over N, H and W).

    Training: batch statistics, running stats updated with `momentum` (None: a cumulative average);
    eval: running statistics. Same parameters and buffers as BatchNorm1d.

    Example:
        bn = nn.BatchNorm2d(16)
        bn(tc.randn(8, 16, 5, 5)).shape           # (8, 16, 5, 5)
    """

    def _check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm2d({self.num_features}): expected input (N, {self.num_features}, H, W), "
                             f"got {x.shape}")

    def forward(self, x):
        self._check_input(x)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            self.num_batches_tracked._version += 1
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked._data)
        use_batch = self.training or not self.track_running_stats
        keep = self.track_running_stats
        return ops.norm.batch_norm(x, self.running_mean if keep else None, self.running_var if keep else None,
                                   self.weight, self.bias, training=use_batch,
                                   momentum=0.0 if momentum is None else momentum, eps=self.eps)


class Dropout2d(Module):
    """Zero whole channels with probability p during training (scaled by 1 / (1 - p)); identity in eval."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = check.number(p, "dropout probability p", "Dropout2d", low=0, high=1)
        self.inplace = check.flag(inplace, "inplace", "Dropout2d")

    def forward(self, x):
        if self.inplace and self.training and self.p > 0:
            from .functional import _in_place

            return _in_place(x, "dropout2d_", lambda t: ops.norm.dropout2d(t, self.p, True))
        return ops.norm.dropout2d(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
