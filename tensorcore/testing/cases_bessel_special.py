"""Cases for torch.special's Bessel and Airy functions (tensorcore/ops/bessel_special.py): forward only, as
PyTorch records no gradient for them. References by other methods: J_n by the full-period trapezoid rule of
Bessel's integral, I_0 by NumPy, sin(x)/x directly, the rest by mpmath where it is installed."""

import numpy as np

from ..ops import bessel_special as BS
from .cases import OpCase

try:
    import mpmath
except ImportError:  # the references that need it are skipped (ref None: forward checks only the run)
    mpmath = None


def _j(n):
    def ref(x):
        t = 2 * np.pi * np.arange(64) / 64
        return np.cos(n * t - x[..., None] * np.sin(t)).mean(axis=-1)

    return ref


def _mp(fn):
    if mpmath is None:
        return None
    return lambda x: np.vectorize(lambda v: float(fn(mpmath.mpf(float(v)))))(x)


def _pos(r):
    return (r.uniform(0.3, 9.0, (2, 3)),)


def _real(r):
    return (r.uniform(-9.0, 9.0, (2, 3)),)


_SPEC = [
    ("bessel_j0", _real, _j(0)),
    ("bessel_j1", _real, _j(1)),
    ("bessel_y0", _pos, _mp(lambda v: mpmath.bessely(0, v))),
    ("bessel_y1", _pos, _mp(lambda v: mpmath.bessely(1, v))),
    ("modified_bessel_i0", _real, np.i0),
    ("modified_bessel_i1", _real, _mp(lambda v: mpmath.besseli(1, v))),
    ("modified_bessel_k0", _pos, _mp(lambda v: mpmath.besselk(0, v))),
    ("modified_bessel_k1", _pos, _mp(lambda v: mpmath.besselk(1, v))),
    ("scaled_modified_bessel_k0", _pos, _mp(lambda v: mpmath.besselk(0, v) * mpmath.exp(v))),
    ("scaled_modified_bessel_k1", _pos, _mp(lambda v: mpmath.besselk(1, v) * mpmath.exp(v))),
    ("spherical_bessel_j0", _real, lambda x: np.sin(x) / x),
    ("airy_ai", lambda r: (r.uniform(-6.0, 4.0, (2, 3)),), _mp(lambda v: mpmath.airyai(v))),
]

CASES = [OpCase(f"special.{name}", make, getattr(BS, name), ref, differentiable=False, rtol=1e-6, atol=1e-7)
         for name, make, ref in _SPEC]
