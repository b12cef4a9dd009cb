"""Rounding and division as PyTorch defines them: floor, ceil, round(decimals=), trunc, frac, sgn,
fmod, remainder, floor_divide. Integer inputs stay integers; the rounding ops' gradient is zero
(PyTorch's convention), frac's is one. div(rounding_mode=) is declared with div in arithmetic.py."""

import numpy as np

from ..errors import ArgumentError, DTypeError
from .declare import binary, refuse_result, refusing, unary


def refuse(op, x, kinds="b"):
    """PyTorch has no kernel of `op` for these dtype kinds (floor of a bool, frac of an integer): a TypeError,
    which the op's boundary names as a DTypeError."""
    if x.dtype.kind in kinds:
        raise TypeError(f"not implemented for {x.dtype} tensors (as in PyTorch)")


def _rounding(name, fn, doc):
    def forward(xp, x):
        refuse(name, x)
        return fn(xp, x) if x.dtype.kind in "fV" else x.copy()

    return unary(name, forward=forward, vjp=lambda g: g * 0.0, doc=doc)


floor = _rounding("floor", lambda xp, x: xp.floor(x), "The largest integer <= x (integer tensors unchanged).")
ceil = _rounding("ceil", lambda xp, x: xp.ceil(x), "The smallest integer >= x.")
trunc = _rounding("trunc", lambda xp, x: xp.trunc(x), "x rounded towards 0.")
fix = _rounding("fix", lambda xp, x: xp.trunc(x), "x rounded towards 0 (trunc).")


def _round(xp, x, decimals):
    refuse("round", x)
    if x.dtype.kind not in "fV":
        if decimals != 0:
            raise ArgumentError(f"round: decimals={decimals} is only supported for floating tensors")
        return x.copy()
    # NOTE: halves go to the even neighbour (round-half-even), as in PyTorch.
    return xp.round(x, decimals)


def _check_round(decimals):
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise ArgumentError(f"round: decimals must be an int, got {decimals!r}")


round = unary("round", forward=_round, params={"decimals": 0}, check=_check_round, vjp=lambda g, **_: g * 0.0,
              doc="x rounded to `decimals` places (halves to even).")
def _frac(xp, x):
    refuse("frac", x, "biu")
    return x - xp.trunc(x)


frac = unary("frac", forward=_frac, vjp=lambda g: g, doc="x - trunc(x).")


def _sgn(xp, x):
    from .compare import _sign

    return _sign(xp, x)


sgn = unary("sgn", forward=_sgn, vjp=lambda g: g * 0.0, doc="The sign of x (sign, for real tensors).")


def _int_zero_check(xp, x, y, op):
    """Integer division by zero raises (as PyTorch's); a float x divided by an integer or bool zero gives inf/nan."""
    kind = getattr(y, "dtype", np.dtype(type(y))).kind
    if getattr(x, "dtype", np.dtype(type(x))).kind in "fcV" or getattr(x, "size", 1) == 0:
        return  # (an empty x: an empty result, nothing divided)
    if kind in "iub" and bool((y == 0).any() if hasattr(y, "any") else y == 0):
        raise ZeroDivisionError(f"{op}: integer division by zero")


def _fmod(xp, x, y):
    _int_zero_check(xp, x, y, "fmod")
    return xp.fmod(x, y)


def _remainder(xp, x, y):
    _int_zero_check(xp, x, y, "remainder")
    return xp.remainder(x, y)


def _floor_divide(xp, x, y):
    _int_zero_check(xp, x, y, "floor_divide")
    return xp.floor_divide(x, y)


fmod = binary("fmod", forward=refusing("fmod", "b", _fmod), refuse=refuse_result("fmod", "b"),
              vjp=(lambda g: g, lambda g, x, y: -g * (x / y).trunc()),
              doc="x - trunc(x / y) * y: the remainder with the sign of x (C's fmod).")
remainder = binary("remainder", forward=refusing("remainder", "b", _remainder), refuse=refuse_result("remainder", "b"),
                   vjp=(lambda g: g, lambda g, x, y: -g * (x / y).floor()),
                   doc="x - floor(x / y) * y: the remainder with the sign of y (Python's %).")
floor_divide = binary("floor_divide", forward=refusing("floor_divide", "b", _floor_divide),
                      refuse=refuse_result("floor_divide", "b"), vjp=(None, None),
                      doc="floor(x / y) (Python's //).")


def divide_rounded(xp, x, y, rounding_mode=None):
    """x / y for div(): true division, or rounded towards zero ('trunc') or down ('floor')."""
    if rounding_mode is None:
        return x / y
    if all(v.dtype.kind == "b" if hasattr(v, "dtype") else isinstance(v, bool) for v in (x, y)):
        raise DTypeError(f"div: rounding_mode={rounding_mode!r} is not implemented for bools, as in PyTorch")
    _int_zero_check(xp, x, y, "div")
    if rounding_mode == "floor":
        return xp.floor_divide(x, y)
    if getattr(x, "dtype", np.dtype(type(x))).kind in "iub" and getattr(y, "dtype", np.dtype(type(y))).kind in "iub":
        return (x - xp.fmod(x, y)) // y  # exact integer division towards zero
    return xp.trunc(x / y)


def check_rounding_mode(rounding_mode=None):
    if rounding_mode not in (None, "trunc", "floor"):
        raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
