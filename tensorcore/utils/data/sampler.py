"""Samplers (torch.utils.data's): the order in which a DataLoader reads a map-style dataset.

Random samplers draw from a tc.Generator (or, without one, a fresh seed from tensorcore's default
generator each epoch, so tc.manual_seed makes the epochs reproducible).
"""

import numbers

import numpy as np

from ... import _validate as check
from ...data.errors import DataError
from ...distributed.sampler import DistributedSampler


def _epoch_rng(generator):
    """A NumPy Generator: the given tc.Generator's, or one seeded now from the default generator."""
    from ...random import _gen, default_generator

    if generator is not None:
        return _gen(generator)
    return np.random.default_rng(int(default_generator.np.integers(2**63)))


class Sampler:
    """Base class: subclasses define __iter__ (indices, or lists of indices for a batch sampler)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


_REPLACEMENT_CHUNK = 1024  # (NumPy draws the same values in chunks as in one call)


class RandomSampler(Sampler):
    """A random permutation each epoch (num_samples > n: whole permutations then part of one), or with
    replacement num_samples uniform draws."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = check.flag(replacement, "replacement", "RandomSampler", error=DataError)
        self._num_samples = None if num_samples is None else check.integer(num_samples, "num_samples",
                                                                           "RandomSampler", 1, error=DataError)
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), _epoch_rng(self.generator)
        if self.replacement:  # in chunks: minGPT's Trainer asks for num_samples=int(1e10), read lazily
            for start in range(0, self.num_samples, _REPLACEMENT_CHUNK):
                yield from rng.integers(0, n, min(_REPLACEMENT_CHUNK, self.num_samples - start)).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in _epoch_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to weights (with or without replacement)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        op = "WeightedRandomSampler"
        self.num_samples = check.integer(num_samples, "num_samples", op, 1, error=DataError)
        self.replacement = check.flag(replacement, "replacement", op, error=DataError)
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise DataError(f"{op}: weights should be a 1d sequence but given weights have shape {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise DataError(f"{op}: weights must be finite, non-negative and not all zero")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise DataError(f"{op}: cannot draw {self.num_samples} samples without replacement from "
                            f"{np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.generator = generator

    def __iter__(self):
        rng = _epoch_rng(self.generator)
        p = self.weights / self.weights.sum()
        yield from rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of batch_size (the last one shorter unless drop_last).

    Example:
        list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))  # [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise DataError(f"BatchSampler: batch_size should be a positive integer value, but got "
                            f"batch_size={batch_size!r:.40}")
        self.drop_last = check.flag(drop_last, "drop_last", "BatchSampler", error=DataError)
        self.sampler, self.batch_size = sampler, int(batch_size)

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


__all__ = ["BatchSampler", "DistributedSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]
