"""torch.autograd.forward_ad: dual_level, make_dual, unpack_dual (UnpackedDualTensor(primal, tangent)),
enter_dual_level / exit_dual_level.

tensorcore's engine is reverse-mode only, so tangents come from the double-vjp trick: make_dual gives a tensor
that records (requires_grad) and remembers its tangent t; unpack_dual(y) takes g(u) = J^T u, the vjp of y with a
fresh u, and then d(sum_i <g_i(u), t_i>) / du = J t, the tangent of y, for every op with a differentiable vjp
(elementwise, matmul, reductions, shape ops ...). Differences from torch, visible but not silent: a dual tensor
and what is computed from it report requires_grad=True (torch: False), and each unpack_dual costs two backward
passes instead of riding along the forward.
"""

from collections import namedtuple

from .errors import ArgumentError, DTypeError, GradientError, ShapeError
from .tensor import Tensor

UnpackedDualTensor = namedtuple("UnpackedDualTensor", "primal tangent")
UnpackedDualTensor.__module__ = "tensorcore.autograd.forward_ad"


class _Level:
    def __init__(self, index):
        self.index = index
        self.duals = []  # (dual tensor, tangent, whether the primal was recorded already)


_levels = []


def enter_dual_level():
    """Open the (single) forward-AD level and return its index, 0; a nested one raises as torch's does."""
    if _levels:
        raise GradientError("forward_ad.enter_dual_level: Nested forward mode AD is not supported at the moment")
    _levels.append(_Level(0))
    return 0


def exit_dual_level(*, level=None):
    """Close the level: its dual tensors lose their tangents."""
    if not _levels or (level is not None and level != _levels[-1].index):
        raise GradientError(f"forward_ad.exit_dual_level: no dual level {0 if level is None else level} is open")
    _levels.pop()


class dual_level:  # noqa: N801  (torch's name)
    """with dual_level(): ... make_dual / unpack_dual inside; the tangents go away on exit."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()


def _current(level, op):
    if not _levels:
        raise GradientError(f"forward_ad.{op}: Trying to create a dual Tensor for forward AD but no level exists, "
                            "make sure to enter_dual_level() first.")
    if level is not None and level != _levels[-1].index:
        raise GradientError(f"forward_ad.{op}: level {level} is not open (the open level is {_levels[-1].index})")
    return _levels[-1]


def make_dual(tensor, tangent, *, level=None):
    """A dual tensor: tensor's values, carrying tangent (same shape; cast to tensor's dtype, as torch's)."""
    lvl = _current(level, "make_dual")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise ArgumentError(f"forward_ad.make_dual: expected Tensors, got {type(tensor).__name__} and "
                            f"{type(tangent).__name__}")
    if tensor.dtype.kind not in "fV":
        raise DTypeError(f"forward_ad.make_dual: Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise ShapeError(f"forward_ad.make_dual: Trying to set a forward gradient that has a different size than "
                         f"that of the original Tensor, this is not supported. Tensor is of size "
                         f"{list(tensor.shape)} while the given forward gradient is of size {list(tangent.shape)}.")
    tangent = tangent.detach().to(dtype=tensor.dtype, device=tensor.device)
    if tensor.requires_grad:  # keep the reverse graph: the dual is a recorded alias of tensor
        dual, recorded = tensor.view_as(tensor), True
    else:
        dual, recorded = tensor.detach().requires_grad_(True), False
    lvl.duals.append((dual, tangent, recorded))
    return dual


def unpack_dual(tensor, *, level=None):
    """UnpackedDualTensor(primal, tangent): tangent is J t over the level's duals (None when tensor does not
    depend on any, or outside the level)."""
    from .engine import grad
    from .grad_mode import enable_grad

    if not isinstance(tensor, Tensor):
        raise ArgumentError(f"forward_ad.unpack_dual: expected a Tensor, got {type(tensor).__name__}")
    if not _levels or (level is not None and level != _levels[-1].index):
        return UnpackedDualTensor(tensor, None)
    lvl = _levels[-1]
    real_graph = any(recorded for _, _, recorded in lvl.duals)
    primal = tensor if real_graph else tensor.detach()
    for dual, tangent, _ in lvl.duals:
        if dual is tensor:
            return UnpackedDualTensor(primal, tangent)
    if not tensor.requires_grad or tensor.dtype.kind not in "fV" or not lvl.duals:
        return UnpackedDualTensor(primal, None)
    duals = [d for d, _, _ in lvl.duals]
    with enable_grad():
        u = (tensor.detach() * 0).requires_grad_(True)
        gs = grad(tensor, duals, grad_outputs=u, retain_graph=True, create_graph=True, allow_unused=True)
        terms = [(g * t).sum() for g, (_, t, _) in zip(gs, lvl.duals) if g is not None and g.requires_grad]
        if not terms:  # the vjps do not depend on u: y does not depend on the duals
            return UnpackedDualTensor(primal, None)
        (jvp,) = grad(sum(terms[1:], terms[0]), (u,), allow_unused=True)
    if jvp is None:
        jvp = tensor.detach() * 0
    return UnpackedDualTensor(primal, jvp.detach())


__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]
