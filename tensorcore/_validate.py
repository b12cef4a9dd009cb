"""Argument checks shared by creation functions, nn constructors, optimizers, schedulers and file readers.

Every check raises ArgumentError (or the `error` class passed in) naming the function, the argument
and the value, in the spirit of PyTorch's messages:

    size(2.5, "size", "zeros")        -> zeros(): argument 'size' must be an int, got float 2.5
    shape((2, -1), "zeros")           -> zeros(): negative dimension -1 in size (2, -1)
    number(inf, "lr", "Adam", low=0)  -> Adam: invalid lr inf (must be a finite number >= 0)
"""

import functools
import math
import numbers
import operator
import os

import numpy as np

from .errors import ArgumentError, DTypeError

# What a Tensor may hold: bool, signed and unsigned integers, floats (no objects, strings, complex).
TENSOR_KINDS = "biuf"


def _name(op):
    return op if op.endswith(")") or " " in op or op[:1].isupper() else f"{op}()"


def integer(value, name, op, minimum=None, error=ArgumentError):
    """An int (or anything with __index__: NumPy ints, 0-d integer tensors); floats and bools are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise error(f"{_name(op)}: argument {name!r} must be an int, got bool {value}")
    try:
        out = operator.index(value)
    except TypeError:
        raise error(f"{_name(op)}: argument {name!r} must be an int, got {type(value).__name__} {value!r:.60}") \
            from None
    if minimum is not None and out < minimum:
        raise error(f"{_name(op)}: argument {name!r} must be >= {minimum}, got {out}")
    return out


def size(value, name, op, error=ArgumentError):
    """A non-negative int dimension."""
    return integer(value, name, op, minimum=0, error=error)


def int_tuple(value, name, op, length=2, minimum=None, error=ArgumentError):
    """An int or a sequence of `length` ints (kernel_size=3 -> (3, 3)), each >= minimum."""
    if isinstance(value, (tuple, list)):
        if len(value) != length:
            raise error(f"{_name(op)}: argument {name!r} must be an int or {length} ints, got {tuple(value)}")
        return tuple(integer(v, name, op, minimum, error) for v in value)
    n = integer(value, name, op, minimum, error)
    return (n,) * length


@functools.lru_cache(maxsize=1)
def memory_limit():
    """Bytes of physical memory (the most one allocation may ask for); 2**63 - 1 where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1


def fits_in_memory(shape, dtype, op, error=ArgumentError):
    """Refuse an array of `shape` and `dtype` larger than physical memory, before anything is allocated."""
    itemsize = dtype.itemsize if isinstance(dtype, np.dtype) else np.dtype(dtype).itemsize
    nbytes = math.prod(shape) * itemsize  # Python ints: no overflow
    if nbytes == 0 and math.prod(n for n in shape if n) * itemsize >= 1 << 63:  # NumPy refuses these too
        raise error(f"{_name(op)}: a tensor of shape {tuple(shape)} and dtype {np.dtype(dtype)} is too large "
                    "to index (its nonzero sizes multiply past 2**63 bytes)")
    if nbytes > _SMALL and nbytes > memory_limit():
        raise error(f"{_name(op)}: a tensor of shape {tuple(shape)} and dtype {np.dtype(dtype)} needs "
                    f"{nbytes / 2**30:.3g} GiB, more than this machine's memory ({memory_limit() / 2**30:.3g} GiB)")
    return nbytes


_SMALL = 1 << 30  # bytes below which no allocation is compared with the machine's memory


def shape(args, op, dtype=None, name="size"):
    """The shape of tc.zeros(2, 3) or tc.zeros((2, 3)): a tuple of non-negative ints that fits in memory."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    if all(type(v) is int and v >= 0 for v in args):  # the common case, checked quickly
        dims = tuple(args)
    else:
        dims = _dims(args, op, name)
    if dtype is not None:
        fits_in_memory(dims, dtype, op)
    return dims


def _dims(args, op, name):
    if len(args) == 1 and hasattr(args[0], "shape") and not _is_integer_scalar(args[0]):
        raise ArgumentError(f"{_name(op)}: argument {name!r} must be a tuple of ints, got {type(args[0]).__name__}")
    dims = []
    for i, v in enumerate(args):
        if isinstance(v, (bool, np.bool_)) or not _is_integer_scalar(v):
            raise ArgumentError(f"{_name(op)}: argument {name!r} must be a tuple of ints, but found element of "
                                f"type {type(v).__name__} at pos {i} ({v!r:.40})")
        dims.append(operator.index(v))
    if any(n < 0 for n in dims):
        raise ArgumentError(f"{_name(op)}: negative dimension {min(dims)} in {name} {tuple(dims)}")
    return tuple(dims)


def _is_integer_scalar(v):
    try:
        operator.index(v)
    except TypeError:
        return False
    return True


def number(value, name, op, low=None, high=None, low_open=False, high_open=False, error=ArgumentError):
    """A finite real number (int or float, not bool) in [low, high] (open ends with low_open / high_open)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise error(f"{_name(op)}: {name} must be a number, got {type(value).__name__} {value!r:.60}")
    value = float(value) if isinstance(value, np.floating) else value
    bad = not isinstance(value, numbers.Integral) and not math.isfinite(value)
    bad = bad or (low is not None and (value <= low if low_open else value < low))
    bad = bad or (high is not None and (value >= high if high_open else value > high))
    if bad:
        allowed = _range(low, high, low_open, high_open)
        raise error(f"{_name(op)}: invalid {name}: {value} (must be a finite number{allowed})")
    return value


def _range(low, high, low_open, high_open):
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def flag(value, name, op, error=ArgumentError):
    """A bool (True/False, NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{_name(op)}: {name} must be True or False, got {type(value).__name__} {value!r:.60}")
    return bool(value)


def choice(value, name, op, options, error=ArgumentError):
    """One of `options` (strings)."""
    if not isinstance(value, str) or value not in options:
        raise error(f"{_name(op)}: {name} must be one of {', '.join(map(repr, options))}, got {value!r:.60}")
    return value


def tensor_dtype(dtype, op):
    """A dtype a Tensor can hold (bool, ints, floats); object, str and complex are refused."""
    if dtype.kind not in TENSOR_KINDS and dtype.name != "bfloat16":
        raise DTypeError(f"{_name(op)}: a tensor cannot hold dtype {dtype} (only bool, integer and float dtypes)")
    return dtype


def host_array(data, op):
    """np.asarray(data), refusing ragged nested lists and data that is not numbers."""
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise ArgumentError(f"{_name(op)}: cannot make a tensor of {type(data).__name__} data "
                            f"(ragged nested sequences or non-numbers: {exc})") from None
    tensor_dtype(array.dtype, op)
    return array
