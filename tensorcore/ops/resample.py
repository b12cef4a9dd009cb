"""pixel_shuffle / pixel_unshuffle and interpolate (nearest, bilinear), torch.nn.functional's.

All are gathers and fixed weighted sums of the input (reshape/permute, index_select and a
constant interpolation matrix), so their gradients and double gradients follow.
"""

import math
import operator

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..tensor import _make
from .registry import register


def _factor(op, name, value):
    try:
        r = operator.index(value)
    except TypeError:
        raise ArgumentError(f"{op}: {name} must be an int, got {type(value).__name__}") from None
    if r < 1:
        raise ArgumentError(f"{op}: {name} must be positive, got {r}")
    return r


@register("pixel_shuffle")
def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w]."""
    op = "pixel_shuffle"
    r = _factor(op, "upscale_factor", upscale_factor)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ShapeError(f"{op}: expected an input of at least 3 dims whose channels {input.shape[-3:-2]} are "
                         f"divisible by upscale_factor^2 = {r * r}, got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


@register("pixel_unshuffle")
def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle."""
    op = "pixel_unshuffle"
    r = _factor(op, "downscale_factor", downscale_factor)
    if input.ndim < 3 or input.shape[-1] % r or input.shape[-2] % r:
        raise ShapeError(f"{op}: expected an input of at least 3 dims with height and width divisible by "
                         f"downscale_factor = {r}, got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def _output_sizes(op, shape, size, scale_factor):
    n = len(shape)
    if (size is None) == (scale_factor is None):
        raise ArgumentError(f"{op}: either size or scale_factor should be defined (exactly one)")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * n
        if len(sizes) != n:
            raise ArgumentError(f"{op}: size {size} does not fit the {n} spatial dims of the input")
        return tuple(_factor(op, "size", s) for s in sizes), None
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * n
    if len(scales) != n or any(not (isinstance(s, (int, float)) and s > 0) for s in scales):
        raise ArgumentError(f"{op}: scale_factor {scale_factor} must be one positive number per spatial dim")
    return tuple(int(math.floor(d * float(s))) for d, s in zip(shape, scales)), tuple(float(s) for s in scales)


def _antialias_matrix(n_in, n_out, scale, align_corners, mode):
    """(n_out, n_in) weights of PyTorch's anti-aliased resize (PIL's): a triangle (bilinear) or a = -0.5 cubic
    filter, stretched by the downscale factor, each row normalized to sum 1."""
    if align_corners:
        ratio = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        ratio = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    support = (1.0 if mode == "bilinear" else 2.0) * (ratio if ratio >= 1 else 1.0)
    inv = 1.0 / ratio if ratio >= 1 else 1.0
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = ratio * (i + 0.5)
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
        t = np.abs((np.arange(lo, hi) - center + 0.5) * inv)
        if mode == "bilinear":
            w = np.maximum(1.0 - t, 0.0)
        else:
            a = -0.5
            far = np.where(t < 2, (((t - 5) * t + 8) * t - 4) * a, 0)
            w = np.where(t < 1, ((a + 2) * t - (a + 3)) * t * t + 1, far)
        total = w.sum()
        m[i, lo:hi] = w / total if total != 0 else w
    return m


def _nearest_index(n_in, n_out, scale, exact=False):
    """PyTorch's 'nearest': src = floor(dst * n_in / n_out) (or dst / scale when scale_factor is given);
    'nearest-exact': src = floor((dst + 0.5) * ratio)."""
    ratio = np.float32(1.0 / scale if scale is not None else n_in / n_out)
    dst = np.arange(n_out, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(dst * ratio).astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners):
    """(n_out, n_in) weights of PyTorch's linear interpolation along one axis."""
    out = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = out * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        ratio = 1.0 / scale if scale is not None else n_in / n_out
        src = np.maximum((out + 0.5) * ratio - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - frac
    m[np.arange(n_out), hi] += frac
    return m


def _cubic_matrix(n_in, n_out, scale, align_corners, A=-0.75):
    """(n_out, n_in) weights of PyTorch's bicubic interpolation along one axis (Keys' kernel, a = -0.75;
    the 4 taps clamped at the borders; source coordinates not clamped)."""
    out = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = out * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        ratio = 1.0 / scale if scale is not None else n_in / n_out
        src = (out + 0.5) * ratio - 0.5
    base = np.floor(src).astype(np.int64)
    t = src - base

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    m = np.zeros((n_out, n_in))
    for k, w in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t))):
        np.add.at(m, (np.arange(n_out), np.clip(base - 1 + k, 0, n_in - 1)), w)
    return m


@register("interpolate")
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, ...) input: mode 'nearest', 'nearest-exact', 'area' (1-3 spatial dims),
    'linear' (1), 'bilinear' or 'bicubic' (2), 'trilinear' (3), with PyTorch's source coordinates and align_corners."""
    from .index import index_select

    op = "interpolate"
    linear = {"linear": 1, "bilinear": 2, "trilinear": 3}
    linear = {**linear, "bicubic": 2}
    if mode not in ("nearest", "nearest-exact", "area") + tuple(linear):
        raise ArgumentError(f"{op}: mode {mode!r} is not supported (nearest, nearest-exact, area, linear, bilinear, "
                            "bicubic, trilinear)")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ArgumentError(f"{op}: anti-alias option is restricted to bilinear and bicubic modes, got {mode!r}")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ArgumentError(f"{op}: align_corners option can only be set with the interpolating modes: linear | "
                            "bilinear | bicubic | trilinear")
    spatial = input.ndim - 2
    if spatial < 1 or (mode in linear and linear[mode] != spatial):
        raise ShapeError(f"{op}: mode {mode!r} needs a {linear.get(mode, 1) + 2}-D input, got shape "
                         f"{tuple(input.shape)}")
    sizes, scales = _output_sizes(op, input.shape[2:], size, scale_factor)
    if recompute_scale_factor:
        scales = None
    if mode == "area":  # adaptive average pooling to the output size
        from . import pool, pool_nd

        fn = {1: pool_nd.adaptive_avg_pool1d, 2: pool.adaptive_avg_pool2d, 3: pool_nd.adaptive_avg_pool3d}
        if spatial not in fn:
            raise ShapeError(f"{op}: mode 'area' needs 1 to 3 spatial dims, got shape {tuple(input.shape)}")
        return fn[spatial](input, sizes)
    x = input
    for a in range(spatial):
        dim, n_in, n_out = 2 + a, input.shape[2 + a], sizes[a]
        scale = scales[a] if scales is not None else None
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n_in, n_out, scale, exact=mode == "nearest-exact")
            x = index_select(x, dim, _make(x.device.backend.from_host(idx), x.device, False, None))
        else:
            if antialias:
                m = _antialias_matrix(n_in, n_out, scale, bool(align_corners), mode).astype(x.dtype)
            else:
                build = _cubic_matrix if mode == "bicubic" else _linear_matrix
                m = build(n_in, n_out, scale, bool(align_corners)).astype(x.dtype)
            weights = _make(x.device.backend.from_host(m), x.device, False, None)
            x = (x.movedim(dim, -1) @ weights.transpose(0, 1)).movedim(-1, dim)
    return x
