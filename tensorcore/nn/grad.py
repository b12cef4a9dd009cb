"""torch.nn.grad: the gradients of conv1d / conv2d / conv3d with respect to their input or weight, given the
output's gradient (conv{n}d_input, conv{n}d_weight).

Each runs the convolution on a zero tensor of the requested size and takes the vector-Jacobian product with
grad_output through tensorcore's autograd; the convolution is linear in that argument, so the result is exact,
and it is itself differentiable (in weight / input and grad_output) when they require grad.
"""

from ..errors import ArgumentError
from ..tensor import Tensor

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _vjp(op, size, other, grad_output, conv, wrt_input):
    from ..autograd import enable_grad, grad
    from ..creation import zeros

    if not isinstance(other, Tensor) or not isinstance(grad_output, Tensor):
        raise ArgumentError(f"{op}: {'weight' if wrt_input else 'input'} and grad_output must be Tensors")
    size = tuple(int(s) for s in size)
    z = zeros(*size, dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
    higher = other.requires_grad or grad_output.requires_grad
    with enable_grad():
        y = conv(z, other) if wrt_input else conv(other, z)
        if tuple(y.shape) != tuple(grad_output.shape):
            from ..errors import ShapeError

            raise ShapeError(f"{op}: grad_output has shape {tuple(grad_output.shape)}, but the convolution gives "
                             f"{tuple(y.shape)}")
        (g,) = grad(y, z, grad_output, create_graph=higher)
    return g


def _make(n):
    def conv(x, w, stride, padding, dilation, groups):
        from . import functional as F

        return getattr(F, f"conv{n}d")(x, w, None, stride, padding, dilation, groups)

    def conv_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
        return _vjp(f"conv{n}d_input", input_size, weight, grad_output,
                    lambda x, w: conv(x, w, stride, padding, dilation, groups), True)

    def conv_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
        return _vjp(f"conv{n}d_weight", weight_size, input, grad_output,
                    lambda x, w: conv(x, w, stride, padding, dilation, groups), False)

    conv_input.__name__, conv_weight.__name__ = f"conv{n}d_input", f"conv{n}d_weight"
    conv_input.__doc__ = f"The gradient of conv{n}d with respect to its input (of size input_size)."
    conv_weight.__doc__ = f"The gradient of conv{n}d with respect to its weight (of size weight_size)."
    return conv_input, conv_weight


conv1d_input, conv1d_weight = _make(1)
conv2d_input, conv2d_weight = _make(2)
conv3d_input, conv3d_weight = _make(3)
