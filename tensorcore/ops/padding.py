"""torch.nn.functional.pad: constant, reflect, replicate and circular padding (negative widths crop, as PyTorch).

The pad tuple is PyTorch's: (left, right) of the last dimension first, then of the one before, ...
Non-constant modes gather each padded dimension with index_select, so the gradient adds up the
copies of each element (as PyTorch's).
"""

import operator

import numpy as np

from ..errors import ArgumentError
from ..tensor import _make
from .registry import register

_MODES = ("constant", "reflect", "replicate", "circular")
_NON_CONSTANT = {2: (2, 3), 4: (3, 4), 6: (4, 5)}  # pad length -> input ndims PyTorch accepts


def _pairs(input, pad):
    if not isinstance(pad, (tuple, list)):
        raise ArgumentError(f"pad: pad must be a tuple of ints, got {type(pad).__name__}")
    try:
        pad = [operator.index(p) for p in pad]
    except TypeError:
        raise ArgumentError(f"pad: pad must be a tuple of ints, got {tuple(pad)!r:.60}") from None
    if len(pad) % 2:
        raise ArgumentError(f"pad: padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > input.ndim:
        raise ArgumentError(f"pad: padding length should be less than or equal to two times the input dimension "
                            f"but got padding length {len(pad)} and input of dimension {input.ndim}")
    return [(input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]


def _source_index(n, left, right, mode, op):
    """For each output position along a dimension of size n, the input position it copies."""
    i = np.arange(-left, n + right)
    if mode == "reflect":
        if left >= n or right >= n:
            raise ArgumentError(f"{op}: padding ({left}, {right}) should be less than the dimension size {n} "
                                "for reflect padding")
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        if n == 0:
            raise ArgumentError(f"{op}: cannot replicate-pad an empty dimension")
        return np.clip(i, 0, n - 1)
    if left > n or right > n:
        raise ArgumentError(f"{op}: padding value causes wrapping around more than once (padding ({left}, "
                            f"{right}) for a dimension of size {n})")
    if left < 0 or right < 0:  # as PyTorch: crop first, then wrap the cropped core
        start, m = max(-left, 0), n - max(-left, 0) - max(-right, 0)
        if max(left, 0) > m or max(right, 0) > m:
            raise ArgumentError(f"{op}: circular padding ({left}, {right}) wraps the cropped dimension of size {m} "
                                "around more than once")
        return start + np.arange(-max(left, 0), m + max(right, 0)) % m if m else np.arange(0)
    return i % n


@register("functional_pad")
def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative constant widths, crop) the last len(pad) // 2 dimensions, last dimension first.

    Example:
        F.pad(x, (1, 1, 2, 0), mode="reflect")   # W: 1 left, 1 right; H: 2 on top
    """
    from .index import index_select
    from .shape import pad as constant_pad

    if mode not in _MODES:
        raise ArgumentError(f"pad: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r:.40}")
    pairs = _pairs(input, pad)
    padded = list(input.shape)
    for dim, left, right in pairs:
        padded[dim] = max(padded[dim] + left + right, 0)
    from .._validate import fits_in_memory

    fits_in_memory(tuple(padded), input.dtype, "pad")
    if mode == "constant":
        for dim, left, right in pairs:  # crop first
            if left < 0 or right < 0:
                n = input.shape[dim]
                start, stop = max(-left, 0), n - max(-right, 0)
                if stop < start:
                    raise ArgumentError(f"pad: negative padding ({left}, {right}) removes more than the "
                                        f"{n} elements of dimension {dim}")
                input = input.narrow(dim, start, stop - start)
        widths = [(0, 0)] * input.ndim
        for dim, left, right in pairs:
            widths[dim] = (max(left, 0), max(right, 0))
        return constant_pad(input, widths, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise ArgumentError(f"pad: padding mode {mode!r} doesn't take in value argument")
    if len(pad) not in _NON_CONSTANT or input.ndim not in _NON_CONSTANT[len(pad)]:
        raise ArgumentError(f"pad: padding size {len(pad)} is not supported for {input.ndim}D input tensor with "
                            f"mode {mode!r} (2D or 3D input: size 2; 3D or 4D: size 4; 4D or 5D: size 6)")
    for dim, left, right in pairs:
        if input.shape[dim] + left + right < (0 if mode == "circular" else 1):
            raise ArgumentError(f"pad: negative padding ({left}, {right}) removes more than the {input.shape[dim]} "
                                f"elements of dimension {dim} in mode {mode!r}")
        if left or right:  # a negative width crops: the source index formula covers it
            index = _source_index(input.shape[dim], left, right, mode, "pad")
            index = _make(input.device.backend.from_host(index.astype(np.int64)), input.device, False, None)
            input = index_select(input, dim, index)
    return input
