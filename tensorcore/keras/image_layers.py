"""Keras pooling and resizing layers: MaxPooling1D, AveragePooling1D, GlobalMaxPooling2D, UpSampling1D/2D,
ZeroPadding1D/2D, Cropping1D/2D. Channels-last unless data_format="channels_first"; no weights.

The 1-D poolings run the 2-D ones (conv_layers.py) on a height-1 image, so padding="same" follows Keras
there too (the mean covers only the real cells).

Example:
    MaxPooling1D(2)(x)               # (N, 10, C) -> (N, 5, C)
    UpSampling2D((2, 2))(x)          # (N, H, W, C) -> (N, 2H, 2W, C), nearest neighbour
"""

from ..errors import ArgumentError, ShapeError
from ..nn import functional as F
from .base import Layer
from .conv_layers import AveragePooling2D, MaxPooling2D, _data_format, _pair


def _one(v, name):
    if isinstance(v, int):
        return v
    v = tuple(v)
    if len(v) != 1:
        raise ArgumentError(f"{name} must be an int, got {v!r}")
    return int(v[0])


class _Pooling1D(Layer):
    config_keys = ("pool_size", "strides", "padding", "data_format")
    inner = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _one(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _one(strides, "strides")
        self.padding, self.data_format = str(padding).lower(), _data_format(data_format)
        self._pool = self.inner((1, self.pool_size), (1, self.strides), self.padding, self.data_format)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(f"{self.name}: expects (batch, steps, channels), got {tuple(input_shape)}")
        _, a, b = input_shape
        self._pool.name = self.name
        self._pool.build((None, 1, a, b) if self.data_format == "channels_last" else (None, a, 1, b))
        self.built = True

    def call(self, inputs):
        n, a, b = inputs.shape
        x = inputs.reshape(n, 1, a, b) if self.data_format == "channels_last" else inputs.reshape(n, a, 1, b)
        y = self._pool.module(x)
        return y.reshape(n, y.shape[2], y.shape[3]) if self.data_format == "channels_last" else \
            y.reshape(n, y.shape[1], y.shape[3])


class MaxPooling1D(_Pooling1D):
    """Max over windows of pool_size steps: (N, T, C) -> (N, T', C); strides default to pool_size."""

    base_name = "max_pooling1d"
    inner = MaxPooling2D


class AveragePooling1D(_Pooling1D):
    """Mean over windows of pool_size steps; padding='same' averages only the real steps."""

    base_name = "average_pooling1d"
    inner = AveragePooling2D


class GlobalMaxPooling2D(Layer):
    """The maximum over the spatial axes: (N, H, W, C) -> (N, C) (keepdims=True keeps them as size 1)."""

    base_name = "global_max_pooling2d"
    config_keys = ("data_format", "keepdims")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format, self.keepdims = _data_format(data_format), bool(keepdims)

    def call(self, inputs):
        if inputs.ndim != 4:
            raise ShapeError(f"{self.name}: expects images (batch, H, W, C), got {tuple(inputs.shape)}")
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return inputs.amax(axes, keepdim=self.keepdims)


class _Image(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format)

    def _axes(self, inputs):
        if inputs.ndim != 4:
            raise ShapeError(f"{self.name}: expects images (batch, H, W, C), got {tuple(inputs.shape)}")
        return (1, 2) if self.data_format == "channels_last" else (2, 3)


class UpSampling2D(_Image):
    """Repeats rows size[0] times and columns size[1] times (interpolation 'nearest'), or 'bilinear'
    (half-pixel centres: PyTorch's align_corners=False, TensorFlow's resize)."""

    base_name = "up_sampling2d"
    config_keys = ("size", "data_format", "interpolation")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = _pair(size, "size")
        if interpolation not in ("nearest", "bilinear"):
            raise ArgumentError(f"UpSampling2D: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        h, w = self._axes(inputs)
        if self.interpolation == "nearest":
            return inputs.repeat_interleave(self.size[0], dim=h).repeat_interleave(self.size[1], dim=w)
        x = inputs.permute(0, 3, 1, 2) if self.data_format == "channels_last" else inputs
        y = F.interpolate(x, scale_factor=self.size, mode="bilinear", align_corners=False)
        return y.permute(0, 2, 3, 1) if self.data_format == "channels_last" else y


def _pairs(value, name):
    """((top, bottom), (left, right)) from an int, (symmetric_h, symmetric_w) or ((t, b), (l, r))."""
    if isinstance(value, int):
        return ((value, value), (value, value))
    value = tuple(value)
    if len(value) != 2:
        raise ArgumentError(f"{name} must be an int, 2 ints or 2 pairs, got {value!r}")
    out = tuple((int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v) for v in value)
    if any(len(p) != 2 or min(p) < 0 for p in out):
        raise ArgumentError(f"{name} must hold non-negative ints, 2 or 2 pairs, got {value!r}")
    return out


class ZeroPadding2D(_Image):
    """Zeros around the image: padding int, (h, w) or ((top, bottom), (left, right))."""

    base_name = "zero_padding2d"
    config_keys = ("padding", "data_format")

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, "padding")

    def get_config(self):
        config = super().get_config()
        config["padding"] = [list(p) for p in self.padding]
        return config

    def call(self, inputs):
        (t, b), (left, r) = self.padding
        self._axes(inputs)
        pads = (0, 0, left, r, t, b) if self.data_format == "channels_last" else (left, r, t, b)
        return F.pad(inputs, pads)


class Cropping2D(_Image):
    """Cuts rows and columns off the image's edges: cropping int, (h, w) or ((top, bottom), (left, right))."""

    base_name = "cropping2d"
    config_keys = ("cropping", "data_format")

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, "cropping")

    def get_config(self):
        config = super().get_config()
        config["cropping"] = [list(p) for p in self.cropping]
        return config

    def call(self, inputs):
        h, w = self._axes(inputs)
        (t, b), (left, r) = self.cropping
        sh, sw = inputs.shape[h], inputs.shape[w]
        if t + b >= sh or left + r >= sw:
            raise ShapeError(f"{self.name}: cropping {self.cropping} leaves nothing of an image {sh}x{sw}")
        if self.data_format == "channels_last":
            return inputs[:, t:sh - b, left:sw - r]
        return inputs[:, :, t:sh - b, left:sw - r]


def _ends(value, name):
    """(before, after) from an int or a pair of non-negative ints."""
    pair = (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 0:
        raise ArgumentError(f"{name} must be an int or a pair of non-negative ints, got {value!r}")
    return pair


class _Steps(Layer):
    """A layer on the steps axis (1) of (N, T, C) sequences."""

    def _check(self, inputs):
        if inputs.ndim != 3:
            raise ShapeError(f"{self.name}: expects (batch, steps, features), got {tuple(inputs.shape)}")


class UpSampling1D(_Steps):
    """Repeats each step `size` times: (N, T, C) -> (N, size * T, C)."""

    base_name = "up_sampling1d"
    config_keys = ("size",)

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _one(size, "size")

    def call(self, inputs):
        self._check(inputs)
        return inputs.repeat_interleave(self.size, dim=1)


class ZeroPadding1D(_Steps):
    """Zero steps before and after: padding int or (before, after)."""

    base_name = "zero_padding1d"
    config_keys = ("padding",)

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _ends(padding, "padding")

    def call(self, inputs):
        self._check(inputs)
        return F.pad(inputs, (0, 0) + self.padding)


class Cropping1D(_Steps):
    """Cuts steps off both ends: cropping int or (before, after)."""

    base_name = "cropping1d"
    config_keys = ("cropping",)

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _ends(cropping, "cropping")

    def call(self, inputs):
        self._check(inputs)
        before, after = self.cropping
        if before + after >= inputs.shape[1]:
            raise ShapeError(f"{self.name}: cropping {self.cropping} leaves nothing of {inputs.shape[1]} steps")
        return inputs[:, before:inputs.shape[1] - after]


__all__ = ["AveragePooling1D", "Cropping1D", "Cropping2D", "GlobalMaxPooling2D", "MaxPooling1D", "UpSampling1D",
           "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]
