"""More of torch.nn's pooling: FractionalMaxPool2d / 3d (F.fractional_max_pool2d / 3d and their _with_indices),
LPPool3d / F.lp_pool3d, F.max_pool3d_with_indices and F.adaptive_max_pool3d_with_indices.

Fractional max pooling (Graham, 2014) pools windows of kernel_size whose starts follow a pseudo-random
sequence, one per plane and spatial axis, drawn from `_random_samples` (N, C, 2 or 3) in [0, 1): with
alpha = (in - k) / (out - 1), start_i = int((i + u) alpha) - int(u alpha) for i < out - 1, and the last
window ends at the input's end. This is PyTorch's sequence, computed in the input's dtype as PyTorch does,
so the same `_random_samples` give the same windows; 2-D samples are (u_W, u_H), 3-D ones (u_T, u_H, u_W).
The maxima are gathered from the flattened planes, so the gradient (and its gradient) is gather's.
"""

import numpy as np

from .. import _validate as check
from ..errors import ArgumentError, ShapeError
from ..ops.registry import guard
from ..tensor import Tensor
from .module import Module

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d", "LPPool3d", "fractional_max_pool2d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d", "fractional_max_pool3d_with_indices",
           "lp_pool3d", "max_pool3d_with_indices", "adaptive_max_pool3d_with_indices"]


def _tuple(op, name, value, n):
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {tuple(value)}")
        return tuple(check.integer(v, name, op) for v in value)
    return (check.integer(value, name, op),) * n


def _ratio(op, value, n):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n:
        raise ArgumentError(f"{op} requires output_ratio to either be a single number or {n} numbers, got {values}")
    return tuple(check.number(v, "output_ratio", op) for v in values)


def _intervals(sample, in_size, out_size, k):
    """PyTorch's generate_intervals for every plane at once: sample (P,) in the input's dtype -> starts (P, out)."""
    dt = sample.dtype.type
    starts = np.empty((sample.shape[0], out_size), dtype=np.int64)
    if out_size > 1:
        alpha = dt(in_size - k) / dt(out_size - 1)
        i = np.arange(out_size - 1).astype(sample.dtype)
        first = ((i[None, :] + sample[:, None]) * alpha).astype(np.int64)
        starts[:, :-1] = first - (sample * alpha).astype(np.int64)[:, None]
    if out_size > 0:
        starts[:, -1] = in_size - k
    return starts


def _fractional(op, n, input, kernel_size, output_size, output_ratio, _random_samples):
    if not isinstance(input, Tensor):
        raise ArgumentError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got shape "
                         f"{tuple(input.shape)}")
    if input.dtype.kind not in "fV":
        raise ArgumentError(f"{op}: input must be floating, got {input.dtype}")
    kernel = _tuple(op, "kernel_size", kernel_size, n)
    spatial = tuple(input.shape[-n:])
    if output_size is None and output_ratio is None:
        raise ArgumentError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = _ratio(op, output_ratio, n)
        out = tuple(int(s * r) for s, r in zip(spatial, ratio))
    else:
        out = _tuple(op, "output_size", output_size, n)
    if any(k < 1 for k in kernel) or any(o < 1 for o in out):
        raise ArgumentError(f"{op}: kernel_size {kernel} and output size {out} must be positive")
    axes = ("time", "height", "width")[-n:] if n == 3 else ("height", "width")
    for o, k, s, name in zip(out, kernel, spatial, axes):
        if o + k - 1 > s:
            raise ShapeError(f"{op}: output {name} {o} with pool size {k} is too large relative to input {name} {s} "
                             f"(output_size + kernel_size - 1 must be at most the input size)")
    x = input if input.ndim == n + 2 else input.unsqueeze(0)
    batch, planes = x.shape[0], x.shape[1]
    if _random_samples is None:
        from ..creation import rand

        _random_samples = rand(batch, planes, n, dtype=input.dtype, device=input.device)
    if not isinstance(_random_samples, Tensor) or tuple(_random_samples.shape) != (batch, planes, n):
        raise ShapeError(f"{op}: _random_samples must have shape ({batch}, {planes}, {n}), got "
                         f"{tuple(getattr(_random_samples, 'shape', ()))}")
    samples = np.asarray(_random_samples.detach().cpu().numpy()).astype(input.dtype).reshape(batch * planes, n)
    order = (1, 0) if n == 2 else (0, 1, 2)  # which sample drives which spatial axis (PyTorch's)
    starts = [_intervals(samples[:, order[a]], spatial[a], out[a], kernel[a]) for a in range(n)]
    # every window's flat input positions: (P, *out, prod(kernel)), in the row-major order of the window
    strides = [int(np.prod(spatial[a + 1:])) for a in range(n)]
    flat = np.zeros((batch * planes,) + out + kernel, dtype=np.int64)
    for a in range(n):
        pos = starts[a][:, :, None] + np.arange(kernel[a])[None, None, :]  # (P, out_a, k_a)
        shape = [batch * planes] + [1] * n + [1] * n
        shape[1 + a], shape[1 + n + a] = out[a], kernel[a]
        flat = flat + pos.reshape(shape) * strides[a]
    flat = flat.reshape(batch * planes, int(np.prod(out)), int(np.prod(kernel)))
    values = np.asarray(x.detach().cpu().numpy()).reshape(batch * planes, -1)
    windows = np.take_along_axis(values, flat.reshape(batch * planes, -1), axis=1).reshape(flat.shape)
    pick = np.argmax(windows, axis=2)  # the first maximum, as PyTorch's strict >
    nan = np.isnan(windows)
    if nan.any():  # PyTorch takes a NaN over anything, the last one in the window
        last_nan = windows.shape[2] - 1 - np.argmax(nan[:, :, ::-1], axis=2)
        pick = np.where(nan.any(axis=2), last_nan, pick)
    indices = np.take_along_axis(flat, pick[:, :, None], axis=2)[:, :, 0]  # (P, prod(out))
    from ..tensor import tensor

    idx = tensor(indices.reshape((batch, planes) + out), device=input.device)
    y = x.reshape(batch, planes, -1).gather(2, idx.reshape(batch, planes, -1)).reshape((batch, planes) + out)
    if input.ndim == n + 1:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return y, idx


def _fractional_2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                   _random_samples=None):
    y, idx = _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, idx) if return_indices else y


def _fractional_3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                   _random_samples=None):
    y, idx = _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, idx) if return_indices else y


_frac2 = guard("fractional_max_pool2d", _fractional_2d)
_frac3 = guard("fractional_max_pool3d", _fractional_3d)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """torch.nn.functional.fractional_max_pool2d over (N, C, H, W) or (C, H, W)."""
    return _frac2(input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _frac2(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """torch.nn.functional.fractional_max_pool3d over (N, C, T, H, W) or (C, T, H, W)."""
    return _frac3(input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _frac3(input, kernel_size, output_size, output_ratio, True, _random_samples)


class _FractionalMaxPoolNd(Module):
    n, fn = 2, None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name, n = type(self).__name__, self.n
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _tuple(name, "output_size", output_size, n) if output_size is not None else None
        self.output_ratio = _ratio(name, output_ratio, n) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ArgumentError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ArgumentError(f"{name}: only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ArgumentError(f"{name}: output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return type(self).fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                             _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """torch.nn.FractionalMaxPool2d(kernel_size, output_size=None, output_ratio=None, return_indices=False,
    _random_samples=None)."""

    n, fn = 2, staticmethod(fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """torch.nn.FractionalMaxPool3d(kernel_size, output_size=None, output_ratio=None, return_indices=False,
    _random_samples=None)."""

    n, fn = 3, staticmethod(fractional_max_pool3d)


# --- LPPool3d, the 3-d _with_indices spellings ----------------------------------------------------------------


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each kd x kh x kw window of x^p)^(1/p) (torch.nn.functional.lp_pool3d)."""
    from . import functional as F

    kd, kh, kw = _tuple("lp_pool3d", "kernel_size", kernel_size, 3)
    return F._lp_pool(F.avg_pool3d, input, norm_type, kernel_size, stride, ceil_mode, kd * kh * kw)


class LPPool3d(Module):
    """torch.nn.LPPool3d(norm_type, kernel_size, stride=None, ceil_mode=False)."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        return lp_pool3d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    from . import functional as F

    return F.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    from . import functional as F

    return F.adaptive_max_pool3d(input, output_size, True)
