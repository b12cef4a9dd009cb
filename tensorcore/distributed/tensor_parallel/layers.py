"""Megatron-LM's tensor-parallel layers: each rank holds a slice of the weight and computes its part.

    ColumnParallelLinear   weight rows (output features) split over ranks:   y_r = x @ W_r^T + b_r
    RowParallelLinear      weight columns (input features) split:             y = sum_r x_r @ W_r^T + b
    VocabParallelEmbedding embedding rows (the vocabulary) split:            y = sum_r mask_r * W_r[ids - start_r]

A column-parallel layer followed by a row-parallel one (gather_output=False, input_is_parallel=True)
communicates once forward (the row layer's all-reduce) and once backward (the column layer's).
Initialisation draws the full weight as the dense layer would (nn.Linear's or nn.Embedding's init,
from the global generator) and keeps this rank's slice, so the same seed on every rank gives exactly
the slices of the dense model; `from_dense(layer)` slices an existing dense layer. `dense_state()`
gathers the full weights back (a collective: every rank of the group calls it).
"""

import numpy as np

from ... import nn
from ...errors import ShapeError
from ...tensor import Tensor
from ..errors import DistributedError
from .comm import all_gather_array, resolve
from .mappings import (
    copy_to_parallel_region,
    gather_from_parallel_region,
    reduce_from_parallel_region,
    scatter_to_parallel_region,
)


def _divide(n, world, layer, what):
    if n % world:
        raise DistributedError(f"{layer}: {what} ({n}) is not divisible by the tensor-parallel world size ({world})")
    return n // world


def _take_rows(t, rows):
    """A new array: rows `rows` (dim 0) of Tensor t."""
    xp = t.device.backend.xp
    return xp.ascontiguousarray(xp.take(t._data, xp.asarray(rows), axis=0))


class ColumnParallelLinear(nn.Module):
    """y = x @ W^T + b with W's rows (out_features) split over the group: this rank computes its slice.

    gather_output=True all-gathers the slices into the full y on every rank; False leaves y_r (for a
    RowParallelLinear with input_is_parallel=True next).

    Example:
        fc = ColumnParallelLinear(16, 64, gather_output=False)   # weight (64 / world, 16) on each rank
    """

    def __init__(self, in_features, out_features, bias=True, gather_output=True, group=None, device=None,
                 dtype=None, _dense=None, _rows=None):
        super().__init__()
        group = resolve(group, "ColumnParallelLinear")
        dense = _dense if _dense is not None else nn.Linear(in_features, out_features, bias, device, dtype)
        self.in_features, self.out_features = dense.in_features, dense.out_features
        local = _divide(self.out_features, group.size, "ColumnParallelLinear", "out_features")
        # _rows: every rank's output rows, (world, local); default contiguous blocks
        rows = np.arange(self.out_features).reshape(group.size, local) if _rows is None else np.asarray(_rows)
        self.__dict__.update(group=group, gather_output=bool(gather_output), _all_rows=rows)
        self.weight = _wrap(dense.weight, rows[group.rank])
        if dense.bias is not None:
            self.bias = _wrap(dense.bias, rows[group.rank])
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_dense(cls, linear, gather_output=True, group=None):
        """This rank's slice of nn.Linear `linear` (its weight rows)."""
        return cls(linear.in_features, linear.out_features, gather_output=gather_output, group=group, _dense=linear)

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ShapeError(f"ColumnParallelLinear: input of shape {tuple(x.shape)}, expected last dim "
                             f"in_features={self.in_features}")
        y = nn.functional.linear(copy_to_parallel_region(x, self.group), self.weight, self.bias)
        return gather_from_parallel_region(y, self.group) if self.gather_output else y

    def dense_state(self):
        """{'weight', 'bias'}: the full (out_features, ...) arrays, gathered from every rank (collective)."""
        return {name: _gather_rows(self.group, t, self._all_rows) for name, t in self._parameters.items()
                if t is not None}

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features} "
                f"({self.weight.shape[0]} on this rank), gather_output={self.gather_output}")


class RowParallelLinear(nn.Module):
    """y = sum over ranks of x_r @ W_r^T, + b: W's columns (in_features) split over the group, b replicated.

    input_is_parallel=False splits the full x first (scatter); True takes x_r, this rank's slice of
    the input features (a ColumnParallelLinear's output with gather_output=False).

    Example:
        proj = RowParallelLinear(64, 16, input_is_parallel=True)   # weight (16, 64 / world)
    """

    def __init__(self, in_features, out_features, bias=True, input_is_parallel=False, group=None, device=None,
                 dtype=None, _dense=None):
        super().__init__()
        group = resolve(group, "RowParallelLinear")
        dense = _dense if _dense is not None else nn.Linear(in_features, out_features, bias, device, dtype)
        self.in_features, self.out_features = dense.in_features, dense.out_features
        local = _divide(self.in_features, group.size, "RowParallelLinear", "in_features")
        cols = np.arange(self.in_features).reshape(group.size, local)
        self.__dict__.update(group=group, input_is_parallel=bool(input_is_parallel), _all_cols=cols)
        xp = dense.weight.device.backend.xp
        self.weight = nn.Parameter(_on(dense.weight, xp.ascontiguousarray(dense.weight._data[:, cols[group.rank]])))
        if dense.bias is not None:
            self.bias = nn.Parameter(_on(dense.bias, dense.bias._data.copy()))
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_dense(cls, linear, input_is_parallel=False, group=None):
        """This rank's slice of nn.Linear `linear` (its weight columns; the bias replicated)."""
        return cls(linear.in_features, linear.out_features, input_is_parallel=input_is_parallel, group=group,
                   _dense=linear)

    def forward(self, x):
        local = self.weight.shape[1]
        want = local if self.input_is_parallel else self.in_features
        if x.shape[-1] != want:
            raise ShapeError(f"RowParallelLinear: input of shape {tuple(x.shape)}, expected last dim {want} "
                             f"(in_features={self.in_features}, input_is_parallel={self.input_is_parallel}, "
                             f"{self.group.size} ranks)")
        if not self.input_is_parallel:
            x = scatter_to_parallel_region(x, self.group)
        y = reduce_from_parallel_region(nn.functional.linear(x, self.weight), self.group)
        return y if self.bias is None else y + self.bias

    def dense_state(self):
        """{'weight', 'bias'}: the full weight (gathered columns, collective) and the bias."""
        w = self.weight
        parts = all_gather_array(self.group, w._data)  # (world, out, local)
        xp = w.device.backend.xp
        full = xp.empty((self.out_features, self.in_features), dtype=w.dtype)
        for r in range(self.group.size):
            full[:, self._all_cols[r]] = parts[r]
        out = {"weight": _on(w, full)}
        if self.bias is not None:
            out["bias"] = _on(self.bias, self.bias._data.copy())
        return out

    def extra_repr(self):
        return (f"in_features={self.in_features} ({self.weight.shape[1]} on this rank), "
                f"out_features={self.out_features}, input_is_parallel={self.input_is_parallel}")


def vocab_range(num_embeddings, rank, world):
    """(start, end): rank's rows of a vocabulary split as evenly as possible (the first ranks get one more)."""
    base, extra = divmod(num_embeddings, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class VocabParallelEmbedding(nn.Module):
    """y = weight[ids] with weight's rows (the vocabulary) split over the group: masked lookup + all-reduce.

    Each rank looks up the ids in its range [start, end), writes zeros for the others, and the
    all-reduce sums the ranks' parts. The vocabulary need not divide evenly (the first ranks get a row more).

    Example:
        wte = VocabParallelEmbedding(50257, 768)
    """

    def __init__(self, num_embeddings, embedding_dim, group=None, device=None, dtype=None, _dense=None):
        super().__init__()
        group = resolve(group, "VocabParallelEmbedding")
        dense = _dense if _dense is not None else nn.Embedding(num_embeddings, embedding_dim, device=device,
                                                                  dtype=dtype)
        self.num_embeddings, self.embedding_dim = dense.num_embeddings, dense.embedding_dim
        if self.num_embeddings < group.size:
            raise DistributedError(f"VocabParallelEmbedding: num_embeddings ({self.num_embeddings}) is smaller "
                                   f"than the tensor-parallel world size ({group.size})")
        ranges = [vocab_range(self.num_embeddings, r, group.size) for r in range(group.size)]
        start, end = ranges[group.rank]
        self.__dict__.update(group=group, vocab_start=start, vocab_end=end,
                             partition_sizes=tuple(e - s for s, e in ranges))
        self.weight = nn.Parameter(_on(dense.weight, dense.weight._data[start:end].copy()))

    @classmethod
    def from_dense(cls, embedding, group=None):
        """This rank's rows of nn.Embedding `embedding` (no padding_idx, max_norm or sparse)."""
        if embedding.padding_idx is not None or embedding.max_norm is not None:
            raise DistributedError("VocabParallelEmbedding.from_dense: padding_idx and max_norm are not supported")
        return cls(embedding.num_embeddings, embedding.embedding_dim, group=group, _dense=embedding)

    def forward(self, input):
        xp = self.weight.device.backend.xp
        ids = input._data if isinstance(input, Tensor) else xp.asarray(input)
        if ids.dtype.kind not in "iu":
            raise ShapeError(f"VocabParallelEmbedding: indices must be integers, got dtype {ids.dtype}")
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.num_embeddings):
            raise ShapeError(f"VocabParallelEmbedding: indices must be in [0, {self.num_embeddings}), got "
                             f"min {int(ids.min())} max {int(ids.max())} (shape {tuple(ids.shape)})")
        outside = (ids < self.vocab_start) | (ids >= self.vocab_end)
        local = xp.where(outside, 0, ids - self.vocab_start)
        rows = nn.functional.embedding(local, self.weight)
        keep = _on(self.weight, (~outside)[..., None].astype(self.weight.dtype))
        return reduce_from_parallel_region(rows * keep, self.group)

    def dense_state(self):
        """{'weight'}: the full (num_embeddings, embedding_dim) table, gathered (collective)."""
        w = self.weight
        xp = w.device.backend.xp
        biggest = max(self.partition_sizes)
        padded = xp.zeros((biggest, self.embedding_dim), dtype=w.dtype)
        padded[: w.shape[0]] = w._data
        parts = all_gather_array(self.group, padded)
        return {"weight": _on(w, xp.concatenate([parts[r, :s] for r, s in enumerate(self.partition_sizes)]))}

    def extra_repr(self):
        return (f"{self.num_embeddings}, {self.embedding_dim}, rows {self.vocab_start}..{self.vocab_end} "
                "on this rank")


def _on(like, array):
    """A constant Tensor on `like`'s device holding `array`."""
    from ...tensor import _make

    return _make(array, like.device, False, None)


def _wrap(t, rows):
    return nn.Parameter(_on(t, _take_rows(t, rows)))


def _gather_rows(group, t, all_rows):
    """The full tensor whose rows all_rows[r] are rank r's `t` (collective)."""
    parts = all_gather_array(group, t._data)
    xp = t.device.backend.xp
    full = xp.empty((all_rows.size, *t.shape[1:]), dtype=t.dtype)
    for r in range(group.size):
        full[xp.asarray(all_rows[r])] = parts[r]
    return _on(t, full)
