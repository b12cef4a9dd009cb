"""Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset, Subset, random_split (torch.utils.data's)."""

import bisect
import math
import numbers

from ...data.errors import DataError
from ...tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define __getitem__ (and usually __len__); `a + b` concatenates."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define __iter__ (each DataLoader worker iterates its own copy;
    split the work with get_worker_info())."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class TensorDataset(Dataset):
    """Sample i is (t[i] for t in tensors): Tensors of equal first dimension.

    Example:
        ds = TensorDataset(x, y); x0, y0 = ds[0]
    """

    def __init__(self, *tensors):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise DataError(f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor")
            if t.ndim == 0:
                raise DataError(f"TensorDataset: argument {i} is a 0-d tensor; each needs a first dimension")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise DataError(f"TensorDataset: size mismatch between tensors (first dimensions {sizes})")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0


class StackDataset(Dataset):
    """Sample i is a tuple (positional datasets) or a dict (keyword datasets) of each dataset's sample i."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise DataError("StackDataset: give datasets as positional or as keyword arguments, not both")
        self.datasets = args if args else kwargs
        lengths = {len(d) for d in (args or kwargs.values())}
        if len(lengths) != 1:
            raise DataError(f"StackDataset: size mismatch between datasets (lengths {sorted(lengths)})")
        self._length = lengths.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """Map-style datasets end to end; cumulative_sizes[i] is the length of the first i + 1."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise DataError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise DataError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        idx = _index(idx, "ConcatDataset")
        if idx < 0:
            if -idx > len(self):
                raise DataError(f"ConcatDataset: absolute value of index {idx} should not exceed dataset length "
                                f"{len(self)}")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order (indices kept as given)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def _index(value, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        try:
            return int(value.__index__())
        except (AttributeError, TypeError):
            raise DataError(f"{op}: index must be an int, got {type(value).__name__}") from None
    return int(value)


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping random Subsets of the given lengths (ints summing to len(dataset), or
    fractions summing to 1: floor(n f) each, the remainder dealt one by one from the first split).

    Example:
        train, val = random_split(ds, [0.8, 0.2], generator=tc.Generator().manual_seed(0))
    """
    from ...random import _gen

    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise DataError("random_split: lengths is empty")
    if all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in lengths):
        sizes = [int(x) for x in lengths]
    elif all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in lengths) \
            and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise DataError(f"random_split: fraction at index {i} is not between 0 and 1 ({frac})")
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        raise DataError(f"random_split: lengths {lengths!r:.80} must be ints summing to the dataset length or "
                        "fractions summing to 1")
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise DataError(f"random_split: sum of input lengths {sizes} does not equal the length of the input "
                        f"dataset ({n})")
    order = _gen(generator).permutation(n).tolist()
    out, offset = [], 0
    for size in sizes:
        out.append(Subset(dataset, order[offset:offset + size]))
        offset += size
    return out
