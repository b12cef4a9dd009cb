"""tc.cpu.amp: autocast (bfloat16 by default) and GradScaler for the cpu device, as torch.cpu.amp."""

from .device_amp import _autocast_class, _scaler_class

autocast = _autocast_class("cpu", "bfloat16")
GradScaler = _scaler_class("cpu")
