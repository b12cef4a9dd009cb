"""nn.EmbeddingBag and F.embedding_bag: sums, means or maxima of bags of embeddings (PyTorch's), without
materializing the (bags, length, dim) lookups per bag: one lookup, then index_add / scatter_reduce by bag."""

import warnings

import numpy as np

from .. import _validate as check
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor, _make
from . import functional as F
from . import init
from .layers import _empty_parameter
from .module import Module, Parameter


def _host(t, name):
    if not isinstance(t, Tensor):
        raise ArgumentError(f"embedding_bag: {name} must be a Tensor, got {type(t).__name__}")
    if t.dtype.kind not in "iu":
        raise DTypeError(f"embedding_bag: {name} must hold integers, got {t.dtype}")
    return t.device.backend.to_numpy(t._data).astype(np.int64)


def _bags(input, offsets, include_last_offset):
    """(flat indices, bag id of each, number of bags)."""
    idx = _host(input, "input")
    if input.ndim == 2:
        if offsets is not None:
            raise ShapeError("embedding_bag: offsets must be None for a 2-D input (each row is a bag)")
        rows, length = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(rows), length), rows
    if input.ndim != 1:
        raise ShapeError(f"embedding_bag: input must be 1-D (with offsets) or 2-D, got shape {tuple(input.shape)}")
    if offsets is None:
        raise ShapeError("embedding_bag: a 1-D input needs offsets (the start of each bag)")
    offs = _host(offsets, "offsets").reshape(-1)
    n = idx.size
    if include_last_offset:
        if offs.size < 1:
            raise ShapeError("embedding_bag: include_last_offset=True needs at least one offset")
        starts, ends = offs[:-1], offs[1:]
    else:
        starts, ends = offs, np.append(offs[1:], n)
    if offs.size and (offs[0] != 0 or np.any(np.diff(offs) < 0) or offs[-1] > n):
        raise ShapeError(f"embedding_bag: offsets must start at 0, not decrease and stay within the input's {n} "
                         f"indices, got {offs.tolist()[:8]}")
    ends = np.minimum(ends, n)
    return idx, np.repeat(np.arange(starts.size), ends - starts), starts.size


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """out[b] = sum / mean / max over bag b of weight[input[i]] (times per_sample_weights[i] in 'sum' mode);
    padding_idx entries are left out of their bag; an empty bag gives zeros."""
    if (isinstance(input, Tensor) and isinstance(weight, Tensor) and input.dtype.kind in "fV"
            and weight.dtype.kind in "iu"):  # the old order, embedding_bag(weight, input): PyTorch swaps and warns
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
                      UserWarning, stacklevel=2)
        input, weight = weight, input
    check.choice(mode, "mode", "embedding_bag", ("sum", "mean", "max"))
    if per_sample_weights is not None and mode != "sum":
        raise ArgumentError(f"embedding_bag: per_sample_weights is only supported for mode='sum', got mode={mode!r}")
    idx, bag, n_bags = _bags(input, offsets, include_last_offset)
    keep = np.ones(idx.size, bool) if padding_idx is None else idx != (padding_idx % weight.shape[0])
    device, dim = weight.device, weight.shape[1]

    def on_device(array):
        return _make(device.backend.from_host(np.ascontiguousarray(array), copy=False), device, False, None)

    rows = F.embedding(on_device(idx[keep]), weight, None, max_norm, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ShapeError(f"embedding_bag: per_sample_weights of shape {tuple(per_sample_weights.shape)} must "
                             f"match the input's {tuple(input.shape)}")
        rows = rows * per_sample_weights.reshape(-1)[on_device(np.flatnonzero(keep))].unsqueeze(1)
    from ..creation import zeros

    base = zeros((n_bags, dim), dtype=weight.dtype, device=device)
    bag_ids = on_device(bag[keep])
    if mode == "max":
        return base.scatter_reduce(0, bag_ids.unsqueeze(1).expand(-1, dim), rows, "amax", include_self=False)
    out = base.index_add(0, bag_ids, rows)
    if mode == "mean":
        counts = np.maximum(np.bincount(bag[keep], minlength=n_bags), 1).astype(weight.dtype)
        out = out / on_device(counts[:, None])
    return out


class EmbeddingBag(Module):
    """Bags of embeddings reduced by sum, mean (default) or max; weight (num_embeddings, embedding_dim) ~ N(0, 1).

    forward(input, offsets=None, per_sample_weights=None): a 2-D input is one bag per row; a 1-D input is cut
    into bags at offsets.
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings = check.size(num_embeddings, "num_embeddings", "EmbeddingBag")
        self.embedding_dim = check.size(embedding_dim, "embedding_dim", "EmbeddingBag")
        if padding_idx is not None:
            padding_idx = check.integer(padding_idx, "padding_idx", "EmbeddingBag")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ArgumentError(f"EmbeddingBag: padding_idx {padding_idx} must be within num_embeddings")
            padding_idx %= self.num_embeddings
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.mode = check.choice(mode, "mode", "EmbeddingBag", ("sum", "mean", "max"))
        self.sparse, self.include_last_offset, self.padding_idx = sparse, include_last_offset, padding_idx
        if _weight is None:
            self.weight = _empty_parameter((self.num_embeddings, self.embedding_dim), device, dtype)
            self.reset_parameters()
        else:
            self.weight = Parameter(_weight if isinstance(_weight, Tensor) else Tensor(_weight))

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings.detach().clone(), include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
