"""Hostile and careless files: checkpoints whose members lie about their size, are not .npy, are
duplicated or shadowed; saves of cycles, over-long names, folders; permissions and stray temp files;
optimizer states of another type; IDX files with absurd headers. Each is a named tensorcore error."""

import io
import os
import struct
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim
from tensorcore.data import DataError
from tensorcore.data.idx import read_idx
from tensorcore.serialization import CheckpointError, CheckpointIOError, StateDictError


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "c.npz"
    tc.save({"w": np.arange(3, dtype=np.float32), "epoch": 2}, path)
    return path


def members(path):
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info.filename)) for info in z.infolist()]


def rebuild(path, entries, compression=zipfile.ZIP_STORED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as z:
            for name, data in entries:
                z.writestr(name, data)


def npy_header(shape, dtype="<f4"):
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False, "shape": shape})
    return out.getvalue()


def test_declared_size_is_checked_against_the_member_before_allocating(checkpoint):
    entries = members(checkpoint)
    header = npy_header((3,))
    entries = [(n, npy_header((10**12,)) + d[len(header):] if n == "a0.npy" else d) for n, d in entries]
    rebuild(checkpoint, entries)
    assert checkpoint.stat().st_size < 2000
    with pytest.raises(CheckpointError, match=r"'a0'.*declares shape \(1000000000000,\).*holds 12 bytes"):
        tc.load(checkpoint)


def test_a_member_claiming_more_than_its_compressed_bytes_is_refused(checkpoint):
    entries = members(checkpoint)
    rebuild(checkpoint, entries, zipfile.ZIP_DEFLATED)
    assert tc.load(checkpoint)["epoch"] == 2  # a deflated checkpoint (np.savez_compressed) loads
    raw = bytearray(checkpoint.read_bytes())
    central = raw.rfind(b"PK\x01\x02")  # the last central directory entry; its uncompressed size -> 2**31
    struct.pack_into("<I", raw, central + 24, 2**31)
    checkpoint.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="cannot hold the 2147483648 bytes it claims"):
        tc.load(checkpoint)


@pytest.mark.parametrize("extra, message", [
    (("notes.txt", b"hello"), r"member 'notes.txt' is not a .npy array"),
    (("a0", b"junk"), r"member 'a0' is not a .npy array"),
])
def test_non_npy_and_shadowing_members_are_refused(checkpoint, extra, message):
    rebuild(checkpoint, members(checkpoint) + [extra])
    with pytest.raises(CheckpointError, match=message):
        tc.load(checkpoint)


def test_a_duplicate_member_is_refused_not_loaded(checkpoint):
    entries = members(checkpoint)
    attacker = npy_header((3,)) + np.full(3, 666, np.float32).tobytes()
    rebuild(checkpoint, entries + [("a0.npy", attacker)])
    with pytest.raises(CheckpointError, match=r"member 'a0.npy' appears twice"):
        tc.load(checkpoint)


def test_a_structured_or_object_dtype_member_is_refused(checkpoint):
    entries = [(n, npy_header((1,), [("a", "<f4")]) + b"\0" * 4 if n == "a0.npy" else d)
               for n, d in members(checkpoint)]
    rebuild(checkpoint, entries)
    with pytest.raises(CheckpointError, match="dtype"):
        tc.load(checkpoint)


def test_load_of_a_folder_or_a_missing_file(tmp_path):
    with pytest.raises(CheckpointIOError, match="directory"):
        tc.load(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        tc.load(tmp_path / "nope.npz")
    assert isinstance(info.value, tc.TensorcoreError)


def test_save_of_a_cycle_is_a_checkpoint_error(tmp_path):
    loop = {"a": [1, 2]}
    loop["a"].append(loop)
    with pytest.raises(CheckpointError, match=r"obj\['a'\]\[2\] contains itself"):
        tc.save(loop, tmp_path / "c.npz")
    shared = [1]
    tc.save({"x": shared, "y": shared}, tmp_path / "c.npz")  # a shared (not cyclic) object is fine
    assert tc.load(tmp_path / "c.npz") == {"x": [1], "y": [1]}


def test_save_of_deep_nesting_is_a_checkpoint_error(tmp_path):
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(CheckpointError, match="nested too deeply"):
        tc.save(deep, tmp_path / "c.npz")


def test_long_names_save_and_too_long_names_are_refused(tmp_path):
    long_name = tmp_path / ("w" * 250 + ".npz")  # 254 bytes: valid, but not with a ".<pid>.<hex>.tmp" suffix
    tc.save({"epoch": 1}, long_name)
    assert tc.load(long_name) == {"epoch": 1}
    assert sorted(os.listdir(tmp_path)) == [long_name.name]
    with pytest.raises(CheckpointIOError, match="file name too long"):
        tc.save({}, tmp_path / ("w" * 256))


def test_save_to_a_folder_or_into_a_missing_folder(tmp_path):
    with pytest.raises(CheckpointIOError, match="is a directory") as info:
        tc.save({}, tmp_path)
    assert isinstance(info.value, OSError)
    with pytest.raises(CheckpointIOError, match="does not exist"):
        tc.save({}, tmp_path / "missing" / "c.npz")


def test_a_full_disk_is_a_checkpoint_io_error(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(CheckpointIOError, match="No space left on device") as info:
        tc.save({"w": np.ones(3)}, tmp_path / "c.npz")
    assert info.value.errno == 28 and os.listdir(tmp_path) == []


def test_save_keeps_the_existing_files_permission_bits(checkpoint):
    os.chmod(checkpoint, 0o640)
    tc.save({"epoch": 3}, checkpoint)
    assert oct(os.stat(checkpoint).st_mode & 0o777) == oct(0o640)
    assert tc.load(checkpoint) == {"epoch": 3}


def test_save_removes_stray_temps_of_killed_saves_of_the_same_path(checkpoint):
    folder = checkpoint.parent
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    stray = folder / f".c.npz.{dead_pid}.0123abcd.tmp"
    live = folder / f".c.npz.{os.getppid()}.0123abcd.tmp"  # a save in progress in a live process: kept
    other = folder / f".d.npz.{dead_pid}.0123abcd.tmp"  # another path's temp: kept
    for p in (stray, live, other):
        p.write_bytes(b"partial")
    tc.save({"epoch": 4}, checkpoint)
    assert not stray.exists() and live.exists() and other.exists()


# --- optimizer states -----------------------------------------------------------------------------


def _stepped(make):
    tc.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = make(model.parameters())
    model(tc.randn(4, 3)).sum().backward()
    opt.step()
    return model, opt


def test_optimizer_state_of_another_type_is_refused():
    _, sgd = _stepped(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    _, adam = _stepped(lambda ps: optim.Adam(ps, lr=0.01))
    with pytest.raises(StateDictError, match=r"SGD.load_state_dict: param group 0 is not a state of SGD: it lacks "
                                             r"hyperparameters dampening, momentum, nesterov"):
        sgd.load_state_dict(adam.state_dict())
    before = adam.param_groups[0]["lr"]
    with pytest.raises(StateDictError, match=r"Adam.load_state_dict: .* lacks hyperparameters amsgrad, betas"):
        adam.load_state_dict(sgd.state_dict())
    assert adam.param_groups[0]["lr"] == before  # nothing was taken from the refused state


@pytest.mark.parametrize("key, value", [("lr", float("inf")), ("lr", -1.0), ("betas", (0.9, 1.5)),
                                        ("eps", float("nan")), ("weight_decay", -0.1), ("amsgrad", "yes")])
def test_optimizer_state_with_invalid_hyperparameters_is_refused(key, value):
    _, adam = _stepped(lambda ps: optim.Adam(ps, lr=0.01))
    state = adam.state_dict()
    state["param_groups"][0][key] = value
    with pytest.raises(StateDictError, match=f"param group 0: Adam: .*{key.rstrip('s')}"):
        adam.load_state_dict(state)


def test_optimizer_state_with_foreign_entries_or_bad_step_is_refused():
    _, sgd = _stepped(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    state = sgd.state_dict()
    state["state"][0]["exp_avg"] = state["state"][0]["momentum_buffer"]
    with pytest.raises(StateDictError, match=r"state\[0\] has entries exp_avg that SGD does not keep"):
        sgd.load_state_dict(state)
    state = sgd.state_dict()
    state["state"][1]["step"] = -3
    with pytest.raises(StateDictError, match=r"state\[1\]\['step'\] must be an int >= 0"):
        sgd.load_state_dict(state)
    with pytest.raises(StateDictError, match="expected a dict with 'state'"):
        sgd.load_state_dict({"state": [], "param_groups": []})


def test_optimizer_state_round_trips_through_a_file(tmp_path):
    model, adam = _stepped(lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True))
    tc.save(adam.state_dict(), tmp_path / "o.npz")
    fresh = optim.Adam(model.parameters(), lr=0.5, amsgrad=True)
    fresh.load_state_dict(tc.load(tmp_path / "o.npz"))
    assert fresh.param_groups[0]["lr"] == 0.01 and fresh.param_groups[0]["betas"] == (0.9, 0.999)
    p = next(iter(model.parameters()))
    np.testing.assert_array_equal(fresh.state[p]["exp_avg"], adam.state[p]["exp_avg"])


# --- IDX ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ndim", [0, 33, 100, 255])
def test_idx_ndim_out_of_range(tmp_path, ndim):
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 8, ndim]) + b"\0" * (4 * ndim))
    with pytest.raises(DataError, match=f"ndim is {ndim}, expected 1 to 32"):
        read_idx(path)


def test_idx_size_beyond_memory_in_a_gzip_fails_before_reading(tmp_path):
    import gzip

    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x0e\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**20)))
    with pytest.raises(DataError, match="more than this machine's memory"):
        read_idx(path)
