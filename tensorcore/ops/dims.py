"""Dimension arguments as PyTorch takes them (`dim=`, `keepdim=`), with NumPy's `axis=` / `keepdims=`
accepted as aliases; one clear error when a dimension is out of range or given twice."""

import numpy as np

from ..errors import ArgumentError, ShapeError


def alias(op, value, numpy_value, name="dim", numpy_name="axis"):
    """PyTorch's argument, or NumPy's spelling of it; both given is an error."""
    if numpy_value is None:
        return value
    if value is not None and value is not False and value != ():
        raise ArgumentError(f"{op}: got both {name}= and its alias {numpy_name}=")
    return numpy_value


def is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def one_dim(op, dim, ndim):
    """One dimension index (negative counts from the end) -> 0 <= d < ndim; 0-d tensors take 0 and -1."""
    if not is_int(dim):
        raise ArgumentError(f"{op}: dim must be an int, got {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise ShapeError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions "
                         f"(expected in [{-n}, {n - 1}])")
    return int(dim) % n


def dims(op, dim, ndim, empty_means_all=True):
    """int, tuple/list or None -> a sorted tuple of distinct dims (None, and () when empty_means_all, mean all)."""
    if dim is None or (empty_means_all and isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    items = (dim,) if is_int(dim) else tuple(dim) if isinstance(dim, (tuple, list)) else None
    if items is None:
        raise ArgumentError(f"{op}: dim must be an int, a tuple of ints or None, got {dim!r}")
    out = [one_dim(op, d, ndim) for d in items]
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: dim {out[0]} appears more than once in {dim!r}")
    return tuple(sorted(d for d in out if ndim > 0))


def sizes(op, args):
    """`f(2, 3)`, `f((2, 3))` or `f([2, 3])` -> (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if hasattr(a, "item") and getattr(a, "ndim", 0) == 0:
            a = a.item()
        if not is_int(a):
            raise ArgumentError(f"{op}: sizes must be ints, got {args!r}")
        out.append(int(a))
    return tuple(out)
