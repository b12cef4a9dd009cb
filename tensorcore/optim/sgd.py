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

    With momentum, each group's parameters, gradients and momentum buffers are packed into flat arrays on
    the first step (as Adam's foreach path: views, the same numbers as the per-parameter loop), so a step
    is one update call (one kernel launch on cuda) and the gradients accumulate straight into the buffer.

    Example:
        opt = tc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        loss.backward(); opt.step(); opt.zero_grad()
    """

    _array_state = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        self._flat = {}  # id(param group) -> its _FlatGroup
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _check_hyperparameters(self, group):
        momentum = self._number(group, "momentum", low=0)
        dampening = self._number(group, "dampening")
        self._number(group, "weight_decay", low=0)
        self._flag(group, "maximize")
        self._check_torch_flags(group)
        if self._flag(group, "nesterov") and (momentum <= 0 or dampening != 0):
            raise OptimizerError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _init_state(self, p, group):
        return {"_step": 0, "momentum_buffer": None}  # (PyTorch's SGD keeps no step: a private count here)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for st in self.state.values():  # a saved buffer (no step in PyTorch's state): momentum continues from it
            st.pop("step", None)  # (a state saved by an older tensorcore)
            if st.get("momentum_buffer") is not None and st.get("_step", 0) == 0:
                st["_step"] = 1
        self._flat = {}  # the state arrays were replaced: repack on the next step

    def _flat_group(self, group):
        """The group packed into flat arrays (tensorcore/optim/adam.py's _FlatGroup: parameters, gradients and
        momentum buffers as views), or None when this step must run per parameter: no momentum (the state
        keeps PyTorch's None buffer then), fewer than 2 parameters, a missing gradient, mixed devices or
        dtypes, or parameters at different steps or with and without a buffer."""
        params = group["params"]
        if not group["momentum"] or len(params) < 2 or any(p.grad is None for p in params):
            return None
        flats = self._flat
        flat = flats.get(id(group))
        state = self.state
        if flat is not None and all(p in state for p in params) and flat.matches(params, state, False):
            return flat
        p0 = params[0]
        if any(p.device is not p0.device or p.dtype != p0.dtype for p in params):
            return None
        sts = [state.get(p) or {"_step": 0, "momentum_buffer": None} for p in params]
        if len({st["_step"] for st in sts}) != 1 or len({st["momentum_buffer"] is None for st in sts}) != 1:
            return None
        from .adam import _FlatGroup

        flat = flats[id(group)] = _FlatGroup(params, state, False, lambda p: self._init_state(p, group),
                                             names=("momentum_buffer",))
        flat.fresh = sts[0]["momentum_buffer"] is None  # no buffer yet: the first step sets it to the gradient
        return flat

    def _flat_update(self, group, flat):
        """One sgd_update over the whole group (one kernel launch on cuda), gradients already in place."""
        params = group["params"]
        flat.gather_grads(params)
        st0 = self.state[params[0]]
        step = st0["_step"] + 1
        buf = flat.arrays["momentum_buffer"]
        fn = self._update_fn(params[0], "sgd_update", sgd_update)
        new = fn(params[0].device.backend.xp, flat.param, flat.grad, None if flat.fresh else buf, step=step,
                 lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
                 weight_decay=group["weight_decay"], nesterov=group["nesterov"], maximize=group["maximize"])
        if new is not buf:  # the first step's buffer is a new array: into the flat one, where the views are
            buf[...] = new
        flat.fresh = False
        for p in params:
            self.state[p]["_step"] = step
            p._version += 1

    def zero_grad(self, set_to_none=True):
        from .adam import flat_zero_grad

        flat_zero_grad(self, set_to_none)

    def _update(self, group):
        flat = self._flat_group(group)
        if flat is not None:
            return self._flat_update(group, flat)
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = self._state(p, group)
            st["_step"] += 1
            fn = self._update_fn(p, "sgd_update", sgd_update)
            st["momentum_buffer"] = fn(p.device.backend.xp, p._data, g._data, st["momentum_buffer"], step=st["_step"],
                                       lr=lr, momentum=momentum, dampening=dampening, weight_decay=wd,
                                       nesterov=nesterov, maximize=maximize)
            p._version += 1
