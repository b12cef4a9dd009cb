"""Keras metrics computed on NumPy arrays of a batch: each returns (sum over samples, sample count).

'accuracy' (or 'acc') picks its kind from the loss and the targets, as Keras does: categorical
(argmax of both), sparse categorical (argmax of the prediction vs integer labels) or binary
(prediction > 0.5, or logits > 0).
"""

from collections import OrderedDict

import numpy as np

from ..errors import ArgumentError


class Metric:
    """A metric that sums a per-sample value over batches: update_state(y_true, y_pred, sample_weight=None),
    result(), reset_state(). With sample weights the result is sum(w * value) / sum(w) (w broadcast to the
    values), as Keras' weighted Mean."""

    needs_probabilities = False  # False: works on logits as well (argmax, sign)

    def __init__(self, name):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update_state(self, y_true, y_pred, sample_weight=None, from_logits=False):
        s, n = self.batch(np.asarray(y_true), np.asarray(y_pred), from_logits, sample_weight)
        self.total += s
        self.count += n

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred, sample_weight=None):
        """update_state with one batch, then the result so far (Keras's metric(y_true, y_pred))."""
        self.update_state(np.asarray(y_true), np.asarray(y_pred), sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, **{k: getattr(self, k) for k in self.config_keys}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    config_keys = ()  # the constructor's arguments besides name, saved by get_config

    def values(self, y_true, y_pred, from_logits):
        """The per-sample (or per-element) values the metric averages."""
        raise NotImplementedError

    def batch(self, y_true, y_pred, from_logits, sample_weight=None):
        """(sum of the batch's values, their count), both weighted when sample_weight is given."""
        v = np.asarray(self.values(y_true, y_pred, from_logits), dtype=np.float64)
        if sample_weight is None:
            return float(v.sum()), v.size
        w = _broadcast_weights(sample_weight, v.shape, self.name)
        return float((v * w).sum()), float(w.sum())


def _broadcast_weights(sample_weight, shape, what):
    """Sample weights (N,) or (N, 1) broadcast to values of `shape` (batch axis first)."""
    w = np.asarray(sample_weight, dtype=np.float64)
    while w.ndim > len(shape) and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim < len(shape):
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        from ..errors import ShapeError

        raise ShapeError(f"{what}: sample_weight of shape {np.shape(sample_weight)} for values of shape {shape}") \
            from None


class CategoricalAccuracy(Metric):
    def __init__(self, name="categorical_accuracy"):
        super().__init__(name)

    def values(self, y_true, y_pred, from_logits):
        pred = y_pred.argmax(axis=-1)
        true = y_true if y_true.ndim == pred.ndim else y_true.argmax(axis=-1)
        return pred == true


class SparseCategoricalAccuracy(CategoricalAccuracy):
    def __init__(self, name="sparse_categorical_accuracy"):
        Metric.__init__(self, name)

    def values(self, y_true, y_pred, from_logits):
        pred = y_pred.argmax(axis=-1)
        return pred == y_true.reshape(pred.shape)


class Accuracy(Metric):
    """How often y_pred equals y_true exactly (Keras's Accuracy class: no argmax, no threshold)."""

    def __init__(self, name="accuracy"):
        super().__init__(name)

    def values(self, y_true, y_pred, from_logits):
        return y_pred == y_true.reshape(y_pred.shape)


class TopKCategoricalAccuracy(Metric):
    """How often the target class (one-hot y_true) is among the k largest predictions."""

    config_keys = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        super().__init__(name)
        self.k = k

    def labels(self, y_true):
        return y_true.argmax(axis=-1)

    def values(self, y_true, y_pred, from_logits):
        labels = self.labels(y_true).reshape(-1).astype(np.int64)
        pred = y_pred.reshape(len(labels), -1)
        target = pred[np.arange(len(labels)), labels]
        # NOTE: ties count as hits, as Keras's in_top_k: the target is in the top k if fewer than k are larger
        return (pred > target[:, None]).sum(axis=-1) < self.k


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """TopKCategoricalAccuracy with integer labels."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy"):
        super().__init__(k, name)

    def labels(self, y_true):
        return y_true


class BinaryAccuracy(Metric):
    config_keys = ("threshold",)

    def __init__(self, name="binary_accuracy", threshold=0.5):
        super().__init__(name)
        self.threshold = threshold

    def values(self, y_true, y_pred, from_logits):
        cut = np.log(self.threshold / (1 - self.threshold)) if from_logits else self.threshold
        pred = y_pred > cut
        return pred == (y_true.reshape(pred.shape) > 0.5)


class MeanSquaredError(Metric):
    needs_probabilities = True

    def __init__(self, name="mean_squared_error"):
        super().__init__(name)

    def values(self, y_true, y_pred, from_logits):
        d = y_pred - y_true.reshape(y_pred.shape)
        return (d * d).mean(axis=-1) if d.ndim > 1 else d * d


class MeanAbsoluteError(Metric):
    needs_probabilities = True

    def __init__(self, name="mean_absolute_error"):
        super().__init__(name)

    def values(self, y_true, y_pred, from_logits):
        d = np.abs(y_pred - y_true.reshape(y_pred.shape))
        return d.mean(axis=-1) if d.ndim > 1 else d


class RootMeanSquaredError(Metric):
    """sqrt(mean over every element of (y_pred - y_true)^2)."""

    needs_probabilities = True

    def __init__(self, name="root_mean_squared_error"):
        super().__init__(name)

    def values(self, y_true, y_pred, from_logits):
        d = y_pred - y_true.reshape(y_pred.shape)
        return d * d

    def result(self):
        return float(np.sqrt(self.total / self.count)) if self.count else 0.0


class Precision(Metric):
    """tp / (tp + fp) with y_pred > threshold as the prediction (binary, or every element of a multi-label)."""

    needs_probabilities = True
    config_keys = ("thresholds",)
    counted = "predicted"  # the denominator: predicted positives (Recall: actual positives)

    def __init__(self, thresholds=None, name="precision"):
        if thresholds is not None and not (isinstance(thresholds, (int, float)) and 0 <= thresholds <= 1):
            raise ArgumentError(f"{type(self).__name__}: thresholds must be one number in [0, 1], got {thresholds!r}")
        self.thresholds = thresholds
        super().__init__(name)

    def batch(self, y_true, y_pred, from_logits, sample_weight=None):
        pred = y_pred > (0.5 if self.thresholds is None else self.thresholds)
        true = y_true.reshape(pred.shape) > 0.5
        w = 1.0 if sample_weight is None else _broadcast_weights(sample_weight, pred.shape, self.name)
        return float(((pred & true) * w).sum()), float(((pred if self.counted == "predicted" else true) * w).sum())


class Recall(Precision):
    """tp / (tp + fn) with y_pred > threshold as the prediction."""

    counted = "actual"

    def __init__(self, thresholds=None, name="recall"):
        super().__init__(thresholds, name)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class ModelMetrics:
    """The shared loop's metrics object for a keras model (tensorcore/loop.py): the compiled metrics of each
    output and, for several outputs, each output's loss."""

    def __init__(self, model, targets):
        self.model, self.targets = model, targets

    def reset(self):
        m = self.model
        names, shapes = m.output_names, m._output_shapes()
        self.metrics, self.weighted = [], []
        weighted = getattr(m, "_weighted_per_output", None) or [[] for _ in names]
        for i, (ids, weighted_ids) in enumerate(zip(m._metrics_per_output, weighted)):
            loss = m._losses[i]
            made = [get(k, getattr(loss, "name", None), self.targets[i], shapes[i]) for k in ids + weighted_ids]
            taken = {metric.name for metric in made[:len(ids)]}
            for metric in made[len(ids):]:  # Keras: a weighted metric named as an unweighted one gets "weighted_"
                if metric.name in taken and not isinstance(weighted_ids[made.index(metric) - len(ids)], Metric):
                    metric.name = f"weighted_{metric.name}"
            for metric in made:  # a Metric instance given to compile() starts each epoch and evaluation afresh
                metric.reset_state()
            self.metrics.append(made)
            self.weighted.append([False] * len(ids) + [True] * len(weighted_ids))
        self.names = names
        self.loss_sums, self.seen = [0.0] * len(names), 0

    def update(self, yb, result):
        outs, parts, from_logits = result
        n = len(yb[0])
        self.seen += n
        for i, part in enumerate(parts):
            if part is not None:
                self.loss_sums[i] += part.item() * n
        for i, metrics in enumerate(self.metrics):
            if not metrics:
                continue
            pred, y = outs[i].numpy(), yb[i].numpy()
            probs = None
            sw = getattr(yb, "sample_weight", None)
            sw = None if sw is None or sw[i] is None else sw[i].numpy()
            for metric, weighted in zip(metrics, self.weighted[i]):
                weight = sw if weighted else None
                if metric.needs_probabilities and from_logits:
                    if probs is None:
                        probs = _softmax(pred) if self.model._head != "sigmoid" else 1 / (1 + np.exp(-pred))
                    metric.update_state(y, probs, weight, from_logits=False)
                else:
                    metric.update_state(y, pred, weight, from_logits=from_logits)

    def results(self):
        out = OrderedDict()
        several = len(self.names) > 1
        if several:
            for name, total, loss in zip(self.names, self.loss_sums, self.model._losses):
                if loss is not None:
                    out[f"{name}_loss"] = total / max(self.seen, 1)
        for name, metrics in zip(self.names, self.metrics):
            for metric in metrics:
                out[f"{name}_{metric.name}" if several else metric.name] = metric.result()
        return out


_BY_NAME = {
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
}
CLASSES = {c.__name__: c for c in (Accuracy, CategoricalAccuracy, SparseCategoricalAccuracy, BinaryAccuracy,
                                   TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
                                   MeanAbsoluteError, RootMeanSquaredError, Precision, Recall)}


def get(identifier, loss_name=None, y_true=None, output_shape=None):
    """A Metric from a name; 'accuracy'/'acc' resolved from the loss name and targets, named as given."""
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise ArgumentError(f"compile: a metric must be a name or a keras Metric, got {identifier!r:.60}")
    if identifier in CLASSES:  # a class name, as Keras deserializes it ("Precision")
        return CLASSES[identifier]()
    if identifier in ("accuracy", "acc"):
        if loss_name == "binary_crossentropy" or (output_shape is not None and output_shape[-1:] == (1,)):
            return BinaryAccuracy(identifier)
        if loss_name == "sparse_categorical_crossentropy" or (y_true is not None and y_true.ndim == 1):
            return SparseCategoricalAccuracy(identifier)
        return CategoricalAccuracy(identifier)
    if identifier not in _BY_NAME:
        raise ArgumentError(f"compile: unknown metric {identifier!r}; known: accuracy, "
                            f"{', '.join(sorted(_BY_NAME))}, or a class name ({', '.join(CLASSES)})")
    return _BY_NAME[identifier](name=identifier)
