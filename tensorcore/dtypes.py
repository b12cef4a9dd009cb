"""dtypes are NumPy dtypes; tc.float32 is np.dtype('float32'). One default float type."""

import numpy as np

from .errors import DTypeError

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

_default_float = float32


def set_default_dtype(dtype):
    """Set the dtype of tensors made from Python floats (float32 or float64)."""
    global _default_float
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise DTypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_float = dtype


def get_default_dtype():
    return _default_float


def as_dtype(dtype):
    """tc.float32, np.float32, 'float32', float, bool ... -> a NumPy dtype."""
    if dtype is None:
        return None
    if dtype is float:
        return _default_float
    try:
        return np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"unknown dtype {dtype!r}") from None


def is_floating(dtype):
    return dtype.kind == "f"
