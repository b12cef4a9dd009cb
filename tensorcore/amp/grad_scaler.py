"""tc.amp.GradScaler: dynamic loss scaling for float16 training, with PyTorch's arguments and state machine.

scale(loss) multiplies the loss by S so small float16 gradients do not flush to zero; unscale_(optimizer)
divides the gradients by S in place and records whether any is inf or NaN; step(optimizer) skips the step
when one was; update() backs S off (S *= backoff_factor) after a skipped step, and grows it
(S *= growth_factor) after growth_interval clean steps in a row. S is a float32, as in PyTorch.
"""

import warnings

import numpy as np

from ..errors import ArgumentError, GradientError
from ..tensor import Tensor

_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Dynamic loss scaler.

    Example:
        scaler = tc.amp.GradScaler("cuda")
        with tc.autocast("cuda", dtype=tc.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)   # skipped if a gradient is inf/NaN
        scaler.update()
    """

    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = str(device)
        self._enabled = bool(enabled)
        if self._enabled and self._device == "cuda":
            from .. import cuda

            if not cuda.is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                              stacklevel=2)
                self._enabled = False
        if self._enabled:
            if not growth_factor > 1.0:
                raise ArgumentError(f"GradScaler: growth_factor should be > 1, got {growth_factor}")
            if not backoff_factor < 1.0:
                raise ArgumentError(f"GradScaler: backoff_factor should be < 1, got {backoff_factor}")
        self._init_scale = init_scale
        self._scale = None  # float32, set on the first scale()
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker = None
        self._per_optimizer = {}  # id(optimizer) -> {"stage": ..., "found_inf": bool}

    def is_enabled(self):
        return self._enabled

    def scale(self, outputs):
        """outputs * S (a Tensor, or the Tensors of a list / tuple, in their own dtype); outputs when disabled."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker
        if isinstance(outputs, Tensor):
            return outputs * float(self._scale)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ArgumentError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, "
                            f"got {type(outputs).__name__}")

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide the gradients of optimizer's parameters by S in place, and record whether any is inf/NaN."""
        if not self._enabled:
            return
        self._check_scale_init("unscale_")
        state = self._state(optimizer)
        if state["stage"] is _UNSCALED:
            raise GradientError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is _STEPPED:
            raise GradientError("unscale_() is being called after step().")
        inv_scale = np.float32(np.float64(1.0) / np.float64(self._scale))  # as PyTorch: in double, then float
        finite = {}  # array module -> per-gradient "all finite" flags, read back once per device kind
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.dtype == np.float16:
                    raise ArgumentError("Attempting to unscale FP16 gradients.")
                xp = p.device.backend.xp
                g *= g.dtype.type(inv_scale)
                finite.setdefault(xp, []).append(xp.isfinite(g).all())
        state["found_inf"] = not all(bool(xp.stack(flags).all()) for xp, flags in finite.items())
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """unscale_ (unless done), then optimizer.step(*args, **kwargs) unless a gradient was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise GradientError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_init("step")
        state = self._state(optimizer)
        if state["stage"] is _STEPPED:
            raise GradientError("step() has already been called since the last update().")
        if state["stage"] is _READY:
            self.unscale_(optimizer)
        retval = None
        if not state["found_inf"]:
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return retval

    def update(self, new_scale=None):
        """Set S to new_scale, or back it off after an inf/NaN, or grow it after growth_interval clean steps."""
        if not self._enabled:
            return
        self._check_scale_init("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad or new_scale.dtype.kind not in "fV":
                    raise ArgumentError("GradScaler.update: new_scale should be a float or a 1-element "
                                        "floating Tensor with requires_grad=False.")
                new_scale = new_scale.item()
            self._scale = np.float32(new_scale)
        else:
            if not any(s["stage"] is not _READY for s in self._per_optimizer.values()):
                raise GradientError("No inf checks were recorded prior to update.")
            found_inf = any(s["found_inf"] for s in self._per_optimizer.values())
            if found_inf:
                self._scale = np.float32(self._scale * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = np.float32(self._scale * np.float32(self._growth_factor))
                    if np.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer = {}

    def _check_scale_init(self, op):
        if self._scale is None:
            raise GradientError(f"GradScaler.{op}: attempted {op} but _scale is None. This may indicate your "
                                "script did not use scaler.scale(loss or outputs) earlier in the iteration.")

    def get_scale(self):
        """S as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return float(self._init_scale) if self._scale is None else float(self._scale)

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker)

    def state_dict(self):
        """scale, growth_factor, backoff_factor, growth_interval, _growth_tracker ({} when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise GradientError("The source state dict is empty, possibly because it was saved from a disabled "
                                "instance of GradScaler.")
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"} - set(state_dict)
        if missing:
            raise ArgumentError(f"GradScaler.load_state_dict: missing keys {sorted(missing)}")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale = np.float32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]
