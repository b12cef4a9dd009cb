"""RMSprop (optionally centered, with momentum), PyTorch's formulas."""

from .optimizer import FLUSH_EVERY, Optimizer, bump_step, flush_subnormals_, new_step


def rmsprop_update(xp, param, grad, square_avg, grad_avg, momentum_buffer, scratch, *, step, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """One RMSprop step on arrays, in place.

        g = g + weight_decay * param
        v = alpha v + (1 - alpha) g^2
        centered: a = alpha a + (1 - alpha) g;  denom = sqrt(v - a^2) + eps;   else denom = sqrt(v) + eps
        momentum: b = momentum b + g / denom;  param -= lr b      else param -= lr g / denom

    Every FLUSH_EVERY steps, subnormal values of the running averages are set to 0 (see flush_subnormals_).
    """
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg *= alpha
    xp.multiply(grad, grad, out=scratch)
    scratch *= 1 - alpha
    square_avg += scratch
    if centered:
        grad_avg *= alpha
        grad_avg += (1 - alpha) * grad
        xp.multiply(grad_avg, grad_avg, out=scratch)
        xp.subtract(square_avg, scratch, out=scratch)
        xp.sqrt(scratch, out=scratch)
    else:
        xp.sqrt(square_avg, out=scratch)
    scratch += eps
    xp.divide(grad, scratch, out=scratch)
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += scratch
        param -= lr * momentum_buffer
    else:
        scratch *= lr
        param -= scratch
    if step % FLUSH_EVERY == 0:
        for state in (square_avg, grad_avg, momentum_buffer):
            if state is not None:
                flush_subnormals_(xp, state)


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running root-mean-square of recent gradients.

    Example:
        opt = tc.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9)
    """

    _array_state = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _check_hyperparameters(self, group):
        # NOTE: alpha > 1 would make (1 - alpha) g^2 negative and the square average's sqrt NaN (PyTorch
        # accepts it and gives NaN); it is refused here.
        self._number(group, "alpha", low=0, high=1)
        self._check_torch_flags(group)
        for key in ("eps", "momentum", "weight_decay"):
            self._number(group, key, low=0)
        self._flag(group, "centered")
        self._flag(group, "maximize")

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        st = {"step": new_step(), "square_avg": xp.zeros_like(p._data)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = xp.zeros_like(p._data)
        if group["centered"]:
            st["grad_avg"] = xp.zeros_like(p._data)
        return st

    def _update(self, group):
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = self._state(p, group)
            xp = p.device.backend.xp
            if "_scratch" not in st:
                st["_scratch"] = xp.empty_like(p._data)
            if group["momentum"] > 0 and "momentum_buffer" not in st:
                st["momentum_buffer"] = xp.zeros_like(p._data)
            if group["centered"] and "grad_avg" not in st:
                st["grad_avg"] = xp.zeros_like(p._data)
            step = bump_step(st)
            fn = self._update_fn(p, "rmsprop_update", rmsprop_update)
            fn(xp, p._data, g._data, st["square_avg"], st.get("grad_avg"), st.get("momentum_buffer"), st["_scratch"],
               step=step, lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
               weight_decay=group["weight_decay"], momentum=group["momentum"], centered=group["centered"],
               maximize=group["maximize"])
            p._version += 1
