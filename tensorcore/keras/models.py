"""keras.models: Sequential, Model and load_model.

    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=784))
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer=Adam(lr=0.001), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32)

A Sequential model is a functional model (model.py) whose graph is the chain Input -> layer ->
layer ...: it is (re)built as soon as the input shape is known (an Input, input_shape= / input_dim=
on the first layer, build(), or the first data given to fit/predict).
"""

from ..dtypes import get_default_dtype
from ..errors import ArgumentError
from .base import Layer
from .functional import Graph
from .layers import Input, InputLayer
from .model import Model
from .saving import load_model
from .symbolic import KerasTensor


class Sequential(Model):
    """A linear stack of Keras layers. See the module docstring for an example."""

    base_name = "sequential"

    def __init__(self, layers=None, name=None, trainable=True):
        Model.__init__(self, name=name or "sequential", trainable=trainable)
        self._stack = []
        self._input = None
        self._name_counts = {}
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._stack)

    def sublayers(self):
        return list(self._stack)

    @property
    def is_subclassed(self):
        return False

    # --- building ---
    def add(self, layer):
        """Append a layer; the model is built as soon as its input shape is known."""
        if isinstance(layer, InputLayer):
            layer = layer.output
        if isinstance(layer, KerasTensor):
            if self._stack or self._input is not None:
                raise ValueError("Sequential: an Input must be the first thing added")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras Layer, got {type(layer).__name__}")
        if layer.name is None:
            n = self._name_counts.get(layer.base_name, 0)
            self._name_counts[layer.base_name] = n + 1
            layer.name = layer.base_name if n == 0 else f"{layer.base_name}_{n}"
        elif any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"Sequential: a layer named {layer.name!r} is already in the model")
        if not self._stack and self._input is None and layer.input_shape is not None:
            self._input = Input(shape=layer.input_shape, dtype=layer.dtype)
        self._stack.append(layer)
        if self._input is not None:
            self._rebuild()

    def pop(self):
        if not self._stack:
            raise ValueError("Sequential.pop: there are no layers")
        layer = self._stack.pop()
        if self._input is not None and self._stack:
            self._rebuild()
        elif not self._stack:
            self._graph, self.net, self.built = None, None, False
        return layer

    def _rebuild(self):
        x = self._input
        for layer in self._stack:
            x = layer(x)
        self._set_graph(Graph(self._input, x))

    def build(self, input_shape=None):
        """Build every layer; input_shape includes the batch axis as in Keras, e.g. (None, 784)."""
        if input_shape is not None:
            self._input = Input(shape=tuple(input_shape)[1:])
        if self._input is None:
            raise ValueError("Sequential.build: the input shape is unknown; give input_dim=/input_shape= to the "
                             "first layer, add an Input, or call fit/predict")
        self._rebuild()

    def _build_from(self, tensors):
        if len(tensors) != 1:
            raise ArgumentError(f"Sequential: one input, got {len(tensors)}")
        t = tensors[0]
        dtype = t.dtype if t.dtype.kind in "biu" else get_default_dtype()
        self._input = Input(shape=tuple(t.shape[1:]), dtype=dtype)
        self._rebuild()

    @property
    def output_shape(self):
        return (None,) + tuple(self._stack[-1].output_shape) if self.built and self._stack else None

    @output_shape.setter
    def output_shape(self, value):
        pass  # Layer.__init__ sets it; a Sequential model's comes from its last layer

    @property
    def input_shape(self):
        return tuple(self._input.shape) if self._input is not None else None

    @input_shape.setter
    def input_shape(self, value):
        pass

    def get_config(self):
        from .config import serialize_layer

        return {"name": self.name, "trainable": self.trainable,
                "input": None if self._input is None else {"shape": list(self._input.shape[1:]),
                                                           "dtype": self._input.dtype.name},
                "layers": [serialize_layer(layer) for layer in self._stack]}

    @classmethod
    def from_config(cls, config):
        from .config import deserialize_layer

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if config.get("input") is not None:
            model.add(Input(shape=tuple(config["input"]["shape"]), dtype=config["input"]["dtype"]))
        for item in config.get("layers", []):
            model.add(deserialize_layer(item))
        return model


def model_from_json(json_string, custom_objects=None):
    """The (fresh, uncompiled) model that model.to_json() described; custom_objects: {name: class or function}
    for layers and Lambda functions of your own. Only registered classes are built; nothing is executed."""
    import json

    from .base import KerasFileError
    from .config import deserialize_layer, set_custom_objects

    if not isinstance(json_string, (str, bytes)) or len(json_string) > 16 * 2**20:
        raise KerasFileError("model_from_json: expects a JSON string (at most 16 MiB) from model.to_json()")
    try:
        item = json.loads(json_string)
    except ValueError as e:
        raise KerasFileError(f"model_from_json: not valid JSON ({e})") from None
    if not isinstance(item, dict):
        raise KerasFileError("model_from_json: the JSON is not a model description")
    saved = set_custom_objects(custom_objects)
    try:
        model = deserialize_layer({"class_name": item.get("class_name"), "config": item.get("config")})
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        if isinstance(e, KerasFileError):
            raise
        raise KerasFileError(f"model_from_json: cannot rebuild the model: {type(e).__name__}: {e}") from None
    finally:
        set_custom_objects(saved)
    if not isinstance(model, Model):
        raise KerasFileError(f"model_from_json: the JSON describes a {type(model).__name__}, not a model")
    return model


__all__ = ["Model", "Sequential", "load_model", "model_from_json"]
