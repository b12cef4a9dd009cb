"""Keras convolutions beyond Conv2D: Conv1D, Conv1DTranspose, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D.

Weights are created with add_weight in Keras' layouts and transposed to PyTorch's at each call:
  Conv1D kernel (k, in / groups, filters); Conv1DTranspose (k, filters, in); Conv2DTranspose (kh, kw, filters, in);
  DepthwiseConv2D depthwise_kernel (kh, kw, in, depth_multiplier), bias (in * depth_multiplier,);
  SeparableConv2D depthwise_kernel (kh, kw, in, depth_multiplier), pointwise_kernel (1, 1, in * dm, filters).
Inputs are channels-last unless data_format="channels_first". padding="valid" (default), "same"
(TensorFlow's: ceil(size / stride) outputs, the odd padding cell at the end) and, for Conv1D, "causal"
(dilation * (k - 1) zeros before the sequence).

Example:
    Conv1D(32, 5, activation="relu")             # (N, T, C) -> (N, T - 4, 32)
    Conv2DTranspose(16, 3, strides=2, padding="same")   # (N, H, W, C) -> (N, 2H, 2W, 16)
"""

from ..errors import ArgumentError, ShapeError
from ..nn import functional as F
from .activations import get_activation
from .base import Layer
from .conv_layers import _data_format, _pair, _same_pads
from .regularizers import get as get_regularizer


def _tuple(v, n, name):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ArgumentError(f"{name} must be an int or {n} ints, got {v!r}")
    return v


class _Conv(Layer):
    """What every convolution shares: data format, padding name, activation, bias and regularizers."""

    rank = 2
    paddings = ("valid", "same")

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                 bias_initializer, bias_regularizer, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if kernel_constraint is not None or bias_constraint is not None:
            raise ArgumentError(f"{type(self).__name__}: kernel/bias constraints are not supported")
        n = self.rank
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.strides = _tuple(strides, n, "strides")
        self.dilation_rate = _tuple(dilation_rate, n, "dilation_rate")
        self.padding = str(padding).lower()
        if self.padding not in self.paddings:
            raise ArgumentError(f"{type(self).__name__}: padding must be one of {self.paddings}, got {padding!r}")
        self.data_format = _data_format(data_format)
        self.activation, self.use_bias, self.bias_initializer = activation, bool(use_bias), bias_initializer
        self.bias_regularizer = get_regularizer(bias_regularizer)
        self.act = get_activation(activation)
        self.bias = None

    def _channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ShapeError(f"{self.name}: expects inputs of rank {self.rank + 2} (batch, ..., channels), got "
                             f"shape {tuple(input_shape)}")
        spatial = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        c = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if c is None:
            raise ShapeError(f"{self.name}: the channel axis of {tuple(input_shape)} must be known")
        return spatial, c

    def _add_bias(self, size):
        if self.use_bias:
            self.bias = self.add_weight((size,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer)

    def _pads(self, spatial):
        """(before, after) per spatial axis for the padding mode (the size of each axis must be known)."""
        out = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if self.padding == "same":
                if n is None:
                    raise ShapeError(f"{self.name}: padding='same' needs known spatial sizes")
                out.append(_same_pads(n, k, s, d))
            elif self.padding == "causal":
                out.append((d * (k - 1), 0))
            else:
                out.append((0, 0))
        return out

    def _first(self, x):
        """x cast to the weights' float dtype, channels first."""
        w = self._own_weights()[0]
        if x.dtype.kind == "f" and x.dtype != w.dtype:
            x = x.astype(w.dtype)
        if self.data_format == "channels_last":
            x = x.permute(0, self.rank + 1, *range(1, self.rank + 1))
        return x

    def _last(self, y):
        """Channels-first y back in the layer's data format, plus the bias, through the activation."""
        if self.bias is not None:
            y = y + self.bias.reshape((1, -1) + (1,) * self.rank)
        if self.data_format == "channels_last":
            y = y.permute(0, *range(2, self.rank + 2), 1)
        return y if self.act is None else self.act(y)

    @staticmethod
    def _pad_input(x, pads):
        flat = [p for pair in reversed(pads) for p in pair]
        return F.pad(x, tuple(flat)) if any(flat) else x


class Conv1D(_Conv):
    """1-D convolution over the steps: (N, T, C) -> (N, T', filters); kernel (k, C / groups, filters)."""

    base_name = "conv1d"
    rank = 1
    paddings = ("valid", "same", "causal")
    config_keys = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                   "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                   "bias_regularizer")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, **kwargs)
        self.filters, self.groups = int(filters), int(groups)
        self.kernel_initializer, self.kernel_regularizer = kernel_initializer, get_regularizer(kernel_regularizer)

    def build(self, input_shape):
        spatial, c = self._channels(tuple(input_shape))
        if c % self.groups or self.filters % self.groups:
            raise ShapeError(f"{self.name}: channels {c} and filters {self.filters} must divide by groups "
                             f"{self.groups}")
        self.kernel = self.add_weight(self.kernel_size + (c // self.groups, self.filters), self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer)
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        x = self._first(inputs)
        x = self._pad_input(x, self._pads(x.shape[2:]))
        y = F.conv1d(x, self.kernel.permute(2, 1, 0), None, self.strides, 0, self.dilation_rate, self.groups)
        return self._last(y)


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (the gradient of Conv2D in its input); kernel (kh, kw, filters, in).

    Output size per axis (Keras): valid n * s + max(K - s, 0), same n * s, with K = d (k - 1) + 1; with
    output_padding p: (n - 1) s + K + p (valid) or (n - 1) s + K % 2 + p (same)."""

    base_name = "conv2d_transpose"
    config_keys = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                   "dilation_rate", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                   "kernel_regularizer", "bias_regularizer")

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, **kwargs)
        self.filters = int(filters)
        self.output_padding = None if output_padding is None else _pair(output_padding, "output_padding")
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ArgumentError(f"Conv2DTranspose: output_padding {self.output_padding} must be smaller than the "
                                f"strides {self.strides}")
        self.kernel_initializer, self.kernel_regularizer = kernel_initializer, get_regularizer(kernel_regularizer)

    def build(self, input_shape):
        _, c = self._channels(tuple(input_shape))
        self.kernel = self.add_weight(self.kernel_size + (self.filters, c), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer)
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        x = self._first(inputs)
        y = F.conv_transpose2d(x, self.kernel.permute(3, 2, 0, 1), None, self.strides, 0, 0, 1, self.dilation_rate)
        return self._last(_crop_transposed(self, y, x.shape[2:]))


def _transposed_window(n, k, s, d, padding, output_padding):
    """(first index, length) of a transposed convolution's output along one axis inside the full one.

    'same' follows Keras: of the pad_len = s + K - 2 (K + K % 2 - 2 + output_padding) cells of padding,
    min(ceil(pad_len / 2), K - 1) go before, so K - 1 minus that many full-output cells are cut there."""
    big = d * (k - 1) + 1
    if padding == "valid":
        extra = max(big, s) - big if output_padding is None else output_padding
        return 0, (n - 1) * s + big + extra
    pad_len = s + big - 2 if output_padding is None else big + big % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, big - 1)
    return big - 1 - left, (n - 1) * s + pad_len - big + 2


def _crop_transposed(layer, y, sizes):
    """The full transposed convolution y (N, C, ...) cut (and zero-padded at the end) to Keras' output size."""
    extra = []
    for a, n in enumerate(sizes):
        op = None if layer.output_padding is None else layer.output_padding[a]
        start, length = _transposed_window(n, layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a],
                                           layer.padding, op)
        extra.append(max(start + length - y.shape[2 + a], 0))
        index = (slice(None), slice(None)) + (slice(None),) * a + (slice(start, start + length),)
        y = y[index]
    flat = [p for e in reversed(extra) for p in (0, e)]
    return F.pad(y, tuple(flat)) if any(extra) else y


class Conv1DTranspose(_Conv):
    """Transposed 1-D convolution: (N, T, C) -> (N, T', filters); kernel (k, filters, in); sizes as Conv2DTranspose."""

    base_name = "conv1d_transpose"
    rank = 1
    config_keys = Conv2DTranspose.config_keys

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, **kwargs)
        self.filters = int(filters)
        self.output_padding = None if output_padding is None else _tuple(output_padding, 1, "output_padding")
        if self.output_padding is not None and self.output_padding[0] >= self.strides[0]:
            raise ArgumentError(f"Conv1DTranspose: output_padding {self.output_padding} must be smaller than the "
                                f"strides {self.strides}")
        self.kernel_initializer, self.kernel_regularizer = kernel_initializer, get_regularizer(kernel_regularizer)

    build = Conv2DTranspose.build  # the kernel (k, filters, in) and the bias, as the 2-D layer's

    def call(self, inputs):
        x = self._first(inputs)  # (N, C, T)
        n, c, t = x.shape
        k = self.kernel_size[0]
        w = self.kernel.permute(2, 1, 0).reshape(c, self.filters, 1, k)
        y = F.conv_transpose2d(x.reshape(n, c, 1, t), w, None, (1, self.strides[0]), 0, 0, 1,
                               (1, self.dilation_rate[0]))
        y = y.reshape(n, self.filters, y.shape[3])
        return self._last(_crop_transposed(self, y, (t,)))


class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own depth_multiplier filters: (N, H, W, C) -> (..., C * dm)."""

    base_name = "depthwise_conv2d"
    config_keys = ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate",
                   "activation", "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                   "bias_regularizer")

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 depthwise_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, kernel_constraint=depthwise_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = depthwise_initializer
        self.depthwise_regularizer = get_regularizer(depthwise_regularizer)

    def build(self, input_shape):
        _, c = self._channels(tuple(input_shape))
        self.depthwise_kernel = self.add_weight(self.kernel_size + (c, self.depth_multiplier),
                                                self.depthwise_initializer, name="depthwise_kernel",
                                                regularizer=self.depthwise_regularizer)
        self._build_rest(c)
        self.built = True

    def _build_rest(self, c):
        self._add_bias(c * self.depth_multiplier)

    def _depthwise(self, x):
        kh, kw, c, m = self.depthwise_kernel.shape
        w = self.depthwise_kernel.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)  # out channel c * m + j
        x = self._pad_input(x, self._pads(x.shape[2:]))
        return F.conv2d(x, w, None, self.strides, 0, self.dilation_rate, c)

    def call(self, inputs):
        return self._last(self._depthwise(self._first(inputs)))


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution followed by a 1x1 convolution to `filters` channels (then bias, activation)."""

    base_name = "separable_conv2d"
    config_keys = ("filters", "kernel_size", "strides", "padding", "depth_multiplier", "data_format",
                   "dilation_rate", "activation", "use_bias", "depthwise_initializer", "pointwise_initializer",
                   "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer")

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, pointwise_constraint=None, **kwargs):
        if pointwise_constraint is not None:
            raise ArgumentError("SeparableConv2D: constraints are not supported")
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         **kwargs)
        self.filters, self.pointwise_initializer = int(filters), pointwise_initializer
        self.pointwise_regularizer = get_regularizer(pointwise_regularizer)

    def _build_rest(self, c):
        self.pointwise_kernel = self.add_weight((1, 1, c * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, name="pointwise_kernel",
                                                regularizer=self.pointwise_regularizer)
        self._add_bias(self.filters)

    def call(self, inputs):
        y = self._depthwise(self._first(inputs))
        y = F.conv2d(y, self.pointwise_kernel.permute(3, 2, 0, 1))
        return self._last(y)


__all__ = ["Conv1D", "Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
