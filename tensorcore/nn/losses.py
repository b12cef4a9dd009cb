"""Losses as modules: loss = criterion(input, target). Reductions 'mean' (default), 'sum', 'none'.

Example:
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(model(x), y)        # logits (N, C), integer labels (N,)
"""

from .. import _validate as check
from ..errors import ArgumentError
from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check.choice(reduction, "reduction", type(self).__name__, ("mean", "sum", "none"))

    def _tensor_or_none(self, value, name):
        if value is not None and not isinstance(value, Tensor):
            raise ArgumentError(f"{type(self).__name__}: {name} must be a Tensor or None, got {type(value).__name__}")
        return value

    def extra_repr(self):
        return ""  # PyTorch's losses print no arguments


class CrossEntropyLoss(_Loss):
    """Cross-entropy of raw logits (N, C) against class indices (N,) or probabilities (N, C).

    Integer targets without weight/label smoothing take a fused one-node fast path.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.register_buffer("weight", self._tensor_or_none(weight, "weight"))  # (in state_dict, as torch's)
        self.ignore_index = check.integer(ignore_index, "ignore_index", "CrossEntropyLoss")
        self.label_smoothing = check.number(label_smoothing, "label_smoothing", "CrossEntropyLoss", low=0, high=1)

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) at integer targets (N,)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", self._tensor_or_none(weight, "weight"))  # (in state_dict, as torch's)
        self.ignore_index = check.integer(ignore_index, "ignore_index", "NLLLoss")

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """(input - target)^2, same shapes."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """|input - target|."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (stable for any logit), optional per-element weight and pos_weight."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", self._tensor_or_none(weight, "weight"))  # (in state_dict, as torch's)
        self.register_buffer("pos_weight", self._tensor_or_none(pos_weight, "pos_weight"))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (each log clamped at -100, as PyTorch), optional weight."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        from ..ops.losses import _reduction

        super().__init__(_reduction("BCELoss", reduction, size_average, reduce))
        self.register_buffer("weight", self._tensor_or_none(weight, "weight"))  # (in state_dict, as torch's)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)
