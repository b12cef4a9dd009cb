"""tensorcore.serialization: round trips, refusal of pickles and foreign files, atomic writes."""

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcore as tc
from tensorcore import serialization
from tensorcore.errors import TensorcoreError
from tensorcore.serialization import CheckpointError, StateDictError, check_state_dict, load, save

REPO = Path(__file__).resolve().parents[1]


def assert_same(a, b, where="obj"):
    """Equal values and equal types, recursively (NaN equals NaN; arrays: dtype, shape, values)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        assert [type(k) for k in a] == [type(k) for k in b], f"{where}: key types differ"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, tc.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad and str(a.device) == str(b.device)
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def numpy_state():
    """An optimizer-like state: int keys, param groups, NumPy leaves of many dtypes and layouts."""
    rng = np.random.default_rng(0)
    return {
        "state": {
            0: {"step": 3, "exp_avg": rng.standard_normal((4, 3)).astype(np.float32)},
            1: {"step": np.int64(3), "exp_avg_sq": rng.standard_normal(5)},
        },
        "param_groups": [
            {
                "lr": 1e-3,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "amsgrad": False,
                "params": [0, 1],
                "name": None,
            },
        ],
        "arrays": [
            np.arange(6, dtype=np.int16).reshape(2, 3).T,  # not contiguous
            np.array(2.5, dtype=np.float64),  # 0-d
            np.zeros((0, 3), dtype=np.uint8),  # empty
            np.array([True, False]),
            np.array([1 + 2j], dtype=np.complex64),
            np.arange(3, dtype=">i4"),  # big-endian
        ],
        "scalars": [float("nan"), float("inf"), -0.0, 10**30, "ünïcode ✓", "", True, np.float32(0.1)],
        "empty": ({}, [], ()),
        1.5: "float key",
        None: "none key",
        True: "bool key",
    }


def test_round_trip_nested_numpy_state(tmp_path):
    obj = numpy_state()
    save(obj, tmp_path / "ckpt.npz")
    assert_same(load(tmp_path / "ckpt.npz"), obj)
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    save({"w": np.ones(3)}, tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        header = json.loads(archive["__tensorcore__"].tobytes())
        assert header["format"] == "tensorcore-checkpoint" and header["version"] == 1
        np.testing.assert_array_equal(archive[header["root"]["items"][0][1]["entry"]], np.ones(3))


def test_round_trip_tensors(tmp_path):
    w = tc.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    b = tc.tensor(np.zeros(3, dtype=np.float64))
    labels = tc.tensor(np.array([1, 2], dtype=np.int64))
    obj = {"model": {"fc.weight": w, "fc.bias": b, "labels": labels}, "epoch": 4, "raw": np.ones(2)}
    save(obj, tmp_path / "t.npz")
    out = load(tmp_path / "t.npz")
    assert_same(out, obj)
    assert isinstance(out["raw"], np.ndarray) and isinstance(out["model"]["fc.bias"], tc.Tensor)
    assert str(load(tmp_path / "t.npz", map_location="cpu")["model"]["fc.weight"].device) == "cpu"


def test_save_refuses_unsupported_values_naming_the_place(tmp_path):
    with pytest.raises(CheckpointError, match=r"cannot save a set at obj\['opt'\]\[0\]"):
        save({"opt": [{1, 2}]}, tmp_path / "x.npz")
    with pytest.raises(CheckpointError, match=r"dtype object"):
        save({"a": np.array([None])}, tmp_path / "x.npz")
    with pytest.raises(CheckpointError, match=r"dict key \(1, 2\) at obj is a tuple"):
        save({(1, 2): 3}, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)


def test_numpy_scalar_keys_become_python_scalars(tmp_path):
    save({np.int64(3): "a", np.float32(0.5): "b"}, tmp_path / "k.npz")
    out = load(tmp_path / "k.npz")
    assert out == {3: "a", 0.5: "b"} and [type(k) for k in out] == [int, float]


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
arrays = st.sampled_from(["float32", "int8", "uint16", "bool", "complex128"]).flatmap(
    lambda dt: st.lists(st.integers(0, 3), max_size=3).map(
        lambda shape: (np.arange(int(np.prod(shape))) % 3).astype(dt).reshape(shape)
    )
)
nested = st.recursive(
    json_scalars | arrays,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=3) | st.integers(), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(nested)
def test_round_trip_random_structures(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("prop") / "c.npz"
    save(obj, path)
    assert_same(load(path), obj)


# ---------------------------------------------------------------------------------------------
# refusals: foreign files, pickles, corruption


def test_checkpoint_errors_are_tensorcore_errors():
    assert issubclass(CheckpointError, TensorcoreError) and issubclass(StateDictError, TensorcoreError)


def test_refuses_plain_npz_with_object_array_without_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("load() must never unpickle")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with pytest.raises(CheckpointError, match=r"evil.npz.*not a tensorcore checkpoint: a plain .npz"):
        load(path)


def rewrite(path, change):
    """Rewrite a checkpoint's entries through change(dict_of_arrays) (header decoded as JSON)."""
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    header = json.loads(entries["__tensorcore__"].tobytes())
    header = change(entries, header) or header
    entries["__tensorcore__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **entries)


def test_refuses_pickled_entry_inside_a_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"w": np.ones(3)}, path)
    rewrite(path, lambda entries, header: entries.update(a0=np.array([1, "x", None], dtype=object)))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(CheckpointError, match=r"c.npz.*entry 'a0' holds pickled Python objects; refused"):
        load(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (pickle.dumps({"w": [1.0]}), "looks like a bare pickle"),
        (b"", "the file is empty"),
        (b"hello world", "does not start with the zip magic"),
    ],
)
def test_refuses_non_checkpoint_files(tmp_path, content, message):
    path = tmp_path / "weights.bin"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f"load\\({path}\\): not a tensorcore checkpoint: .*{message}"):
        load(path)


def test_refuses_npy_and_foreign_zip(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        load(tmp_path / "a.npy")
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(CheckpointError, match="not a tensorcore checkpoint"):
        load(tmp_path / "z.zip")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_truncated_and_bit_flipped_files_are_corrupt(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(1000.0)}, path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(CheckpointError, match=r"c.npz.*corrupt"):
        load(path)
    flipped = bytearray(content)
    flipped[len(content) // 3] ^= 0xFF  # inside a0's data: the zip CRC catches it
    path.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match=r"c.npz.*corrupt entry 'a0'.*CRC"):
        load(path)


def drop_entry(entries, header):
    del entries["a1"]


def wrong_shape(entries, header):
    entries["a0"] = entries["a0"].reshape(3, 2)


def wrong_dtype(entries, header):
    entries["a0"] = entries["a0"].astype(np.float64)


def extra_entry(entries, header):
    entries["sneaky"] = np.zeros(1)


def future_version(entries, header):
    header["version"] = 99


def bad_node(entries, header):
    header["root"]["items"][0][1] = {"type": "lambda"}


@pytest.mark.parametrize(
    "change, message",
    [
        (drop_entry, r"missing entry 'a1' for obj\['b'\]"),
        (wrong_shape, r"entry 'a0' for obj\['a'\] has shape \(3, 2\), the header says \(2, 3\)"),
        (wrong_dtype, r"entry 'a0' for obj\['a'\] has dtype <f8, the header says <f4"),
        (extra_entry, r"entries \['sneaky'\] are not referenced"),
        (future_version, r"format version 99; this tensorcore reads 1"),
        (bad_node, r"unknown node type 'lambda' at obj"),
    ],
)
def test_header_and_entries_are_validated(tmp_path, change, message):
    path = tmp_path / "c.npz"
    save({"a": np.zeros((2, 3), dtype=np.float32), "b": np.ones(2)}, path)
    rewrite(path, change)
    with pytest.raises(CheckpointError, match=f"c.npz.*{message}"):
        load(path)


def test_header_that_is_not_json(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, __tensorcore__=np.frombuffer(b"{not json", dtype=np.uint8))
    with pytest.raises(CheckpointError, match="header is not valid JSON"):
        load(path)


# ---------------------------------------------------------------------------------------------
# atomic writes


def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"epoch": 1, "w": np.ones(4)}, path)
    before = path.read_bytes()

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 partial garbage")
        raise OSError("No space left on device")

    monkeypatch.setattr(serialization.np, "savez", half_written)
    with pytest.raises(OSError, match="No space left"):
        save({"epoch": 2, "w": np.zeros(4)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.npz"]
    monkeypatch.undo()
    assert load(path)["epoch"] == 1


def test_failed_rename_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"epoch": 1}, path)
    monkeypatch.setattr(serialization.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save({"epoch": 2}, path)
    monkeypatch.undo()
    assert load(path) == {"epoch": 1} and os.listdir(tmp_path) == ["c.npz"]


def test_save_fsyncs_file_and_folder_and_keeps_umask_permissions(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(serialization.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    save({"x": 1}, tmp_path / "c.npz")
    assert len(synced) == 2
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o666 & ~umask


CHILD = """
import sys, numpy as np
from tensorcore import serialization
np.random.seed(0)
if sys.argv[2] == "slow-fsync":  # everything written, killed before the rename
    import os, time
    os.fsync = lambda fd: time.sleep(60)  # this child process only
big = np.ones(int(sys.argv[3]), dtype=np.float64)
serialization.save({"epoch": 2, "big": big}, sys.argv[1])
"""


@pytest.mark.parametrize("mode, size", [("writing", 8_000_000), ("slow-fsync", 1000)])
def test_killed_save_leaves_previous_checkpoint_intact(tmp_path, mode, size):
    path = tmp_path / "ckpt.npz"
    previous = {"epoch": 1, "w": np.arange(10.0)}
    save(previous, path)
    before = path.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(path), mode, str(size)], env=env)
    try:
        deadline = time.monotonic() + 30
        threshold = 1 << 20 if mode == "writing" else 8000  # a good part of the data is in the temp file
        while time.monotonic() < deadline and child.poll() is None:
            temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            if temps and temps[0].stat().st_size > threshold:
                break
            time.sleep(0.001)
        assert child.poll() is None, "the child finished (or failed) before it could be killed mid-save"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert_same(load(path), previous)
    # The next save works and replaces the file (the killed one's temp file is left behind).
    save({"epoch": 3}, path)
    assert load(path) == {"epoch": 3}


# ---------------------------------------------------------------------------------------------
# check_state_dict


def test_check_state_dict_ok_and_report():
    expected = {"fc.weight": ((4, 3), np.float32), "fc.bias": ((4,), None)}
    given_ok = {"fc.weight": np.zeros((4, 3), np.float32), "fc.bias": np.zeros(4, np.float64)}
    assert check_state_dict(expected, given_ok) == ([], [], [])
    given = {"fc.weight": np.zeros((3, 4), np.float32), "extra": np.zeros(1)}
    missing, unexpected, mismatched = check_state_dict(expected, given, strict=False)
    assert missing == ["fc.bias"] and unexpected == ["extra"]
    assert [m.name for m in mismatched] == ["fc.weight"] and mismatched[0].given_shape == (3, 4)
    dtype_only = check_state_dict(expected, {**given_ok, "fc.weight": np.zeros((4, 3), np.int64)}, strict=False)
    assert dtype_only.mismatched[0].given_dtype == np.int64


def test_check_state_dict_strict_names_everything():
    expected = {"a": ((2,), np.float32), "b": ((3,), np.float32), "c": ((), np.float32)}
    given = {"a": np.zeros(5, np.float32), "z": np.zeros(1), "c": np.float32(1.0)}
    with pytest.raises(StateDictError) as info:
        check_state_dict(expected, given)
    message = str(info.value)
    assert "1 missing, 1 unexpected, 1 mismatched" in message
    assert "missing: b" in message and "unexpected: z" in message
    assert "wrong shape: a is (5,), expected (2,)" in message
    with pytest.raises(StateDictError, match="wrong dtype: a is float64, expected float32"):
        check_state_dict({"a": ((2,), np.float32)}, {"a": np.zeros(2)})
    with pytest.raises(StateDictError, match="expected a dict"):
        check_state_dict(expected, [1, 2])


def test_check_state_dict_accepts_tensors():
    expected = {"w": ((2, 2), np.float32)}
    assert check_state_dict(expected, {"w": tc.tensor(np.zeros((2, 2), np.float32))}) == ([], [], [])


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "c.npz"
    save({"w": np.arange(50, dtype=np.float32).reshape(5, 10), "opt": {0: {"step": 3}}, "name": "x"}, path)
    return path.read_bytes()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_checkpoints_raise_only_checkpoint_error(tmp_path_factory, good_checkpoint, data):
    content = bytearray(good_checkpoint)
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    position = data.draw(st.integers(0, len(content) - 1))
    if kind == "flip":
        content[position] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del content[position:]
    else:
        content[position:position] = data.draw(st.binary(min_size=1, max_size=4))
    path = tmp_path_factory.mktemp("damaged") / "c.npz"
    path.write_bytes(bytes(content))
    try:
        load(path)
    except CheckpointError as exc:
        assert str(path) in str(exc)


def test_absurdly_nested_header_is_corrupt_not_recursion_error(tmp_path):
    path = tmp_path / "deep.npz"
    root = '{"type": "list", "items": [' * 100_000 + "]}" * 100_000
    header = '{"format": "tensorcore-checkpoint", "version": 1, "root": ' + root + "}"
    np.savez(path, __tensorcore__=np.frombuffer(header.encode(), dtype=np.uint8))
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load(path)
