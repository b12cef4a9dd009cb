"""torch.nn.utils.fusion (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights),
nn.utils.skip_init, nn.utils.clip_grad_norm, and the deprecated nn.init spellings without the underscore.

Fusing folds an eval-mode BatchNorm that follows a convolution (or a linear layer) into that layer's weight
and bias: with s = bn.weight / sqrt(running_var + eps),
    W' = W * s (per output channel),   b' = (b - running_mean) * s + bn.bias
so fused(x) == bn(conv(x)) in eval mode.
"""

import copy
import inspect
import math
import warnings

from ..errors import ArgumentError, ShapeError
from ..grad_mode import no_grad
from ..tensor import Tensor
from .module import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
           "skip_init", "clip_grad_norm"]


def _zeros_like(t):
    return t.detach() * 0


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The fused (weight, bias) Parameters of a convolution followed by a batch norm (transpose=True: the
    weight's output channels are on axis 1, as for ConvTranspose)."""
    if not isinstance(conv_w, Tensor) or not isinstance(bn_rm, Tensor) or not isinstance(bn_rv, Tensor):
        raise ArgumentError("fuse_conv_bn_weights: conv_w, bn_rm and bn_rv must be Tensors")
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    conv_b = _zeros_like(bn_rm) if conv_b is None else conv_b
    bn_w = _zeros_like(bn_rm) + 1 if bn_w is None else bn_w
    bn_b = _zeros_like(bn_rm) if bn_b is None else bn_b
    rsqrt = (bn_rv + bn_eps).rsqrt()
    shape = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.ndim - 2)
    fused_w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(dtype=w_dtype)
    fused_b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w.detach(), conv_w.requires_grad), Parameter(fused_b.detach(), conv_b.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of conv with bn (both in eval mode) folded into its weight and bias."""
    if conv.training or bn.training:
        raise ArgumentError("fuse_conv_bn_eval: Fusion only for eval! (call .eval() on both modules)")
    if bn.running_mean is None or bn.running_var is None:
        raise ArgumentError(f"fuse_conv_bn_eval: {type(bn).__name__} has no running statistics "
                            "(track_running_stats=False)")
    fused = copy.deepcopy(conv)
    with no_grad():
        fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                        bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused (weight, bias) Parameters of a linear layer followed by a batch norm."""
    if not isinstance(linear_w, Tensor) or not isinstance(bn_rm, Tensor) or not isinstance(bn_rv, Tensor):
        raise ArgumentError("fuse_linear_bn_weights: linear_w, bn_rm and bn_rv must be Tensors")
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    linear_b = _zeros_like(bn_rm) if linear_b is None else linear_b
    scale = bn_w * (bn_rv + bn_eps).rsqrt()
    fused_w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
    fused_b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w.detach(), linear_w.requires_grad), Parameter(fused_b.detach(), linear_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of linear with bn (both in eval mode) folded into its weight and bias; bn.num_features must be
    linear.out_features or 1."""
    if linear.training or bn.training:
        raise ArgumentError("fuse_linear_bn_eval: Fusion only for eval! (call .eval() on both modules)")
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise ShapeError(f"fuse_linear_bn_eval: To fuse, linear.out_features == bn.num_features or "
                         f"bn.num_features == 1 (got {linear.out_features} and {bn.num_features})")
    if bn.running_mean is None or bn.running_var is None:
        raise ArgumentError(f"fuse_linear_bn_eval: {type(bn).__name__} has no running statistics "
                            "(track_running_stats=False)")
    fused = copy.deepcopy(linear)
    with no_grad():
        fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                          bn.eps, bn.weight, bn.bias)
    return fused


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) without its parameter initialization drawing random numbers (PyTorch's:
    the values are unspecified). The class must take a `device` argument, as torch requires."""
    from ..random import get_rng_state, set_rng_state

    try:
        params = inspect.signature(module_cls).parameters
    except (TypeError, ValueError):
        params = {}
    if "device" not in params:
        raise ArgumentError(f"skip_init: Module must support a 'device' arg to skip initialization "
                            f"({getattr(module_cls, '__name__', module_cls)!r} does not)")
    state = get_rng_state()
    try:
        module = module_cls(*args, **kwargs)
    finally:
        set_rng_state(state)
    return module


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated (PyTorch's spelling): warns and calls clip_grad_norm_."""
    from .utils import clip_grad_norm_

    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


# --- nn.init: sparse_ and the deprecated spellings ---------------------------------------------------------


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A 2-D tensor ~ N(0, std) with a fraction `sparsity` of each column's entries set to zero."""
    from .. import randperm

    if not isinstance(tensor, Tensor) or tensor.ndim != 2:
        raise ShapeError(f"sparse_: only tensors with 2 dimensions are supported, got "
                         f"{getattr(tensor, 'ndim', type(tensor).__name__)}")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        for col in range(cols):
            zero = randperm(rows, generator=generator)[:num_zeros].numpy()
            tensor._data[zero, col] = 0
        tensor._version += 1
    return tensor


def _deprecated(init, new_name):
    method = getattr(init, new_name)
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return method(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"Deprecated: warns (FutureWarning) and calls nn.init.{new_name}."
    return deprecated_init


_OLD_INIT_NAMES = ("uniform_", "normal_", "constant_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
                   "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")


def utils_namespaces(utils):
    """torch.nn.utils.clip_grad and torch.nn.utils.convert_parameters: modules of nn.utils' functions."""
    import types

    spaces = {}
    for name, members in (("clip_grad", ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
                                         "clip_grads_with_norm_")),
                          ("convert_parameters", ("parameters_to_vector", "vector_to_parameters"))):
        ns = types.ModuleType(f"tensorcore.nn.utils.{name}", f"torch.nn.utils.{name}'s functions.")
        for member in members:
            setattr(ns, member, getattr(utils, member))
        spaces[name] = ns
    return spaces


def install_init_aliases(init):
    """Add sparse_ and the deprecated spellings (uniform, normal, ... as PyTorch's) to the nn.init module."""
    if not hasattr(init, "sparse_"):
        init.sparse_ = sparse_
    for name in _OLD_INIT_NAMES:
        if not hasattr(init, name[:-1]):
            setattr(init, name[:-1], _deprecated(init, name))
