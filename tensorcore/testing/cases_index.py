"""Cases of indexing (index.py), gather / scatter (gather.py) and masks (masked.py), with NumPy references.
Index and mask tensors are made on the input's device inside fn, so the cases run on every device."""

import numpy as np

import tensorcore as tc

from .cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _distinct(rng, *shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def _on(t, values):
    return tc.tensor(np.asarray(values), device=t.device)


_IDX = np.array([[0, 2, 1], [1, 1, 0]])  # gather / scatter index of shape (2, 3) into (3, 4) along dim 1
_UNIQUE = np.array([[3, 0, 1], [2, 3, 0]])  # no repeats within a row: scatter is deterministic
_MASK = (np.arange(12).reshape(3, 4) % 3) == 0


def _gather_ref(x, idx, dim):
    return np.take_along_axis(x[:idx.shape[0], :] if dim == 1 else x[:, :idx.shape[1]], idx, axis=dim)


def _scatter_ref(x, idx, src, reduce="set", include_self=True):
    out = x.copy()
    if not include_self:
        for i in range(idx.shape[0]):
            for j in range(idx.shape[1]):
                out[i, idx[i, j]] = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "amax": -np.inf, "amin": np.inf}[reduce]
    count = np.ones(x.shape) if include_self else np.zeros(x.shape)
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            k, v = idx[i, j], src[i, j]
            if reduce == "set":
                out[i, k] = v
            elif reduce in ("sum", "mean"):
                out[i, k] += v
            elif reduce == "prod":
                out[i, k] *= v
            else:
                out[i, k] = max(out[i, k], v) if reduce == "amax" else min(out[i, k], v)
            count[i, k] += 1
    if reduce == "mean":
        out = np.where(count > 0, out / np.maximum(count, 1), out)
    return out


def _index_add_ref(x, src, idx, alpha=1.0):
    out = x.copy()
    np.add.at(out, (slice(None), idx), alpha * src)
    return out


def _masked_scatter_ref(x, src):
    out = x.copy()
    out[_MASK] = src.reshape(-1)[:_MASK.sum()]
    return out


def _diag_set(x, s, offset):
    out = x.copy()
    for i, v in enumerate(s):
        out[i, i + offset] = v
    return out


def _put_ref(x, positions, s):
    out = x.copy().reshape(-1)
    out[positions] = s
    return out.reshape(x.shape)


CASES = [
    # x[index]: basic indexing is a view, advanced indexing a copy that adds up repeated picks
    OpCase("getitem", lambda r: (_n(r, 4, 5),), lambda x: x[1:4:2, ::-2], lambda x: x[1:4:2, ::-2], label="slices"),
    OpCase("getitem", lambda r: (_n(r, 3, 4),), lambda x: x[None, ..., 2], lambda x: x[None, ..., 2],
           label="None, Ellipsis"),
    OpCase("getitem", lambda r: (_n(r, 4, 3),), lambda x: x[np.array([0, 2, 0, 0])],
           lambda x: x[np.array([0, 2, 0, 0])], label="repeated ints"),
    OpCase("getitem", lambda r: (_n(r, 3, 4),), lambda x: x[np.arange(12).reshape(3, 4) % 2 == 0],
           lambda x: x[np.arange(12).reshape(3, 4) % 2 == 0], label="bool mask"),
    OpCase("index_put", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda x, v: tc.index_put(x, 1, v),
           lambda x, v: np.concatenate([x[:1], v[None], x[2:]])),
    OpCase("index_put", lambda r: (_n(r, 3, 4), _n(r, 4)),
           lambda x, v: tc.index_put(x, (_on(x, [0, 2, 0]),), v, accumulate=True),
           lambda x, v: x + np.array([2, 0, 1])[:, None] * v, label="accumulate"),
    # gather and scatter along a dim
    OpCase("gather", lambda r: (_n(r, 3, 4),), lambda x: x.gather(1, _on(x, _IDX)), lambda x: _gather_ref(x, _IDX, 1)),
    OpCase("scatter", lambda r: (_n(r, 3, 4), _n(r, 2, 3)), lambda x, s: x.scatter(1, _on(x, _UNIQUE[:, :3]), s),
           lambda x, s: _scatter_ref(x, _UNIQUE[:, :3], s)),
    OpCase("scatter", lambda r: (_n(r, 3, 4),), lambda x: tc.scatter(x, 1, _on(x, _UNIQUE), value=0.5),
           lambda x: _scatter_ref(x, _UNIQUE, np.full(_UNIQUE.shape, 0.5)), label="value"),
    OpCase("scatter_add", lambda r: (_n(r, 3, 4), _n(r, 2, 3)), lambda x, s: x.scatter_add(1, _on(x, _IDX), s),
           lambda x, s: _scatter_ref(x, _IDX, s, "sum")),
    *[OpCase("scatter_reduce", lambda r: (_distinct(r, 3, 4), _distinct(r, 2, 3) + 0.11),
             lambda x, s, red=red, inc=inc: x.scatter_reduce(1, _on(x, _IDX), s, red, include_self=inc),
             lambda x, s, red=red, inc=inc: _scatter_ref(x, _IDX, s, red, inc), label=f"{red}, include_self={inc}",
             gradgrad=red not in ("amax", "amin"))
      for red in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    OpCase("take_along_dim", lambda r: (_n(r, 3, 4),), lambda x: tc.take_along_dim(x, _on(x, [[0], [3], [1]]), 1),
           lambda x: np.take_along_axis(x, np.array([[0], [3], [1]]), 1)),
    OpCase("take_along_dim", lambda r: (_n(r, 3, 4),), lambda x: tc.take_along_dim(x, _on(x, [5, 0, 5])),
           lambda x: x.reshape(-1)[[5, 0, 5]], label="flattened"),
    OpCase("take", lambda r: (_n(r, 3, 4),), lambda x: x.take(_on(x, [[0, -1], [5, 5]])),
           lambda x: x.reshape(-1)[[[0, -1], [5, 5]]]),
    # index_* along a dim with a 1-D index
    OpCase("index_select", lambda r: (_n(r, 3, 4),), lambda x: x.index_select(1, _on(x, [0, 3, 3])),
           lambda x: x[:, [0, 3, 3]]),
    OpCase("index_add", lambda r: (_n(r, 3, 4), _n(r, 3, 3)),
           lambda x, s: x.index_add(1, _on(x, [0, 3, 0]), s, alpha=2.0),
           lambda x, s: _index_add_ref(x, s, [0, 3, 0], 2.0)),
    OpCase("index_copy", lambda r: (_n(r, 3, 4), _n(r, 3, 2)), lambda x, s: x.index_copy(1, _on(x, [2, 0]), s),
           lambda x, s: np.stack([s[:, 1], x[:, 1], s[:, 0], x[:, 3]], 1)),
    OpCase("index_fill", lambda r: (_n(r, 3, 4),), lambda x: x.index_fill(0, _on(x, [2, 0]), -1.5),
           lambda x: np.stack([np.full(4, -1.5), x[1], np.full(4, -1.5)])),
    # writing a source into a copy
    OpCase("select_scatter", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda x, s: x.select_scatter(s, 0, 1),
           lambda x, s: np.concatenate([x[:1], s[None], x[2:]])),
    OpCase("slice_scatter", lambda r: (_n(r, 3, 4), _n(r, 3, 2)), lambda x, s: tc.slice_scatter(x, s, 1, 0, None, 2),
           lambda x, s: np.stack([s[:, 0], x[:, 1], s[:, 1], x[:, 3]], 1)),
    OpCase("diagonal_scatter", lambda r: (_n(r, 3, 4), _n(r, 3)), lambda x, s: x.diagonal_scatter(s, 1),
           lambda x, s: _diag_set(x, s, 1)),
    OpCase("put", lambda r: (_n(r, 3, 4), _n(r, 3)), lambda x, s: x.put(_on(x, [0, -1, 5]), s),
           lambda x, s: _put_ref(x, [0, 11, 5], s)),
    OpCase("index_reduce", lambda r: (_distinct(r, 3, 4), _distinct(r, 3, 3) + 0.11),
           lambda x, s: x.index_reduce(1, _on(x, [0, 3, 0]), s, "amax"),
           lambda x, s: np.stack([np.maximum(np.maximum(x[:, 0], s[:, 0]), s[:, 2]), x[:, 1], x[:, 2],
                                  np.maximum(x[:, 3], s[:, 1])], 1), gradgrad=False),
    OpCase("index_reduce", lambda r: (_distinct(r, 3, 4), _distinct(r, 3, 3) + 0.11),
           lambda x, s: x.index_reduce(1, _on(x, [0, 3, 0]), s, "mean", include_self=False),
           lambda x, s: np.stack([(s[:, 0] + s[:, 2]) / 2, x[:, 1], x[:, 2], s[:, 1]], 1), label="mean"),
    # masks
    OpCase("masked_fill", lambda r: (_n(r, 3, 4),), lambda x: x.masked_fill(_on(x, _MASK), 2.0),
           lambda x: np.where(_MASK, 2.0, x)),
    OpCase("masked_fill", lambda r: (_n(r, 3, 4),), lambda x: x.masked_fill(_on(x, _MASK[0]), float("-inf")).exp(),
           lambda x: np.exp(np.where(_MASK[0], -np.inf, x)), label="broadcast mask, -inf"),
    OpCase("masked_scatter", lambda r: (_n(r, 3, 4), _n(r, 2, 3)), lambda x, s: x.masked_scatter(_on(x, _MASK), s),
           _masked_scatter_ref),
    OpCase("masked_select", lambda r: (_n(r, 3, 4),), lambda x: x.masked_select(_on(x, _MASK)), lambda x: x[_MASK]),
    OpCase("nonzero", lambda r: (_n(r, 3, 4),), lambda x: (x > 0).nonzero(), lambda x: np.argwhere(x > 0),
           differentiable=False),
    OpCase("nonzero", lambda r: (_n(r, 3, 4),), lambda x: tc.nonzero(x > 0, as_tuple=True), lambda x: np.nonzero(x > 0),
           differentiable=False, label="as_tuple"),
    OpCase("argwhere", lambda r: (_n(r, 3, 4),), lambda x: tc.argwhere(x > 0), lambda x: np.argwhere(x > 0),
           differentiable=False),
]
