"""tensorcore.func: torch.func's function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap) and
functional_call / stack_module_state, on tensorcore's tape. See _transforms.py and _vmap.py for how."""

from ._module import functional_call, stack_module_state
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._vmap import vmap


def functionalize(func, *, remove="mutations"):
    """torch.func.functionalize: tensorcore runs eagerly with no graph to rewrite, so func comes back as is
    (its in-place ops keep their meaning)."""
    if remove not in ("mutations", "mutations_and_views"):
        from ..errors import ArgumentError

        raise ArgumentError(f"functionalize: remove must be 'mutations' or 'mutations_and_views', got {remove!r}")
    return func


__all__ = ["functional_call", "functionalize", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
           "linearize", "stack_module_state", "vjp", "vmap"]
