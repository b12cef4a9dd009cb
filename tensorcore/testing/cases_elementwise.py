"""Cases of the elementwise ops PyTorch's vocabulary adds: unary math (unary_math.py), binary math
(binary_math.py), rounding and division (rounding.py), bitwise ops (logic.py), clamp, and the smooth
and piecewise activations. Inputs are kept inside each op's domain and away from its kinks."""



import math

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F

from .cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _unit(rng, *shape, bound=0.8):
    return rng.uniform(-bound, bound, shape)


def _pos(rng, *shape, low=0.5, high=2.0):
    return rng.uniform(low, high, shape)


def _away(rng, *shape, low=0.2, high=2.0):
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _off_grid(rng, *shape):
    """Values at least 0.1 from any multiple of 0.5 (rounding ops' kinks)."""
    return rng.integers(-6, 6, shape) * 0.5 + rng.uniform(0.1, 0.4, shape)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _u(op, fn, ref, make=None, **kw):
    return OpCase(op, make or (lambda r: (_n(r, 3, 4),)), fn, ref, **kw)


def _b(op, fn, ref, make=None, **kw):
    return OpCase(op, make or (lambda r: (_n(r, 3, 4), _n(r, 4))), fn, ref, label=kw.pop("label", "broadcast"), **kw)


def _ints(rng, low=-9, high=9, shape=(3, 4)):
    return rng.integers(low, high, shape)


CASES = [
    # unary math
    _u("square", tc.square, np.square),
    _u("rsqrt", tc.rsqrt, lambda x: 1 / np.sqrt(x), lambda r: (_pos(r, 3, 4),)),
    _u("reciprocal", tc.reciprocal, lambda x: 1 / x, lambda r: (_away(r, 3, 4, low=0.5),)),
    _u("expm1", tc.expm1, np.expm1),
    _u("exp2", tc.exp2, np.exp2),
    _u("log2", tc.log2, np.log2, lambda r: (_pos(r, 3, 4),)),
    _u("log10", tc.log10, np.log10, lambda r: (_pos(r, 3, 4),)),
    _u("tan", tc.tan, np.tan, lambda r: (_unit(r, 3, 4, bound=1.2),)),
    _u("sinh", tc.sinh, np.sinh),
    _u("cosh", tc.cosh, np.cosh),
    _u("asin", tc.asin, np.arcsin, lambda r: (_unit(r, 3, 4),)),
    _u("acos", tc.acos, np.arccos, lambda r: (_unit(r, 3, 4),)),
    _u("atan", tc.atan, np.arctan),
    _u("asinh", tc.asinh, np.arcsinh),
    _u("acosh", tc.acosh, np.arccosh, lambda r: (_pos(r, 3, 4, low=1.2, high=3.0),)),
    _u("atanh", tc.atanh, np.arctanh, lambda r: (_unit(r, 3, 4),)),
    _u("sinc", tc.sinc, np.sinc, lambda r: (_away(r, 3, 4, low=0.1, high=0.9),)),
    _u("deg2rad", tc.deg2rad, np.deg2rad),
    _u("rad2deg", tc.rad2deg, np.rad2deg),
    _u("logit", tc.logit, lambda x: np.log(x / (1 - x)), lambda r: (r.uniform(0.1, 0.9, (3, 4)),)),
    _u("logit", lambda x: tc.logit(x, eps=0.2), lambda x: np.log(np.clip(x, 0.2, 0.8) / (1 - np.clip(x, 0.2, 0.8))),
       lambda r: (np.array([0.05, 0.3, 0.5, 0.7, 0.95, 0.4]),), label="eps"),
    _u("nan_to_num", tc.nan_to_num, np.nan_to_num),
    _u("positive", tc.positive, lambda x: x),
    *[OpCase(op, lambda r: (np.array([1.0, np.nan, np.inf, -np.inf, -0.0, 2.0]),), getattr(tc, op),
             getattr(np, op), differentiable=False)
      for op in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "signbit")],
    # binary math
    _b("atan2", tc.atan2, np.arctan2, lambda r: (_away(r, 3, 4), _away(r, 4))),
    _b("hypot", tc.hypot, np.hypot, lambda r: (_away(r, 3, 4), _away(r, 4))),
    _b("logaddexp", tc.logaddexp, np.logaddexp),
    _b("logaddexp2", tc.logaddexp2, np.logaddexp2),
    _b("copysign", tc.copysign, np.copysign, lambda r: (_away(r, 3, 4), _away(r, 4))),
    _b("fmax", tc.fmax, np.fmax, lambda r: (_n(r, 3, 4), _n(r, 4) + 0.05)),
    _b("fmin", tc.fmin, np.fmin, lambda r: (_n(r, 3, 4), _n(r, 4) + 0.05)),
    _b("xlogy", tc.xlogy, lambda x, y: x * np.log(y), lambda r: (_n(r, 3, 4), _pos(r, 4))),
    _b("float_power", tc.float_power, np.power, lambda r: (_pos(r, 3, 4), _n(r, 4)), float32=False),
    _b("heaviside", tc.heaviside, np.heaviside,
       lambda r: (np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -2.0]]), np.array([0.5, 0.25, 0.75])),
       differentiable=False),
    _b("nextafter", tc.nextafter, np.nextafter, float32=False),
    OpCase("lerp", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda a, b: tc.lerp(a, b, 0.3),
           lambda a, b: a + 0.3 * (b - a), label="scalar weight"),
    OpCase("lerp", lambda r: (_n(r, 3, 4), _n(r, 4), r.uniform(-0.5, 1.5, (3, 1))), tc.lerp,
           lambda a, b, w: a + w * (b - a), label="tensor weight"),
    # rounding and division
    *[_u(op, getattr(tc, op), getattr(np, ref), lambda r: (_off_grid(r, 3, 4),))
      for op, ref in (("floor", "floor"), ("ceil", "ceil"), ("trunc", "trunc"), ("fix", "trunc"),
                      ("round", "round"), ("sgn", "sign"))],
    _u("round", lambda x: tc.round(x, decimals=1), lambda x: np.round(x, 1),
       lambda r: (_off_grid(r, 3, 4) / 10 + 0.003,),
       label="decimals"),
    _u("frac", tc.frac, lambda x: x - np.trunc(x), lambda r: (_off_grid(r, 3, 4),)),
    _b("fmod", tc.fmod, np.fmod, lambda r: (_off_grid(r, 3, 4) * 3, np.array([1.3, -0.7, 2.1, 0.9]))),
    _b("remainder", tc.remainder, np.remainder, lambda r: (_off_grid(r, 3, 4) * 3, np.array([1.3, -0.7, 2.1, 0.9]))),
    _b("floor_divide", tc.floor_divide, np.floor_divide,
       lambda r: (_off_grid(r, 3, 4) * 3, np.array([1.3, -0.7, 2.1, 0.9])), differentiable=False),
    OpCase("floor_divide", lambda r: (_ints(r), np.array([3, -2, 5, 7])), tc.floor_divide, np.floor_divide,
           differentiable=False, label="int"),
    # clamp
    OpCase("clamp", lambda r: (_n(r, 3, 4), _n(r, 4) - 0.5, _n(r, 3, 1) + 0.5),
           lambda x, lo, hi: tc.clamp(x, lo, hi), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
           label="tensor bounds"),
    # bitwise and logic (integers and bools, no gradient)
    *[OpCase(op, lambda r: (_ints(r, 0, 64), _ints(r, 0, 64, (4,))), getattr(tc, op), getattr(np, ref),
             differentiable=False)
      for op, ref in (("bitwise_and", "bitwise_and"), ("bitwise_or", "bitwise_or"), ("bitwise_xor", "bitwise_xor"))],
    OpCase("bitwise_left_shift", lambda r: (_ints(r), _ints(r, 0, 5, (4,))), tc.bitwise_left_shift, np.left_shift,
           differentiable=False),
    OpCase("bitwise_right_shift", lambda r: (_ints(r), _ints(r, 0, 5, (4,))), tc.bitwise_right_shift,
           np.right_shift, differentiable=False),
    OpCase("bitwise_not", lambda r: (_ints(r),), tc.bitwise_not, np.invert, differentiable=False),
    OpCase("logical_xor", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda a, b: tc.logical_xor(a > 0, b > 0),
           lambda a, b: np.logical_xor(a > 0, b > 0), differentiable=False),
    # smooth activations
    _u("silu", F.silu, lambda x: x * _sigmoid(x)),
    _u("mish", F.mish, lambda x: x * np.tanh(_softplus(x))),
    _u("logsigmoid", F.logsigmoid, lambda x: np.log(_sigmoid(x))),
    _u("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), lambda r: (_away(r, 3, 4),)),
    _u("celu", lambda x: F.celu(x, alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x / 0.7)),
       lambda r: (_away(r, 3, 4),)),
    _u("selu", F.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), lambda r: (_away(r, 3, 4),)),
    _u("tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x)),
    OpCase("glu", lambda r: (_n(r, 3, 4),), lambda x: F.glu(x, 1), lambda x: x[:, :2] * _sigmoid(x[:, 2:])),
    OpCase("softmin", lambda r: (_n(r, 3, 4),), lambda x: F.softmin(x, 1),
           lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True)),
    # piecewise activations (inputs away from the kinks)
    _u("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
       lambda r: (r.choice([-1.3, -0.9, -0.2, 0.1, 0.3, 0.9, 1.4], (3, 4)) + r.uniform(-0.05, 0.05, (3, 4)),)),
    _u("relu6", F.relu6, lambda x: np.clip(x, 0, 6), lambda r: (_away(r, 3, 4) * 4 + 0.5,)),
    _u("hardsigmoid", F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), lambda r: (_away(r, 3, 4) * 2,)),
    _u("hardswish", F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, lambda r: (_away(r, 3, 4) * 2,)),
    _u("threshold", lambda x: F.threshold(x, 0.1, -2.0), lambda x: np.where(x > 0.1, x, -2.0),
       lambda r: (_away(r, 3, 4) + 0.1,)),
    _u("softshrink", F.softshrink, lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
       lambda r: (_away(r, 3, 4, low=0.6) * r.choice([1.0, 0.3], (3, 4)),)),
    _u("hardshrink", F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0),
       lambda r: (_away(r, 3, 4, low=0.6) * r.choice([1.0, 0.3], (3, 4)),)),
    OpCase("prelu", lambda r: (_away(r, 2, 3, 4), r.uniform(0.1, 0.5, (3,))), F.prelu,
           lambda x, w: np.where(x > 0, x, w[:, None] * x)),
    _u("rrelu", F.rrelu, lambda x: np.where(x > 0, x, x * (1 / 8 + 1 / 3) / 2), lambda r: (_away(r, 3, 4),)),
    # ternary and the rest
    OpCase("addcmul", lambda r: (_n(r, 3, 4), _n(r, 4), _n(r, 3, 1)), lambda a, b, c: tc.addcmul(a, b, c, value=0.5),
           lambda a, b, c: a + 0.5 * b * c),
    OpCase("addcdiv", lambda r: (_n(r, 3, 4), _n(r, 4), _away(r, 3, 1)), lambda a, b, c: tc.addcdiv(a, b, c, value=2),
           lambda a, b, c: a + 2 * b / c),
    _b("ldexp", tc.ldexp, lambda x, y: x * 2.0 ** y),
    OpCase("gcd", lambda r: (_ints(r, 0, 40), _ints(r, 1, 40, (4,))), tc.gcd, np.gcd, differentiable=False),
    OpCase("lcm", lambda r: (_ints(r, 0, 40), _ints(r, 1, 40, (4,))), tc.lcm, np.lcm, differentiable=False),
    _u("angle", tc.angle, np.angle, lambda r: (_away(r, 3, 4),)),
    _u("conj_physical", tc.conj_physical, lambda x: x),
    _u("special.entr", tc.special.entr, lambda x: -x * np.log(x), lambda r: (_pos(r, 3, 4),)),
    _u("special.ndtr", tc.special.ndtr, lambda x: 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    _b("special.xlog1py", tc.special.xlog1py, lambda x, y: x * np.log1p(y), lambda r: (_n(r, 3, 4), _pos(r, 4))),
    # gamma family and erfinv (ops/special_math.py)
    _u("lgamma", tc.lgamma, lambda x: np.vectorize(math.lgamma)(x), lambda r: (_pos(r, 3, 4, low=0.3, high=4.0),)),
    _u("digamma", tc.digamma, None, lambda r: (_pos(r, 3, 4, low=0.3, high=4.0),)),
    OpCase("polygamma_", lambda r: (_pos(r, 3, 4, low=0.3, high=4.0),), lambda x: tc.polygamma(1, x), None,
           label="n=1"),
    OpCase("mvlgamma", lambda r: (_pos(r, 3, 4, low=1.6, high=4.0),), lambda x: tc.mvlgamma(x, 3),
           lambda x: sum(np.vectorize(math.lgamma)(x - i / 2) for i in range(3)) + 1.5 * math.log(math.pi)),
    _u("erfinv", tc.erfinv, None, lambda r: (_unit(r, 3, 4),)),
    _u("erfc", tc.erfc, lambda x: 1 - np.vectorize(math.erf)(x)),
    _u("erfc", tc.erfc, lambda x: np.vectorize(math.erfc)(x), lambda r: (_pos(r, 3, 4, low=4.0, high=9.0),),
       label="tail", float32=False),
    _u("special.erfcx", tc.special.erfcx, lambda x: np.exp(x * x) * np.vectorize(math.erfc)(x),
       lambda r: (_n(r, 3, 4) * 2,)),
    _u("special.log_ndtr", tc.special.log_ndtr, lambda x: np.log(0.5 * np.vectorize(math.erfc)(-x / math.sqrt(2))),
       lambda r: (_n(r, 3, 4) * 3,)),
    _u("special.ndtri", tc.special.ndtri, None, lambda r: (r.uniform(0.05, 0.95, (3, 4)),)),
]
