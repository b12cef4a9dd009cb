"""The op registry: every public differentiable op is registered once, by name.

The gradcheck sweep (`tensorcore gradcheck`, tests/test_gradcheck_sweep.py) runs the cases of
`ops/cases.py` for each registered op, and a test fails when an op has no case.
"""

OPS = {}


def register(name):
    """Decorator: record `fn` as the public differentiable op `name`."""

    def deco(fn):
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")
        OPS[name] = fn
        return fn

    return deco
