"""The modified Bessel functions of the first kind, orders 0 and 1, and their exponentially scaled forms:
torch.i0 and torch.special.i0 / i0e / i1 / i1e, with PyTorch's gradients; and torch.special.zeta (Hurwitz).

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


# --- the Hurwitz zeta function -----------------------------------------------------------------------
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15, 1.8152105401943546773e17,
           -7.1661652561756670113e18)
_MACHEP = 1.11022302462515654042e-16


def _zeta(xp, x, q):
    """sum_k (k + q)^-x by Euler-Maclaurin (Cephes' zeta, as PyTorch's): 9+ terms directly, then the tail
    integral and 12 Bernoulli corrections; inf at x = 1 or q a non-positive integer, NaN for x < 1."""
    x, q = xp.broadcast_arrays(xp.asarray(x, dtype=np.float64), xp.asarray(q, dtype=np.float64))
    with np.errstate(all="ignore"):
        s = q ** -x
        a, b = q.copy(), xp.zeros_like(q)
        done = xp.zeros(x.shape, dtype=bool)
        steps = int(max(9, np.ceil(9 - float(q.min())) + 1)) if q.size else 0
        for i in range(1, steps + 1):
            live = ~done & ((i <= 9) | (a <= 9.0))
            a = xp.where(live, a + 1.0, a)
            b = xp.where(live, a ** -x, b)
            s = xp.where(live, s + b, s)
            done = done | (live & (abs(b / s) < _MACHEP)) | ~live
        tail = ~(done & (abs(b / s) < _MACHEP))
        w = a
        s = xp.where(tail, s + b * w / (x - 1.0) - 0.5 * b, s)
        fac, k, bb = xp.ones_like(x), 0.0, b
        live = tail.copy()
        for coeff in _ZETA_A:
            fac = fac * (x + k)
            bb = bb / w
            t = fac * bb / coeff
            s = xp.where(live, s + t, s)
            live = live & ~(abs(t / s) < _MACHEP)
            k += 1.0
            fac = fac * (x + k)
            bb = bb / w
            k += 1.0
        out = xp.where(x == 1.0, xp.inf, s)
        out = xp.where(x < 1.0, xp.nan, out)
        nonpos = q <= 0
        out = xp.where(nonpos & (q == xp.floor(q)) & (x >= 1.0), xp.inf, out)
        out = xp.where(nonpos & (q != xp.floor(q)) & (x != xp.floor(x)) & (x > 1.0), xp.nan, out)
    return out


def _zeta_forward(xp, x, q):
    dtype = xp.result_type(x, q)
    return _zeta(xp, x, q).astype(dtype if dtype.kind == "f" else np.float64, copy=False)


def _declare_zeta():
    from .declare import binary

    return binary("special.zeta", forward=_zeta_forward, vjp=(None, None), floating=True, method=False,
                  inplace=False, doc="The Hurwitz zeta function sum_k (k + q)^-x (no gradient, as PyTorch).")


zeta = _declare_zeta()
