"""Keras layers: Dense, Activation, Dropout, Flatten, Input, each a thin shell around nn modules.

A layer knows its configuration at construction and builds its nn modules once it learns its
input shape (`build(input_shape) -> output_shape`; shapes exclude the batch axis). `modules()`
lists them as (name, nn.Module) pairs; the Sequential model chains them, so a Dense with
activation='relu' becomes ("dense", nn.Linear) and ("dense_activation", nn.ReLU).

To add a layer (Conv2D, MaxPooling2D, BatchNormalization ...): subclass Layer, set `base_name`,
implement `build` (create the nn modules, return the output shape) and `modules`. Keras images
are channels-last (N, H, W, C): a conv layer transposes to the nn modules' (N, C, H, W) inside
its own module.
"""

import math

from .. import nn
from ..errors import ShapeError

# --- activations and initializers by name ---------------------------------------------------------

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "softmax": lambda: nn.Softmax(dim=-1),
    "log_softmax": lambda: nn.LogSoftmax(dim=-1),
    "elu": lambda: nn.ELU(),
    "gelu": lambda: nn.GELU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # Keras 3's default negative slope
    "softplus": lambda: nn.Softplus(),
}


def get_activation(activation):
    """An nn module for a Keras activation name (None or 'linear': no module), or a module/callable as is."""
    if activation is None or activation == "linear":
        return None
    if isinstance(activation, nn.Module):
        return activation
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {', '.join(sorted(_ACTIVATIONS))}, linear")
        return _ACTIVATIONS[activation]()
    if callable(activation):
        return _Lambda(activation)
    raise ValueError(f"activation must be a name, an nn.Module or a callable, got {activation!r}")


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _initialize(tensor, initializer):
    """Apply a Keras initializer (by name or callable(tensor)) to a (out, in) weight or a bias."""
    init = nn.init
    if callable(initializer):
        initializer(tensor)
        return
    name = initializer
    if tensor.ndim >= 2:
        fan_in, fan_out = init.calculate_fan_in_and_fan_out(tensor)
    else:
        fan_in = fan_out = tensor.shape[0]
    table = {
        "glorot_uniform": lambda: init.xavier_uniform_(tensor) if tensor.ndim >= 2 else
        init.uniform_(tensor, -math.sqrt(3 / fan_in), math.sqrt(3 / fan_in)),
        "glorot_normal": lambda: init.normal_(tensor, 0, math.sqrt(2 / (fan_in + fan_out))),
        "he_uniform": lambda: init.uniform_(tensor, -math.sqrt(6 / fan_in), math.sqrt(6 / fan_in)),
        "he_normal": lambda: init.normal_(tensor, 0, math.sqrt(2 / fan_in)),
        "lecun_uniform": lambda: init.uniform_(tensor, -math.sqrt(3 / fan_in), math.sqrt(3 / fan_in)),
        "lecun_normal": lambda: init.normal_(tensor, 0, math.sqrt(1 / fan_in)),
        "random_uniform": lambda: init.uniform_(tensor, -0.05, 0.05),
        "random_normal": lambda: init.normal_(tensor, 0, 0.05),
        "zeros": lambda: init.zeros_(tensor),
        "ones": lambda: init.ones_(tensor),
    }
    if name not in table:
        raise ValueError(f"unknown initializer {name!r}; known: {', '.join(sorted(table))}")
    table[name]()


# --- the layers -----------------------------------------------------------------------------------


class Layer:
    """Base class. Subclasses set `base_name` and implement build() and modules()."""

    base_name = "layer"

    def __init__(self, name=None, input_shape=None, input_dim=None, trainable=True, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if input_dim is not None:
            input_shape = (int(input_dim),)
        self.name = name
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.output_shape = None
        self.built = False
        self.trainable = trainable

    def build(self, input_shape):
        """Create the nn modules for inputs of `input_shape` (no batch axis); return the output shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.input_shape
        self.built = True
        return self.output_shape

    def modules(self):
        """(name, nn.Module) pairs, in call order."""
        return []

    def parameters(self):
        return [p for _, m in self.modules() for p in m.parameters()]

    def count_params(self):
        return sum(p.data.size for p in self.parameters())

    def get_weights(self):
        """The weights as NumPy arrays (copies), in the layer's Keras order."""
        return [p.numpy().copy() for p in self.parameters()]

    def set_weights(self, weights):
        params = self.parameters()
        if len(weights) != len(params):
            raise ShapeError(f"{self.name}: set_weights got {len(weights)} arrays for {len(params)} weights")
        for p, w in zip(params, weights):
            _set(p, self._to_nn_layout(p, w), self.name)

    def _to_nn_layout(self, p, w):
        return w

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _set(p, w, layer):
    import numpy as np

    w = np.asarray(w)
    if tuple(w.shape) != tuple(p.shape):
        raise ShapeError(f"{layer}: weight of shape {tuple(w.shape)} for a variable of shape {tuple(p.shape)}")
    p.data[...] = w
    p._version += 1


class Dense(Layer):
    """Densely connected layer: output = activation(input @ kernel + bias) on the last axis.

    kernel_initializer='glorot_uniform', bias_initializer='zeros' (Keras' defaults). The kernel is
    stored as an nn.Linear weight of shape (units, input_dim); get_weights() gives Keras' (input_dim, units).

    Example:
        Dense(64, activation="relu", input_dim=784)
    """

    base_name = "dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units}")
        self.units = int(units)
        self.activation_name = activation if isinstance(activation, str) or activation is None else "custom"
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.linear = self.act = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ShapeError(f"{self.name}: Dense needs inputs with at least one feature axis")
        self.linear = nn.Linear(input_shape[-1], self.units, bias=self.use_bias)
        _initialize(self.linear.weight, self.kernel_initializer)
        if self.use_bias:
            _initialize(self.linear.bias, self.bias_initializer)
        self.act = get_activation(self.activation)
        self.input_shape, self.output_shape = input_shape, input_shape[:-1] + (self.units,)
        self.built = True
        return self.output_shape

    def modules(self):
        mods = [(self.name, self.linear)]
        if self.act is not None:
            mods.append((f"{self.name}_activation", self.act))
        return mods

    def get_weights(self):
        out = [self.linear.weight.numpy().T.copy()]
        if self.use_bias:
            out.append(self.linear.bias.numpy().copy())
        return out

    def _to_nn_layout(self, p, w):
        return w.T if p is self.linear.weight else w


class Activation(Layer):
    """Applies an activation by name ('relu', 'softmax', ...)."""

    base_name = "activation"

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.act = None

    def build(self, input_shape):
        self.act = get_activation(self.activation)
        return super().build(input_shape)

    def modules(self):
        return [] if self.act is None else [(self.name, self.act)]


class Dropout(Layer):
    """Randomly zeroes a fraction `rate` of the inputs while training (scaled by 1/(1-rate))."""

    base_name = "dropout"

    def __init__(self, rate, **kwargs):
        kwargs.pop("seed", None)  # tensorcore's generator (tc.manual_seed) drives dropout
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.module = nn.Dropout(self.rate)

    def modules(self):
        return [(self.name, self.module)]


class Flatten(Layer):
    """Flattens every axis but the batch axis."""

    base_name = "flatten"

    def __init__(self, **kwargs):
        kwargs.pop("data_format", None)
        super().__init__(**kwargs)
        self.module = nn.Flatten()

    def build(self, input_shape):
        super().build(input_shape)
        self.output_shape = (math.prod(self.input_shape),)
        return self.output_shape

    def modules(self):
        return [(self.name, self.module)]


class InputLayer(Layer):
    """Declares the input shape of a Sequential model (no computation)."""

    base_name = "input_layer"

    def __init__(self, shape=None, batch_size=None, name=None, input_shape=None, **kwargs):
        super().__init__(name=name, input_shape=shape if shape is not None else input_shape, **kwargs)
        if self.input_shape is None:
            raise ValueError("Input: give shape=, e.g. Input(shape=(784,))")
        self.batch_size = batch_size


def Input(shape=None, batch_size=None, name=None, **kwargs):
    """keras.Input(shape=(784,)): add it first to a Sequential model to fix the input shape."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name, **kwargs)


__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer", "get_activation"]

# --- conv-net layers (channels-last images): tensorcore/keras/conv_layers.py ---------------------
from .conv_layers import (  # noqa: E402
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    GlobalAveragePooling2D,
    MaxPooling2D,
)

__all__ += ["AveragePooling2D", "BatchNormalization", "Conv2D", "GlobalAveragePooling2D", "MaxPooling2D"]
