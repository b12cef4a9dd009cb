"""Sample and class weights for fit / evaluate / train_on_batch / test_on_batch, with Keras 3's semantics.

* sample_weight: one weight per sample (N,), for every output (or a list / dict with one per output).
* class_weight {class: weight} (fit, one output only): each sample weighs class_weight[its class] (1.0 for
  a class not in the dict); the class of a row is the argmax of a target row of several values, otherwise
  the rounded label. Giving both class_weight and sample_weight is refused, as in Keras 3.
* The weighted loss of a batch is sum(w * per-sample loss) / (number of per-sample values): Keras'
  "sum_over_batch_size" divides by the batch size, not by the sum of the weights.
* compile(weighted_metrics=[...]) metrics see the weights; plain `metrics` do not (as in Keras).
"""

import numpy as np

from ..errors import ArgumentError, ShapeError


class Targets(list):
    """One batch's targets (a list, one per output) with its sample weights (`sample_weight`, one per output)."""

    sample_weight = None


def sample_weights(model, ys, sample_weight, class_weight, n, what="fit"):
    """Per-output NumPy sample weights (or None) for targets `ys` of n samples."""
    names = model.output_names
    if isinstance(sample_weight, dict):
        unknown = set(sample_weight) - set(names)
        if unknown:
            raise ArgumentError(f"{what}: sample_weight for unknown outputs {sorted(unknown)}; outputs: {names}")
        per = [sample_weight.get(k) for k in names]
    elif isinstance(sample_weight, (list, tuple)) and len(names) > 1:
        if len(sample_weight) != len(names):
            raise ShapeError(f"{what}: {len(sample_weight)} sample_weight arrays for {len(names)} outputs")
        per = list(sample_weight)
    else:
        per = [sample_weight] * len(names)
    out = [None if w is None else _one_weight(w, n, what) for w in per]
    if class_weight is not None:
        if len(names) > 1:
            raise ArgumentError(f"{what}: class_weight is only supported for models with one output (Keras' rule); "
                                "give sample_weight per output instead")
        if any(w is not None for w in per):
            raise ArgumentError(f"{what}: give class_weight or sample_weight, not both (Keras refuses both at once)")
        if ys[0] is None:
            raise ArgumentError(f"{what}: class_weight needs targets")
        cw = class_weights(class_weight, ys[0], what)
        out[0] = cw
    return out


def _one_weight(w, n, what):
    w = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
    if w.dtype.kind not in "biuf":
        raise ArgumentError(f"{what}: sample_weight must be numeric, got dtype {w.dtype}")
    if w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    if w.ndim != 1 or len(w) != n:
        raise ShapeError(f"{what}: sample_weight of shape {w.shape} for {n} samples; give one weight per sample (N,)")
    if not np.all(np.isfinite(w)):
        raise ArgumentError(f"{what}: sample_weight holds non-finite values")
    return w.astype(np.float64)


def class_weights(class_weight, y, what="fit"):
    """The weight of each sample's class: class_weight.get(class, 1.0) (Keras' class_weight_to_sample_weights)."""
    if not isinstance(class_weight, dict):
        raise ArgumentError(f"{what}: class_weight must be a dict {{class index: weight}}, got {class_weight!r:.60}")
    try:
        table = {int(k): float(v) for k, v in class_weight.items()}
    except (TypeError, ValueError):
        raise ArgumentError(f"{what}: class_weight must map integer classes to numbers, got {class_weight!r:.80}") \
            from None
    y = np.asarray(y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y.reshape(y.shape[:-1])
    if y.ndim != 1:
        raise ShapeError(f"{what}: class_weight needs one class per sample; targets of shape {np.shape(y)}")
    classes = np.round(y).astype(np.int64)
    return np.array([table.get(int(c), 1.0) for c in classes], dtype=np.float64)


def weighted_loss(loss, target, out, logits, weight):
    """sum(weight * per-sample loss) / size: Keras' weighted "sum_over_batch_size"."""
    values = loss.per_sample(target, out, logits=logits)
    w = weight.astype(values.dtype)
    if values.ndim > 1:
        w = w.reshape((w.shape[0],) + (1,) * (values.ndim - 1))
    size = max(int(np.prod(values.shape)), 1)
    return (values * w).sum() / size


def unpack_validation(validation_data):
    """(x, y, sample_weight or None) from validation_data=(x, y) or (x, y, sample_weight)."""
    if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
        raise ArgumentError("fit: validation_data must be a tuple (x, y) or (x, y, sample_weight)")
    x, y = validation_data[0], validation_data[1]
    return x, y, validation_data[2] if len(validation_data) == 3 else None


__all__ = ["Targets", "class_weights", "sample_weights", "unpack_validation", "weighted_loss"]
