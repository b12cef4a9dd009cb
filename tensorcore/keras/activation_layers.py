"""Keras activation layers: ReLU, LeakyReLU, ELU, Softmax, PReLU (Keras 3's arguments and defaults).

    LeakyReLU()                  # negative_slope=0.3 (Keras 3; `alpha` is accepted as an alias)
    ReLU(max_value=6.0)          # min(max(x, 0), 6)
    Softmax(axis=-1)(x, mask)    # masked positions get ~0 probability (-1e9 added to their logits)
"""

import numpy as np

from .. import clamp, where
from ..errors import ArgumentError
from ..nn import functional as F
from .base import Layer
from .regularizers import get as get_regularizer


class ReLU(Layer):
    """max_value if x >= max_value; x if threshold <= x < max_value; negative_slope * (x - threshold) otherwise."""

    base_name = "re_lu"
    config_keys = ("max_value", "negative_slope", "threshold")
    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ArgumentError(f"ReLU: max_value must be >= 0 or None, got {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ArgumentError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        if threshold is None or threshold < 0:
            raise ArgumentError(f"ReLU: threshold must be >= 0, got {threshold}")  # Keras refuses a negative one
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def call(self, inputs):
        if self.threshold == 0 and self.negative_slope == 0:
            y = F.relu(inputs)
        else:
            y = where(inputs >= self.threshold, inputs, (inputs - self.threshold) * self.negative_slope)
        return y if self.max_value is None else clamp(y, max=self.max_value)


class LeakyReLU(Layer):
    """x if x >= 0 else negative_slope * x; Keras 3's default negative_slope=0.3 (alias: alpha)."""

    base_name = "leaky_re_lu"
    config_keys = ("negative_slope",)
    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # the Keras 2 name, still accepted by Keras 3
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ArgumentError(f"LeakyReLU: negative_slope must be >= 0, got {negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)


class ELU(Layer):
    """x if x > 0 else alpha * (exp(x) - 1); alpha=1.0."""

    base_name = "elu"
    config_keys = ("alpha",)
    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)


LARGE_NEGATIVE = -1e9  # Keras' _large_negative_number for float32: added to the logits of masked positions


class Softmax(Layer):
    """exp(x) / sum(exp(x)) over `axis` (an int or a tuple); a mask adds -1e9 at its False positions."""

    base_name = "softmax"
    config_keys = ("axis",)
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, inputs, mask=None):
        if mask is not None:
            m = mask._data if hasattr(mask, "_data") else np.asarray(mask)
            xp = inputs.device.backend.xp
            adder = (1.0 - xp.asarray(m).astype(inputs.dtype)) * LARGE_NEGATIVE
            from ..tensor import _make

            inputs = inputs + _make(adder, inputs.device, False, None)
        if isinstance(self.axis, int):
            return F.softmax(inputs, dim=self.axis)
        return (inputs - inputs.logsumexp(self.axis, keepdim=True)).exp()


class PReLU(Layer):
    """x if x >= 0 else alpha * x, with a learned alpha per input element (shared along shared_axes)."""

    base_name = "p_re_lu"
    config_keys = ("alpha_initializer", "alpha_regularizer", "shared_axes")

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise ArgumentError("PReLU: alpha_constraint is not supported")
        self.alpha_initializer = alpha_initializer.lower() if isinstance(alpha_initializer, str) else \
            alpha_initializer
        self.alpha_regularizer = get_regularizer(alpha_regularizer)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if not 1 <= a < len(input_shape):
                raise ArgumentError(f"{self.name}: shared axis {a} out of range for inputs {tuple(input_shape)}")
            shape[a - 1] = 1
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer)
        self.built = True

    def call(self, inputs):
        return F.relu(inputs) - self.alpha * F.relu(-inputs)


__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
