"""DistributedSampler: each rank a disjoint shard of the data set, reshuffled every epoch with a shared seed."""

import math
import numbers

import numpy as np

from .errors import DistributedError


class DistributedSampler:
    """The indices of this rank's shard of `dataset`, for `DataLoader(dataset, sampler=...)`.

    Every epoch all ranks draw the same permutation (from `seed` and the epoch number, which the
    DataLoader passes through `set_epoch`) and rank r takes every num_replicas-th index starting at
    r, so the shards are disjoint and together cover the data set once. All ranks must take the same
    number of steps (a collective waits for every rank), so the shards have equal length:
    drop_last=False pads with the first indices of the permutation (a few samples seen twice),
    drop_last=True drops the tail (a few samples not seen this epoch).
    num_replicas and rank default to the process group's world size and rank.

    Example:
        sampler = DistributedSampler(train_set, shuffle=True, seed=0)
        loader = DataLoader(train_set, batch_size=64, sampler=sampler)   # 64 per rank
        for epoch in range(epochs):
            for x, y in loader: ...          # the loader calls sampler.set_epoch(epoch)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from . import process_group as pg

        if num_replicas is None:
            num_replicas = pg.get_world_size() if pg.is_initialized() else 1
        if rank is None:
            rank = pg.get_rank() if pg.is_initialized() else 0
        if not _is_int(num_replicas) or num_replicas < 1:
            raise DistributedError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if not _is_int(rank) or not 0 <= rank < num_replicas:
            raise DistributedError(f"DistributedSampler: rank must be in 0..{num_replicas - 1}, got {rank!r}")
        if not _is_int(seed):
            raise DistributedError(f"DistributedSampler: seed must be an int shared by all ranks, got {seed!r}")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Make the next iteration use epoch `epoch`'s permutation (the same on every rank)."""
        self.epoch = int(epoch)

    def __len__(self):
        return self.num_samples

    def indices(self):
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by wrapping around (several times if the data set is tiny)
            order = np.resize(order, self.total_size)
        order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())


def _is_int(x):
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool)
