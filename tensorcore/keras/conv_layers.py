"""Keras conv-net layers: Conv2D, MaxPooling2D, AveragePooling2D, BatchNormalization, GlobalAveragePooling2D.

Images are channels-last (N, H, W, C) as in Keras, unless a layer gets data_format="channels_first".
A channels-last layer transposes to NCHW around the nn module it wraps (two transposes per layer;
use channels_first throughout to avoid them). Weights follow Keras' layouts in get_weights() /
set_weights(): a Conv2D kernel is (kh, kw, in, out) (the nn.Conv2d weight is (out, in, kh, kw)).

padding="same" follows Keras: output size ceil(size / stride), the odd padding cell at the
bottom/right; pooling ignores the padded cells (max over real values, mean over real values).

Example:
    model = Sequential([Input(shape=(28, 28, 1)),
                        Conv2D(32, 3, activation="relu"), MaxPooling2D(),
                        Conv2D(64, 3, activation="relu"), GlobalAveragePooling2D(),
                        Dense(10, activation="softmax")])
"""

import numpy as np

from .. import nn, ops
from ..errors import ShapeError
from ..tensor import _make, tensor
from .activations import get_activation
from .base import Layer, _permute, _set, reserve
from .initializers import _initialize


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return v


def _data_format(value):
    value = "channels_last" if value is None else value
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {value!r}")
    return value


def _same_pads(size, kernel, stride, dilation=1):
    """Keras/TensorFlow 'same': (before, after) so that the output has ceil(size / stride) cells."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class _Spatial(nn.Module):
    """Runs an NCHW function on channels-last input (transposing in and out) or channels-first as is,
    after Keras 'same' padding with `pad_value` when pads are given."""

    def __init__(self, fn, channels_last, pads=None, pad_value=0.0, inner=None):
        super().__init__()
        self.fn, self.channels_last, self.pads, self.pad_value = fn, channels_last, pads, pad_value
        if inner is not None:
            self.inner = inner  # registered, so its parameters belong to the model

    def forward(self, x):
        if self.channels_last:
            x = _permute(x, (0, 3, 1, 2))
        if self.pads is not None and any(self.pads[0] + self.pads[1]):
            (pt, pb), (pl, pr) = self.pads
            x = ops.shape.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), value=self.pad_value)
        y = self.fn(x)
        return _permute(y, (0, 2, 3, 1)) if self.channels_last else y


class _ImageLayer(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format)

    def _split(self, input_shape):
        """(H, W, C) of an image input shape (batch axis first), in either data format."""
        if len(input_shape) != 4:
            raise ShapeError(f"{self.name}: expects images (batch, H, W, C), got shape {tuple(input_shape)}")
        input_shape = input_shape[1:]
        if self.data_format == "channels_last":
            return input_shape[0], input_shape[1], input_shape[2]
        return input_shape[1], input_shape[2], input_shape[0]

    def _join(self, h, w, c):
        return (h, w, c) if self.data_format == "channels_last" else (c, h, w)


class Conv2D(_ImageLayer):
    """2-D convolution: Conv2D(filters, kernel_size, strides=1, padding="valid" | "same", ...).

    kernel_initializer='glorot_uniform', bias_initializer='zeros' (Keras' defaults).
    get_weights() -> [kernel (kh, kw, in / groups, filters), bias (filters,)].
    """

    base_name = "conv2d"
    config_keys = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                   "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                   "bias_regularizer")

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        from .regularizers import get as get_regularizer

        self.kernel_regularizer, self.bias_regularizer = get_regularizer(kernel_regularizer), \
            get_regularizer(bias_regularizer)
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"Conv2D: padding must be 'valid' or 'same', got {padding!r}")
        self.groups, self.activation, self.use_bias = int(groups), activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.conv = self.module = self.act = None

    def build(self, input_shape):
        h, w, c = self._split(tuple(input_shape))
        reserve(self.filters * (c // max(self.groups, 1) * self.kernel_size[0] * self.kernel_size[1] + 1) * 4,
                f"{self.name}: Conv2D({self.filters}, {self.kernel_size}) on {c} channels")
        self.conv = nn.Conv2d(c, self.filters, self.kernel_size, self.strides, 0, self.dilation_rate, self.groups,
                              bias=self.use_bias)
        _initialize(self.conv.weight, self.kernel_initializer)  # fans in*kh*kw, out*kh*kw as in Keras
        if self.use_bias:
            _initialize(self.conv.bias, self.bias_initializer)
        self._regularized = []
        self.add_regularizer(self.kernel_regularizer, self.conv.weight)
        if self.use_bias:
            self.add_regularizer(self.bias_regularizer, self.conv.bias)
        pads = None
        if self.padding == "same":
            pads = tuple(_same_pads(n, k, s, d) for n, k, s, d in
                         zip((h, w), self.kernel_size, self.strides, self.dilation_rate))
        self.module = _Spatial(self.conv, self.data_format == "channels_last", pads, 0.0, inner=self.conv)
        self.act = get_activation(self.activation)
        size = []
        for n, k, s, d, a in zip((h, w), self.kernel_size, self.strides, self.dilation_rate, (0, 1)):
            extra = sum(pads[a]) if pads else 0
            size.append((n + extra - d * (k - 1) - 1) // s + 1)
        if min(size) < 1:
            raise ShapeError(f"{self.name}: kernel {self.kernel_size} does not fit input {tuple(input_shape)}")
        self.built = True

    def modules(self):
        mods = [(self.name, self.module)]
        if self.act is not None:
            mods.append((f"{self.name}_activation", self.act))
        return mods

    def get_weights(self):
        out = [self.conv.weight.numpy().transpose(2, 3, 1, 0).copy()]
        if self.use_bias:
            out.append(self.conv.bias.numpy().copy())
        return out

    def _to_nn_layout(self, p, w):
        return np.asarray(w).transpose(3, 2, 0, 1) if p is self.conv.weight else w


class _Pooling2D(_ImageLayer):
    config_keys = ("pool_size", "strides", "padding", "data_format")

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}")
        self.module = None

    def _out(self, h, w):
        if self.padding == "same":
            return tuple(-(-n // s) for n, s in zip((h, w), self.strides)), \
                tuple(_same_pads(n, k, s) for n, k, s in zip((h, w), self.pool_size, self.strides))
        out = tuple((n - k) // s + 1 for n, k, s in zip((h, w), self.pool_size, self.strides))
        if min(out) < 1:
            raise ShapeError(f"{self.name}: pool_size {self.pool_size} is larger than the input {(h, w)}")
        return out, None

    def modules(self):
        return [(self.name, self.module)]


class MaxPooling2D(_Pooling2D):
    """Max pooling: MaxPooling2D(pool_size=(2, 2), strides=None (= pool_size), padding='valid')."""

    base_name = "max_pooling2d"

    def build(self, input_shape):
        h, w, c = self._split(tuple(input_shape))
        (oh, ow), pads = self._out(h, w)
        k, s = self.pool_size, self.strides
        self.module = _Spatial(lambda x: ops.pool.max_pool2d(x, k, s), self.data_format == "channels_last",
                               pads, -np.inf)
        self.built = True


class AveragePooling2D(_Pooling2D):
    """Average pooling; with padding='same' each mean covers only the real (unpadded) cells."""

    base_name = "average_pooling2d"

    def build(self, input_shape):
        h, w, c = self._split(tuple(input_shape))
        (oh, ow), pads = self._out(h, w)
        k, s = self.pool_size, self.strides
        if pads is not None and any(pads[0] + pads[1]):
            # mean over real cells = mean over the zero-padded window * (window size / real cells)
            ones = np.ones((1, 1, h, w), dtype=np.float64)
            ones = np.pad(ones, ((0, 0), (0, 0)) + pads)
            counts = np.lib.stride_tricks.sliding_window_view(ones, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
            scale = (k[0] * k[1]) / counts.sum(axis=(-2, -1))

            def fn(x, scale=scale):
                factor = _make(x.device.backend.asarray(scale, dtype=x.dtype), x.device, False, None)
                return ops.pool.avg_pool2d(x, k, s) * factor
        else:
            def fn(x):
                return ops.pool.avg_pool2d(x, k, s)
        self.module = _Spatial(fn, self.data_format == "channels_last", pads, 0.0)
        self.built = True


class GlobalAveragePooling2D(_ImageLayer):
    """The mean over the spatial axes: (N, H, W, C) -> (N, C) (keepdims=True keeps them as size 1)."""

    base_name = "global_average_pooling2d"
    config_keys = ("data_format", "keepdims")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.keepdims = keepdims
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        self.module = _GlobalMean(axes, keepdims)

    def build(self, input_shape):
        self._split(tuple(input_shape))
        self.built = True

    def modules(self):
        return [(self.name, self.module)]


class _GlobalMean(nn.Module):
    def __init__(self, axes, keepdims):
        super().__init__()
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.mean(axis=self.axes, keepdims=self.keepdims)


class _BatchNormAxis(nn.Module):
    """Batch normalization along one feature axis of any-rank input (Keras' BatchNormalization(axis=...))."""

    def __init__(self, num_features, axis, eps, momentum, center, scale):
        super().__init__()
        self.axis, self.eps, self.momentum = axis, eps, momentum
        if scale:
            self.weight = nn.Parameter(np.ones(num_features, dtype=np.float32))
        else:
            self.register_parameter("weight", None)
        if center:
            self.bias = nn.Parameter(np.zeros(num_features, dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", tensor(np.zeros(num_features, dtype=np.float32)))
        self.register_buffer("running_var", tensor(np.ones(num_features, dtype=np.float32)))

    def forward(self, x):
        axis = self.axis % x.ndim
        moved = x if axis == 1 else ops.shape.swapaxes(x, 1, axis)
        y = ops.norm.batch_norm(moved, self.running_mean, self.running_var, self.weight, self.bias,
                                training=self.training, momentum=self.momentum, eps=self.eps)
        return y if axis == 1 else ops.shape.swapaxes(y, 1, axis)


class BatchNormalization(Layer):
    """Batch normalization over `axis` (the channels: -1 for channels-last images and for dense features).

    Keras' conventions: momentum=0.99 means moving = 0.99 moving + 0.01 batch (PyTorch's momentum
    0.01); epsilon=1e-3. get_weights() -> [gamma, beta, moving_mean, moving_variance].
    # NOTE: the moving variance is updated with the unbiased batch variance (PyTorch's rule).
    """

    base_name = "batch_normalization"
    config_keys = ("axis", "momentum", "epsilon", "center", "scale")

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, momentum, epsilon, center, scale
        self.module = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not -len(input_shape) <= self.axis < len(input_shape) or self.axis % len(input_shape) == 0:
            raise ShapeError(f"{self.name}: axis {self.axis} is out of range (or the batch axis) for inputs of "
                             f"shape {input_shape}")
        axis = self.axis % len(input_shape)
        reserve(4 * input_shape[axis] * 4, f"{self.name}: BatchNormalization of {input_shape[axis]} features")
        self.module = _BatchNormAxis(input_shape[axis], axis, self.epsilon, 1.0 - self.momentum, self.center,
                                     self.scale)
        self.built = True

    def modules(self):
        return [(self.name, self.module)]

    def get_weights(self):
        m = self.module
        out = [p.numpy().copy() for p in (m.weight, m.bias) if p is not None]
        return out + [m.running_mean.numpy().copy(), m.running_var.numpy().copy()]

    def set_weights(self, weights):
        m = self.module
        targets = [p for p in (m.weight, m.bias) if p is not None] + [m.running_mean, m.running_var]
        if len(weights) != len(targets):
            raise ShapeError(f"{self.name}: set_weights got {len(weights)} arrays for {len(targets)} weights")
        for t, w in zip(targets, weights):
            _set(t, w, self.name)


__all__ = ["AveragePooling2D", "BatchNormalization", "Conv2D", "GlobalAveragePooling2D", "MaxPooling2D"]
