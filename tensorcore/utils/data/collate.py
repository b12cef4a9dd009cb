"""default_collate and default_convert: torch.utils.data's rules for turning samples into batches."""

import collections.abc

import numpy as np

from ...data.errors import DataError
from ...tensor import Tensor


def _tensor(value, dtype=None):
    from ...tensor import tensor

    return tensor(value, dtype=dtype)


def default_collate(batch):
    """Stack a list of samples into a batch, recursively.

    Tensors -> stacked Tensor (new first dimension); NumPy arrays -> stacked Tensor; NumPy scalars ->
    1-D Tensor; float -> float64 Tensor; int -> int64 Tensor (bool -> bool); str/bytes -> the list;
    dicts -> dict of batches; namedtuples -> the namedtuple of batches; tuples and lists -> a list of batches
    (the elements of each sample must be equally many).

    Example:
        default_collate([(tc.zeros(3), 1), (tc.ones(3), 0)])   # [Tensor (2, 3), Tensor([1, 0])]
    """
    from ...ops.joins import stack

    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SUO":
            raise DataError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                            f"found an array of dtype {elem.dtype}")
        return stack([_tensor(np.asarray(b)) for b in batch], 0)
    if isinstance(elem, (np.bool_, np.number)):
        return _tensor(np.asarray(batch))
    if isinstance(elem, float):
        return _tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):  # bool included: a bool tensor
        return _tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise DataError("default_collate: each element in list of batch should be of equal size")
        # NOTE: a column of strings stays the tuple zip made, as in PyTorch (a list only at the top level).
        columns = [s if isinstance(s[0], (str, bytes)) else default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise DataError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found "
                    f"{type(elem).__name__}")


def default_convert(data):
    """What a DataLoader with batch_size=None returns per sample: NumPy arrays/scalars -> Tensors, recursively."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SUO" else _tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return _tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
