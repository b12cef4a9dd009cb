"""Optimizer: parameter groups, per-parameter state, zero_grad, step, state_dict (PyTorch's design).

Each optimizer keeps its per-parameter update math in one plain function of arrays
(`sgd_update`, `adam_update`, ...). `step()` looks the function up on the parameters' backend
first (`backend.adam_update`, e.g. a fused CUDA kernel) and falls back to the NumPy/CuPy-generic
one, so a device can replace the math without touching the optimizer. Updates are in place on
`p._data` (under no_grad, with `out=` ufuncs), and bump `p._version`.
"""

import math

import numpy as np

from .. import _validate as check
from ..autograd import enable_grad, no_grad
from ..errors import ArgumentError
from ..tensor import Tensor, _make


class OptimizerError(ArgumentError):
    """A bad hyperparameter, parameter list or optimizer state dict."""


# Keys the lr schedulers add to param groups (they may be in any optimizer's saved state).
SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"})


class _Required:
    def __repr__(self):
        return "<required>"


required = _Required()


class Optimizer:
    """Base class: holds `param_groups` (list of dicts with 'params' and hyperparameters) and `state`.

    Subclasses define `_init_state(p, group)` (the arrays a parameter needs) and `_update(group)`.

    Example:
        opt = tc.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                            {"params": model[2].parameters()}], lr=0.01, momentum=0.9)
    """

    # names of per-parameter state entries that are arrays of the parameter's shape
    _array_state = ()
    # state_dict() as PyTorch's: these scalar entries saved as 0-d tensors (NAdam's mu_product, ASGD's eta, mu)
    _tensor_scalars = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise OptimizerError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                                 "got a single Tensor (wrap it in a list)")
        groups = list(params)
        if not groups:
            raise OptimizerError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        if not isinstance(group, dict) or "params" not in group:
            raise OptimizerError(f"{type(self).__name__}: a param group is a dict with a 'params' entry")
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise OptimizerError(f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}")
            if p._node is not None:
                raise OptimizerError(f"{type(self).__name__}: can only optimize leaf tensors (got one with "
                                     f"grad_fn {p._node!r})")
            if p.dtype.kind not in "fV":
                raise OptimizerError(f"{type(self).__name__}: can only optimize floating tensors, got {p.dtype}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise OptimizerError(f"{type(self).__name__}: some parameters appear in more than one group")
        group["params"] = params
        for key, value in self.defaults.items():
            if value is required and key not in group:
                raise OptimizerError(f"{type(self).__name__}: parameter group didn't specify a value of "
                                     f"required optimization parameter {key}")
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Hyperparameters finite and in range (OptimizerError naming the bad one); subclasses add theirs."""
        if "lr" in group and group["lr"] is not required:
            self._number(group, "lr", low=0)
        self._check_hyperparameters(group)

    def _check_hyperparameters(self, group):
        pass

    def _number(self, group, key, **bounds):
        return check.number(group[key], key, type(self).__name__, error=OptimizerError, **bounds)

    def _flag(self, group, key):
        return check.flag(group[key], key, type(self).__name__, error=OptimizerError)

    def _check_torch_flags(self, group):
        """PyTorch's implementation flags: foreach / fused / capturable change no number here (accepted);
        differentiable=True (a step recorded in the graph) is refused."""
        name = type(self).__name__
        for key in ("foreach", "fused"):
            if group.get(key) is not None:
                self._flag(group, key)
        if group.get("capturable", False) is not False:
            self._flag(group, "capturable")
        if group.get("differentiable", False) is not False:
            raise OptimizerError(f"{name}: differentiable=True is not supported (tensorcore updates arrays in "
                                 "place, outside the graph)")

    # --- the two calls of a training loop --------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Clear the gradients: None (default, as PyTorch 2 does) or zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; with closure, re-evaluate the loss first."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group):
        raise NotImplementedError

    def _state(self, p, group):
        st = self.state.get(p)
        if st is None:
            st = self.state[p] = self._init_state(p, group)
        return st

    def _init_state(self, p, group):
        return {"step": new_step()}

    @staticmethod
    def _update_fn(p, name, default):
        """The backend's replacement for the update function, if it has one (looked up per step)."""
        return getattr(p.device.backend, name, default)

    # --- state dicts ---------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {name: Tensor or number}}, "param_groups": [{..., "params": [index, ...]}]}.

        Parameters are numbered in group order, as PyTorch does; arrays are copies, saved with tc.save.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st is None:
                    continue
                state[index[id(p)]] = {k: self._saved_entry(k, v, p) for k, v in st.items() if not k.startswith("_")}
        return {"state": state, "param_groups": groups}

    def _saved_entry(self, key, value, p):
        if key == "step" or key in self._tensor_scalars:  # PyTorch's 0-d tensors (on the cpu)
            from ..tensor import tensor

            if isinstance(value, Tensor):
                return _make(value._data.copy(), value.device, False, None)
            return tensor(float(value), dtype=_scalar_dtype())
        return _make(value.copy(), p.device, False, None) if _is_array(value) else value

    def load_state_dict(self, state_dict):
        """Restore state_dict(): hyperparameters and per-parameter state, validated against the params.

        Raises StateDictError naming what does not fit: a state of another optimizer type, invalid
        hyperparameters, group count or sizes, array shapes. Nothing changes unless all of it fits.
        """
        from .state_dict import load_optimizer_state

        groups, state = load_optimizer_state(self, state_dict)
        for group, new in zip(self.param_groups, groups):
            group.update(new)
        self.state = state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


FLUSH_EVERY = 16  # steps between flushes of subnormal optimizer state (see flush_subnormals_)
_EXPONENT_BITS = {4: (0x7F800000, "int32"), 8: (0x7FF0000000000000, "int64")}


def flush_subnormals_(xp, a):
    """Set the subnormal elements of a float32/float64 array to 0, in place (integer ops only).

    # NOTE: arithmetic on subnormal floats (|x| < 1.2e-38 in float32) is 10-100x slower on x86
    # CPUs without flush-to-zero, which NumPy cannot turn on. Optimizer state that decays
    # geometrically passes through them: Adam's m for a weight whose gradient is exactly 0 (on
    # Fashion-MNIST, the weights of the always-black border pixels) is multiplied by beta1 every
    # step. Measured: one Adam update of a (64, 784) weight with a third of m subnormal takes
    # 950 us instead of 100 us. Zeroing them changes the update by less than 1e-30.
    """
    bits = _EXPONENT_BITS.get(a.dtype.itemsize) if a.dtype.kind == "f" else None
    if bits is None or not a.flags.c_contiguous:
        return a
    mask, int_type = bits
    as_int = a.view(int_type)
    exponent = xp.bitwise_and(as_int, mask)  # 0 exactly for zeros and subnormals
    xp.multiply(as_int, exponent != 0, out=as_int)
    return a


def new_step(n=0.0):
    """A parameter's step count as PyTorch keeps it in optimizer.state: a 0-d tensor on the cpu of PyTorch's
    scalar dtype (float64 under set_default_dtype(float64), else float32: exact to 2**24 steps);
    bump_step / step_of / set_step read and write it in place."""
    return _make(np.array(n, dtype=_scalar_dtype()), _cpu(), False, None)


def _scalar_dtype():
    from ..dtypes import get_default_dtype

    return np.float64 if get_default_dtype() == np.float64 else np.float32


def _cpu():
    import sys

    return sys.modules["tensorcore.device"].device("cpu")  # (tc.device, the function, shadows the module name)


def scalar_of(st, key):
    """A 0-d tensor entry of the state (NAdam's mu_product, ASGD's eta and mu) as a Python float."""
    v = st[key]
    return float(v._data) if isinstance(v, Tensor) else float(v)


def set_scalar(st, key, value):
    """Write a 0-d float32 state entry in place (PyTorch keeps these as float32 tensors and rounds to it)."""
    v = st.get(key)
    if isinstance(v, Tensor):
        v._data[...] = value
    else:
        st[key] = new_step(value)


def step_of(st):
    s = st["step"] if "step" in st else st.get("_step", 0)  # (SGD's private count)
    return int(s._data) if isinstance(s, Tensor) else int(s)


def set_step(st, n):
    s = st.get("step")
    if isinstance(s, Tensor):
        s._data[...] = n
    else:
        st["step"] = new_step(n)


def bump_step(st):
    n = step_of(st) + 1
    set_step(st, n)
    return n


def _is_array(v):
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, (int, float))


def _bias_corrections(beta1, beta2, step):
    return 1 - beta1**step, math.sqrt(1 - beta2**step)
