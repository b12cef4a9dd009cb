"""torch.gradient (central differences, PyTorch's and NumPy's formulas), constant_pad_nd and
split_with_sizes_copy: compositions of slicing, arithmetic and padding (their gradients are theirs)."""

import numbers

from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .registry import register


def _edges(f, dim, n, first, last):
    from .joins import cat

    return cat([first.unsqueeze(dim), f, last.unsqueeze(dim)], dim)


def _uniform(f, dim, h, edge_order):
    n = f.shape[dim]
    at = lambda i: f.select(dim, i % n)  # noqa: E731
    center = (f.narrow(dim, 2, n - 2) - f.narrow(dim, 0, n - 2)) / (2 * h)
    if edge_order == 1:
        return _edges(center, dim, n, (at(1) - at(0)) / h, (at(-1) - at(-2)) / h)
    first = (4 * at(1) - 3 * at(0) - at(2)) / (2 * h)
    return _edges(center, dim, n, first, (3 * at(-1) - 4 * at(-2) + at(-3)) / (2 * h))


def _coordinates(f, dim, x, edge_order):
    n = f.shape[dim]
    shape = [1] * f.ndim
    shape[dim] = n - 2
    dx = x[1:] - x[:-1]
    dx1, dx2 = dx[:-1], dx[1:]
    a = (-dx2 / (dx1 * (dx1 + dx2))).reshape(shape)
    b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
    c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
    center = a * f.narrow(dim, 0, n - 2) + b * f.narrow(dim, 1, n - 2) + c * f.narrow(dim, 2, n - 2)
    x0, x1 = f.select(dim, 0), f.select(dim, 1)
    y0, y1 = f.select(dim, n - 1), f.select(dim, n - 2)
    if edge_order == 1:
        return _edges(center, dim, n, (x1 - x0) / dx[0], (y0 - y1) / dx[-1])
    d0, d1, e0, e1 = dx[0], dx[1], dx[-1], dx[-2]
    first = (-(2 * d0 + d1) / (d0 * (d0 + d1))) * x0 + ((d0 + d1) / (d0 * d1)) * x1 + \
        (-d0 / (d1 * (d0 + d1))) * f.select(dim, 2)
    last = (e0 / (e1 * (e0 + e1))) * f.select(dim, n - 3) + (-(e0 + e1) / (e0 * e1)) * y1 + \
        ((2 * e0 + e1) / (e0 * (e0 + e1))) * y0
    return _edges(center, dim, n, first, last)


@register("gradient")
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative estimate along each dim: central differences inside, one-sided (edge_order 1 or 2) at the
    ends; spacing a number, one per dim, or each dim's coordinates (1-D tensors). -> a tuple, one per dim."""
    op = "gradient"
    if edge_order not in (1, 2):
        raise ArgumentError(f"{op}: edge_order must be 1 or 2, got {edge_order}")
    dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [d % input.ndim if input.ndim else d for d in dims]
    if spacing is None:
        spacing = 1
    if isinstance(spacing, (numbers.Number, Tensor)) and not (isinstance(spacing, Tensor) and spacing.ndim):
        spacing = [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        raise ArgumentError(f"{op}: spacing has {len(spacing)} entries for {len(dims)} dims")
    out = []
    for d, h in zip(dims, spacing):
        n = input.shape[d]
        if n < edge_order + 1:
            raise ShapeError(f"{op}: each dim needs at least edge_order + 1 = {edge_order + 1} values; dim {d} of "
                             f"shape {tuple(input.shape)} has {n}")
        if isinstance(h, Tensor) and h.ndim == 1:
            if h.shape[0] != n:
                raise ShapeError(f"{op}: coordinates of length {h.shape[0]} for dim {d} of size {n}")
            out.append(_coordinates(input, d, h, edge_order))
        else:
            out.append(_uniform(input, d, h.item() if isinstance(h, Tensor) else h, edge_order))
    return tuple(out)


@register("constant_pad_nd")
def constant_pad_nd(input, pad, value=0):
    """F.pad in constant mode (negative widths crop)."""
    from .padding import pad as functional_pad

    return functional_pad(input, pad, value=value)


@register("split_with_sizes_copy")
def split_with_sizes_copy(input, split_sizes, dim=0):
    """split_with_sizes, each piece in new memory."""
    from .copies import split_with_sizes

    return tuple(p.clone() for p in split_with_sizes(input, split_sizes, dim))
