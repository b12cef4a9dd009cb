"""Keras activations: by name, get_activation("relu") -> an nn module (None for "linear"); and Keras'
functions keras.activations.relu, sigmoid, ... on Tensors. Passing one of those functions as a layer's
activation (Dense(8, activation=keras.activations.relu)) is the same as its name, and saves as it."""

from .. import nn
from ..nn import functional as F

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "softmax": lambda: nn.Softmax(dim=-1),
    "log_softmax": lambda: nn.LogSoftmax(dim=-1),
    "elu": lambda: nn.ELU(),
    "selu": lambda: nn.SELU(),
    "gelu": lambda: nn.GELU(),
    "silu": lambda: nn.SiLU(),
    "swish": lambda: nn.SiLU(),
    "mish": lambda: nn.Mish(),
    "relu6": lambda: nn.ReLU6(),
    "hard_sigmoid": lambda: nn.Hardsigmoid(),  # Keras 3: relu6(x + 3) / 6
    "softsign": lambda: nn.Softsign(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # Keras 3's default negative slope
    "softplus": lambda: nn.Softplus(),
    "exponential": lambda: _Lambda(lambda x: x.exp()),
}


def get_activation(activation):
    """An nn module for a Keras activation name (None or 'linear': no module), or a module/callable as is."""
    if activation is None or activation == "linear":
        return None
    if isinstance(activation, nn.Module):
        return activation
    name = activation_name(activation)
    if name is not None:
        activation = name
    if isinstance(activation, str):
        if activation == "linear":
            return None
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {', '.join(sorted(_ACTIVATIONS))}, linear")
        return _ACTIVATIONS[activation]()
    if callable(activation):
        return _Lambda(activation)
    raise ValueError(f"activation must be a name, an nn.Module or a callable, got {activation!r}")


def activation_name(fn):
    """The name of one of this module's functions (keras.activations.relu -> "relu"), else None."""
    return getattr(fn, "keras_activation", None) if callable(fn) else None


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _named(name):
    def mark(fn):
        fn.keras_activation = name
        return fn

    return mark


@_named("relu")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' relu: max_value if x >= max_value, x if x >= threshold, else negative_slope * (x - threshold)."""
    from .activation_layers import ReLU

    return ReLU(max_value, negative_slope, threshold).call(x)


@_named("sigmoid")
def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return x.sigmoid()


@_named("tanh")
def tanh(x):
    """tanh(x)."""
    return x.tanh()


@_named("softmax")
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over axis."""
    return F.softmax(x, dim=axis)


@_named("log_softmax")
def log_softmax(x, axis=-1):
    """x - logsumexp(x) over axis."""
    return F.log_softmax(x, dim=axis)


@_named("elu")
def elu(x, alpha=1.0):
    """x if x > 0 else alpha (exp(x) - 1)."""
    return F.elu(x, alpha)


@_named("selu")
def selu(x):
    """scale * elu(x, alpha) with SELU's constants."""
    return F.selu(x)


@_named("gelu")
def gelu(x, approximate=False):
    """x * Phi(x) (approximate=True: the tanh form)."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


@_named("silu")
def silu(x):
    """x * sigmoid(x)."""
    return F.silu(x)


swish = silu


@_named("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    """x if x >= 0 else negative_slope * x (Keras 3's default 0.2)."""
    return F.leaky_relu(x, negative_slope)


@_named("softplus")
def softplus(x):
    """log(1 + exp(x))."""
    return F.softplus(x)


@_named("softsign")
def softsign(x):
    """x / (1 + |x|)."""
    return F.softsign(x)


@_named("relu6")
def relu6(x):
    """min(max(x, 0), 6)."""
    return F.relu6(x)


@_named("hard_sigmoid")
def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3)."""
    return F.hardsigmoid(x)


@_named("mish")
def mish(x):
    """x * tanh(softplus(x))."""
    return F.mish(x)


@_named("exponential")
def exponential(x):
    """exp(x)."""
    return x.exp()


@_named("linear")
def linear(x):
    """x."""
    return x


def get(identifier):
    """Keras' keras.activations.get: the function for a name (or the callable itself); None -> linear."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    fn = globals().get(identifier) if isinstance(identifier, str) else None
    if not callable(fn) or activation_name(fn) is None and fn is not swish:
        raise ValueError(f"unknown activation {identifier!r}; known: {', '.join(sorted(_ACTIVATIONS))}, linear")
    return fn


def serialize(fn):
    """The name of a keras activation function (what a layer's config stores)."""
    name = activation_name(fn)
    if name is None:
        raise ValueError(f"{fn!r:.60} is not a keras activation function; it cannot be serialized")
    return name


__all__ = ["elu", "exponential", "gelu", "get", "get_activation", "hard_sigmoid", "leaky_relu", "linear",
           "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "silu", "softmax", "softplus",
           "softsign", "swish", "tanh"]
