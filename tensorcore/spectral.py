"""torch.stft and torch.istft for real signals, composed of differentiable ops (pad, unfold, matmul with the DFT's
cos / sin matrices, fold for the overlap-add), so gradients flow through both.

tensorcore has no complex dtype: stft takes return_complex=False and gives torch's real layout (..., freq, frames, 2)
(real and imaginary parts last); istft takes that same layout (torch's istft wants a complex tensor; the (..., 2)
pair is tensorcore's spelling of one). With a window w, hop H and N = n_fft:

  X[f, t] = sum_n w[n] x[t H + n] e^(-2 pi i f n / N)        (normalized: times N^-1/2; onesided: f <= N / 2)
  istft: y = sum_t w * irfft(X[:, t]) placed at t H, divided by sum_t w^2 placed the same way.
"""

import math
import warnings

import numpy as np

from .errors import ArgumentError, ShapeError
from .tensor import Tensor


def _constant(array, like):
    from .tensor import tensor

    return tensor(np.asarray(array, dtype=like.dtype), device=like.device)


def _window(name, window, n_fft, win_length, like):
    if window is None:
        window = _constant(np.ones(win_length), like)
    elif not isinstance(window, Tensor) or window.ndim != 1 or window.shape[0] != win_length:
        raise ShapeError(f"{name}: expected a 1D window tensor of size equal to win_length={win_length}, got "
                         f"{getattr(window, 'shape', type(window).__name__)}")
    if win_length < n_fft:  # centered in n_fft, as torch
        left = (n_fft - win_length) // 2
        window = _pad_1d(window, left, n_fft - win_length - left)
    return window.to(dtype=like.dtype)


def _pad_1d(t, left, right):
    from .ops.padding import pad

    return pad(t, (left, right))


def _lengths(name, n_fft, hop_length, win_length):
    if isinstance(n_fft, bool) or not isinstance(n_fft, (int, np.integer)) or n_fft <= 0:
        raise ArgumentError(f"{name}: expected 0 < n_fft, got n_fft={n_fft}")
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if hop <= 0:
        raise ArgumentError(f"{name}: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win <= n_fft:
        raise ArgumentError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win}")
    return int(n_fft), int(hop), int(win)


def _dft(n_fft, freqs, like):
    angle = 2 * math.pi * np.outer(np.arange(n_fft), np.arange(freqs)) / n_fft  # (N, F)
    return _constant(np.cos(angle), like), _constant(np.sin(angle), like)


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform of a real (L,) or (B, L) signal: (..., n_fft // 2 + 1, frames, 2)."""
    from .nn import functional as F

    if not isinstance(input, Tensor) or input.ndim not in (1, 2) or input.dtype.kind not in "fV":
        raise ShapeError(f"stft: expected a 1D or 2D floating tensor, got "
                         f"{getattr(input, 'shape', type(input).__name__)} {getattr(input, 'dtype', '')}")
    if return_complex is None:
        raise ArgumentError("stft requires the return_complex parameter be given for real inputs (tensorcore: "
                            "return_complex=False; it has no complex dtype)")
    if return_complex:
        raise ArgumentError("stft: return_complex=True needs a complex dtype, which tensorcore does not have; use "
                            "return_complex=False (real and imaginary parts in a last dim of size 2)")
    n_fft, hop, win = _lengths("stft", n_fft, hop_length, win_length)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied,which is known to cause "
                      "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                      "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
                      "window, explicitly set `window=torch.ones(n_fft, device=<device>)`.", UserWarning,
                      stacklevel=2)
    warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                  "complex tensors for all inputs, and return_complex=False will raise an error.", UserWarning,
                  stacklevel=2)
    batched = input.ndim == 2
    x = input if batched else input.unsqueeze(0)
    if center:
        x = F.pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise ShapeError(f"stft: expected 0 < n_fft <= {x.shape[-1]} (the padded signal length), got n_fft={n_fft}")
    frames = x.unfold(-1, n_fft, hop) * _window("stft", window, n_fft, win, x)  # (B, T, N)
    freqs = n_fft // 2 + 1 if onesided is None or onesided else n_fft
    cos, sin = _dft(n_fft, freqs, x)
    out = _pair(frames @ cos, -(frames @ sin))
    if normalized:
        out = out * (n_fft ** -0.5)
    out = out.transpose(1, 2)  # (B, F, T, 2)
    return out if batched else out.squeeze(0)


def _pair(real, imag):
    from .ops.joins import stack

    return stack([real, imag], -1)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """The inverse of stft: input (..., freq, frames, 2) (stft's return_complex=False layout) -> (L,) or (B, L)."""
    from .nn import functional as F

    if not isinstance(input, Tensor) or input.ndim not in (3, 4) or input.shape[-1] != 2:
        raise ShapeError("istft: expected stft's real layout (freq, frames, 2) or (batch, freq, frames, 2) "
                         f"(tensorcore has no complex dtype), got {getattr(input, 'shape', type(input).__name__)}")
    if return_complex:
        raise ArgumentError("istft: return_complex=True needs a complex dtype, which tensorcore does not have")
    n_fft, hop, win = _lengths("istft", n_fft, hop_length, win_length)
    batched = input.ndim == 4
    X = input if batched else input.unsqueeze(0)
    freqs, frames = X.shape[1], X.shape[2]
    one = onesided is None or onesided
    if freqs != (n_fft // 2 + 1 if one else n_fft):
        raise ShapeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                         f"n_fft / 2 + 1 when onesided=True, but got {freqs}" if one else
                         f"istft: expected {n_fft} frequencies when onesided=False, got {freqs}")
    if normalized:
        X = X * (n_fft ** 0.5)
    weights = np.ones(freqs)
    if one:  # the bins of the other half, each the mirror of one here (not DC, nor the Nyquist bin)
        weights[1:(n_fft + 1) // 2] = 2.0
    cos, sin = _dft(n_fft, freqs, X)
    scale = _constant(weights / n_fft, X)
    real, imag = X[..., 0].transpose(1, 2), X[..., 1].transpose(1, 2)  # (B, T, F)
    if one:  # (the imaginary part of DC and Nyquist does not reach a real signal)
        keep = np.ones(freqs)
        keep[0] = 0.0
        if n_fft % 2 == 0:
            keep[-1] = 0.0
        imag = imag * _constant(keep, X)
    frames_t = ((real * scale) @ cos.mT - (imag * scale) @ sin.mT)  # (B, T, N)
    w = _window("istft", window, n_fft, win, X)
    frames_t = frames_t * w
    total = n_fft + hop * (frames - 1)
    y = F.fold(frames_t.transpose(1, 2), (1, total), (1, n_fft), stride=(1, hop)).reshape(X.shape[0], total)
    envelope = F.fold((w * w).reshape(1, n_fft, 1).expand(1, n_fft, frames), (1, total), (1, n_fft),
                      stride=(1, hop)).reshape(total)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (total - n_fft // 2 if center else total)
    y, envelope = y[:, start:min(end, total)], envelope[start:min(end, total)]
    if bool((envelope.abs() < 1e-11).any()):
        raise ArgumentError("istft: window overlap add min: 1e-11 (the window's squares sum to zero somewhere)")
    y = y / envelope
    if end > total:
        y = _pad_1d(y, 0, end - total)
    return y if batched else y.squeeze(0)


EXPORTS = ("stft", "istft")

for _name in EXPORTS:
    if not hasattr(Tensor, _name):
        from .tensor import attach_method

        attach_method(_name, globals()[_name])
