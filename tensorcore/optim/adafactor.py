"""Adafactor (PyTorch 2.5+'s formulas) and SparseAdam (tensorcore has no sparse gradients: it refuses dense
ones, as PyTorch's does)."""

import math

import numpy as np

from .optimizer import Optimizer, OptimizerError, bump_step, new_step


def _lerp_(xp, a, b, w):
    """a <- lerp(a, b, w) in place, in PyTorch's two-sided form (exact at w = 1)."""
    if w < 0.5:
        a += (b - a) * w
    else:
        a[...] = b - (b - a) * (1 - w)


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern): second moments factored into row and column means for matrices, a
    relative step size and update clipping.

        t += 1; beta2_t = 1 - t ** beta2_decay; rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, RMS(param)) * rho;  param *= 1 - lr * weight_decay
        matrix: R = lerp(R, mean(g^2, -1)), C = lerp(C, mean(g^2, -2)), V = R C / max(mean(R, -2), eps1)
        vector: V = lerp(V, g^2)
        u = g / sqrt(max(V, eps1^2));  param -= alpha / max(1, RMS(u) / d) * u

    Example:
        opt = tc.optim.Adafactor(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def _check_hyperparameters(self, group):
        self._number(group, "beta2_decay", high=0)
        self._number(group, "d", low=1)
        self._number(group, "weight_decay", low=0)
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise OptimizerError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        if eps[0] is not None:
            self._number({"eps1": eps[0]}, "eps1", low=0)
        self._number({"eps2": eps[1]}, "eps2", low=0)
        self._flag(group, "maximize")
        if group.get("foreach") is not None:
            self._flag(group, "foreach")

    def _init_state(self, p, group):
        xp, shape = p.device.backend.xp, tuple(p.shape)
        if len(shape) > 1:
            return {"step": new_step(), "row_var": xp.zeros(shape[:-1] + (1,), p._data.dtype),
                    "col_var": xp.zeros(shape[:-2] + (1, shape[-1]), p._data.dtype)}
        return {"step": new_step(), "variance": xp.zeros_like(p._data)}

    def _update(self, group):
        lr, decay, d, wd = group["lr"], group["beta2_decay"], group["d"], group["weight_decay"]
        eps1, eps2 = group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            st = self._state(p, group)
            xp, param = p.device.backend.xp, p._data
            grad = -p.grad._data if group["maximize"] else p.grad._data
            e1 = float(np.finfo(param.dtype).eps) if eps1 is None else eps1
            t = float(bump_step(st))
            w = t ** decay  # 1 - beta2_t
            alpha = max(eps2, math.sqrt(float((param * param).sum())) / math.sqrt(max(param.size, 1))) \
                * min(lr, 1 / math.sqrt(t))
            if wd:
                param *= 1 - lr * wd
            square = grad * grad
            if grad.ndim > 1:
                _lerp_(xp, st["row_var"], square.sum(axis=-1, keepdims=True) / grad.shape[-1], w)
                _lerp_(xp, st["col_var"], square.sum(axis=-2, keepdims=True) / grad.shape[-2], w)
                var = st["row_var"] @ st["col_var"]
                var /= xp.maximum(st["row_var"].mean(axis=-2, keepdims=True), e1)
            else:
                _lerp_(xp, st["variance"], square, w)
                var = st["variance"].copy()
            update = grad / xp.sqrt(xp.maximum(var, e1 * e1))
            rms = math.sqrt(float((update * update).sum())) / (math.sqrt(max(update.size, 1)) * d)
            param -= (alpha / max(1.0, rms)) * update
            p._version += 1


class SparseAdam(Optimizer):
    """Adam for sparse gradients (PyTorch's SparseAdam). tensorcore's gradients are dense, and PyTorch's
    SparseAdam refuses dense gradients: step() raises for any gradient, naming Adam as the alternative."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def _check_hyperparameters(self, group):
        self._number(group, "eps", low=0, low_open=True)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise OptimizerError(f"SparseAdam: betas must be two numbers in [0, 1), got {betas!r}")
        self._flag(group, "maximize")

    def _update(self, group):
        for p in group["params"]:
            if p.grad is not None:
                raise OptimizerError("SparseAdam does not support dense gradients, please consider Adam instead")
