"""tensorcore.data: the IDX reader on small files written here, data set search, DataLoader."""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcore as tc
import tensorcore.data as data
from tensorcore.data import DataError, DataLoader, DatasetNotFoundError, TensorDataset, read_idx, write_idx
from tensorcore.errors import TensorcoreError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array, code=None):
    """Hand-built IDX bytes (independent of write_idx), big-endian."""
    codes = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D, "float64": 0x0E}
    code = codes[array.dtype.name] if code is None else code
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def as_numpy(batch):
    return tuple(t.numpy() for t in batch)


# ---------------------------------------------------------------------------------------------
# IDX reader and writer


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, array, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_idx_reads_hand_built_file_and_detects_gzip_by_magic_not_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.int32)
    raw = tmp_path / "labels.gz"  # named .gz but raw
    raw.write_bytes(idx_bytes(labels))
    packed = tmp_path / "labels-idx1-ubyte"  # gzip without the suffix
    packed.write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(raw), labels)
    np.testing.assert_array_equal(read_idx(str(packed)), labels)


def test_write_idx_chooses_gzip_by_suffix_and_is_deterministic(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", a)
    write_idx(tmp_path / "b", a)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "b").read_bytes() == idx_bytes(a)
    before = (tmp_path / "a.gz").read_bytes()
    write_idx(tmp_path / "a.gz", a)
    assert (tmp_path / "a.gz").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.gz", "b"]  # no temp files left


def test_write_idx_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(DataError, match="int64 has no IDX type code"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def test_read_idx_result_is_writable(tmp_path):
    write_idx(tmp_path / "x.gz", np.zeros((2, 2), dtype=np.uint8))
    out = read_idx(tmp_path / "x.gz")
    out[0, 0] = 1


@pytest.mark.parametrize("compress", [False, True])
def test_idx_bad_magic(tmp_path, compress):
    content = b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc"
    path = tmp_path / "bad"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(DataError, match=r"bad: not an IDX file: magic bytes are 01 02, expected 00 00"):
        read_idx(path)


def test_idx_unknown_type_code(tmp_path):
    path = tmp_path / "code"
    path.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8), code=0x0A))
    with pytest.raises(DataError, match=r"code: unknown IDX type code 0x0A"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_truncated_data_names_file_and_sizes(tmp_path, compress):
    content = idx_bytes(np.zeros((4, 5), dtype=np.int16))[:-3]  # header 12 + 40 data bytes, 3 cut
    path = tmp_path / "trunc-idx2-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message
    assert "52 bytes" in message and "is 49 bytes" in message and "(4, 5)" in message


@pytest.mark.parametrize("compress", [False, True])
def test_idx_trailing_bytes(tmp_path, compress):
    content = idx_bytes(np.zeros(3, dtype=np.uint8)) + b"xyz!"
    path = tmp_path / "trail"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(DataError, match=r"trail: 4 trailing bytes.* 11 bytes in total.* is 15 bytes"):
        read_idx(path)


def test_idx_truncated_header(tmp_path):
    (tmp_path / "short").write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="shorter than the 4-byte header"):
        read_idx(tmp_path / "short")
    (tmp_path / "dims").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">2I", 1, 2))
    with pytest.raises(DataError, match=r"truncated header: 3 dimensions need 16 bytes"):
        read_idx(tmp_path / "dims")


def test_idx_huge_announced_size_fails_without_allocating(tmp_path):
    path = tmp_path / "huge"
    path.write_bytes(b"\x00\x00\x0e\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**20) + b"\0" * 8)
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_idx_truncated_gzip_stream(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match=r"cut.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_data_errors_are_tensorcore_value_errors():
    assert issubclass(DataError, TensorcoreError) and issubclass(DataError, ValueError)
    assert issubclass(DatasetNotFoundError, DataError)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=64))
def test_idx_random_bytes_never_crash(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "f"
    path.write_bytes(content)
    try:
        out = read_idx(path)
    except DataError:
        return
    assert isinstance(out, np.ndarray)


# ---------------------------------------------------------------------------------------------
# MNIST-format data sets: search order, validation, the not-found message


def make_dataset(folder, n_train=6, n_test=4, gz=True, label_count=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    suffix = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, label_count or n, dtype=np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $TENSORCORE_DATA, an empty system folder and an empty home."""
    monkeypatch.delenv("TENSORCORE_DATA", raising=False)
    monkeypatch.setattr(data.datasets, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_dataset_search_order(isolated, monkeypatch):
    tmp = isolated
    home = make_dataset(tmp / "home" / ".cache" / "tensorcore" / "fashion-mnist", n_train=1)
    assert data.find_files("fashion-mnist")["train_images"].parent == home
    system = make_dataset(tmp / "system" / "fashion-mnist", n_train=2)
    assert data.find_files("fashion-mnist")["train_images"].parent == system
    flat = make_dataset(tmp / "env", n_train=3)
    monkeypatch.setenv("TENSORCORE_DATA", str(flat))
    assert data.find_files("fashion-mnist")["train_images"].parent == flat
    sub = make_dataset(tmp / "env" / "fashion-mnist", n_train=4)
    assert data.find_files("fashion-mnist")["train_images"].parent == sub
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist()
    assert x_train.shape == (4, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (4,) and y_train.dtype == np.int64
    assert x_test.shape == (4, 28, 28) and y_test.dtype == np.int64
    assert data.search_paths("mnist") == [
        tmp / "env" / "mnist",
        tmp / "env",
        tmp / "system" / "mnist",
        tmp / "home" / ".cache" / "tensorcore" / "mnist",
    ]


def test_dataset_raw_files_and_mnist(isolated, monkeypatch):
    make_dataset(isolated / "d" / "mnist", n_train=5, gz=False)
    monkeypatch.setenv("TENSORCORE_DATA", str(isolated / "d"))
    (x_train, y_train), _ = data.mnist()
    assert x_train.shape == (5, 28, 28) and y_train.shape == (5,)
    assert set(np.unique(y_train)) <= set(range(10))


def test_dataset_not_found_message_says_how_to_get_it(isolated, monkeypatch):
    monkeypatch.setenv("TENSORCORE_DATA", str(isolated / "nothing"))
    with pytest.raises(DatasetNotFoundError) as info:
        data.fashion_mnist()
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    first_line = message.splitlines()[0]  # self-contained: what a CLI prints
    assert "run `sudo apt-get install dataset-fashion-mnist`" in first_line and "TENSORCORE_DATA" in first_line
    assert "nothing is downloaded" in message
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        assert name in message
    assert str(isolated / "nothing" / "fashion-mnist") in message
    assert str(isolated / "system" / "fashion-mnist") in message
    with pytest.raises(DatasetNotFoundError) as info:
        data.mnist()
    assert "apt-get" not in str(info.value) and "t10k-labels-idx1-ubyte" in str(info.value)


def test_dataset_incomplete_folder_is_named(isolated, monkeypatch):
    folder = make_dataset(isolated / "env")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("TENSORCORE_DATA", str(folder))
    with pytest.raises(DatasetNotFoundError, match=r"missing t10k-labels-idx1-ubyte"):
        data.fashion_mnist()


def test_dataset_count_mismatch(isolated, monkeypatch):
    make_dataset(isolated / "env", n_train=6, label_count=5)
    monkeypatch.setenv("TENSORCORE_DATA", str(isolated / "env"))
    with pytest.raises(DataError, match=r"6 images in .*train-images.* but 5 labels in .*train-labels"):
        data.fashion_mnist()


def test_dataset_corrupt_file_is_reported(isolated, monkeypatch):
    folder = make_dataset(isolated / "env")
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    monkeypatch.setenv("TENSORCORE_DATA", str(folder))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: truncated"):
        data.fashion_mnist()


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason=f"{DEBIAN_DIR} missing: apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.delenv("TENSORCORE_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,) and y_train.dtype == np.int64
    assert sorted(np.unique(y_train)) == list(range(10))
    assert np.bincount(y_train).tolist() == [6000] * 10  # the published class balance
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]


# ---------------------------------------------------------------------------------------------
# Dataset, TensorDataset, DataLoader


def test_tensor_dataset_checks_lengths():
    with pytest.raises(DataError, match=r"different lengths \[3, 4\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    ds = TensorDataset(np.arange(6).reshape(3, 2), np.array([7, 8, 9]))
    assert len(ds) == 3
    row, label = ds[1]
    assert row.tolist() == [2, 3] and label == 8


def test_tensor_dataset_accepts_tensors():
    ds = TensorDataset(tc.tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([0, 1]))
    (x, y) = next(iter(DataLoader(ds, batch_size=2)))
    assert isinstance(x, tc.Tensor)
    np.testing.assert_array_equal(x.numpy(), [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    "n, batch, drop_last, sizes",
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, True, [3, 3, 3]),
        (2, 5, True, []),
        (0, 4, False, []),
    ],
)
def test_loader_batching(n, batch, drop_last, sizes):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) == len(batches)
    assert [len(b[1].numpy()) for b in batches] == sizes
    for xb, yb in batches:
        assert isinstance(xb, tc.Tensor) and isinstance(yb, tc.Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
    if sizes:
        seen = np.concatenate([yb.numpy() for _, yb in batches])
        np.testing.assert_array_equal(seen, np.arange(sum(sizes)))  # in order without shuffle
        np.testing.assert_array_equal(batches[0][0].numpy(), x[:batch])


def test_loader_shuffle_covers_every_index_once_per_epoch_and_reshuffles():
    n = 103
    loader = DataLoader(TensorDataset(np.arange(n)), batch_size=10, shuffle=True, seed=0)
    epochs = [np.concatenate([as_numpy(b)[0] for b in loader]) for _ in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(n))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert not np.array_equal(epochs[0], np.arange(n))


def test_loader_shuffle_reproducible_with_seed_and_set_epoch():
    ds = TensorDataset(np.arange(50))

    def run(loader, epochs):
        return [np.concatenate([as_numpy(b)[0] for b in loader]).tolist() for _ in range(epochs)]

    first = run(DataLoader(ds, batch_size=7, shuffle=True, seed=42), 3)
    assert first == run(DataLoader(ds, batch_size=7, shuffle=True, seed=42), 3)
    assert first != run(DataLoader(ds, batch_size=7, shuffle=True, seed=43), 3)
    resumed = DataLoader(ds, batch_size=7, shuffle=True, seed=42)
    resumed.set_epoch(2)
    assert run(resumed, 1)[0] == first[2]
    tc.manual_seed(0)
    unseeded = DataLoader(ds, batch_size=7, shuffle=True)
    tc.manual_seed(0)
    assert run(DataLoader(ds, batch_size=7, shuffle=True), 1) == run(unseeded, 1)
    unseeded.set_epoch(0)
    unseeded_first = run(unseeded, 1)[0]
    unseeded.set_epoch(0)
    assert run(unseeded, 1)[0] == unseeded_first


def test_loader_state_dict_resumes_the_same_epochs(tmp_path):
    from tensorcore.serialization import load, save

    ds = TensorDataset(np.arange(30))
    for seed in (7, None, np.random.default_rng(3)):
        loader = DataLoader(ds, batch_size=4, shuffle=True, seed=seed)
        list(loader)
        save({"loader": loader.state_dict()}, tmp_path / "s.npz")
        expected = [as_numpy(b)[0].tolist() for _ in range(2) for b in loader]
        other_seed = np.random.default_rng(99) if isinstance(seed, np.random.Generator) else 1
        resumed = DataLoader(ds, batch_size=4, shuffle=True, seed=other_seed)
        resumed.load_state_dict(load(tmp_path / "s.npz")["loader"])
        assert [as_numpy(b)[0].tolist() for _ in range(2) for b in resumed] == expected
    with pytest.raises(DataError, match="expected"):
        resumed.load_state_dict({"epoch": 1})


def test_loader_shuffle_drop_last_uses_distinct_indices():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4, shuffle=True, drop_last=True, seed=1)
    order = np.concatenate([as_numpy(b)[0] for b in loader])
    assert len(order) == 8 and len(set(order.tolist())) == 8


def test_loader_accepts_numpy_generator():
    ds = TensorDataset(np.arange(20))
    a = [as_numpy(b)[0].tolist() for b in DataLoader(ds, 20, shuffle=True, seed=np.random.default_rng(5))]
    b = [as_numpy(b)[0].tolist() for b in DataLoader(ds, 20, shuffle=True, seed=np.random.default_rng(5))]
    assert a == b and sorted(a[0]) == list(range(20))
    c = [as_numpy(b)[0].tolist() for b in DataLoader(ds, 20, shuffle=True, seed=tc.Generator(5))]
    assert c == a


def test_loader_fast_path_does_not_index_samples_one_by_one(monkeypatch):
    ds = TensorDataset(np.arange(1000, dtype=np.float32).reshape(500, 2), np.arange(500))

    def forbidden(self, index):
        raise AssertionError("per-sample __getitem__ on the fast path")

    monkeypatch.setattr(TensorDataset, "__getitem__", forbidden)
    batches = list(DataLoader(ds, batch_size=128, shuffle=True, seed=0))
    assert len(batches) == 4


class Squares(data.Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full(3, i, dtype=np.float32), i * i


def test_loader_generic_dataset_and_collate_fn():
    batches = list(DataLoader(Squares(), batch_size=3))
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1, 4], [9, 16, 25], [36]]
    assert batches[0][0].numpy().shape == (3, 3)
    lengths = list(DataLoader(Squares(), batch_size=3, collate_fn=len))
    assert lengths == [3, 3, 1]


class Sampler:
    """A stand-in for a DistributedSampler: every other index, order depending on the epoch."""

    def __init__(self, n):
        self.n, self.epochs = n, []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __iter__(self):
        indices = list(range(0, self.n, 2))
        return iter(indices[::-1] if self.epochs[-1] % 2 else indices)

    def __len__(self):
        return (self.n + 1) // 2


def test_loader_sampler_hook():
    sampler = Sampler(9)
    loader = DataLoader(TensorDataset(np.arange(9) * 10), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [as_numpy(b)[0].tolist() for b in loader] == [[0, 20], [40, 60], [80]]
    assert [as_numpy(b)[0].tolist() for b in loader] == [[80, 60], [40, 20], [0]]
    loader.set_epoch(6)
    list(loader)
    assert sampler.epochs == [0, 1, 6]
    with pytest.raises(DataError, match="either shuffle=True or a sampler"):
        DataLoader(TensorDataset(np.arange(3)), sampler=sampler, shuffle=True)
    with pytest.raises(DataError, match="index 5 is out of range for a dataset of length 3"):
        list(DataLoader(TensorDataset(np.arange(3)), sampler=[0, 5]))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "4"])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(DataError, match="batch_size must be a positive integer"):
        DataLoader(TensorDataset(np.arange(3)), batch_size=bad)


def test_random_split_and_subset_fast_path():
    ds = TensorDataset(np.arange(10) * 3)
    train, val = data.random_split(ds, [7, 3], seed=0)
    assert len(train) == 7 and len(val) == 3
    assert sorted(train.indices.tolist() + val.indices.tolist()) == list(range(10))
    got = np.concatenate([as_numpy(b)[0] for b in DataLoader(val, batch_size=2)])
    np.testing.assert_array_equal(got, val.indices * 3)
    a, b, c = data.random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    inner, _ = data.random_split(train, [4, 3], seed=2)
    got = np.concatenate([as_numpy(b)[0] for b in DataLoader(inner, batch_size=3)])
    np.testing.assert_array_equal(got, train.indices[inner.indices] * 3)
    with pytest.raises(DataError, match="do not sum to the dataset length 10"):
        data.random_split(ds, [5, 6])
