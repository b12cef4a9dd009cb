"""torch.special's Bessel and Airy functions: bessel_j0/j1, bessel_y0/y1, modified_bessel_i0/i1/k0/k1,
scaled_modified_bessel_k0/k1, spherical_bessel_j0, airy_ai. As in PyTorch they record no gradient (their
outputs never require grad), take integers and bools as floats, and refuse float16 / bfloat16.

Each is computed in float64 on the host, by methods that reach float64 accuracy everywhere:
- small arguments: the power series (no cancellation there);
- moderate ones (J, Y up to 25): Bessel's and Schlafli's integrals by Gauss-Legendre quadrature,
  J_nu(x) = 1/pi int_0^pi cos(nu t - x sin t) dt - sin(nu pi)/pi int_0^inf e^(-x sinh t - nu t) dt,
  Y_nu(x) = 1/pi int_0^pi sin(x sin t - nu t) dt - 1/pi int_0^inf (e^(nu t) + e^(-nu t) cos(nu pi)) e^(-x sinh t) dt;
  (K up to 25): e^x K_nu(x) = int_0^inf e^(-x (cosh t - 1)) cosh(nu t) dt by the trapezoid rule, which converges
  geometrically for this even, analytic, fast-decaying integrand;
- large ones: Hankel's asymptotic expansions (their smallest term is below e^-2x, under float64's eps past 25).
"""

import math

import numpy as np

from ..errors import DTypeError
from .declare import unary

_GL_T, _GL_W = np.polynomial.legendre.leggauss(100)
_EULER = 0.57721566490153286061
_LARGE = 25.0


def _hankel_terms(nu, x, count=40):
    """P, Q of Hankel's expansion for order nu at x >= 25 (terms a_k(nu) / x^k, alternating in pairs)."""
    mu = 4.0 * nu * nu
    p, q = np.ones_like(x), np.zeros_like(x)
    term = np.ones_like(x)
    for k in range(1, count):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * x)
        sign = -1.0 if (k // 2) % 2 else 1.0
        if k % 2:
            q = q + sign * term
        else:
            p = p + sign * term
    return p, q


def _hankel_jy(nu, x):
    """(J_nu, Y_nu) for x >= 25 by Hankel's expansion (chi = x - (nu / 2 + 1 / 4) pi, as Cephes forms it)."""
    p, q = _hankel_terms(nu, x)
    chi = x - (0.5 * nu + 0.25) * math.pi
    amp = math.sqrt(2.0 / math.pi) / np.sqrt(x)
    return amp * (p * np.cos(chi) - q * np.sin(chi)), amp * (p * np.sin(chi) + q * np.cos(chi))


def _gl(a, b, f):
    """int_a^b f(t) dt by 100-point Gauss-Legendre, for column vectors a, b (one row per argument)."""
    half = (b - a) / 2.0
    t = a + half * (_GL_T + 1.0)
    return half[:, 0] * (f(t) @ _GL_W)


def _integral_jy(nu, x, which):
    """J_nu (which 'j') or Y_nu ('y') at 0 < x <= 25 by Bessel's and Schlafli's integrals."""
    xc = x[:, None]
    zero, top = np.zeros_like(xc), np.full_like(xc, math.pi)
    end = np.arcsinh(45.0 / xc)  # e^(-x sinh t) < e^-45 beyond
    with np.errstate(over="ignore"):
        if which == "j":
            out = _gl(zero, top, lambda t: np.cos(nu * t - xc * np.sin(t))) / math.pi
            if nu != int(nu):
                out = out - math.sin(nu * math.pi) / math.pi * _gl(zero, end,
                                                                   lambda t: np.exp(-xc * np.sinh(t) - nu * t))
            return out
        b = _gl(zero, top, lambda t: np.sin(xc * np.sin(t) - nu * t)) / math.pi
        return b - _gl(zero, end, lambda t: (np.exp(nu * t) + np.exp(-nu * t) * math.cos(nu * math.pi))
                       * np.exp(-xc * np.sinh(t))) / math.pi


def _chunked(fn, x, chunk=4096):
    """fn over x in pieces (the quadratures hold one row of nodes per element)."""
    if x.size <= chunk:
        return fn(x)
    parts = [fn(x[i:i + chunk]) for i in range(0, x.size, chunk)]
    return np.concatenate(parts)


def _jy(nu, x, which):
    """J_nu(x) (which 'j') or Y_nu(x) ('y') for x > 0 (an array)."""
    out = np.empty_like(x)
    big = x > _LARGE
    if big.any():
        out[big] = _hankel_jy(nu, x[big])[0 if which == "j" else 1]
    if (~big).any():
        out[~big] = _chunked(lambda v: _integral_jy(nu, v, which), x[~big])
    return out


def _power_series(n, x, sign):
    """sum_k sign^k (x/2)^(2k+n) / (k! (k+n)!), for |x| <= 2: J_n (sign -1) and I_n (sign +1), integer n."""
    q = sign * x * x / 4.0
    term = (x / 2.0) ** n / math.factorial(n)
    total = term
    for k in range(1, 30):
        term = term * q / (k * (k + n))
        total = total + term
    return total


def _series_j(n, x):
    """J_n(x) for integer n by its power series (for |x| <= 2)."""
    return _power_series(n, x, -1.0)


def _series_y(n, x):
    """Y_0 / Y_1 at 0 < x <= 2 from their Neumann series (harmonic numbers H_k)."""
    q = x * x / 4.0
    log = np.log(x / 2.0)
    if n == 0:
        term, total, harmonic = np.ones_like(x), np.zeros_like(x), 0.0
        for k in range(1, 30):
            harmonic += 1.0 / k
            term = term * -q / (k * k)
            total = total - harmonic * term
        return 2.0 / math.pi * ((log + _EULER) * _series_j(0, x) + total)
    # Y_1 = 2/pi ln(x/2) J_1 - 2/(pi x) - 1/pi sum_k (-1)^k (psi(k+1) + psi(k+2)) (x/2)^(2k+1) / (k! (k+1)!)
    term = x / 2.0
    psi_a, psi_b = -_EULER, 1.0 - _EULER
    total = (psi_a + psi_b) * term
    for k in range(1, 30):
        psi_a, psi_b = psi_a + 1.0 / k, psi_b + 1.0 / (k + 1)
        term = term * -q / (k * (k + 1))
        total = total + (psi_a + psi_b) * term
    with np.errstate(divide="ignore", over="ignore"):
        return 2.0 / math.pi * log * _series_j(1, x) - 2.0 / (math.pi * x) - total / math.pi


def _bessel_j(n, x):
    ax = np.abs(x)
    out = np.empty_like(x)
    small = ax <= 2.0
    out[small] = _series_j(n, ax[small])
    mid = ~small & np.isfinite(ax)
    out[mid] = _jy(n, ax[mid], "j")
    out[np.isinf(x)] = np.nan  # torch's j0 / j1 give NaN at +-inf
    return np.where(x < 0, -out, out) if n % 2 else out


def _bessel_y(n, x):
    out = np.full_like(x, np.nan)
    small = (x > 0) & (x <= 2.0)
    out[small] = _series_y(n, x[small])
    mid = (x > 2.0) & np.isfinite(x)
    out[mid] = _jy(n, x[mid], "y")
    out[x == 0] = -np.inf
    return out


def _scaled_k(nu, x):
    """e^x K_nu(x) for x > 2: the trapezoid rule (25 < x: Hankel's expansion)."""
    out = np.empty_like(x)
    big = x > _LARGE
    if big.any():
        out[big] = _scaled_k_asymptotic(nu, x[big])
    mid = ~big
    if mid.any():
        out[mid] = _chunked(lambda v: _trapezoid_k(nu, v), x[mid])
    return out


def _trapezoid_k(nu, x, steps=120):
    xc = x[:, None]
    h = np.arccosh(1.0 + 45.0 / xc) / steps  # e^(-x (cosh t - 1)) < e^-45 beyond
    t = h * np.arange(steps + 1)
    f = np.exp(-xc * (np.cosh(t) - 1.0)) * np.cosh(nu * t)
    return h[:, 0] * (f.sum(axis=1) - 0.5 * f[:, 0])


def _scaled_k_asymptotic(nu, x, count=40):
    """e^x K_nu(x) ~ sqrt(pi / 2x) sum_k a_k(nu) / x^k for x > 25."""
    mu = 4.0 * nu * nu
    term, total = np.ones_like(x), np.ones_like(x)
    for k in range(1, count):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * x)
        total = total + term
    return np.sqrt(math.pi / (2.0 * x)) * total


def _series_i(n, x):
    """I_0 / I_1 by the power series (for 0 < x <= 2)."""
    return _power_series(n, x, 1.0)


def _series_k(n, x):
    """K_0 / K_1 at 0 < x <= 2 (Abramowitz and Stegun 9.6.13 and 9.6.11)."""
    q = x * x / 4.0
    log = np.log(x / 2.0)
    if n == 0:
        term, total, harmonic = np.ones_like(x), np.zeros_like(x), 0.0
        for k in range(1, 30):
            harmonic += 1.0 / k
            term = term * q / (k * k)
            total = total + harmonic * term
        return -(log + _EULER) * _series_i(0, x) + total
    term = np.ones_like(x)
    psi_a, psi_b = -_EULER, 1.0 - _EULER
    total = (psi_a + psi_b) * term
    for k in range(1, 30):
        psi_a, psi_b = psi_a + 1.0 / k, psi_b + 1.0 / (k + 1)
        term = term * q / (k * (k + 1))
        total = total + (psi_a + psi_b) * term
    with np.errstate(divide="ignore", over="ignore"):
        return 1.0 / x + log * _series_i(1, x) - x / 4.0 * total


def _modified_k(n, x, scaled):
    out = np.full_like(x, np.nan)
    small = (x > 0) & (x <= 2.0)
    with np.errstate(over="ignore"):
        ks = _series_k(n, x[small])
        out[small] = ks * np.exp(x[small]) if scaled else ks
        mid = (x > 2.0) & np.isfinite(x)
        sk = _scaled_k(n, x[mid])
        out[mid] = sk if scaled else sk * np.exp(-x[mid])
    out[x == 0] = np.inf
    out[x == np.inf] = 0.0
    return out


def _modified_i(n, x):
    from .bessel import _i0, _i1

    out = (_i1 if n else _i0)(np, x)
    return np.where(np.isinf(x), np.nan, out)  # torch's modified_bessel_i0 / i1 give NaN at +-inf (torch.i0: inf)


def _spherical_j0(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sin(x) / x
    tiny = np.abs(x) < 1e-4
    x2 = x[tiny] * x[tiny]
    out[tiny] = 1.0 - x2 / 6.0 + x2 * x2 / 120.0
    return np.where(np.isinf(x), 0.0, out)


_AI0, _AIP0 = 0.355028053887817239260, 0.258819403792806798405  # Ai(0), -Ai'(0)


def _airy_series(x):
    """Ai(x) = Ai(0) f(x) + Ai'(0) g(x) by the Maclaurin series (|x| <= 2)."""
    x3 = x ** 3
    f_term, g_term = np.ones_like(x), x.copy()
    f, g = f_term, g_term
    for k in range(1, 40):
        f_term = f_term * x3 / ((3 * k - 1) * (3 * k))
        g_term = g_term * x3 / ((3 * k) * (3 * k + 1))
        f, g = f + f_term, g + g_term
    return _AI0 * f - _AIP0 * g


def _airy_ai(x):
    out = np.full_like(x, np.nan)
    small = np.abs(x) <= 2.0
    out[small] = _airy_series(x[small])
    pos = (x > 2.0) & np.isfinite(x)
    with np.errstate(over="ignore", under="ignore"):
        z = x[pos]
        zeta = 2.0 / 3.0 * z ** 1.5
        out[pos] = np.sqrt(z / 3.0) / math.pi * _scaled_k(1.0 / 3.0, zeta) * np.exp(-zeta)
    neg = (x < -2.0) & np.isfinite(x)
    z = -x[neg]
    zeta = 2.0 / 3.0 * z ** 1.5
    out[neg] = np.sqrt(z) / 3.0 * (_jy(1.0 / 3.0, zeta, "j") + _jy(-1.0 / 3.0, zeta, "j"))
    return out


def _elementwise(name, fn):
    """The op's forward: float64 on the host, cast to the input's float dtype (float32 for ints and bools)."""

    def forward(xp, x):
        if x.dtype.kind == "V" or x.dtype == np.float16:
            raise DTypeError(f"{name}: not implemented for {x.dtype} (as torch's, float32 and float64 only)")
        host = x if xp is np else xp.asnumpy(x)
        with np.errstate(invalid="ignore"):
            out = fn(np.asarray(host, dtype=np.float64).reshape(-1)).reshape(host.shape)
        nan = np.isnan(np.asarray(host, dtype=np.float64))
        out = np.where(nan, np.nan, out).astype(x.dtype if x.dtype.kind == "f" else np.float32, copy=False)
        return out if xp is np else xp.asarray(out)

    return forward


def _declare(name, fn, doc):
    return unary("special." + name, forward=_elementwise("special." + name, fn), vjp=None, floating=True,
                 method=False, inplace=False, doc=doc + " (no gradient, as PyTorch's.)")


bessel_j0 = _declare("bessel_j0", lambda x: _bessel_j(0, x), "J_0(x), the Bessel function of the first kind")
bessel_j1 = _declare("bessel_j1", lambda x: _bessel_j(1, x), "J_1(x), the Bessel function of the first kind")
bessel_y0 = _declare("bessel_y0", lambda x: _bessel_y(0, x), "Y_0(x), the Bessel function of the second kind")
bessel_y1 = _declare("bessel_y1", lambda x: _bessel_y(1, x), "Y_1(x), the Bessel function of the second kind")
modified_bessel_i0 = _declare("modified_bessel_i0", lambda x: _modified_i(0, x), "I_0(x), NaN at +-inf")
modified_bessel_i1 = _declare("modified_bessel_i1", lambda x: _modified_i(1, x), "I_1(x), NaN at +-inf")
modified_bessel_k0 = _declare("modified_bessel_k0", lambda x: _modified_k(0, x, False), "K_0(x)")
modified_bessel_k1 = _declare("modified_bessel_k1", lambda x: _modified_k(1, x, False), "K_1(x)")
scaled_modified_bessel_k0 = _declare("scaled_modified_bessel_k0", lambda x: _modified_k(0, x, True), "e^x K_0(x)")
scaled_modified_bessel_k1 = _declare("scaled_modified_bessel_k1", lambda x: _modified_k(1, x, True), "e^x K_1(x)")
spherical_bessel_j0 = _declare("spherical_bessel_j0", _spherical_j0, "sin(x) / x, 1 at 0")
airy_ai = _declare("airy_ai", _airy_ai, "Ai(x), the Airy function")

__all__ = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "spherical_bessel_j0", "airy_ai"]
