"""torch.func.functional_call and stack_module_state: running a module on tensors it does not own.

functional_call swaps the given tensors into the module's registries and attributes for the one call and
puts the originals back afterwards (also when the call raises), so gradients flow to the given tensors and
the module is left as it was.
"""

from ..errors import ArgumentError, TensorcoreError
from ..ops.joins import stack
from ..tensor import Tensor


def _owner(module, dotted, op):
    """(the submodule holding `dotted`'s last part, that part)."""
    *path, leaf = dotted.split(".")
    mod = module
    for part in path:
        child = mod._modules.get(part) if hasattr(mod, "_modules") else None
        if child is None:
            raise ArgumentError(f"{op}: {type(module).__name__} has no submodule {'.'.join(path)!r} (for key "
                                f"{dotted!r})")
        mod = child
    return mod, leaf


def _tied_names(module):
    """For each parameter or buffer reachable under several names: name -> all its names."""
    names = {}
    for prefix, mod in module.named_modules(remove_duplicate=False):
        for registry in (mod._parameters, mod._buffers):
            for name, t in registry.items():
                if t is not None:
                    names.setdefault(id(t), []).append(f"{prefix}.{name}" if prefix else name)
    return {n: group for group in names.values() if len(group) > 1 for n in group}


def _merge(parameter_and_buffer_dicts, op):
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    if not isinstance(parameter_and_buffer_dicts, (tuple, list)):
        raise ArgumentError(f"{op}: expected a dict or a tuple of dicts of tensors, got "
                            f"{type(parameter_and_buffer_dicts).__name__}")
    merged = {}
    for d in parameter_and_buffer_dicts:
        if not isinstance(d, dict):
            raise ArgumentError(f"{op}: expected dicts of tensors, got {type(d).__name__}")
        repeated = sorted(set(merged) & set(d))
        if repeated:
            raise ArgumentError(f"{op}: {repeated} appeared in multiple dictionaries; behavior of functional "
                                "call is ambiguous")
        merged.update(d)
    return merged


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """torch.func.functional_call: module(*args, **kwargs) with its parameters and buffers replaced by the
    given tensors (names as in state_dict) for this one call.

    Example:
        params = {k: v.detach().requires_grad_() for k, v in model.named_parameters()}
        out = tc.func.functional_call(model, params, (x,))
    """
    op = "functional_call"
    values = _merge(parameter_and_buffer_dicts, op)
    if tie_weights:
        tied = _tied_names(module)
        for name in list(values):
            for other in tied.get(name, ()):
                if other in values and values[other] is not values[name]:
                    raise ArgumentError(f"{op}: got multiple values for keys {sorted([name, other])}, which are "
                                        "tied. Consider using tie_weights=False")
                values.setdefault(other, values[name])
    if strict:
        expected = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        expected |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(expected - set(values)), sorted(set(values) - expected)
        if missing or unexpected:
            raise TensorcoreError(f"{op}: Error(s) in reparametrizing for {type(module).__name__}: "
                                  f"Missing key(s): {missing}. Unexpected key(s): {unexpected}.")
    undo = []
    try:
        for name, value in values.items():
            if not isinstance(value, Tensor) and value is not None:
                raise ArgumentError(f"{op}: the value for {name!r} must be a Tensor, got {type(value).__name__}")
            mod, leaf = _owner(module, name, op)
            undo.append(_swap(mod, leaf, value))
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for restore in reversed(undo):
            restore()


def _swap(mod, leaf, value):
    """Put value in mod's registry (or as a plain attribute) under leaf; return what puts the original back."""
    d = mod.__dict__
    registry = next((r for r in (mod._parameters, mod._buffers) if leaf in r), None)
    had_attr = leaf in d
    old_attr = d.get(leaf)
    if registry is not None:
        old = registry[leaf]
        registry[leaf] = value
    d[leaf] = value

    def restore():
        if registry is not None:
            registry[leaf] = old
        if had_attr:
            d[leaf] = old_attr
        else:
            d.pop(leaf, None)

    return restore


def stack_module_state(models):
    """torch.func.stack_module_state: (params, buffers), each name's tensors of every model stacked on a new
    dim 0 (new leaves; parameters that require grad do again), for vmap over an ensemble."""
    op = "stack_module_state"
    models = list(models)
    if not models:
        raise ArgumentError(f"{op}: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise ArgumentError(f"{op}: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise ArgumentError(f"{op}: Expected all models to be of the same class.")
    params = _stacked([dict(m.named_parameters()) for m in models], op)
    buffers = _stacked([dict(m.named_buffers()) for m in models], op)
    return params, buffers


def _stacked(per_model, op):
    out = {}
    for name in per_model[0]:
        tensors = [d[name] for d in per_model]
        flags = {t.requires_grad for t in tensors}
        if len(flags) != 1:
            raise ArgumentError(f"{op}: Expected {name} from each model to have the same .requires_grad")
        result = stack([t.detach() for t in tensors], 0)
        out[name] = result.requires_grad_(True) if flags.pop() else result
    return out
