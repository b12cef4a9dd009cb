"""model.save("m.keras") and keras.models.load_model(path), in a safe format: no pickle, no code execution.

A .keras file is a zip (written atomically) of exactly these members:
    config.json          {"format": "tensorcore-keras", "version": 1, "model": {"class_name", "config"},
                          "compile": {...} or null, "build": [[shape, dtype], ...] or null}
    metadata.json        {"saved_by": "tensorcore"}
    model.weights.npz    w0.npy, w1.npy, ...: model.get_weights() in order (Keras layouts)
Loading builds the model from the config (only classes registered here, or passed in
custom_objects, are instantiated; their arguments are JSON values checked against the
constructor's signature), then reads each weight after checking its .npy header: a numeric
dtype and exactly the shape the built model expects, so nothing is allocated from a size the
file declares. Extra, duplicated or path-like member names, object arrays (pickles), oversized
members and truncated data raise tc.TensorcoreError naming the file and the problem.
"""

import inspect
import io
import json
import os
import re
import zipfile

import numpy as np

from ..errors import ArgumentError, TensorcoreError
from ..serialization import atomic_write
from .base import KerasFileError, KerasTensor, allocation_budget, flatten

FORMAT, VERSION = "tensorcore-keras", 1
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.npz"
MAX_JSON_BYTES = 16 * 2**20
_custom = {}  # custom_objects of the load in progress (nested layers resolve through it)




def _registry():
    from . import layers, model, models

    names = ["Activation", "Add", "AveragePooling2D", "BatchNormalization", "Bidirectional", "Concatenate",
             "Conv2D", "Dense", "Dropout", "Embedding", "Flatten", "GRU", "GlobalAveragePooling2D", "InputLayer",
             "LSTM", "LayerNormalization", "MaxPooling2D", "MultiHeadAttention", "Reshape", "SimpleRNN"]
    table = {n: getattr(layers, n) for n in names}
    table.update({"Model": model.Model, "Functional": model.Model, "Sequential": models.Sequential})
    return table


# --- configs -------------------------------------------------------------------------------------


def serialize_layer(layer):
    """{"class_name", "config"} of a layer (its get_config() must hold only JSON values)."""
    from .model import Model

    name = "Functional" if type(layer) is Model else type(layer).__name__
    return {"class_name": name, "config": layer.get_config()}


def deserialize_layer(item):
    """A layer from serialize_layer's output; only registered classes (or the load's custom_objects)."""
    if not (isinstance(item, dict) and isinstance(item.get("class_name"), str) and isinstance(item.get("config"),
                                                                                               dict)):
        raise KerasFileError(f"bad layer entry in the config: {str(item)[:80]!r}")
    name = item["class_name"]
    cls = _custom.get(name) or _registry().get(name)
    if cls is None:
        raise KerasFileError(f"unknown class {name!r} in the config; a class of your own must be passed in "
                             "load_model(..., custom_objects={name: cls})")
    config = item["config"]
    if name not in ("Functional", "Model", "Sequential"):
        _check_arguments(cls, config)
    try:
        return cls.from_config(config)
    except TensorcoreError:
        raise
    except (TypeError, ValueError, KeyError) as e:
        raise KerasFileError(f"cannot rebuild {name} from its config: {e}") from None


def _check_arguments(cls, config):
    params = {}
    for klass in cls.__mro__:
        if "__init__" in klass.__dict__:
            params.update(inspect.signature(klass.__init__).parameters)
    unknown = [k for k in config if k not in params]
    if unknown:
        raise KerasFileError(f"{cls.__name__}: unknown arguments {unknown} in the config")


def _encode(value, refs):
    if isinstance(value, KerasTensor):
        if value.node is not None and getattr(value.node.layer, "is_input", False):
            return {"__input__": value.node.layer.name}
        return {"__tensor__": [refs[id(value.node)], value.index]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, refs) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, refs) for k, v in value.items()}}
    raise ArgumentError(f"save: a layer was called with {type(value).__name__} {value!r:.60}; only KerasTensors "
                        "and JSON values can be saved")


def _decode(value, layers, node_outputs):
    if isinstance(value, list):
        return [_decode(v, layers, node_outputs) for v in value]
    if isinstance(value, dict):
        if "__input__" in value:
            layer = layers.get(value["__input__"])
            if layer is None or not getattr(layer, "is_input", False):
                raise KerasFileError(f"the config refers to an unknown input {value['__input__']!r}")
            return layer.output
        if "__tensor__" in value:
            ref = value["__tensor__"]
            if not (isinstance(ref, list) and len(ref) == 2 and all(isinstance(r, int) for r in ref)
                    and 0 <= ref[0] < len(node_outputs) and 0 <= ref[1] < len(node_outputs[ref[0]])):
                raise KerasFileError(f"the config refers to a tensor {ref!r} that no earlier node made")
            return node_outputs[ref[0]][ref[1]]
        if "__dict__" in value and isinstance(value["__dict__"], dict):
            return {k: _decode(v, layers, node_outputs) for k, v in value["__dict__"].items()}
        raise KerasFileError(f"bad value in the config: {str(value)[:80]!r}")
    return value


def functional_config(model):
    graph = model._graph
    refs = {id(node): i for i, node in enumerate(graph.nodes)}
    nodes = [{"layer": node.layer.name, "args": _encode(node.args, refs), "kwargs": _encode(node.kwargs, refs)}
             for node in graph.nodes]
    return {"name": model.name, "trainable": model.trainable, "layers": [serialize_layer(la) for la in model.layers],
            "nodes": nodes, "inputs": _encode(graph.inputs, refs), "outputs": _encode(graph.outputs, refs)}


def functional_from_config(config):
    from .model import Model

    layers = {}
    for item in config.get("layers", []):
        layer = deserialize_layer(item)
        if layer.name in layers:
            raise KerasFileError(f"two layers named {layer.name!r} in the config")
        layers[layer.name] = layer
    node_outputs = []
    for node in config.get("nodes", []):
        layer = layers.get(node.get("layer")) if isinstance(node, dict) else None
        if layer is None:
            raise KerasFileError(f"a node of the config calls an unknown layer: {str(node)[:80]!r}")
        args = _decode(node.get("args", []), layers, node_outputs)
        kwargs = _decode(node.get("kwargs", {"__dict__": {}}), layers, node_outputs)
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise KerasFileError(f"bad call arguments for layer {layer.name!r} in the config")
        node_outputs.append(flatten(layer(*args, **kwargs)))
    inputs = _decode(config.get("inputs"), layers, node_outputs)
    outputs = _decode(config.get("outputs"), layers, node_outputs)
    return Model(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _compile_config(model):
    if not model.compiled:
        return None
    from . import losses

    def plain(spec):
        if spec is None or isinstance(spec, str):
            return spec
        if isinstance(spec, (list, tuple)):
            return [plain(s) for s in spec]
        if isinstance(spec, dict):
            return {k: plain(v) for k, v in spec.items()}
        if isinstance(spec, losses.Loss) and type(spec).__name__ in _LOSSES:
            return {"loss_class": type(spec).__name__, "from_logits": spec.from_logits,
                    "label_smoothing": getattr(spec, "label_smoothing", None)}
        raise ArgumentError(f"save: the compile setting {spec!r:.60} is not a name; it cannot be saved")

    opt = model.optimizer
    opt_config = {k: v for k, v in opt.get_config().items() if isinstance(v, (int, float, str, bool, type(None)))}
    opt_config["learning_rate"] = opt_config.pop("_learning_rate", opt.learning_rate)
    return {"optimizer": {"class_name": type(opt).__name__, "config": opt_config}, "loss": plain(model._loss_spec),
            "metrics": plain(model._metric_spec), "loss_weights": model._loss_weights}


_LOSSES = ("CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError")


def _compile_from_config(model, config, path):
    from . import losses, optimizers

    def loss_of(spec):
        if isinstance(spec, list):
            return [loss_of(s) for s in spec]
        if isinstance(spec, dict) and "loss_class" in spec:
            if spec["loss_class"] not in _LOSSES:
                raise KerasFileError(f"load_model({path}): unknown loss class {spec['loss_class']!r}")
            kwargs = {"from_logits": bool(spec.get("from_logits"))}
            if spec.get("label_smoothing") is not None:
                kwargs["label_smoothing"] = float(spec["label_smoothing"])
            return getattr(losses, spec["loss_class"])(**kwargs)
        if isinstance(spec, dict):
            return {k: loss_of(v) for k, v in spec.items()}
        return spec

    opt = config.get("optimizer") or {}
    cls = getattr(optimizers, str(opt.get("class_name")), None)
    if not (isinstance(cls, type) and issubclass(cls, optimizers.Optimizer)):
        raise KerasFileError(f"load_model({path}): unknown optimizer {opt.get('class_name')!r}")
    _check_arguments(cls, opt.get("config", {}))
    model.compile(optimizer=cls(**opt.get("config", {})), loss=loss_of(config.get("loss")),
                  metrics=config.get("metrics"), loss_weights=config.get("loss_weights"))


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
    config = {"format": FORMAT, "version": VERSION, "model": serialize_layer(model),
              "compile": _compile_config(model), "build": build}
    weights = io.BytesIO()
    np.savez(weights, **{f"w{i}": np.ascontiguousarray(w) for i, w in enumerate(model.get_weights())})
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
        global _custom
        saved, _custom = _custom, dict(custom_objects or {})
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
            _custom = saved
        _read_weights(archive, path, model)
    if compile and config.get("compile"):
        try:
            _compile_from_config(model, config["compile"], path)
        except TensorcoreError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise KerasFileError(f"load_model({path}): bad compile settings in the config: {e}") from None
    return model


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


def _read_weights(archive, path, model):
    expected = [(tuple(w.shape), np.dtype(w.dtype)) for w in model.get_weights()]
    limit = sum(int(np.prod(s)) * d.itemsize for s, d in expected) + 4096 * (len(expected) + 1)
    info = _members(archive, path)[WEIGHTS]
    if info.file_size > limit:
        raise KerasFileError(f"load_model({path}): {WEIGHTS} declares {info.file_size} bytes; the model's "
                             f"{len(expected)} weights need at most {limit}")
    try:
        inner = zipfile.ZipFile(io.BytesIO(archive.read(WEIGHTS)))
    except zipfile.BadZipFile as e:
        raise KerasFileError(f"load_model({path}): {WEIGHTS} is not an .npz ({e})") from None
    with inner:
        names = inner.namelist()
        want = [f"w{i}.npy" for i in range(len(expected))]
        if sorted(names) != sorted(want) or len(set(names)) != len(names):
            raise KerasFileError(f"load_model({path}): {WEIGHTS} holds {sorted(names)[:6]}..., the model needs "
                                 f"{len(want)} weights w0.npy ... (refused)")
        arrays = [_read_npy(inner, name, shape, dtype, path) for name, (shape, dtype) in zip(want, expected)]
    model.set_weights(arrays)


def _read_npy(inner, name, shape, dtype, path):
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
        if tuple(got_shape) != shape:
            raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} declares shape {tuple(got_shape)}; the model's "
                                 f"weight is {shape} (refused before reading)")
        nbytes = int(np.prod(shape)) * got_dtype.itemsize
        header = f.tell()
        if info.file_size != header + nbytes:
            raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} is {info.file_size} bytes, its header "
                                 f"declares {header + nbytes}")
        data = f.read(nbytes)
    if len(data) != nbytes:
        raise KerasFileError(f"load_model({path}): {WEIGHTS}/{name} is truncated")
    array = np.frombuffer(data, dtype=got_dtype)
    array = array.reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype)


__all__ = ["KerasFileError", "deserialize_layer", "load_model", "save_model", "serialize_layer"]
