"""Model and layer configs as JSON: what a .keras file's config.json holds (saving.py writes and reads the file).

Only classes registered here (or passed to load_model as custom_objects) are ever instantiated, with
JSON arguments checked against the constructor's signature. A functional graph is stored as its
layers plus one entry per layer call, whose arguments refer to earlier calls' outputs by index.
"""

import inspect

from ..errors import ArgumentError, TensorcoreError
from .base import KerasFileError
from .symbolic import KerasTensor, flatten

_custom = {}  # custom_objects of the load in progress (nested layers resolve through them)


REGISTERED = {}  # {"package>name": class or function} from keras.saving.register_keras_serializable


def set_custom_objects(objects):
    """Install {class name: class} for the load in progress; returns the previous mapping."""
    global _custom
    saved, _custom = _custom, dict(objects or {})
    return saved


def registered_name(obj):
    """The "package>name" obj was registered under, or None."""
    for key, value in REGISTERED.items():
        if value is obj:
            return key
    return None


def custom_object(name):
    """The class or function called `name` in the load's custom_objects, or registered as `name`
    ("package>name") by the program."""
    return _custom.get(name) or REGISTERED.get(name)


def _registry():
    from . import layers, model, models
    from .base import Layer

    names = [n for n in layers.__all__ if n != "Layer" and isinstance(getattr(layers, n), type)
             and issubclass(getattr(layers, n), Layer)]  # every layer class keras.layers exports
    table = {n: getattr(layers, n) for n in names}
    table.update({"Model": model.Model, "Functional": model.Model, "Sequential": models.Sequential})
    return table


# --- configs -------------------------------------------------------------------------------------


def serialize_layer(layer):
    """{"class_name", "config"} of a layer (its get_config() must hold only JSON values)."""
    from .model import Model

    name = "Functional" if type(layer) is Model else type(layer).__name__
    item = {"class_name": name, "config": layer.get_config()}
    key = registered_name(type(layer))
    if key is not None:
        item["registered_name"] = key
    return item


def deserialize_layer(item):
    """A layer from serialize_layer's output; only registered classes (or the load's custom_objects)."""
    if not (isinstance(item, dict) and isinstance(item.get("class_name"), str) and isinstance(item.get("config"),
                                                                                               dict)):
        raise KerasFileError(f"bad layer entry in the config: {str(item)[:80]!r}")
    name = item["class_name"]
    key = item.get("registered_name")
    cls = _custom.get(name) or (REGISTERED.get(key) if isinstance(key, str) else None) or _registry().get(name)
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


def compile_config(model):
    """The compile settings as JSON (names, or built-in loss classes), or None when not compiled."""
    if not model.compiled:
        return None
    from . import losses, metrics

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
        if isinstance(spec, metrics.Metric) and metrics.CLASSES.get(type(spec).__name__) is type(spec):
            return {"metric_class": type(spec).__name__, "config": spec.get_config()}
        raise ArgumentError(f"save: the compile setting {spec!r:.60} is not a name; it cannot be saved")

    opt = model.optimizer
    opt_config = {k: v for k, v in opt.get_config().items() if isinstance(v, (int, float, str, bool, type(None)))}
    opt_config["learning_rate"] = opt_config.pop("_learning_rate", opt.learning_rate)
    return {"optimizer": {"class_name": type(opt).__name__, "config": opt_config}, "loss": plain(model._loss_spec),
            "metrics": plain(model._metric_spec), "loss_weights": model._loss_weights,
            "weighted_metrics": plain(getattr(model, "_weighted_metric_spec", None))}


_LOSSES = ("CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError")


def compile_from_config(model, config, path):
    """compile(model) with the settings compile_config wrote; only built-in optimizers and losses."""
    from . import losses, metrics, optimizers

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

    def metric_of(spec):
        if isinstance(spec, list):
            return [metric_of(s) for s in spec]
        if isinstance(spec, dict) and "metric_class" in spec:
            cls = metrics.CLASSES.get(spec["metric_class"])
            if cls is None or not isinstance(spec.get("config"), dict):
                raise KerasFileError(f"load_model({path}): unknown metric {str(spec)[:60]!r}")
            _check_arguments(cls, spec["config"])
            return cls.from_config(spec["config"])
        if isinstance(spec, dict):
            return {k: metric_of(v) for k, v in spec.items()}
        return spec

    opt = config.get("optimizer") or {}
    cls = getattr(optimizers, str(opt.get("class_name")), None)
    if not (isinstance(cls, type) and issubclass(cls, optimizers.Optimizer)):
        raise KerasFileError(f"load_model({path}): unknown optimizer {opt.get('class_name')!r}")
    _check_arguments(cls, opt.get("config", {}))
    model.compile(optimizer=cls(**opt.get("config", {})), loss=loss_of(config.get("loss")),
                  metrics=metric_of(config.get("metrics")), loss_weights=config.get("loss_weights"),
                  weighted_metrics=metric_of(config.get("weighted_metrics")))


__all__ = ["deserialize_layer", "functional_config", "functional_from_config", "serialize_layer"]
