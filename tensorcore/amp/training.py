"""What `tensorcore train --amp fp16|bf16 --checkpoint-activations` adds to a training step.

MixedPrecision: the forward under tc.autocast(device, float16 or bfloat16) and the backward through a GradScaler
(scale, step that skips inf/NaN, update; a disabled one for bfloat16, which needs no scaling).
checkpoint_activations: a Sequential model whose training forward runs through checkpoint_sequential (one
segment per sqrt(layers), the usual choice), so only the segment boundaries are kept for backward.
"""

import contextlib
import math

from ..errors import ArgumentError

AMP_CHOICES = ("fp16", "bf16")


class MixedPrecision:
    """Autocast + GradScaler for one training run; with mode None both are off and the step is the plain one."""

    def __init__(self, mode, device):
        if mode is not None and mode not in AMP_CHOICES:
            raise ArgumentError(f"--amp must be one of {', '.join(AMP_CHOICES)}, got {mode!r}")
        self.mode = mode
        self.device_type = device.type
        self.dtype = {"fp16": "float16", "bf16": "bfloat16"}.get(mode)
        if mode == "bf16" and self.device_type != "cpu":
            raise ArgumentError(f"--amp bf16 runs on the cpu only (the {self.device_type} device has no bfloat16); "
                                "use --amp fp16")
        from .grad_scaler import GradScaler

        # NOTE: bfloat16 has float32's exponent range, so its gradients need no loss scaling (as in PyTorch).
        self.scaler = GradScaler(self.device_type, enabled=mode == "fp16") if mode else None

    def autocast(self):
        if self.mode is None:
            return contextlib.nullcontext()
        from .autocast_mode import autocast

        return autocast(self.device_type, dtype=self.dtype)

    def backward_step(self, loss, optimizer):
        """zero_grad, backward (of the scaled loss), step (skipped on inf/NaN gradients), update the scale."""
        optimizer.zero_grad()
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


class _CheckpointedSequential:
    """Calls of a Sequential in training mode go through checkpoint_sequential; eval mode calls it directly."""

    def __init__(self, model, segments):
        self.model, self.segments = model, segments

    def __call__(self, x):
        from ..grad_mode import is_grad_enabled
        from ..utils.checkpoint import checkpoint_sequential

        if not (self.model.training and is_grad_enabled()):
            return self.model(x)
        return checkpoint_sequential(self.model, self.segments, x, use_reentrant=False)


def checkpoint_activations(model):
    """model.forward through checkpoint_sequential in sqrt(len(model)) segments (model must be a Sequential)."""
    from ..nn import Sequential

    if not isinstance(model, Sequential):
        raise ArgumentError(f"--checkpoint-activations needs a Sequential model, got {type(model).__name__}")
    segments = max(1, round(math.sqrt(len(model))))
    return _CheckpointedSequential(model, segments)
