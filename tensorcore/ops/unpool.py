"""max_unpool1d / 2d / 3d (torch.nn.functional's): each value written back at its max pool switch.

As PyTorch: out.flat[indices[n, c, p]] = x[n, c, p] in each (n, c) plane, zeros elsewhere; where a switch
repeats (overlapping windows), one of the values is written (they are the same maximum), not their sum.
The backward is PyTorch's too: every input position gets g at its switch (a gather), whose own backward is
the scatter-add.
"""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from .conv_nd import _batched, _ints
from .registry import register


class UnpoolPlanes(Function):
    """zeros(shape) with x[n, c, p] written at plane position indices[n, c, p]; backward gathers g there."""

    op_name = "max_unpool"

    @staticmethod
    def forward(ctx, x, indices, shape):
        xp = ctx.backend.xp
        planes = shape[0] * shape[1]
        ctx.indices = indices
        out = xp.zeros((planes, int(np.prod(shape[2:]))), dtype=x.dtype)
        rows = xp.arange(planes)[:, None]
        out[rows, indices.reshape(planes, -1)] = x.reshape(planes, -1)
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        from .pool import GatherPlanes

        n, c = g.shape[:2]
        idx = ctx.indices.reshape(n, c, 1, -1)
        return GatherPlanes.apply(g.reshape(n, c, 1, -1), indices=idx).reshape(ctx.indices.shape)


def max_unpool(op, input, indices, kernel_size, stride, padding, output_size, nd):
    """The n-d unpool: output (L - 1) stride - 2 padding + kernel per dim, or output_size (its last nd entries)."""
    if not isinstance(input, Tensor):
        raise ArgumentError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.dtype.kind not in "fV":
        raise DTypeError(f"{op}: needs a floating tensor, got {input.dtype}")
    x, unbatched = _batched(op, input, nd)
    kernel = _ints(op, "kernel_size", kernel_size, nd)
    stride = kernel if stride is None or stride == () or stride == [] else _ints(op, "stride", stride, nd)
    padding = _ints(op, "padding", padding, nd)
    idx = indices._data if isinstance(indices, Tensor) else x.device.backend.asarray(indices)
    if unbatched:
        idx = idx[None]
    if tuple(idx.shape) != tuple(x.shape):
        raise ShapeError(f"{op}: indices of shape {tuple(indices.shape)} for input of shape {tuple(input.shape)}")
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{op}: indices must be integers, got {idx.dtype}")
    default = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a] for a in range(nd))
    if output_size is None:
        size = default
    else:
        given = tuple(int(s) for s in output_size)
        if len(given) not in (nd, nd + 2):
            raise ArgumentError(f"{op}: output_size must have {nd} or {nd + 2} elements, got {given}")
        size = given[-nd:]
        low = tuple(d - s for d, s in zip(default, stride))
        high = tuple(d + s for d, s in zip(default, stride))
        if not all(lo < s < hi for lo, s, hi in zip(low, size, high)):
            raise ShapeError(f"{op}: output_size {size} is not between {low} and {high} (exclusive)")
    if min(size) < 1:
        raise ShapeError(f"{op}: the output size {size} must be positive (input {tuple(input.shape)})")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= int(np.prod(size))):
        raise ShapeError(f"{op}: an index is out of range for the output size {size}")
    y = UnpoolPlanes.apply(x, indices=idx, shape=tuple(x.shape[:2]) + size)
    return y.squeeze(0) if unbatched else y


@register("max_unpool1d")
def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d over (N, C, L): each value back at its switch, zeros elsewhere."""
    return max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size, 1)


@register("max_unpool3d")
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool3d over (N, C, D, H, W): each value back at its switch, zeros elsewhere."""
    return max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding, output_size, 3)
