"""torch.nn's deprecated names (nn.NLLLoss2d, nn.Container) and the torch.nn.parameter namespace."""

import types
import warnings

from ..ops import losses as L
from .losses import NLLLoss
from .module import Module


class NLLLoss2d(NLLLoss):
    """Deprecated (FutureWarning, as torch's): NLLLoss, which takes (N, C, H, W) input as it is."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning,
                      stacklevel=2)
        super().__init__(weight, ignore_index, L._reduction("NLLLoss2d", reduction, size_average, reduce))


class Container(Module):
    """Deprecated (FutureWarning, as torch's): a Module holding the keyword modules given."""

    def __init__(self, **kwargs):
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
                      "Subclass that instead.", FutureWarning, stacklevel=2)
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)


def parameter_namespace():
    """torch.nn.parameter: Parameter, Buffer, UninitializedParameter, UninitializedBuffer, is_lazy."""
    from . import lazy
    from .module import Parameter
    from .more_modules import Buffer

    ns = types.ModuleType("tensorcore.nn.parameter", "torch.nn.parameter's names.")
    for name, value in (("Parameter", Parameter), ("Buffer", Buffer), ("UninitializedParameter",
                        lazy.UninitializedParameter), ("UninitializedBuffer", lazy.UninitializedBuffer),
                        ("UninitializedTensorMixin", lazy.UninitializedTensorMixin), ("is_lazy", lazy.is_lazy)):
        setattr(ns, name, value)
    return ns


__all__ = ["NLLLoss2d", "Container"]
