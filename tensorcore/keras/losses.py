"""Keras losses: loss(y_true, y_pred) -> scalar Tensor, averaged over the batch.

Each loss also knows the output activation it can be fused with (`head`): when a model ends in
softmax and the loss is a categorical cross-entropy (or sigmoid and binary cross-entropy), the
model computes the loss from the pre-activation logits with `call_logits`, in one stable
log-softmax (log-sigmoid): no log(0), no NaN, however confident the model is.
"""

from .. import abs as tc_abs
from .. import clip, log
from ..errors import ArgumentError
from ..nn import functional as ops_nn
from ..tensor import Tensor, _make

EPSILON = 1e-7  # Keras' backend epsilon: probabilities are clipped to [eps, 1 - eps] when not fused


def _as_tensor(y, like):
    if isinstance(y, Tensor):
        return y
    import numpy as np

    y = np.asarray(y)
    if y.dtype.kind == "f" and y.dtype != like.dtype:
        y = y.astype(like.dtype)
    return _make(like.device.backend.from_host(y, copy=False), like.device, False, None)


class Loss:
    """Base class: __call__(y_true, y_pred) on the model's outputs; call_logits on pre-activation logits."""

    head = None  # output activation this loss fuses with: "softmax", "sigmoid" or None

    def __init__(self, from_logits=False, name=None):
        self.from_logits = from_logits
        self.name = name or type(self).__name__

    def __call__(self, y_true, y_pred):
        y_true = _as_tensor(y_true, y_pred)
        return self.call_logits(y_true, y_pred) if self.from_logits else self.call(y_true, y_pred)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def call_logits(self, y_true, logits):
        raise NotImplementedError(f"{self.name} has no logits form")

    def per_sample(self, y_true, y_pred, logits=False):
        """The unreduced loss (one value per sample, or per step of a sequence): what sample weights scale."""
        y_true = _as_tensor(y_true, y_pred)
        return self.values_logits(y_true, y_pred) if logits or self.from_logits else self.values(y_true, y_pred)

    def values(self, y_true, y_pred):
        raise ArgumentError(f"{self.name}: this loss has no per-sample form, so sample weights cannot apply")

    def values_logits(self, y_true, logits):
        raise ArgumentError(f"{self.name}: this loss has no per-sample logits form")


class CategoricalCrossentropy(Loss):
    """-sum(y_true * log(y_pred)) over classes; y_true one-hot or probabilities (N, C)."""

    head = "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0, name="categorical_crossentropy"):
        super().__init__(from_logits, name)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        if self.label_smoothing:
            y_true = y_true * (1 - self.label_smoothing) + self.label_smoothing / y_true.shape[-1]
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return (-(y_true * log(clip(p, EPSILON, 1 - EPSILON))).sum(axis=-1)).mean()

    def call_logits(self, y_true, logits):
        y_true = _as_tensor(y_true, logits)
        if y_true.dtype.kind in "iu":  # one-hot rows turned into labels by the model: the fast path
            return ops_nn.cross_entropy(logits, y_true)
        return ops_nn.cross_entropy(logits, y_true, label_smoothing=self.label_smoothing)

    def _smoothed(self, y_true):
        if self.label_smoothing:
            return y_true * (1 - self.label_smoothing) + self.label_smoothing / y_true.shape[-1]
        return y_true

    def values(self, y_true, y_pred):
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return -(self._smoothed(y_true) * log(clip(p, EPSILON, 1 - EPSILON))).sum(axis=-1)

    def values_logits(self, y_true, logits):
        if y_true.dtype.kind in "iu":
            return _pick(ops_nn.log_softmax(logits, -1), y_true)
        return -(self._smoothed(y_true.astype(logits.dtype)) * ops_nn.log_softmax(logits, -1)).sum(axis=-1)


class SparseCategoricalCrossentropy(Loss):
    """-log(y_pred[label]); y_true integer labels (N,) (or (N, 1))."""

    head = "softmax"

    def __init__(self, from_logits=False, name="sparse_categorical_crossentropy"):
        super().__init__(from_logits, name)

    @staticmethod
    def _labels(y_true):
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true.reshape(-1)
        return y_true if y_true.dtype.kind in "iu" else y_true.astype("int64")

    def call(self, y_true, y_pred):
        return ops_nn.nll_loss(log(clip(y_pred, EPSILON, 1 - EPSILON)), self._labels(y_true))

    def call_logits(self, y_true, logits):
        return ops_nn.cross_entropy(logits, self._labels(_as_tensor(y_true, logits)))

    def _label_steps(self, y_true, y_pred):
        labels = y_true if y_true.dtype.kind in "iu" else y_true.astype("int64")
        return labels.reshape(y_pred.shape[:-1])

    def values(self, y_true, y_pred):
        return _pick(log(clip(y_pred, EPSILON, 1 - EPSILON)), self._label_steps(y_true, y_pred))

    def values_logits(self, y_true, logits):
        return _pick(ops_nn.log_softmax(logits, -1), self._label_steps(y_true, logits))


class BinaryCrossentropy(Loss):
    """-(y log p + (1 - y) log(1 - p)), averaged."""

    head = "sigmoid"

    def __init__(self, from_logits=False, name="binary_crossentropy"):
        super().__init__(from_logits, name)

    def call(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype).reshape(y_pred.shape)
        p = clip(y_pred, EPSILON, 1 - EPSILON)
        return (-(y * log(p) + (1 - y) * log(1 - p))).mean()

    def call_logits(self, y_true, logits):
        y_true = _as_tensor(y_true, logits)
        return ops_nn.binary_cross_entropy_with_logits(logits, y_true.astype(logits.dtype).reshape(logits.shape))

    def values(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype).reshape(y_pred.shape)
        p = clip(y_pred, EPSILON, 1 - EPSILON)
        return _last_mean(-(y * log(p) + (1 - y) * log(1 - p)))

    def values_logits(self, y_true, logits):
        y = y_true.astype(logits.dtype).reshape(logits.shape)
        return _last_mean(ops_nn.binary_cross_entropy_with_logits(logits, y, reduction="none"))


class MeanSquaredError(Loss):
    def __init__(self, name="mean_squared_error"):
        super().__init__(False, name)

    def call(self, y_true, y_pred):
        return ops_nn.mse_loss(y_pred, y_true.astype(y_pred.dtype).reshape(y_pred.shape))

    def values(self, y_true, y_pred):
        d = y_pred - y_true.astype(y_pred.dtype).reshape(y_pred.shape)
        return _last_mean(d * d)


class MeanAbsoluteError(Loss):
    def __init__(self, name="mean_absolute_error"):
        super().__init__(False, name)

    def call(self, y_true, y_pred):
        return tc_abs(y_pred - y_true.astype(y_pred.dtype).reshape(y_pred.shape)).mean()

    def values(self, y_true, y_pred):
        return _last_mean(tc_abs(y_pred - y_true.astype(y_pred.dtype).reshape(y_pred.shape)))


def _last_mean(values):
    """The mean over the last axis (Keras' per-sample reduction); a 1-D batch is one value per sample."""
    return values.mean(axis=-1) if values.ndim > 1 else values


def _pick(log_probs, labels):
    """-log_probs[..., label] for integer labels of log_probs.shape[:-1]."""
    return -log_probs.gather(-1, labels.reshape(tuple(labels.shape) + (1,)).astype("int64")).reshape(labels.shape)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return CategoricalCrossentropy(from_logits, label_smoothing)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return BinaryCrossentropy(from_logits)(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError()(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError()(y_true, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
}


class _FunctionLoss(Loss):
    def __init__(self, fn):
        super().__init__(False, getattr(fn, "__name__", "loss"))
        self.fn = fn

    def call(self, y_true, y_pred):
        out = self.fn(y_true, y_pred)
        return out.mean() if out.ndim else out  # Keras: a loss function's per-sample values, averaged

    def values(self, y_true, y_pred):
        out = self.fn(y_true, y_pred)
        if out.ndim == 0:
            raise ArgumentError(f"{self.name}: the loss function returns a scalar; sample weights need one value "
                                "per sample")
        return out


def get(identifier):
    """A Loss from a name ('categorical_crossentropy', 'mse', ...), a Loss, or a callable(y_true, y_pred)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; known: {', '.join(sorted(_BY_NAME))}")
        loss = _BY_NAME[identifier]()
        loss.name = identifier
        return loss
    if callable(identifier):
        return _FunctionLoss(identifier)
    raise ValueError(f"loss must be a name, a keras Loss or a callable, got {identifier!r}")
