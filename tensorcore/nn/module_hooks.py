"""Module forward hooks and dotted-path lookups (PyTorch's register_forward_pre_hook / register_forward_hook,
get_submodule / get_parameter / get_buffer), mixed into Module.

A module with no hook is called through forward() directly; `_hooked` (a class attribute False) turns True
on the instance when its first hook is registered.
"""

from collections import OrderedDict

from .. import grad_mode
from ..autograd import Function
from ..errors import ArgumentError
from ..hooks import RemovableHandle
from ..tensor import Tensor


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

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) once the gradients with respect to the module's tensor inputs are
        computed (None for an input that needs none); a returned tuple replaces grad_input (one input needing a
        gradient, here)."""
        return _add(self, "_backward_hooks", hook, prepend, False)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) when the gradients of the module's outputs are ready; a returned tuple replaces
        grad_output."""
        return _add(self, "_backward_pre_hooks", hook, prepend, False)

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
        backward_hooks = (self.__dict__.get("_backward_hooks") or self.__dict__.get("_backward_pre_hooks"))
        call = _BackwardHooks(self, args) if backward_hooks and grad_mode.modes.grad_enabled else None
        if call is not None:
            args = call.inputs
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self.__dict__.get("_forward_hooks", {}).values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        if call is not None:
            call.watch(output)
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


class _Watch(Function):
    """An identity node in front of a module input, so that a full backward hook sees that input's gradient."""

    is_view = True
    remakes_view = False  # a copy would not be watched: in-place changes through it while recording are refused

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class _BackwardHooks:
    """One call of a module with backward hooks: its outputs' gradients (grad_output, through the pre-hooks), then
    its inputs' (grad_input) when all have arrived, handed to the full backward hooks."""

    def __init__(self, module, args):
        self.module = module
        self.inputs = tuple(_Watch.apply(a) if isinstance(a, Tensor) and a.requires_grad else a for a in args)
        self.watched = [i for i, a in enumerate(self.inputs) if isinstance(a, Tensor) and a.requires_grad]
        self.grad_input = [None] * len(args)
        self.grad_output = None
        self.waiting = len(self.watched)

    def watch(self, output):
        outputs = output if isinstance(output, tuple) else (output,)
        live = [i for i, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
        if not live:
            return
        self.grad_output, pending = [None] * len(outputs), set(live)
        for i in live:
            outputs[i].register_hook(lambda g, i=i: self._output_grad(i, g, pending))
        for i in self.watched:
            self.inputs[i].register_hook(lambda g, i=i: self._input_grad(i, g))

    def _output_grad(self, i, g, pending):
        self.grad_output[i] = g
        pending.discard(i)
        if pending:
            return None
        for hook, _ in list(self.module.__dict__.get("_backward_pre_hooks", {}).values()):
            result = hook(self.module, tuple(self.grad_output))
            if result is not None:
                self.grad_output = list(result)
        if not self.watched:  # no input needs a gradient: the hooks see grad_input of Nones now
            self._run(None)
        return self.grad_output[i]

    def _input_grad(self, i, g):
        self.grad_input[i] = g
        self.waiting -= 1
        return self._run(i) if self.waiting == 0 else None

    def _run(self, last):
        for hook, _ in list(self.module.__dict__.get("_backward_hooks", {}).values()):
            result = hook(self.module, tuple(self.grad_input), tuple(self.grad_output))
            if result is None:
                continue
            if last is None or len(self.watched) > 1:
                raise ArgumentError("full backward hook: replacing grad_input is supported for a module with one "
                                    "input that needs a gradient")
            self.grad_input = list(result)
        return None if last is None else self.grad_input[last]
