"""Bitwise ops on bool and integer tensors (PyTorch's names): bitwise_and/or/xor/not, the shifts, and
the Python operators &, |, ^, ~, <<, >> on tensors. Floating operands raise DTypeError."""

import numpy as np

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make
from .declare import binary, refuse_result, refusing, unary


def _integral(name, *arrays):
    for a in arrays:
        kind = a.dtype.kind if hasattr(a, "dtype") else ("b" if isinstance(a, bool) else "i" if isinstance(a, int)
                                                          else "f")
        if kind not in "biu":
            raise DTypeError(f"{name}: expected bool or integer tensors, got {getattr(a, 'dtype', type(a).__name__)}")


def _bitwise(name, fn, doc, kinds=""):
    def forward(xp, x, y):
        _integral(name, x, y)
        return fn(xp, x, y)

    if kinds:  # the shifts: PyTorch has no kernel for bools
        return binary(name, forward=refusing(name, kinds, forward), vjp=(None, None), doc=doc,
                      refuse=refuse_result(name, kinds))
    return binary(name, forward=forward, vjp=(None, None), doc=doc)


bitwise_and = _bitwise("bitwise_and", lambda xp, x, y: xp.bitwise_and(x, y), "x & y, bit by bit (and for bools).")
bitwise_or = _bitwise("bitwise_or", lambda xp, x, y: xp.bitwise_or(x, y), "x | y, bit by bit.")
bitwise_xor = _bitwise("bitwise_xor", lambda xp, x, y: xp.bitwise_xor(x, y), "x ^ y, bit by bit.")
bitwise_left_shift = _bitwise("bitwise_left_shift", lambda xp, x, y: xp.left_shift(x, y), "x << y.", "b")
bitwise_right_shift = _bitwise("bitwise_right_shift", lambda xp, x, y: xp.right_shift(x, y),
                               "x >> y (arithmetic: the sign bit is kept).", "b")


def _not(xp, x):
    _integral("bitwise_not", x)
    return ~x


bitwise_not = unary("bitwise_not", forward=_not, vjp=None, doc="~x: not for bools, the bits flipped for integers.")


def _attach():
    for op, fn in (("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor), ("lshift", bitwise_left_shift),
                   ("rshift", bitwise_right_shift)):
        setattr(Tensor, f"__{op}__", fn)
        setattr(Tensor, f"__r{op}__", lambda self, other, fn=fn: fn(other, self))
        setattr(Tensor, f"__i{op}__", lambda self, other, fn=fn: self._inplace(fn.__name__ + "_", fn(self, other)))
    Tensor.__invert__ = bitwise_not


_attach()


def _same_dtype(op, x, y):
    if isinstance(y, Tensor) and x.dtype != y.dtype:
        raise DTypeError(f"{op}: input ({x.dtype}) and other ({y.dtype}) must have the same dtype")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other|, elementwise (a bool tensor); NaNs equal only with equal_nan."""
    from .declare import operand

    _same_dtype("isclose", input, other)
    b = other._data if isinstance(other, Tensor) else operand(other, input)
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(getattr(b, "shape", ())))
    except ValueError:
        raise ShapeError(f"isclose: shapes {tuple(input.shape)} and {tuple(getattr(b, 'shape', ()))} cannot be "
                         "broadcast together") from None
    xp = input.device.backend.xp
    return _make(xp.isclose(input._data, b, rtol=rtol, atol=atol, equal_nan=bool(equal_nan)), input.device, False,
                 None)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when isclose holds everywhere (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other):
    """True when input and other have the same shape and the same values (a Python bool)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise DTypeError("equal: expected two Tensors")
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool((input._data == other._data).all())


for _fn in (isclose, allclose, equal):
    setattr(Tensor, _fn.__name__, _fn)

