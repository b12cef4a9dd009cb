"""Rprop and ASGD: PyTorch's single-tensor update formulas, on arrays in place."""

from .adam_variants import _ArrayOptimizer
from .optimizer import OptimizerError, new_step, scalar_of, set_scalar, step_of


class Rprop(_ArrayOptimizer):
    """Resilient backprop: each element's step grows by etaplus while its gradient keeps its sign, shrinks by
    etaminus (and that gradient is skipped) when it flips; param -= sign(g) step, step in step_sizes.

    Example:
        opt = tc.optim.Rprop(model.parameters(), lr=0.01)
    """

    _array_state = ("prev", "step_size")

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      capturable=capturable, maximize=maximize, differentiable=differentiable))

    def _check_hyperparameters(self, group):
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise OptimizerError(f"Rprop: invalid eta values: {etaminus}, {etaplus} (need 0 < etaminus < 1 < etaplus)")
        self._check_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        return {"step": new_step(), "prev": xp.zeros_like(p._data), "step_size": xp.full_like(p._data, group["lr"])}

    def _update_param(self, xp, param, grad, st, group):
        (etaminus, etaplus), (step_min, step_max) = group["etas"], group["step_sizes"]
        prev, step_size = st["prev"], st["step_size"]
        sign = xp.sign(grad * prev)
        factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1.0)).astype(param.dtype)
        step_size *= factor
        xp.clip(step_size, step_min, step_max, out=step_size)
        grad = xp.where(sign < 0, 0, grad).astype(param.dtype)
        param -= xp.sign(grad) * step_size
        prev[...] = grad


class ASGD(_ArrayOptimizer):
    """Averaged SGD: param <- param (1 - lambd eta) - eta g; ax averages param from step t0 on;
    eta = lr / (1 + lambd lr t)^alpha, mu = 1 / max(1, t - t0).

    Example:
        opt = tc.optim.ASGD(model.parameters(), lr=0.01, t0=1000)
    """

    _array_state = ("ax",)
    _scalar_state = ("eta", "mu")
    _tensor_scalars = ("eta", "mu")  # (0-d tensors in state_dict(), as PyTorch keeps them)

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _check_hyperparameters(self, group):
        self._number(group, "weight_decay", low=0)
        self._check_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        # NOTE: PyTorch keeps eta and mu as 0-d float32 tensors (its scalar dtype); so does this, for the same steps.
        return {"step": new_step(), "eta": new_step(group["lr"]), "mu": new_step(1.0), "ax": xp.zeros_like(p._data)}

    def _update_param(self, xp, param, grad, st, group):
        lr, lambd, alpha, t0, wd = group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
        step, eta, mu = step_of(st), scalar_of(st, "eta"), scalar_of(st, "mu")
        if wd:
            grad = grad + wd * param
        param *= 1 - lambd * eta
        param -= (eta * grad).astype(param.dtype, copy=False)
        ax = st["ax"]
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        set_scalar(st, "eta", lr / ((1 + lambd * lr * step) ** alpha))
        set_scalar(st, "mu", 1 / max(1, step - t0))
