"""The regularized incomplete gamma functions, torch.igamma / torch.igammac (Tensor.igamma, igammac and their
in-place forms):

  igamma(a, x)  = P(a, x) = 1 / Gamma(a) int_0^x t^(a-1) e^-t dt
  igammac(a, x) = Q(a, x) = 1 - P(a, x)

P comes from its power series where x < a + 1 and Q from its continued fraction (modified Lentz) elsewhere, each
accurate where the other loses digits. The gradient flows to x only: dP/dx = x^(a-1) e^-x / Gamma(a) (PyTorch has
no derivative for a either, and refuses it).
"""

import numpy as np

from ..errors import ArgumentError, GradientError
from .declare import binary

_ITERATIONS = 2000  # (the series needs about sqrt(a) terms near x = a; both loops stop once all converged)
_EPS = np.finfo(np.float64).eps


def _log_prefactor(a, x):
    from math import lgamma

    return a * np.log(x) - x - np.vectorize(lgamma, otypes=[np.float64])(a)


def _lower_series(a, x):
    """P(a, x) = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n))."""
    term = np.ones_like(x) / a
    total = term.copy()
    for n in range(1, _ITERATIONS):
        term = term * x / (a + n)
        total += term
        if np.all(np.abs(term) <= np.abs(total) * _EPS):
            break
    return total * np.exp(_log_prefactor(a, x))


def _upper_fraction(a, x):
    """Q(a, x) = x^a e^-x / Gamma(a) * 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...)), by modified Lentz."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / np.where(b == 0, tiny, b)
    h = d.copy()
    for n in range(1, _ITERATIONS):
        an = -n * (n - a)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / np.where(np.abs(c) < tiny, tiny, c)
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) <= _EPS):
            break
    return h * np.exp(_log_prefactor(a, x))


def _regularized(a, x, upper):
    """P(a, x), or Q(a, x) with upper=True, on float arrays (computed in float64), with PyTorch's edge values."""
    dtype = np.result_type(a, x)
    a64, x64 = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.full(a64.shape, np.nan)
    inner = (a64 > 0) & (x64 > 0) & np.isfinite(a64) & np.isfinite(x64)
    series = inner & (x64 < a64 + 1)
    fraction = inner & ~series
    with np.errstate(all="ignore"):
        if series.any():
            p = _lower_series(a64[series], x64[series])
            out[series] = 1.0 - p if upper else p
        if fraction.any():
            q = _upper_fraction(a64[fraction], x64[fraction])
            out[fraction] = q if upper else 1.0 - q
    zero, one = (1.0, 0.0) if upper else (0.0, 1.0)  # the values of P's 0 and 1, as Q's
    valid = (a64 >= 0) & (x64 >= 0)
    out[valid & (x64 == 0) & (a64 > 0)] = zero
    out[valid & (a64 == 0) & (x64 > 0)] = one
    out[valid & np.isinf(a64) & np.isfinite(x64)] = zero
    out[valid & np.isinf(x64) & np.isfinite(a64)] = one
    return out.astype(dtype)


def _forward(name, upper):
    def forward(xp, a, x):
        if a.dtype.kind != "f" or x.dtype.kind != "f":
            raise ArgumentError(f"{name}: not implemented for {a.dtype} and {x.dtype} (floating inputs only)")
        if xp is np:
            return _regularized(a, x, upper)
        return xp.asarray(_regularized(xp.asnumpy(a), xp.asnumpy(x), upper))

    return forward


def _no_gradient_for_a(name):
    def vjp(g):
        raise GradientError(f"the derivative for '{name}: input' is not implemented (PyTorch's neither): a gets no "
                            "gradient; detach it")

    return vjp


def _density(x, y):
    """d igamma(x, y) / dy = y^(x-1) e^-y / Gamma(x) (x: the shape a, y: the point)."""
    from .special_math import lgamma
    from .unary import exp, log

    return exp((x - 1) * log(y) - y - lgamma(x))


igamma = binary("igamma", forward=_forward("igamma", False),
                vjp=(_no_gradient_for_a("igamma"), lambda g, x, y: g * _density(x, y)),
                doc="The regularized lower incomplete gamma function P(input, other).")
igammac = binary("igammac", forward=_forward("igammac", True),
                 vjp=(_no_gradient_for_a("igammac"), lambda g, x, y: -g * _density(x, y)),
                 doc="The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other).")
