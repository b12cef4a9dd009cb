"""Gradient clipping and parameter <-> vector helpers (torch.nn.utils' names)."""

import math

import numpy as np

from ..errors import ArgumentError, GradientError
from ..tensor import Tensor, _make


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so their joint norm is at most max_norm; returns the norm before clipping.

    total = (sum_p ||g_p||^q)^(1/q) (q = norm_type; inf: the largest |g|). When total > max_norm
    every gradient is multiplied in place by max_norm / (total + 1e-6), as PyTorch does.

    Example:
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    """
    grads = _grads(parameters)
    if not grads:
        return _make(np.zeros((), dtype=np.float32), _cpu(), False, None)
    norm_type = float(norm_type)
    host = [float(_norm(g._data, norm_type)) for g in grads]
    if norm_type == math.inf:
        total = max(host)
    else:
        total = sum(h**norm_type for h in host) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise GradientError(f"clip_grad_norm_: the total gradient norm is {total}; set error_if_nonfinite=False "
                            "to clip anyway")
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._version += 1
    return _make(np.asarray(total, dtype=grads[0].dtype), _cpu(), False, None)


def _norm(a, q):
    xp = np if isinstance(a, np.ndarray) else __import__("cupy")
    if q == math.inf:
        return xp.abs(a).max() if a.size else 0.0
    if q == 2.0:
        flat = a.reshape(-1).astype(np.float64, copy=False)
        return math.sqrt(float(flat @ flat))
    return float((xp.abs(a.astype(np.float64)) ** q).sum()) ** (1.0 / q)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    from .. import _validate as check

    clip_value = check.number(clip_value, "clip_value", "clip_grad_value_")
    for g in _grads(parameters):
        xp = g.device.backend.xp
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version += 1


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor: cat([p.view(-1)]), differentiable as PyTorch's."""
    from ..ops.joins import cat

    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of a 1-D tensor into the parameters, in place (sizes checked first)."""
    from ..errors import ShapeError

    if not isinstance(vec, Tensor):
        raise ArgumentError(f"vector_to_parameters: expected vec to be a Tensor, but got {type(vec).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    need = sum(p._data.size for p in params)
    if vec.ndim != 1 or vec._data.size != need:
        raise ShapeError(f"vector_to_parameters: vec has shape {tuple(vec.shape)}, the parameters need a 1-D "
                         f"vector of {need} elements")
    offset = 0
    for p in params:
        n = p._data.size
        p._data[...] = vec._data[offset:offset + n].reshape(p.shape)
        p._version += 1
        offset += n


def _cpu():
    from ..device import device

    return device("cpu")


class blas_threads:
    """Context manager: limit NumPy's BLAS to `n` threads inside (needs threadpoolctl; else does nothing).

    # NOTE: the GEMMs of small networks (a 32 x 784 by 784 x 64 matmul) are fastest on one thread,
    # and multithreaded OpenBLAS is far slower as soon as other processes compete for the cores (its
    # threads spin-wait): measured on a loaded 2-core machine, 70 us on one thread against 220-1000
    # us on two, and one MLP epoch of `tensorcore train` in 2.4 s against 16.7 s. `tensorcore train`
    # and keras fit use one thread for models under a million parameters. n=None: no limit.

    Example:
        with nn.utils.blas_threads(1):
            train()
    """

    def __init__(self, n):
        self.n = n
        self._limits = None

    def __enter__(self):
        if self.n is not None:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:
                return self
            self._limits = threadpool_limits(int(self.n), user_api="blas")
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()
            self._limits = None


def small_model_threads(model_or_params, limit=1_000_000):
    """1 for a model with fewer than `limit` parameters (see blas_threads), else None (library default)."""
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") else model_or_params
    return 1 if sum(p._data.size for p in params) < limit else None


from .weight_norms import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm  # noqa: E402, F401


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of tensors (a Tensor or an iterable of them): what clip_grad_norm_ clips by."""
    from ..tensor import tensor as _tensor_fn

    tensors = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    if not tensors:
        return _tensor_fn(0.0)
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(abs(t.detach()).max().item()) if t.numel() else 0.0 for t in tensors)
    else:
        total = sum(float(_norm(t.detach().device.backend.to_numpy(t.detach()._data).astype(np.float64), norm_type))
                    ** norm_type for t in tensors) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise GradientError(f"get_total_norm: the total norm of order {norm_type} is non-finite ({total})")
    return _tensor_fn(total, dtype=tensors[0].dtype)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every .grad by max_norm / (total_norm + 1e-6) when that is below 1 (clip_grad_norm_'s second half)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef < 1:
        for p in params:
            if p.grad is not None:
                p.grad._data *= p.grad.dtype.type(coef)
                p.grad._version += 1


class stateless:  # noqa: N801  (the torch.nn.utils.stateless namespace)
    @staticmethod
    def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
        """torch.nn.utils.stateless.functional_call: tensorcore.func.functional_call."""
        from ..func import functional_call

        return functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
