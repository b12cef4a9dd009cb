"""torch's top-level names that compose tensorcore's, session 8: predicates (is_complex, is_nonzero, can_cast,
typename ...), process switches (set_warn_always, set_num_interop_threads, set_flush_denormal, the autocast
getters and setters ...), creation (range, empty_strided, frombuffer, the window functions), sampling
(binomial, poisson), and the Tensor methods and properties of the same kind (adjoint, apply_, map_, resize,
is_sparse, layout, dim_order, new_empty_strided ...). Imported by tensorcore/__init__.py (EXPORTS)."""

import math
import warnings

import numpy as np

from .dtypes import as_dtype, get_default_dtype
from .errors import ArgumentError, DeviceError, DTypeError, ShapeError
from .tensor import Tensor


def _tensor_arg(name, value, what="input"):
    if not isinstance(value, Tensor):
        raise ArgumentError(f"{name}(): argument '{what}' must be a Tensor, not {type(value).__name__}")
    return value


# --- aliases and predicates -----------------------------------------------------------------------------------------
def absolute(input):
    """|input| (torch.absolute: an alias of abs)."""
    return _tensor_arg("absolute", input).abs()


def arctan2(input, other):
    """atan2(input, other) (torch.arctan2: an alias of atan2)."""
    from .ops.binary_math import atan2

    return atan2(input, other)


def is_complex(input):
    """False: tensorcore has no complex dtypes."""
    return _tensor_arg("is_complex", input).dtype.kind == "c"


def is_signed(input):
    """True for a signed dtype (floats, int8 ... int64), False for bool and uint8."""
    return _tensor_arg("is_signed", input).is_signed()


def is_nonzero(input):
    """The truth value of a one-element tensor (raises for any other size)."""
    return _tensor_arg("is_nonzero", input).is_nonzero()


def is_same_size(input, other):
    return _tensor_arg("is_same_size", input).is_same_size(_tensor_arg("is_same_size", other, "other"))


def is_inference(input):
    """False: tensorcore's inference_mode makes no inference tensors (it is no_grad)."""
    return _tensor_arg("is_inference", input).is_inference()


def get_device(input):
    """-1 for a cpu tensor, else its device index."""
    return _tensor_arg("get_device", input).get_device()


def typename(obj):
    """torch.typename: x.type() for a tensor ('tensorcore.FloatTensor'), else the object's module.qualname."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # (V: bfloat16)


def can_cast(from_, to):
    """torch.can_cast: True unless the cast lowers the category (float to integer, anything but bool to bool);
    within a category any cast is allowed (int64 to int8, float64 to float16)."""
    source, target = as_dtype(from_), as_dtype(to)
    return _CATEGORY[source.kind] <= _CATEGORY[target.kind]


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    """split_with_sizes (the pieces are views here too; nothing is unsafe)."""
    from .ops.copies import split_with_sizes

    return split_with_sizes(input, split_sizes, dim)


# --- process switches -----------------------------------------------------------------------------------------------
_switches = {"warn_always": False, "interop_threads": None, "check_nan": True}


def set_warn_always(b):
    """Recorded (torch's switch to repeat warnings that warn once); read by is_warn_always_enabled()."""
    _switches["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _switches["warn_always"]


def get_num_interop_threads():
    """The inter-op thread count (tensorcore runs ops one after another: this is a recorded number, by default
    the intra-op thread count)."""
    from .backends.cpu_parallel import get_num_threads

    return _switches["interop_threads"] or get_num_threads()


def set_num_interop_threads(num):
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
        raise ArgumentError(f"set_num_interop_threads: expected a positive int, got {num!r}")
    _switches["interop_threads"] = int(num)


def set_flush_denormal(mode):
    """Whether flushing denormals is supported: NumPy cannot flush them, so False for mode=True (nothing changes),
    and True for mode=False (denormals are kept, which is what was asked)."""
    return not bool(mode)


def set_anomaly_enabled(enabled, check_nan=True):
    """torch.set_anomaly_enabled: anomaly mode (tensorcore's checks NaN/Inf, so check_nan=False turns it off)."""
    from .grad_mode import set_detect_anomaly

    _switches["check_nan"] = bool(check_nan)
    set_detect_anomaly(bool(enabled) and bool(check_nan))


def is_anomaly_check_nan_enabled():
    return _switches["check_nan"]


def set_default_tensor_type(t):
    """The legacy switch: tc.FloatTensor / tc.DoubleTensor (or 'torch.FloatTensor', 'torch.DoubleTensor', ...)
    set the default float dtype. Deprecated in torch too (use set_default_dtype)."""
    from . import dtypes

    name = t if isinstance(t, str) else getattr(t, "__name__", repr(t))
    kinds = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16", "BFloat16Tensor": None}
    short = name.split(".")[-1]
    if ".cuda." in name:
        raise DeviceError(f"set_default_tensor_type: {name}: tensorcore sets the default device with "
                          "tc.set_default_device('cuda'), not through the tensor type")
    if kinds.get(short) is None:
        raise DTypeError(f"set_default_tensor_type: only floating-point types are supported as the default type, "
                         f"got {name}")
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    dtypes.set_default_dtype(kinds[short])


# --- autocast's getters and setters (torch's functional form of tc.autocast's state) -------------------------------
def _autocast_state():
    from .amp import autocast_mode

    return autocast_mode


def _set_autocast(device_type, enabled=None, dtype=None):
    """torch's functional autocast switches on tc.autocast's state. A dtype set while autocast is off is the one
    the next region uses (and get_autocast_dtype reports), as torch's (there per thread, here per process)."""
    mode = _autocast_state()
    st = mode._state
    on = device_type in st.dtypes
    dtypes = dict(st.dtypes)
    if enabled is None:
        enabled = on
    if dtype is not None:
        mode._DEFAULT_DTYPE[device_type] = mode._as_low_dtype(dtype)
    if enabled:
        dtypes[device_type] = mode._as_low_dtype(dtype) if dtype is not None else (
            dtypes.get(device_type) or mode.get_autocast_dtype(device_type))
    else:
        dtypes.pop(device_type, None)
    st.dtypes = dtypes
    if enabled and not on:
        mode._enter(st)
    elif on and not enabled:
        mode._leave(st)


def _device_arg(name, device_type):
    if not isinstance(device_type, str) or device_type not in ("cpu", "cuda"):
        raise DeviceError(f"{name}: unsupported autocast device_type {device_type!r} (cpu, cuda)")
    return device_type


def set_autocast_enabled(*args):
    """set_autocast_enabled(device_type, enabled), or the old set_autocast_enabled(enabled) for cuda."""
    device_type, enabled = ("cuda", args[0]) if len(args) == 1 else args
    _set_autocast(_device_arg("set_autocast_enabled", device_type), enabled=bool(enabled))


def set_autocast_dtype(device_type, dtype):
    _set_autocast(_device_arg("set_autocast_dtype", device_type), dtype=dtype)


def get_autocast_cpu_dtype():
    return _dtype_now("cpu")


def get_autocast_gpu_dtype():
    return _dtype_now("cuda")


def _dtype_now(device_type):
    mode = _autocast_state()
    return mode.get_autocast_dtype(device_type)


def set_autocast_cpu_dtype(dtype):
    set_autocast_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype):
    set_autocast_dtype("cuda", dtype)


def is_autocast_cpu_enabled():
    return _autocast_state().is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled):
    set_autocast_enabled("cpu", enabled)


def is_autocast_cache_enabled():
    return bool(_autocast_state()._state.cache_enabled)


def set_autocast_cache_enabled(enabled):
    _autocast_state()._state.cache_enabled = bool(enabled)


def clear_autocast_cache():
    _autocast_state()._state.cache = {}


# --- creation ------------------------------------------------------------------------------------------------------
def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """torch.range (deprecated): start, start + step, ... up to end INCLUDED; the default float dtype unless dtype
    is given (unlike arange, integers give floats)."""
    if out is not None:
        raise ArgumentError("range: out= is not supported")
    for what, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, Tensor):
            value = value.item()
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool) \
                or not math.isfinite(value):
            raise ArgumentError(f"range: {what} must be a finite number, got {value!r}")
    if step == 0:
        raise ArgumentError("range: step must be nonzero")
    if (end - start) * step < 0:
        raise ArgumentError(f"range: upper bound and larger bound inconsistent with step sign (start={start}, "
                            f"end={end}, step={step})")
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    count = int(math.floor((end - start) / step)) + 1
    dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
    values = start + step * np.arange(count, dtype=np.float64)
    return _from_host(values.astype(dtype), device, requires_grad)


def _from_host(array, device, requires_grad):
    from .tensor import tensor

    return tensor(array, device=device, requires_grad=requires_grad)


def _sizes(name, value, what):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise ArgumentError(f"{name}: {what} must be a sequence of ints, got {value!r}") from None
    return value


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialized tensor of `size` whose stride() is `stride` (in elements), in new memory."""
    from .creation import empty
    from .ops.strided import as_strided

    size, stride = _sizes("empty_strided", size, "size"), _sizes("empty_strided", stride, "stride")
    if len(size) != len(stride):
        raise ShapeError(f"empty_strided: mismatch in length of strides and shape ({len(size)} sizes, "
                         f"{len(stride)} strides)")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ShapeError(f"empty_strided: sizes {size} and strides {stride} must be non-negative")
    storage = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    base = empty(storage, dtype=dtype, device=device)
    out = as_strided(base, size, stride, 0)
    return out.requires_grad_(True) if requires_grad else out


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-d tensor that shares the memory of a Python buffer (bytes, bytearray, array.array, memoryview):
    count elements of dtype (-1: all), from byte offset."""
    from .creation import from_numpy

    dt = as_dtype(dtype)
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ArgumentError(f"frombuffer: object of type {type(buffer).__name__} does not support the buffer "
                            "protocol") from None
    length = view.nbytes
    if offset < 0 or offset >= length and length > 0 or length == 0:
        raise ArgumentError(f"frombuffer: both buffer length ({length}) and offset ({offset}) must be positive, "
                            "and offset less than the buffer length")
    if count == 0 or count < -1:
        raise ArgumentError(f"frombuffer: count must be positive or -1, got {count}")
    if count == -1 and (length - offset) % dt.itemsize:
        raise ArgumentError(f"frombuffer: buffer length ({length - offset} bytes after offset {offset}) must be "
                            f"a multiple of the element size ({dt.itemsize})")
    if count > 0 and offset + count * dt.itemsize > length:
        raise ArgumentError(f"frombuffer: requested buffer length ({count} * {dt.itemsize} bytes) after offset "
                            f"({offset}) must not be greater than actual buffer length ({length})")
    if view.readonly:
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. "
                      "This means you can write to the underlying (supposedly non-writable) buffer using the "
                      "tensor.", UserWarning, stacklevel=2)
    out = from_numpy(np.frombuffer(buffer, dtype=dt, count=count, offset=offset))
    return out.requires_grad_(True) if requires_grad else out


# --- sampling --------------------------------------------------------------------------------------------------
def _float_input(name, value, what):
    if not isinstance(value, Tensor):
        raise ArgumentError(f"{name}(): argument '{what}' must be a Tensor, not {type(value).__name__}")
    if value.dtype.kind not in "fV":
        raise ArgumentError(f"{name} only supports floating-point dtypes for {what}, got: {value.dtype}")
    return value


def binomial(count, prob, generator=None):
    """Binomial(count, prob) draws, elementwise with broadcasting, in count's dtype (no gradient)."""
    from .random import _gen
    from .sampling import _host, _out

    n, p = _float_input("binomial", count, "count"), _float_input("binomial", prob, "prob")
    try:
        shape = np.broadcast_shapes(tuple(n.shape), tuple(p.shape))
    except ValueError:
        raise ShapeError(f"binomial: count {tuple(n.shape)} and prob {tuple(p.shape)} cannot be broadcast") from None
    hn, hp = np.broadcast_to(_host(n).astype(np.float64), shape), np.broadcast_to(_host(p).astype(np.float64), shape)
    if np.any(hn < 0) or np.any(hn != np.floor(hn)):
        raise ArgumentError("binomial: count must be non-negative whole numbers")
    if np.any((hp < 0) | (hp > 1)) or np.any(np.isnan(hp)):
        raise ArgumentError("binomial: prob must be in [0, 1]")
    return _zero_gradient(_out(_gen(generator).binomial(hn.astype(np.int64), hp).astype(n.dtype), n.device), n, p)


def _zero_gradient(draws, *inputs):
    """As torch's, the draws require grad when an input does, with a zero gradient (nothing flows back)."""
    from .grad_mode import modes

    for t in inputs:
        if modes.grad_enabled and t.requires_grad:
            draws = draws + (t * 0).to(dtype=draws.dtype)
    return draws


def poisson(input, generator=None):
    """Poisson(input) draws, elementwise (input: the non-negative rates), in input's dtype (no gradient)."""
    from .random import _gen
    from .sampling import _host, _out

    rates = _host(_float_input("poisson", input, "input")).astype(np.float64)
    if np.any(rates < 0) or np.any(np.isnan(rates)):
        raise ArgumentError("poisson: invalid Poisson rate, expected rate to be non-negative")
    return _zero_gradient(_out(_gen(generator).poisson(rates).astype(input.dtype), input.device), input)


EXPORTS = ("binomial", "poisson", "absolute", "arctan2", "is_complex", "is_signed", "is_nonzero", "is_same_size",
           "is_inference", "get_device", "typename", "can_cast", "unsafe_split_with_sizes", "set_warn_always",
           "is_warn_always_enabled", "get_num_interop_threads", "set_num_interop_threads", "set_flush_denormal",
           "set_anomaly_enabled", "is_anomaly_check_nan_enabled", "set_default_tensor_type", "set_autocast_enabled",
           "set_autocast_dtype", "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_cpu_dtype",
           "set_autocast_gpu_dtype", "is_autocast_cpu_enabled", "set_autocast_cpu_enabled",
           "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache", "range",
           "empty_strided", "frombuffer")
