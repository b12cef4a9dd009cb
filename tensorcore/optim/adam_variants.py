"""Adadelta, Adamax, NAdam and RAdam: PyTorch's single-tensor update formulas, on arrays in place."""

import math

from .. import _validate as check
from .optimizer import Optimizer, OptimizerError, bump_step, new_step, scalar_of, set_scalar, step_of


class _ArrayOptimizer(Optimizer):
    """Shared pieces: PyTorch's accepted-but-fixed flags, the per-parameter loop over `_update_param`."""

    def _check_flags(self, group):
        name = type(self).__name__
        self._flag(group, "maximize")
        for key in ("capturable", "differentiable"):
            if group.get(key, False) is not False:
                raise OptimizerError(f"{name}: {key}=True is not supported (tensorcore updates arrays in place, "
                                     "outside the graph)")
        if group.get("foreach") is not None:
            self._flag(group, "foreach")

    def _check_betas(self, group):
        name, betas = type(self).__name__, group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise OptimizerError(f"{name}: betas must be a pair of numbers in [0, 1), got {betas!r:.60}")
        group["betas"] = tuple(betas)
        for i, beta in enumerate(betas):
            check.number(beta, f"beta parameter at index {i}", name, low=0, high=1, high_open=True,
                         error=OptimizerError)

    def _update(self, group):
        for p in group["params"]:
            if p.grad is None:
                continue
            st = self._state(p, group)
            bump_step(st)
            xp = p.device.backend.xp
            grad = -p.grad._data if group["maximize"] else p.grad._data
            self._update_param(xp, p._data, grad, st, group)
            p._version += 1


class Adadelta(_ArrayOptimizer):
    """Adadelta (Zeiler): v = rho v + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) g;
    u = rho u + (1 - rho) d^2; param -= lr d.

    Example:
        opt = tc.optim.Adadelta(model.parameters(), lr=1.0)
    """

    _array_state = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      capturable=capturable, maximize=maximize, differentiable=differentiable))

    def _check_hyperparameters(self, group):
        self._number(group, "rho", low=0, high=1)
        self._number(group, "eps", low=0)
        self._number(group, "weight_decay", low=0)
        self._check_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        return {"step": new_step(), "square_avg": xp.zeros_like(p._data), "acc_delta": xp.zeros_like(p._data)}

    def _update_param(self, xp, param, grad, st, group):
        rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
        if wd:
            grad = grad + wd * param
        square_avg, acc_delta = st["square_avg"], st["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= group["lr"] * delta


class Adamax(_ArrayOptimizer):
    """Adamax (Kingma & Ba): m = beta1 m + (1 - beta1) g; u = max(beta2 u, |g| + eps);
    param -= lr / (1 - beta1^t) m / u.

    Example:
        opt = tc.optim.Adamax(model.parameters(), lr=2e-3)
    """

    _array_state = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _check_hyperparameters(self, group):
        self._check_betas(group)
        self._number(group, "eps", low=0)
        self._number(group, "weight_decay", low=0)
        self._check_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        return {"step": new_step(), "exp_avg": xp.zeros_like(p._data), "exp_inf": xp.zeros_like(p._data)}

    def _update_param(self, xp, param, grad, st, group):
        (beta1, beta2), eps, wd = group["betas"], group["eps"], group["weight_decay"]
        if wd:
            grad = grad + wd * param
        exp_avg, exp_inf = st["exp_avg"], st["exp_inf"]
        exp_avg += (grad - exp_avg) * (1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + eps, out=exp_inf)
        param -= group["lr"] / (1 - beta1 ** step_of(st)) * exp_avg / exp_inf


def _weight_decay(param, grad, group):
    """L2 (grad + wd param) or decoupled (param *= 1 - lr wd, as AdamW) weight decay; returns the gradient."""
    wd = group["weight_decay"]
    if not wd:
        return grad
    if group["decoupled_weight_decay"]:
        param *= 1 - group["lr"] * wd
        return grad
    return grad + wd * param


def _moments(grad, st, beta1, beta2):
    exp_avg, exp_avg_sq = st["exp_avg"], st["exp_avg_sq"]
    exp_avg += (grad - exp_avg) * (1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    return exp_avg, exp_avg_sq


class _AdamLike(_ArrayOptimizer):
    _array_state = ("exp_avg", "exp_avg_sq")

    def _check_hyperparameters(self, group):
        self._check_betas(group)
        self._number(group, "eps", low=0)
        self._number(group, "weight_decay", low=0)
        self._flag(group, "decoupled_weight_decay")
        if "momentum_decay" in group:
            self._number(group, "momentum_decay", low=0)
        self._check_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        return {"step": new_step(), "exp_avg": xp.zeros_like(p._data), "exp_avg_sq": xp.zeros_like(p._data)}


class NAdam(_AdamLike):
    """NAdam (Dozat): Adam with Nesterov momentum; mu_t = beta1 (1 - 0.96^(t psi) / 2), psi = momentum_decay,
    param -= lr (1 - mu_t) / (1 - prod mu) g / d + lr mu_{t+1} / (1 - prod mu mu_{t+1}) m / d,
    d = sqrt(v / (1 - beta2^t)) + eps.

    Example:
        opt = tc.optim.NAdam(model.parameters(), lr=2e-3)
    """

    _scalar_state = ("mu_product",)
    _tensor_scalars = ("mu_product",)  # (0-d tensors in state_dict(), as PyTorch keeps it)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      foreach=foreach, maximize=maximize, capturable=capturable,
                                      differentiable=differentiable))

    def _init_state(self, p, group):
        return {**super()._init_state(p, group), "mu_product": new_step(1.0)}  # (a float32 tensor, as torch's)

    def _update_param(self, xp, param, grad, st, group):
        (beta1, beta2), lr, step, psi = group["betas"], group["lr"], step_of(st), group["momentum_decay"]
        grad = _weight_decay(param, grad, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        set_scalar(st, "mu_product", scalar_of(st, "mu_product") * mu)
        mu_product = scalar_of(st, "mu_product")
        exp_avg, exp_avg_sq = _moments(grad, st, beta1, beta2)
        denom = xp.sqrt(exp_avg_sq / (1 - beta2**step)) + group["eps"]
        param -= lr * (1.0 - mu) / (1.0 - mu_product) * grad / denom
        param -= lr * mu_next / (1.0 - mu_product * mu_next) * exp_avg / denom


class RAdam(_AdamLike):
    """RAdam (Liu et al.): Adam whose adaptive term is switched on, rectified, once the SMA length rho_t > 5.

    rho_inf = 2 / (1 - beta2) - 1, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t);
    param -= lr m / (1 - beta1^t) * (r_t sqrt(1 - beta2^t) / (sqrt(v) + eps) if rho_t > 5 else 1).

    Example:
        opt = tc.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, foreach=foreach,
                                      maximize=maximize, capturable=capturable, differentiable=differentiable))

    def _update_param(self, xp, param, grad, st, group):
        (beta1, beta2), lr, step = group["betas"], group["lr"], step_of(st)
        grad = _weight_decay(param, grad, group)
        exp_avg, exp_avg_sq = _moments(grad, st, beta1, beta2)
        bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
        corrected = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            param -= corrected * lr * (math.sqrt(bias_correction2) / (xp.sqrt(exp_avg_sq) + group["eps"])) * rect
        else:
            param -= corrected * lr
