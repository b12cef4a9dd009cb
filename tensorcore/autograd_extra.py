"""torch.autograd's smaller top-level names, attached to tc.autograd by tensorcore/__init__.py:
is_multithreading_enabled / set_multithreading_enabled, is_view_replay_enabled, the torch.autograd.function and
torch.autograd.variable modules (Function, FunctionCtx, once_differentiable, InplaceFunction; Variable), and
Variable as a class that isinstance() accepts every Tensor with, as torch's."""

import functools
import threading
import types

from .autograd_compat import FunctionCtx, once_differentiable
from .autograd_compat import Variable as _make_variable
from .tensor import Tensor

_state = threading.local()


def is_multithreading_enabled():
    """torch.autograd.is_multithreading_enabled: this thread's setting (default True). tensorcore's backward
    always runs on the calling thread; the setting is kept so code that saves and restores it works."""
    return getattr(_state, "multithreading", True)


class set_multithreading_enabled:  # noqa: N801  (torch's name)
    """torch.autograd.set_multithreading_enabled(mode): sets the thread-local mode at once; as a context manager
    or decorator it puts the previous mode back on exit."""

    def __init__(self, mode):
        self.prev = is_multithreading_enabled()
        _state.multithreading = bool(mode)
        self.mode = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _state.multithreading = self.prev

    def clone(self):
        return self.__class__(self.mode)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapped


def is_view_replay_enabled():
    """torch.autograd.is_view_replay_enabled: False (tensorcore replays no views; torch's default too)."""
    return False


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """torch.autograd.Variable: Variable(data, requires_grad=False) is a Tensor; every Tensor is a Variable."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        return _make_variable(data, requires_grad=requires_grad, volatile=volatile)


def _module(name, doc, **names):
    mod = types.ModuleType(name, doc)
    mod.__dict__.update(names)
    mod.__all__ = sorted(names)
    return mod


def install(autograd_module, package_name):
    """Attach the names and register tensorcore.autograd.function / .variable / .forward_ad in sys.modules."""
    import sys

    from . import autograd_forward_ad

    Function = autograd_module.Function

    class InplaceFunction(Function):
        """torch.autograd.function.InplaceFunction: a Function with an inplace flag."""

        def __init__(self, inplace=False):
            super().__init__()
            self.inplace = inplace

    InplaceFunction.__module__ = "tensorcore.autograd.function"
    function = _module(f"{package_name}.autograd.function", "torch.autograd.function's names", Function=Function,
                       FunctionCtx=FunctionCtx, once_differentiable=once_differentiable,
                       InplaceFunction=InplaceFunction)
    variable = _module(f"{package_name}.autograd.variable", "torch.autograd.variable's names", Variable=Variable)
    for key, mod in (("function", function), ("variable", variable), ("forward_ad", autograd_forward_ad)):
        setattr(autograd_module, key, mod)
        sys.modules[f"{package_name}.autograd.{key}"] = mod
    autograd_module.Variable = Variable
    for name in ("is_multithreading_enabled", "set_multithreading_enabled", "is_view_replay_enabled"):
        setattr(autograd_module, name, globals()[name])
