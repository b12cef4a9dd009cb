"""Keras core, reshaping, normalization and noise layers without weights of their own (or few):
Lambda, Identity, Masking, Rescaling, Normalization (with adapt), UnitNormalization, Permute, RepeatVector,
TimeDistributed, SpatialDropout1D / 2D, GaussianNoise, GaussianDropout, ActivityRegularization.

Example:
    norm = Normalization()
    norm.adapt(x_train)                           # mean and variance of each feature
    model = Sequential([Input(shape=(8,)), norm, Dense(1)])
    TimeDistributed(Dense(4))(x)                  # (N, T, d) -> (N, T, 4), one Dense for every step

A Lambda is saved by its function's name only: loading needs the function in custom_objects (nothing
from a file is ever executed, as Keras' safe_mode); an anonymous `lambda` cannot be saved.
"""

import math

import numpy as np

from .. import clamp, rand, randn
from ..errors import ArgumentError, ShapeError
from .base import KerasFileError, Layer
from .regularizers import L1L2


class Identity(Layer):
    """Returns its input unchanged."""

    base_name = "identity"
    supports_masking = True

    def call(self, inputs):
        return inputs


class Lambda(Layer):
    """Lambda(function, output_shape=None, mask=None, arguments=None): function(inputs, **arguments)."""

    base_name = "lambda"
    supports_masking = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(function, str):  # from a config: the name of a function in custom_objects
            from .config import custom_object

            found = custom_object(function)
            if not callable(found):
                raise KerasFileError(f"Lambda: the config names the function {function!r}; pass it in "
                                     f"custom_objects={{{function!r}: fn}} (code is never loaded from a file)")
            function = found
        if not callable(function):
            raise ArgumentError(f"Lambda: function must be callable, got {function!r:.60}")
        if mask is not None:
            raise ArgumentError("Lambda: mask= is not supported")
        self.function, self.arguments = function, dict(arguments or {})
        self.output_shape_arg = None if output_shape is None or callable(output_shape) else tuple(output_shape)

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        from .config import registered_name

        name = registered_name(self.function) or getattr(self.function, "__name__", "<lambda>")
        if name == "<lambda>" or not name.replace(">", "_").replace(".", "_").isidentifier():
            raise ArgumentError(f"{self.name}: a Lambda layer of an anonymous function cannot be saved (no code is "
                                "stored); use a named function and pass it in custom_objects when loading, or "
                                "write a Layer subclass")
        bad = [k for k, v in self.arguments.items() if not isinstance(v, (int, float, str, bool, type(None)))]
        if bad:
            raise ArgumentError(f"{self.name}: Lambda arguments {bad} are not JSON values; they cannot be saved")
        config = super().get_config()
        config.update(function=name, arguments=self.arguments,
                      output_shape=None if self.output_shape_arg is None else list(self.output_shape_arg))
        return config


class Masking(Layer):
    """Masks the steps whose features all equal mask_value: output x * mask, mask = any(x != mask_value, -1)."""

    base_name = "masking"
    config_keys = ("mask_value",)
    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return (inputs != self.mask_value).any(dim=-1)

    def call(self, inputs):
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        return inputs * keep.astype(inputs.dtype)


class Rescaling(Layer):
    """x * scale + offset (e.g. Rescaling(1 / 255) for 8-bit images), in the default float dtype."""

    base_name = "rescaling"
    config_keys = ("scale", "offset")

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs):
        from ..dtypes import get_default_dtype

        x = inputs if inputs.dtype.kind == "f" else inputs.astype(self.dtype or get_default_dtype())
        return x * self.scale + self.offset


class Normalization(Layer):
    """(x - mean) / max(sqrt(variance), 1e-7) per feature of `axis` (invert=True: mean + x * that).

    mean / variance: given, or learned from data by adapt(data) (population variance, over every axis
    but `axis`); adapted values are non-trainable weights, so they are saved with the model."""

    base_name = "normalization"
    config_keys = ("axis", "invert")
    EPSILON = 1e-7  # Keras' backend epsilon

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = None if axis is None else (tuple(int(a) for a in axis) if isinstance(axis, (list, tuple))
                                                else (int(axis),))
        if (mean is None) != (variance is None):
            raise ArgumentError("Normalization: give both mean and variance, or neither (then call adapt())")
        self.input_mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.input_variance = None if variance is None else np.asarray(variance, dtype=np.float64)
        self.invert = bool(invert)
        self.mean = self.variance = None

    def _kept(self, ndim):
        if self.axis is None:
            return ()
        kept = tuple(sorted(a % ndim for a in self.axis))
        if 0 in kept:
            raise ArgumentError(f"{self.name}: axis {self.axis} includes the batch axis")
        return kept

    def _shapes(self, input_shape):
        kept = self._kept(len(input_shape))
        if any(input_shape[a] is None for a in kept):
            raise ShapeError(f"{self.name}: the normalized axes of {tuple(input_shape)} must be known")
        stat = tuple(input_shape[a] for a in kept)
        broadcast = tuple(input_shape[a] if a in kept else 1 for a in range(len(input_shape)))
        return stat, broadcast

    def build(self, input_shape):
        stat, self._broadcast = self._shapes(tuple(input_shape))
        if self.input_mean is None:
            self.mean = self.add_weight(stat, "zeros", name="mean", trainable=False)
            self.variance = self.add_weight(stat, "ones", name="variance", trainable=False)
            self.add_weight((), "zeros", dtype="int64", name="count", trainable=False)  # Keras 3 keeps it, unused
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Set the mean and variance from `data`: an array or Tensor (batch axis first), or an iterable of
        such batches."""
        def host(a):
            return np.asarray(a.numpy() if hasattr(a, "numpy") else a, dtype=np.float64)

        if isinstance(data, np.ndarray) or hasattr(data, "numpy"):
            data = host(data)
        elif hasattr(data, "__iter__"):
            batches = [host(b) for b in data]
            if not batches:
                raise ArgumentError(f"{self.name}: adapt() got an empty iterable (no batches)")
            data = np.concatenate(batches)
        else:
            raise ArgumentError(f"{self.name}: adapt() takes an array, a Tensor or an iterable of batches, got "
                                f"{type(data).__name__}")
        if self.input_mean is not None:
            raise ArgumentError(f"{self.name}: adapt() on a Normalization given mean and variance")
        if not self.built:
            self.build((None,) + data.shape[1:])
        kept = self._kept(data.ndim)
        axes = tuple(a for a in range(data.ndim) if a not in kept)
        from .base import _set

        _set(self.mean, data.mean(axis=axes).astype(self.mean.dtype), self.name)
        _set(self.variance, data.var(axis=axes).astype(self.variance.dtype), self.name)

    def get_config(self):
        config = super().get_config()
        config["axis"] = None if self.axis is None else (self.axis[0] if len(self.axis) == 1 else list(self.axis))
        config["mean"] = None if self.input_mean is None else self.input_mean.tolist()
        config["variance"] = None if self.input_variance is None else self.input_variance.tolist()
        return config

    def call(self, inputs):
        x = inputs if inputs.dtype.kind == "f" else inputs.astype("float32")
        if self.input_mean is not None:
            from ..tensor import _make

            def const(a):
                a = np.broadcast_to(a, tuple(d for d in self._broadcast if d != 1) or ()).reshape(self._broadcast)
                return _make(x.device.backend.from_host(np.ascontiguousarray(a, dtype=x.dtype)), x.device, False,
                             None)

            mean, variance = const(self.input_mean), const(self.input_variance)
        else:
            mean, variance = self.mean.reshape(self._broadcast), self.variance.reshape(self._broadcast)
            mean, variance = mean.astype(x.dtype), variance.astype(x.dtype)
        scale = clamp(variance.sqrt(), min=self.EPSILON)
        return mean + x * scale if self.invert else (x - mean) / scale


class UnitNormalization(Layer):
    """x / max(||x||_2 over axis, 1e-12)."""

    base_name = "unit_normalization"
    config_keys = ("axis",)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, inputs):
        norm = (inputs * inputs).sum(axis=self.axis, keepdims=True).sqrt()
        return inputs / clamp(norm, min=1e-12)


class Permute(Layer):
    """Permute(dims): the non-batch axes reordered; dims count from 1 (Permute((2, 1)) swaps the two)."""

    base_name = "permute"
    config_keys = ("dims",)

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ArgumentError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, got {self.dims}")

    def call(self, inputs):
        if inputs.ndim != len(self.dims) + 1:
            raise ShapeError(f"{self.name}: dims {self.dims} for inputs of shape {tuple(inputs.shape)}")
        return inputs.permute(0, *self.dims)


class RepeatVector(Layer):
    """RepeatVector(n): (N, d) -> (N, n, d)."""

    base_name = "repeat_vector"
    config_keys = ("n",)

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def call(self, inputs):
        if inputs.ndim != 2:
            raise ShapeError(f"{self.name}: expects (batch, features), got {tuple(inputs.shape)}")
        return inputs.reshape(inputs.shape[0], 1, inputs.shape[1]).repeat_interleave(self.n, dim=1)


class TimeDistributed(Layer):
    """TimeDistributed(layer): the same layer applied to every step of (N, T, ...) inputs."""

    base_name = "time_distributed"

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):  # from a config
            from .config import deserialize_layer

            layer = deserialize_layer(layer)
        if not isinstance(layer, Layer):
            raise ArgumentError(f"TimeDistributed: expects a keras Layer, got {type(layer).__name__}")
        self.layer = layer

    def get_config(self):
        from .config import serialize_layer

        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        return config

    def call(self, inputs, training=None):
        if inputs.ndim < 3:
            raise ShapeError(f"{self.name}: expects (batch, steps, ...), got {tuple(inputs.shape)}")
        n, t = inputs.shape[:2]
        y = self.layer._eager_call([inputs.reshape((n * t,) + tuple(inputs.shape[2:]))], {"training": training})
        return y.reshape((n, t) + tuple(y.shape[1:]))


class _Noise(Layer):
    """A layer that changes its input only while training."""

    config_keys = ("rate", "seed")
    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) < 1:
            raise ArgumentError(f"{type(self).__name__}: rate must be in [0, 1), got {rate}")
        self.rate, self.seed = float(rate), seed  # seed: tensorcore's generator (tc.manual_seed) draws the noise

    def call(self, inputs, training=None):
        return self.noisy(inputs) if training and self.rate else inputs


class SpatialDropout1D(_Noise):
    """Dropout of whole channels: one draw per (sample, channel) of (N, T, C), scaled by 1 / (1 - rate)."""

    base_name = "spatial_dropout1d"
    rank = 1

    def noise_shape(self, shape):
        return (shape[0],) + (1,) * self.rank + (shape[-1],)

    def noisy(self, x):
        shape = self.noise_shape(tuple(x.shape))
        keep = (rand(*shape, dtype=x.dtype, device=x.device) >= self.rate).astype(x.dtype)
        return x * (keep / (1 - self.rate))


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole feature maps of (N, H, W, C) images (channels_first: (N, C, H, W))."""

    base_name = "spatial_dropout2d"
    rank = 2
    config_keys = ("rate", "seed", "data_format")

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        from .conv_layers import _data_format

        self.data_format = _data_format(data_format)

    def noise_shape(self, shape):
        if len(shape) != 4:
            raise ShapeError(f"{self.name}: expects images (batch, H, W, C), got {shape}")
        return (shape[0], 1, 1, shape[3]) if self.data_format == "channels_last" else (shape[0], shape[1], 1, 1)


class GaussianNoise(_Noise):
    """x + N(0, stddev^2) noise while training."""

    base_name = "gaussian_noise"
    config_keys = ("stddev", "seed")

    def __init__(self, stddev, seed=None, **kwargs):
        Layer.__init__(self, **kwargs)
        self.stddev, self.seed = float(stddev), seed
        self.rate = self.stddev

    def noisy(self, x):
        return x + randn(*x.shape, dtype=x.dtype, device=x.device) * self.stddev


class GaussianDropout(_Noise):
    """x * N(1, rate / (1 - rate)) noise while training."""

    base_name = "gaussian_dropout"

    def noisy(self, x):
        return x * (randn(*x.shape, dtype=x.dtype, device=x.device) * math.sqrt(self.rate / (1 - self.rate)) + 1)


class ActivityRegularization(Layer):
    """Identity that adds l1 * sum|x| + l2 * sum(x^2) (divided by the batch size) to the model's losses."""

    base_name = "activity_regularization"
    config_keys = ("l1", "l2")
    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=L1L2(l1, l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return config

    def call(self, inputs):
        return inputs


__all__ = ["ActivityRegularization", "GaussianDropout", "GaussianNoise", "Identity", "Lambda", "Masking",
           "Normalization", "Permute", "RepeatVector", "Rescaling", "SpatialDropout1D", "SpatialDropout2D",
           "TimeDistributed", "UnitNormalization"]
