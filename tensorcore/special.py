"""tc.special: torch.special's names. Most are the same ops as tc.<name>; entr, ndtr and xlog1py are its own."""

import math

from .ops.activations import sigmoid as expit
from .ops.binary_math import xlogy
from .ops.compare import where
from .ops.declare import binary, unary
from .ops.nn import log_softmax, softmax
from .ops.reduce import logsumexp
from .ops.rounding import round
from .ops.special_math import digamma, erfc, erfcx, erfinv, lgamma, log_ndtr, mvlgamma, ndtri, polygamma
from .ops.unary import erf, exp, log, log1p
from .ops.unary_math import exp2, expm1, logit, sinc

_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _entr(xp, x):
    with __import__("numpy").errstate(divide="ignore", invalid="ignore"):
        out = xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)), xp.where(x == 0, 0.0, -xp.inf))
    return xp.where(xp.isnan(x), x, out).astype(x.dtype, copy=False)


entr = unary("special.entr", forward=_entr, vjp=lambda g, x: -g * (log(x) + 1), floating=True, method=False,
             inplace=False, doc="-x log x (0 at 0, -inf below).")


def _ndtr(xp, x):
    from .backends import cpu

    e = cpu.erf(x * _INV_SQRT_2) if xp.__name__ == "numpy" else __import__("cupyx.scipy.special").scipy.special.erf(
        x * _INV_SQRT_2)
    return (0.5 * (1 + e)).astype(x.dtype, copy=False)


ndtr = unary("special.ndtr", forward=_ndtr, vjp=lambda g, x: g * exp(x * x * -0.5) * _INV_SQRT_2PI, floating=True,
             method=False, inplace=False, doc="The standard normal CDF, (1 + erf(x / sqrt 2)) / 2.")


def _xlog1py(xp, x, y):
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where((x == 0) & ~xp.isnan(y), 0.0, x * xp.log1p(y)).astype(xp.result_type(x, y), copy=False)


xlog1py = binary("special.xlog1py", forward=_xlog1py, floating=True, method=False, inplace=False,
                 vjp=(lambda g, x, y: where((x == 0) & (y <= -1), 0.0, g * log1p(y)), lambda g, x, y: g * x / (y + 1)),
                 doc="x * log1p(y), 0 where x == 0 (unless y is NaN).")

gammaln, psi, multigammaln = lgamma, digamma, mvlgamma

from .ops.bessel import i0, i0e, i1, i1e, zeta  # noqa: E402, F401
from .ops.bessel_special import *  # noqa: E402, F401, F403  (bessel_j0 ... airy_ai)
from .ops.bessel_special import __all__ as _bessel_special  # noqa: E402
from .ops.igamma import igamma as gammainc  # noqa: E402  (P(a, x), torch.special.gammainc)
from .ops.igamma import igammac as gammaincc  # noqa: E402  (Q(a, x) = 1 - P(a, x))
from .ops.polynomials import *  # noqa: E402, F401, F403  (the orthogonal polynomials)
from .ops.polynomials import __all__ as _polynomials  # noqa: E402

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
           "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi",
           "round", "sinc", "softmax", "xlog1py", "xlogy", "i0", "i0e", "i1", "i1e", "zeta", "gammainc",
           "gammaincc"] + _polynomials + _bessel_special
