"""The rest of PyTorch's shape and reduction names: the *_copy variants of the view ops (the same values in
new memory), split_with_sizes, unsafe_split, unsafe_chunk, sum_to_size, trapz, nonzero_static, histogram,
renorm, linalg.diagonal, Tensor.H, and the in-place shape ops t_, transpose_, swapaxes_, swapdims_,
squeeze_, unsqueeze_."""

from collections import namedtuple

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, _make, attach_method
from .registry import register


def _copy_of(name, view):
    """name_copy(input, ...) = view(input, ...) in new memory (differentiable, like clone)."""

    def fn(input, *args, **kwargs):
        out = view(input, *args, **kwargs)
        return tuple(o.clone() for o in out) if isinstance(out, tuple) else out.clone()

    fn.__name__ = fn.__qualname__ = name + "_copy"
    fn.__doc__ = f"{name}(...) as a new tensor that shares no memory with the input."
    return register(name + "_copy")(fn)


def _views():
    from .joins import unbind, unfold
    from .layout import diagonal
    from .shape import expand, permute, reshape, squeeze, t, transpose, unsqueeze, view

    return {"alias": lambda x: reshape(x, tuple(x.shape)), "diagonal": diagonal, "expand": expand, "permute": permute,
            "squeeze": squeeze, "t": t, "transpose": transpose, "unbind": unbind, "unsqueeze": unsqueeze,
            "view": view, "unfold": unfold}


COPIES = {name: _copy_of(name, fn) for name, fn in _views().items()}
alias_copy, diagonal_copy, expand_copy = COPIES["alias"], COPIES["diagonal"], COPIES["expand"]
permute_copy, squeeze_copy, t_copy = COPIES["permute"], COPIES["squeeze"], COPIES["t"]
transpose_copy, unbind_copy, unsqueeze_copy = COPIES["transpose"], COPIES["unbind"], COPIES["unsqueeze"]
view_copy, unfold_copy = COPIES["view"], COPIES["unfold"]


@register("split_with_sizes", method=True)
def split_with_sizes(input, split_sizes, dim=0):
    """split(input, split_sizes, dim) with a list of sizes."""
    from .joins import split

    if not isinstance(split_sizes, (list, tuple)):
        raise ArgumentError(f"split_with_sizes: split_sizes must be a list of ints, got {split_sizes!r}")
    return split(input, list(split_sizes), dim)


@register("unsafe_split", method=True)
def unsafe_split(input, split_size, dim=0):
    """split(input, split_size, dim) (the pieces are views here too; nothing is unsafe)."""
    from .joins import split

    return split(input, split_size, dim)


@register("unsafe_chunk", method=True)
def unsafe_chunk(input, chunks, dim=0):
    """chunk(input, chunks, dim)."""
    from .joins import chunk

    return chunk(input, chunks, dim)


@register("sum_to_size", method=True)
def sum_to_size(input, *size):
    """input summed down to `size`, a shape input broadcasts from (the reverse of expand)."""
    from .dims import sizes

    shape = sizes("sum_to_size", size)
    lead = input.ndim - len(shape)
    if lead < 0 or any(n != 1 and n != input.shape[lead + i] for i, n in enumerate(shape)):
        raise ShapeError(f"sum_to_size: size {shape} is not expandable to the input's {tuple(input.shape)}")
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and input.shape[lead + i] != 1)
    out = input.sum(axes, keepdim=True) if axes else input
    return out.reshape(shape)


@register("trapz")
def trapz(y, x=None, *, dx=None, dim=-1):
    """trapezoid(y, x, dx=dx, dim=dim) (PyTorch's older name)."""
    from .series import trapezoid

    return trapezoid(y, x, dx=dx, dim=dim)


@register("nonzero_static", method=True)
def nonzero_static(input, *, size, fill_value=-1):
    """nonzero(input) cut or padded (with fill_value) to exactly `size` rows."""
    from .masked import nonzero

    if not isinstance(size, int) or size < 0:
        raise ArgumentError(f"nonzero_static: size must be a non-negative int, got {size!r}")
    found = nonzero(input)._data
    xp = input.device.backend.xp
    out = xp.full((size, found.shape[1]), fill_value, dtype=np.int64)
    k = min(size, found.shape[0])
    out[:k] = found[:k]
    return _make(out, input.device, False, None)


histogram_result = namedtuple("histogram", "hist bin_edges")


@register("histogram", method=True)
def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """(hist, bin_edges): counts (or weighted sums, or a density) in `bins` equal bins over `range` (the data's
    range by default), or over the given bin edges (a 1-D tensor). No gradient."""
    if input.dtype.kind not in "fV":
        from ..errors import DTypeError

        raise DTypeError(f"histogram: expected a floating point tensor, got {input.dtype}")
    be = input.device.backend
    a = be.to_numpy(input._data).reshape(-1)
    edges_in = be.to_numpy(bins._data) if isinstance(bins, Tensor) else bins
    w = be.to_numpy(weight._data).reshape(-1) if weight is not None else None
    hist, edges = np.histogram(a, bins=edges_in, range=range, weights=w, density=density)
    dev = input.device
    return histogram_result(_make(be.from_host(hist.astype(input.dtype), copy=False), dev, False, None),
                            _make(be.from_host(edges.astype(input.dtype), copy=False), dev, False, None))


@register("renorm", method=True)
def renorm(input, p, dim, maxnorm):
    """Each slice along `dim` whose p-norm exceeds maxnorm scaled down to norm maxnorm (others unchanged)."""
    from .compare import where
    from .dims import one_dim
    from .stats import vector_norm

    d = one_dim("renorm", dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = vector_norm(input, p, others, keepdim=True)
    # NOTE: PyTorch divides by norm + 1e-7, so a slice at exactly maxnorm is scaled by a hair under 1.
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * scale


def _linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """linalg.diagonal: diagonal(A, offset, dim1, dim2) with the last two dims by default."""
    from .layout import diagonal

    return diagonal(A, offset, dim1, dim2)


linalg_diagonal = register("linalg.diagonal")(_linalg_diagonal)
attach_method("H", property(lambda self: self.t() if self.ndim == 2 else _h_error(self)))


def _h_error(t):
    raise ShapeError(f"H: the conjugate transpose needs a 2-D tensor, got {tuple(t.shape)}; use mH for batches")


def _inplace_view(name, fn):
    """t_(), transpose_(), squeeze_(), unsqueeze_() ...: self takes the shape of the view fn(self) (the same
    memory; no version bump, as in PyTorch, since no element changes)."""

    def method(self, *args, **kwargs):
        from ..errors import GradientError
        from ..grad_mode import modes

        if self.requires_grad and self._node is None and modes.grad_enabled:
            raise GradientError(f"{name}: a leaf tensor that requires grad cannot change shape in place while "
                                "recording; use the out-of-place op")
        result = fn(self, *args, **kwargs)
        self._data = result._data
        if result._node is not None:
            self._node = result._node
        return self

    method.__name__ = name
    return method


def _attach_inplace_views():
    from .shape import squeeze, swapaxes, swapdims, t, transpose, unsqueeze

    for name, fn in (("t_", t), ("transpose_", transpose), ("swapaxes_", swapaxes), ("swapdims_", swapdims),
                     ("squeeze_", squeeze), ("unsqueeze_", unsqueeze)):
        attach_method(name, _inplace_view(name, fn))


_attach_inplace_views()
