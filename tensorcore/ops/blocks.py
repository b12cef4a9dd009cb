"""Building matrices and index grids: diagflat, block_diag, cartesian_prod, tril_indices, triu_indices."""

import numpy as np

from ..device import device as as_device
from ..errors import ShapeError
from ..tensor import _make
from .joins import cat, stack
from .layout import diag, meshgrid
from .registry import register
from .shape import Pad, reshape


@register("diagflat", method=True)
def diagflat(input, offset=0):
    """The square matrix with the flattened input on diagonal `offset`."""
    return diag(reshape(input, -1), offset)


@register("block_diag")
def block_diag(*tensors):
    """The tensors (0-d: 1x1, 1-D: one row) placed along the diagonal of one matrix, zeros elsewhere."""
    mats = []
    for t in tensors:
        if t.ndim > 2:
            raise ShapeError(f"block_diag: inputs must have at most 2 dims, got {tuple(t.shape)}")
        mats.append(reshape(t, (1, 1) if t.ndim == 0 else (1, t.shape[0])) if t.ndim < 2 else t)
    if not mats:
        raise ShapeError("block_diag: needs at least one tensor")
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(Pad.apply(m, widths=((0, 0), (left, width - left - m.shape[1])), value=0))
        left += m.shape[1]
    return cat(rows, 0)


@register("cartesian_prod")
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, as rows (like itertools.product)."""
    for t in tensors:
        if t.ndim != 1:
            raise ShapeError(f"cartesian_prod: expects 1-D tensors, got {tuple(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([reshape(g, -1) for g in meshgrid(*tensors, indexing="ij")], 1)


def _indices(op, row, col, offset, dtype, device, upper):
    from ..dtypes import as_dtype

    dev = as_device(device)
    rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    out = np.stack([rows, cols]).astype(as_dtype(dtype) or np.int64)
    return _make(dev.backend.from_host(out, copy=False), dev, False, None)


@register("tril_indices")
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the lower triangle (on and below diagonal `offset`) of a row x col matrix."""
    return _indices("tril_indices", row, col, offset, dtype, device, False)


@register("triu_indices")
def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the upper triangle (on and above diagonal `offset`) of a row x col matrix."""
    return _indices("triu_indices", row, col, offset, dtype, device, True)
