"""Keras merge layers beyond Add and Concatenate: Subtract, Multiply, Average, Maximum, Minimum, Dot.

Each is called on a list of inputs (Subtract and Dot: exactly two) of one batch size whose other axes
broadcast as NumPy's ((N, 4) with (N, 1)), as in Keras:
    diff = Subtract()([a, b])                 # a - b
    gate = Multiply()([x, Dense(8, activation="sigmoid")(x)])
    score = Dot(axes=1, normalize=True)([u, v])   # cosine similarity, (N, 1)
"""

import numpy as np

from .. import einsum
from .. import maximum as _max
from .. import minimum as _min
from ..errors import ArgumentError, ShapeError
from .base import Layer


class _Merge(Layer):
    """Base of layers that combine a list of inputs."""

    supports_masking = True

    def _build_for(self, args, kwargs):
        inputs = args[0] if args else kwargs["inputs"]
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ArgumentError(f"{type(self).__name__}: call it on a list of at least 2 inputs")
        self.input_shape = [tuple(t.shape[1:]) for t in inputs]
        self.built = True

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        present = [m for m in mask if m is not None]
        out = present[0]
        for m in present[1:]:
            out = out & m
        return out


def check_broadcastable(layer, inputs):
    """Keras' rule for elementwise merges: one batch size; the other axes, aligned at the end, broadcast as
    NumPy's (size 1 stretches). Returns the inputs, a lower-rank one with size-1 axes after its batch axis."""
    shapes = [tuple(t.shape) for t in inputs]
    try:
        if len({s[0] for s in shapes}) > 1:
            raise ValueError
        np.broadcast_shapes(*(s[1:] for s in shapes))
    except (ValueError, IndexError):
        raise ShapeError(f"{layer.name}: {type(layer).__name__} needs inputs of one batch size whose other axes "
                         f"broadcast (equal or 1), got shapes {shapes}") from None
    rank = max(len(s) for s in shapes)
    return [t if t.ndim == rank else t.reshape((t.shape[0],) + (1,) * (rank - t.ndim) + tuple(t.shape[1:]))
            for t in inputs]


class _Elementwise(_Merge):
    """A merge of inputs of one shape, folded pairwise with `combine` (Average then divides by their number)."""

    arity = None  # exactly this many inputs (None: 2 or more)

    def _build_for(self, args, kwargs):
        super()._build_for(args, kwargs)
        if self.arity is not None and len(self.input_shape) != self.arity:
            raise ArgumentError(f"{type(self).__name__}: call it on a list of exactly {self.arity} inputs, got "
                                f"{len(self.input_shape)}")

    def combine(self, a, b):
        raise NotImplementedError

    def call(self, inputs):
        inputs = check_broadcastable(self, inputs)
        out = inputs[0]
        for t in inputs[1:]:
            out = self.combine(out, t)
        return out


class Subtract(_Elementwise):
    """Subtract()([a, b]) = a - b."""

    base_name = "subtract"
    arity = 2

    def combine(self, a, b):
        return a - b


class Multiply(_Elementwise):
    """The elementwise product of the inputs."""

    base_name = "multiply"

    def combine(self, a, b):
        return a * b


class Average(_Elementwise):
    """The elementwise mean of the inputs: (x_1 + ... + x_n) / n."""

    base_name = "average"

    def combine(self, a, b):
        return a + b

    def call(self, inputs):
        return super().call(inputs) / len(inputs)


class Maximum(_Elementwise):
    """The elementwise maximum of the inputs."""

    base_name = "maximum"

    def combine(self, a, b):
        return _max(a, b)


class Minimum(_Elementwise):
    """The elementwise minimum of the inputs."""

    base_name = "minimum"

    def combine(self, a, b):
        return _min(a, b)


DOT_EPSILON = 1e-7  # Keras' backend epsilon in Dot(normalize=True): x / max(||x||, eps)


class Dot(_Elementwise):
    """Dot(axes)([x, y]): sum over axis axes[0] of x times axis axes[1] of y, per sample (Keras' batch_dot).

    Axes count the batch axis (axes=1 for (N, d) inputs). The output keeps x's other axes, then y's;
    two (N, d) inputs give (N, 1). normalize=True divides each by its L2 norm along the axis first."""

    base_name = "dot"
    arity = 2
    config_keys = ("axes", "normalize")

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, int):
            axes = (axes, axes)
        axes = tuple(int(a) for a in axes)
        if len(axes) != 2:
            raise ArgumentError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
        self.axes, self.normalize = axes, bool(normalize)

    def get_config(self):
        config = super().get_config()
        config["axes"] = list(self.axes) if self.axes[0] != self.axes[1] else self.axes[0]
        return config

    def call(self, inputs):
        x, y = inputs
        ax, ay = self.axes[0] % x.ndim, self.axes[1] % y.ndim
        if ax == 0 or ay == 0 or x.shape[0] != y.shape[0] or x.shape[ax] != y.shape[ay]:
            raise ShapeError(f"{self.name}: cannot take the dot product of shapes {tuple(x.shape)} and "
                             f"{tuple(y.shape)} on axes {self.axes}")
        if self.normalize:
            x, y = _unit(x, ax), _unit(y, ay)
        letters = "bcdefghijklmnopqrstuvwxyz"
        xs = "a" + letters[1:x.ndim]
        ys = "a" + letters[x.ndim:x.ndim + y.ndim - 1]
        ys = ys[:ay] + xs[ax] + ys[ay + 1:]
        out = xs.replace(xs[ax], "") + ys[1:].replace(xs[ax], "")
        z = einsum(f"{xs},{ys}->{out}", x, y)
        return z.reshape(z.shape[0], 1) if z.ndim == 1 else z


def _unit(x, axis, eps=DOT_EPSILON):
    """x / max(||x||_2 along axis, eps)."""
    from .. import clamp

    norm = (x * x).sum(axis=axis, keepdims=True).sqrt()
    return x / clamp(norm, min=eps)


def add(inputs, **kwargs):
    """keras.layers.add([a, b, ...]): Add()(inputs)."""
    from .layers import Add

    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """keras.layers.subtract([a, b]): a - b."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """keras.layers.multiply([a, b, ...]): the elementwise product."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """keras.layers.average([a, b, ...]): the elementwise mean."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """keras.layers.maximum([a, b, ...]): the elementwise maximum."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """keras.layers.minimum([a, b, ...]): the elementwise minimum."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """keras.layers.concatenate([a, b, ...], axis=-1)."""
    from .layers import Concatenate

    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """keras.layers.dot([a, b], axes, normalize=False)."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


__all__ = ["Average", "Dot", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average", "concatenate", "dot",
           "maximum", "minimum", "multiply", "subtract"]
