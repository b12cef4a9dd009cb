"""Adam (with amsgrad) and AdamW (decoupled weight decay), PyTorch's formulas."""

import math

from .. import _validate as check
from .optimizer import FLUSH_EVERY, Optimizer, OptimizerError, bump_step, flush_subnormals_, new_step, set_step, step_of


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


def flat_zero_grad(opt, set_to_none):
    """Optimizer.zero_grad for optimizers that keep flat buffers (`opt._flat`): where .grad are views of one,
    one fill of the buffer zeroes them."""
    if set_to_none:
        return Optimizer.zero_grad(opt, True)
    for group in opt.param_groups:
        flat = opt._flat.get(id(group))
        if flat is not None and flat.grads_are_views(group["params"]):
            flat.grad[...] = 0
            continue
        for p in group["params"]:
            if p.grad is not None:
                p.grad._data[...] = 0


OWN_RUN_MIN = 1 << 16  # elements: a .grad at least this large is read in place by the update, not copied in


class _FlatGroup:
    """A param group packed into contiguous 1-D arrays: each parameter's .data and state are views.

    One adam_update call then updates every parameter of the group: 11 array operations in all
    instead of 11 per parameter (for the 6-parameter MLP, ~50 fewer NumPy calls a step; on cuda one
    kernel launch). Each parameter's .grad moves into the flat `grad` buffer on the first step (its
    Tensor keeps its identity and values, as PyTorch's DDP gradient buckets with gradient_as_bucket_view):
    backward accumulates into it in place, so later steps copy nothing, as long as the gradients are
    kept (zero_grad(set_to_none=False), which zeroes the whole buffer at once). A .grad replaced or set
    to None is copied in once on the next step and moved in again.
    """

    def __init__(self, params, state, amsgrad, init_state, names=None):
        p0 = params[0]
        xp = p0.device.backend.xp
        total = sum(p._data.size for p in params)
        self.param = xp.empty(total, dtype=p0.dtype)
        self.grad = xp.empty(total, dtype=p0.dtype)
        self.scratch = xp.empty(total, dtype=p0.dtype)
        if names is None:
            names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        self.arrays = {name: xp.zeros(total, dtype=p0.dtype) for name in names}
        self.grad_views = []
        offset = 0
        for p in params:
            n, shape = p._data.size, p._data.shape
            seg = slice(offset, offset + n)
            self.param[seg] = p._data.reshape(-1)
            p._data = self.param[seg].reshape(shape)  # the same values, now a view into the flat buffer
            st = state.get(p)
            if st is None:
                st = state[p] = init_state(p)
            st.pop("_scratch", None)
            for name, flat in self.arrays.items():
                if st.get(name) is not None:
                    flat[seg] = st[name].reshape(-1)
                st[name] = flat[seg].reshape(shape)
            self.grad_views.append(self.grad[seg].reshape(shape))
            offset += n
        self.amsgrad = amsgrad

    def gather_grads(self, params):
        """Each .grad's values into its segment of `grad`; a .grad not yet a view of it becomes one."""
        for view, p in zip(self.grad_views, params):
            g = p.grad
            if g._data is not view:
                view[...] = g._data
                if g._data.dtype == view.dtype:
                    g._data = view  # the same values, now in the flat buffer: backward adds into it in place

    def grad_runs(self, params):
        """[(lo, hi, grad)]: the buffer in runs, each read from `grad`, a 1-D array (None: the flat `grad`).

        A large .grad that is not yet a view (zero_grad(set_to_none=True) each step, as the default) is its
        own run, read in place: copying it in would move every byte once more (the MNIST convnet's 1.2M
        dense weights: 0.74 of the update's 2.3 ms, one thread). Smaller ones are copied and moved in.
        """
        runs, lo, offset = [], 0, 0
        for view, p in zip(self.grad_views, params):
            g, n = p.grad._data, view.size
            if g is not view and n >= OWN_RUN_MIN and g.dtype == view.dtype and g.flags.c_contiguous:
                if offset > lo:
                    runs.append((lo, offset, None))
                runs.append((offset, offset + n, g.reshape(-1)))
                lo = offset + n
            elif g is not view:
                view[...] = g
                if g.dtype == view.dtype:
                    p.grad._data = view
            offset += n
        if offset > lo or not runs:
            runs.append((lo, offset, None))
        return runs

    def grads_are_views(self, params):
        return all(p.grad is not None and p.grad._data is view for view, p in zip(self.grad_views, params))

    def matches(self, params, state, amsgrad):
        """Still valid: no parameter's array was replaced (model.to, ...) and all have taken the same steps."""
        if amsgrad != self.amsgrad:
            return False
        step = step_of(state[params[0]])
        for p in params:
            st = state[p]
            if p._data.base is not self.param or step_of(st) != step:
                return False
            if any(getattr(st.get(name), "base", None) is not flat for name, flat in self.arrays.items()):
                return False  # a state array was replaced (a step outside the flat path)
        return True


class Adam(Optimizer):
    """Adam (Kingma & Ba) with optional amsgrad and L2 weight decay added to the gradient.

    foreach (default: on when a group's parameters share device and dtype) packs each group's
    parameters and state into flat arrays so one update call handles the whole group; the numbers
    are the same as the per-parameter loop's. Parameters whose gradient is None on a step fall
    back to the loop for that step.

    Example:
        opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    """

    _array_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        self._flat = {}
        betas = tuple(betas) if isinstance(betas, (list, tuple)) else betas
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=self._decoupled or decoupled_weight_decay))

    def _check_hyperparameters(self, group):
        name, betas = type(self).__name__, group["betas"]
        if not (isinstance(betas, tuple) and len(betas) == 2):
            raise OptimizerError(f"{name}: betas must be a pair of numbers in [0, 1), got {betas!r:.60}")
        for i, beta in enumerate(betas):
            check.number(beta, f"beta parameter at index {i}", name, low=0, high=1, high_open=True,
                         error=OptimizerError)
        self._number(group, "eps", low=0)
        self._number(group, "weight_decay", low=0)
        self._flag(group, "amsgrad")
        self._flag(group, "maximize")
        self._flag(group, "decoupled_weight_decay")
        self._check_torch_flags(group)

    def _init_state(self, p, group):
        xp = p.device.backend.xp
        st = {"step": new_step(), "exp_avg": xp.zeros_like(p._data), "exp_avg_sq": xp.zeros_like(p._data)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = xp.zeros_like(p._data)
        return st

    def zero_grad(self, set_to_none=True):
        flat_zero_grad(self, set_to_none)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._flat = {}  # the state arrays were replaced: repack on the next step

    def _flat_group(self, group):
        """The group's _FlatGroup (built or rebuilt when needed), or None when this step must use the loop."""
        params = group["params"]
        if group["foreach"] is False or len(params) < 2 or any(p.grad is None for p in params):
            return None
        key = id(group)
        flat = self._flat.get(key)
        state, amsgrad = self.state, group["amsgrad"]
        if flat is not None and all(p in state for p in params) and flat.matches(params, state, amsgrad):
            return flat
        p0 = params[0]
        if any(p.device is not p0.device or p.dtype != p0.dtype for p in params):
            return None
        if len({step_of(state[p]) if p in state else 0 for p in params}) != 1:
            return None
        flat = self._flat[key] = _FlatGroup(params, state, amsgrad, lambda p: self._init_state(p, group))
        return flat

    def _update(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        state = self.state
        flat = self._flat_group(group)
        if flat is not None:
            params = group["params"]
            step = step_of(state[params[0]]) + 1
            backend = params[0].device.backend
            fn = getattr(backend, "adam_update", adam_update)
            m, v, vmax = flat.arrays["exp_avg"], flat.arrays["exp_avg_sq"], flat.arrays.get("max_exp_avg_sq")
            for lo, hi, grad in flat.grad_runs(params):  # one run (the whole buffer) unless a large .grad is new
                whole = lo == 0 and hi == flat.param.size
                cut = (lambda a: a) if whole else (lambda a, lo=lo, hi=hi: None if a is None else a[lo:hi])
                fn(backend.xp, cut(flat.param), cut(flat.grad) if grad is None else grad, cut(m), cut(v), cut(vmax),
                   cut(flat.scratch), step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=wd,
                   amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=decoupled)
            for p in params:
                set_step(state[p], step)
                p._version += 1
            return
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = state.get(p)
            if st is None:
                st = state[p] = self._init_state(p, group)
            scratch = st.get("_scratch")
            if scratch is None:
                scratch = st["_scratch"] = p.device.backend.xp.empty_like(p._data)
            if amsgrad and "max_exp_avg_sq" not in st:
                st["max_exp_avg_sq"] = p.device.backend.xp.zeros_like(p._data)
            step = bump_step(st)
            backend = p.device.backend
            fn = getattr(backend, "adam_update", adam_update)
            fn(backend.xp, p._data, g._data, st["exp_avg"], st["exp_avg_sq"], st.get("max_exp_avg_sq"), scratch,
               step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=wd, amsgrad=amsgrad,
               maximize=maximize, decoupled_weight_decay=decoupled)
            p._version += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): param *= 1 - lr * weight_decay before the step.

    Example:
        opt = tc.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused)
