"""F.affine_grid and F.grid_sample (2-D, PyTorch's conventions), as compositions of Tensor ops: gradients
reach the input (through gather) and the grid (through the interpolation weights) by the ordinary engine.

    affine_grid:  grid[n, h, w] = theta[n] @ (x_w, y_h, 1), x and y in [-1, 1] (pixel centres unless
                  align_corners, then the corner pixels' centres are -1 and 1)
    grid_sample:  out[n, c, h, w] = input[n, c] sampled at grid[n, h, w] = (x, y), bilinearly or at the
                  nearest pixel; padding_mode 'zeros', 'border' or 'reflection' for points outside
"""

import numpy as np

from .. import _validate as check
from ..errors import ShapeError
from ..tensor import Tensor, _make


def _const(array, like):
    return _make(like.device.backend.from_host(np.ascontiguousarray(array, dtype=like.dtype), copy=False),
                 like.device, False, None)


def _base(n, align_corners):
    if align_corners:
        return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
    return (np.arange(n) * 2.0 + 1.0) / n - 1.0


def affine_grid(theta, size, align_corners=None):
    """Sampling grid (N, H, W, 2) of the affine maps theta (N, 2, 3) for an output of size (N, C, H, W)."""
    align_corners = bool(align_corners)
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise ShapeError(f"affine_grid: only 2-D sizes (N, C, H, W) are supported, got {size}")
    n, _, h, w = size
    if not isinstance(theta, Tensor) or theta.dtype.kind not in "fV" or tuple(theta.shape) != (n, 2, 3):
        raise ShapeError(f"affine_grid: theta must be a floating (N, 2, 3) = ({n}, 2, 3) tensor, got "
                         f"{getattr(theta, 'shape', type(theta).__name__)}")
    xs, ys = np.meshgrid(_base(w, align_corners), _base(h, align_corners))
    base = np.stack([xs, ys, np.ones_like(xs)], axis=-1).reshape(1, h * w, 3)
    grid = _const(base, theta) @ theta.transpose(1, 2)  # (N, H*W, 2)
    return grid.reshape(n, h, w, 2)


def _unnormalize(coord, size, align_corners):
    return (coord + 1) / 2 * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    from ..ops.compare import where

    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    coord = (coord - low).abs()
    flips = (coord.detach() / span).floor()
    extra = coord - flips * span
    even = (flips.remainder(2) == 0)
    return where(even, extra + low, span - extra + low)


def _clip(coord, size):
    """coord clamped to [0, size - 1]; NOTE: no gradient at or beyond the bounds (PyTorch's grid_sample rule,
    unlike clamp's, which passes it at the bounds)."""
    from ..ops.compare import where

    return where((coord > 0) & (coord < size - 1), coord, coord.detach().clamp(0, size - 1))


def _source(coord, size, padding_mode, align_corners):
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        coord = _clip(coord, size)
    elif padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
        coord = _clip(coord, size)
    return coord


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """input (N, C, H, W) sampled at grid (N, Ho, Wo, 2) of (x, y) in [-1, 1] -> (N, C, Ho, Wo)."""
    check.choice(mode, "mode", "grid_sample", ("bilinear", "nearest"))
    check.choice(padding_mode, "padding_mode", "grid_sample", ("zeros", "border", "reflection"))
    align_corners = bool(align_corners)
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ShapeError(f"grid_sample: expected input (N, C, H, W) and grid (N, Ho, Wo, 2), got "
                         f"{tuple(input.shape)} and {tuple(grid.shape)}")
    if grid.dtype != input.dtype:
        raise ShapeError(f"grid_sample: input ({input.dtype}) and grid ({grid.dtype}) must have one dtype")
    n, c, h, w = input.shape
    ho, wo = grid.shape[1], grid.shape[2]
    x = _source(grid[..., 0], w, padding_mode, align_corners)  # (N, Ho, Wo)
    y = _source(grid[..., 1], h, padding_mode, align_corners)
    flat = input.reshape(n, c, h * w)

    def corner(ix, iy):
        """input at integer pixels (ix, iy) (host index arrays), 0 outside, as (N, C, Ho, Wo)."""
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        index = np.where(inside, iy * w + ix, 0).reshape(n, 1, ho * wo)
        index = _make(input.device.backend.from_host(np.broadcast_to(index, (n, c, ho * wo)).astype(np.int64)),
                      input.device, False, None)
        values = flat.gather(2, index).reshape(n, c, ho, wo)
        return values * _const(inside.reshape(n, 1, ho, wo), input)

    xs = x.detach().cpu().numpy() if hasattr(x, "cpu") else x.detach().numpy()
    ys = y.detach().cpu().numpy() if hasattr(y, "cpu") else y.detach().numpy()
    if mode == "nearest":
        return corner(np.rint(xs).astype(np.int64), np.rint(ys).astype(np.int64))
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    wx1 = (x - _const(x0, x)).unsqueeze(1)  # (N, 1, Ho, Wo): the weights keep the grid's gradient
    wy1 = (y - _const(y0, y)).unsqueeze(1)
    wx0, wy0 = 1 - wx1, 1 - wy1
    return (corner(x0, y0) * wx0 * wy0 + corner(x0 + 1, y0) * wx1 * wy0 + corner(x0, y0 + 1) * wx0 * wy1
            + corner(x0 + 1, y0 + 1) * wx1 * wy1)
