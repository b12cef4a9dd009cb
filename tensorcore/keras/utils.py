"""Keras utilities: to_categorical, set_random_seed."""

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """Integer class labels -> one-hot rows (N, num_classes).

    Example:
        to_categorical([0, 2], 3)      # [[1, 0, 0], [0, 0, 1]]
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError("to_categorical: labels must be integers")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise ValueError(f"to_categorical: labels must be integers, got dtype {y.dtype}")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got [{y.min()}, {y.max()}]")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None].astype(np.int64), 1, axis=-1)
    return out


def set_random_seed(seed):
    """Seed every random draw tensorcore.keras makes (initializers, dropout, shuffling): tc.manual_seed(seed)."""
    from ..random import manual_seed

    manual_seed(int(seed))
