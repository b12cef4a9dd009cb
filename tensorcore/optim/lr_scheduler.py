"""Learning-rate schedules (torch.optim.lr_scheduler's names and formulas).

Call `scheduler.step()` once per epoch (OneCycleLR: once per batch) after `optimizer.step()`.
Each scheduler computes the learning rate of epoch t in closed form from each group's
`initial_lr`, so `state_dict()` / `load_state_dict()` (for resuming) only need `last_epoch`.

Example:
    opt = tc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = tc.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for epoch in range(10):
        train_one_epoch(); sched.step()
"""

import bisect
import math

from .. import _validate as check
from .optimizer import Optimizer, OptimizerError


def _number(value, name, op, **bounds):
    return check.number(value, name, op, error=OptimizerError, **bounds)


def _integer(value, name, op, minimum=None):
    return check.integer(value, name, op, minimum=minimum, error=OptimizerError)


def _check_optimizer(optimizer, op):
    if not isinstance(optimizer, Optimizer):
        raise OptimizerError(f"{op}: {type(optimizer).__name__} is not an Optimizer")


class LRScheduler:
    """Base class: subclasses define `lr_at(base_lr, t)`, the learning rate at step t for a base rate.

    A chainable schedule (PyTorch's) also defines `chain_lr(lr, t, i)`: group i's next rate from its current
    one. step() uses it, so schedulers stacked on one optimizer multiply (ChainedScheduler); step(epoch) and
    SequentialLR use the closed form. `_initial` is True during the constructor's step.
    """

    _initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer, type(self).__name__)
        last_epoch = _integer(last_epoch, "last_epoch", type(self).__name__, minimum=-1)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise OptimizerError(f"{type(self).__name__}: param group {i} has no 'initial_lr' "
                                     "(needed when resuming with last_epoch != -1)")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial = True
        self.step()
        self._initial = False

    def lr_at(self, base_lr, t):
        raise NotImplementedError

    def get_lr(self):
        return [self.lr_at(base, self.last_epoch) for base in self.base_lrs]

    def step(self, epoch=None):
        """Advance one step (or jump to `epoch`) and set every group's lr."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else _integer(epoch, "epoch", type(self).__name__)
        where = f"{type(self).__name__} at step {self.last_epoch}"
        chained = epoch is None and hasattr(self, "chain_lr")
        try:
            groups = self.optimizer.param_groups
            lrs = [self.chain_lr(g["lr"], self.last_epoch, i) for i, g in enumerate(groups)] if chained \
                else self.get_lr()
            lrs = [_number(lr, "learning rate", where, low=0) for lr in lrs]
        except (OverflowError, ZeroDivisionError) as exc:  # gamma ** t beyond a float, ...
            raise OptimizerError(f"{where}: the learning rate cannot be computed ({exc})") from None
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer (plain numbers and lists: tc.save-able)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas") and not callable(v)}

    def load_state_dict(self, state):
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or not isinstance(state.get("last_epoch"), int) \
                or not isinstance(state.get("_last_lr"), (list, tuple)):
            raise OptimizerError(f"{name}: expected a dict with 'last_epoch' and '_last_lr', as state_dict() returns")
        if len(state["_last_lr"]) != len(self.optimizer.param_groups):
            raise OptimizerError(f"{name}: the state has {len(state['_last_lr'])} learning rates, the optimizer "
                                 f"{len(self.optimizer.param_groups)} param groups")
        for lr in state["_last_lr"]:
            _number(lr, "learning rate", name, low=0)
        self.__dict__.update(state)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


_LRScheduler = LRScheduler


def _lr_lambdas(op, optimizer, lr_lambda):
    """One function of the step per param group (a single function is shared by all)."""
    _check_optimizer(optimizer, op)
    n = len(optimizer.param_groups)
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if len(fns) != n:
        raise OptimizerError(f"{op}: expected {n} lr_lambdas, but got {len(fns)}")
    for fn in fns:
        if not callable(fn):
            raise OptimizerError(f"{op}: lr_lambda must be a function of the step, got {type(fn).__name__}")
    return fns


class LambdaLR(LRScheduler):
    """lr = base_lr * fn(t) (lr_lambda: a function, or a list of one per param group)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lr_lambdas("LambdaLR", optimizer, lr_lambda)
        self.lr_lambda = self.lr_lambdas[0]
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]


class StepLR(LRScheduler):
    """lr = base_lr * gamma ^ floor(t / step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        # NOTE: torch takes a float step_size too (the torchtext tutorial passes 1.0): t % step_size still works.
        self.step_size = step_size if isinstance(step_size, float) and step_size > 0 and math.isfinite(step_size) \
            else _integer(step_size, "step_size", "StepLR", minimum=1)
        self.gamma = _number(gamma, "gamma", "StepLR", low=0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)

    def chain_lr(self, lr, t, i):
        return lr if t == 0 or t % self.step_size != 0 else lr * self.gamma


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ^ (number of milestones <= t)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        if not isinstance(milestones, (list, tuple, set, frozenset, range)):
            raise OptimizerError(f"MultiStepLR: milestones must be a list of ints, got {type(milestones).__name__}")
        self.milestones = sorted(_integer(m, "milestones", "MultiStepLR") for m in milestones)
        self.gamma = _number(gamma, "gamma", "MultiStepLR", low=0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)

    def chain_lr(self, lr, t, i):
        count = self.milestones.count(t)
        return lr * self.gamma**count if count else lr


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ^ t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = _number(gamma, "gamma", "ExponentialLR", low=0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma**t

    def chain_lr(self, lr, t, i):
        return lr if self._initial else lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max if isinstance(T_max, float) and T_max > 0 and math.isfinite(T_max) \
            else _integer(T_max, "T_max", "CosineAnnealingLR", minimum=1)
        self.eta_min = _number(eta_min, "eta_min", "CosineAnnealingLR", low=0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def chain_lr(self, lr, t, i):
        if self._initial:
            return lr
        if (t - 1 - self.T_max) % (2 * self.T_max) == 0:  # leaving the minimum: cos(pi (t-1)/T) = -1
            return lr + (self.base_lrs[i] - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        ratio = (1 + math.cos(math.pi * t / self.T_max)) / (1 + math.cos(math.pi * (t - 1) / self.T_max))
        return ratio * (lr - self.eta_min) + self.eta_min


class LinearLR(LRScheduler):
    """Linear warmup (or decay): lr = base_lr * (start + (end - start) min(t, total_iters) / total_iters).

    Example (warm up over 5 epochs from lr/10):
        LinearLR(opt, start_factor=0.1, total_iters=5)
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        _number(start_factor, "start_factor", "LinearLR")
        _number(end_factor, "end_factor", "LinearLR")
        total_iters = _integer(total_iters, "total_iters", "LinearLR", minimum=0)
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise OptimizerError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got "
                                 f"{start_factor}, {end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        frac = min(t, self.total_iters) / self.total_iters if self.total_iters > 0 else 1.0
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)

    def chain_lr(self, lr, t, i):
        if t == 0:
            return lr * self.start_factor
        if self._initial or t > self.total_iters:
            return lr
        change = self.end_factor - self.start_factor
        return lr * (1.0 + change / (self.total_iters * self.start_factor + (t - 1) * change))


def linear_warmup(optimizer, warmup_steps, start_factor=0.0, after=None):
    """Warm up linearly from start_factor * lr to lr over warmup_steps, then follow `after` (a factory).

    `after(optimizer)` builds the schedule that runs once warmup ends (e.g. lambda o: CosineAnnealingLR(o, 90)).
    Without it the lr stays at its base value after warmup.
    """
    warm = LambdaLR(optimizer, lambda t: start_factor + (1 - start_factor) * min(t, warmup_steps) / warmup_steps
                    if warmup_steps > 0 else 1.0)
    if after is None:
        return warm
    return SequentialLR(optimizer, [warm, after(optimizer)], milestones=[warmup_steps])


class SequentialLR(LRScheduler):
    """Run schedulers one after another: schedulers[i] takes over at milestones[i - 1], restarting at t = 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer(optimizer, "SequentialLR")
        if not isinstance(schedulers, (list, tuple)) or not schedulers \
                or not all(isinstance(s, LRScheduler) for s in schedulers):
            raise OptimizerError("SequentialLR: schedulers must be a non-empty list of lr schedulers")
        if not isinstance(milestones, (list, tuple)):
            raise OptimizerError(f"SequentialLR: milestones must be a list of ints, got {type(milestones).__name__}")
        milestones = [_integer(m, "milestones", "SequentialLR", minimum=0) for m in milestones]
        if milestones != sorted(milestones):
            raise OptimizerError(f"SequentialLR: milestones must be increasing, got {milestones}")
        if len(milestones) != len(schedulers) - 1:
            raise OptimizerError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones")
        self.schedulers, self.milestones = list(schedulers), [int(m) for m in milestones]
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        i = bisect.bisect_right(self.milestones, self.last_epoch)
        start = self.milestones[i - 1] if i > 0 else 0
        sched = self.schedulers[i]
        sched.last_epoch = self.last_epoch - start
        return sched.get_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedulers")}
        state["schedulers"] = [s.state_dict() for s in self.schedulers]
        return state

    def load_state_dict(self, state):
        state = dict(state)
        for s, st in zip(self.schedulers, state.pop("schedulers")):
            s.load_state_dict(st)
        super().load_state_dict(state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith): warm up from max_lr/div_factor to max_lr, anneal to max_lr/(div_factor *
    final_div_factor); momentum (or Adam's beta1) cycles the opposite way. Step it once per batch.

    Phases (as PyTorch): up for pct_start * total_steps - 1 steps, then down to total_steps - 1
    (three_phase: up, back down to the initial lr, then annealed to the minimum).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        op = "OneCycleLR"
        _check_optimizer(optimizer, op)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise OptimizerError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = _integer(epochs, "epochs", op, 1) * _integer(steps_per_epoch, "steps_per_epoch", op, 1)
        total_steps = _integer(total_steps, "total_steps", op)
        if total_steps < 2:
            raise OptimizerError(f"OneCycleLR: total_steps must be >= 2, got {total_steps}")
        _number(pct_start, "pct_start", op, low=0, high=1)
        _number(div_factor, "div_factor", op, low=0, low_open=True)
        _number(final_div_factor, "final_div_factor", op, low=0, low_open=True)
        _number(base_momentum, "base_momentum", op, low=0, high=1)
        _number(max_momentum, "max_momentum", op, low=0, high=1)
        if anneal_strategy not in ("cos", "linear"):
            raise OptimizerError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = int(total_steps), anneal_strategy
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise OptimizerError(f"OneCycleLR: {len(max_lrs)} max_lr values for {len(groups)} param groups")
        max_lrs = [_number(m, "max_lr", op, low=0, low_open=True) for m in max_lrs]
        if last_epoch == -1:
            for group, m in zip(groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise OptimizerError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for group in groups:
                    group["max_momentum"], group["base_momentum"] = max_momentum, base_momentum
                    self._set_momentum(group, max_momentum)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, m):
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise OptimizerError(f"OneCycleLR: stepped {t} times, more than total_steps = {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if t <= end_step or i == len(self.phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lr = self._anneal(group[lr_from], group[lr_to], pct)
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start_step = end_step
            lrs.append(lr)
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric has stopped improving for `patience` epochs (an LRScheduler,
    as PyTorch's: get_last_lr, state_dict and load_state_dict are the base class's; step takes the metric).

    Example:
        sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)
        sched.step(val_loss)
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        op = "ReduceLROnPlateau"
        _check_optimizer(optimizer, op)
        _number(factor, "factor", op, low=0, high=1, high_open=True)
        patience, cooldown = _integer(patience, "patience", op, 0), _integer(cooldown, "cooldown", op, 0)
        _number(threshold, "threshold", op, low=0)
        _number(eps, "eps", op, low=0)
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise OptimizerError(f"ReduceLROnPlateau: bad mode {mode!r} or threshold_mode {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = threshold, threshold_mode, cooldown, eps
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(self.min_lrs) != n:
            raise OptimizerError(f"ReduceLROnPlateau: {len(self.min_lrs)} min_lr values for {n} param groups")
        self.min_lrs = [_number(m, "min_lr", op, low=0) for m in self.min_lrs]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics, epoch=None):
        try:
            current = float(metrics)
        except (TypeError, ValueError) as exc:
            raise OptimizerError(f"ReduceLROnPlateau.step: metrics must be a number, got {type(metrics).__name__} "
                                 f"({exc})") from None
        self.last_epoch = self.last_epoch + 1 if epoch is None else _integer(epoch, "epoch", "ReduceLROnPlateau")
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


from .lr_schedules import (  # noqa: E402  (they subclass LRScheduler)
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    MultiplicativeLR,
    PolynomialLR,
)

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
           "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau", "linear_warmup"]
