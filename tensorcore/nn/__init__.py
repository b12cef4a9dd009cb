"""tensorcore.nn: modules, layers, losses, init and functional ops, with PyTorch's names.

Example:
    import tensorcore as tc
    from tensorcore import nn
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    loss = nn.CrossEntropyLoss()(model(x), y)
"""

# --- sequence models: Embedding, LayerNorm/RMSNorm/GroupNorm, RNN/LSTM/GRU, attention, Transformer ---
from . import (
    functional,
    init,
    parallel,
    rnn_utils,  # noqa: E402
    utils,
)
from .activation_modules import (  # noqa: E402
    CELU,
    GLU,
    SELU,
    Bilinear,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PReLU,
    ReLU6,
    RReLU,
    SiLU,
    Softmax2d,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from .attention import MultiheadAttention  # noqa: E402
from .containers import ModuleDict, ParameterDict, ParameterList, Unflatten

# --- convolution, pooling, LRN, BatchNorm2d, Dropout2d (tensorcore/nn/conv.py, added by the conv engineer) ---
from .conv import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Dropout2d,
    LocalResponseNorm,
    MaxPool2d,
    MaxUnpool2d,
)
from .conv_nd import (  # noqa: E402
    AdaptiveAvgPool1d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool3d,
    Conv1d,
    Conv3d,
    ConvTranspose1d,
    MaxPool1d,
    MaxPool3d,
)
from .embedding_bag import EmbeddingBag  # noqa: E402
from .functional_modules import (  # noqa: E402
    AlphaDropout,
    Dropout1d,
    Dropout3d,
    FeatureAlphaDropout,
    Fold,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    PixelShuffle,
    PixelUnshuffle,
    Unfold,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .layers import (
    ELU,
    GELU,
    BatchNorm1d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .loss_modules import (
    CosineEmbeddingLoss,
    CosineSimilarity,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    PairwiseDistance,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter
from .more_modules import (  # noqa: E402
    BatchNorm3d,
    Buffer,
    ChannelShuffle,
    DataParallel,
    LazyLinear,
    LPPool1d,
    LPPool2d,
    MaxUnpool1d,
    MaxUnpool3d,
    MultiLabelMarginLoss,
    MultiMarginLoss,
    SyncBatchNorm,
    TripletMarginWithDistanceLoss,
)
from .normalization import GroupNorm, LayerNorm, RMSNorm  # noqa: E402
from .padding import (  # noqa: E402
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell  # noqa: E402
from .sparse import Embedding  # noqa: E402
from .transformer import (  # noqa: E402
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

utils.rnn = rnn_utils  # tc.nn.utils.rnn.pack_padded_sequence, as in PyTorch
__import__("sys").modules[__name__ + ".utils.rnn"] = rnn_utils

__all__ = [
    "CELU", "GLU", "SELU", "Bilinear", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid", "Mish",
    "PReLU", "ReLU6", "RReLU", "SiLU", "Softmax2d", "Softmin", "Softshrink", "Softsign", "Tanhshrink", "Threshold",
    "Embedding",
    "EmbeddingBag",
    "BatchNorm3d", "ChannelShuffle", "LazyLinear", "MaxUnpool1d", "MaxUnpool3d", "MultiLabelMarginLoss",
    "MultiMarginLoss", "SyncBatchNorm", "LPPool1d", "LPPool2d", "TripletMarginWithDistanceLoss",
    "Buffer", "DataParallel",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "MarginRankingLoss",
    "MultiLabelSoftMarginLoss",
    "PairwiseDistance",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool3d",
    "Conv1d",
    "Conv3d",
    "ConvTranspose1d",
    "MaxPool1d",
    "MaxPool3d",
    "AlphaDropout",
    "Dropout1d",
    "Dropout3d",
    "FeatureAlphaDropout",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
    "Fold",
    "Unfold",
    "ModuleDict",
    "ParameterDict",
    "ParameterList",
    "Unflatten",
    "GroupNorm",
    "GRU",
    "GRUCell",
    "LayerNorm",
    "LSTM",
    "LSTMCell",
    "MultiheadAttention",
    "RMSNorm",
    "RNN",
    "RNNBase",
    "RNNCell",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "ConvTranspose2d",
    "Dropout2d",
    "LocalResponseNorm",
    "MaxPool2d",
    "MaxUnpool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Flatten",
    "GELU",
    "Identity",
    "IncompatibleKeys",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "functional",
    "init",
    "utils",
]

# --- session 8 (H1): CTC loss, ConvTranspose3d, lazy modules (tensorcore/nn/ctc.py, ...) ---
from .ctc import CTCLoss  # noqa: E402

__all__ += ["CTCLoss"]
from .conv_transpose3d import ConvTranspose3d  # noqa: E402

__all__ += ["ConvTranspose3d"]
from .lazy import (  # noqa: E402  (LazyLinear: PyTorch's, replacing more_modules' eager stand-in)
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
    LazyLinear,  # noqa: F811
    LazyModuleMixin,
    UninitializedBuffer,
    UninitializedParameter,
)

__all__ += ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
            "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
            "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyModuleMixin", "UninitializedBuffer",
            "UninitializedParameter"]

from . import parametrizations, parametrize  # noqa: E402

utils.parametrize, utils.parametrizations = parametrize, parametrizations  # torch.nn.utils.parametrize(ations)
__import__("sys").modules[__name__ + ".utils.parametrize"] = parametrize
__import__("sys").modules[__name__ + ".utils.parametrizations"] = parametrizations

# --- session 8 (H1): nn.utils.fusion / skip_init / clip_grad_norm, nn.init.sparse_ and the deprecated spellings ---
from . import fusion as _fusion  # noqa: E402

for _name in _fusion.__all__:
    setattr(utils, _name, getattr(_fusion, _name))
utils.fusion = _fusion
__import__("sys").modules[__name__ + ".utils.fusion"] = _fusion
_fusion.install_init_aliases(init)

# --- session 8 (H1): fractional max pooling, LPPool3d, RNNCellBase (tensorcore/nn/pool_extra.py) ---
from .pool_extra import FractionalMaxPool2d, FractionalMaxPool3d, LPPool3d  # noqa: E402
from .rnn import RNNCellBase  # noqa: E402

__all__ += ["FractionalMaxPool2d", "FractionalMaxPool3d", "LPPool3d", "RNNCellBase"]
from .adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: E402
from .cross_map_lrn import CrossMapLRN2d  # noqa: E402

__all__ += ["AdaptiveLogSoftmaxWithLoss", "CrossMapLRN2d"]
from .legacy import Container, NLLLoss2d  # noqa: E402
from .legacy import parameter_namespace as _parameter_namespace  # noqa: E402

parameter = _parameter_namespace()  # torch.nn.parameter
__import__("sys").modules[__name__ + ".parameter"] = parameter
__all__ += ["Container", "NLLLoss2d"]
for _name, _space in _fusion.utils_namespaces(utils).items():  # nn.utils.clip_grad, nn.utils.convert_parameters
    setattr(utils, _name, _space)
    __import__("sys").modules[f"{__name__}.utils.{_name}"] = _space
from . import grad  # noqa: E402  (torch.nn.grad: conv{1,2,3}d_input / _weight)
from .linear_cross_entropy import LinearCrossEntropyLoss, LinearCrossEntropyOptions  # noqa: E402

__all__ += ["LinearCrossEntropyLoss", "LinearCrossEntropyOptions"]
from .modules_ns import factory_kwargs  # noqa: E402
from .modules_ns import install as _install_modules  # noqa: E402

modules = _install_modules(__import__("sys").modules[__name__])  # torch.nn.modules (and .utils, .lazy, ...)
