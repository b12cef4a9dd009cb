"""tc.amp: automatic mixed precision, PyTorch's torch.amp.

`tc.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)` runs each listed op in the precision
PyTorch's autocast picks for it (policy.py); `tc.amp.GradScaler` scales the loss so float16 gradients keep
their small values, and skips steps whose gradients overflowed. float16 is NumPy's own type; bfloat16 is
ml_dtypes' (cpu only: CuPy has none). `custom_fwd` / `custom_bwd` decorate a Function's forward / backward.

Only `policy` loads with the op registry; the rest loads on first use.
"""

from . import policy  # noqa: F401

__all__ = ["autocast", "GradScaler", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "autocast_state", "restored_autocast_state", "custom_fwd", "custom_bwd"]

_FROM = {"GradScaler": "grad_scaler", "custom_fwd": "custom_ops", "custom_bwd": "custom_ops"}


def __getattr__(name):
    import importlib

    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.{_FROM.get(name, 'autocast_mode')}"), name)
    if name in ("cpu", "cuda", "autocast_mode", "grad_scaler"):
        return importlib.import_module(f"{__name__}.{name if name not in ('cpu', 'cuda') else name + '_amp'}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
