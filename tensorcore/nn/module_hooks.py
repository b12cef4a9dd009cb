"""Module forward hooks and dotted-path lookups (PyTorch's register_forward_pre_hook / register_forward_hook,
get_submodule / get_parameter / get_buffer), mixed into Module.

A module with no hook is called through forward() directly; `_hooked` (a class attribute False) turns True
on the instance when its first hook is registered.
"""

from collections import OrderedDict

from ..errors import ArgumentError
from ..hooks import RemovableHandle


def _add(module, registry_name, hook, prepend, with_kwargs):
    if not callable(hook):
        raise ArgumentError(f"{registry_name.strip('_')}: hook must be callable, got {type(hook).__name__}")
    d = module.__dict__
    registry = d.get(registry_name)
    if registry is None:
        registry = d[registry_name] = OrderedDict()
    handle = RemovableHandle(registry)
    registry[handle.id] = (hook, bool(with_kwargs))
    if prepend:
        registry.move_to_end(handle.id, last=False)
    d["_hooked"] = True
    return handle


class ModuleHooks:
    """The hook and lookup methods of Module."""

    _hooked = False

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) before forward; a non-None result replaces args (a lone value becomes (value,)).

        with_kwargs=True: hook(module, args, kwargs), returning None or (args, kwargs).
        """
        return _add(self, "_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """hook(module, args, output) after forward; a non-None result replaces the output.

        with_kwargs=True: hook(module, args, kwargs, output).
        """
        return _add(self, "_forward_hooks", hook, prepend, with_kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in list(self.__dict__.get("_forward_pre_hooks", {}).values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise ArgumentError("forward pre-hook with kwargs must return None or a tuple (args, kwargs)")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self.__dict__.get("_forward_hooks", {}).values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    # --- dotted-path lookups ---------------------------------------------------------------------
    def get_submodule(self, target):
        """The module at a dotted path ('' is self), e.g. model.get_submodule('features.0')."""
        mod = self
        if target == "":
            return mod
        walked = []
        for item in target.split("."):
            child = mod._modules.get(item) if hasattr(mod, "_modules") else None
            if child is None:
                where = ".".join(walked) or type(self).__name__
                raise AttributeError(f"get_submodule: {where} has no submodule {item!r} (path {target!r})")
            walked.append(item)
            mod = child
        return mod

    def _get_member(self, target, registry, what):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in getattr(mod, registry):
            raise AttributeError(f"get_{what}: {type(mod).__name__} has no {what} {name!r} (path {target!r})")
        return getattr(mod, registry)[name]

    def get_parameter(self, target):
        """The Parameter at a dotted path, e.g. model.get_parameter('fc.weight')."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target):
        """The buffer at a dotted path, e.g. model.get_buffer('bn.running_mean')."""
        return self._get_member(target, "_buffers", "buffer")
