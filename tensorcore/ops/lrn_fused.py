"""local_response_norm as one node on the backend's fused kernels (the CPU's: backends/cpu_parallel_lrn.py).

The NumPy composite in norm.py (x * x, a channel window sum, a power, a division) makes about ten
passes over x forward and twenty backward, on one thread; this node makes one forward and two backward.
Same values (PyTorch's convention: alpha divided by size, channels past the edges are zeros):
    y = x / d^beta,   d = k + alpha / size * (sum of x^2 over the channel window)
Its Tensor backward is the same formula in tensor ops (so it differentiates again); plain backward()
runs the kernel (backward_arrays). Where it runs is the backend's choice (`lrn_fused(array)`: large CPU
float32/float64 arrays; cuda keeps the composite).
"""

from ..autograd import Function
from .norm import ChannelWindowSum


class LocalResponseNorm(Function):
    """y = x / (k + alpha / size * window_sum(x^2))^beta over axis 1, one node."""

    op_name = "local_response_norm"

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        y, d = ctx.backend.lrn_forward(x, size, alpha, beta, k)
        ctx.params = (size, alpha, beta, k)
        ctx.save_for_backward(x, d)
        return y

    @staticmethod
    def backward(ctx, g):
        x, _ = ctx.saved_tensors
        size, alpha, beta, k = ctx.params
        before, after = size // 2, (size - 1) // 2
        coef = alpha / size
        d = ChannelWindowSum.apply(x * x, before=before, after=after) * coef + k
        t = g * x / d ** (beta + 1)
        return g / d ** beta - ChannelWindowSum.apply(t, before=after, after=before) * x * (2 * beta * coef)

    @staticmethod
    def backward_arrays(ctx, g):
        x, d = ctx.saved_arrays
        size, alpha, beta, _ = ctx.params
        return (ctx.backend.lrn_backward(g, x, d, size, alpha, beta),)


def takes(x):
    """Whether local_response_norm(x) takes the fused node: the backend has kernels for this array."""
    return x.device.backend.lrn_fused(x._data)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """The fused node (arguments checked by norm.local_response_norm, which calls it when `takes(x)`)."""
    return LocalResponseNorm.apply(x, size=size, alpha=float(alpha), beta=float(beta), k=float(k))
