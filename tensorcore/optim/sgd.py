"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay (PyTorch's formulas)."""

from .optimizer import FLUSH_EVERY, Optimizer, OptimizerError, flush_subnormals_


def sgd_update(xp, param, grad, momentum_buffer, *, step, lr, momentum, dampening, weight_decay, nesterov,
               maximize):
    """One SGD step on arrays, in place. Returns the momentum buffer (new on the first momentum step).

        g = -grad if maximize else grad;   g = g + weight_decay * param
        b = g (first step)  or  b = momentum * b + (1 - dampening) * g
        g = g + momentum * b  (nesterov)   or   g = b
        param = param - lr * g

    Every FLUSH_EVERY steps, subnormal values of the buffer are set to 0 (see flush_subnormals_).
    """
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    if momentum:
        if momentum_buffer is None or step == 1:
            momentum_buffer = grad.copy()
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * grad if dampening else grad
        grad = grad + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * grad
    if momentum_buffer is not None and step % FLUSH_EVERY == 0:
        flush_subnormals_(xp, momentum_buffer)
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    Example:
        opt = tc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        loss.backward(); opt.step(); opt.zero_grad()
    """

    _array_state = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check_hyperparameters(self, group):
        momentum = self._number(group, "momentum", low=0)
        dampening = self._number(group, "dampening")
        self._number(group, "weight_decay", low=0)
        self._flag(group, "maximize")
        if self._flag(group, "nesterov") and (momentum <= 0 or dampening != 0):
            raise OptimizerError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _init_state(self, p, group):
        return {"step": 0, "momentum_buffer": None}

    def _update(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = self._state(p, group)
            st["step"] += 1
            fn = self._update_fn(p, "sgd_update", sgd_update)
            st["momentum_buffer"] = fn(p.device.backend.xp, p._data, g._data, st["momentum_buffer"], step=st["step"],
                                       lr=lr, momentum=momentum, dampening=dampening, weight_decay=wd,
                                       nesterov=nesterov, maximize=maximize)
            p._version += 1
