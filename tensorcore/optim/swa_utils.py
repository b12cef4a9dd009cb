"""torch.optim.swa_utils: AveragedModel (stochastic weight averaging and EMA of a model), SWALR (anneal each
group's lr to its swa_lr), update_bn (recompute BatchNorm statistics for the averaged weights).

    default average:  avg <- avg + (param - avg) / (n + 1)          (n models averaged so far)
    EMA:              avg <- decay avg + (1 - decay) param          (get_ema_avg_fn(decay))
"""

import copy
import itertools
import math

from ..grad_mode import no_grad
from ..nn.module import Module
from .lr_scheduler import LRScheduler
from .optimizer import OptimizerError


def get_ema_avg_fn(decay=0.999):
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def get_ema_multi_avg_fn(decay=0.999):
    def ema_update(ema_params, current_params, num_averaged):
        for e, c in zip(ema_params, current_params):
            e.copy_(decay * e + (1 - decay) * c)

    return ema_update


def get_swa_multi_avg_fn():
    def swa_update(averaged_params, current_params, num_averaged):
        for a, c in zip(averaged_params, current_params):
            a.copy_(a + (c - a) / (num_averaged + 1))

    return swa_update


class AveragedModel(Module):
    """A copy of model whose parameters (and buffers, with use_buffers=True) are averaged by update_parameters."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        from ..tensor import tensor

        self.module = copy.deepcopy(model)
        if device is not None:
            self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype="int64", device=device))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Average model's current values into this copy (the first call copies them)."""
        ours = itertools.chain(self.module.parameters(), self.module.buffers()) if self.use_buffers else \
            self.parameters()
        theirs = itertools.chain(model.parameters(), model.buffers()) if self.use_buffers else model.parameters()
        n = int(self.n_averaged.item())
        avg_fn = self.avg_fn or get_swa_avg_fn()
        with no_grad():
            pairs = [(a.detach(), p.detach().to(a.device)) for a, p in zip(ours, theirs)]
            if n == 0:
                for a, p in pairs:
                    a.copy_(p)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn([a for a, _ in pairs], [p for _, p in pairs], self.n_averaged)
            else:
                for a, p in pairs:
                    if a.dtype.kind in "fV":
                        a.copy_(avg_fn(a, p, self.n_averaged.to(dtype=a.dtype)))
                    else:
                        a.copy_(p)
            if not self.use_buffers:  # the buffers follow the model
                for b, mb in zip(self.module.buffers(), model.buffers()):
                    b.detach().copy_(mb.detach().to(b.device))
            self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """One pass over loader in training mode with fresh BatchNorm statistics (a cumulative average)."""
    norms = {}
    for m in model.modules():
        if getattr(m, "running_mean", None) is not None and hasattr(m, "momentum"):
            m.running_mean.zero_()
            m.running_var.fill_(1)
            norms[m] = m.momentum
    if not norms:
        return
    was_training = model.training
    model.train()
    for m in norms:
        m.momentum = None
        m.num_batches_tracked.zero_()
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for m, momentum in norms.items():
        m.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its value to swa_lr over anneal_epochs steps ('cos' or 'linear'), then hold
    (an LRScheduler, as PyTorch's: get_last_lr, state_dict and load_state_dict are the base class's)."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        groups = optimizer.param_groups
        swa_lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(swa_lrs) != len(groups):
            raise OptimizerError(f"SWALR: swa_lr must be one value or one per param group ({len(groups)})")
        if anneal_strategy not in ("cos", "linear"):
            raise OptimizerError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise OptimizerError(f"SWALR: anneal_epochs must be a non-negative int, got {anneal_epochs!r}")
        for lr, group in zip(swa_lrs, groups):
            group["swa_lr"] = lr
            group.setdefault("initial_lr", group["lr"])
        self.optimizer, self.anneal_epochs, self.anneal_strategy = optimizer, anneal_epochs, anneal_strategy
        self.last_epoch, self._step_count = last_epoch, 0
        self.step()

    def _anneal(self, t):
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        lrs = []
        for group in self.optimizer.param_groups:
            lr, swa = group["lr"], group["swa_lr"]
            prev = swa if prev_alpha == 1 else (lr - prev_alpha * swa) / (1 - prev_alpha)
            lrs.append(swa * alpha + prev * (1 - alpha))
        return lrs

    def step(self, epoch=None):
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
