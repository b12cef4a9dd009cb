"""ModuleDict, ParameterList, ParameterDict and Unflatten (torch.nn's), plus list operations that
Sequential and ModuleList share (insert, pop, del, +=) as PyTorch defines them."""

import operator
from collections import OrderedDict

from .. import _validate as check
from ..errors import ArgumentError, IndexingError
from ..tensor import Tensor
from .module import Module, Parameter


def _index(container, idx):
    """A non-negative position for idx in a container of len(container) (IndexingError when out of range)."""
    n = len(container)
    try:
        i = operator.index(idx)
    except TypeError:
        raise ArgumentError(f"{type(container).__name__}: index must be an int or a slice, got "
                            f"{type(idx).__name__}") from None
    if not -n <= i < n:
        raise IndexingError(f"{type(container).__name__}: index {i} is out of range for length {n}")
    return i % n


def renumber(container, modules):
    """Replace the container's submodules with `modules`, keyed 0, 1, 2, ... (as PyTorch after del/insert)."""
    for key in list(container._modules):
        container._forget(key)
        container.__dict__.pop(key, None)
    for i, m in enumerate(modules):
        container.add_module(str(i), m)


def repeated_repr(module):
    """PyTorch's ModuleList repr: runs of identical children printed once, as (i-j): n x child."""
    reprs = [repr(m) for m in module._modules.values()]
    if not reprs:
        return f"{type(module).__name__}()"
    runs = [[0, 0, reprs[0]]]
    for i, r in enumerate(reprs[1:], 1):
        if r == runs[-1][2]:
            runs[-1][1] = i
        else:
            runs.append([i, i, r])
    lines = [(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}").replace("\n", "\n  ") for a, b, r in runs]
    return f"{type(module).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def insert(container, index, module):
    """Insert module before position index (PyTorch's ModuleList.insert / Sequential.insert)."""
    mods = list(container._modules.values())
    n = len(mods)
    i = operator.index(index)
    if not -n <= i <= n:
        raise IndexingError(f"{type(container).__name__}.insert: index {i} is out of range for length {n}")
    mods.insert(i if i >= 0 else i + n, module)
    renumber(container, mods)


def delete(container, idx):
    mods = list(container._modules.values())
    if isinstance(idx, slice):
        del mods[idx]
    else:
        del mods[_index(container, idx)]
    renumber(container, mods)


def pop(container, idx=-1):
    module = list(container._modules.values())[_index(container, idx)]
    delete(container, idx)
    return module


class ModuleDict(Module):
    """An ordered dict of named submodules, registered so the parent sees their parameters.

    Example:
        heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "box": nn.Linear(8, 4)})
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(key)
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(_key(key, "ModuleDict"), module)

    def __delitem__(self, key):
        self._forget(key)
        self.__dict__.pop(key, None)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        for key in list(self._modules):
            del self[key]

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        if not hasattr(items, "__iter__"):
            raise ArgumentError(f"ModuleDict.update: expected a mapping or an iterable of (key, value) pairs, "
                                f"got {type(modules).__name__}")
        for j, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ArgumentError(f"ModuleDict.update: element #{j} should be a (key, module) pair")
            self[item[0]] = item[1]


def _key(key, op):
    if not isinstance(key, str):
        raise ArgumentError(f"{op}: keys must be strings, got {type(key).__name__}")
    return key


def _as_parameter(value):
    """Tensors that are not Parameters are wrapped as Parameters (as PyTorch's ParameterList does)."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    """A list of Parameters, registered as 0, 1, 2, ... (plain Tensors are wrapped as Parameters).

    Example:
        self.ws = nn.ParameterList([nn.Parameter(tc.randn(4, 4)) for _ in range(3)])
    """

    def __init__(self, values=None):
        super().__init__()
        self.__dict__["_size"] = 0
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_index(self, idx)))

    def __setitem__(self, idx, param):
        name = str(_index(self, idx))
        self._set(name, param)

    def _set(self, name, param):
        param = _as_parameter(param)
        if isinstance(param, Parameter) or param is None:
            self.register_parameter(name, param)
        else:
            self._forget(name)
            object.__setattr__(self, name, param)

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def append(self, value):
        self.__dict__["_size"] += 1
        self._set(str(self._size - 1), value)
        return self

    def extend(self, values):
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise ArgumentError(f"ParameterList.extend should be called with an iterable, but got "
                                f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def extra_repr(self):
        return "\n".join(f"  ({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                         for i, p in enumerate(self) if isinstance(p, Tensor))


class ParameterDict(Module):
    """An ordered dict of named Parameters (plain Tensors are wrapped as Parameters)."""

    def __init__(self, parameters=None):
        super().__init__()
        self.__dict__["_keys"] = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        key = _key(key, "ParameterDict")
        self._keys[key] = None
        value = _as_parameter(value)
        if isinstance(value, Parameter) or value is None:
            self.register_parameter(key, value)
        else:
            self._forget(key)
            object.__setattr__(self, key, value)

    def __delitem__(self, key):
        del self._keys[key]
        self._forget(key)
        self.__dict__.pop(key, None)

    def extra_repr(self):
        names = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "bfloat16": "BFloat16Tensor"}
        return "\n".join(f"  ({k}): Parameter containing: [{names.get(str(p.dtype), str(p.dtype))} of size "
                         f"{'x'.join(map(str, p.shape))}]" for k, p in self._parameters.items() if p is not None)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return list(self._keys)

    def values(self):
        return [self[k] for k in self._keys]

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def clear(self):
        for key in list(self._keys):
            del self[key]

    def update(self, parameters):
        items = parameters.items() if hasattr(parameters, "items") else parameters
        if not hasattr(items, "__iter__"):
            raise ArgumentError(f"ParameterDict.update: expected a mapping or an iterable of (key, value) pairs, "
                                f"got {type(parameters).__name__}")
        if isinstance(parameters, (dict, OrderedDict)) and not isinstance(parameters, OrderedDict):
            items = parameters.items()
        for j, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ArgumentError(f"ParameterDict.update: element #{j} should be a (key, value) pair")
            self[item[0]] = item[1]


class Unflatten(Module):
    """Split dimension dim into unflattened_size (the inverse of Flatten).

    Example:
        nn.Unflatten(1, (2, 5))(x)   # (N, 10) -> (N, 2, 5)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = check.integer(dim, "dim", "Unflatten")
        if not isinstance(unflattened_size, (tuple, list)):
            raise ArgumentError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                                f"{type(unflattened_size).__name__}")
        self.unflattened_size = tuple(check.integer(s, "unflattened_size", "Unflatten", -1)
                                      for s in unflattened_size)

    def forward(self, input):
        from ..ops.shape import unflatten

        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
