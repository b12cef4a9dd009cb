"""tc.autocast: run the ops of a region in the precision PyTorch's autocast picks for each (policy.py).

State is thread-local (each thread starts with autocast off) and nests: an inner autocast (or one with
enabled=False) holds until it exits, then the outer state is back. Casts are differentiable (a gradient
comes back in the source's dtype: float32 weights get float32 gradients). With cache_enabled (the default),
a float32 leaf that requires grad (a weight) is cast once per outermost autocast region, as in PyTorch.
"""

import functools
import threading
import warnings

import numpy as np

from ..autograd import Function
from ..dtypes import as_dtype, bfloat16
from ..errors import DeviceError, DTypeError, GradientError
from ..tensor import Tensor
from . import policy

_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
_FLOAT32 = np.dtype("float32")
_LOW = (np.dtype("float16"), bfloat16)
_LOW_OR_FLOAT32 = _LOW + (_FLOAT32,)
_lock = threading.Lock()


def _as_low_dtype(dtype):
    """A dtype argument (tc.float16, 'bfloat16', np.float16 ...) as a NumPy dtype."""
    try:
        return as_dtype(dtype)
    except DTypeError:
        raise DTypeError(f"autocast: unknown dtype {dtype!r}") from None


class _State(threading.local):
    def __init__(self):
        self.dtypes = {}  # device type -> the autocast dtype, for the device types autocast is on for
        self.excluded = False  # inside an autocast op: its inner ops are not cast again (as PyTorch)
        self.depth = 0  # autocast regions entered in this thread
        self.cache_enabled = True
        self.cache = {}  # id(weight) -> (weight, version, its cast)


_state = _State()


def is_autocast_available(device_type):
    """True for the device types autocast knows: 'cpu' and 'cuda'."""
    return device_type in _DEFAULT_DTYPE


def is_autocast_enabled(device_type="cuda"):
    return device_type in _state.dtypes


def get_autocast_dtype(device_type):
    """The dtype autocast uses on device_type (its default when no region set one: bfloat16 on cpu, float16 on cuda)."""
    if not is_autocast_available(device_type):
        raise DeviceError(f"get_autocast_dtype: unsupported autocast device_type {device_type!r} (cpu, cuda)")
    return _state.dtypes.get(device_type) or _as_low_dtype(_DEFAULT_DTYPE[device_type])


class autocast:
    """Context manager and decorator: ops in the region run in the precision of PyTorch's autocast lists.

    Example:
        with tc.autocast("cuda", dtype=tc.float16):
            loss = F.cross_entropy(model(x), y)   # linear/conv in float16, the loss in float32
        scaler.scale(loss).backward()
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str) or not is_autocast_available(device_type):
            raise DeviceError(f"autocast: unsupported autocast device_type {device_type!r} (expected 'cpu' or 'cuda')")
        self.device = device_type
        self._enabled = bool(enabled)
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        if dtype is None:
            dtype = _DEFAULT_DTYPE[device_type]
        if not self._enabled:
            self.fast_dtype = dtype
            return
        self.fast_dtype = _as_low_dtype(dtype)
        if self.fast_dtype not in _LOW:
            warnings.warn(f"In {device_type.upper()} autocast, but the target dtype is not supported. Disabling "
                          f"autocast.\n{device_type.upper()} Autocast only supports dtypes of torch.bfloat16, "
                          "torch.float16 currently.", stacklevel=2)
            self._enabled = False
        elif device_type == "cuda" and self.fast_dtype == bfloat16:
            raise DTypeError("autocast('cuda', dtype=bfloat16): the cuda device has no bfloat16 (CuPy has no such "
                             "type); use dtype=tc.float16 with tc.amp.GradScaler, or bfloat16 on the cpu")
        elif device_type == "cuda":
            from .. import cuda

            if not cuda.is_available():
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling",
                              stacklevel=2)
                self._enabled = False

    def __enter__(self):
        st = _state
        self._prev = (st.dtypes, st.cache_enabled)
        dtypes = dict(st.dtypes)
        if self._enabled:
            dtypes[self.device] = self.fast_dtype
        else:
            dtypes.pop(self.device, None)
        st.dtypes = dtypes
        st.cache_enabled = self._cache_enabled
        _enter(st)
        return self

    def __exit__(self, *exc):
        st = _state
        st.dtypes, st.cache_enabled = self._prev
        _leave(st)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def autocast_fn(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)

        return autocast_fn


def _enter(st):
    st.depth += 1
    with _lock:
        policy.active += 1


def _leave(st):
    st.depth -= 1
    if st.depth == 0:
        st.cache = {}
    with _lock:
        policy.active -= 1


def autocast_state():
    """This thread's autocast state (for replaying a region later, as checkpoint's recomputation does)."""
    return dict(_state.dtypes), _state.cache_enabled


class restored_autocast_state:
    """Context manager: run with an autocast_state() taken earlier, then put the current state back."""

    def __init__(self, state):
        self.state = state

    def __enter__(self):
        st = _state
        self._prev = (st.dtypes, st.cache_enabled)
        st.dtypes, st.cache_enabled = dict(self.state[0]), self.state[1]
        _enter(st)

    def __exit__(self, *exc):
        st = _state
        st.dtypes, st.cache_enabled = self._prev
        _leave(st)
        return False


# --- the cast: a differentiable op whose gradient goes back in the source's dtype -------------------------

class AutocastCast(Function):
    """y = x in another floating dtype; dL/dx = g, which the engine casts back to x's dtype."""

    op_name = "autocast_cast"

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g

    @staticmethod
    def backward_arrays(ctx, g):
        return (g,)


def _eligible(t, device):
    """A floating tensor autocast may cast: float16, bfloat16 or float32 (never float64), on this device type."""
    if not isinstance(t, Tensor) or t.device.type != device:
        return False
    return t._data.dtype in _LOW_OR_FLOAT32


def _cast(a, dtype, device, st):
    if isinstance(a, (list, tuple)):
        return type(a)(_cast(x, dtype, device, st) for x in a)
    if not _eligible(a, device) or a._data.dtype == dtype:
        return a
    cacheable = st.cache_enabled and a.requires_grad and a._node is None and dtype != _FLOAT32
    if cacheable:
        hit = st.cache.get(id(a))
        if hit is not None and hit[0] is a and hit[1] == a._vc[0] and hit[2].dtype == dtype:
            return hit[2]
    out = AutocastCast.apply(a, dtype=dtype)
    if cacheable:
        st.cache[id(a)] = (a, a._vc[0], out)
    return out


def _device_type(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor):
            return a.device.type
        if isinstance(a, (list, tuple)):
            for x in a:
                if isinstance(x, Tensor):
                    return x.device.type
    return None


def _widest(args, kwargs, device, low):
    for a in list(args) + list(kwargs.values()):
        items = a if isinstance(a, (list, tuple)) else (a,)
        if any(_eligible(x, device) and x._data.dtype == _FLOAT32 for x in items):
            return _FLOAT32
    return low


def _dispatch(name, op, args, kwargs):
    """A listed op called while some autocast region is open (in some thread): cast its inputs, call it."""
    st = _state
    if not st.dtypes or st.excluded:
        return op(*args, **kwargs)
    device = _device_type(args, kwargs)
    low = st.dtypes.get(device)
    kind = policy.KIND[device].get(name) if low is not None else None
    if type(kind) is tuple:  # listed for some calls only (F.pad's modes, the RNN modes)
        kind = kind[0] if kind[1](args, kwargs) else None
    if kind is None or kwargs.get("dtype") is not None or kwargs.get("out") is not None:  # not eligible
        return op(*args, **kwargs)
    if kind == "banned":
        raise GradientError(f"{name} is unsafe to autocast (its gradient may not fit in {low}); use "
                            "binary_cross_entropy_with_logits (BCEWithLogitsLoss), or leave the autocast region")
    if kind != "keep":
        target = low if kind == "lower" else _FLOAT32 if kind == "fp32" else _widest(args, kwargs, device, low)
        args = tuple(_cast(a, target, device, st) for a in args)
        kwargs = {k: _cast(v, target, device, st) for k, v in kwargs.items()} if kwargs else kwargs
    st.excluded = True
    try:
        out = op(*args, **kwargs)
    finally:
        st.excluded = False
    return _in_bfloat16(out) if kind == "lower" and low == bfloat16 else out


def _in_bfloat16(out):
    """A low-precision op's float32 results (from NumPy's matmul, which returns float32 for ml_dtypes' bfloat16,
    inside ops like rnn_layer) rounded to bfloat16: PyTorch's lower-precision ops return the autocast dtype."""
    if isinstance(out, Tensor):
        return AutocastCast.apply(out, dtype=bfloat16) if out._data.dtype == _FLOAT32 else out
    if isinstance(out, tuple) and any(isinstance(o, Tensor) for o in out):
        return type(out)(_in_bfloat16(o) for o in out) if type(out) is tuple else out
    return out


policy.dispatch = _dispatch
