"""More of torch.optim.lr_scheduler: ConstantLR, PolynomialLR, MultiplicativeLR, CyclicLR,
CosineAnnealingWarmRestarts and ChainedScheduler (PyTorch's formulas and step semantics)."""

import math

from .lr_scheduler import (
    LRScheduler,
    ReduceLROnPlateau,
    _check_optimizer,
    _integer,
    _lr_lambdas,
    _number,
)
from .optimizer import OptimizerError


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for t < total_iters, then base_lr.

    Example:
        ConstantLR(opt, factor=0.5, total_iters=4)
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        self.factor = _number(factor, "factor", "ConstantLR", low=0, high=1)
        self.total_iters = _integer(total_iters, "total_iters", "ConstantLR", minimum=0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * (self.factor + (t >= self.total_iters) * (1 - self.factor))

    def chain_lr(self, lr, t, i):
        if t == 0:
            return lr * self.factor
        return lr * (1.0 / self.factor) if t == self.total_iters else lr


class PolynomialLR(LRScheduler):
    """lr = base_lr * (1 - min(t, total_iters) / total_iters) ^ power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = _integer(total_iters, "total_iters", "PolynomialLR", minimum=1)
        self.power = _number(power, "power", "PolynomialLR")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * (1.0 - min(self.total_iters, t) / self.total_iters) ** self.power

    def chain_lr(self, lr, t, i):
        if self._initial or t > self.total_iters:
            return lr
        return lr * ((1.0 - t / self.total_iters) / (1.0 - (t - 1) / self.total_iters)) ** self.power


class MultiplicativeLR(LRScheduler):
    """lr_t = lr_{t-1} * fn(t) for t > 0 (lr_lambda: a function, or one per param group)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lr_lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def chain_lr(self, lr, t, i):
        return lr if self._initial else lr * self.lr_lambdas[i](t)

    def get_lr(self):  # step(epoch): PyTorch has no closed form here either
        return [self.chain_lr(g["lr"], self.last_epoch, i) for i, g in enumerate(self.optimizer.param_groups)]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter): lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2, restarting
    when T_cur reaches T_i (T_0, then T_i *= T_mult). step(epoch) accepts fractional epochs."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        op = "CosineAnnealingWarmRestarts"
        self.T_0 = _integer(T_0, "T_0", op, minimum=1)
        self.T_mult = _integer(T_mult, "T_mult", op, minimum=1)
        self.eta_min = _number(eta_min, "eta_min", op)
        self.T_i = self.T_0
        self.T_cur = _integer(last_epoch, "last_epoch", op, minimum=-1)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2

    def step(self, epoch=None):
        op = "CosineAnnealingWarmRestarts"
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            epoch = _number(epoch, "epoch", op, low=0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        lrs = [_number(lr, "learning rate", f"{op} at epoch {epoch}", low=0) for lr in self.get_lr()]
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs


_CYCLIC_MODES = {"triangular": (lambda x: 1.0, "cycle"), "triangular2": (lambda x: 1 / (2.0 ** (x - 1)), "cycle"),
                 "exp_range": (None, "iterations")}


def _per_group(value, name, optimizer):
    n = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise OptimizerError(f"CyclicLR: expected {n} values for {name}, got {len(values)}")
    return [_number(v, name, "CyclicLR", low=0) for v in values]


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith): lr moves between base_lr and max_lr, up over step_size_up steps and
    down over step_size_down, the amplitude scaled by mode (triangular, triangular2, exp_range: gamma^t) or
    scale_fn; momentum cycles the opposite way. Step it once per batch."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        op = "CyclicLR"
        _check_optimizer(optimizer, op)
        base_lrs = _per_group(base_lr, "base_lr", optimizer)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group(max_lr, "max_lr", optimizer)
        up = float(_number(step_size_up, "step_size_up", op, low=0, low_open=True))
        down = up if step_size_down is None else float(_number(step_size_down, "step_size_down", op, low=0,
                                                               low_open=True))
        self.total_size, self.step_ratio = up + down, up / (up + down)
        if mode not in _CYCLIC_MODES and scale_fn is None:
            raise OptimizerError(f"CyclicLR: mode must be one of {', '.join(map(repr, _CYCLIC_MODES))} when "
                                 f"scale_fn is None, got {mode!r:.60}")
        if scale_mode not in ("cycle", "iterations"):
            raise OptimizerError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r:.60}")
        if scale_fn is not None and not callable(scale_fn):
            raise OptimizerError(f"CyclicLR: scale_fn must be a function, got {type(scale_fn).__name__}")
        self.mode, self.gamma = mode, _number(gamma, "gamma", op, low=0)
        if scale_fn is None:
            fn, self.scale_mode = _CYCLIC_MODES[mode]
            self._scale_fn = fn if fn is not None else (lambda x: self.gamma**x)
        else:
            self._scale_fn, self.scale_mode = scale_fn, scale_mode
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise OptimizerError("CyclicLR: optimizer must support momentum or beta1 with cycle_momentum "
                                     "enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(base_momentum, "base_momentum", optimizer)
            self.max_momentums = _per_group(max_momentum, "max_momentum", optimizer)
            if last_epoch == -1:
                for m, b, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    self._set_momentum(group, m)
                    group["max_momentum"], group["base_momentum"] = m, b
        self._base_lrs = base_lrs
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _set_momentum(self, group, m):
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def get_lr(self):
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        scale = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        amplitude = self._scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (top - base) * scale * amplitude for base, top in zip(self._base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, base, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(group, top - (top - base) * scale * amplitude)
        return lrs


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together: chainable ones multiply their factors.

    Example:
        ChainedScheduler([ConstantLR(opt, factor=0.1, total_iters=2), ExponentialLR(opt, gamma=0.9)])
    """

    def __init__(self, schedulers, optimizer=None):
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise OptimizerError("ChainedScheduler expects at least one scheduler to be chained")
        optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
        for i, sched in enumerate(schedulers):
            if isinstance(sched, ReduceLROnPlateau):
                raise OptimizerError(f"ChainedScheduler does not support ReduceLROnPlateau (index {i}): its step "
                                     "needs a metric")
            if not isinstance(sched, LRScheduler):
                raise OptimizerError(f"ChainedScheduler: scheduler {i} is a {type(sched).__name__}, not an lr "
                                     "scheduler")
            if sched.optimizer is not optimizer:
                raise OptimizerError(f"ChainedScheduler expects all schedulers to belong to the same optimizer "
                                     f"(scheduler {i}, {type(sched).__name__}, has another)")
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self):
        for sched in self._schedulers:
            sched.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state):
        state = dict(state)
        for sched, st in zip(self._schedulers, state.pop("_schedulers")):
            sched.load_state_dict(st)
        self.__dict__.update(state)
