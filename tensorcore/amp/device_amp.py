"""torch.cpu.amp / torch.cuda.amp: the device-specific (deprecated in PyTorch) spellings of autocast and GradScaler."""

import warnings

from . import autocast_mode, grad_scaler


def _autocast_class(device_type, default_dtype):
    class autocast(autocast_mode.autocast):
        def __init__(self, enabled=True, dtype=default_dtype, cache_enabled=True):
            warnings.warn(f"torch.{device_type}.amp.autocast(args...) is deprecated. Please use "
                          f"torch.amp.autocast('{device_type}', args...) instead.", FutureWarning, stacklevel=2)
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    autocast.__qualname__ = "autocast"
    autocast.__doc__ = f"tc.{device_type}.amp.autocast(enabled, dtype, cache_enabled): tc.autocast('{device_type}')"
    autocast.__module__ = f"tensorcore.{device_type}.amp"
    return autocast


def _scaler_class(device_type):
    class GradScaler(grad_scaler.GradScaler):
        def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            warnings.warn(f"torch.{device_type}.amp.GradScaler(args...) is deprecated. Please use "
                          f"torch.amp.GradScaler('{device_type}', args...) instead.", FutureWarning, stacklevel=2)
            super().__init__(device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    GradScaler.__doc__ = f"tc.{device_type}.amp.GradScaler(...) = tc.amp.GradScaler('{device_type}', ...)."
    GradScaler.__module__ = f"tensorcore.{device_type}.amp"
    return GradScaler
