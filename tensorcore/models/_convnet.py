"""Shared pieces of the conv-net models: output-shape arithmetic for an input-size-aware head."""

from ..errors import ShapeError
from ..nn.conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


def _out(size, kernel, stride, padding, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def feature_shape(modules, in_channels, size, model="model"):
    """(C, H, W) after running an (in_channels, size, size) image through `modules`, by arithmetic.

    Raises ShapeError naming the layer where the image becomes empty (input too small).
    """
    c, (h, w) = in_channels, _pair(size)
    for i, m in enumerate(modules):
        if isinstance(m, Conv2d):
            (kh, kw), (sh, sw), (dh, dw) = m.kernel_size, m.stride, m.dilation
            if m.padding == "same":
                ph = pw = None
            else:
                ph, pw = (0, 0) if m.padding == "valid" else m.padding
            if ph is not None:
                h, w = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
            c = m.out_channels
        elif isinstance(m, (MaxPool2d, AvgPool2d)):
            (kh, kw), (sh, sw), (ph, pw) = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
            d = _pair(getattr(m, "dilation", 1))
            h, w = _out(h, kh, sh, ph, d[0]), _out(w, kw, sw, pw, d[1])
        elif isinstance(m, AdaptiveAvgPool2d):
            h, w = _pair(m.output_size)
        if h < 1 or w < 1:
            raise ShapeError(f"{model}: a {size}x{size} input is too small: layer {i} ({type(m).__name__}) "
                             f"would output {h}x{w}")
    return c, h, w


def scaled(channels, width, multiple=1):
    """A channel count times the width multiplier, rounded to a multiple of `multiple` (for groups)."""
    return max(multiple, int(round(channels * width / multiple)) * multiple)
