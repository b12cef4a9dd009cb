"""unfold (im2col) and fold (col2im), torch.nn.functional's, as sums of strided slices and placements.

unfold: (N, C, H, W) -> (N, C kh kw, L), column l holding the (c, i, j) entries of the l-th window.
fold is its adjoint: each column's entries are added back at their window positions (overlaps sum).
"""

from ..errors import ArgumentError, ShapeError
from .conv_nd import _ints
from .registry import register


def _geometry(op, kernel_size, dilation, padding, stride):
    return (_ints(op, "kernel_size", kernel_size, 2), _ints(op, "dilation", dilation, 2),
            _ints(op, "padding", padding, 2), _ints(op, "stride", stride, 2))


def _blocks(op, size, kernel, dilation, padding, stride):
    out = tuple((size[a] + 2 * padding[a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1 for a in (0, 1))
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {kernel} (dilation {dilation}) does not fit the padded input "
                         f"{tuple(size[a] + 2 * padding[a] for a in (0, 1))}")
    return out


@register("unfold")
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding kh x kw windows of (N, C, H, W) (or (C, H, W)) as columns: (N, C kh kw, OH OW)."""
    from .joins import stack
    from .shape import pad

    op = "unfold"
    if input.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    kernel, dilation, padding, stride = _geometry(op, kernel_size, dilation, padding, stride)
    n, c, h, w = x.shape
    oh, ow = _blocks(op, (h, w), kernel, dilation, padding, stride)
    if any(padding):
        x = pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    parts = []
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r, q = i * dilation[0], j * dilation[1]
            parts.append(x[:, :, r:r + (oh - 1) * stride[0] + 1:stride[0], q:q + (ow - 1) * stride[1] + 1:stride[1]])
    y = stack(parts, 2).reshape(n, c * kernel[0] * kernel[1], oh * ow)
    return y if input.ndim == 4 else y.squeeze(0)


def _place(block, stride, offset, total):
    """block (N, C, OH, OW) spread with stride s (zeros between) and shifted to offset, in a (N, C, *total) frame."""
    from .shape import pad

    n, c, oh, ow = block.shape
    if stride != (1, 1):
        block = pad(block.reshape(n, c, oh, 1, ow, 1), ((0, 0), (0, 0), (0, 0), (0, stride[0] - 1), (0, 0),
                                                        (0, stride[1] - 1)))
        block = block.reshape(n, c, oh * stride[0], ow * stride[1])[:, :, :(oh - 1) * stride[0] + 1,
                                                                   :(ow - 1) * stride[1] + 1]
    span = block.shape[2:]
    return pad(block, ((0, 0), (0, 0), (offset[0], total[0] - offset[0] - span[0]),
                       (offset[1], total[1] - offset[1] - span[1])))


@register("fold")
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns (N, C kh kw, L) back to an (N, C, H, W) image, summing overlapping windows (unfold's adjoint)."""
    op = "fold"
    if input.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    x = input if input.ndim == 3 else input.unsqueeze(0)
    size = _ints(op, "output_size", output_size, 2)
    kernel, dilation, padding, stride = _geometry(op, kernel_size, dilation, padding, stride)
    oh, ow = _blocks(op, size, kernel, dilation, padding, stride)
    n, ck, length = x.shape
    k = kernel[0] * kernel[1]
    if ck % k:
        raise ShapeError(f"{op}: expected size of input's dimension 1 to be divisible by the product of kernel_size "
                         f"{k}, but got {ck}")
    if length != oh * ow:
        raise ShapeError(f"{op}: given output_size {size}, kernel_size {kernel}, dilation {dilation}, padding "
                         f"{padding}, stride {stride}, expected size of input's dimension 2 to be {oh * ow}, but got "
                         f"{length}")
    if any(s < 1 for s in size):
        raise ArgumentError(f"{op}: output_size must be positive, got {size}")
    c = ck // k
    cols = x.reshape(n, c, kernel[0], kernel[1], oh, ow)
    total = (size[0] + 2 * padding[0], size[1] + 2 * padding[1])
    y = None
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            part = _place(cols[:, :, i, j], stride, (i * dilation[0], j * dilation[1]), total)
            y = part if y is None else y + part
    y = y[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]
    return y if input.ndim == 3 else y.squeeze(0)
