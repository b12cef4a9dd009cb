"""Keras layers: Dense, Activation, Dropout, Flatten, Reshape, Concatenate, Add, Input, and (re-exported)
the conv-net layers (conv_layers.py, conv_more.py, image_layers.py), the activation layers
(activation_layers.py), the merges (merge_layers.py), the core / normalization / noise layers
(core_layers.py) and the sequence layers (rnn_layers.py, attention_layers.py); Keras' alias names
(MaxPool2D, Convolution2D, ...) and functional merges (add, concatenate, ...) too. config.py's
registry lists every layer class exported here, so each saves and loads.

Each is a thin shell around tensorcore ops and nn modules (the base class, tensorcore/keras/base.py,
explains how a layer is built and called). A Dense with activation='relu' holds ("dense", nn.Linear)
and ("dense_activation", nn.ReLU).

Example (the functional API):
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    outputs = Dense(10, activation="softmax")(x)
    model = Model(inputs, outputs)
"""

import math

import numpy as np

from .. import nn
from ..errors import ArgumentError, ShapeError
from ..tensor import _make
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .activations import get_activation
from .attention_layers import LayerNormalization, MultiHeadAttention
from .base import Layer, _array, reserve
from .conv_layers import AveragePooling2D, BatchNormalization, Conv2D, GlobalAveragePooling2D, MaxPooling2D
from .conv_more import Conv1D, Conv1DTranspose, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from .core_layers import (
    ActivityRegularization,
    GaussianDropout,
    GaussianNoise,
    Identity,
    Lambda,
    Masking,
    Normalization,
    Permute,
    RepeatVector,
    Rescaling,
    SpatialDropout1D,
    SpatialDropout2D,
    TimeDistributed,
    UnitNormalization,
)
from .image_layers import (
    AveragePooling1D,
    Cropping1D,
    Cropping2D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from .initializers import _initialize
from .merge_layers import (
    Average,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    _Merge,
    add,
    average,
    check_broadcastable,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .rnn_layers import GRU, LSTM, Bidirectional, Embedding, SimpleRNN
from .symbolic import KerasTensor, Node


def _head_of(act):
    if isinstance(act, nn.Softmax) and act.dim in (-1, 1):
        return "softmax"
    return "sigmoid" if isinstance(act, nn.Sigmoid) else None


class Dense(Layer):
    """Densely connected layer: output = activation(input @ kernel + bias) on the last axis.

    kernel_initializer='glorot_uniform', bias_initializer='zeros' (Keras' defaults). The kernel is
    stored as an nn.Linear weight of shape (units, input_dim); get_weights() gives Keras' (input_dim, units).

    Example:
        Dense(64, activation="relu", input_dim=784)
    """

    base_name = "dense"
    config_keys = ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                   "bias_regularizer")
    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        from .regularizers import get as get_regularizer

        self.kernel_regularizer, self.bias_regularizer = get_regularizer(kernel_regularizer), \
            get_regularizer(bias_regularizer)
        if int(units) < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units}")
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.linear = self.act = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ShapeError(f"{self.name}: Dense needs inputs (batch, ..., features) with a known last axis, "
                             f"got shape {input_shape}")
        reserve((input_shape[-1] + 1) * self.units * 4, f"{self.name}: Dense({self.units}) on {input_shape[-1]} inputs")
        self.linear = nn.Linear(input_shape[-1], self.units, bias=self.use_bias)
        _initialize(self.linear.weight, self.kernel_initializer)
        if self.use_bias:
            _initialize(self.linear.bias, self.bias_initializer)
        self._regularized = []
        self.add_regularizer(self.kernel_regularizer, self.linear.weight)
        if self.use_bias:
            self.add_regularizer(self.bias_regularizer, self.linear.bias)
        self.act = get_activation(self.activation)
        self.head = _head_of(self.act)
        self.built = True

    def modules(self):
        mods = [(self.name, self.linear)]
        if self.act is not None:
            mods.append((f"{self.name}_activation", self.act))
        return mods

    def call(self, inputs, _logits=False):
        w = self.linear.weight
        if inputs.dtype.kind == "f" and inputs.dtype != w.dtype:
            inputs = inputs.astype(w.dtype)  # Keras casts floating inputs to the layer's compute dtype
        y = self.linear(inputs)
        return y if self.act is None or _logits else self.act(y)

    @property
    def weights(self):
        return [self.linear.weight] + ([self.linear.bias] if self.use_bias else [])

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
    config_keys = ("activation",)
    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.act = get_activation(activation)
        self.head = _head_of(self.act)

    def modules(self):
        return [] if self.act is None else [(self.name, self.act)]

    def call(self, inputs, _logits=False):
        return inputs if self.act is None or _logits else self.act(inputs)


class Dropout(Layer):
    """Randomly zeroes a fraction `rate` of the inputs while training (scaled by 1/(1-rate))."""

    base_name = "dropout"
    config_keys = ("rate",)
    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)  # seed: tensorcore's generator (tc.manual_seed) drives dropout
        if noise_shape is not None:
            raise ArgumentError("Dropout: noise_shape is not supported")
        if not 0 <= float(rate) < 1:
            raise ArgumentError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.module = nn.Dropout(self.rate)

    def modules(self):
        return [(self.name, self.module)]


class Flatten(Layer):
    """Flattens every axis but the batch axis."""

    base_name = "flatten"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.module = nn.Flatten()

    def modules(self):
        return [(self.name, self.module)]


class Reshape(Layer):
    """Reshape(target_shape): each sample to target_shape (no batch axis; one -1 is inferred)."""

    base_name = "reshape"
    config_keys = ("target_shape",)

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ArgumentError(f"Reshape: at most one -1 in target_shape, got {self.target_shape}")

    def build(self, input_shape):
        if None not in input_shape[1:]:
            size = math.prod(input_shape[1:])
            known = math.prod(d for d in self.target_shape if d != -1)
            if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
                raise ShapeError(f"{self.name}: cannot reshape inputs of shape {tuple(input_shape)} to "
                                 f"{self.target_shape}")
        self.built = True

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self.target_shape)


class Concatenate(_Merge):
    """Concatenate(axis=-1)([a, b, ...]): the inputs joined along `axis`."""

    base_name = "concatenate"
    config_keys = ("axis",)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        from .. import cat

        ndim = inputs[0].ndim
        axis = self.axis % ndim
        for t in inputs[1:]:
            if t.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, inputs[0].shape)) if i != axis):
                raise ShapeError(f"{self.name}: cannot concatenate shapes {[tuple(x.shape) for x in inputs]} "
                                 f"on axis {self.axis}")
        return cat(list(inputs), axis)


class Add(_Merge):
    """Add()([a, b, ...]): the elementwise sum (non-batch axes broadcast, as Keras)."""

    base_name = "add"

    def call(self, inputs):
        inputs = check_broadcastable(self, inputs)
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out


class TensorOp(Layer):
    """One arithmetic op on KerasTensors (and numbers): what `x + y`, `2 * x`, `x @ w` ... record in a graph."""

    base_name = "tensor_op"
    config_keys = ("op",)
    OPS = {"add": lambda a, b: a + b, "subtract": lambda a, b: a - b, "multiply": lambda a, b: a * b,
           "divide": lambda a, b: a / b, "power": lambda a, b: a ** b, "negative": lambda a: -a,
           "matmul": lambda a, b: a @ b}

    def __init__(self, op, **kwargs):
        super().__init__(**kwargs)
        if op not in self.OPS:
            raise ArgumentError(f"TensorOp: unknown op {op!r}; known: {', '.join(sorted(self.OPS))}")
        self.op = op

    def _build_for(self, args, kwargs):
        self.built = True

    def call(self, *args):
        return self.OPS[self.op](*args)


class GlobalAveragePooling1D(Layer):
    """The mean over the steps: (N, T, C) -> (N, C); with a mask (Embedding(mask_zero=True)), over the real steps."""

    base_name = "global_average_pooling1d"
    config_keys = ("data_format", "keepdims")

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in ("channels_last", "channels_first"):
            raise ArgumentError(f"{type(self).__name__}: data_format must be channels_last or channels_first")
        self.data_format, self.keepdims = data_format, bool(keepdims)

    def _axis(self, inputs):
        if inputs.ndim != 3:
            raise ShapeError(f"{self.name}: expects (batch, steps, channels), got {tuple(inputs.shape)}")
        return 1 if self.data_format == "channels_last" else 2

    def call(self, inputs, mask=None):
        axis = self._axis(inputs)
        if mask is None:
            return inputs.mean(axis=axis, keepdims=self.keepdims)
        m = _array(mask).astype(inputs.dtype)
        m = m[:, :, None] if axis == 1 else m[:, None, :]
        # NOTE: a row with every step masked averages to 0 (its count is taken as 1), not 0 / 0.
        count = inputs.device.backend.xp.maximum(m.sum(axis=axis, keepdims=True), 1)
        if not self.keepdims:
            count = count.reshape(count.shape[0], 1)
        m, count = (_make(a, inputs.device, False, None) for a in (m, count))
        return (inputs * m).sum(axis=axis, keepdims=self.keepdims) / count


class GlobalMaxPooling1D(GlobalAveragePooling1D):
    """The maximum over the steps: (N, T, C) -> (N, C)."""

    base_name = "global_max_pooling1d"

    def call(self, inputs):
        top = inputs.max(axis=self._axis(inputs), keepdims=self.keepdims)
        return getattr(top, "values", top)  # PyTorch's max(dim) is a (values, indices) pair


class InputLayer(Layer):
    """The layer behind keras.Input: declares an input's shape and dtype (no computation)."""

    base_name = "input_layer"
    is_input = True

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None, sparse=None,
                 **kwargs):
        super().__init__(name=name, input_shape=shape if shape is not None else input_shape, **kwargs)
        if self.input_shape is None:
            raise ValueError("Input: give shape=, e.g. Input(shape=(784,))")
        self.batch_size = batch_size
        from ..dtypes import get_default_dtype

        self.dtype = np.dtype(dtype or get_default_dtype()).name
        self.output_shape = self.input_shape
        self.built = True
        self.output = KerasTensor((batch_size,) + self.input_shape, self.dtype, name)
        self.output.node = Node(self, [], {}, [self.output])

    def get_config(self):
        return {"name": self.name, "shape": list(self.input_shape), "dtype": self.dtype, "batch_size": self.batch_size}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None, **kwargs):
    """keras.Input(shape=(784,), dtype="float32", name=None): a symbolic input (a KerasTensor).

    Call layers on it and give it to keras.Model(inputs, outputs); or add it first to a Sequential model."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, **kwargs).output


# Keras' other names for the same classes
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
Convolution1DTranspose = Conv1DTranspose
SeparableConvolution2D = SeparableConv2D
ALIASES = ["AvgPool1D", "AvgPool2D", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
           "Convolution2DTranspose", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
           "MaxPool1D", "MaxPool2D", "SeparableConvolution2D"]

__all__ = ["ELU", "GRU", "LSTM", "Activation", "ActivityRegularization", "Add", "Average", "AveragePooling1D",
           "AveragePooling2D", "BatchNormalization", "Bidirectional", "Concatenate", "Conv1D", "Conv2D",
           "Conv2DTranspose", "Cropping2D", "Dense", "DepthwiseConv2D", "Dot", "Dropout", "Embedding", "Flatten",
           "GaussianDropout", "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Identity", "Input", "InputLayer", "Lambda", "Layer",
           "LayerNormalization", "LeakyReLU", "Masking", "MaxPooling1D", "MaxPooling2D", "Maximum", "Minimum",
           "MultiHeadAttention", "Multiply", "Normalization", "PReLU", "Permute", "ReLU", "RepeatVector", "Rescaling",
           "Reshape", "SeparableConv2D", "SimpleRNN", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "Subtract",
           "TensorOp", "TimeDistributed", "UnitNormalization", "UpSampling2D", "ZeroPadding2D", "get_activation",
           "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract", "Conv1DTranspose",
           "Cropping1D", "UpSampling1D", "ZeroPadding1D", *ALIASES]
