"""1-D and 3-D pooling and the adaptive pools (torch.nn.functional's), built on the 2-D pools.

Max and average pooling over a box are separable: pooling H and W (one 2-D pool), then D (a 2-D pool
with a (kd, 1) window) gives the 3-D pool, divisors included (each a product of per-axis counts, in
ceil mode and with count_include_pad=False too). The adaptive bins along an axis of length n are
[floor(i n / out), ceil((i + 1) n / out)), PyTorch's.
"""

import itertools

import numpy as np

from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import _make
from .conv_nd import _batched, _ints
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .registry import register


@register("max_pool1d")
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of (N, C, L); indices are positions along L."""
    op = "max_pool1d"
    x, unbatched = _batched(op, input, 1)
    (k,), (p,), (d,) = _ints(op, "kernel_size", kernel_size, 1), _ints(op, "padding", padding, 1), \
        _ints(op, "dilation", dilation, 1)
    (s,) = (k,) if stride is None or stride == () else _ints(op, "stride", stride, 1)
    out = max_pool2d(x.unsqueeze(2), (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    if return_indices:
        y, idx = out[0].squeeze(2), out[1].squeeze(2)
        return (y.squeeze(0), idx.squeeze(0)) if unbatched else (y, idx)
    y = out.squeeze(2)
    return y.squeeze(0) if unbatched else y


@register("avg_pool1d")
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of (N, C, L)."""
    op = "avg_pool1d"
    x, unbatched = _batched(op, input, 1)
    (k,), (p,) = _ints(op, "kernel_size", kernel_size, 1), _ints(op, "padding", padding, 1)
    (s,) = (k,) if stride is None or stride == () else _ints(op, "stride", stride, 1)
    y = avg_pool2d(x.unsqueeze(2), (1, k), (1, s), (0, p), ceil_mode, count_include_pad).squeeze(2)
    return y.squeeze(0) if unbatched else y


def _three(op, kernel_size, stride, padding, dilation=1):
    kernel = _ints(op, "kernel_size", kernel_size, 3)
    stride = kernel if stride is None or stride == () else _ints(op, "stride", stride, 3)
    return kernel, stride, _ints(op, "padding", padding, 3), _ints(op, "dilation", dilation, 3)


def _pool3d(x, pool_hw, pool_d):
    """pool_hw over each depth slice's (H, W), then pool_d over (D, OH * OW)."""
    n, c, depth, h, w = x.shape
    y = pool_hw(x.reshape(n, c * depth, h, w))
    oh, ow = y.shape[2:]
    y = pool_d(y.reshape(n, c, depth, oh * ow))
    return y.reshape(n, c, y.shape[2], oh, ow)


@register("max_pool3d")
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kd x kh x kw windows of (N, C, D, H, W); indices are flat positions d H W + h W + w."""
    op = "max_pool3d"
    x, unbatched = _batched(op, input, 3)
    k, s, p, d = _three(op, kernel_size, stride, padding, dilation)
    n, c, depth, h, w = x.shape
    # H and W first (per depth slice), then D over the pooled planes: the first maximum in (d, h, w) order wins
    y, hw = max_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], p[1:], d[1:], ceil_mode, True)
    oh, ow = y.shape[2:]
    y, dd = max_pool2d(y.reshape(n, c, depth, oh * ow), (k[0], 1), (s[0], 1), (p[0], 0), (d[0], 1), ceil_mode, True)
    y = y.reshape(n, c, y.shape[2], oh, ow)
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    xp = x.device.backend.xp
    depth_of = dd._data // (oh * ow)  # (N, C, OD, OH * OW): the depth slice of each maximum
    within = xp.take_along_axis(hw._data.reshape(n, c, depth, oh * ow), depth_of, axis=2)
    idx = (depth_of * (h * w) + within).reshape(y.shape if not unbatched else (1,) + tuple(y.shape))
    return y, _make(idx[0] if unbatched else idx, x.device, False, None)


@register("avg_pool3d")
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kd x kh x kw windows of (N, C, D, H, W) (divisor_override: each window's sum over that int)."""
    op = "avg_pool3d"
    x, unbatched = _batched(op, input, 3)
    k, s, p, _ = _three(op, kernel_size, stride, padding)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) or divisor_override == 0:
            raise ArgumentError(f"{op}: divisor_override must be a nonzero int, got {divisor_override!r}")
        y = _pool3d(x, lambda t: avg_pool2d(t, k[1:], s[1:], p[1:], ceil_mode, True, 1),
                    lambda t: avg_pool2d(t, (k[0], 1), (s[0], 1), (p[0], 0), ceil_mode, True, 1)) / divisor_override
    else:
        y = _pool3d(x, lambda t: avg_pool2d(t, k[1:], s[1:], p[1:], ceil_mode, count_include_pad),
                    lambda t: avg_pool2d(t, (k[0], 1), (s[0], 1), (p[0], 0), ceil_mode, count_include_pad))
    return y.squeeze(0) if unbatched else y


def _sizes(op, output_size, shape):
    """output_size (an int, or one entry per pooled dim, None keeping that size) against the pooled dims."""
    n = len(shape)
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * n
    if len(sizes) != n:
        raise ArgumentError(f"{op}: output_size must be an int or {n} values, got {output_size!r}")
    sizes = tuple(shape[i] if s is None else _ints(op, "output_size", s, 1)[0] for i, s in enumerate(sizes))
    if min(sizes) < 1:
        raise ShapeError(f"{op}: output_size must be positive, got {sizes}")
    return sizes


@register("adaptive_avg_pool1d")
def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) to a fixed length, PyTorch's bins."""
    op = "adaptive_avg_pool1d"
    x, unbatched = _batched(op, input, 1)
    (size,) = _sizes(op, output_size, x.shape[2:])
    y = adaptive_avg_pool2d(x.unsqueeze(2), (1, size)).squeeze(2)
    return y.squeeze(0) if unbatched else y


@register("adaptive_avg_pool3d")
def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) to a fixed (OD, OH, OW), PyTorch's bins."""
    op = "adaptive_avg_pool3d"
    x, unbatched = _batched(op, input, 3)
    od, oh, ow = _sizes(op, output_size, x.shape[2:])
    y = _pool3d(x, lambda t: adaptive_avg_pool2d(t, (oh, ow)), lambda t: adaptive_avg_pool2d(t, (od, t.shape[3])))
    return y.squeeze(0) if unbatched else y


def _adaptive_max_indices(x, sizes):
    """The flat position (in each (n, c) plane) of the first maximum of every adaptive bin, as an int64 array."""
    xp = x.device.backend.xp
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    bins = [[((i * m) // o, -((-(i + 1) * m) // o)) for i in range(o)] for m, o in zip(spatial, sizes)]
    plane_strides = [int(np.prod(spatial[a + 1:])) for a in range(len(spatial))]
    out = xp.empty((n, c) + tuple(sizes), dtype=np.int64)
    for cell in itertools.product(*[range(o) for o in sizes]):
        box = [bins[a][i] for a, i in enumerate(cell)]
        block = x._data[(slice(None), slice(None)) + tuple(slice(lo, hi) for lo, hi in box)]
        local = xp.argmax(block.reshape(n, c, -1), axis=-1)  # NOTE: first maximum in scan order, as PyTorch
        flat = xp.zeros_like(local)
        for a, (lo, hi) in enumerate(box):
            inner = int(np.prod([b[1] - b[0] for b in box[a + 1:]]))
            flat += (lo + (local // inner) % (hi - lo)) * plane_strides[a]
        out[(slice(None), slice(None)) + cell] = flat
    return out


def _adaptive_max(op, input, output_size, return_indices, ndim):
    """The max of each adaptive bin: a gather at its first maximum (the gradient goes there alone, as PyTorch)."""
    from .pool import GatherPlanes

    x, unbatched = _batched(op, input, ndim)
    if x.dtype.kind not in "fV":
        raise DTypeError(f"{op}: needs a floating tensor, got {x.dtype}")
    sizes = _sizes(op, output_size, x.shape[2:])
    if 0 in x.shape[2:]:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} has an empty pooled dimension")
    n, c = x.shape[:2]
    idx = _adaptive_max_indices(x, sizes)
    y = GatherPlanes.apply(x.reshape(n, c, 1, -1), indices=idx.reshape(n, c, 1, -1)).reshape(n, c, *sizes)
    if unbatched:
        y, idx = y.squeeze(0), idx[0]
    return (y, _make(idx, x.device, False, None)) if return_indices else y


@register("adaptive_max_pool1d")
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) to a fixed length, PyTorch's bins."""
    return _adaptive_max("adaptive_max_pool1d", input, output_size, return_indices, 1)


@register("adaptive_max_pool2d")
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) to a fixed (OH, OW), PyTorch's bins."""
    return _adaptive_max("adaptive_max_pool2d", input, output_size, return_indices, 2)


@register("adaptive_max_pool3d")
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling of (N, C, D, H, W) to a fixed (OD, OH, OW), PyTorch's bins."""
    return _adaptive_max("adaptive_max_pool3d", input, output_size, return_indices, 3)
