"""tensorcore.nn.functional: the stateless ops layers are made of (torch.nn.functional's names).

Everything here is a re-export of an op in tensorcore.ops, or a short composition of them.
`dim=` is accepted wherever PyTorch uses it (tensorcore's ops call it `axis=`).

Example:
    import tensorcore.nn.functional as F
    loss = F.cross_entropy(F.linear(x, w, b), y)
"""

# --- conv / pool / normalization ops (added by the conv engineer) -----------------------------
# --- sequence models: embedding, layer/rms/group norm, attention (ops/embedding.py, layer_norm.py, attention.py) ---
from ..ops.activations import gelu, sigmoid, softplus, tanh
from ..ops.attention import scaled_dot_product_attention  # noqa: E402
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.conv_nd import conv1d, conv3d, conv_transpose1d  # noqa: E402
from ..ops.dropout_nd import alpha_dropout, dropout1d, dropout3d, feature_alpha_dropout, instance_norm  # noqa: E402
from ..ops.embedding import embedding  # noqa: E402
from ..ops.fold import fold, unfold  # noqa: E402
from ..ops.layer_norm import group_norm, layer_norm, rms_norm  # noqa: E402
from ..ops.losses import (  # noqa: E402
    binary_cross_entropy,
    cosine_embedding_loss,
    cosine_similarity,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    normalize,
    pairwise_distance,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from ..ops.matmul import linear
from ..ops.nn import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
    one_hot,
)
from ..ops.nn import log_softmax as _log_softmax
from ..ops.nn import softmax as _softmax
from ..ops.norm import batch_norm, dropout2d, local_response_norm
from ..ops.padding import pad  # noqa: E402
from ..ops.piecewise_activations import (  # noqa: E402, F401
    hardshrink,
    prelu,
    rrelu,
    softshrink,
)
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d, max_unpool2d
from ..ops.pool_nd import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool3d,
    max_pool1d,
    max_pool3d,
)
from ..ops.resample import interpolate, pixel_shuffle, pixel_unshuffle  # noqa: E402
from ..ops.shape import flatten as _flatten
from ..ops.smooth_activations import (  # noqa: E402, F401
    glu,
    logsigmoid,
    softmin,
    softsign,
    tanhshrink,
)

softmax = _softmax  # PyTorch's signature: (input, dim=None, _stacklevel=3, dtype=None)
log_softmax = _log_softmax


def flatten(x, start_dim=0, end_dim=-1):
    return _flatten(x, start_dim, end_dim)


__all__ = [
    "fold",
    "unfold",
    "alpha_dropout",
    "dropout1d",
    "dropout3d",
    "feature_alpha_dropout",
    "instance_norm",
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "conv1d",
    "conv3d",
    "conv_transpose1d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool3d",
    "max_pool1d",
    "max_pool3d",
    "pad",
    "cosine_embedding_loss",
    "cosine_similarity",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "margin_ranking_loss",
    "multilabel_soft_margin_loss",
    "normalize",
    "pairwise_distance",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "embedding",
    "group_norm",
    "layer_norm",
    "rms_norm",
    "scaled_dot_product_attention",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "conv2d",
    "conv_transpose2d",
    "dropout2d",
    "local_response_norm",
    "max_pool2d",
    "max_unpool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "flatten",
    "gelu",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]

# --- more of PyTorch's names (issue 13: ops/unpool.py, ops/nn_more.py) ---
from ..ops.nn_more import (  # noqa: E402
    bilinear,
    channel_shuffle,
    multi_margin_loss,
    multilabel_margin_loss,
    pdist,
    upsample_bilinear,
    upsample_nearest,
)
from ..ops.unpool import max_unpool1d, max_unpool3d  # noqa: E402

__all__ += ["max_unpool1d", "max_unpool3d", "bilinear", "channel_shuffle", "pdist", "upsample_bilinear",
            "upsample_nearest", "multi_margin_loss", "multilabel_margin_loss"]

# --- PyTorch's `inplace` flags and trailing-underscore forms (session 7) ---
from ..grad_mode import modes as _modes  # noqa: E402
from ..ops import piecewise_activations as _piecewise  # noqa: E402
from ..ops import smooth_activations as _smooth  # noqa: E402
from ..ops.activations import elu as _elu  # noqa: E402
from ..ops.activations import leaky_relu as _leaky_relu  # noqa: E402
from ..ops.activations import relu as _relu  # noqa: E402
from ..ops.nn import dropout as _dropout  # noqa: E402


def _in_place(input, name, fn, *args):
    """fn(input, *args) written into input's memory (version bumped), as PyTorch's `name` does.

    While recording, fn runs on a clone of input, so what its backward saves is not the memory
    overwritten (PyTorch's "original self"); input then takes the result's place in the graph.
    """
    if _modes.grad_enabled and input.requires_grad and input._node is not None:
        return input._inplace(name, fn(input.clone(), *args))
    return input._inplace(name, fn(input, *args))


def relu(input, inplace=False):
    """max(x, 0); inplace=True writes the result into input."""
    return _in_place(input, "relu_", _relu) if inplace else _relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x; inplace=True writes into input."""
    if inplace:
        return _in_place(input, "leaky_relu_", _leaky_relu, negative_slope)
    return _leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1); inplace=True writes into input."""
    return _in_place(input, "elu_", _elu, alpha) if inplace else _elu(input, alpha)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val); inplace=True writes into input."""
    if inplace:
        return _in_place(input, "hardtanh_", _piecewise.hardtanh, min_val, max_val)
    return _piecewise.hardtanh(input, min_val, max_val)


def relu6(input, inplace=False):
    """min(max(x, 0), 6); inplace=True writes into input."""
    return _in_place(input, "relu6_", _piecewise.relu6) if inplace else _piecewise.relu6(input)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6; inplace=True writes into input."""
    return _in_place(input, "hardsigmoid_", _piecewise.hardsigmoid) if inplace else _piecewise.hardsigmoid(input)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6; inplace=True writes into input."""
    return _in_place(input, "hardswish_", _piecewise.hardswish) if inplace else _piecewise.hardswish(input)


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value; inplace=True writes into input."""
    if inplace:
        return _in_place(input, "threshold_", _piecewise.threshold, threshold, value)
    return _piecewise.threshold(input, threshold, value)


def silu(input, inplace=False):
    """x * sigmoid(x); inplace=True writes into input."""
    return _in_place(input, "silu_", _smooth.silu) if inplace else _smooth.silu(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x)); inplace=True writes into input."""
    return _in_place(input, "mish_", _smooth.mish) if inplace else _smooth.mish(input)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with PyTorch's constants; inplace=True writes into input."""
    return _in_place(input, "selu_", _smooth.selu) if inplace else _smooth.selu(input)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); inplace=True writes into input."""
    return _in_place(input, "celu_", _smooth.celu, alpha) if inplace else _smooth.celu(input, alpha)


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero each element with probability p, scale the rest by 1/(1-p) (PyTorch's argument order)."""
    if inplace and training and p > 0:
        return _in_place(input, "dropout_", _dropout, p, True, generator)
    return _dropout(input, p, training, generator)


def relu_(input):
    return relu(input, True)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, True)


def selu_(input):
    return selu(input, True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return _in_place(input, "rrelu_", rrelu, lower, upper, training)


__all__ += ["relu_", "elu_", "leaky_relu_", "hardtanh_", "threshold_", "selu_", "celu_", "rrelu_", "relu6",
            "hardsigmoid", "hardswish", "hardtanh", "threshold", "silu", "mish", "selu", "celu"]


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Bags of embeddings reduced by sum / mean / max (tensorcore/nn/embedding_bag.py)."""
    from .embedding_bag import embedding_bag as bag

    return bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse, per_sample_weights,
               include_last_offset, padding_idx)


__all__ += ["embedding_bag"]


def affine_grid(theta, size, align_corners=None):
    """The sampling grid (N, H, W, 2) of affine maps theta (N, 2, 3) (tensorcore/nn/grid_sample.py)."""
    from .grid_sample import affine_grid as grid

    return grid(theta, size, align_corners)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """input (N, C, H, W) sampled at grid (N, Ho, Wo, 2) (tensorcore/nn/grid_sample.py)."""
    from .grid_sample import grid_sample as sample

    return sample(input, grid, mode, padding_mode, align_corners)


__all__ += ["affine_grid", "grid_sample"]


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with g ~ Gumbel(0, 1); hard=True: the one-hot argmax, with the soft
    sample's gradient (straight through)."""
    from ..ops.compare import where

    ones = logits.detach() * 0 + 1
    gumbels = -(ones.clone().exponential_().log())
    y = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    index = y.detach().argmax(dim, keepdim=True)
    positions = ones.cumsum(dim) - 1  # 0, 1, 2 ... along dim
    y_hard = where(positions == index, 1.0, 0.0).to(dtype=y.dtype)
    return y_hard - y.detach() + y


def _lp_pool(pool, input, norm_type, kernel_size, stride, ceil_mode, count):
    out = pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * _relu(out.abs())).mul(count).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), windows of kernel_size."""
    return _lp_pool(avg_pool1d, input, norm_type, kernel_size, stride, ceil_mode, kernel_size)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each kh x kw window of x^p)^(1/p)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return _lp_pool(avg_pool2d, input, norm_type, kernel_size, stride, ceil_mode, kh * kw)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0), d = distance_function (pairwise_distance by default)."""
    d = distance_function if distance_function is not None else pairwise_distance
    dist_pos, dist_neg = d(anchor, positive), d(anchor, negative)
    if swap:
        from ..ops.compare import minimum

        dist_neg = minimum(dist_neg, d(positive, negative))
    loss = _relu(dist_pos - dist_neg + margin)
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


__all__ += ["gumbel_softmax", "lp_pool1d", "lp_pool2d", "triplet_margin_with_distance_loss"]


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The deprecated spelling of interpolate."""
    return interpolate(input, size, scale_factor, mode, align_corners)


__all__ += ["max_pool1d_with_indices", "max_pool2d_with_indices", "adaptive_max_pool1d_with_indices",
            "adaptive_max_pool2d_with_indices", "upsample"]


# --- session 8 (H1): ctc_loss (tensorcore/nn/ctc.py) ---
from .ctc import ctc_loss  # noqa: E402

__all__ += ["ctc_loss"]
from .conv_transpose3d import conv_transpose3d  # noqa: E402

__all__ += ["conv_transpose3d"]
from .pool_extra import (  # noqa: E402
    adaptive_max_pool3d_with_indices,
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
    lp_pool3d,
    max_pool3d_with_indices,
)

__all__ += ["adaptive_max_pool3d_with_indices", "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
            "fractional_max_pool3d", "fractional_max_pool3d_with_indices", "lp_pool3d", "max_pool3d_with_indices"]
from .functional_extra import conv_tbc, multi_head_attention_forward, native_channel_shuffle  # noqa: E402

__all__ += ["conv_tbc", "multi_head_attention_forward", "native_channel_shuffle"]
from . import grad  # noqa: E402, F401  (torch.nn.functional.grad is torch.nn.grad)
from .linear_cross_entropy import linear_cross_entropy  # noqa: E402

__all__ += ["linear_cross_entropy"]
