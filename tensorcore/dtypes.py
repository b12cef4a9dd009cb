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


class MemoryFormat:
    """A memory format name (torch.contiguous_format ...): tensorcore tensors are row-major only."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"tensorcore.{self.name}"


contiguous_format = MemoryFormat("contiguous_format")
preserve_format = MemoryFormat("preserve_format")
channels_last = MemoryFormat("channels_last")
channels_last_3d = MemoryFormat("channels_last_3d")
strided = "strided"  # the one layout (torch.strided)


def memory_format_name(memory_format):
    return getattr(memory_format, "name", None) or str(memory_format).split(".")[-1]


def check_layout(op, memory_format=None, layout=None):
    """Accept the memory formats and the strided layout; refuse the others by name.

    # NOTE: channels_last is a layout hint for speed: tensorcore keeps every tensor row-major, so the
    # values, dtypes, shapes and gradients are PyTorch's and only stride() differs from it."""
    if memory_format is not None:
        if memory_format_name(memory_format) not in ("contiguous_format", "preserve_format", "channels_last",
                                                     "channels_last_3d"):
            from .errors import ArgumentError

            raise ArgumentError(f"{op}: memory_format={memory_format} is not supported (tensors are row-major)")
    if layout is not None and str(layout).split(".")[-1] != "strided":
        from .errors import ArgumentError

        raise ArgumentError(f"{op}: layout={layout} is not supported (only strided tensors)")
