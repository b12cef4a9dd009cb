"""Keras activations by name: get_activation("relu") -> an nn module (None for "linear")."""

from .. import nn

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


__all__ = ["get_activation"]
