"""Adam (with amsgrad) and AdamW (decoupled weight decay), PyTorch's formulas."""

import math

from .optimizer import FLUSH_EVERY, Optimizer, OptimizerError, flush_subnormals_


def adam_update(xp, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, *, step, lr, beta1, beta2, eps,
                weight_decay, amsgrad, maximize, decoupled_weight_decay):
    """One Adam/AdamW step on arrays, in place (scratch: a work array of the parameter's shape).

        g = -grad if maximize else grad
        AdamW: param = param * (1 - lr * weight_decay)      Adam: g = g + weight_decay * param
        m = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        amsgrad: vmax = max(vmax, v), and vmax replaces v below
        param = param - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The last line is evaluated as param -= (lr sqrt(1 - beta2^t) / (1 - beta1^t)) m / (sqrt(v) + eps
    sqrt(1 - beta2^t)): the same number, one pass over the arrays fewer. Every FLUSH_EVERY steps,
    subnormal values of m and v are set to 0 (see flush_subnormals_).
    """
    if maximize:
        grad = -grad
    if weight_decay:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    # m += (g - m) (1 - beta1)  ==  beta1 m + (1 - beta1) g
    xp.subtract(grad, exp_avg, out=scratch)
    scratch *= 1 - beta1
    exp_avg += scratch
    exp_avg_sq *= beta2
    xp.multiply(grad, grad, out=scratch)
    scratch *= 1 - beta2
    exp_avg_sq += scratch
    second = exp_avg_sq
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    xp.sqrt(second, out=scratch)
    scratch += eps * bias_correction2_sqrt
    xp.divide(exp_avg, scratch, out=scratch)
    scratch *= lr * bias_correction2_sqrt / bias_correction1
    param -= scratch
    if step % FLUSH_EVERY == 0:
        flush_subnormals_(xp, exp_avg)
        flush_subnormals_(xp, exp_avg_sq)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with optional amsgrad and L2 weight decay added to the gradient.

    Example:
        opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    """

    _array_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False):
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise OptimizerError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        if eps < 0 or weight_decay < 0:
            raise OptimizerError(f"{type(self).__name__}: eps ({eps}) and weight_decay ({weight_decay}) must be >= 0")
        super().__init__(params, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        st = {"step": 0, "exp_avg": xp.zeros_like(p.data), "exp_avg_sq": xp.zeros_like(p.data)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = xp.zeros_like(p.data)
        return st

    def _update(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = self._decoupled
        state = self.state
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = state.get(p)
            if st is None:
                st = state[p] = self._init_state(p, group)
            scratch = st.get("_scratch")
            if scratch is None:
                scratch = st["_scratch"] = p.device.backend.xp.empty_like(p.data)
            if amsgrad and "max_exp_avg_sq" not in st:
                st["max_exp_avg_sq"] = p.device.backend.xp.zeros_like(p.data)
            step = st["step"] = st["step"] + 1
            backend = p.device.backend
            fn = getattr(backend, "adam_update", adam_update)
            fn(backend.xp, p.data, g.data, st["exp_avg"], st["exp_avg_sq"], st.get("max_exp_avg_sq"), scratch,
               step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=wd, amsgrad=amsgrad,
               maximize=maximize, decoupled_weight_decay=decoupled)
            p._version += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): param *= 1 - lr * weight_decay before the step.

    Example:
        opt = tc.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
