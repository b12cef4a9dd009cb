"""tensorcore.utils.data against torch.utils.data: batches, orders, collation, samplers, workers."""

import collections
import os

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.utils import data as D

torch = pytest.importorskip("torch")
TD = torch.utils.data


def _np(x):
    if isinstance(x, (tc.Tensor, torch.Tensor)):
        return x.numpy() if isinstance(x, tc.Tensor) else x.detach().numpy()
    return x


def assert_same(ours, theirs):
    """The same nesting (lists, dicts, namedtuples), values and dtypes."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tc.Tensor), f"expected a Tensor, got {type(ours).__name__}"
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys()
        for k in theirs:
            assert_same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (type(ours), type(theirs))
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    else:
        assert ours == theirs


def test_namespace_is_torchs():
    import tensorcore as torch_alias

    assert torch_alias.utils.data.DataLoader is D.DataLoader
    from tensorcore.utils.data import DataLoader, Dataset  # noqa: F401
    assert tc.data.DataLoader is not None  # the older tc.data keeps working


Point = collections.namedtuple("Point", "x y")


class Samples(TD.Dataset):
    """The same samples in both libraries (made by `kind`)."""

    def __init__(self, kind, lib):
        self.kind, self.lib = kind, lib

    def __len__(self):
        return 7

    def __getitem__(self, i):
        t = (lambda a: tc.tensor(a)) if self.lib == "tc" else (lambda a: torch.tensor(a))
        if self.kind == "tuple":
            return t(np.arange(3, dtype=np.float32) + i), i
        if self.kind == "dict":
            return {"x": np.full((2,), i, dtype=np.float64), "label": float(i) / 2, "name": f"s{i}"}
        if self.kind == "numpy_scalar":
            return np.int32(i), np.float32(i) * 0.5, bool(i % 2)
        if self.kind == "namedtuple":
            return Point(t(np.array([i, i + 1])), [i, i * 2])
        raise AssertionError(self.kind)


class TcSamples(Samples, D.Dataset):
    pass


@pytest.mark.parametrize("kind", ["tuple", "dict", "numpy_scalar", "namedtuple"])
@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (1, False), (None, False)])
def test_batches_match_torch(kind, batch_size, drop_last):
    ours = list(D.DataLoader(TcSamples(kind, "tc"), batch_size=batch_size, drop_last=drop_last))
    theirs = list(TD.DataLoader(Samples(kind, "torch"), batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert_same(a, b)


def test_tensor_dataset_returns_tensors_and_batches_as_torch():
    x, y = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32), np.arange(10)
    ds, tds = D.TensorDataset(tc.tensor(x), tc.tensor(y)), TD.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ds) == 10 and isinstance(ds[0][0], tc.Tensor)
    assert_same(list(ds[2]), list(tds[2]))
    for a, b in zip(D.DataLoader(ds, batch_size=4), TD.DataLoader(tds, batch_size=4)):
        assert_same(a, b)
    with pytest.raises(tc.TensorcoreError, match="size mismatch"):
        D.TensorDataset(tc.zeros(3), tc.zeros(4))


def test_concat_subset_and_sequential_samplers_match_torch():
    a, b = list(range(5)), list(range(100, 103))
    ours, theirs = D.ConcatDataset([a, b]), TD.ConcatDataset([a, b])
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]
    sub, tsub = D.Subset(ours, [7, 0, 3]), TD.Subset(theirs, [7, 0, 3])
    assert [sub[i] for i in range(3)] == [tsub[i] for i in range(3)]
    assert list(D.BatchSampler(D.SequentialSampler(range(7)), 3, False)) == \
        list(TD.BatchSampler(TD.SequentialSampler(range(7)), 3, False))
    assert len(D.BatchSampler(range(7), 3, True)) == len(TD.BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(tc.TensorcoreError, match="batch_size"):
        D.BatchSampler(range(3), 0, False)


def test_random_split_sizes_as_torch_and_reproducible():
    ds = list(range(11))
    for lengths in ([0.5, 0.3, 0.2], [0.7, 0.3], [4, 7]):
        ours = D.random_split(ds, lengths, generator=tc.Generator().manual_seed(1))
        theirs = TD.random_split(ds, lengths, generator=torch.Generator().manual_seed(1))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(i for s in ours for i in s.indices) == list(range(11))
        again = D.random_split(ds, lengths, generator=tc.Generator().manual_seed(1))
        assert [s.indices for s in again] == [s.indices for s in ours]
    with pytest.raises(tc.TensorcoreError, match="random_split"):
        D.random_split(ds, [5, 5])


def test_random_samplers():
    g = tc.Generator().manual_seed(0)
    order = list(D.RandomSampler(range(10), generator=g))
    assert sorted(order) == list(range(10))
    assert len(list(D.RandomSampler(range(4), num_samples=10, generator=g))) == 10
    many = list(D.RandomSampler(range(4), num_samples=9, generator=g))
    assert sorted(many[:4]) == sorted(many[4:8]) == list(range(4))  # whole permutations first
    assert set(D.RandomSampler(range(3), replacement=True, num_samples=50, generator=g)) <= {0, 1, 2}
    assert sorted(D.SubsetRandomSampler([5, 7, 9], generator=g)) == [5, 7, 9]
    w = list(D.WeightedRandomSampler([0.0, 1.0, 3.0], 2000, generator=g))
    assert 0 not in w and 0.65 < w.count(2) / 2000 < 0.85
    assert sorted(D.WeightedRandomSampler([1.0, 0.0, 2.0, 1.0], 3, replacement=False, generator=g)) == [0, 2, 3]
    with pytest.raises(tc.TensorcoreError, match="without replacement"):
        D.WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    tc.manual_seed(5)
    first = list(D.DataLoader(range(8), batch_size=3, shuffle=True))
    tc.manual_seed(5)
    assert [b.tolist() for b in D.DataLoader(range(8), batch_size=3, shuffle=True)] == [b.tolist() for b in first]
    loader = D.DataLoader(range(8), shuffle=True, generator=tc.Generator().manual_seed(3))
    assert sorted(int(b) for b in loader) == list(range(8))
    assert isinstance(D.DistributedSampler(range(4), num_replicas=2, rank=0), object)


def test_batch_sampler_and_sampler_arguments():
    sampler = D.BatchSampler([3, 1, 2, 0], batch_size=2, drop_last=False)
    got = [b.tolist() for b in D.DataLoader(list(range(10, 14)), batch_sampler=sampler)]
    assert got == [[13, 11], [12, 10]]
    got = [b.tolist() for b in D.DataLoader(list(range(10, 14)), sampler=[2, 2, 0], batch_size=2)]
    assert got == [[12, 12], [10]]
    for kw in [{"batch_sampler": sampler, "batch_size": 2}, {"sampler": [0], "shuffle": True},
               {"batch_size": None, "drop_last": True}, {"persistent_workers": True},
               {"num_workers": -1}, {"prefetch_factor": 2}]:
        with pytest.raises(tc.TensorcoreError):
            D.DataLoader(list(range(4)), **kw)


def test_collate_fn_and_default_collate_errors():
    loader = D.DataLoader(list(range(5)), batch_size=2, collate_fn=lambda samples: sum(samples))
    assert list(loader) == [1, 5, 4]
    with pytest.raises(tc.TensorcoreError, match="equal size"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(tc.TensorcoreError, match="found object"):
        D.default_collate([object(), object()])


class Stream(D.IterableDataset):
    """Yields 0..n-1, split between workers by get_worker_info (as PyTorch's documentation shows)."""

    def __init__(self, n, torch_info=None):
        self.n, self.torch_info = n, torch_info

    def __len__(self):
        return self.n

    def __iter__(self):
        info = (self.torch_info or D.get_worker_info)()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class TorchStream(TD.IterableDataset):
    def __init__(self, n):
        self.inner = Stream(n, TD.get_worker_info)

    def __iter__(self):
        return iter(self.inner)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterable_dataset_order_matches_torch(num_workers):
    ours = [b.tolist() for b in D.DataLoader(Stream(11), batch_size=2, num_workers=num_workers)]
    theirs = [b.tolist() for b in TD.DataLoader(TorchStream(11), batch_size=2, num_workers=num_workers)]
    assert ours == theirs
    with pytest.raises(tc.TensorcoreError, match="shuffle"):
        D.DataLoader(Stream(3), shuffle=True)


class Pids(D.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = D.get_worker_info()
        return i, os.getpid(), info.id, float(tc.rand(()).item()), _INIT.get("called", -1)


_INIT = {}


def _init_fn(worker_id):
    _INIT["called"] = worker_id


def test_workers_are_processes_in_order_seeded_and_initialised():
    loader = D.DataLoader(Pids(), batch_size=2, num_workers=3, worker_init_fn=_init_fn,
                          generator=tc.Generator().manual_seed(0))
    batches = list(loader)
    index, pids, ids, draws, inits = (sum((b[k].tolist() for b in batches), []) for k in range(5))
    assert index == list(range(12))  # the sampler's order, whatever worker finished first
    assert os.getpid() not in pids and len(set(pids)) == 3
    assert ids == [0, 0, 1, 1, 2, 2] * 2 and inits == ids  # round robin; each worker ran worker_init_fn
    assert len(set(draws)) == 12  # distinct per-worker seeds
    again = list(D.DataLoader(Pids(), batch_size=2, num_workers=3, generator=tc.Generator().manual_seed(0)))
    assert sum((b[3].tolist() for b in again), []) == draws  # generator= fixes the workers' seeds
    assert D.get_worker_info() is None


def test_persistent_workers_are_reused_across_epochs():
    loader = D.DataLoader(Pids(), batch_size=4, num_workers=2, persistent_workers=True)
    first = {p for b in loader for p in b[1].tolist()}
    second = {p for b in loader for p in b[1].tolist()}
    assert first == second and len(first) == 2
    stream = D.DataLoader(Stream(5), batch_size=2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in stream] == [b.tolist() for b in stream] == [[0, 2], [1, 3], [4]]
    loader._workers.shutdown()
    stream._workers.shutdown()


class Failing(D.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("sample 2 is broken")
        if i == 3:
            os._exit(3)
        return i


def test_worker_errors_are_named():
    with pytest.raises(tc.TensorcoreError, match="KeyError.*sample 2 is broken"):
        list(D.DataLoader(Failing(), batch_size=1, num_workers=2, sampler=[0, 1, 2]))
    with pytest.raises(tc.TensorcoreError, match="exited unexpectedly"):
        list(D.DataLoader(Failing(), batch_size=1, num_workers=1, sampler=[3]))
