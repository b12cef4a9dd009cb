"""Adagrad, PyTorch's formulas."""

from .optimizer import Optimizer, bump_step, new_step


def adagrad_update(xp, param, grad, state_sum, scratch, *, step, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad step on arrays, in place.

        g = g + weight_decay * param
        clr = lr / (1 + (t - 1) lr_decay)
        s = s + g^2
        param = param - clr * g / (sqrt(s) + eps)
    """
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    clr = lr / (1 + (step - 1) * lr_decay)
    xp.multiply(grad, grad, out=scratch)
    state_sum += scratch
    xp.sqrt(state_sum, out=scratch)
    scratch += eps
    xp.divide(grad, scratch, out=scratch)
    scratch *= clr
    param -= scratch


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): per-coordinate step sizes shrinking with the summed squared gradients.

    Example:
        opt = tc.optim.Adagrad(model.parameters(), lr=0.01)
    """

    _array_state = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize,
                                      foreach=foreach, differentiable=differentiable, fused=fused))

    def _check_hyperparameters(self, group):
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            self._number(group, key, low=0)
        self._flag(group, "maximize")
        self._check_torch_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        return {"step": new_step(), "sum": xp.full_like(p._data, group["initial_accumulator_value"])}

    def _update(self, group):
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = self._state(p, group)
            xp = p.device.backend.xp
            if "_scratch" not in st:
                st["_scratch"] = xp.empty_like(p._data)
            step = bump_step(st)
            fn = self._update_fn(p, "adagrad_update", adagrad_update)
            fn(xp, p._data, g._data, st["sum"], st["_scratch"], step=step, lr=group["lr"],
               lr_decay=group["lr_decay"], weight_decay=group["weight_decay"], eps=group["eps"],
               maximize=group["maximize"])
            p._version += 1
