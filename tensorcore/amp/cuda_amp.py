"""tc.cuda.amp: autocast (float16 by default) and GradScaler for the cuda device, as torch.cuda.amp."""

import numpy as np

from .device_amp import _autocast_class, _scaler_class

autocast = _autocast_class("cuda", np.dtype("float16"))
GradScaler = _scaler_class("cuda")
