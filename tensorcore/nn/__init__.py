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
    "Embedding",
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
