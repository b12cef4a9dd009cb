"""torch's in-place functions, derived in one place from the out-of-place ops.

- `torch.<op>_(input, ...)` (torch.acos_, torch.xlogy_, torch.clamp_min_, torch.dropout_, ...) is
  `input.<op>_(...)` where the Tensor has that method, else `torch.<op>(input, ...)` written into input.
- The Tensor methods `<op>_` that torch has and the op declarations did not make (addmv_, addr_, renorm_,
  polygamma_, ...) are `self.<op>(...)` written into self.

Writing a result into input is `Tensor._inplace` (same memory, version bumped, input takes the result's place in
the graph); while recording, the op runs on a clone of input, so what its backward saves is not the memory that
the write overwrites (PyTorch's "original self").
"""

import sys

import numpy as np

from .errors import ArgumentError, GradientError
from .grad_mode import modes, no_grad
from .tensor import Tensor, attach_method


def write_into(input, name, fn, *args, **kwargs):
    """fn(input, *args, **kwargs) written into input's memory, as PyTorch's in-place `name` does."""
    if not isinstance(input, Tensor):
        raise ArgumentError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
    if modes.grad_enabled and input.requires_grad and input._node is not None:
        return input._inplace(name, fn(input.clone(), *args, **kwargs))
    return input._inplace(name, fn(input, *args, **kwargs))


def _top_level(name):
    def op(input, *args, **kwargs):
        method = getattr(Tensor, name, None)
        if method is not None:
            if not isinstance(input, Tensor):
                raise ArgumentError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
            return method(input, *args, **kwargs)
        return write_into(input, name, getattr(sys.modules["tensorcore"], name[:-1]), *args, **kwargs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"torch.{name}(input, ...): torch.{name[:-1]}(input, ...) written into input."
    return op


def _method(name):
    def method(self, *args, **kwargs):
        if name == "addbmm_" and not self.requires_grad:
            # NOTE: torch's addbmm_ resizes a self that only broadcasts to the result ((1,) or () to (n, p)).
            result = self.addbmm(*args, **kwargs)
            if tuple(result.shape) != tuple(self.shape):
                self.resize_(*result.shape)
            return self._inplace(name, result)
        return write_into(self, name, getattr(Tensor, name[:-1]), *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Tensor.{name}(...): self.{name[:-1]}(...) written into self."
    return method


# torch's top-level in-place names (each also needs torch.<op> or Tensor.<op>_ in tensorcore).
TOP_LEVEL = (
    "relu_", "sigmoid_", "tanh_", "exp_", "log_", "sqrt_", "abs_", "neg_", "clamp_", "fill_", "zero_", "selu_", "celu_",
    "floor_", "ceil_", "round_", "trunc_", "sin_", "cos_", "rsqrt_", "reciprocal_", "square_", "erf_", "log1p_",
    "expm1_", "sign_", "frac_", "detach_", "clip_", "nan_to_num_",
    "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_",
    "atan_", "atanh_", "cosh_", "sinh_", "tan_", "erfc_", "exp2_", "fix_", "log10_", "log2_", "logit_", "negative_",
    "rad2deg_", "deg2rad_", "sinc_", "i0_", "xlogy_", "gcd_", "lcm_", "ldexp_", "clamp_min_", "clamp_max_",
    "conj_physical_", "threshold_", "rrelu_", "dropout_", "alpha_dropout_", "feature_dropout_",
    "feature_alpha_dropout_", "addmv_", "index_put_", "resize_as_",
)
# Tensor methods written into self from the out-of-place method of the same name.
METHODS = ("addbmm_", "addmv_", "addr_", "baddbmm_", "renorm_", "mvlgamma_", "polygamma_", "igamma_", "igammac_")

for _name in METHODS:
    if not hasattr(Tensor, _name):
        attach_method(_name, _method(_name))
globals().update({_name: _top_level(_name) for _name in TOP_LEVEL})
del _name


# --- out-of-place ops that only torch's top level spells (the in-place ones above derive from them) ------------
def _dropout_p(name, p):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _flag(name, value, what):
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name}: {what} must be a bool, got {type(value).__name__}")
    return bool(value)


def alpha_dropout(input, p, train):
    """torch.alpha_dropout(input, p, train): F.alpha_dropout with its arguments positional and required."""
    from .ops.dropout_nd import alpha_dropout as alpha

    return alpha(input, _dropout_p("alpha_dropout", p), _flag("alpha_dropout", train, "train"))


def feature_alpha_dropout(input, p, train):
    """torch.feature_alpha_dropout(input, p, train): alpha dropout of whole channels (dim 1), input >= 2-d."""
    from .ops.dropout_nd import feature_alpha_dropout as alpha

    _feature_input("feature_alpha_dropout", input)
    return alpha(input, _dropout_p("feature_alpha_dropout", p), _flag("feature_alpha_dropout", train, "train"))


def _feature_input(name, input):
    if not isinstance(input, Tensor):
        raise ArgumentError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
    if input.ndim < 2:
        raise ArgumentError(f"{name}: feature dropout requires at least 2 dimensions in the input, got shape "
                            f"{tuple(input.shape)}")


def feature_dropout(input, p, train):
    """torch.feature_dropout(input, p, train): zero whole channels input[n, c] with probability p, scale the rest
    by 1 / (1 - p) (any input of >= 2 dims)."""
    from .ops.dropout_nd import _constant
    from .random import _gen

    _feature_input("feature_dropout", input)
    p = _dropout_p("feature_dropout", p)
    if not _flag("feature_dropout", train, "train") or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    lead = tuple(input.shape[:2])
    keep = _gen(None).random(lead) >= p
    return input * _constant(input, (keep / (1.0 - p)).reshape(lead + (1,) * (input.ndim - 2)))


def embedding_renorm_(input, indices, max_norm, norm_type):
    """torch.embedding_renorm_: the rows of input (2-d) that indices name and whose norm_type-norm exceeds
    max_norm are scaled to max_norm / (norm + 1e-7) times themselves, in place (not differentiable)."""
    from .ops.embedding import _renorm_

    if not isinstance(input, Tensor) or not isinstance(indices, Tensor):
        raise ArgumentError("embedding_renorm_: expected Tensors for input and indices")
    if input.ndim != 2:
        raise ArgumentError(f"embedding_renorm_: input must be 2-d, got shape {tuple(input.shape)}")
    if indices.dtype.kind not in "iu":
        raise ArgumentError(f"embedding_renorm_: indices must be an integer tensor, got {indices.dtype}")
    if modes.grad_enabled and input.requires_grad:
        raise GradientError("embedding_renorm_: the derivative is not implemented (PyTorch's neither); call it "
                            f"under tc.no_grad() (input shape {tuple(input.shape)})")
    with no_grad():
        _renorm_(input, indices._data, float(max_norm), float(norm_type))
    return input


TOP_LEVEL_OPS = ("alpha_dropout", "feature_alpha_dropout", "feature_dropout", "embedding_renorm_")
EXPORTS = TOP_LEVEL + TOP_LEVEL_OPS
