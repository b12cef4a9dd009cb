"""model.save("m.keras") and keras.models.load_model(path), in a safe format: no pickle, no code execution.

A .keras file is a zip (written atomically) of exactly these members:
    config.json          {"format": "tensorcore-keras", "version": 1, "model": {"class_name", "config"},
                          "compile": {...} or null, "build": [[shape, dtype], ...] or null}
    metadata.json        {"saved_by": "tensorcore"}
    model.weights.npz    w0.npy, w1.npy, ...: model.get_weights() in order (Keras layouts), then o0.npy ...:
                         the optimizer's state arrays (after a fit), whose structure config.json's
                         "optimizer_state" gives
Loading builds the model from the config (config.py: only registered classes, or those passed in
custom_objects, are instantiated; their arguments are JSON values checked against the
constructor's signature), then reads each weight after checking its .npy header: a numeric
dtype and exactly the shape the built model expects, so nothing is allocated from a size the
file declares. Extra, duplicated or path-like member names, object arrays (pickles), oversized
members and truncated data raise tc.TensorcoreError naming the file and the problem.
"""

import io
import json
import os
import re
import zipfile

import numpy as np

from ..errors import ArgumentError, TensorcoreError
from ..serialization import atomic_write
from .base import KerasFileError, allocation_budget
from .config import (
    compile_config,
    compile_from_config,
    deserialize_layer,
    serialize_layer,
    set_custom_objects,
)

FORMAT, VERSION = "tensorcore-keras", 1
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.npz"
MAX_JSON_BYTES = 16 * 2**20
OPTIMIZER_STATE_FACTOR = 4  # the optimizer state may hold at most this many bytes per weight byte (Adam: 2)


def register_keras_serializable(package="Custom", name=None):
    """Decorator, as Keras': a class (or a Lambda's function) registered as "package>name" is saved with that
    name, and load_model / model_from_json rebuild it without custom_objects. Only code the program itself
    registered is ever used."""
    from .config import REGISTERED

    def register(obj):
        base = name or getattr(obj, "__name__", None)
        if not base or not callable(obj):
            raise ArgumentError(f"register_keras_serializable: {obj!r:.60} is not a named class or function")
        key = f"{package}>{base}"
        existing = REGISTERED.get(key)
        if existing is not None and existing is not obj and getattr(existing, "__qualname__", None) != \
                getattr(obj, "__qualname__", None):
            raise ArgumentError(f"register_keras_serializable: {key!r} is already registered for {existing!r}")
        REGISTERED[key] = obj
        return obj

    return register


# --- save ----------------------------------------------------------------------------------------


def save_model(model, filepath, overwrite=True):
    """Write model to a .keras zip (see the module docstring); the write is atomic."""
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise ArgumentError(f"save: the file name must end in .keras, got {path!r} (use save_weights for .npz)")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save: {path} exists and overwrite=False")
    if not model.built:
        raise TensorcoreError("save: the model is not built yet (no weights); build it or call fit first")
    build = None
    if model.is_subclassed:
        build = [[list(shape), dtype] for shape, dtype in getattr(model, "_build_inputs", [])]
    state, state_arrays = _optimizer_state(model)
    config = {"format": FORMAT, "version": VERSION, "model": serialize_layer(model),
              "compile": compile_config(model), "build": build, "optimizer_state": state}
    weights = io.BytesIO()
    np.savez(weights, **{f"w{i}": np.array(w, order="C") for i, w in enumerate(model.get_weights())},
             **{f"o{i}": np.array(a, order="C") for i, a in enumerate(state_arrays)})
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(CONFIG, json.dumps(config, indent=1))
        archive.writestr(METADATA, json.dumps({"saved_by": "tensorcore"}))
        archive.writestr(WEIGHTS, weights.getvalue())


# --- load ----------------------------------------------------------------------------------------


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved by model.save(filepath): architecture, weights and (compile=True) compile settings.

    custom_objects: {class name: class} for subclassed models and layers of your own. Nothing in
    the file is unpickled or executed; see the module docstring for what is checked."""
    path = os.fspath(filepath)
    if not safe_mode:
        raise ArgumentError("load_model: safe_mode=False is not supported (nothing is ever unpickled)")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        with open(path, "rb") as f:
            head = f.read(2)
        what = "it looks like a pickle, which is refused" if head[:1] == b"\x80" else "not a zip archive"
        raise KerasFileError(f"load_model({path}): not a .keras file: {what}") from None
    with archive:
        config = _read_config(archive, path)
        saved = set_custom_objects(custom_objects)
        budget = _members(archive, path)[WEIGHTS].file_size
        try:
            with allocation_budget(budget):
                model = deserialize_layer(config.get("model"))
                if config.get("build"):
                    _build_subclassed(model, config["build"], path)
        except TensorcoreError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise KerasFileError(f"load_model({path}): cannot rebuild the model from its config: "
                                 f"{type(e).__name__}: {e}") from None
        finally:
            set_custom_objects(saved)
        state = config.get("optimizer_state") if compile and config.get("compile") else None
        n_state = _count_arrays(state, path)
        state_arrays = _read_weights(archive, path, model, n_state, bool(config.get("optimizer_state")))
    if compile and config.get("compile"):
        try:
            compile_from_config(model, config["compile"], path)
        except TensorcoreError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise KerasFileError(f"load_model({path}): bad compile settings in the config: {e}") from None
        if state is not None:
            model.optimizer.build(model._trainable_parameters())
            model.optimizer.inner.load_state_dict(_decode_state(state, state_arrays, path))
    return model


# --- the optimizer's state: JSON structure, arrays o0.npy, o1.npy ... beside the weights -------------


def _optimizer_state(model):
    """(JSON structure, arrays) of the optimizer's state_dict, or (None, []) before the first fit."""
    from ..tensor import Tensor

    opt = model.optimizer if model.compiled else None
    if opt is None or opt.inner is None:
        return None, []
    arrays = []

    def encode(v):
        if isinstance(v, Tensor) or isinstance(v, (np.ndarray, np.generic)) and not isinstance(v, np.bool_):
            arrays.append(v.numpy() if isinstance(v, Tensor) else np.asarray(v))
            return {"array": len(arrays) - 1}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (list, tuple)):
            return {"tuple" if isinstance(v, tuple) else "list": [encode(x) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[k, encode(x)] for k, x in v.items()]}
        raise ArgumentError(f"save: optimizer state holds a {type(v).__name__}; it cannot be saved")

    return encode(opt.inner.state_dict()), arrays


def _count_arrays(node, path, depth=0):
    if depth > 32:
        raise KerasFileError(f"load_model({path}): the optimizer state is nested too deeply")
    if isinstance(node, dict):
        if "array" in node:
            return 1
        return sum(_count_arrays(v, path, depth + 1) for v in node.values())
    if isinstance(node, list):
        return sum(_count_arrays(v, path, depth + 1) for v in node)
    return 0


def _decode_state(node, arrays, path):
    from ..tensor import tensor

    if isinstance(node, dict):
        if "array" in node:
            i = node["array"]
            if not isinstance(i, int) or not 0 <= i < len(arrays):
                raise KerasFileError(f"load_model({path}): the optimizer state refers to a missing array {i!r}")
            return tensor(arrays[i], dtype=arrays[i].dtype)
        if "tuple" in node or "list" in node:
            items = [_decode_state(v, arrays, path) for v in node.get("tuple", node.get("list", []))]
            return tuple(items) if "tuple" in node else items
        if isinstance(node.get("dict"), list):
            out = {}
            for item in node["dict"]:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                    raise KerasFileError(f"load_model({path}): bad optimizer state entry {str(item)[:60]!r}")
                out[item[0]] = _decode_state(item[1], arrays, path)
            return out
        raise KerasFileError(f"load_model({path}): bad optimizer state node {str(node)[:60]!r}")
    return node


def _members(archive, path):
    infos = archive.infolist()
    names = [i.filename for i in infos]
    for name in names:
        if name.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", name) or ":" in name:
            raise KerasFileError(f"load_model({path}): refused member name {name!r} (a path outside the archive)")
    if len(set(names)) != len(names):
        raise KerasFileError(f"load_model({path}): duplicated member names {sorted(names)}")
    unexpected = sorted(set(names) - {CONFIG, METADATA, WEIGHTS})
    if unexpected:
        raise KerasFileError(f"load_model({path}): unexpected members {unexpected}; a .keras file holds only "
                             f"{CONFIG}, {METADATA} and {WEIGHTS}")
    for required in (CONFIG, WEIGHTS):
        if required not in names:
            raise KerasFileError(f"load_model({path}): no {required} in the archive")
    return {i.filename: i for i in infos}


def _read_config(archive, path):
    info = _members(archive, path)[CONFIG]
    if info.file_size > MAX_JSON_BYTES:
        raise KerasFileError(f"load_model({path}): {CONFIG} declares {info.file_size} bytes (limit {MAX_JSON_BYTES})")
    try:
        config = json.loads(archive.read(CONFIG).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, zipfile.BadZipFile) as e:
        raise KerasFileError(f"load_model({path}): {CONFIG} is not valid JSON ({e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise KerasFileError(f"load_model({path}): not a tensorcore .keras file (format {FORMAT!r} missing)")
    if config.get("version") != VERSION:
        raise KerasFileError(f"load_model({path}): format version {config.get('version')!r}; this reads {VERSION}")
    return config


def _build_subclassed(model, build, path):
    try:
        shapes = [(tuple(int(d) for d in shape), np.dtype(dtype)) for shape, dtype in build]
    except (TypeError, ValueError) as e:
        raise KerasFileError(f"load_model({path}): bad build shapes in the config ({e})") from None
    if any(d < 0 or d > 2**20 for shape, _ in shapes for d in shape) or any(dt.kind not in "biuf" for _, dt in shapes):
        raise KerasFileError(f"load_model({path}): bad build shapes in the config: {build!r:.80}")
    model._build_from([model._tensor(np.zeros((2,) + shape, dtype=dtype)) for shape, dtype in shapes])


def _read_weights(archive, path, model, n_state=0, has_state=False):
    """Load the weights into model (each checked before reading); returns the optimizer-state arrays."""
    expected = [(tuple(w.shape), np.dtype(w.dtype)) for w in model.get_weights()]
    weight_bytes = sum(int(np.prod(s)) * d.itemsize for s, d in expected)
    state_limit = OPTIMIZER_STATE_FACTOR * weight_bytes + 2**20 if has_state else 0
    limit = weight_bytes + state_limit + 4096 * (len(expected) + 1 + n_state)
    info = _members(archive, path)[WEIGHTS]
    if info.file_size > limit:
        raise KerasFileError(f"load_model({path}): {WEIGHTS} declares {info.file_size} bytes; the model's "
                             f"{len(expected)} weights need at most {limit}")
    try:
        inner = zipfile.ZipFile(io.BytesIO(archive.read(WEIGHTS)))
    except zipfile.BadZipFile as e:
        raise KerasFileError(f"load_model({path}): {WEIGHTS} is not an .npz ({e})") from None
    with inner:
        names = [n for n in inner.namelist() if not (has_state and re.fullmatch(r"o\d+\.npy", n))]
        want = [f"w{i}.npy" for i in range(len(expected))]
        if sorted(names) != sorted(want) or len(set(inner.namelist())) != len(inner.namelist()):
            raise KerasFileError(f"load_model({path}): {WEIGHTS} holds {sorted(names)[:6]}..., the model needs "
                                 f"{len(want)} weights w0.npy ... (refused)")
        arrays = [_read_npy(inner, name, shape, dtype, path) for name, (shape, dtype) in zip(want, expected)]
        state = []
        for i in range(n_state):
            name = f"o{i}.npy"
            if name not in inner.namelist():
                raise KerasFileError(f"load_model({path}): {WEIGHTS} lacks the optimizer state array {name}")
            state.append(_read_npy(inner, name, None, None, path, max_bytes=state_limit))
            state_limit -= state[-1].nbytes
    model.set_weights(arrays)
    return state


def _read_npy(inner, name, shape, dtype, path, max_bytes=None):
    """One .npy member: numeric dtype, the expected shape (or, shape None, at most max_bytes), exact size."""
    info = inner.getinfo(name)
    with inner.open(name) as f:
        try:
            major, _ = np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            got_shape, fortran, got_dtype = reader(f, max_header_size=10000)
        except ValueError as e:
            raise KerasFileError(f"load_model({path}): bad .npy header in {WEIGHTS}/{name} ({e})") from None
        if got_dtype.hasobject or got_dtype.kind not in "biuf":
            raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} holds dtype {got_dtype} (object arrays are "
                                 "pickles; refused)")
        if shape is not None and tuple(got_shape) != shape:
            raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} declares shape {tuple(got_shape)}; the model's "
                                 f"weight is {shape} (refused before reading)")
        shape = tuple(got_shape)
        nbytes = int(np.prod(shape, dtype=np.float64)) * got_dtype.itemsize
        if max_bytes is not None and nbytes > max_bytes:
            raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} declares shape {shape}, more than the "
                                 "optimizer state of this model can hold (refused before reading)")
        nbytes = int(nbytes)
        header = f.tell()
        if info.file_size != header + nbytes:
            raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} is {info.file_size} bytes, its header "
                                 f"declares {header + nbytes}")
        data = f.read(nbytes)
    if len(data) != nbytes:
        raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} is truncated")
    array = np.frombuffer(data, dtype=got_dtype)
    array = array.reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype) if dtype is not None else array.copy()


__all__ = ["KerasFileError", "deserialize_layer", "load_model", "register_keras_serializable", "save_model",
           "serialize_layer"]
