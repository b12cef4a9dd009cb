"""torch.special's orthogonal polynomials P_n(x): Chebyshev T, U, V, W (and shifted, on 2x - 1), Hermite H and
He, Laguerre L, Legendre P. As PyTorch: n is truncated to an integer, P_n = 0 for n < 0, the three-term
recurrence from P_0 = 1 and P_1, exact values at the ends of [-1, 1], and the trigonometric closed form for
large n inside (-1, 1). No gradient (PyTorch defines none).
"""

import numpy as np

from .declare import binary


def _degrees(xp, x, n):
    n = xp.trunc(xp.asarray(n, dtype=np.float64))
    x, n = xp.broadcast_arrays(xp.asarray(x), n)
    return x.astype(xp.result_type(x.dtype, np.float32, n.dtype if x.dtype.kind != "f" else x.dtype)), \
        xp.nan_to_num(n, nan=-1.0).astype(np.int64)


def _recurrence(xp, x, n, first, step):
    """P_n(x) with P_0 = 1, P_1 = first, P_{d+1} = step(d, P_d, P_{d-1}); 0 for n < 0."""
    one = xp.ones_like(x)
    out = xp.where(n == 0, one, xp.where(n == 1, first, xp.zeros_like(x)))
    top = int(n.max()) if n.size else 0
    p, q = one, first
    with np.errstate(all="ignore"):
        for d in range(1, top):
            p, q = q, step(d, q, p)
            out = xp.where(n == d + 1, q, out)
    return out


def _chebyshev(kind, shifted):
    """The forward of chebyshev_polynomial_{t,u,v,w} (shifted: of 2x - 1)."""
    first = {"t": lambda y: y, "u": lambda y: y + y, "v": lambda y: y + y - 1, "w": lambda y: y + y + 1}[kind]
    limit = (4 if kind == "w" else 6) if shifted else (6 if kind == "t" else 8)

    def forward(xp, x, n):
        x, n = _degrees(xp, x, n)
        y = x + x - 1 if shifted else x
        out = _recurrence(xp, y, n, first(y), lambda d, q, p: (y + y) * q - p)
        odd, m = (n % 2) == 1, n.astype(x.dtype)
        at_one = {"t": 1.0, "u": m + 1, "v": 1.0 + 0 * m, "w": m + m + 1}[kind]
        at_minus = {"t": xp.where(odd, -1.0, 1.0), "u": xp.where(odd, -(m + 1), m + 1),
                    "v": xp.where(odd, -(m + m + 1), m + m + 1), "w": xp.where(odd, -1.0, 1.0)}[kind]
        with np.errstate(all="ignore"):
            theta = xp.arccos(xp.clip(y, -1, 1))
            closed = {"t": xp.cos(m * theta),
                      "u": xp.sin((m + 1) * theta) / xp.sin(theta),
                      "v": xp.cos((m + 0.5) * theta) / xp.cos(theta / 2),
                      "w": xp.sin((m + 0.5) * theta) / xp.sin(theta / 2)}[kind]
        out = xp.where((n > limit) & (abs(y) < 1), closed, out)
        out = xp.where(y == 1, at_one, xp.where(y == -1, at_minus, out))
        return xp.where(n < 0, 0.0, out).astype(x.dtype, copy=False)

    return forward


def _hermite_h(xp, x, n):
    x, n = _degrees(xp, x, n)
    return _recurrence(xp, x, n, x + x, lambda d, q, p: (x + x) * q - (2 * d) * p)


def _hermite_he(xp, x, n):
    x, n = _degrees(xp, x, n)
    return _recurrence(xp, x, n, x, lambda d, q, p: x * q - d * p)


def _laguerre(xp, x, n):
    x, n = _degrees(xp, x, n)
    out = _recurrence(xp, x, n, 1 - x, lambda d, q, p: ((d + d + (1 - x)) * q - d * p) / (d + 1))
    return xp.where((x == 0) & (n >= 0), 1.0, out).astype(x.dtype, copy=False)


def _legendre(xp, x, n):
    x, n = _degrees(xp, x, n)
    out = _recurrence(xp, x, n, x, lambda d, q, p: ((d + d + 1) * x * q - d * p) / (d + 1))
    ends = xp.where((x > 0) | (n % 2 == 0), 1.0, -1.0)
    return xp.where((abs(x) == 1) & (n >= 0), ends, out).astype(x.dtype, copy=False)


def _declare(name, forward, doc):
    return binary(f"special.{name}", forward=forward, vjp=(None, None), floating=True, method=False, inplace=False,
                  doc=doc)


chebyshev_polynomial_t = _declare("chebyshev_polynomial_t", _chebyshev("t", False), "T_n(x) = cos(n acos x).")
chebyshev_polynomial_u = _declare("chebyshev_polynomial_u", _chebyshev("u", False),
                                  "U_n(x) = sin((n + 1) acos x) / sin(acos x).")
chebyshev_polynomial_v = _declare("chebyshev_polynomial_v", _chebyshev("v", False),
                                  "V_n(x) = cos((n + 1/2) acos x) / cos(acos(x) / 2).")
chebyshev_polynomial_w = _declare("chebyshev_polynomial_w", _chebyshev("w", False),
                                  "W_n(x) = sin((n + 1/2) acos x) / sin(acos(x) / 2).")
shifted_chebyshev_polynomial_t = _declare("shifted_chebyshev_polynomial_t", _chebyshev("t", True), "T_n(2x - 1).")
shifted_chebyshev_polynomial_u = _declare("shifted_chebyshev_polynomial_u", _chebyshev("u", True), "U_n(2x - 1).")
shifted_chebyshev_polynomial_v = _declare("shifted_chebyshev_polynomial_v", _chebyshev("v", True), "V_n(2x - 1).")
shifted_chebyshev_polynomial_w = _declare("shifted_chebyshev_polynomial_w", _chebyshev("w", True), "W_n(2x - 1).")
hermite_polynomial_h = _declare("hermite_polynomial_h", _hermite_h, "H_{n+1} = 2x H_n - 2n H_{n-1} (physicists').")
hermite_polynomial_he = _declare("hermite_polynomial_he", _hermite_he,
                                 "He_{n+1} = x He_n - n He_{n-1} (probabilists').")
laguerre_polynomial_l = _declare("laguerre_polynomial_l", _laguerre,
                                 "L_{n+1} = ((2n + 1 - x) L_n - n L_{n-1}) / (n + 1).")
legendre_polynomial_p = _declare("legendre_polynomial_p", _legendre,
                                 "P_{n+1} = ((2n + 1) x P_n - n P_{n-1}) / (n + 1).")

__all__ = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
           "legendre_polynomial_p"]
