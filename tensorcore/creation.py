"""Tensor creation: zeros, ones, full, empty, arange, linspace, eye, *_like, rand, randn, randint.

Sizes are checked before anything is allocated (tensorcore/_validate.py): ints only (2.0 and True
are refused, as PyTorch refuses them), non-negative, and small enough to fit in memory.
"""

import math
import numbers

import numpy as np

from . import _validate as check
from .device import device as as_device
from .dtypes import as_dtype, check_layout, get_default_dtype
from .errors import ArgumentError, DTypeError
from .random import _gen
from .tensor import Tensor, _make


def _dtype(dtype, op, default=None):
    dt = as_dtype(dtype) if dtype is not None else (default or get_default_dtype())
    return check.tensor_dtype(dt, op)


def _grad_check(requires_grad, dtype, op):
    if requires_grad and dtype.kind not in "fV":  # 'V': bfloat16 (dtypes.FLOAT_KINDS)
        raise DTypeError(f"{op}(): only floating tensors can require grad, got {dtype}")


def _finish(array, dev, requires_grad):
    """A host array -> a tensor on `dev` (random numbers are drawn on the host, see random.py)."""
    data = dev.backend.from_host(array, copy=False)
    return _make(data, dev, bool(requires_grad), None)


def _filled(op, fill, shape, dtype, device, requires_grad):
    dtype = _dtype(dtype, op)
    dims = check.shape(shape, op, dtype)
    _grad_check(requires_grad, dtype, op)
    dev = as_device(device)
    return _make(fill(dev.backend.xp, dims, dtype), dev, bool(requires_grad), None)


def _size_keyword(op, args, size):
    """torch.empty(size=(2, 3)) (gat's nn.Parameter(torch.empty(size=...))): the size given by keyword."""
    if size is None:
        return args
    if args:
        raise ArgumentError(f"{op}() got multiple values for argument 'size'")
    return (size,)


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros. Example: tc.zeros(2, 3) or tc.zeros((2, 3), dtype=tc.float64)."""
    return _filled("zeros", lambda xp, s, d: xp.zeros(s, dtype=d), _size_keyword("zeros", args, size), dtype, device,
                   requires_grad)


def ones(*args, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor of ones. Example: tc.ones(2, 3)."""
    return _filled("ones", lambda xp, s, d: xp.ones(s, dtype=d), _size_keyword("ones", args, size), dtype, device,
                   requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor. Example: tc.empty(2, 3) or tc.empty(size=(2, 3))."""
    return _filled("empty", lambda xp, s, d: xp.empty(s, dtype=d), _size_keyword("empty", args, size), dtype, device,
                   requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` filled with fill_value; bool -> bool, int -> int64, float -> the default float."""
    if isinstance(fill_value, Tensor) and fill_value.ndim == 0:
        fill_value = fill_value.item()
    if not isinstance(fill_value, (numbers.Number, np.bool_)) or isinstance(fill_value, complex):
        raise ArgumentError(f"full(): fill_value must be a number, got {type(fill_value).__name__} {fill_value!r:.40}")
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = np.bool_
    elif dtype is None and isinstance(fill_value, numbers.Integral):
        dtype = np.int64
    dtype = _dtype(dtype, "full")
    if dtype.kind in "iu":  # PyTorch's rule: a float truncates toward zero, out of range (nan, inf) is refused,
        info = np.iinfo(dtype)  # and an unsigned dtype wraps negative integers down to -max
        low = info.min if dtype.kind == "i" else -info.max if isinstance(fill_value, numbers.Integral) else 0
        if not (isinstance(fill_value, numbers.Real) and low <= fill_value <= info.max):
            raise ArgumentError(f"full(): fill_value {fill_value!r} does not fit dtype {dtype}")
        fill_value = int(fill_value) % (info.max + 1) if dtype.kind == "u" else int(fill_value)
    size = (size,) if not isinstance(size, (tuple, list)) else (tuple(size),)
    return _filled("full", lambda xp, s, d: xp.full(s, fill_value, dtype=d), size, dtype, device, requires_grad)


def _like(x, op):
    if not isinstance(x, Tensor):
        raise ArgumentError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    return x


def zeros_like(x, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None):
    x = _like(x, "zeros_like")
    check_layout("zeros_like", memory_format, layout)
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None):
    x = _like(x, "ones_like")
    check_layout("ones_like", memory_format, layout)
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None):
    x = _like(x, "empty_like")
    check_layout("empty_like", memory_format, layout)
    return empty(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None):
    x = _like(x, "full_like")
    check_layout("full_like", memory_format, layout)
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def arange(start=None, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """start, start + step, ... up to end (excluded); int64 for integer arguments, the default float otherwise.
    arange(5), arange(end=5) and arange(1, 5) as PyTorch's."""
    if start is None and end is None:
        raise ArgumentError("arange() missing required argument 'end'")
    if end is None:
        start, end = 0, start
    elif start is None:
        if step != 1:  # (torch accepts end alone, or start and end, with a step)
            raise ArgumentError("arange(): a step needs start and end (arange(start, end, step))")
        start = 0
    start, end, step = (int(v) if isinstance(v, (bool, np.bool_)) else v for v in (start, end, step))  # as PyTorch
    for name, v in (("start", start), ("end", end), ("step", step)):
        check.number(v, name, "arange")
    if step == 0:
        raise ArgumentError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise ArgumentError(f"arange(): upper bound and larger bound inconsistent with step sign "
                            f"(start {start}, end {end}, step {step})")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else get_default_dtype()
    dtype = _dtype(dtype, "arange")
    check.fits_in_memory((math.ceil((end - start) / step),), dtype, "arange")
    _grad_check(requires_grad, dtype, "arange")
    return _finish(np.arange(start, end, step, dtype=dtype), as_device(device), requires_grad)


def linspace(start, end, steps=50, endpoint=True, dtype=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end (included unless endpoint=False)."""
    start, end = (v.item() if isinstance(v, Tensor) and v.ndim == 0 else v for v in (start, end))
    check.number(start, "start", "linspace")
    check.number(end, "end", "linspace")
    steps = check.size(steps, "steps", "linspace")
    dtype = _dtype(dtype, "linspace")
    check.fits_in_memory((steps,), dtype, "linspace")
    _grad_check(requires_grad, dtype, "linspace")
    return _finish(np.linspace(start, end, steps, endpoint=bool(endpoint), dtype=dtype), as_device(device),
                   requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (m defaults to n)."""
    n = check.size(n, "n", "eye")
    m = n if m is None else check.size(m, "m", "eye")
    dtype = _dtype(dtype, "eye")
    check.fits_in_memory((n, m), dtype, "eye")
    _grad_check(requires_grad, dtype, "eye")
    return _finish(np.eye(n, m, dtype=dtype), as_device(device), requires_grad)


def _random(op, draw, size, dtype, device, requires_grad, generator):
    dtype = _dtype(dtype, op)
    if dtype.kind not in "fV":  # 'V': bfloat16 (dtypes.FLOAT_KINDS)
        raise DTypeError(f"{op}(): draws floating numbers; dtype {dtype} is not floating")
    dims = check.shape(size, op, np.float64)  # drawn in float64, then cast
    dev = as_device(device)
    return _finish(draw(_gen(generator), dims).astype(dtype, copy=False), dev, requires_grad)


def rand(*args, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform in [0, 1), from the default generator (tc.manual_seed) or `generator`."""
    return _random("rand", lambda g, s: g.random(s), _size_keyword("rand", args, size), dtype, device, requires_grad,
                   generator)


def randn(*args, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal, from the default generator (tc.manual_seed) or `generator`."""
    return _random("randn", lambda g, s: g.standard_normal(s), _size_keyword("randn", args, size), dtype, device,
                   requires_grad, generator)


def randint(low=None, high=None, size=(), dtype=np.int64, device=None, generator=None):
    """Integers in [low, high) (or [0, low) when high is omitted; randint(high=5, size=(3,)) as torch's)."""
    if isinstance(high, (tuple, list)) and isinstance(size, tuple) and size == ():  # randint(high, size)
        low, high, size = 0, low, high
    if low is None and high is None:
        raise ArgumentError("randint() missing required argument 'high'")
    if high is None:
        low, high = 0, low
    elif low is None:
        low = 0
    low, high = check.integer(low, "low", "randint"), check.integer(high, "high", "randint")
    if low >= high:
        raise ArgumentError(f"randint(): expects low < high, got low {low} and high {high}")
    dtype = _dtype(dtype, "randint")
    if dtype.kind in "iu" and not (np.iinfo(dtype).min <= low and high - 1 <= np.iinfo(dtype).max):
        raise ArgumentError(f"randint(): [{low}, {high}) does not fit dtype {dtype}")
    if dtype.kind == "b" and not (low >= 0 and high <= 2):
        raise ArgumentError(f"randint(): [{low}, {high}) does not fit dtype bool")
    dims = check.shape((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "randint", np.int64)
    return _finish(_gen(generator).integers(low, high, size=dims).astype(dtype), as_device(device), False)


def rand_like(x, generator=None, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    x = _like(x, "rand_like")
    check_layout("rand_like", memory_format, layout)
    return rand(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad,
                generator=generator)


def randn_like(x, generator=None, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    x = _like(x, "randn_like")
    check_layout("randn_like", memory_format, layout)
    return randn(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad,
                 generator=generator)


def from_numpy(array):
    """A cpu tensor sharing memory with a NumPy array (of bool, integer or float dtype)."""
    if not isinstance(array, np.ndarray):
        raise ArgumentError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.fields is not None or (array.dtype.kind not in check.TENSOR_KINDS
                                          and array.dtype.name != "bfloat16"):
        raise DTypeError(f"from_numpy: can't convert an array of dtype {array.dtype}; the only supported types "
                         "are bool, integer and floating dtypes")
    return _make(array, as_device("cpu"), False, None)


def from_dlpack(obj):
    """A tensor sharing memory with any object that speaks DLPack (NumPy, CuPy, PyTorch, JAX)."""
    if not hasattr(obj, "__dlpack_device__"):
        raise ArgumentError(f"from_dlpack: a {type(obj).__name__} does not speak DLPack (no __dlpack_device__)")
    dev_type, index = obj.__dlpack_device__()
    if int(dev_type) == 1:  # kDLCPU
        try:
            array = np.from_dlpack(obj)
        except (BufferError, TypeError, ValueError) as e:
            raise DTypeError(f"from_dlpack: cannot share a {type(obj).__name__} ({e})") from None
        if array.dtype.kind not in check.TENSOR_KINDS:
            raise DTypeError(f"from_dlpack: unsupported dtype {array.dtype}")
        return _make(array, as_device("cpu"), False, None)
    if int(dev_type) == 2:  # kDLCUDA
        import cupy

        return _make(cupy.from_dlpack(obj), as_device(f"cuda:{index}"), False, None)
    raise ArgumentError(f"from_dlpack: unsupported DLPack device type {dev_type}")


# --- Tensor.new_*: a new tensor with self's dtype and device unless told otherwise (PyTorch's) ---------------
def _new(maker, self, size, dtype, device, requires_grad):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return maker(size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_methods():
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **_):
        return _new(zeros, self, size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False, **_):
        return _new(ones, self, size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False, **_):
        return _new(empty, self, size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False, **_):
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False, **_):
        from .tensor import tensor

        if isinstance(data, Tensor):
            data = data.detach().numpy()
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    for fn in (new_zeros, new_ones, new_empty, new_full, new_tensor):
        setattr(Tensor, fn.__name__, fn)


_new_methods()


def scalar_tensor(s, dtype=None, device=None, requires_grad=False, **_):
    """A 0-d tensor holding the number s (the default float dtype unless told otherwise)."""
    if isinstance(s, Tensor):
        s = s.item()
    return full((), s, dtype=dtype or get_default_dtype(), device=device, requires_grad=requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False, **_):
    """base ** linspace(start, end, steps)."""
    start, end = (v.item() if isinstance(v, Tensor) and v.ndim == 0 else v for v in (start, end))
    exps = linspace(start, end, steps, dtype=np.float64)
    dtype = _dtype(dtype, "logspace")
    return _finish((np.float64(base) ** exps.numpy()).astype(dtype), as_device(device), requires_grad)


def fill(input, value):
    """A new tensor of input's shape, dtype and device filled with value (torch.fill); a 0-d tensor value
    gets the gradient's sum, input a zero gradient."""
    from .ops.compare import where

    everywhere = ones(tuple(input.shape), dtype=np.bool_, device=input.device)
    return where(everywhere, value, input).to(input.dtype)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False, generator=None,
                 layout=None, memory_format=None):
    """Integers in [low, high) (or [0, low)) in input's shape, dtype and device."""
    x = _like(input, "randint_like")
    check_layout("randint_like", memory_format, layout)
    if high is None:
        low, high = 0, low
    out = randint(low, high, tuple(x.shape), dtype=dtype or x.dtype, device=device or x.device, generator=generator)
    return out.requires_grad_(True) if requires_grad else out
