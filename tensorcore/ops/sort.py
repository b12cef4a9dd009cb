"""Ordering: sort, argsort, topk, kthvalue, median, nanmedian, mode (named (values, indices) tuples whose
values are gathered from the input, so the gradient goes to the chosen elements), and searching and
counting: unique, searchsorted, bucketize, bincount.

NaN sorts as the largest value (ascending: last; descending: first), as in PyTorch.
"""

import numpy as np

from .. import return_types
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor, _make, tensor
from .dims import is_int, one_dim
from .gather import Gather
from .registry import register


def _sorted_indices(x, d, descending):
    """Stable argsort of x along d (NaN largest)."""
    xp = x.device.backend.xp
    a = x._data
    if descending:
        if a.dtype.kind in "fV":
            nan = xp.isnan(a)
            if bool(nan.any()):  # NaN first, then +inf: by -x, then (stably) by not-NaN
                by_value = xp.argsort(xp.where(nan, 0, -a), axis=d, kind="stable")
                not_nan = xp.take_along_axis(~nan, by_value, axis=d).astype(np.int8)
                return xp.take_along_axis(by_value, xp.argsort(not_nan, axis=d, kind="stable"), axis=d)
            a = -a
        elif a.dtype.kind == "b":
            a = ~a
        else:
            a = -a.astype(np.int64)
    return xp.argsort(a, axis=d, kind="stable")


def _int(x, a):
    return _make(a.astype(np.int64, copy=False), x.device, False, None)


def _values_indices(kind, x, d, idx, keepdim=True):
    values = Gather.apply(x, idx, dim=d) if x.ndim else x  # indices valid by construction: no checks
    if not keepdim and x.ndim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return getattr(return_types, kind)(values, idx)


@register("sort", method=True)
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of input sorted along `dim` (stable: equal elements keep their order)."""
    d = one_dim("sort", dim, input.ndim)
    if input.ndim == 0:
        return return_types.sort(input, _int(input, input.device.backend.xp.zeros((), dtype=np.int64)))
    return _values_indices("sort", input, d, _int(input, _sorted_indices(input, d, descending)))


@register("argsort", method=True)
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort input along `dim` (int64)."""
    d = one_dim("argsort", dim, input.ndim)
    if input.ndim == 0:
        return _int(input, input.device.backend.xp.zeros((), dtype=np.int64))
    return _int(input, _sorted_indices(input, d, descending))


def _no_bool(op, x):
    if isinstance(x, Tensor) and x.dtype.kind == "b":
        raise DTypeError(f"{op}: not implemented for bool tensors, as in PyTorch (sort, max and min take them)")


@register("topk", method=True)
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) elements along `dim`, in order: (values, indices)."""
    _no_bool("topk", input)
    d = one_dim("topk", dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not is_int(k) or not 0 <= k <= n:
        raise ShapeError(f"topk: k={k!r} is out of range for dim {d} of size {n}")
    if input.ndim == 0:
        return return_types.topk(input, _int(input, input.device.backend.xp.zeros((), dtype=np.int64)))
    idx = _sorted_indices(input, d, descending=largest)
    index = [slice(None)] * input.ndim
    index[d] = slice(0, k)
    return _values_indices("topk", input, d, _int(input, idx[tuple(index)]))


def _select(kind, x, dim, keepdim, position):
    """The element at sorted position `position(count_array)` along dim: kthvalue, median, nanmedian."""
    xp = x.device.backend.xp
    d = one_dim(kind, dim, x.ndim)
    if x.ndim == 0:
        return getattr(return_types, kind)(x, _int(x, xp.zeros((), dtype=np.int64)))
    if x.shape[d] == 0:
        raise ShapeError(f"{kind}: dim {d} of shape {tuple(x.shape)} is empty")
    idx_sorted = _sorted_indices(x, d, False)
    shape = list(x.shape)
    shape[d] = 1
    pos = position(shape)
    idx = xp.take_along_axis(idx_sorted, pos, axis=d)
    return _values_indices(kind, x, d, _int(x, idx), keepdim)


@register("kthvalue", method=True)
def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element (1-based) along `dim`: (values, indices)."""
    _no_bool("kthvalue", input)
    d = one_dim("kthvalue", dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not is_int(k) or not 1 <= k <= n:
        raise ShapeError(f"kthvalue: k={k!r} is out of range for dim {d} of size {n}")
    xp = input.device.backend.xp
    return _select("kthvalue", input, d, keepdim, lambda shape: xp.full(shape, k - 1, dtype=np.int64))


@register("median", method=True)
def median(input, dim=None, keepdim=False):
    """median(x): the lower median of all elements (ties share the gradient); median(x, dim): (values,
    indices) of the lower median along `dim`. A slice with a NaN gives NaN."""
    _no_bool("median", input)
    from .reduce import amax

    xp = input.device.backend.xp
    if dim is None:
        if input.numel() == 0 and input.dtype.kind in "fV":
            return _make(xp.full((), np.nan, dtype=input.dtype), input.device, False, None)  # as PyTorch
        if input.numel() == 0:
            raise ShapeError("median: empty tensor")
        flat = input.reshape(-1)
        m = median(flat, 0).values
        if input.dtype.kind in "fV" and bool(xp.isnan(input._data).any()):
            return m
        # NOTE: PyTorch's median() shares the gradient among all elements equal to the median: amax of
        # the masked tensor has that rule.
        from .compare import where

        if input.dtype.kind not in "fV":
            return m
        same = _make(input._data == m._data, input.device, False, None)
        return amax(where(same, input, m.detach() - 1))
    d = one_dim("median", dim, input.ndim)
    if input.ndim == 0 or input.shape[d] == 0:
        return _select("median", input, d, keepdim, None)
    shape = list(input.shape)
    shape[d] = 1
    idx = xp.take_along_axis(_sorted_indices(input, d, False), xp.full(shape, (input.shape[d] - 1) // 2), axis=d)
    if input.dtype.kind in "fV":
        nan = xp.isnan(input._data)
        if bool(nan.any()):
            idx = xp.where(nan.any(axis=d, keepdims=True), xp.argmax(nan, axis=d, keepdims=True), idx)
    return _values_indices("median", input, d, _int(input, idx), keepdim)


@register("nanmedian", method=True)
def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaNs (the lower median of the non-NaN elements); all-NaN slices give NaN."""
    _no_bool("nanmedian", input)
    xp = input.device.backend.xp
    if dim is None:
        if input.numel() == 0 and input.dtype.kind in "fV":
            return _make(xp.full((), np.nan, dtype=input.dtype), input.device, False, None)  # as PyTorch
        return nanmedian(input.reshape(-1), 0).values
    d = one_dim("nanmedian", dim, input.ndim)
    if input.ndim == 0:
        return _select("nanmedian", input, d, keepdim, None)
    kept = tuple(1 if i == d else n for i, n in enumerate(input.shape))
    count = xp.isnan(input._data).sum(axis=d, keepdims=True) if input.dtype.kind in "fV" else xp.zeros(kept, np.int64)
    valid = input.shape[d] - count
    return _select("nanmedian", input, d, keepdim, lambda shape: xp.maximum(valid - 1, 0) // 2)


@register("mode", method=True)
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along `dim` (the smallest of equally frequent ones) and its last index."""
    xp = input.device.backend.xp
    d = one_dim("mode", dim, input.ndim)
    if input.ndim == 0:
        return return_types.mode(input, _int(input, xp.zeros((), dtype=np.int64)))
    n = input.shape[d]
    if n == 0:
        raise ShapeError(f"mode: dim {d} of shape {tuple(input.shape)} is empty")
    idx = xp.moveaxis(_sorted_indices(input, d, False), d, -1)
    s = xp.take_along_axis(xp.moveaxis(input._data, d, -1), idx, axis=-1)
    # Run lengths in the sorted rows: the count reached at each position of its run of equal values.
    start = xp.ones(s.shape, dtype=bool)
    start[..., 1:] = s[..., 1:] != s[..., :-1]
    where_start = xp.where(start, xp.arange(n), 0)
    run_start = xp.maximum.accumulate(where_start, axis=-1)
    count = xp.arange(n) - run_start
    best = xp.argmax(count, axis=-1)[..., None]  # the first run to reach the top count: the smallest value
    chosen = xp.moveaxis(xp.take_along_axis(idx, best, axis=-1), -1, d)
    return _values_indices("mode", input, d, _int(input, chosen), keepdim)


@register("unique", method=True)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), and optionally the inverse indices and the counts; with dim, the
    distinct slices along dim. No gradient."""
    a = input.device.backend.to_numpy(input._data)
    if dim is None:
        # NOTE: every NaN is its own value, as in PyTorch (NumPy would merge them).
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        d = one_dim("unique", dim, input.ndim)
        values, inverse, counts = np.unique(a, axis=d, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
    be, dev = input.device.backend, input.device
    out = [_make(be.from_host(values.astype(a.dtype), copy=False), dev, False, None)]
    if return_inverse:
        out.append(_make(be.from_host(inverse.astype(np.int64), copy=False), dev, False, None))
    if return_counts:
        out.append(_make(be.from_host(counts.astype(np.int64), copy=False), dev, False, None))
    return out[0] if len(out) == 1 else tuple(out)


def _side(op, right, side):
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(f"{op}: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ArgumentError(f"{op}: side='left' and right=True contradict each other")
        return side
    return "right" if right else "left"


@register("searchsorted")
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """For each value, the index where it would go in sorted_sequence (its last dim) to keep it sorted:
    the first such index (side='left') or the last (side='right' or right=True)."""
    side = _side("searchsorted", right, side)
    seq = sorted_sequence
    scalar = not isinstance(input, Tensor)
    values = tensor(input, dtype=seq.dtype, device=seq.device) if scalar else input
    xp = seq.device.backend.xp
    s = seq._data
    if sorter is not None:
        if sorter.shape != seq.shape:
            raise ShapeError(f"searchsorted: sorter {tuple(sorter.shape)} and sorted_sequence {tuple(seq.shape)} "
                             "differ")
        s = xp.take_along_axis(s, sorter._data, axis=-1)
    v = values._data
    if s.ndim <= 1:
        out = xp.searchsorted(s.reshape(-1), v, side=side)
    else:
        if scalar or v.shape[:-1] != s.shape[:-1]:
            raise ShapeError(f"searchsorted: the leading dims of sorted_sequence {tuple(seq.shape)} and input "
                             f"{tuple(values.shape)} must match")
        rows_s, rows_v = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
        out = xp.stack([xp.searchsorted(a, b, side=side) for a, b in zip(rows_s, rows_v)]).reshape(v.shape)
    return _make(xp.asarray(out).astype(np.int32 if out_int32 else np.int64), seq.device, False, None)


@register("bucketize")
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value: i with boundaries[i-1] < x <= boundaries[i] (right=False) or
    boundaries[i-1] <= x < boundaries[i] (right=True); boundaries 1-D and increasing."""
    if not isinstance(boundaries, Tensor) or boundaries.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be a 1-D Tensor, got {getattr(boundaries, 'shape', boundaries)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@register("bincount", method=True)
def bincount(input, weights=None, minlength=0):
    """out[n] = the number of times n occurs in the 1-D non-negative int input (or the sum of its weights)."""
    if input.ndim != 1 or input.dtype.kind not in "iub":
        raise ShapeError(f"bincount: expected a 1-D integer tensor, got {tuple(input.shape)} {input.dtype}")
    if not is_int(minlength) or minlength < 0:
        raise ArgumentError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    a = input._data
    if a.size and int(a.min()) < 0:
        raise ArgumentError(f"bincount: the input must be non-negative, got {int(a.min())}")
    n = max(int(a.max()) + 1 if a.size else 0, int(minlength))
    xp = input.device.backend.xp
    if weights is None:
        return _make(xp.bincount(a.astype(np.int64), minlength=n).astype(np.int64), input.device, False, None)
    if not isinstance(weights, Tensor) or weights.shape != input.shape:
        raise ShapeError(f"bincount: weights must be a Tensor of the input's shape {tuple(input.shape)}")
    if weights.dtype not in (np.float32, np.float64):  # PyTorch: float32 stays, anything else sums in float64
        weights = weights.astype(np.float64)
    from .gather import scatter_add

    zeros = _make(xp.zeros((n,), dtype=weights.dtype), input.device, False, None)
    return scatter_add(zeros, 0, input.astype(np.int64), weights)


@register("msort", method=True)
def msort(input):
    """sort(input, dim=0).values."""
    return sort(input, 0).values


@register("unique_consecutive", method=True)
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Each run of equal consecutive values (or slices along dim) kept once; optionally the inverse indices
    and the run lengths. No gradient."""
    a = input.device.backend.to_numpy(input._data)
    d = None if dim is None else one_dim("unique_consecutive", dim, input.ndim)
    if d is not None and a.size == 0 and a.shape[d] != 0:
        raise ShapeError(f"unique_consecutive: shape {tuple(a.shape)} has 0-sized dims other than dim {d}, so "
                         "there is nothing to compare (as PyTorch)")
    rows = a.reshape(-1, 1) if d is None else np.moveaxis(a, d, 0).reshape(a.shape[d], a.size // max(a.shape[d], 1))
    start = np.ones(len(rows), dtype=bool)
    if len(rows) > 1:
        start[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    first = np.flatnonzero(start)
    values = a.reshape(-1)[first] if d is None else np.take(a, first, axis=d)
    inverse = np.cumsum(start) - 1
    counts = np.diff(np.append(first, len(rows)))
    be, dev = input.device.backend, input.device
    out = [_make(be.from_host(values, copy=False), dev, False, None)]
    if return_inverse:
        out.append(_make(be.from_host(inverse.reshape(a.shape if d is None else -1).astype(np.int64), copy=False),
                         dev, False, None))
    if return_counts:
        out.append(_make(be.from_host(counts.astype(np.int64), copy=False), dev, False, None))
    return out[0] if len(out) == 1 else tuple(out)


@register("isin")
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of `elements` is in `test_elements` (bool, elements' shape); a number may stand
    for either."""
    ref = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(ref, Tensor):
        raise ArgumentError("isin: elements or test_elements must be a Tensor")
    be = ref.device.backend
    e = elements._data if isinstance(elements, Tensor) else be.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else be.asarray(test_elements)
    return _make(be.xp.isin(e, t, assume_unique=assume_unique, invert=invert), ref.device, False, None)
