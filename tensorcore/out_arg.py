"""torch's `out=` argument on the top-level functions that programs call with it (the Tensors tutorial's
torch.matmul(t, t.T, out=y3) and torch.mul(t, t, out=z3), the 60-minute blitz's torch.add(x, y, out=result)).

The result is computed as usual, then written into `out`, which is returned: resized when its shape differs
(with PyTorch's UserWarning when it had elements), cast when the result's dtype category fits out's (bool <
integer < floating; the products ask for out's dtype exactly, as PyTorch's do), and refused, as PyTorch refuses
it, when an argument requires grad while grad mode is on (out= is not differentiable).
"""

import functools
import warnings

from .errors import ArgumentError, DTypeError

# name -> the dtype rule: "cast" (the result's category must fit out's) or "exact" (out's dtype, as torch's products)
OUT_FUNCTIONS = {
    "matmul": "exact", "mm": "exact", "bmm": "exact",
    "add": "cast", "sub": "cast", "subtract": "cast", "mul": "cast", "multiply": "cast", "div": "cast",
    "divide": "cast", "true_divide": "cast", "pow": "cast", "neg": "cast", "abs": "cast", "exp": "cast",
    "log": "cast", "sqrt": "cast", "sin": "cast", "cos": "cast", "tanh": "cast", "sigmoid": "cast",
    "clamp": "cast", "maximum": "cast", "minimum": "cast", "cat": "cast", "concat": "cast", "stack": "cast",
}
_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2}  # (bfloat16 is an ml_dtypes 'V' kind)


def _requires_grad(values):
    from .tensor import Tensor

    for v in values:
        if isinstance(v, Tensor) and v.requires_grad:
            return True
        if isinstance(v, (list, tuple)) and _requires_grad(v):
            return True
    return False


def _write(name, rule, result, out):
    from .grad_mode import no_grad
    from .tensor import Tensor

    if not isinstance(out, Tensor):
        raise ArgumentError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if rule == "exact" and out.dtype != result.dtype:
        raise DTypeError(f"{name}(): expected out tensor to have dtype {result.dtype}, but got {out.dtype} instead")
    if _RANK[result.dtype.kind] > _RANK[out.dtype.kind]:
        raise DTypeError(f"{name}(): result type {result.dtype} can't be cast to the desired output type {out.dtype}")
    if out.requires_grad:
        raise ArgumentError(f"{name}(): functions with out=... arguments don't support automatic "
                            "differentiation, but one of the arguments requires grad.")
    if tuple(out.shape) != tuple(result.shape):
        if out.numel():
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                          f"which does not match the required output shape {list(result.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they "
                          "have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, "
                          "to zero elements with t.resize_(0).", UserWarning, stacklevel=3)
        out.resize_(*result.shape)
    with no_grad():
        out.copy_(result)
    return out


def call_with_out(name, fn, args, kwargs, rule="cast"):
    """fn(*args, **kwargs) with its `out=` keyword: the result written into out (the declared elementwise ops call
    this from their keyword path, so their plain call pays nothing for it)."""
    kwargs = dict(kwargs)
    out = kwargs.pop("out", None)
    if out is None:
        return fn(*args, **kwargs)
    from . import grad_mode

    if grad_mode.is_grad_enabled() and _requires_grad(list(args) + list(kwargs.values())):
        raise ArgumentError(f"{name}(): functions with out=... arguments don't support automatic "
                            "differentiation, but one of the arguments requires grad.")
    return _write(name, rule, fn(*args, **kwargs), out)


def with_out(name, fn, rule):
    """fn with an `out=` keyword (fn itself is called as before when out is None)."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if not kwargs:  # the common call: one test more than fn's own
            return fn(*args)
        return call_with_out(name, fn, args, kwargs, rule)

    op.__wrapped_without_out__ = fn
    return op


def install(namespace):
    """Give the namespace's (tensorcore's) functions of OUT_FUNCTIONS their out= keyword; an alias of one
    (tc.clip of tc.clamp, tc.multiply of tc.mul ...) gets the same wrapper, so `tc.clip is tc.clamp` still holds."""
    wrapped = {}
    for name, rule in OUT_FUNCTIONS.items():
        fn = namespace.get(name)
        if hasattr(fn, "Function"):  # a declared op (ops/declare.py): it takes out= itself, at no cost to its calls
            continue
        if callable(fn) and not hasattr(fn, "__wrapped_without_out__") and id(fn) not in wrapped:
            wrapped[id(fn)] = with_out(name, fn, rule)
    for name, value in list(namespace.items()):
        if id(value) in wrapped and not name.startswith("__"):
            namespace[name] = wrapped[id(value)]
