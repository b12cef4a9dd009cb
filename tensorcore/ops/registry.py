"""The op registry: every public differentiable op is registered once, by name.

The gradcheck sweep (`tensorcore gradcheck`, tests/test_ops_sweep.py) runs the cases of
`tensorcore/testing/` for each registered op, and a test fails when an op has no case.

Registering also gives each public op one error boundary: a bare TypeError, ValueError, IndexError
or AttributeError escaping it (a junk argument reaching NumPy or Python) becomes a tensorcore error
that names the op. Errors tensorcore raises on purpose pass through unchanged.
"""

import functools

from ..errors import ArgumentError, IndexingError, TensorcoreError

OPS = {}


def register(name, method=False):
    """Decorator: record `fn` as the public differentiable op `name` (and, with method=True, make it
    the Tensor method of that name; a string names the method differently)."""

    def deco(fn):
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")

        @functools.wraps(fn)
        def op(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except TensorcoreError:
                raise
            except IndexError as e:
                raise IndexingError(f"{name}: {e}") from e
            except (TypeError, ValueError, AttributeError) as e:
                raise ArgumentError(f"{name}: {e}") from e

        OPS[name] = op
        if method:
            from ..tensor import attach_method

            attach_method(method if isinstance(method, str) else name, op)
        return op

    return deco
