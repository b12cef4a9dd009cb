"""torch.signal.windows: window functions of length M, PyTorch's (and SciPy's) formulas.

sym=True gives the symmetric window (for filter design); sym=False the periodic one (for spectral
analysis: the symmetric window of length M + 1 without its last point). float32 or float64; no gradient
flows into a window (requires_grad=True makes the result a leaf that requires grad).
"""

import math

import numpy as np

from ..dtypes import get_default_dtype
from ..errors import ArgumentError

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checks(name, M, dtype, layout):
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)):
        raise ArgumentError(f"{name}: M must be an int, got {type(M).__name__}")
    if M < 0:
        raise ArgumentError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and "strided" not in str(layout):
        raise ArgumentError(f"{name}: only strided (dense) layout is supported, got {layout}")
    dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise ArgumentError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _linspace(start, end, steps):
    """PyTorch's linspace: the first half counted from start, the second from end (so both ends are exact)."""
    if steps == 1:
        return np.array([start], dtype=np.float64)
    step = (end - start) / (steps - 1)
    i = np.arange(steps, dtype=np.float64)
    return np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))


def _finish(values, dtype, device, requires_grad):
    from ..tensor import tensor

    return tensor(np.asarray(values, dtype=dtype), device=device, requires_grad=requires_grad)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """exp(-|n - center| / tau)."""
    dtype = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ArgumentError(f"exponential: tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ArgumentError("exponential: center must be None for symmetric windows")
    if M == 0:
        return _finish(np.zeros(0), dtype, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    k = _linspace(-center / tau, (-center + (M - 1)) / tau, M)
    return _finish(np.exp(-np.abs(k)), dtype, device, requires_grad)


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """sin(pi (n + 1/2) / M) (the sine window)."""
    dtype = _checks("cosine", M, dtype, layout)
    if M == 0:
        return _finish(np.zeros(0), dtype, device, requires_grad)
    c = math.pi / (M + 1 if not sym and M > 1 else M)
    return _finish(np.sin(_linspace(0.5 * c, (0.5 + (M - 1)) * c, M)), dtype, device, requires_grad)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """exp(-(n - (M - 1) / 2)^2 / (2 std^2))."""
    dtype = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ArgumentError(f"gaussian: standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _finish(np.zeros(0), dtype, device, requires_grad)
    start, c = -(M if not sym and M > 1 else M - 1) / 2.0, 1 / (std * math.sqrt(2))
    return _finish(np.exp(-_linspace(start * c, (start + (M - 1)) * c, M) ** 2), dtype, device, requires_grad)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """I0(beta sqrt(1 - (2 n / (M - 1) - 1)^2)) / I0(beta)."""
    dtype = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ArgumentError(f"kaiser: beta must be non-negative, got: {beta} instead.")
    if M <= 1:
        return _finish(np.ones(M), dtype, device, requires_grad)
    beta = np.asarray(beta, dtype=dtype).astype(np.float64)
    c = 2.0 * beta / (M if not sym else M - 1)
    k = _linspace(-beta, min(beta, -beta + (M - 1) * c), M)
    return _finish(np.i0(np.sqrt(np.maximum(beta * beta - k * k, 0))) / np.i0(beta), dtype, device, requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """1 - |2 n / (M - 1) - 1| (the triangular window with zero ends)."""
    dtype = _checks("bartlett", M, dtype, layout)
    if M <= 1:
        return _finish(np.ones(M), dtype, device, requires_grad)
    c = 2 / (M if not sym else M - 1)
    return _finish(1 - np.abs(_linspace(-1, -1 + (M - 1) * c, M)), dtype, device, requires_grad)


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """sum_i (-1)^i a_i cos(2 pi i n / (M - 1))."""
    dtype = _checks("general_cosine", M, dtype, layout)
    if M <= 1:
        return _finish(np.ones(M), dtype, device, requires_grad)
    if not isinstance(a, (list, tuple)):
        raise ArgumentError(f"general_cosine: coefficients a must be a list or tuple, got {type(a).__name__}")
    if not a:
        raise ArgumentError("general_cosine: coefficients a cannot be empty")
    k = _linspace(0, (M - 1) * 2 * math.pi / (M if not sym else M - 1), M)
    w = sum((-1) ** i * float(ai) * np.cos(i * k) for i, ai in enumerate(a))
    return _finish(w, dtype, device, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """alpha - (1 - alpha) cos(2 pi n / (M - 1))."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """0.5 - 0.5 cos(2 pi n / (M - 1))."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """0.54 - 0.46 cos(2 pi n / (M - 1))."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))."""
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The minimum 4-term Blackman-Harris window (Nuttall's coefficients)."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)
