"""Elementwise math of two tensors as PyTorch defines it: atan2, hypot, logaddexp(2), copysign, fmax,
fmin, xlogy, float_power, heaviside, nextafter, lerp. One declaration each (see declare.py)."""

import math

import numpy as np

from ..tensor import Tensor
from .activations import sigmoid
from .compare import where
from .declare import binary, operand, refuse_result, refusing
from .registry import register
from .unary import log
from .unary_math import exp2

_LN2 = math.log(2.0)

def _atan2_denominator(x, y):
    """x^2 + y^2, inf at the origin: atan2's gradient there is 0, as PyTorch's (not 0/0)."""
    from .compare import where

    d = x * x + y * y
    return where(d == 0, math.inf, d)


atan2 = binary("atan2", forward=lambda xp, x, y: xp.arctan2(x, y), floating=True,
               vjp=(lambda g, x, y: g * y / _atan2_denominator(x, y),
                    lambda g, x, y: -g * x / _atan2_denominator(x, y)),
               doc="The angle of the point (y=other... x=input over other): atan(input / other) in (-pi, pi].")
hypot = binary("hypot", forward=lambda xp, x, y: xp.hypot(x, y), floating=True, refuse=refuse_result("hypot", "biu"),
               vjp=(lambda g, x, out: g * x / out, lambda g, y, out: g * y / out),
               doc="sqrt(x^2 + y^2), without overflow.")
logaddexp = binary("logaddexp", forward=lambda xp, x, y: xp.logaddexp(x, y), floating=True,
                   refuse=refuse_result("logaddexp", "biu"),
                   vjp=(lambda g, x, y: g * sigmoid(x - y), lambda g, x, y: g * sigmoid(y - x)),
                   doc="log(exp(x) + exp(y)), without overflow.")
logaddexp2 = binary("logaddexp2", forward=lambda xp, x, y: xp.logaddexp2(x, y), floating=True,
                    refuse=refuse_result("logaddexp2", "biu"),
                    vjp=(lambda g, x, y: g * sigmoid((x - y) * _LN2), lambda g, x, y: g * sigmoid((y - x) * _LN2)),
                    doc="log2(2^x + 2^y), without overflow.")
# NOTE: d copysign(x, y)/dx = copysign(x, y) / x (0 at x = 0), and PyTorch gives y no gradient (zeros).
copysign = binary("copysign", forward=lambda xp, x, y: xp.copysign(x, y), floating=True,
                  vjp=(lambda g, x, out: where(x == 0, 0.0, g * out / where(x == 0, 1.0, x)), lambda g: g * 0.0),
                  doc="|x| with the sign of y.")


def _f_grad(g, x, y, first):
    wins = (x >= y) | y.isnan()  # NOTE: fmax/fmin give a tie's whole gradient to x, as PyTorch does
    return g * wins if first else g * ~wins


def _fmin_wins(x, y):
    return (x <= y) | y.isnan()


fmax = binary("fmax", forward=lambda xp, x, y: xp.fmax(x, y),
              vjp=(lambda g, x, y: _f_grad(g, x, y, True), lambda g, x, y: _f_grad(g, x, y, False)),
              doc="The elementwise max, ignoring NaN (NaN only where both are NaN).")
fmin = binary("fmin", forward=lambda xp, x, y: xp.fmin(x, y),
              vjp=(lambda g, x, y: g * _fmin_wins(x, y), lambda g, x, y: g * ~_fmin_wins(x, y)),
              doc="The elementwise min, ignoring NaN.")


def _xlogy(xp, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where((x == 0) & ~xp.isnan(y), 0.0, x * xp.log(y)).astype(xp.result_type(x, y), copy=False)


xlogy = binary("xlogy", forward=_xlogy, floating=True,
               vjp=(lambda g, x, y: where((x == 0) & (y <= 0), 0.0, g * log(y)), lambda g, x, y: g * x / y),
               doc="x * log(y), 0 where x == 0 (unless y is NaN).")


def _float_power(xp, x, y):
    return xp.power(xp.asarray(x, dtype=np.float64), xp.asarray(y, dtype=np.float64))


def _float_power_grad_y(g, x, out):
    if not isinstance(x, Tensor):
        return g * out * (math.log(x) if x > 0 else 0.0)
    x = x.double()
    return g * out * log(where(x > 0, x, 1.0)) * (x > 0)


def _float_power_grad_x(g, x, y):
    if not isinstance(x, Tensor):
        return None
    y = y.double() if isinstance(y, Tensor) else y  # (an integer or bool y: y - 1 in float64)
    return g * y * x.double() ** (y - 1)


float_power = binary("float_power", forward=_float_power, promote=False, vjp=(_float_power_grad_x, _float_power_grad_y),
                     doc="x ** y computed in float64 (the result is float64).")


def _same_dtypes(x, y):
    from ..errors import DTypeError

    if getattr(x, "dtype", None) != getattr(y, "dtype", None):
        raise DTypeError(f"heaviside: input ({getattr(x, 'dtype', type(x).__name__)}) and values "
                         f"({getattr(y, 'dtype', type(y).__name__)}) must have the same dtype, as in PyTorch")


heaviside = binary("heaviside", forward=lambda xp, x, y: xp.where(x == 0, y, x > 0).astype(xp.result_type(x, y)),
                   refuse=_same_dtypes,
                   vjp=(None, None), doc="0 where x < 0, values where x == 0, 1 where x > 0.")
nextafter = binary("nextafter", forward=refusing("nextafter", "biu", lambda xp, x, y: xp.nextafter(x, y)),
                   refuse=refuse_result("nextafter", "biu"), vjp=(lambda g: g, lambda g: g * 0.0),
                   doc="The next float after x towards y.")


@register("lerp", method=True)
def lerp(input, end, weight):
    """input + weight * (end - input) (PyTorch's form: end - (end - input) * (1 - weight) where weight >= 0.5)."""
    from ..errors import DTypeError

    if not isinstance(end, Tensor):
        end = operand(end, input)
    if isinstance(input, Tensor):  # PyTorch's checks: a floating input, end of its dtype, a weight too unless 0-d
        if input.dtype.kind not in "fV":
            raise DTypeError(f"lerp: not implemented for {input.dtype} tensors; the input must be floating")
        for what, t in (("end", end), ("weight", weight)):
            if isinstance(t, Tensor) and t.dtype != input.dtype and (what == "end" or t.ndim > 0):
                raise DTypeError(f"lerp: expected dtype {input.dtype} for `{what}` but got {t.dtype}")
    diff = end - input
    if isinstance(weight, Tensor):
        return where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight))
    return input + diff * weight if abs(weight) < 0.5 else end - diff * (1 - weight)


def _attach():
    Tensor.lerp_ = lambda self, end, weight: self._inplace("lerp_", lerp(self, end, weight))
    Tensor.arctan2 = atan2


_attach()


@register("addcmul", method=True)
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, in the result type of all three (PyTorch's promotion)."""
    input, tensor1, tensor2 = _common(input, tensor1, tensor2)
    return input + tensor1 * tensor2 * value if value != 1 else input + tensor1 * tensor2


def _common(*values):
    """Tensor operands cast to their joint result type (addcmul and addcdiv promote all three at once)."""
    from .declare import result_dtype_of

    dt = result_dtype_of(*values)
    return tuple(v.to(dt) if isinstance(v, Tensor) and v.dtype != dt else v for v in values)


@register("addcdiv", method=True)
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2 (integer tensor1 / tensor2 are refused, as PyTorch refuses them)."""
    from ..errors import DTypeError

    if all(isinstance(t, Tensor) and t.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise DTypeError("addcdiv: integer division of tensor1 by tensor2 is not supported; use floating tensors")
    input, tensor1, tensor2 = _common(input, tensor1, tensor2)
    return input + tensor1 / tensor2 * value if value != 1 else input + tensor1 / tensor2


ldexp = binary("ldexp", forward=lambda xp, x, y: x * xp.exp2(y), floating=True,
               vjp=(lambda g, y: g * exp2(y), lambda g, out: g * out * _LN2), doc="x * 2 ** y.")


def _int_only(op, *arrays):
    from ..errors import DTypeError

    for a in arrays:
        if getattr(a, "dtype", np.dtype(type(a))).kind not in "iub":
            raise DTypeError(f"{op}: expected integer tensors, got {getattr(a, 'dtype', type(a).__name__)}")


def _gcd(xp, x, y):
    _int_only("gcd", x, y)
    return xp.gcd(x, y)


def _lcm(xp, x, y):
    _int_only("lcm", x, y)
    return xp.lcm(x, y)


gcd = binary("gcd", forward=_gcd, vjp=(None, None), doc="The greatest common divisor (integers).")
lcm = binary("lcm", forward=_lcm, vjp=(None, None), doc="The least common multiple (integers).")


def _attach_aliases():
    Tensor.__mod__ = lambda self, other: remainder(self, other)
    Tensor.__rmod__ = lambda self, other: remainder(other, self)
    Tensor.__imod__ = lambda self, other: self._inplace("remainder_", remainder(self, other))
    Tensor.__floordiv__ = lambda self, other: floor_divide(self, other)
    Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
    Tensor.__ifloordiv__ = lambda self, other: self._inplace("floor_divide_", floor_divide(self, other))


from .rounding import floor_divide, remainder  # noqa: E402

_attach_aliases()
