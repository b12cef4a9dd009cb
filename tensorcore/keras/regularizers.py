"""Keras weight regularizers: L1, L2, L1L2 (and l1, l2, l1_l2) add a penalty of a weight to the loss.

    Dense(64, kernel_regularizer=keras.regularizers.l2(1e-4))   # adds 1e-4 * sum(kernel ** 2) to the loss

A layer lists its penalties in `layer.losses` (recomputed from the current weights); compile/fit/evaluate
add the model's `losses` to the compiled loss, as Keras 3 does. An activity regularizer's penalty of a
layer's output is divided by the batch size (Keras 3's rule).
"""

from ..errors import ArgumentError


class Regularizer:
    """Base class: regularizer(x) -> a scalar Tensor penalty; get_config() / from_config() as Keras."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x ** 2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, x):
        out = None
        if self.l1:
            out = x.abs().sum() * self.l1
        if self.l2:
            term = (x * x).sum() * self.l2
            out = term if out is None else out + term
        return out if out is not None else (x * 0).sum()

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|x|); Keras' default l1=0.01."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(x ** 2); Keras' default l2=0.01."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def _factor(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"regularizer: {name} must be a number, got {value!r}") from None
    if not value >= 0:
        raise ArgumentError(f"regularizer: {name} must be >= 0, got {value}")
    return value


l1, l2, l1_l2 = L1, L2, L1L2
CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, **CLASSES}  # Keras' names: snake case and class


def get(identifier):
    """A Regularizer from None, an instance, a name ('l2'), or a {"class_name", "config"} dict (a saved one)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in CLASSES \
            and isinstance(identifier.get("config", {}), dict):
        cls = CLASSES[identifier["class_name"]]
        unknown = set(identifier.get("config", {})) - set(cls().get_config())
        if unknown:
            raise ArgumentError(f"regularizer {cls.__name__}: unknown arguments {sorted(unknown)}")
        return cls.from_config(identifier.get("config", {}))
    raise ArgumentError(f"unknown regularizer {identifier!r:.60}; give l1, l2, l1_l2 or a keras Regularizer")


def serialize(regularizer):
    """{"class_name", "config"} of a built-in regularizer (what get_config saves)."""
    if type(regularizer).__name__ not in CLASSES or CLASSES[type(regularizer).__name__] is not type(regularizer):
        raise ArgumentError(f"save: the regularizer {regularizer!r:.60} is not a built-in one; it cannot be saved")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]
