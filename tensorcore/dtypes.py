"""dtypes are NumPy dtypes; tc.float32 is np.dtype('float32'). One default float type.

bfloat16 is ml_dtypes' NumPy dtype (8 exponent bits, 7 mantissa bits: float32's range, 3 significant digits).

# NOTE: NumPy gives ml_dtypes' bfloat16 the kind 'V' (not 'f'), so "is this floating?" is `is_floating(dtype)`
# (or `dtype.kind in FLOAT_KINDS` on hot paths: a tensor never holds another 'V' dtype, tensor_dtype refuses them).
"""

import numpy as np

from .errors import DTypeError

FLOAT_KINDS = "fV"  # the kinds of the floating dtypes a tensor holds: 'f', and 'V' for bfloat16
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
    if not is_floating(dtype):
        raise DTypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_float = dtype


def get_default_dtype():
    return _default_float


_TORCH_SPELLINGS = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                    "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}


def as_dtype(dtype):
    """tc.float32, np.float32, 'float32', float, bool ... -> a NumPy dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype is float:
        return _default_float
    if isinstance(dtype, str) and dtype in _TORCH_SPELLINGS:  # 'float' is float32 and 'int' int32, as torch.float
        return np.dtype(_TORCH_SPELLINGS[dtype])
    if dtype == "bfloat16" or getattr(dtype, "__name__", None) == "bfloat16":
        return bfloat16_dtype()
    try:
        return np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"unknown dtype {dtype!r}") from None


def is_floating(dtype):
    """True for float16, bfloat16, float32 and float64."""
    return dtype.kind == "f" or is_bfloat16(dtype)


def is_bfloat16(dtype):
    """Whether a NumPy dtype is ml_dtypes' bfloat16 (asked without importing ml_dtypes)."""
    return dtype.kind == "V" and dtype.name == "bfloat16"


_bfloat16 = None


def bfloat16_dtype():
    """ml_dtypes' bfloat16 as a NumPy dtype (tc.bfloat16), imported on first use: its extension takes a few
    tenths of a second to load, more than the rest of `import tensorcore`."""
    global _bfloat16
    if _bfloat16 is None:
        import ml_dtypes

        _bfloat16 = np.dtype(ml_dtypes.bfloat16)
    return _bfloat16


def __getattr__(name):
    if name == "bfloat16":
        return bfloat16_dtype()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class finfo:
    """Machine limits of a floating dtype, as torch.finfo: Python numbers bits, eps, max, min, tiny,
    smallest_normal and resolution (10 ** -decimal digits), and the dtype's name."""

    def __init__(self, type=None):
        dtype = _default_float if type is None else as_dtype(type)
        if not is_floating(dtype):
            raise DTypeError(f"finfo: expected a floating dtype, got {dtype}")
        if is_bfloat16(dtype):
            import ml_dtypes

            info = ml_dtypes.finfo(dtype)
        else:
            info = np.finfo(dtype)
        self.bits = int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = dtype.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "V": 2}


def promote_types(type1, type2):
    """PyTorch's promotion of two dtypes: bool < integer < floating; within floats the wider (bfloat16 with
    float16 gives float32), within integers NumPy's rule."""
    a, b = as_dtype(type1), as_dtype(type2)
    ca, cb = _CATEGORY.get(a.kind), _CATEGORY.get(b.kind)
    if ca is None or cb is None:
        raise DTypeError(f"promote_types: unsupported dtypes {a} and {b}")
    if ca != cb:
        return a if ca > cb else b
    return a if a == b else np.promote_types(a, b)


def result_type(tensor, other):
    """The dtype of an arithmetic op's result on `tensor` and `other` (Tensors or Python numbers), PyTorch's rule."""
    from .ops.declare import result_dtype
    from .tensor import Tensor

    if not isinstance(tensor, Tensor) and not isinstance(other, Tensor):
        raise DTypeError("result_type: expected at least one Tensor")
    return result_dtype(tensor, other)


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
