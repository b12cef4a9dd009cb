"""The modified Bessel functions of the first kind, orders 0 and 1, and their exponentially scaled forms:
torch.i0 and torch.special.i0 / i0e / i1 / i1e, with PyTorch's gradients.

I_nu(x) = sum_k (x / 2)^(2k + nu) / (k! (k + nu)!) for |x| <= 60 (positive terms: no cancellation), and the
asymptotic series e^|x| / sqrt(2 pi |x|) sum_k (-1)^k prod_{j <= k} (4 nu^2 - (2j - 1)^2) / (k! (8 |x|)^k)
beyond (its terms shrink until k ~ 2 |x|). i0 is even, i1 odd; i0e = e^-|x| i0, i1e = e^-|x| i1.
"""

import math

import numpy as np

from .declare import unary

_SWITCH = 60.0


def _scaled(xp, x, nu):
    """e^-|x| I_nu(|x|), in float64."""
    ax = abs(x.astype(np.float64))
    small = xp.minimum(ax, _SWITCH)
    half, q = small / 2, small * small / 4
    term = half if nu else xp.ones_like(small)
    total = term
    for k in range(1, 121):
        term = term * q / (k * (k + nu))
        total = total + term
    series = total * xp.exp(-small)
    big = xp.maximum(ax, _SWITCH)
    term, total = xp.ones_like(big), xp.ones_like(big)
    for k in range(1, 31):
        term = term * -(4 * nu * nu - (2 * k - 1) ** 2) / (k * 8 * big)
        total = total + term
    asymptotic = total / xp.sqrt(2 * math.pi * big)
    return xp.where(ax <= _SWITCH, series, asymptotic)


def _odd(xp, x, value):
    return xp.where(x < 0, -value, value)


def _finish(xp, x, value):
    return xp.where(xp.isnan(x), x, value).astype(x.dtype, copy=False)


def _i0(xp, x):
    with np.errstate(over="ignore", invalid="ignore"):
        return _finish(xp, x, _scaled(xp, x, 0) * xp.exp(abs(x.astype(np.float64))))


def _i1(xp, x):
    with np.errstate(over="ignore", invalid="ignore"):
        return _finish(xp, x, _odd(xp, x, _scaled(xp, x, 1) * xp.exp(abs(x.astype(np.float64)))))


def _i0e(xp, x):
    return _finish(xp, x, _scaled(xp, x, 0))


def _i1e(xp, x):
    return _finish(xp, x, _odd(xp, x, _scaled(xp, x, 1)))


def _safe(x):
    """x away from 0 (eps there), for the 1 / x of the order-1 gradients."""
    from .compare import where

    eps = float(np.finfo(x.dtype).eps)
    return where(abs(x) > eps, x, eps)


def _i1_vjp(g, x, out):
    from .compare import where

    s = _safe(x)
    return g * where(abs(x) > float(np.finfo(x.dtype).eps), i0(s) - out / s, 0.5)


def _i1e_vjp(g, x, out):
    from .compare import sign, where

    s = _safe(x)
    return g * where(abs(x) > float(np.finfo(x.dtype).eps), i0e(s) - out * (sign(s) + 1 / s), 0.5)


def _i0e_vjp(g, x, out):
    from .compare import sign

    return g * (i1e(x) - sign(x) * out)


i0 = unary("i0", forward=_i0, vjp=lambda g, x: g * i1(x), floating=True, doc="I_0(x), the modified Bessel function.")
i1 = unary("special.i1", forward=_i1, vjp=_i1_vjp, floating=True, method=False, inplace=False,
           doc="I_1(x), the modified Bessel function of order 1.")
i0e = unary("special.i0e", forward=_i0e, vjp=_i0e_vjp, floating=True, method=False, inplace=False,
            doc="e^-|x| I_0(x).")
i1e = unary("special.i1e", forward=_i1e, vjp=_i1e_vjp, floating=True, method=False, inplace=False,
            doc="e^-|x| I_1(x).")
