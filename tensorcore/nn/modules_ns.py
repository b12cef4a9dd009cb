"""torch.nn.modules' import paths, for code that imports from them: `from torch.nn.modules.utils import _pair`,
`from torch.nn.modules.lazy import LazyModuleMixin`, `from torch.nn.modules.conv import _ConvNd`, ... Every nn
module class is also on tensorcore.nn.modules itself. Also torch.nn.factory_kwargs."""

import collections.abc
import sys
import types
from itertools import repeat

from ..errors import ArgumentError


def _ntuple(n, name="parse"):
    def parse(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


def _reverse_repeat_tuple(t, n):
    """t reversed, each element repeated n times (conv / pool padding as F.pad's)."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults):
    if isinstance(out_size, int) or not isinstance(out_size, collections.abc.Sequence):
        return out_size
    if len(defaults) <= len(out_size):
        raise ArgumentError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d for v, d in zip(out_size, defaults[-len(out_size):])]


def factory_kwargs(kwargs):
    """torch.nn.factory_kwargs: device / dtype / memory_format from kwargs (and a nested factory_kwargs dict)."""
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    expected = simple | {"factory_kwargs"}
    if not kwargs.keys() <= expected:
        raise ArgumentError(f"factory_kwargs: unexpected kwargs {kwargs.keys() - expected}")
    out = dict(kwargs.get("factory_kwargs", {}))
    for key in simple:
        if key in kwargs:
            if key in out:
                raise ArgumentError(f"factory_kwargs: {key} specified twice, in **kwargs and in factory_kwargs")
            out[key] = kwargs[key]
    return out


def install(nn):
    """Build tensorcore.nn.modules (and its submodules) from the nn package, registered in sys.modules."""
    from . import conv, layers, lazy, module

    root = types.ModuleType("tensorcore.nn.modules", "torch.nn.modules: every nn module class, and submodules.")
    for name in nn.__all__:
        obj = getattr(nn, name, None)
        if isinstance(obj, type) and issubclass(obj, module.Module):
            setattr(root, name, obj)
    subs = {
        "utils": dict(_single=_ntuple(1, "_single"), _pair=_ntuple(2, "_pair"), _triple=_ntuple(3, "_triple"),
                      _quadruple=_ntuple(4, "_quadruple"), _ntuple=_ntuple, _reverse_repeat_tuple=_reverse_repeat_tuple,
                      _list_with_default=_list_with_default),
        "lazy": dict(LazyModuleMixin=lazy.LazyModuleMixin),
        "module": dict(Module=module.Module),
        "conv": dict(_ConvNd=conv._ConvNd),
        "batchnorm": dict(_BatchNorm=layers.BatchNorm1d),  # tensorcore's BatchNorm2d / 3d derive from BatchNorm1d
    }
    for sub, names in subs.items():
        space = types.ModuleType(f"tensorcore.nn.modules.{sub}", f"torch.nn.modules.{sub}'s names.")
        for key, value in names.items():
            setattr(space, key, value)
        setattr(root, sub, space)
        sys.modules[space.__name__] = space
    sys.modules[root.__name__] = root
    return root
