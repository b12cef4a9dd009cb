"""tc.amp.custom_fwd / custom_bwd: autocast for a custom Function's forward and backward, as torch.amp's.

    class MyMM(tc.autograd.Function):
        @staticmethod
        @tc.amp.custom_fwd(device_type="cpu", cast_inputs=tc.float32)   # forward in float32 inside autocast
        def forward(ctx, a, b): ...
        @staticmethod
        @tc.amp.custom_bwd(device_type="cpu")                           # backward in forward's autocast state
        def backward(ctx, grad): ...

A tensorcore Function's forward takes backend arrays: with cast_inputs, inside an autocast region for
device_type, its floating arrays (float16, bfloat16, float32; never float64) arrive cast to cast_inputs and it
runs with autocast off for device_type (the engine casts each gradient back to its input's dtype). Without
cast_inputs, forward runs in the surrounding state, which custom_bwd then restores around backward.
"""

import functools

import numpy as np

from ..dtypes import as_dtype, bfloat16
from ..tensor import Tensor
from . import autocast_mode

_CASTABLE = (np.dtype("float16"), bfloat16, np.dtype("float32"))


def _check_device_type(name, device_type):
    if not isinstance(device_type, str):
        raise ValueError(f"{name}: expected `device_type` of type `str`, got: `{type(device_type)}`")
    if not autocast_mode.is_autocast_available(device_type):
        from ..errors import DeviceError

        raise DeviceError(f"{name}: unsupported autocast device_type {device_type!r} (expected 'cpu' or 'cuda')")


def _cast_arrays(value, dtype):
    """Floating arrays or Tensors (not float64) in value, nested lists/tuples/dicts included, cast to dtype."""
    if isinstance(value, Tensor) and value.dtype in _CASTABLE:
        return value.to(dtype)  # a torch-style forward's inputs (Function.tensor_forward)
    if hasattr(value, "dtype") and hasattr(value, "astype") and value.dtype in _CASTABLE:
        return value.astype(dtype, copy=False)
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_arrays(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_arrays(v, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorate a Function's forward: remember the autocast state for custom_bwd; with cast_inputs, run forward
    on inputs cast to cast_inputs and with autocast off (only inside an autocast region for device_type)."""
    _check_device_type("custom_fwd", device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    target = None if cast_inputs is None else as_dtype(cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(ctx, *args, **kwargs):
        ctx._dtype = autocast_mode.get_autocast_dtype(device_type)
        enabled = autocast_mode.is_autocast_enabled(device_type)
        if target is None:
            ctx._fwd_used_autocast = enabled
            return fwd(ctx, *args, **kwargs)
        ctx._fwd_used_autocast = False
        if not enabled:
            return fwd(ctx, *args, **kwargs)
        args, kwargs = _cast_arrays(args, target), _cast_arrays(kwargs, target)
        with autocast_mode.autocast(device_type, enabled=False):
            return fwd(ctx, *args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorate a Function's backward: it runs in the autocast state its forward ran in (custom_fwd saved it)."""
    _check_device_type("custom_bwd", device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(ctx, *args, **kwargs):
        enabled = getattr(ctx, "_fwd_used_autocast", False)
        dtype = getattr(ctx, "_dtype", None) if enabled else None
        with autocast_mode.autocast(device_type, enabled=enabled, dtype=dtype):
            return bwd(ctx, *args, **kwargs)

    return decorate_bwd
