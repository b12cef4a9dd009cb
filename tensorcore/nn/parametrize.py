"""torch.nn.utils.parametrize: a parameter or buffer computed from other tensors on every access.

register_parametrization(module, "weight", P) moves the module's `weight` into
`module.parametrizations.weight.original` (the same Parameter object, so an optimizer made before keeps it)
and makes `module.weight` a property that returns P(original). P.right_inverse, when P has one, maps the
current weight to the original at registration and on assignment (`module.weight = value`); one that returns
several tensors makes originals `original0`, `original1`, .... The module's class becomes a subclass
`Parametrized<Class>` holding the properties (PyTorch's design), and goes back once the last parametrization
is removed. State dict keys are PyTorch's: `parametrizations.weight.original` (or `original0`, ...), plus
the parametrization modules' own (`parametrizations.weight.0.<name>`).

Example:
    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    with parametrize.cached():          # P(original) computed once inside the block
        ...
"""

import contextlib
from collections.abc import Sequence

from ..errors import ArgumentError, TensorcoreError
from ..grad_mode import no_grad
from ..tensor import Tensor
from .containers import ModuleDict
from .layers import ModuleList
from .module import Module, Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "transfer_parametrizations_and_params", "type_before_parametrizations"]

_cache_enabled = 0
_cache = {}


@contextlib.contextmanager
def cached():
    """Inside the block each parametrized tensor is computed once (on its first access) and reused."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _maybe_set(dest, src):
    """dest.set_(src): dest (the same object) now holds src's data."""
    if dest.device is not src.device:
        raise ArgumentError(f"parametrize: cannot set a tensor on {dest.device} from one on {src.device}")
    dest._data = src._data
    dest._version += 1


def _check_same(what, got, want, unsafe_hint=True):
    hint = "\nunless the `unsafe` flag is enabled." if unsafe_hint else ""
    if not isinstance(got, Tensor):
        raise ArgumentError(f"register_parametrization: a parametrization must return a tensor. Got "
                            f"{type(got).__name__}.")
    if got.dtype != want.dtype:
        raise ArgumentError(f"register_parametrization: {what} may not change the dtype of the tensor{hint}\n"
                            f"dtype of the tensor: {want.dtype}\ndtype of the result: {got.dtype}")
    if tuple(got._data.shape) != tuple(want._data.shape):
        raise ArgumentError(f"register_parametrization: {what} may not change the shape of the tensor{hint}\n"
                            f"shape of the tensor: {tuple(want._data.shape)}\nshape of the result: "
                            f"{tuple(got._data.shape)}")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and its original(s)."""

    def __init__(self, modules, original, unsafe=False):
        modules = list(modules)
        if not modules:
            raise ArgumentError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = bool(unsafe)
        with no_grad():
            new = original
            for module in reversed(modules):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ArgumentError(f"register_parametrization: 'right_inverse' must return a Tensor or a Sequence of "
                                f"tensors (list, tuple...). Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ArgumentError(f"register_parametrization: when `right_inverse` outputs one tensor, it may not "
                                    f"change the dtype.\noriginal.dtype: {original.dtype}\n"
                                    f"right_inverse(original).dtype: {new.dtype}")
            with no_grad():
                _maybe_set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ArgumentError(f"register_parametrization: 'right_inverse' must return a Tensor or a "
                                        f"Sequence of tensors (list, tuple...). Got element {i} of type "
                                        f"{type(part).__name__}")
                part = part.detach()
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                else:
                    part.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", part)
        if not self.unsafe:
            _check_same("registering a parametrization", self(), original)

    def right_inverse(self, value):
        """Set the original(s) so that the parametrization gives `value` (each right_inverse, last first)."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise TensorcoreError(f"parametrization {type(module).__name__} does not implement "
                                          "right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ArgumentError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ArgumentError(f"The tensor returned by `right_inverse` has dtype {value.dtype} while "
                                        f"`original` has dtype {self.original.dtype}")
                _maybe_set(self.original, value)
            else:
                if not isinstance(value, Sequence) or len(value) != self.ntensors:
                    raise ArgumentError(f"'right_inverse' must return a sequence of {self.ntensors} tensors, got "
                                        f"{type(value).__name__}")
                for i, t in enumerate(value):
                    original_i = getattr(self, f"original{i}")
                    if not isinstance(t, Tensor) or t.dtype != original_i.dtype:
                        raise ArgumentError(f"`right_inverse` must return tensors of the originals' dtypes; "
                                            f"element {i} is {getattr(t, 'dtype', type(t).__name__)}, original{i} "
                                            f"is {original_i.dtype}")
                    _maybe_set(original_i, t)

    def forward(self):
        parts = list(self)
        if self.is_tensor:
            x = parts[0](self.original)
        else:
            x = parts[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in parts[1:]:
            x = module(x)
        return x


def _inject_new_class(module):
    cls = type(module)
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"__module__": cls.__module__})


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if _cache_enabled:
            key = (id(self), tensor_name)
            if _cache.get(key) is None:
                _cache[key] = parametrization()
            return _cache[key]
        return parametrization()

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def is_parametrized(module, tensor_name=None):
    """Whether module has any parametrization (tensor_name=None) or one on tensor_name."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Parametrize module.<tensor_name> by the module `parametrization` (appended after any earlier ones)."""
    if not isinstance(module, Module) or not isinstance(parametrization, Module):
        raise ArgumentError(f"register_parametrization: module and parametrization must be nn.Modules, got "
                            f"{type(module).__name__} and {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_same("a parametrization", x, y)
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    _check_same("parametrization.right_inverse", z, y)
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= bool(unsafe)
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ArgumentError(f"register_parametrization: {type(module).__name__}.{tensor_name} is None")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ArgumentError(f"register_parametrization: module '{type(module).__name__}' does not have a parameter, "
                            f"a buffer, or a parametrized element with name '{tensor_name}'")
    return module


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrizations of tensor_name: it becomes a parameter (or buffer) again, holding the current
    parametrized value (leave_parametrized=True, the same object as the original when there was one
    original) or the original itself."""
    if not is_parametrized(module, tensor_name):
        raise ArgumentError(f"remove_parametrizations: module {type(module).__name__} does not have a "
                            f"parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
                _maybe_set(original, t.detach().clone())  # (the same object: an optimizer keeps it)
    else:
        if not leave_parametrized:
            raise ArgumentError("remove_parametrizations: cannot leave unparametrized (`leave_parametrized=False`) "
                                "a tensor that is parametrized in terms of a sequence of tensors.")
        t = getattr(module, tensor_name)
        original = Parameter(t.detach(), t.requires_grad) if t.requires_grad else t.detach()
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class before parametrizations were registered on it."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Give to_module from_module's parametrizations (of tensor_name, or all), with the originals' values."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not is_parametrized(to_module, name):
            if name not in to_module._parameters and name not in to_module._buffers:
                to_module.register_parameter(name, Parameter(getattr(from_module, name).detach().clone()))
            for p in from_module.parametrizations[name]:
                register_parametrization(to_module, name, p)
        src, dst = from_module.parametrizations[name], to_module.parametrizations[name]
        keys = ["original"] if src.is_tensor else [f"original{i}" for i in range(src.ntensors)]
        with no_grad():
            for key in keys:
                _maybe_set(getattr(dst, key), getattr(src, key).detach().clone())
    return to_module
