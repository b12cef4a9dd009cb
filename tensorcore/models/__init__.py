"""tensorcore.models: named networks, built by `get_model(name, **kwargs)`.

Each model module registers its factory with `@register_model(name, input_shape=...)`; the input
shape (without the batch axis) tells `tensorcore train` how to shape the images. To add a model:
write tensorcore/models/<name>.py with a registered factory and import it below.

Example:
    model = tc.models.get_model("mlp", hidden=(128, 64))
"""

from ..errors import TensorcoreError


class UnknownModelError(TensorcoreError, ValueError):
    """A model name that no module registered."""


_MODELS = {}


def register_model(name, input_shape):
    """Decorator: make `factory(**kwargs) -> nn.Module` available as get_model(name)."""

    def deco(factory):
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        factory.input_shape = tuple(input_shape)
        _MODELS[name] = factory
        return factory

    return deco


def get_model(name, **kwargs):
    """Build the registered model `name` with the factory's keyword arguments."""
    factory = _MODELS.get(name)
    if factory is None:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(sorted(_MODELS))}")
    return factory(**kwargs)


def input_shape(name):
    """The input shape (without batch axis) model `name` expects, e.g. (784,) or (1, 28, 28)."""
    get_model_factory(name)
    return _MODELS[name].input_shape


def get_model_factory(name):
    if name not in _MODELS:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(sorted(_MODELS))}")
    return _MODELS[name]


def list_models():
    return sorted(_MODELS)


# --- the models (one import per model module) ------------------------------------------------------
# (the function shadows its module's name, as in torchvision: tc.models.mlp() builds the network)
from .alexnet import alexnet  # noqa: E402
from .char_lstm import char_lstm  # noqa: E402
from .gpt import gpt  # noqa: E402
from .lenet5 import lenet5  # noqa: E402
from .mlp import mlp  # noqa: E402
from .zfnet import zfnet  # noqa: E402

__all__ = ["UnknownModelError", "alexnet", "char_lstm", "gpt",
           "get_model", "input_shape", "lenet5", "list_models", "mlp",
           "register_model", "zfnet"]
