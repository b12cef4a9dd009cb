"""Checkpoints: save and load nested state (model and optimizer state dicts) in a .npz, no pickle.

File layout: a NumPy .npz (a zip of .npy files) that np.load opens with allow_pickle=False.

    "__tensorcore__"   uint8 array: UTF-8 JSON {"format": "tensorcore-checkpoint", "version": 1,
                       "root": node}
    "a0", "a1", ...    one entry per array leaf (Tensor, NumPy array or NumPy scalar)

A node is a JSON scalar (null, true/false, a number, a string) for a Python scalar, or an object:

    {"type": "dict", "items": [[key, node], ...]}    keys: str, int, float, bool or None
    {"type": "list" | "tuple", "items": [node, ...]}
    {"type": "tensor" | "ndarray" | "npscalar", "entry": "a3", "shape": [...], "dtype": "<f4"}
        (tensor nodes also record "device" and "requires_grad")

Writes are atomic (tensorcore/atomic.py): the archive goes to a temp file in the target's folder,
is flushed and fsync'ed, renamed over the target with os.replace, and the folder is fsync'ed. A
save that is interrupted at any point (an exception, a kill) leaves the previous file as it was.
Reads check every member before allocating (tensorcore/npz_members.py).
"""

import errno
import io
import json
import os
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from .atomic import atomic_write
from .errors import TensorcoreError
from .npz_members import ARRAY_KINDS as _ARRAY_KINDS
from .npz_members import NpzMembers
from .torch_checkpoint import TorchZipReader, is_torch_zip

__all__ = ["CheckpointError", "CheckpointIOError", "StateDictError", "atomic_write", "check_state_dict",
           "describe_state_dict_report", "load", "save"]

FORMAT = "tensorcore-checkpoint"
VERSION = 1
HEADER = "__tensorcore__"


class CheckpointError(TensorcoreError, ValueError):
    """A checkpoint file that cannot be written or read; the message names the file and the problem."""


class StateDictError(TensorcoreError, ValueError):
    """A state dict whose names or shapes do not match the module or optimizer it is loaded into."""


# ---------------------------------------------------------------------------------------------
# save


def save(obj, path, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True):
    """Save a nested dict/list/tuple of Tensors, NumPy arrays, Python scalars, strings and None.

    torch.save's pickle arguments are accepted and have no effect: nothing is ever pickled.

    The file is a .npz readable with np.load(path, allow_pickle=False); see the module docstring.
    The write is atomic: an interrupted save never destroys the previous file at `path`.

    >>> tc.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "ckpt.npz")
    >>> state = tc.load("ckpt.npz")
    """
    target = path if hasattr(path, "write") else None  # a file object (io.BytesIO...): written in place
    path = "<file object>" if target is not None else _check_save_path(path)
    arrays = {}
    try:
        root = _encode(obj, arrays, "obj", path, set())
    except RecursionError:
        raise CheckpointError(f"save({path}): the object is nested too deeply to save") from None
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=True)
    try:
        arrays[HEADER] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)
    except UnicodeEncodeError as exc:
        raise CheckpointError(f"save({path}): a string cannot be encoded as UTF-8 ({exc})") from None
    try:
        if target is not None:
            np.savez(target, **arrays)
        else:
            with atomic_write(path) as f:
                np.savez(f, **arrays)
    except OSError as exc:
        raise _io_error(f"save({path}): cannot write the checkpoint", exc) from exc


class CheckpointIOError(CheckpointError, OSError):
    """A checkpoint that cannot be written or read for a reason of the file system (errno kept)."""


def _io_error(what, exc):
    error = CheckpointIOError(f"{what}: {exc.strerror or exc}")
    error.errno = exc.errno  # str(error) stays the message: strerror and filename are left unset
    return error


def _check_save_path(path):
    """The path as a str; a folder, a missing folder or an over-long name raise CheckpointIOError."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise CheckpointError(f"save: path must be a str or os.PathLike, got {type(path).__name__}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    name, folder = os.path.basename(path), os.path.dirname(os.path.abspath(path))
    problem = None
    if not name or os.path.isdir(path):
        problem = (errno.EISDIR, "is a directory")
    elif len(os.fsencode(name)) > _name_max(folder):
        problem = (errno.ENAMETOOLONG, f"file name too long ({len(os.fsencode(name))} bytes, at most "
                                       f"{_name_max(folder)})")
    elif not os.path.isdir(folder):
        problem = (errno.ENOENT, f"folder {folder} does not exist")
    if problem:
        error = CheckpointIOError(f"save({path}): {problem[1]}")
        error.errno = problem[0]
        raise error
    return path


def _name_max(folder):
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _encode(obj, arrays, where, path, active):
    """The header node of obj; `active` holds the ids of the containers being encoded (a cycle check)."""
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in active:
            raise CheckpointError(f"save({path}): {where} contains itself (a reference cycle); a checkpoint "
                                  "holds trees")
        active.add(id(obj))
        try:
            return _encode_container(obj, arrays, where, path, active)
        finally:
            active.discard(id(obj))

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    return _encode_leaf(obj, arrays, where, path)


def _encode_container(obj, arrays, where, path, active):
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, (np.integer, np.floating, np.bool_)):
                key = key.item()  # NumPy scalar keys (e.g. parameter indices) become Python scalars
            if not (key is None or isinstance(key, (str, int, float, bool))):
                raise CheckpointError(
                    f"save({path}): dict key {key!r} at {where} is a {type(key).__name__}; "
                    "keys must be str, int, float, bool or None"
                )
            value = _encode(value, arrays, f"{where}[{key!r}]", path, active)
            items.append([_encode(key, arrays, where, path, active), value])
        return {"type": "dict", "items": items}
    kind = "tuple" if isinstance(obj, tuple) else "list"
    return {"type": kind, "items": [_encode(v, arrays, f"{where}[{i}]", path, active) for i, v in enumerate(obj)]}


def _encode_leaf(obj, arrays, where, path):
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        node = _array_node("tensor", obj.numpy(), arrays, where, path)
        node["device"] = str(obj.device)
        node["requires_grad"] = bool(obj.requires_grad)
        return node
    if isinstance(obj, np.ndarray):
        return _array_node("ndarray", obj, arrays, where, path)
    if isinstance(obj, np.generic):
        return _array_node("npscalar", np.asarray(obj), arrays, where, path)
    raise CheckpointError(
        f"save({path}): cannot save a {type(obj).__name__} at {where}; a checkpoint holds dicts, lists, "
        "tuples, Tensors, NumPy arrays, Python scalars, strings and None"
    )


_BFLOAT16_TAG = "bfloat16"  # NOTE: NumPy writes ml_dtypes' bfloat16 as an opaque void type: its bits go as uint16


def _array_node(kind, array, arrays, where, path):
    if array.dtype.name == _BFLOAT16_TAG:
        entry = f"a{len(arrays)}"
        arrays[entry] = np.ascontiguousarray(array).view(np.uint16)
        return {"type": kind, "entry": entry, "shape": list(array.shape), "dtype": _BFLOAT16_TAG}
    if array.dtype.kind not in _ARRAY_KINDS:
        raise CheckpointError(
            f"save({path}): array at {where} has dtype {array.dtype}; only bool, integer, float "
            "and complex arrays are stored (other dtypes would need pickle)"
        )
    entry = f"a{len(arrays)}"
    arrays[entry] = array
    return {"type": kind, "entry": entry, "shape": list(array.shape), "dtype": array.dtype.str}


# ---------------------------------------------------------------------------------------------
# load

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
# What zipfile and np.load raise on damaged archives (an unknown compression method or version
# byte, a flipped "encrypted" flag, bad CRC, short reads).
_CORRUPT = (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error)


def load(path, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load what save() wrote. Tensor leaves come back as Tensors, NumPy leaves as NumPy arrays.

    torch.load's weights_only, mmap and pickle arguments are accepted and have no effect: a checkpoint only
    ever holds tensors, arrays and plain values (what weights_only=True allows in PyTorch), read into memory.

    map_location: None puts each tensor on the device it was saved from; a device ("cpu",
    "cuda:0", a tc.device) puts every tensor there (for a torch.save file also a dict of saved locations, or a
    callable, as torch.load takes). A file torch.save wrote (its default zip format) loads too: its state dicts,
    optimizer states, tensors and plain values, read by torch_checkpoint's own reader of the pickle's opcodes,
    which refuses by name any class or function a state dict does not need.
    Never unpickles anything: a file that is not a
    tensorcore checkpoint, holds pickled objects, is corrupt or does not match its own header
    raises CheckpointError naming the file and the problem.

    >>> state = tc.load("ckpt.npz", map_location="cpu")
    >>> model.load_state_dict(state["model"])
    """
    source = path
    if hasattr(path, "read"):  # a file object: its bytes from the current position
        path, source = "<file object>", io.BytesIO(path.read())
        _check_magic(source.getvalue()[:6], path)
    else:
        try:
            source = path = os.fspath(path)
        except TypeError:
            raise CheckpointError(f"load: path must be a str or os.PathLike, got {type(path).__name__}") from None
        if isinstance(path, bytes):
            source = path = os.fsdecode(path)
        try:
            with open(path, "rb") as f:
                head = f.read(6)
        except FileNotFoundError as exc:
            raise CheckpointNotFoundError(_io_error(f"load({path})", exc)) from None
        except OSError as exc:
            raise _io_error(f"load({path}): cannot read the checkpoint", exc) from exc
        _check_magic(head, path)
    try:  # the file is readable: what fails from here on is the archive's content
        archive = zipfile.ZipFile(source)
    except _CORRUPT as exc:
        raise CheckpointError(f"load({path}): corrupt or truncated checkpoint ({exc})") from exc
    with archive:
        torch_pickle = is_torch_zip(archive.namelist())
        if torch_pickle is not None:  # a file torch.save wrote: read by torch_checkpoint, never unpickled
            return TorchZipReader(archive, torch_pickle, path, CheckpointError,
                                  lambda array, location, grad: _torch_tensor(array, location, grad, map_location)
                                  ).load()
        members = NpzMembers(archive, path, CheckpointError)
        reader = _Reader(members, path, map_location)
        try:
            obj = reader.decode(reader.read_header(), "obj")
        except RecursionError:
            raise CheckpointError(f"load({path}): corrupt checkpoint: the structure is nested too deeply") from None
        unreferenced = sorted(set(members.files) - reader.used - {HEADER})
        if unreferenced:
            raise CheckpointError(
                f"load({path}): corrupt checkpoint: entries {unreferenced} are not referenced by the header"
            )
    return obj


def _torch_tensor(array, location, requires_grad, map_location):
    """A tensor of a torch.save file, on the device map_location picks as torch.load's does: None keeps the
    saved location, a device or string moves everything there, a dict maps saved locations, a callable gets
    (the tensor on cpu, the saved location) and returns the tensor to keep."""
    from .tensor import tensor as make_tensor

    if callable(map_location) and not isinstance(map_location, (str, dict)) and not hasattr(map_location, "type"):
        out = map_location(make_tensor(array, dtype=array.dtype, requires_grad=requires_grad), location)
        if out is None or not hasattr(out, "_data"):
            raise CheckpointError(f"load: map_location returned {type(out).__name__}, not a tensor")
        return out
    if isinstance(map_location, dict):
        device = map_location.get(location, location)
    else:
        device = location if map_location is None else map_location
    return make_tensor(array, dtype=array.dtype, device=device, requires_grad=requires_grad)


class CheckpointNotFoundError(CheckpointIOError, FileNotFoundError):
    """tc.load of a path where there is no file."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.errno = cause.errno


def _check_magic(head, path):
    """The first bytes of a checkpoint start a zip archive, or CheckpointError says what the file is instead."""
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC):
        return
    if head.startswith(b"\x93NUMPY"):
        what = "a single .npy array, not a .npz"
    elif head[:1] == b"\x80":
        what = ("it looks like a bare pickle (pickle.dump, or torch.save with _use_new_zipfile_serialization=False), "
                "which is refused: it can run code")
    elif not head:
        what = "the file is empty"
    else:
        what = f"it does not start with the zip magic bytes (starts with {head.hex(' ')})"
    raise CheckpointError(f"load({path}): not a tensorcore checkpoint: {what}")


class _Reader:
    def __init__(self, archive, path, map_location):
        self.archive = archive
        self.path = path
        self.map_location = map_location
        self.used = set()

    def fail(self, problem):
        raise CheckpointError(f"load({self.path}): {problem}")

    def read_header(self):
        if HEADER not in self.archive.files:
            entries = sorted(self.archive.files)[:8]
            self.fail(f"not a tensorcore checkpoint: a plain .npz without a {HEADER!r} entry (entries: {entries})")
        raw = self.entry(HEADER)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            self.fail(f"corrupt checkpoint: header entry has dtype {raw.dtype} and shape {raw.shape}")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.fail(f"corrupt checkpoint: the header is not valid JSON ({exc})")
        if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
            self.fail(f"not a tensorcore checkpoint: the header does not declare format {FORMAT!r}")
        if header.get("version") != VERSION:
            self.fail(f"checkpoint format version {header.get('version')!r}; this tensorcore reads {VERSION}")
        return header["root"]

    def entry(self, name):
        try:
            return self.archive.read(name)
        except _CORRUPT as exc:
            self.fail(f"corrupt entry {name!r} ({exc})")

    def decode(self, node, where):
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if not isinstance(node, dict):
            self.fail(f"corrupt checkpoint: unexpected {type(node).__name__} node at {where}")
        kind = node.get("type")
        if kind in ("list", "tuple", "dict") and not isinstance(node.get("items"), list):
            self.fail(f"corrupt checkpoint: {kind} node at {where} has no item list")
        if kind == "list":
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node["items"])]
        if kind == "tuple":
            return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(node["items"]))
        if kind == "dict":
            out = {}
            for item in node["items"]:
                if not (isinstance(item, list) and len(item) == 2):
                    self.fail(f"corrupt checkpoint: bad dict item at {where}")
                key, value = item
                if not (key is None or isinstance(key, (str, int, float, bool))):
                    self.fail(f"corrupt checkpoint: bad dict key {key!r} at {where}")
                out[key] = self.decode(value, f"{where}[{key!r}]")
            return out
        if kind in ("tensor", "ndarray", "npscalar"):
            return self.decode_array(kind, node, where)
        self.fail(f"corrupt checkpoint: unknown node type {kind!r} at {where}")

    def decode_array(self, kind, node, where):
        name, shape, dtype = node.get("entry"), node.get("shape"), node.get("dtype")
        if not (isinstance(name, str) and isinstance(shape, list) and isinstance(dtype, str)):
            self.fail(f"corrupt checkpoint: array node at {where} lacks entry, shape or dtype")
        if name == HEADER or name in self.used:
            self.fail(f"corrupt checkpoint: entry {name!r} referenced twice (at {where})")
        if name not in self.archive.files:
            self.fail(f"missing entry {name!r} for {where} (the archive was modified or is incomplete)")
        self.used.add(name)
        array = self.entry(name)
        if list(array.shape) != shape:
            self.fail(f"entry {name!r} for {where} has shape {tuple(array.shape)}, the header says {tuple(shape)}")
        if dtype == _BFLOAT16_TAG and array.dtype == np.uint16:  # bfloat16's bits (see _array_node)
            from .dtypes import bfloat16

            array = array.view(bfloat16)
        elif array.dtype.str != dtype or array.dtype.kind not in _ARRAY_KINDS:
            self.fail(f"entry {name!r} for {where} has dtype {array.dtype.str}, the header says {dtype}")
        if kind == "ndarray":
            return array
        if kind == "npscalar":
            return array[()]
        from .tensor import tensor as make_tensor

        device = self.map_location if self.map_location is not None else node.get("device", "cpu")
        return make_tensor(array, dtype=array.dtype, device=device, requires_grad=bool(node.get("requires_grad")))


# ---------------------------------------------------------------------------------------------
# state-dict validation


class Mismatch(NamedTuple):
    name: str
    expected_shape: tuple
    given_shape: tuple
    expected_dtype: object
    given_dtype: object


class StateDictReport(NamedTuple):
    missing: list
    unexpected: list
    mismatched: list  # of Mismatch


def check_state_dict(expected, given, strict=True, what="load_state_dict"):
    """Compare a state dict with what a module or optimizer expects.

    expected: {name: (shape, dtype)} (dtype None: any dtype). given: {name: Tensor or array}.
    Returns StateDictReport(missing, unexpected, mismatched), unpackable as a 3-tuple; mismatched
    lists Mismatch(name, expected_shape, given_shape, expected_dtype, given_dtype) for entries
    whose shape or dtype differs. With strict=True, any problem raises StateDictError naming them.

    >>> expected = {k: (p.shape, p.dtype) for k, p in model.state_dict().items()}
    >>> missing, unexpected, mismatched = check_state_dict(expected, state, strict=False)
    """
    if not isinstance(given, dict):
        raise StateDictError(f"{what}: expected a dict of name -> array, got {type(given).__name__}")
    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    mismatched = []
    for name, (shape, dtype) in expected.items():
        if name not in given:
            continue
        value = given[name]
        given_shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
        given_dtype = np.dtype(value.dtype) if hasattr(value, "dtype") else np.asarray(value).dtype
        dtype = None if dtype is None else np.dtype(dtype)
        if given_shape != tuple(shape) or (dtype is not None and given_dtype != dtype):
            mismatched.append(Mismatch(name, tuple(shape), given_shape, dtype, given_dtype))
    report = StateDictReport(missing, unexpected, mismatched)
    if strict and (missing or unexpected or mismatched):
        raise StateDictError(describe_state_dict_report(report, what))
    return report


def describe_state_dict_report(report, what="load_state_dict"):
    """The multi-line message check_state_dict raises: every missing, unexpected, mismatched name."""
    lines = [
        f"{what}: {len(report.missing)} missing, {len(report.unexpected)} unexpected, "
        f"{len(report.mismatched)} mismatched entries"
    ]
    if report.missing:
        lines.append("  missing: " + ", ".join(report.missing))
    if report.unexpected:
        lines.append("  unexpected: " + ", ".join(map(str, report.unexpected)))
    for m in report.mismatched:
        if m.given_shape != m.expected_shape:
            lines.append(f"  wrong shape: {m.name} is {m.given_shape}, expected {m.expected_shape}")
        else:
            lines.append(f"  wrong dtype: {m.name} is {m.given_dtype}, expected {m.expected_dtype}")
    return "\n".join(lines)
