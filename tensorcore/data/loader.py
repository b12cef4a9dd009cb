"""Dataset, TensorDataset, Subset, random_split and DataLoader.

A DataLoader over a TensorDataset (or a Subset of one) takes the fast path: each batch is one
fancy-indexing operation per array, `array[batch_indices]`, with no Python loop over samples.
Any other dataset is indexed sample by sample and the samples are stacked by `collate_fn`.
"""

import math
import numbers

import numpy as np

from .errors import DataError


class Dataset:
    """A sized, indexable collection of samples: subclasses define __len__ and __getitem__."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays or Tensors: dataset[i] == (a[i], b[i], ...).

    Tensors are kept as NumPy arrays (`.numpy()`); rows come back as NumPy values and a DataLoader
    turns batches into Tensors.

    >>> ds = TensorDataset(x_train, y_train)
    >>> len(ds), ds[0][1]                   # (60000, np.int64(9))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise DataError("TensorDataset: needs at least one array")
        self.arrays = tuple(_as_numpy(a, f"TensorDataset argument {i}") for i, a in enumerate(arrays))
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise DataError(f"TensorDataset: argument {i} is a scalar; each argument needs a first axis")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise DataError(f"TensorDataset: arrays have different lengths {lengths}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _check_indices(np.asarray(indices, dtype=np.int64).reshape(-1), len(dataset), "Subset")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def random_split(dataset, lengths, seed=None):
    """Split a dataset into non-overlapping random Subsets of the given lengths.

    lengths: integers summing to len(dataset), or fractions summing to 1 (the remainder of the
    rounding goes to the first splits, one sample each).

    >>> train, val = random_split(TensorDataset(x, y), [0.9, 0.1], seed=0)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, numbers.Integral) for x in lengths):
        sizes = [int(x) for x in lengths]
    elif lengths and math.isclose(sum(lengths), 1.0) and all(0 <= x <= 1 for x in lengths):
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        raise DataError(f"random_split: lengths {lengths} must be integers or fractions summing to 1")
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise DataError(f"random_split: lengths {sizes} do not sum to the dataset length {n}")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, order[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Each epoch (each `iter(loader)`) yields len(loader) batches. For a TensorDataset a batch is a
    tuple of Tensors, one per array. shuffle=True draws a new permutation every epoch from the seed
    and the epoch number, so a loader made with the same seed repeats the same sequence of epochs;
    `set_epoch(e)` jumps to epoch e (to resume training). `sampler` (an iterable of indices,
    optionally with `set_epoch`, e.g. a DistributedSampler) replaces the loader's own ordering and
    gets the epoch number before each epoch. `collate_fn(list_of_samples)` builds a batch from
    samples (it forces the per-sample path). seed: an int, a numpy or tensorcore Generator, or
    None (then a seed is drawn from tensorcore's default generator, which tc.manual_seed sets).

    >>> loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True, seed=0)
    >>> for x, y in loader: ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, sampler=None, collate_fn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise DataError("DataLoader: give either shuffle=True or a sampler, not both (the sampler orders)")
        seed = _as_seed(seed, shuffle)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.collate_fn = collate_fn
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch):
        """Make the next iteration epoch number `epoch` (its shuffle order depends only on seed and epoch)."""
        self.epoch = int(epoch)

    def state_dict(self):
        """What resuming needs to repeat the coming epochs: {"epoch": e, "seed": s} (JSON-able, tc.save-able).

        With a numpy Generator as seed, its bit-generator state is saved instead of the seed.
        A resumed loader restarts at the beginning of epoch e (no mid-epoch position is kept).
        """
        if isinstance(self.seed, np.random.Generator):
            return {"epoch": self.epoch, "generator": self.seed.bit_generator.state}
        return {"epoch": self.epoch, "seed": int(self.seed)}

    def load_state_dict(self, state):
        """Restore state_dict(): the next iteration is the epoch it recorded, in the same order."""
        if not isinstance(state, dict) or "epoch" not in state or not ({"seed", "generator"} & set(state)):
            raise DataError(f"DataLoader.load_state_dict: expected {{'epoch', 'seed' or 'generator'}}, got {state!r}")
        if "generator" in state:
            if not isinstance(self.seed, np.random.Generator):
                raise DataError(
                    "DataLoader.load_state_dict: state holds a Generator state; this loader has an int seed"
                )
            self.seed.bit_generator.state = state["generator"]
        else:
            self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])

    def _num_samples(self):
        return len(self.sampler) if self.sampler is not None else len(self.dataset)

    def __len__(self):
        n = self._num_samples()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _indices(self, epoch):
        n = len(self.dataset)
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            indices = np.fromiter(iter(self.sampler), dtype=np.int64)
            return _check_indices(indices, n, "DataLoader sampler")
        if not self.shuffle:
            return np.arange(n)
        if isinstance(self.seed, np.random.Generator):
            return self.seed.permutation(n)
        return np.random.default_rng([int(self.seed), epoch]).permutation(n)

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        indices = self._indices(epoch)
        stop = len(indices) - len(indices) % self.batch_size if self.drop_last else len(indices)
        arrays = _fast_path_arrays(self.dataset) if self.collate_fn is None else None
        if arrays is not None:
            base, arrays = arrays
            for start in range(0, stop, self.batch_size):
                rows = indices[start : start + self.batch_size]
                if base is not None:
                    rows = base[rows]
                yield tuple(_to_tensor(a[rows]) for a in arrays)
            return
        collate = self.collate_fn or default_collate
        for start in range(0, stop, self.batch_size):
            yield collate([self.dataset[int(i)] for i in indices[start : start + self.batch_size]])


def _as_seed(seed, shuffle):
    """An int or a numpy Generator. With no seed, an int drawn now from tensorcore's default generator
    (so tc.manual_seed makes shuffling reproducible, and set_epoch still replays this loader's epochs)."""
    from ..random import Generator, default_generator

    if seed is None:
        return int(default_generator.np.integers(2**63)) if shuffle else 0
    if isinstance(seed, Generator):
        return seed.np
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.random.Generator)):
        raise DataError(f"DataLoader: seed must be an int, a Generator or None, got {seed!r}")
    return seed


def default_collate(samples):
    """Stack a list of samples into a batch of Tensors: tuples -> tuple, dicts -> dict, else one Tensor.

    >>> default_collate([(np.zeros(3), 1), (np.ones(3), 0)])   # (Tensor (2, 3), Tensor (2,))
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    return _to_tensor(np.stack([_as_numpy(s, "sample") for s in samples]))


def _fast_path_arrays(dataset):
    """(index_map or None, arrays) when dataset is a TensorDataset or nested Subsets of one."""
    index_map = None
    while isinstance(dataset, Subset):
        index_map = dataset.indices if index_map is None else dataset.indices[index_map]
        dataset = dataset.dataset
    if type(dataset) is TensorDataset:  # a subclass may override __getitem__
        return index_map, dataset.arrays
    return None


def _check_indices(indices, n, what):
    if len(indices) and (indices.min() < -n or indices.max() >= n):
        bad = indices[(indices < -n) | (indices >= n)][0]
        raise DataError(f"{what}: index {int(bad)} is out of range for a dataset of length {n}")
    return indices


def _as_numpy(value, what):
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return value.numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise DataError(f"{what}: dtype {array.dtype} is not numeric")
    return array


def _to_tensor(array):
    from ..tensor import tensor

    return tensor(array)
