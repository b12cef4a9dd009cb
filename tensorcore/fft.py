"""tc.fft: torch.fft's real-valued names, fftshift and ifftshift (the transforms' outputs are complex, and
tensorcore holds no complex tensors)."""

from .ops.layout import roll


def _dims(input, dim):
    if dim is None:
        return list(range(input.ndim))
    return [dim] if isinstance(dim, int) else list(dim)


def fftshift(input, dim=None):
    """Roll each dim by n // 2: the zero frequency to the middle."""
    dims = _dims(input, dim)
    return roll(input, [input.shape[d] // 2 for d in dims], dims) if dims else input * 1


def ifftshift(input, dim=None):
    """fftshift's inverse: roll each dim by -(n // 2)."""
    dims = _dims(input, dim)
    return roll(input, [-(input.shape[d] // 2) for d in dims], dims) if dims else input * 1
