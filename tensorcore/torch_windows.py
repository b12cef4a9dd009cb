"""torch's window functions: hann_window, hamming_window, blackman_window, bartlett_window, kaiser_window.

periodic=True (the default) gives the window of length N + 1 without its last point (for spectral analysis);
periodic=False the symmetric one. Each is computed in its dtype (the default float dtype unless given), in the
order of PyTorch's own kernels, so float32 and float16 windows round as PyTorch's do. No gradient flows into a
window (requires_grad=True makes it a leaf that requires grad). torch.signal.windows has the sym= spellings.
"""

import math

import numpy as np

from .dtypes import as_dtype, get_default_dtype
from .errors import ArgumentError, DTypeError


def _checks(name, window_length, dtype, layout):
    if isinstance(window_length, bool) or not isinstance(window_length, (int, np.integer)):
        raise ArgumentError(f"{name}: window_length must be an int, got {type(window_length).__name__}")
    if window_length < 0:
        raise ArgumentError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if layout is not None and "strided" not in str(layout):
        raise ArgumentError(f"{name} is not implemented for sparse types, got layout {layout}")
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    if dt.kind not in "fV":
        raise DTypeError(f"{name} expects floating point dtypes, got: {dt}")
    return dt


def _window(name, window_length, periodic, dtype, layout, device, requires_grad, body):
    from .tensor import tensor

    dt = _checks(name, window_length, dtype, layout)
    if window_length <= 1:
        values = np.ones(window_length, dtype=dt)
    else:
        n = window_length + 1 if periodic else window_length
        values = body(np.arange(n).astype(dt), n, dt)[:window_length]
    return tensor(np.ascontiguousarray(values.astype(dt)), device=device, requires_grad=requires_grad)


def _scalar(value, dt):
    return np.asarray(value, dtype=np.float32 if dt.itemsize < 4 else dt)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    """alpha - beta cos(2 pi n / (N - 1))."""

    def body(n, size, dt):
        step = (n * _scalar(2 * math.pi / (size - 1), dt)).astype(dt)
        return (np.cos(step).astype(dt) * _scalar(-beta, dt)).astype(dt) + _scalar(alpha, dt)

    return _window("hamming_window", window_length, periodic, dtype, layout, device, requires_grad, body)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """0.5 - 0.5 cos(2 pi n / (N - 1)) (the Hamming window with alpha = beta = 0.5)."""
    return _named("hann_window", hamming_window, window_length, periodic, dtype, layout, device, requires_grad,
                  0.5, 0.5)


def _named(name, fn, window_length, periodic, dtype, layout, device, requires_grad, *args):
    _checks(name, window_length, dtype, layout)
    return fn(window_length, periodic, *args, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""

    def body(n, size, dt):
        w = (n * _scalar(math.pi / (size - 1), dt)).astype(dt)
        four = (np.cos((w * _scalar(4, dt)).astype(dt)).astype(dt) * _scalar(0.08, dt)).astype(dt)
        two = (np.cos((w * _scalar(2, dt)).astype(dt)).astype(dt) * _scalar(0.5, dt)).astype(dt)
        return ((four - two).astype(dt) + _scalar(0.42, dt)).astype(dt)

    return _window("blackman_window", window_length, periodic, dtype, layout, device, requires_grad, body)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """1 - |2n / (N - 1) - 1|: rising 2n / (N - 1) in the first half, 2 - 2n / (N - 1) in the second."""

    def body(n, size, dt):
        w = (n * _scalar(2.0 / (size - 1), dt)).astype(dt)
        half = ((size - 1) >> 1) + 1
        w[half:] = (_scalar(2, dt) - w[half:]).astype(dt)
        return w

    return _window("bartlett_window", window_length, periodic, dtype, layout, device, requires_grad, body)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    """I0(beta sqrt(1 - ((n - (N - 1) / 2) / ((N - 1) / 2))^2)) / I0(beta) (I0: the modified Bessel function)."""

    def body(n, size, dt):
        alpha = (size - 1) / 2.0
        ratio = (n.astype(np.float64) - alpha) / alpha
        return np.i0(beta * np.sqrt(np.clip(1 - ratio * ratio, 0.0, None))) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, dtype, layout, device, requires_grad, body)


EXPORTS = ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window")
