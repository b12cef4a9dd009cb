"""Module and Parameter: the containers a network is built from (PyTorch's names and behaviour).

A Module holds Parameters (trainable tensors), buffers (state that is saved but not trained, like
BatchNorm's running statistics) and child Modules, all found by attribute assignment:

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)        # a child module; its weight and bias are parameters
        def forward(self, x):
            return self.fc(x)

Attributes live in the instance __dict__ as usual (so `self.fc` in forward is a plain attribute
read: no __getattr__ fallback on the hot path); the registries `_parameters`, `_buffers` and
`_modules` only remember names and order.
"""

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..device import device as as_device
from ..dtypes import as_dtype
from ..errors import ArgumentError, TensorcoreError
from ..tensor import Tensor, _make
from .module_hooks import ModuleHooks


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (requires_grad=True by default).

    Example:
        w = nn.Parameter(tc.randn(3, 4))      # w.requires_grad is True
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            array, dev = data._data, data.device
        else:
            from ..tensor import tensor

            t = tensor(data)
            array, dev = t._data, t.device
        if requires_grad and array.dtype.kind not in "fV":
            from ..errors import DTypeError

            raise DTypeError(f"Parameter: only floating tensors can require grad, got {array.dtype}")
        p = Tensor.__new__(cls)
        p._data = array
        p.device = dev
        p.requires_grad = bool(requires_grad)
        p.grad = None
        p._node = None
        p._vcounter = None
        p._hooks = None
        return p

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__ (Tensor.__init__ would copy the data)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        raise TypeError("Parameter: use state_dict() and tc.save, not pickle")

    def __deepcopy__(self, memo):
        """A new Parameter with a copy of the data (no .grad, as torch's), as copy.deepcopy(model) needs."""
        if id(self) not in memo:
            memo[id(self)] = Parameter(_fresh(self._data.copy(), self.device), requires_grad=self.requires_grad)
        return memo[id(self)]


class IncompatibleKeys(NamedTuple("_IncompatibleKeys", [("missing_keys", list), ("unexpected_keys", list)])):
    """What load_state_dict(strict=False) could not load: unpacks as PyTorch's pair (missing, unexpected =
    model.load_state_dict(sd, strict=False)) and prints as PyTorch's; the wrongly shaped entries are in
    .mismatched_keys."""

    def __new__(cls, missing_keys, unexpected_keys, mismatched_keys=()):
        self = super().__new__(cls, missing_keys, unexpected_keys)
        self.mismatched_keys = list(mismatched_keys)
        return self

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"

    __str__ = __repr__


class Module(ModuleHooks):
    """Base class of every layer and network. Subclasses define `forward`; calling the module calls it.

    Example:
        model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
        logits = model(x)
        model.state_dict().keys()      # '0.weight', '0.bias', '2.weight', '2.bias'
    """

    training = True

    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["training"] = True

    # --- registration ------------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            if isinstance(value, (Parameter, Module)):
                raise TensorcoreError(
                    f"{type(self).__name__}: call super().__init__() before assigning parameters or submodules"
                )
            object.__setattr__(self, name, value)
            return
        if type(value).__name__ == "Buffer" and hasattr(value, "persistent"):  # nn.Buffer (more_modules.py)
            self.register_buffer(name, value.data, persistent=value.persistent)
            return
        if isinstance(value, Parameter):
            self._forget(name, keep="_parameters")
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            self._forget(name, keep="_modules")
            d["_modules"][name] = value
        elif name in d["_parameters"]:
            if value is not None:
                raise ArgumentError(f"cannot assign {type(value).__name__} to parameter {name!r} "
                                    "(expected Parameter or None)")
            d["_parameters"][name] = None
        elif name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise ArgumentError(f"cannot assign {type(value).__name__} to buffer {name!r} "
                                    "(expected Tensor or None)")
            d["_buffers"][name] = value
        elif name in d["_modules"]:
            if value is not None:
                raise ArgumentError(f"cannot assign {type(value).__name__} to submodule {name!r} "
                                    "(expected Module or None)")
            d["_modules"][name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name, keep=None):
        """Drop name from the registries other than `keep` (a replaced entry keeps its place, as in PyTorch)."""
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                d[registry].pop(name, None)
        d["_non_persistent"].discard(name)

    def register_parameter(self, name, param):
        """Add a parameter (or None, a declared-but-absent parameter like a missing bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise ArgumentError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._forget(name, keep="_parameters")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state saved in state_dict (when persistent) and moved by to(), never trained."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise ArgumentError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name, keep="_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise ArgumentError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name, keep="_modules")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # --- calling -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if self._hooked:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # --- traversal -------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, each module once (unless remove_duplicate=False)."""
        if isinstance(memo, str):  # the old named_modules(prefix) call
            memo, prefix = None, memo
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate and id(mod) in memo:
                continue
            memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{k}" if name else k, m) for k, m in mod._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a parameter shared by two layers is listed once (unless remove_duplicate)."""
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, b in mod._buffers.items():
                if b is not None and not (remove_duplicate and id(b) in seen):
                    seen.add(id(b))
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        return sum(p._data.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # --- modes and grads -----------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (None by default, as PyTorch 2 does; else zeros)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data[...] = 0

    def apply(self, fn):
        """Call fn(module) on every descendant, then on self (as PyTorch does); returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- devices and dtypes ----------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Move parameters and buffers to a device and/or cast floating ones to dtype, in place: torch's forms
        model.to(device), .to(dtype), .to(device, dtype), .to(tensor), .to(memory_format=...), non_blocking.

        The Parameter objects stay the same (an optimizer made before keeps working).
        """
        from ..dtypes import check_layout

        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        check_layout("Module.to", kwargs.pop("memory_format", None))  # (channels_last: a layout hint)
        if kwargs:
            raise ArgumentError(f"Module.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif a is None or isinstance(a, bool):  # (a positional non_blocking)
                continue
            elif isinstance(a, str) or hasattr(a, "backend"):
                device = a
            else:
                dtype = a  # model.to(tc.float64)
        dev = as_device(device) if device is not None else None
        dt = as_dtype(dtype) if dtype is not None else None
        for t in list(self.parameters()) + list(self.buffers()):
            _move(t, dev, dt)
            if t.grad is not None:
                _move(t.grad, dev, dt)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=0):
        return self.to(f"cuda:{index}")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

    def bfloat16(self):
        return self.to(dtype="bfloat16")

    # --- state ------------------------------------------------------------------------------------
    def state_dict(self, prefix="", keep_vars=False):
        """name -> Tensor of every parameter and persistent buffer, sharing memory with the module.

        Example:
            tc.save(model.state_dict(), "model.npz")
        """
        out = OrderedDict()
        for mod_name, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            for name, p in mod._parameters.items():
                if p is not None:
                    key = f"{mod_name}.{name}" if mod_name else name
                    out[key] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    key = f"{mod_name}.{name}" if mod_name else name
                    out[key] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy a state dict's arrays into this module's parameters and buffers, in place.

        strict=True: any missing, unexpected or wrongly shaped entry raises StateDictError naming
        every one of them, and nothing is loaded. strict=False: a wrongly shaped entry still raises (as in
        PyTorch); otherwise the entries that fit are loaded and the rest are returned as
        IncompatibleKeys(missing_keys, unexpected_keys, mismatched_keys).
        Floating values are cast to the parameter's dtype; an integer array for a float parameter
        (or the reverse) counts as mismatched.
        """
        from ..serialization import Mismatch, StateDictError, check_state_dict, describe_state_dict_report

        if isinstance(state_dict, dict):  # lazy modules (nn/lazy.py) first take their shapes from what is loaded
            for mod_name, mod in self.named_modules():
                hook = getattr(mod, "_lazy_load_hook", None)
                if hook is not None:
                    hook(state_dict, f"{mod_name}." if mod_name else "")
        own = self.state_dict(keep_vars=True)
        if not isinstance(state_dict, dict):
            raise StateDictError(f"load_state_dict: expected a dict of name -> tensor, got {type(state_dict).__name__}")
        expected = {k: (tuple(t.shape), None) for k, t in own.items()}
        report = check_state_dict(expected, state_dict, strict=False)
        mismatched = list(report.mismatched)
        for key, t in own.items():
            if key in state_dict and all(m.name != key for m in mismatched):
                value = state_dict[key]
                kind = np.dtype(value.dtype).kind if hasattr(value, "dtype") else np.asarray(value).dtype.kind
                if (kind in "fV") != (t.dtype.kind in "fV"):
                    mismatched.append(Mismatch(key, tuple(t.shape), tuple(np.shape(value)), t.dtype, np.dtype(kind)))
        # a checkpoint without BatchNorm's num_batches_tracked (older PyTorch's) loads as in torch: the buffer keeps
        # its value and is not missing (torch's _NormBase._load_from_state_dict for a state dict of no version)
        untracked = {f"{name}.num_batches_tracked" if name else "num_batches_tracked"
                     for name, mod in self.named_modules() if getattr(mod, "track_running_stats", False)
                     and getattr(mod, "num_batches_tracked", None) is not None}
        report = report._replace(mismatched=mismatched, missing=[k for k in report.missing if k not in untracked])
        shapes = [m for m in report.mismatched if m.given_shape != m.expected_shape]
        if shapes or strict and (report.missing or report.unexpected or report.mismatched):
            # (a wrongly shaped entry is an error even with strict=False, as in PyTorch: strict only forgives
            # missing and unexpected keys)
            if not strict:
                report = report._replace(missing=[], unexpected=[], mismatched=shapes)
            raise StateDictError(describe_state_dict_report(report, f"{type(self).__name__}.load_state_dict"))
        bad = {m.name for m in mismatched}
        for key, t in own.items():
            if key in state_dict and key not in bad:
                _assign(t, state_dict[key])
        return IncompatibleKeys(list(report.missing), list(report.unexpected), [m.name for m in mismatched])

    # --- printing ------------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        """PyTorch's layout: Name(extra) alone, else the extra lines and then each child on its own line."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            return f"{type(self).__name__}()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(" + "\n  " + "\n  ".join(lines) + "\n)"

    def summary(self, input_shape=None, print_fn=print):
        """Print a table of the layers with their parameter counts (and output shapes, given an input shape).

        input_shape excludes the batch axis, e.g. (784,) or (1, 28, 28). Returns the total
        parameter count.

        Example:
            model.summary((784,))
        """
        from .. import no_grad, zeros

        shapes = {}
        if input_shape is not None:
            leaves = [(n, m) for n, m in self.named_modules() if not m._modules and n]
            originals = {}
            for name, m in leaves:
                fwd = m.forward
                originals[name] = (m, fwd)

                def wrapped(*a, _name=name, _fwd=fwd, **k):
                    out = _fwd(*a, **k)
                    shapes[_name] = tuple(out.shape) if isinstance(out, Tensor) else "?"
                    return out

                object.__setattr__(m, "forward", wrapped)
            was_training = self.training
            try:
                self.eval()
                p = next(self.parameters(), None)
                dev = p.device if p is not None else None
                dt = p.dtype if p is not None else None
                with no_grad():
                    self(zeros((1,) + tuple(input_shape), dtype=dt, device=dev))
            finally:
                for m, _ in originals.values():
                    del m.__dict__["forward"]
                self.train(was_training)
        rows = []
        for name, m in self.named_modules():
            if m._modules and name:
                continue
            if not name:
                if m._modules:
                    continue
                name = type(m).__name__
            n = sum(p._data.size for p in m.parameters(recurse=False))
            shape = shapes.get(name, "")
            shape = "(N, " + ", ".join(map(str, shape[1:])) + ")" if isinstance(shape, tuple) else shape
            rows.append((f"{name} ({type(m).__name__})", shape, f"{n:,}"))
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        head = ("Layer (type)", "Output shape", "Params")
        widths = [max(len(r[i]) for r in rows + [head]) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [rule, "".join(h.ljust(w) for h, w in zip(head, widths)), "=" * sum(widths)]
        lines += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        lines += ["=" * sum(widths), f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", rule]
        print_fn("\n".join(lines))
        return total


def _move(t, dev, dt):
    data = t._data
    if dev is not None and dev is not t.device:
        data = dev.backend.from_host(t.device.backend.to_numpy(data), copy=False)  # to_numpy copied it already
        t.device = dev
    if dt is not None and data.dtype.kind in "fV" and data.dtype != dt:
        data = data.astype(dt)
    if data is not t._data:
        t._data = data
        t._version += 1


def _assign(t, value):
    """Copy value (Tensor or array, any device) into t's array in place, cast to t's dtype."""
    array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    t._data[...] = t.device.backend.from_host(np.ascontiguousarray(array, dtype=t.dtype), copy=False)
    t._version += 1


def _fresh(array, device, requires_grad=False):
    return _make(array, device, requires_grad, None)
