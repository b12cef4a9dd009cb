"""L-BFGS with an optional strong-Wolfe line search: torch.optim.LBFGS's algorithm (it needs a closure)."""

import math

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, OptimizerError


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds (default [x1, x2])."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, low), high)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t satisfying the strong Wolfe conditions along d: bracket, then zoom (Nocedal & Wright, alg. 3.5/3.6).

    evaluate(t) -> (loss, flat gradient) at x + t d. Returns (loss, gradient, t, evaluations).
    """
    d_norm = float(abs(d).max())
    f_new, g_new = evaluate(t)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                      gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                      gtd_new]
            break
        lo, hi = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(lo, hi))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
    insufficient = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move away from it, unless progress is fine
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS: step(closure) runs up to max_iter quasi-Newton iterations, re-evaluating closure().

    The direction is -H g from the last history_size (s, y) pairs (two-loop recursion, H0 = s'y / y'y);
    the step is lr (the first: min(1, 1 / |g|_1) lr), or found by line_search_fn="strong_wolfe".

    Example:
        opt = tc.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise OptimizerError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check_hyperparameters(self, group):
        from .. import _validate as check

        for key in ("max_iter", "max_eval", "history_size"):
            check.integer(group[key], key, "LBFGS", minimum=1, error=OptimizerError)
        self._number(group, "tolerance_grad", low=0)
        self._number(group, "tolerance_change", low=0)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise OptimizerError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                                 f"{group['line_search_fn']!r:.60}")

    def add_param_group(self, group):
        if self.param_groups:
            raise OptimizerError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(group)

    def _xp(self):
        return self._params[0].device.backend.xp

    def _saved_entry(self, key, value, p):
        """As PyTorch keeps them: old_dirs/old_stps lists of tensors, ro and al lists of 0-d tensors, H_diag one."""
        from ..tensor import tensor

        if isinstance(value, list):
            return [self._saved_entry(key, v, p) for v in value]
        if key in ("ro", "H_diag", "al") and isinstance(value, float):
            return tensor(value, dtype=p.dtype)
        return super()._saved_entry(key, value, p)

    def load_state_dict(self, state_dict):
        """Also a state saved by torch (its lists of tensors and 0-d tensors become arrays and numbers)."""
        import numpy as np

        super().load_state_dict(state_dict)
        p0 = self._params[0]

        def array(v):
            if isinstance(v, Tensor):
                return v._data.copy()
            host = v if isinstance(v, np.ndarray) else np.asarray(v.detach().cpu().numpy())
            return p0.device.backend.from_host(np.ascontiguousarray(host, dtype=p0.dtype))

        def number(v):
            return float(v.item()) if hasattr(v, "item") else v

        for st in self.state.values():
            for k in ("old_dirs", "old_stps"):
                if isinstance(st.get(k), (list, tuple)):
                    st[k] = [array(v) for v in st[k]]
            if isinstance(st.get("ro"), (list, tuple)):
                st["ro"] = [number(v) for v in st["ro"]]
            for k in ("H_diag", "t", "prev_loss"):
                if k in st:
                    st[k] = number(st[k])
            st.pop("al", None)  # (torch's scratch of the two-loop recursion)

    def _flat_grad(self):
        xp = self._xp()
        return xp.concatenate([xp.zeros(p._data.size, p.dtype) if p.grad is None else p.grad._data.reshape(-1)
                               for p in self._params])

    def _add_step(self, t, d):
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += t * d[offset:offset + n].reshape(p._data.shape)
            p._version += 1
            offset += n

    def _evaluate(self, closure):
        with enable_grad():
            loss = closure()
        return float(loss)

    def step(self, closure=None):
        """Run the iterations; returns the loss closure() gave at the start."""
        if closure is None:
            raise OptimizerError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        with no_grad():
            return self._run(closure)

    def _run(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change, history_size = group["tolerance_grad"], group["tolerance_change"], group["history_size"]
        state = self.state.setdefault(self._params[0], {"func_evals": 0, "n_iter": 0})
        with enable_grad():
            orig_loss = closure()
        loss, evals = float(orig_loss), 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if float(abs(flat_grad).max()) <= tol_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter, al = 0, None
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1.0
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                alpha = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alpha[i] = float(old_stps[i] @ q) * ro[i]
                    q -= alpha[i] * old_dirs[i]
                al = alpha + [None] * (history_size - len(alpha))  # (kept in the state as PyTorch's "al")
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i] @ d) * ro[i]
                    d += (alpha[i] - beta) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:  # not a descent direction
                break
            ls_evals = 0
            if group["line_search_fn"] is not None:
                x0 = [p._data.copy() for p in self._params]

                def evaluate(step, x0=x0, d=d):
                    self._add_step(step, d)
                    value, grad = self._evaluate(closure), self._flat_grad()
                    for p, a in zip(self._params, x0):
                        p._data[...] = a
                    return value, grad

                loss, flat_grad, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, flat_grad, gtd)
                self._add_step(t, d)
                converged = float(abs(flat_grad).max()) <= tol_grad
            else:
                self._add_step(t, d)
                converged = False
                if n_iter != max_iter:
                    loss, flat_grad, ls_evals = self._evaluate(closure), self._flat_grad(), 1
                    converged = float(abs(flat_grad).max()) <= tol_grad
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if float(abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        if al is not None:
            state["al"] = al
        return orig_loss
