"""Pooling over NCHW input: max_pool2d (with PyTorch-style indices), avg_pool2d, adaptive_avg_pool2d,
max_unpool2d.

Every pooling here is linear once its switches are fixed, so each backward is again a pooling-like
op and all of them differentiate twice:
  max pool     = gather(x, indices)          its backward: scatter(g, indices)   and back again
  avg pool     = A x                          its backward: A^T g                  and back again
Indices are PyTorch's: the flat position h * W + w of each maximum in its (n, c) input plane.
"""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor, _make
from .conv import _batched, _pair, out_size
from .registry import register


def _one(value):
    """PyTorch's pools take a one-element sequence for both dimensions."""
    return value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value


def _pool_args(op, kernel_size, stride, padding, dilation=1):
    kernel_size, stride, padding, dilation = _one(kernel_size), _one(stride), _one(padding), _one(dilation)
    kernel = _pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair(op, "stride", stride)
    padding, dilation = _pair(op, "padding", padding), _pair(op, "dilation", dilation)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ShapeError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be >= 1")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ShapeError(f"{op}: padding {padding} must be between 0 and half the kernel size {kernel}")
    return kernel, stride, padding, dilation


def _pool_output(op, x_shape, kernel, stride, padding, dilation=(1, 1)):
    out = tuple(out_size(x_shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]) for a in (0, 1))
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {kernel[0]}x{kernel[1]} (dilation {dilation}) is larger than the padded "
                         f"input {x_shape[2] + 2 * padding[0]}x{x_shape[3] + 2 * padding[1]} "
                         f"(input {tuple(x_shape)}, padding {padding})")
    return out


def _check_input(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fV":  # 'V': bfloat16 (dtypes.FLOAT_KINDS)
        raise DTypeError(f"{op}: needs a floating tensor, got {x.dtype}")
    return _batched(op, x)


def _ceil_extra(x_shape, kernel, stride, padding, dilation=(1, 1)):
    """ceil_mode: the rows and columns to add at the bottom and right so floor mode gives PyTorch's ceil-mode
    output size, ceil((L + 2p - d(k - 1) - 1) / s) + 1, less one when the last window would start past the
    input and its left padding."""
    extra = []
    for a in (0, 1):
        n, k, s, p, d = x_shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]
        span = n + 2 * p - d * (k - 1) - 1
        out = -(-span // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        extra.append(max((out - 1) * s - span, 0))
    return tuple(extra)


def _pad_bottom_right(x, extra, value):
    from .shape import pad

    return pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), value=value)


# --- max pooling: gather by switches, scatter back -------------------------------------------------


class MaxPool2d(Function):
    """The max of each window. forward receives the pooled values and their switches, computed once
    by the backend; backward scatters g to the switches."""

    op_name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, pooled, indices, unique):
        ctx.save_for_backward(indices)
        ctx.x_shape, ctx.unique = x.shape, unique
        return pooled

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        return ScatterPlanes.apply(g, indices=indices._data, shape=ctx.x_shape, unique=ctx.unique)


class GatherPlanes(Function):
    """out[n, c, p] = x[n, c].flat[indices[n, c, p]]: linear in x; its backward is ScatterPlanes."""

    op_name = "gather_planes"

    @staticmethod
    def forward(ctx, x, indices):
        ctx.save_for_backward(indices)
        ctx.x_shape = x.shape
        n, c = x.shape[:2]
        xp = ctx.backend.xp
        flat = xp.take_along_axis(x.reshape(n * c, -1), indices.reshape(n * c, -1), axis=1)
        return flat.reshape(indices.shape)

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        return ScatterPlanes.apply(g, indices=indices._data, shape=ctx.x_shape, unique=False)


class ScatterPlanes(Function):
    """zeros(shape) with g[n, c, p] added at plane position indices[n, c, p] (max pool's backward,
    max_unpool2d's forward); its backward is GatherPlanes."""

    op_name = "scatter_planes"

    @staticmethod
    def forward(ctx, g, indices, shape, unique):
        ctx.save_for_backward(indices)
        return ctx.backend.max_pool2d_backward(g, indices, shape, unique)

    @staticmethod
    def backward(ctx, gg):
        (indices,) = ctx.saved_tensors
        return GatherPlanes.apply(gg, indices=indices._data)


@register("max_pool2d")
def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kh x kw windows (PyTorch's max_pool2d); stride defaults to the kernel size.

    Overlapping pooling (AlexNet's kernel 3, stride 2) is fine. Padding counts as -inf and may be at
    most half the kernel. With return_indices=True also returns the switches: int64 (N, C, OH, OW),
    the flat position h * W + w of each maximum in its input plane (for max_unpool2d).
    # NOTE: on ties the first maximum in scan order wins and gets the whole gradient.

    Example:
        y, idx = tc.nn.functional.max_pool2d(tc.randn(1, 3, 8, 8), 2, return_indices=True)  # (1, 3, 4, 4)
    """
    op = "max_pool2d"
    x, unbatched = _check_input(op, x)
    kernel, stride, padding, dilation = _pool_args(op, kernel_size, stride, padding, dilation)
    _pool_output(op, x.shape, kernel, stride, padding, dilation)
    extra = _ceil_extra(x.shape, kernel, stride, padding, dilation) if ceil_mode else (0, 0)
    width = x.shape[3]
    if any(extra):  # windows past the end see -inf, never a maximum
        x = _pad_bottom_right(x, extra, -np.inf)
    pooled, indices = x.device.backend.max_pool2d_forward(x._data, kernel, stride, padding, dilation)
    unique = all(stride[a] >= dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1))
    y = MaxPool2d.apply(x, pooled=pooled, indices=indices, unique=unique)
    if any(extra):  # the switches returned: positions in the unpadded plane
        indices = (indices // x.shape[3]) * width + indices % x.shape[3]
    if unbatched:
        y, indices = y.squeeze(0), indices[0]
    if return_indices:
        return y, _make(indices, x.device, False, None)
    return y


@register("max_unpool2d")
def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: each value goes back to its switch, zeros elsewhere.

    Output size (H - 1) stride - 2 padding + kernel, or `output_size` ((H, W) or a full shape). Where a
    switch repeats, one of its (equal) values is written, as PyTorch; the gradient gathers g at each switch.
    Used by the deconvnet visualization.

    Example:
        y, idx = tc.nn.functional.max_pool2d(x, 2, return_indices=True)
        x_hat = tc.nn.functional.max_unpool2d(y, idx, 2)       # x's shape, maxima in place
    """
    from .unpool import max_unpool

    return max_unpool("max_unpool2d", x, indices, kernel_size, stride, padding, output_size, 2)


# --- average pooling ------------------------------------------------------------------------------


class AvgPool2d(Function):
    """y = A x, the mean of each window; backward A^T g (AvgPool2dBackward), whose backward is A again."""

    op_name = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, geometry):
        ctx.x_shape, ctx.geometry = x.shape, geometry
        return ctx.backend.avg_pool2d_forward(x, *geometry)

    @staticmethod
    def backward(ctx, g):
        return AvgPool2dBackward.apply(g, x_shape=ctx.x_shape, geometry=ctx.geometry)


class AvgPool2dBackward(Function):
    op_name = "avg_pool2d_backward"

    @staticmethod
    def forward(ctx, g, x_shape, geometry):
        ctx.geometry = geometry
        return ctx.backend.avg_pool2d_backward(g, x_shape, *geometry)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2d.apply(gg, geometry=ctx.geometry)


@register("avg_pool2d")
def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Mean over kh x kw windows (PyTorch's avg_pool2d); stride defaults to the kernel size.

    Zero padding; with count_include_pad=False the padded cells are left out of each mean; with an int
    divisor_override each window's sum is divided by it instead.

    Example:
        tc.nn.functional.avg_pool2d(tc.ones((1, 1, 4, 4)), 2).shape == (1, 1, 2, 2)
    """
    op = "avg_pool2d"
    x, unbatched = _check_input(op, x)
    kernel, stride, padding, _ = _pool_args(op, kernel_size, stride, padding)
    _pool_output(op, x.shape, kernel, stride, padding)
    extra = _ceil_extra(x.shape, kernel, stride, padding) if ceil_mode else (0, 0)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override == 0:
            raise ArgumentError(f"{op}: divisor_override must be a nonzero int, got {divisor_override!r}")
        padded = _pad_bottom_right(x, extra, 0.0) if any(extra) else x
        mean = AvgPool2d.apply(padded, geometry=(kernel, stride, padding, True))  # sum / (kh kw), zeros padded
        y = mean * (kernel[0] * kernel[1] / int(divisor_override))
    elif any(extra):
        # NOTE: as PyTorch, a window's divisor counts the cells inside input + padding only (never the
        # ceil-mode overhang), and only the input's cells when count_include_pad=False.
        size = x.shape[2:]
        total = AvgPool2d.apply(_pad_bottom_right(x, extra, 0.0), geometry=(kernel, stride, padding, True))
        divisor = _ceil_divisors(size, total.shape[2:], kernel, stride, padding, bool(count_include_pad))
        y = total * _make(x.device.backend.from_host((kernel[0] * kernel[1] / divisor).astype(x.dtype)), x.device,
                          False, None)
    else:
        y = AvgPool2d.apply(x, geometry=(kernel, stride, padding, bool(count_include_pad)))
    return y.squeeze(0) if unbatched else y


def _ceil_divisors(size, out, kernel, stride, padding, count_include_pad):
    """(OH, OW) cell counts of PyTorch's avg_pool2d divisors in ceil mode."""
    counts = []
    for a in (0, 1):
        start = np.arange(out[a]) * stride[a] - padding[a]
        end = np.minimum(start + kernel[a], size[a] + padding[a])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size[a])
        counts.append(end - start)
    return np.outer(counts[0], counts[1]).astype(np.float64)


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix: row i averages [floor(i size / out), ceil((i + 1) size / out))."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        lo, hi = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


@register("adaptive_avg_pool2d")
def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed (OH, OW) whatever the input size, with PyTorch's bins.

    Bin i along an axis of length n covers [floor(i n / out), ceil((i + 1) n / out)). output_size is an
    int or a pair; None in the pair keeps that input size. When the sizes divide this is avg_pool2d
    with kernel = stride = n / out; otherwise two small averaging matrices: A_h x A_w^T.

    Example:
        tc.nn.functional.adaptive_avg_pool2d(tc.randn(2, 8, 7, 7), 1).shape == (2, 8, 1, 1)   # global pooling
    """
    op = "adaptive_avg_pool2d"
    x, unbatched = _check_input(op, x)
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ShapeError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        size = tuple(x.shape[2 + a] if output_size[a] is None else int(output_size[a]) for a in (0, 1))
    else:
        size = (int(output_size), int(output_size))
    if min(size) < 1:
        raise ShapeError(f"{op}: output_size must be positive, got {size}")
    h, w = x.shape[2:]
    if size == (h, w):
        y = x
    elif size == (1, 1):
        y = x.mean(axis=(2, 3), keepdims=True)
    elif h % size[0] == 0 and w % size[1] == 0:
        k = (h // size[0], w // size[1])
        y = AvgPool2d.apply(x, geometry=(k, k, (0, 0), True))
    else:
        be = x.device.backend
        ah = _make(be.from_host(_adaptive_matrix(h, size[0], x.dtype)), x.device, False, None)
        awt = _make(be.from_host(_adaptive_matrix(w, size[1], x.dtype).T.copy()), x.device, False, None)
        y = (ah @ x) @ awt
    return y.squeeze(0) if unbatched else y
