"""Tensor creation: zeros, ones, full, empty, arange, linspace, eye, *_like, rand, randn, randint."""

import numpy as np

from .device import device as as_device
from .dtypes import as_dtype, get_default_dtype
from .errors import ArgumentError, DTypeError
from .random import _gen
from .tensor import _make


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def _finish(array, device, requires_grad):
    """A host array -> a tensor on `device` (random numbers are drawn on the host, see random.py)."""
    dev = as_device(device)
    if requires_grad and array.dtype.kind != "f":
        raise DTypeError(f"only floating tensors can require grad, got {array.dtype}")
    data = array if dev.type == "cpu" else dev.backend.from_host(array)
    return _make(data, dev, bool(requires_grad), None)


def _filled(fill, shape, dtype, device, requires_grad):
    dev = as_device(device)
    dtype = as_dtype(dtype) or get_default_dtype()
    xp = dev.backend.xp
    data = fill(xp, _shape(shape), dtype)
    if requires_grad and dtype.kind != "f":
        raise DTypeError(f"only floating tensors can require grad, got {dtype}")
    return _make(data, dev, bool(requires_grad), None)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros. Example: tc.zeros(2, 3) or tc.zeros((2, 3), dtype=tc.float64)."""
    return _filled(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp, s, d: xp.empty(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    return _filled(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,) if isinstance(shape, int)
                   else (tuple(shape),), dtype, device, requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return empty(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    """NumPy's arange; int64 for integer arguments, the default float type otherwise."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int64 if is_int else get_default_dtype()
    return _finish(np.arange(start, stop, step, dtype=as_dtype(dtype)), device, requires_grad)


def linspace(start, stop, num=50, endpoint=True, dtype=None, device=None, requires_grad=False):
    array = np.linspace(start, stop, num, endpoint=endpoint, dtype=as_dtype(dtype) or get_default_dtype())
    return _finish(array, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=as_dtype(dtype) or get_default_dtype()), device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform in [0, 1), from the default generator (tc.manual_seed) or `generator`."""
    dtype = as_dtype(dtype) or get_default_dtype()
    return _finish(_gen(generator).random(_shape(shape)).astype(dtype), device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal, from the default generator (tc.manual_seed) or `generator`."""
    dtype = as_dtype(dtype) or get_default_dtype()
    return _finish(_gen(generator).standard_normal(_shape(shape)).astype(dtype), device, requires_grad)


def randint(low, high=None, size=(), dtype=np.int64, device=None, generator=None):
    """Integers in [low, high) (or [0, low) when high is omitted)."""
    if high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, int) else tuple(size)
    return _finish(_gen(generator).integers(low, high, size=size).astype(as_dtype(dtype)), device, False)


def rand_like(x, generator=None):
    return rand(x.shape, dtype=x.dtype, device=x.device, generator=generator)


def randn_like(x, generator=None):
    return randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)


def from_numpy(array):
    """A cpu tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise ArgumentError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return _make(array, as_device("cpu"), False, None)


def from_dlpack(obj):
    """A tensor sharing memory with any object that speaks DLPack (NumPy, CuPy, PyTorch, JAX)."""
    dev_type, index = obj.__dlpack_device__()
    if int(dev_type) == 1:  # kDLCPU
        return _make(np.from_dlpack(obj), as_device("cpu"), False, None)
    if int(dev_type) == 2:  # kDLCUDA
        import cupy

        return _make(cupy.from_dlpack(obj), as_device(f"cuda:{index}"), False, None)
    raise ArgumentError(f"from_dlpack: unsupported DLPack device type {dev_type}")

