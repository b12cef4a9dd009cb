"""torch.jit's names for code that scripts or traces its models: tensorcore runs eagerly, so script and trace
hand back the function or module itself (a module stays a module: parameters, state_dict, train/eval), as
tc.compile does. trace runs the function once on the example inputs (is_tracing() is True meanwhile), as
PyTorch's does, so an example that does not fit fails at trace time.

torch.jit.save / load: PyTorch stores TorchScript code; tensorcore cannot, and never pickles. save writes a
tensorcore checkpoint (tc.save's .npz format) holding the module's class names, the constructor arguments
found on the module as attributes of the same names (Linear's in_features, Conv2d's stride ...), its
containers' children, its train/eval flags and its state_dict. load imports the classes, rebuilds, checks the
rebuilt module prints (repr) as the saved one did and loads the state dict. save builds the module once
from what it records (the random generator's state kept) and raises JitError, writing nothing, for a module
that cannot be rebuilt so: a class defined inside a function, a constructor argument not kept as an
attribute, a submodule replaced after construction. A function is saved by its importable name.
"""

import importlib
import inspect
import typing

from .errors import TensorcoreError

Final = typing.Final
_FORMAT = "tensorcore-jit"
_tracing = [0]


class JitError(TensorcoreError):
    """A module or function that tensorcore's jit.save cannot store so that load rebuilds it, or a file that is
    not a jit.save file."""


class Attribute(typing.NamedTuple):
    """torch.jit.Attribute(value, type): in eager code, the pair itself."""

    value: typing.Any
    type: typing.Any


def annotate(the_type, the_value):
    """torch.jit.annotate: the value, unchanged."""
    return the_value


def is_scripting():
    """False: tensorcore code always runs as Python."""
    return False


def is_tracing():
    """True while trace() runs the function on its example inputs."""
    return _tracing[0] > 0


class _Saver:
    """obj.save(f) on what script/trace return, as a ScriptModule's (a copy of the module saves the copy)."""

    def __init__(self, obj):
        self.obj = obj

    def __call__(self, f, _extra_files=None):
        save(self.obj, f, _extra_files)


def _attach_save(obj):
    if not hasattr(obj, "save"):
        try:
            object.__setattr__(obj, "save", _Saver(obj))
        except (AttributeError, TypeError):
            pass  # a builtin or bound method: jit.save(obj, f) still works
    return obj


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """torch.jit.script: obj itself (with .save(f) as a ScriptModule has)."""
    return _attach_save(obj)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs=True):
    """torch.jit.trace: runs func once on example_inputs (a Tensor or a tuple) and returns func itself."""
    if example_inputs is None and example_kwarg_inputs is None:
        raise JitError("trace: example_inputs (or example_kwarg_inputs) must be given")
    args = example_inputs if isinstance(example_inputs, tuple) else () if example_inputs is None else (example_inputs,)
    from .grad_mode import no_grad

    _tracing[0] += 1
    try:
        with no_grad():
            func(*args, **(example_kwarg_inputs or {}))
    finally:
        _tracing[0] -= 1
    return _attach_save(func)


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
                 strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
                 example_inputs_is_kwarg=False, _store_inputs=True):
    """torch.jit.trace_module: runs each named method on its example inputs; returns mod."""
    if not isinstance(inputs, dict):
        raise JitError(f"trace_module: inputs must be a dict of method name -> example inputs, got "
                       f"{type(inputs).__name__}")
    for name, example in inputs.items():
        trace(getattr(mod, name), example)
    return _attach_save(mod)


def ignore(drop=False, **kwargs):
    """torch.jit.ignore, as @ignore or @ignore(drop=True): the function runs as Python (as it always does)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def script_method(fn):
    return fn


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """torch.jit.freeze: the module itself; as PyTorch's, only a module in eval mode."""
    if getattr(mod, "training", False):
        raise JitError("freeze: Freezing is currently only implemented for modules in eval mode. Please call "
                       ".eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """torch.jit.optimize_for_inference: the module, in eval mode."""
    return freeze(mod.eval())


def fork(func, *args, **kwargs):
    """torch.jit.fork: runs func now; wait() gives its result."""
    return _Future(func(*args, **kwargs))


def wait(future):
    return future.value()


class _Future:
    def __init__(self, value):
        self._value = value

    def value(self):
        return self._value

    def wait(self):
        return self._value


def __getattr__(name):
    if name in ("ScriptModule", "RecursiveScriptModule", "TopLevelTracedModule"):  # what script/trace return
        from .nn import Module

        return Module
    if name == "ScriptFunction":
        return type(script)
    raise AttributeError(f"module 'tensorcore.jit' has no attribute {name!r}")


# --- save / load ---------------------------------------------------------------------------------------
def _class_path(obj, what):
    from .nn import Module

    cls = type(obj) if isinstance(obj, Module) or not hasattr(obj, "__qualname__") else obj
    qualname = cls.__qualname__
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise JitError(f"jit.save: cannot save {what} ({qualname}): it is defined inside a function, so load "
                       "cannot import it again (tensorcore saves a module as its class name, constructor "
                       "arguments and state_dict, never as code)")
    return f"{cls.__module__}:{qualname}"


def _resolve(path):
    module_name, qualname = path.split(":", 1)
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise JitError(f"jit.load: cannot import {path} to rebuild the saved module ({exc})") from None
    return obj


_PLAIN = (bool, int, float, str, type(None))
_SKIPPED = ("device", "dtype")


def _plain(value):
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN)


def _describe(mod, where):
    """The tree load rebuilds mod from: class, constructor kwargs (or the children, for containers)."""
    from .nn import ModuleDict, ModuleList, Sequential

    node = {"class": _class_path(mod, where or "the module"), "training": bool(mod.training)}
    if isinstance(mod, (Sequential, ModuleList, ModuleDict)):
        node["children"] = {name: _describe(child, f"{where}.{name}" if where else name)
                            for name, child in mod._modules.items()}
        return node
    kwargs = {}
    for name, p in list(inspect.signature(type(mod).__init__).parameters.items())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in _SKIPPED:
            continue
        has = name in mod.__dict__
        value = mod.__dict__.get(name)
        if has and _plain(value):
            kwargs[name] = list(value) if isinstance(value, tuple) else value
        elif has and isinstance(p.default, bool) and (value is None or hasattr(value, "shape")):
            kwargs[name] = value is not None  # bias=True kept as the bias Parameter (None when False)
        elif p.default is p.empty:
            raise JitError(f"jit.save: cannot save {where or type(mod).__name__} ({type(mod).__name__}): its "
                           f"constructor argument {name!r} is not kept as a plain attribute of the same name, so "
                           "load could not rebuild it; save its state_dict with tc.save instead")
    node["kwargs"] = kwargs
    node["trained"] = {name: child.training for name, child in mod.named_modules() if name}
    return node


def _build(node):
    cls = _resolve(node["class"])
    if "children" in node:
        from .nn import ModuleDict

        children = {name: _build(child) for name, child in node["children"].items()}
        mod = cls(children) if issubclass(cls, ModuleDict) else cls(*children.values())
        if not issubclass(cls, ModuleDict) and list(mod._modules) != list(children):
            raise JitError(f"jit.load: {node['class']} rebuilt with children {list(mod._modules)}, saved with "
                           f"{list(children)}")
    else:
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in node["kwargs"].items()}
        try:
            mod = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise JitError(f"jit.load: cannot rebuild {node['class']} from {kwargs} ({exc})") from None
        for name, child in mod.named_modules():
            if name and name in node["trained"]:
                child.training = node["trained"][name]
    mod.training = node["training"]
    return mod


def _check_rebuilds(m, tree):
    """Build the module from its tree now (the random generator's state kept), so save refuses what load
    could not rebuild instead of writing it."""
    from . import random as _random

    state = _random.get_rng_state()
    try:
        rebuilt = _build(tree)
    except JitError as exc:
        raise JitError(f"jit.save: cannot save {type(m).__name__}: {exc}") from None
    finally:
        _random.set_rng_state(state)
    if repr(rebuilt) != repr(m):
        raise JitError(f"jit.save: cannot save {type(m).__name__}: rebuilt from its constructor arguments it prints "
                       f"as\n{rebuilt!r}\nnot as\n{m!r}\n(a submodule replaced after construction?); save its "
                       "state_dict with tc.save instead")


def save(m, f, _extra_files=None):
    """torch.jit.save: a module (rebuilt by load, see the module docstring) or an importable function."""
    from .nn import Module
    from .serialization import save as save_checkpoint

    if isinstance(m, Module):
        tree = _describe(m, "")
        _check_rebuilds(m, tree)
        state = {k: v.detach() for k, v in m.state_dict().items()}
        record = {"format": _FORMAT, "kind": "module", "tree": tree, "repr": repr(m), "state": state}
    elif callable(m):
        record = {"format": _FORMAT, "kind": "function", "name": _class_path(m, "the function")}
    else:
        raise JitError(f"jit.save: expected a Module or a function, got {type(m).__name__}")
    record["extra_files"] = {str(k): v if isinstance(v, str) else bytes(v).decode("latin-1")
                             for k, v in (_extra_files or {}).items()}
    save_checkpoint(record, f)


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """torch.jit.load: what jit.save wrote; _extra_files (a dict) gets the saved extra files' contents."""
    from .serialization import load as load_checkpoint

    record = load_checkpoint(f, map_location=map_location)
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        raise JitError(f"jit.load({f}): not a file written by tensorcore.jit.save")
    if _extra_files is not None:
        for name in list(_extra_files):
            _extra_files[name] = record["extra_files"].get(name, "").encode("latin-1")  # bytes, as torch's
    if record["kind"] == "function":
        return _resolve(record["name"])
    mod = _build(record["tree"])
    dtypes = {v.dtype for v in record["state"].values() if v.is_floating_point()}
    if len(dtypes) == 1:
        mod.to(dtype=dtypes.pop())
    if repr(mod) != record["repr"]:
        raise JitError(f"jit.load({f}): the rebuilt module prints as\n{mod!r}\nbut was saved as\n{record['repr']}")
    mod.load_state_dict(record["state"])
    return _attach_save(mod)
