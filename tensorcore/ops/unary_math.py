"""More unary math as PyTorch defines it: square, rsqrt, reciprocal, expm1, exp2, log2, log10, the trig
and hyperbolic functions and their inverses, sinc, logit, deg2rad, nan_to_num and the float tests
(isnan, isinf, ...). One declaration each (see declare.py); integer inputs give the default float
where PyTorch's do."""

import math

from ..tensor import Tensor
from .declare import unary
from .unary import cos, sin, sqrt

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _square(xp, x):
    return x * x if x.dtype.kind != "b" else x.astype("int64")  # bool ** 2 is int64 in PyTorch


square = unary("square", forward=_square, vjp=lambda g, x: g * x * 2, doc="x * x.")
rsqrt = unary("rsqrt", forward=lambda xp, x: 1 / xp.sqrt(x), vjp=lambda g, out: g * out * out * out * -0.5,
              floating=True, doc="1 / sqrt(x).")
reciprocal = unary("reciprocal", forward=lambda xp, x: 1 / x, vjp=lambda g, out: -g * out * out, floating=True,
                   doc="1 / x.")
expm1 = unary("expm1", forward=lambda xp, x: xp.expm1(x), vjp=lambda g, out: g * (out + 1), floating=True,
              doc="exp(x) - 1, accurate for small x.")
exp2 = unary("exp2", forward=lambda xp, x: xp.exp2(x), vjp=lambda g, out: g * out * _LN2, floating=True,
             doc="2 ** x.")
log2 = unary("log2", forward=lambda xp, x: xp.log2(x), vjp=lambda g, x: g / (x * _LN2), floating=True,
             doc="The base-2 logarithm.")
log10 = unary("log10", forward=lambda xp, x: xp.log10(x), vjp=lambda g, x: g / (x * _LN10), floating=True,
              doc="The base-10 logarithm.")
tan = unary("tan", forward=lambda xp, x: xp.tan(x), vjp=lambda g, out: g * (out * out + 1), floating=True,
            doc="tan(x).")
sinh = unary("sinh", forward=lambda xp, x: xp.sinh(x), vjp=lambda g, x: g * cosh(x), floating=True, doc="sinh(x).")
cosh = unary("cosh", forward=lambda xp, x: xp.cosh(x), vjp=lambda g, x: g * sinh(x), floating=True, doc="cosh(x).")
asin = unary("asin", forward=lambda xp, x: xp.arcsin(x), vjp=lambda g, x: g / sqrt(1 - x * x), floating=True,
             doc="arcsin(x), in [-pi/2, pi/2].")
acos = unary("acos", forward=lambda xp, x: xp.arccos(x), vjp=lambda g, x: -g / sqrt(1 - x * x), floating=True,
             doc="arccos(x), in [0, pi].")
atan = unary("atan", forward=lambda xp, x: xp.arctan(x), vjp=lambda g, x: g / (x * x + 1), floating=True,
             doc="arctan(x).")
asinh = unary("asinh", forward=lambda xp, x: xp.arcsinh(x), vjp=lambda g, x: g / sqrt(x * x + 1), floating=True,
              doc="arsinh(x) = log(x + sqrt(x^2 + 1)).")
acosh = unary("acosh", forward=lambda xp, x: xp.arccosh(x), vjp=lambda g, x: g / sqrt((x - 1) * (x + 1)),
              floating=True, doc="arcosh(x) (x >= 1).")
atanh = unary("atanh", forward=lambda xp, x: xp.arctanh(x), vjp=lambda g, x: g / (1 - x * x), floating=True,
              doc="artanh(x) (|x| < 1).")


def _sinc_grad(g, x):
    from .compare import where

    safe = where(x == 0, 1.0, x) * math.pi
    return where(x == 0, 0.0, g * (cos(safe) * safe - sin(safe)) / (safe * safe) * math.pi)


sinc = unary("sinc", forward=lambda xp, x: xp.sinc(x), vjp=_sinc_grad, floating=True,
             doc="sin(pi x) / (pi x), 1 at 0.")
deg2rad = unary("deg2rad", forward=lambda xp, x: x * (math.pi / 180), vjp=lambda g: g * (math.pi / 180),
                floating=True, doc="x * pi / 180.")
rad2deg = unary("rad2deg", forward=lambda xp, x: x * (180 / math.pi), vjp=lambda g: g * (180 / math.pi),
                floating=True, doc="x * 180 / pi.")


def _logit(xp, x, eps):
    if eps is not None:
        x = xp.clip(x, eps, 1 - eps)
    return xp.log(x / (1 - x))


def _logit_grad(g, x, eps):
    from .compare import where

    grad = g / (x * (1 - x))
    if eps is None:  # outside [0, 1] the log is NaN, and so is its gradient (as PyTorch's)
        return where((x < 0) | (x > 1), math.nan, grad)
    return where((x < eps) | (x > 1 - eps), 0.0, grad)


logit = unary("logit", forward=_logit, params={"eps": None}, vjp=_logit_grad, floating=True,
              doc="log(x / (1 - x)), x clamped to [eps, 1 - eps] when eps is given.")


def _nan_to_num(xp, x, nan, posinf, neginf):
    if x.dtype.kind not in "fcV":
        return x.copy()
    if x.dtype.kind == "V":  # bfloat16: NumPy's nan_to_num leaves it as is; its own largest finite values
        import ml_dtypes

        big = float(ml_dtypes.finfo(x.dtype).max)
        wide = x.astype("float32")
        return xp.nan_to_num(wide, nan=nan, posinf=big if posinf is None else posinf,
                             neginf=-big if neginf is None else neginf).astype(x.dtype)
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


nan_to_num = unary("nan_to_num", forward=_nan_to_num, params={"nan": 0.0, "posinf": None, "neginf": None},
                   vjp=lambda g, x, **_: g * isfinite(x),
                   doc="NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest finite values).")


def _float_test(name, fn, doc):
    return unary(name, forward=fn, vjp=None, inplace=False, doc=doc)


isnan = _float_test("isnan", lambda xp, x: xp.isnan(x), "x is NaN (a bool tensor).")
isinf = _float_test("isinf", lambda xp, x: xp.isinf(x), "x is +inf or -inf.")
isfinite = _float_test("isfinite", lambda xp, x: xp.isfinite(x), "x is neither NaN nor infinite.")
isposinf = _float_test("isposinf", lambda xp, x: xp.isposinf(x) if x.dtype.kind in "fV" else xp.zeros(x.shape, bool),
                       "x is +inf.")
isneginf = _float_test("isneginf", lambda xp, x: xp.isneginf(x) if x.dtype.kind in "fV" else xp.zeros(x.shape, bool),
                       "x is -inf.")
isreal = _float_test("isreal", lambda xp, x: xp.isreal(x), "x has no imaginary part (always, for real dtypes).")
signbit = _float_test("signbit", lambda xp, x: xp.signbit(x), "the sign bit of x is set (-0.0 included).")
def _positive(xp, x):
    if x.dtype.kind == "b":
        raise TypeError("the + operator on a bool tensor is not supported, as in PyTorch")
    return x


positive = unary("positive", forward=_positive, vjp=lambda g: g, inplace=False, doc="x itself (+x).")

arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def _angle(xp, x):
    if x.dtype.kind not in "fcV":
        x = x.astype(float)
    return xp.where(x < 0, math.pi, xp.where(xp.isnan(x), x, 0.0)).astype(x.dtype, copy=False)


# NOTE: for real tensors angle is 0 or pi (NaN stays NaN), and PyTorch gives it a zero gradient.
angle = unary("angle", forward=_angle, vjp=lambda g: g * 0.0, floating=True, inplace=False,
              doc="The argument of x: pi where x < 0, else 0 (real tensors).")
conj_physical = unary("conj_physical", forward=lambda xp, x: x.copy(), vjp=lambda g: g,
                      doc="A copy of x: tensors are real, so there is nothing to conjugate.")


def _real_tensor_itself(name):
    def fn(input):
        from ..errors import ArgumentError

        if not isinstance(input, Tensor):
            raise ArgumentError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return input

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}(x) is x itself: tensors are real (PyTorch returns the same tensor too)."
    return fn


conj, resolve_conj, resolve_neg, real = (_real_tensor_itself(n) for n in ("conj", "resolve_conj", "resolve_neg",
                                                                           "real"))


def _imag(self):
    from ..errors import DTypeError

    raise DTypeError(f"imag: tensors of dtype {self.dtype} are real and have no imaginary part")


for _fn in (conj, resolve_conj, resolve_neg):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.real = property(real)
Tensor.imag = property(_imag)
Tensor.is_complex = lambda self: False
Tensor.is_conj = lambda self: False
Tensor.is_neg = lambda self: False
