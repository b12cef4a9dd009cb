"""The op registry: every public differentiable op is registered once, by name.

The gradcheck sweep (`tensorcore gradcheck`, tests/test_ops_sweep.py) runs the cases of
`tensorcore/testing/` for each registered op, and a test fails when an op has no case.

Registering also gives each public op one error boundary: a bare TypeError, ValueError, IndexError
or AttributeError escaping it (a junk argument reaching NumPy or Python) becomes a tensorcore error
that names the op, and NumPy's refusal to allocate a result (MemoryError) an OutOfMemoryError.
Errors tensorcore raises on purpose pass through unchanged.
"""

import functools
import math

from ..amp import policy as amp_policy
from ..errors import ArgumentError, IndexingError, OutOfMemoryError, TensorcoreError

OPS = {}


def boundary_error(name, e):
    """A junk argument's raw Python or NumPy error, as the tensorcore error that names the op."""
    message = str(e) if str(e).startswith(f"{name}: ") else f"{name}: {e}"  # (named once)
    if isinstance(e, IndexError):
        return IndexingError(message)
    if isinstance(e, MemoryError):  # NumPy refused the allocation (its error carries the shape and dtype)
        shape, dtype = getattr(e, "shape", None), getattr(e, "dtype", None)
        if shape is not None and dtype is not None:
            size = math.prod(shape) * dtype.itemsize / 2**30
            return OutOfMemoryError(f"{name}: a result of shape {tuple(shape)} ({dtype}) needs {size:.3g} GiB, "
                                    "more than can be allocated")
        return OutOfMemoryError(f"{name}: out of memory ({e})")
    return ArgumentError(message)


BOUNDARY = (TypeError, ValueError, AttributeError, IndexError, OverflowError, ZeroDivisionError, NotImplementedError,
            MemoryError)


def guard(name, fn):
    """`fn` behind the op's error boundary and, for an op autocast lists, its one check of `active`."""
    if name in amp_policy.NAMES:
        policy = amp_policy

        @functools.wraps(fn)
        def op(*args, **kwargs):
            try:
                if policy.active:
                    return policy.dispatch(name, fn, args, kwargs)
                return fn(*args, **kwargs)
            except TensorcoreError:
                raise
            except BOUNDARY as e:
                raise boundary_error(name, e) from e
    else:
        @functools.wraps(fn)
        def op(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except TensorcoreError:
                raise
            except BOUNDARY as e:
                raise boundary_error(name, e) from e
    return op


def register(name, method=False, lean=False):
    """Decorator: record `fn` as the public differentiable op `name` (and, with method=True, make it
    the Tensor method of that name; a string names the method differently). lean=True (the declared ops
    of declare.py, matmul and sum): fn is the public op as it stands; it is its own error boundary and
    autocast check (`amp.policy.active`), so the hot call pays no wrapper."""

    def deco(fn):
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")
        op = fn if lean else guard(name, fn)
        OPS[name] = op
        if method:
            from ..tensor import attach_method

            attach_method(method if isinstance(method, str) else name, op)
        return op

    return deco
