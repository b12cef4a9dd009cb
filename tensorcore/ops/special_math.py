"""Gamma-family and inverse functions with PyTorch's names: lgamma, digamma, polygamma, mvlgamma, erfinv
(and frexp). NumPy has none of them, so each is computed here: shifts by the recurrence up to where an
asymptotic series is accurate to float64, then the series."""

import math

import numpy as np

from ..errors import ArgumentError
from ..tensor import Tensor, _make
from .declare import unary
from .registry import register
from .unary import exp

# B_2k / (2k)!-free Bernoulli numbers B_2, B_4, ..., B_14 for the asymptotic series.
_BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6]
_SHIFT = 12.0  # the series is used at x >= 12: its first omitted term is < 1e-17 there


def _host(xp, x):
    return x if xp is np else xp.asnumpy(x)


def _lgamma_np(x):
    def one(v):
        try:
            return math.lgamma(v)
        except ValueError:  # a pole: Gamma is infinite at 0, -1, -2, ...
            return math.inf

    return np.frompyfunc(one, 1, 1)(x).astype(x.dtype)


def _nonpositive_integer(x):
    return (x <= 0) & (x == np.floor(x))


def _digamma_np(x):
    """psi(x) = d/dx log Gamma(x): psi(x) = psi(x + m) - sum 1/(x + k), then the series at x + m >= 12."""
    v = x.astype(np.float64)
    acc = np.zeros_like(v)
    cur = v.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        while True:
            low = cur < _SHIFT
            if not low.any():
                break
            acc[low] -= 1.0 / cur[low]
            cur[low] += 1.0
        inv2 = 1.0 / (cur * cur)
        series = np.zeros_like(cur)
        power = inv2.copy()
        for k, b in enumerate(_BERNOULLI, start=1):
            series += b / (2 * k) * power
            power *= inv2
        out = acc + np.log(cur) - 0.5 / cur - series
    out[_nonpositive_integer(v)] = np.nan
    out[v == 0] = -np.inf
    return out.astype(x.dtype, copy=False)


def _polygamma_np(n, x):
    """psi^(n)(x), n >= 1: the recurrence psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1), then
    (-1)^(n+1) [(n-1)!/x^n + n!/(2 x^(n+1)) + sum_k B_2k (2k+n-1)! / ((2k)! x^(2k+n))]."""
    if n == 0:
        return _digamma_np(x)
    v = x.astype(np.float64)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    fact = math.factorial(n)
    acc = np.zeros_like(v)
    cur = v.copy()
    shift = _SHIFT + 2 * n
    with np.errstate(divide="ignore", invalid="ignore"):
        while True:
            low = cur < shift
            if not low.any():
                break
            acc[low] += sign * fact / cur[low] ** (n + 1)
            cur[low] += 1.0
        series = math.factorial(n - 1) / cur**n + fact / (2 * cur ** (n + 1))
        for k, b in enumerate(_BERNOULLI, start=1):
            series = series + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / cur ** (2 * k + n)
        out = acc + sign * series
    out[_nonpositive_integer(v)] = np.inf if n % 2 else np.nan
    return out.astype(x.dtype, copy=False)


def _on_host(fn):
    def forward(xp, x, **p):
        host = _host(xp, x)
        out = fn(np.atleast_1d(host), **p).reshape(host.shape)
        return out if xp is np else xp.asarray(out)

    return forward


lgamma = unary("lgamma", forward=_on_host(_lgamma_np), vjp=lambda g, x: g * digamma(x), floating=True,
               doc="log |Gamma(x)|.")
digamma = unary("digamma", forward=_on_host(_digamma_np), vjp=lambda g, x: g * polygamma(1, x), floating=True,
                doc="psi(x) = d/dx log Gamma(x).")
_polygamma = unary("polygamma_", forward=_on_host(lambda x, n: _polygamma_np(n, x)), params={"n": 1},
                   vjp=lambda g, x, n: g * polygamma(n + 1, x), floating=True, method=False, inplace=False,
                   doc="The n-th derivative of digamma.")


def polygamma(n, input):
    """psi^(n)(input), the n-th derivative of digamma (n >= 0)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ArgumentError(f"polygamma: n must be a non-negative int, got {n!r}")
    return digamma(input) if n == 0 else _polygamma(input, n=int(n))


@register("mvlgamma")
def mvlgamma(input, p):
    """The multivariate log-gamma: sum_{i<p} lgamma(x - i/2) + p (p - 1) / 4 log(pi) (x > (p - 1) / 2)."""
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ArgumentError(f"mvlgamma: p must be an int >= 1, got {p!r}")
    if bool((input <= (p - 1) / 2).any()):
        raise ArgumentError(f"mvlgamma: all elements must be greater than (p - 1) / 2 = {(p - 1) / 2}")
    out = lgamma(input)
    for i in range(1, p):
        out = out + lgamma(input - i / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def _erfinv_np(x):
    """erf^-1: Giles' single-precision approximation, then two Newton steps on our float64 erf."""
    from ..backends.cpu import erf

    v = x.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - v) * (1.0 + v))
        small = w < 5.0
        ws, wb = w - 2.5, np.sqrt(w) - 3.0
        ps = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
                  0.246640727, 1.50140941):
            ps = c + ps * ws
        pb = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                  1.00167406, 2.83297682):
            pb = c + pb * wb
        y = np.where(small, ps, pb) * v
        for _ in range(2):
            y = y - (erf(y) - v) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
    y[v == 1] = np.inf
    y[v == -1] = -np.inf
    y[np.abs(v) > 1] = np.nan
    return y.astype(x.dtype, copy=False)


erfinv = unary("erfinv", forward=_on_host(_erfinv_np), vjp=lambda g, out: g * exp(out * out) * (math.sqrt(math.pi) / 2),
               floating=True, doc="The inverse of erf on (-1, 1).")


_SQRT_PI = math.sqrt(math.pi)


def _erfcx_nonneg(z):
    """exp(z^2) erfc(z) for z >= 0: W. J. Cody's rational approximations, as in backends/cpu.erf, without
    the factor exp(-z^2) (so nothing underflows)."""
    from ..backends.cpu import erf

    out = np.empty_like(z)
    small = z < 0.5
    out[small] = np.exp(z[small] ** 2) * (1.0 - erf(z[small]))
    mid = (~small) & (z < 4.0)
    t = z[mid]
    p = ((((((((2.15311535474403846e-8 * t + 0.564188496988670089) * t + 8.88314979438837594) * t
              + 66.1191906371416295) * t + 298.635138197400131) * t + 881.952221241769090) * t
           + 1712.04761263407058) * t + 2051.07837782607147) * t + 1230.33935479799725)
    q = ((((((((t + 15.7449261107098347) * t + 117.693950891312499) * t + 537.181101862009858) * t
             + 1621.38957456669019) * t + 3290.79923573345963) * t + 4362.61909014324716) * t
          + 3439.36767414372164) * t + 1230.33935480374942)
    out[mid] = p / q
    big = z >= 4.0
    t = z[big]
    zi = 1.0 / (t * t)
    p = ((((0.0163153871373020978 * zi + 0.305326634961232344) * zi + 0.360344899949804439) * zi
          + 0.125781726111229246) * zi + 0.0160837851487422766) * zi + 0.000658749161529837803
    q = ((((zi + 2.56852019228982242) * zi + 1.87295284992346725) * zi + 0.527905102951428412) * zi
         + 0.0605183413124413191) * zi + 0.00233520497626869185
    out[big] = (1.0 / _SQRT_PI - zi * p / q) / t
    return out


def _erfc_np(x):
    v = x.astype(np.float64)
    a = np.abs(v)
    with np.errstate(over="ignore", invalid="ignore"):
        pos = np.exp(-a * a) * _erfcx_nonneg(np.where(np.isnan(a), 0.0, a))
    out = np.where(v >= 0, pos, 2.0 - pos)
    return np.where(np.isnan(v), v, out).astype(x.dtype, copy=False)


def _erfcx_np(x):
    v = x.astype(np.float64)
    a = np.abs(np.where(np.isnan(v), 0.0, v))
    with np.errstate(over="ignore", invalid="ignore"):
        pos = _erfcx_nonneg(a)
        out = np.where(v >= 0, pos, 2.0 * np.exp(v * v) - pos)
    return np.where(np.isnan(v), v, out).astype(x.dtype, copy=False)


def _log_ndtr_np(x):
    v = x.astype(np.float64)
    z = v / math.sqrt(2.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low = np.log(_erfcx_np(-z) / 2) - z * z  # ndtr(x) = erfc(-z) / 2, exp(-z^2) kept out of the log
        high = np.log1p(-_erfc_np(z) / 2)
    return np.where(v < -1, low, high).astype(x.dtype, copy=False)


erfc = unary("erfc", forward=_on_host(_erfc_np), vjp=lambda g, x: g * exp(-(x * x)) * (-2 / _SQRT_PI), floating=True,
             doc="1 - erf(x), accurate where it is tiny.")
erfcx = unary("special.erfcx", forward=_on_host(_erfcx_np), method=False, inplace=False, floating=True,
              vjp=lambda g, x, out: g * (x * out * 2 - 2 / _SQRT_PI), doc="exp(x^2) erfc(x), without overflow.")
log_ndtr = unary("special.log_ndtr", forward=_on_host(_log_ndtr_np), method=False, inplace=False, floating=True,
                 vjp=lambda g, x, out: g * exp(x * x * -0.5 - out) / math.sqrt(2 * math.pi),
                 doc="log of the standard normal CDF, accurate far into the left tail.")


ndtri = unary("special.ndtri", forward=_on_host(lambda p: math.sqrt(2.0) * _erfinv_np(2 * p - 1)), method=False,
              inplace=False, floating=True, vjp=lambda g, out: g * exp(out * out * 0.5) * math.sqrt(2 * math.pi),
              doc="The inverse of the standard normal CDF, sqrt(2) erfinv(2p - 1).")


def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1); exponent int32."""
    if not isinstance(input, Tensor) or input.dtype.kind not in "fV":
        raise ArgumentError("frexp: expected a floating Tensor")
    _, e = input.device.backend.xp.frexp(input._data)
    scale = _make(input.device.backend.xp.ldexp(np.ones((), input.dtype), -e), input.device, False, None)
    return input * scale, _make(e.astype(np.int32), input.device, False, None)  # the mantissa is differentiable


Tensor.polygamma = lambda self, n: polygamma(n, self)
Tensor.mvlgamma = mvlgamma
Tensor.frexp = frexp
