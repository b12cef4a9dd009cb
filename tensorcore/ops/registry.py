"""The op registry: every public differentiable op is registered once, by name.

The gradcheck sweep (`tensorcore gradcheck`, tests/test_ops_sweep.py) runs the cases of
`tensorcore/testing/` for each registered op, and a test fails when an op has no case.

Registering also gives each public op one error boundary: a bare TypeError, ValueError, IndexError
or AttributeError escaping it (a junk argument reaching NumPy or Python) becomes a tensorcore error
that names the op. Errors tensorcore raises on purpose pass through unchanged.
"""

import functools

from ..amp import policy as amp_policy
from ..errors import ArgumentError, IndexingError, TensorcoreError

OPS = {}


def boundary_error(name, e):
    """A junk argument's raw Python or NumPy error, as the tensorcore error that names the op."""
    if isinstance(e, IndexError):
        return IndexingError(f"{name}: {e}")
    return ArgumentError(f"{name}: {e}")


BOUNDARY = (TypeError, ValueError, AttributeError, IndexError, OverflowError, ZeroDivisionError, NotImplementedError)


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


def register(name, method=False, has_boundary=False, lean=False):
    """Decorator: record `fn` as the public differentiable op `name` (and, with method=True, make it
    the Tensor method of that name; a string names the method differently). has_boundary=True: fn
    already turns raw errors into tensorcore errors itself (the declared ops, on their lean path).
    lean=True (the hottest ops, matmul and sum): fn is the public op as it stands; it handles its common
    call itself, outside autocast (`amp.policy.active` false), and hands every other call to a guard()ed
    function."""

    def deco(fn):
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")
        if lean:
            op = fn
        elif has_boundary:
            op = amp_policy.wrap(name, fn)  # unchanged unless autocast lists the op
        else:
            op = guard(name, fn)
        OPS[name] = op
        if method:
            from ..tensor import attach_method

            attach_method(method if isinstance(method, str) else name, op)
        return op

    return deco
