"""Optimizer.load_state_dict's checks: the state belongs to this optimizer's type, fits its parameters
and holds valid hyperparameters. Nothing changes unless all of it fits; otherwise StateDictError names
every problem (SGD.load_state_dict(adam_state): "... lacks hyperparameters dampening, momentum, nesterov").
"""

import numpy as np

from .. import _validate as check
from ..errors import TensorcoreError
from ..tensor import Tensor


def load_optimizer_state(opt, state_dict):
    """Validate state_dict against `opt`; returns (new param groups, new state) for opt to install."""
    from ..serialization import StateDictError

    name = f"{type(opt).__name__}.load_state_dict"

    def fail(problem):
        raise StateDictError(f"{name}: {problem}")

    if not (isinstance(state_dict, dict) and isinstance(state_dict.get("state"), dict)
            and isinstance(state_dict.get("param_groups"), (list, tuple))):
        fail("expected a dict with 'state' (a dict) and 'param_groups' (a list), as state_dict() returns")
    saved_groups = state_dict["param_groups"]
    if len(saved_groups) != len(opt.param_groups):
        fail(f"the state has {len(saved_groups)} parameter groups, this optimizer has {len(opt.param_groups)}")
    groups = [_group(opt, gi, saved, group, fail) for gi, (saved, group) in enumerate(zip(saved_groups,
                                                                                           opt.param_groups))]
    problems = []
    index_to_param = {}
    for gi, (saved, group) in enumerate(zip(saved_groups, groups)):
        if len(saved["params"]) != len(group["params"]):
            problems.append(f"group {gi} has {len(saved['params'])} parameters in the state, "
                            f"{len(group['params'])} here")
            continue
        index_to_param.update(zip(saved["params"], zip(group["params"], [group] * len(group["params"]))))
    state = {}
    for idx, saved_state in state_dict["state"].items():
        key = int(idx) if isinstance(idx, str) and idx.isdigit() else idx
        found = index_to_param.get(key) if _is_int(key) else None
        if found is None:
            problems.append(f"state for parameter {idx!r}, which is in no group")
            continue
        p, group = found
        entry = _param_state(opt, key, saved_state, p, group, problems)
        if entry is not None:
            state[p] = entry
    if problems:
        fail("the state does not fit this optimizer's parameters:\n  " + "\n  ".join(problems))
    return groups, state


def _scalar(v):
    """A 0-d tensor or array (PyTorch's step, mu_product ...) -> its Python number; an integral float -> int."""
    if isinstance(v, (Tensor, np.ndarray, np.generic)) and getattr(v, "ndim", 0) == 0 and hasattr(v, "item"):
        v = v.item()
    elif hasattr(v, "item") and hasattr(v, "dim") and v.dim() == 0:  # a torch tensor
        v = v.item()
    return v


def _foreign_tensor(v):
    return all(hasattr(v, a) for a in ("detach", "cpu", "numpy", "shape", "dtype"))


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _group(opt, gi, saved, group, fail):
    """The param group with the saved hyperparameters, checked as the constructor checks them."""
    from .optimizer import SCHEDULER_KEYS, OptimizerError

    if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)) \
            or not all(_is_int(i) for i in saved["params"]):
        fail(f"param group {gi} is not a dict with a 'params' list of parameter indices")
    keys = set(saved) - {"params"}
    missing = sorted(set(opt.defaults) - keys)
    unknown = sorted(keys - set(opt.defaults) - SCHEDULER_KEYS)
    if missing or unknown:
        what = [f"lacks hyperparameters {', '.join(missing)}"] if missing else []
        what += [f"has hyperparameters {', '.join(map(str, unknown))} that it does not take"] if unknown else []
        fail(f"param group {gi} is not a state of {type(opt).__name__}: it {' and '.join(what)} "
             "(a state saved from another optimizer?)")
    new = dict(group)
    for k, v in saved.items():
        if k != "params":
            new[k] = tuple(v) if isinstance(v, list) and k == "betas" else v
    try:
        opt._check_group(new)
        for k in SCHEDULER_KEYS & keys:
            check.number(new[k], k, type(opt).__name__, low=0, error=OptimizerError)
    except TensorcoreError as e:
        fail(f"param group {gi}: {e}")
    return new


def _param_state(opt, key, saved, p, group, problems):
    """One parameter's state: the keys this optimizer keeps, arrays of the parameter's shape, an int step."""
    where = f"state[{key}]"
    if not isinstance(saved, dict):
        problems.append(f"{where} is a {type(saved).__name__}, not a dict")
        return None
    allowed = {"step", *opt._array_state, *getattr(opt, "_scalar_state", ())}
    unknown = sorted(map(str, set(saved) - allowed)) if opt._array_state else []
    if unknown:
        problems.append(f"{where} has entries {', '.join(unknown)} that {type(opt).__name__} does not keep "
                        "(a state saved from another optimizer?)")
        return None
    entry = dict(opt._init_state(p, group)) if opt._array_state else {}
    lacking = sorted(k for k in entry if k not in saved and k != "step" and not k.startswith("_"))
    if lacking:
        problems.append(f"{where} lacks {', '.join(lacking)}")
    for k, v in saved.items():
        if k == "step" or k in getattr(opt, "_tensor_scalars", ()):
            v = _scalar(v)  # PyTorch's state: a 0-d tensor
        if k == "step" and isinstance(v, float) and v.is_integer():
            v = int(v)
        if k == "step":
            if not _is_int(v) or v < 0:
                problems.append(f"{where}['step'] must be an int >= 0 (or a 0-d tensor of one), got {v!r:.40}")
            entry[k] = int(v) if _is_int(v) else v
        elif k in opt._array_state and v is None:
            entry[k] = None if k not in entry else entry[k]
        elif isinstance(v, (Tensor, np.ndarray)) or _foreign_tensor(v):
            array = v.numpy() if isinstance(v, Tensor) else v if isinstance(v, np.ndarray) else \
                np.asarray(v.detach().cpu().numpy())  # a torch.Tensor (a state dict saved by PyTorch)
            if k in opt._array_state and tuple(array.shape) != tuple(p.shape):
                problems.append(f"{where}[{k!r}] has shape {tuple(array.shape)}, the parameter has shape "
                                f"{tuple(p.shape)}")
                continue
            if k in opt._array_state and array.dtype.kind not in "fV":
                problems.append(f"{where}[{k!r}] has dtype {array.dtype}, expected a floating array")
                continue
            array = np.ascontiguousarray(array, dtype=p.dtype if array.dtype.kind in "fV" else array.dtype)
            entry[k] = p.device.backend.from_host(array)  # always a copy: the state never aliases the input
        elif k in opt._array_state:
            problems.append(f"{where}[{k!r}] is a {type(v).__name__}, expected an array")
        else:
            entry[k] = v.item() if isinstance(v, np.generic) else v
    from .optimizer import new_step

    for k in ("step", *getattr(opt, "_tensor_scalars", ())):  # kept as PyTorch keeps them: 0-d float32 tensors
        if k in entry and isinstance(entry[k], (int, float)) and not isinstance(entry[k], bool):
            entry[k] = new_step(entry[k])
    return entry
