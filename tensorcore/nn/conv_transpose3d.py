"""nn.ConvTranspose3d and F.conv_transpose3d (PyTorch's), built on conv_transpose2d as conv3d is built on conv2d.

The transposed convolution scatters each input depth plane z through each kernel depth slice i to the output
depth z * stride + i * dilation - padding:
    y[:, :, z s + i d - p] += conv_transpose2d(x[:, :, z], weight[:, :, i])    (over z and i)
so for every i the 2-D transposed convolution runs once on all the input planes (depths folded into the batch),
its planes are spread `stride` apart (zeros between) and shifted by i * dilation, and the sum is cropped by
`padding` (and extended by `output_padding`) in depth. Gradients, and their gradients, come from
conv_transpose2d's and the shape ops'.
"""

from ..errors import ArgumentError, ShapeError
from ..ops.conv import conv_transpose2d as _conv_transpose2d
from ..ops.conv_nd import _batched, _ints
from ..ops.registry import guard
from ..ops.shape import pad as _pad
from ..tensor import Tensor
from .conv_nd import _ConvModule


def _output_depths(op, depth, k, s, p, d, o):
    size = (depth - 1) * s - 2 * p + d * (k - 1) + o + 1
    if size < 1:
        raise ShapeError(f"{op}: input depth {depth} with kernel depth {k}, stride {s}, padding {p}, dilation {d} "
                         f"gives an empty output depth {size}")
    return size


def _conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    op = "conv_transpose3d"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise ArgumentError(f"{op}: input and weight must be Tensors, got {type(input).__name__} and "
                            f"{type(weight).__name__}")
    x, unbatched = _batched(op, input, 3)
    if weight.ndim != 5:
        raise ShapeError(f"{op}: weight must be 5-D (in_channels, out_channels / groups, kd, kh, kw), got shape "
                         f"{tuple(weight.shape)}")
    stride, padding, dilation = (_ints(op, name, v, 3) for name, v in (("stride", stride), ("padding", padding),
                                                                       ("dilation", dilation)))
    output_padding = _ints(op, "output_padding", output_padding, 3)
    if any(v < 1 for v in stride + dilation) or any(v < 0 for v in padding):
        raise ArgumentError(f"{op}: stride {stride} and dilation {dilation} must be >= 1, padding {padding} >= 0")
    for a in range(3):
        if not 0 <= output_padding[a] < max(stride[a], dilation[a]):
            raise ShapeError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} or "
                             f"dilation {dilation}")
    n, c, depth, h, w = x.shape
    if weight.shape[0] != c:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} has {c} channels but weight of shape "
                         f"{tuple(weight.shape)} expects {weight.shape[0]}")
    kd, s, p, d, o = weight.shape[2], stride[0], padding[0], dilation[0], output_padding[0]
    out_depth = _output_depths(op, depth, kd, s, p, d, o)
    full = (depth - 1) * s + d * (kd - 1) + 1 + o  # before the depth padding is cropped
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * depth, c, h, w)
    y = None
    for i in range(kd):
        part = _conv_transpose2d(planes, weight[:, :, i], None, stride[1:], padding[1:], output_padding[1:], groups,
                                 dilation[1:])
        o_ch, oh, ow = part.shape[1:]
        part = part.reshape(n, depth, 1, o_ch, oh, ow)
        if s > 1:  # spread the planes stride apart: zeros between
            part = _pad(part, ((0, 0), (0, 0), (0, s - 1), (0, 0), (0, 0), (0, 0)))
        part = part.reshape(n, depth * s, o_ch, oh, ow)[:, :(depth - 1) * s + 1]
        before = i * d
        part = _pad(part, ((0, 0), (before, full - before - part.shape[1]), (0, 0), (0, 0), (0, 0)))
        y = part if y is None else y + part
    y = y[:, p:p + out_depth].permute(0, 2, 1, 3, 4)
    if bias is not None:
        if not isinstance(bias, Tensor) or tuple(bias.shape) != (y.shape[1],):
            raise ShapeError(f"{op}: bias must have shape ({y.shape[1]},), got {tuple(getattr(bias, 'shape', ()))}")
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


_guarded = guard("conv_transpose3d", _conv_transpose3d)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose3d: input (N, C_in, D, H, W) or unbatched (C_in, D, H, W), weight
    (C_in, C_out / groups, kd, kh, kw); each output size (L - 1) stride - 2 padding + dilation (k - 1) +
    output_padding + 1."""
    return _guarded(input, weight, bias, stride, padding, output_padding, groups, dilation)


class ConvTranspose3d(_ConvModule):
    """torch.nn.ConvTranspose3d: weight (in, out / groups, kd, kh, kw); forward(input, output_size=None)."""

    dims, transposed = 3, True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            want = tuple(int(v) for v in tuple(output_size)[-3:])
            if len(want) != 3:
                raise ArgumentError(f"ConvTranspose3d: output_size must give 3 sizes, got {tuple(output_size)}")
            base = tuple((input.shape[-3 + a] - 1) * self.stride[a] - 2 * self.padding[a]
                         + self.dilation[a] * (self.kernel_size[a] - 1) + 1 for a in range(3))
            if any(not b <= v < b + st for v, b, st in zip(want, base, self.stride)):
                raise ShapeError(f"ConvTranspose3d: requested an output size of {want}, but valid sizes range from "
                                 f"{base} to {tuple(b + st - 1 for b, st in zip(base, self.stride))} (for an input "
                                 f"of {tuple(input.shape[-3:])})")
            output_padding = tuple(w - b for w, b in zip(want, base))
        return conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                self.groups, self.dilation)
