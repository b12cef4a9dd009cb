"""keras.Model: the functional model, the base of Sequential and of subclassed models.

    inputs = Input(shape=(8,))                                    # functional
    model = Model(inputs, Dense(3, activation="softmax")(Dense(16, activation="relu")(inputs)))

    class MLP(Model):                                              # subclassed
        def __init__(self):
            super().__init__()
            self.hidden, self.out = Dense(16, activation="relu"), Dense(3)
        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

Several inputs and outputs are lists or dicts of KerasTensors; fit/predict take arrays in the same
nesting (a dict by input name). Layers assigned to a subclassed model's attributes are tracked.
`model.net` is one nn.Module holding every layer's modules (what the optimizer, state_dict and
data-parallel wrappers see). Training (compile/fit/evaluate/predict) is in training.py.
"""

from collections import OrderedDict

import numpy as np

from .. import nn
from ..errors import ArgumentError, ShapeError, TensorcoreError
from .base import Layer, _call_parameters
from .functional import Graph, symbolic_call
from .symbolic import KerasTensor, flatten, map_structure, model_forward, training_mode
from .training import TrainingMixin


class _ModelNet(nn.Module):
    """The nn.Module view of a keras model: every layer's modules as children; forward runs the model."""

    def __init__(self, model, pairs):
        super().__init__()
        object.__setattr__(self, "_keras_model", model)
        for name, module in pairs:
            self.add_module(name, module)

    def forward(self, *inputs):
        return self._keras_model._forward(list(inputs), training=self.training)


class Model(TrainingMixin, Layer):
    """keras.Model(inputs, outputs, name=None), or a subclass that defines call(inputs, training=None)."""

    base_name = "functional"

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if name is None:
            name = Model.base_name if inputs is not None else self.base_name
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        TrainingMixin.__init__(self)
        self._graph = None
        self.net = None
        if (inputs is None) != (outputs is None):
            raise ArgumentError("Model: give both inputs and outputs (functional), or neither (a subclass)")
        if inputs is not None:
            if type(self).call is not Model.call:
                raise ArgumentError("Model: a subclass that defines call() takes no inputs/outputs")
            self._set_graph(Graph(inputs, outputs))

    # --- structure ---
    @property
    def is_subclassed(self):
        return self._graph is None and type(self).call is not Model.call

    def _set_graph(self, graph):
        self._graph = graph
        self._assemble()

    @property
    def layers(self):
        if self._graph is not None:
            return self._graph.layers
        return list(self.__dict__.get("_tracked", []))

    def sublayers(self):
        return [layer for layer in self.layers if not getattr(layer, "is_input", False)]

    def get_layer(self, name=None, index=None):
        """The layer called `name` (or at position `index` of model.layers)."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ArgumentError(f"get_layer: no layer named {name!r}; layers: {[layer.name for layer in self.layers]}")

    @property
    def inputs(self):
        return self._graph.input_list if self._graph is not None else None

    @property
    def outputs(self):
        return self._graph.output_list if self._graph is not None else None

    @property
    def output_shape(self):
        """Keras' model.output_shape: the output's shape with the batch axis (None); a list for several."""
        if self._graph is None:
            return self.__dict__.get("_output_shape")
        shapes = [t.shape for t in self._graph.output_list]
        return shapes[0] if len(shapes) == 1 else shapes

    @output_shape.setter
    def output_shape(self, value):
        self.__dict__["_output_shape"] = value  # a subclassed model's (Layer's convention: no batch axis)

    @property
    def input_shape(self):
        """Keras' model.input_shape: the input's shape with the batch axis (None); a list for several."""
        if self._graph is None:
            return self.__dict__.get("_input_shape")
        shapes = [t.shape for t in self._graph.input_list]
        return shapes[0] if len(shapes) == 1 else shapes

    @input_shape.setter
    def input_shape(self, value):
        self.__dict__["_input_shape"] = value

    @property
    def input_names(self):
        return [t.node.layer.name for t in self._graph.input_list] if self._graph is not None else ["input"]

    @property
    def output_names(self):
        if self._graph is None:
            return ["output"]
        if isinstance(self._graph.outputs, dict):
            return list(self._graph.outputs)
        return [t.node.layer.name for t in self._graph.output_list]

    def _name_layers(self):
        counts, names = {}, set()
        for layer in self.layers:
            if layer.name is None:
                n = counts.get(layer.base_name, 0)
                while (layer.base_name if n == 0 else f"{layer.base_name}_{n}") in names:
                    n += 1
                counts[layer.base_name] = n + 1
                layer.name = layer.base_name if n == 0 else f"{layer.base_name}_{n}"
            if layer.name in names:
                raise ArgumentError(f"{self.name}: two layers are named {layer.name!r}; layer names must be unique")
            names.add(layer.name)
        if self._graph is not None:
            for t in self._graph.input_list:
                t.name = t.name or t.node.layer.name

    def _assemble(self):
        """(Re)build model.net from the layers' modules; the optimizer is rebuilt on the next fit."""
        self._name_layers()
        pairs = OrderedDict()
        for layer in self.sublayers():
            for name, module in layer.modules():
                if module is None:
                    continue
                if name in pairs:
                    raise ArgumentError(f"{self.name}: two weight holders are named {name!r}")
                pairs[name] = module
        self.net = _ModelNet(self, pairs.items())
        self.built = True
        if self.optimizer is not None:
            self.optimizer.inner = None

    @property
    def _head(self):
        """'softmax' / 'sigmoid' when the one output's layer ends in it and the output is (N, C)."""
        if self._graph is None or len(self._graph.output_list) != 1:
            return None
        out = self._graph.output_list[0]
        return out.node.layer.head if len(out.shape) == 2 else None

    # --- running ---
    def call(self, inputs, training=None):
        """Run the functional graph on Tensors (nested like the model's inputs)."""
        return self._graph.run(self._flat_inputs(inputs), training=bool(training))

    def _flat_inputs(self, inputs):
        if isinstance(inputs, dict):
            names = self.input_names if not isinstance(self._graph.inputs, dict) else list(self._graph.inputs)
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ArgumentError(f"{self.name}: inputs dict lacks {missing} (the model's inputs: {names})")
            return [inputs[n] for n in names]
        return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]

    def _forward(self, inputs, training=False, logits=False):
        """The outputs for a list of input Tensors (one per model input)."""
        with model_forward():
            return self._forward_pass(inputs, training, logits)

    def _forward_pass(self, inputs, training, logits):
        if self._graph is not None:
            return self._graph.run(inputs, training=training, logits=logits)
        x = inputs[0] if len(inputs) == 1 else inputs
        with training_mode(training):
            if "training" in _call_parameters(type(self)):
                return self.call(x, training=training)
            return self.call(x)

    def __call__(self, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in flatten((args, kwargs))):
            return symbolic_call(self, args, kwargs)
        inputs = args[0] if args else kwargs.pop("inputs")
        training = kwargs.pop("training", None)
        training = bool(training if training is not None else self._current_training())
        arrays = [t for t in self._flat_inputs(inputs)] if self._graph is not None else \
            (list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
        tensors = [a if hasattr(a, "requires_grad") else self._tensor(self._cast_input(np.asarray(a), i))
                   for i, a in enumerate(arrays)]
        if not self.built:
            self._build_from(tensors)
        return self._forward(tensors, training=training)

    @staticmethod
    def _current_training():
        from .symbolic import current_training

        return current_training()

    def _eager_call(self, args, kwargs, masks=None):  # a model used as a layer inside another model
        kwargs = dict(kwargs)
        kwargs.pop("_logits", None)
        return self.__call__(*args, **kwargs)

    def _build_from(self, tensors):
        """Build a model whose input shapes were unknown from its first real inputs."""
        if self.is_subclassed:
            from ..autograd import no_grad

            with no_grad():
                self._forward([t[:2] for t in tensors], training=False)
            self._assemble()
            self.input_shape = tuple(tensors[0].shape[1:])
            self._build_inputs = [(tuple(t.shape[1:]), t.dtype.name) for t in tensors]
            return
        raise TensorcoreError(f"{self.name}: the model has no inputs; build it with Input(...) or give input shapes")

    def _cast_input(self, a, i):
        """Input arrays in the Input's dtype (float arrays otherwise in the default float dtype)."""
        from ..dtypes import get_default_dtype

        if a.dtype.kind not in "biuf":
            raise TypeError(f"inputs must be numeric arrays, got dtype {a.dtype}")
        if self._graph is not None:
            dtype = self._graph.input_list[i].dtype
        else:
            dtype = a.dtype if a.dtype.kind in "biu" else np.dtype(get_default_dtype())
        return a if a.dtype == dtype else a.astype(dtype)

    def build(self, input_shape=None):
        if self.is_subclassed and input_shape is not None:
            from ..dtypes import get_default_dtype

            self._build_from([self._tensor(np.zeros((2,) + tuple(input_shape)[1:], dtype=get_default_dtype()))])
        self.built = self.built or self._graph is not None

    # --- weights ---
    @property
    def weights(self):
        return [w for layer in self.sublayers() for w in layer.weights]

    def get_weights(self):
        """Every layer's weights as NumPy arrays, in Keras layout (Dense kernels are (in, out))."""
        return [w for layer in self.sublayers() for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        i = 0
        for layer in self.sublayers():
            k = len(layer.weights)
            if i + k > len(weights):
                raise ShapeError(f"set_weights: got {len(weights)} arrays, the model has more weights")
            layer.set_weights(weights[i:i + k])
            i += k
        if i != len(weights):
            raise ShapeError(f"set_weights: got {len(weights)} arrays, the model has {i} weights")

    def count_params(self):
        return sum(layer.count_params() for layer in self.sublayers())

    def modules(self):
        pairs = []
        for layer in self.sublayers():
            pairs += layer.modules()
        return pairs

    def get_config(self):
        """A functional model's graph and layers; a subclassed model's constructor arguments ({} by default)."""
        from .config import functional_config

        return functional_config(self) if self._graph is not None else {}

    @classmethod
    def from_config(cls, config):
        from .config import functional_from_config

        return functional_from_config(config) if "nodes" in config else cls(**config)

    def to_json(self, **kwargs):
        """The architecture as a JSON string (no weights, no compile settings), as Keras' model.to_json();
        keras.models.model_from_json rebuilds it. kwargs go to json.dumps (indent=...)."""
        import json

        from .config import serialize_layer

        item = serialize_layer(self)
        return json.dumps({"module": "keras", "class_name": item["class_name"], "config": item["config"],
                           "registered_name": item["class_name"], "format": "tensorcore-keras"}, **kwargs)

    def save(self, filepath, overwrite=True):
        """Save the architecture, weights and compile settings to a .keras zip (JSON + .npz, no pickle)."""
        from .saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    # --- weights files ---
    def save_weights(self, filepath, overwrite=True):
        """Save the weights to an .npz checkpoint (atomic write, no pickle)."""
        import os

        from ..serialization import save

        if not self.built:
            raise TensorcoreError("save_weights: the model has no weights yet (it is not built)")
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
        save({"format": "tensorcore-keras-weights", "layers": [layer.name for layer in self.sublayers()],
              "weights": self.net.state_dict()}, filepath)

    def load_weights(self, filepath):
        """Load weights saved by save_weights. Layers are matched by name, or else by position when
        every shape agrees (as Keras does); otherwise StateDictError names each missing, unexpected
        or mis-shaped weight."""
        from ..serialization import StateDictError, load

        state = load(filepath)
        if not isinstance(state, dict) or state.get("format") != "tensorcore-keras-weights":
            raise StateDictError(f"load_weights({filepath}): not a weights file written by save_weights")
        if not self.built:
            raise TensorcoreError("load_weights: build the model first (give an input shape or call build())")
        weights = state["weights"]
        own = self.net.state_dict()
        if set(weights) != set(own) and len(weights) == len(own) and all(
                tuple(a.shape) == tuple(b.shape) for a, b in zip(weights.values(), own.values())):
            weights = OrderedDict(zip(own, weights.values()))
        try:
            self.net.load_state_dict(weights, strict=True)
        except StateDictError as e:
            raise StateDictError(f"load_weights({filepath}): {e}") from None

    # --- printing ---
    def summary(self, print_fn=None):
        """Print the layers with their output shapes and parameter counts, as Keras does."""
        print_fn = print_fn or print
        if not self.built:
            raise ValueError("summary: the model is not built yet; give an input shape or call fit/build first")

        def shape_text(shape):
            if shape is None:
                return "?"
            if isinstance(shape, list):
                return ", ".join(shape_text(s) for s in shape)
            return str((None,) + tuple(shape))

        def batchless(layer):  # a model's shapes carry the batch axis (Keras'), a layer's do not
            shape = layer.output_shape
            if not isinstance(layer, Model) or layer._graph is None or shape is None:
                return shape
            return [s[1:] for s in shape] if isinstance(shape, list) else shape[1:]

        rows = [(f"{layer.name} ({type(layer).__name__})", shape_text(batchless(layer)), f"{layer.count_params():,}")
                for layer in self.layers]
        head = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(r[i]) for r in rows + [head]) + 4 for i in range(3)]
        width = sum(widths)
        lines = [f'Model: "{self.name}"', "_" * width, "".join(h.ljust(w) for h, w in zip(head, widths)), "=" * width]
        for i, r in enumerate(rows):
            lines.append("".join(c.ljust(w) for c, w in zip(r, widths)))
            lines.append("_" * width if i < len(rows) - 1 else "=" * width)
        total = self.count_params()
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)  # BatchNorm's moving stats are not
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "_" * width]
        print_fn("\n".join(lines))


def _output_structure(model, flat):
    """Flat per-output values back into the nesting of the model's outputs."""
    if model._graph is None:
        return flat[0] if len(flat) == 1 else flat
    it = iter(flat)
    return map_structure(lambda _t: next(it), model._graph.outputs)


__all__ = ["Model"]
