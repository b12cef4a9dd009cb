"""tensorcore.nn.functional: the stateless ops layers are made of (torch.nn.functional's names).

Everything here is a re-export of an op in tensorcore.ops, or a short composition of them.
`dim=` is accepted wherever PyTorch uses it (tensorcore's ops call it `axis=`).

Example:
    import tensorcore.nn.functional as F
    loss = F.cross_entropy(F.linear(x, w, b), y)
"""

# --- conv / pool / normalization ops (added by the conv engineer) -----------------------------
# --- sequence models: embedding, layer/rms/group norm, attention (ops/embedding.py, layer_norm.py, attention.py) ---
from ..ops.activations import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh
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
    dropout,
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
    hardsigmoid,
    hardswish,
    hardtanh,
    prelu,
    relu6,
    rrelu,
    softshrink,
    threshold,
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
    celu,
    glu,
    logsigmoid,
    mish,
    selu,
    silu,
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
