"""Shared helpers of tensorcore.distributions: turning numbers into Tensors, broadcasting parameters together,
probs <-> logits, and wrapping host (NumPy) draws from tc.manual_seed's generator into Tensors."""

import numpy as np

from ..tensor import Tensor


def _as_tensor(value, like=None):
    from ..tensor import tensor

    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if isinstance(like, Tensor) and like.dtype.kind == "f" else None
    device = like.device if isinstance(like, Tensor) else None
    if dtype is not None:
        return tensor(value, dtype=dtype, device=device)
    return tensor(float(value) if np.ndim(value) == 0 else value, device=device)


def broadcast_all(*values):
    """torch.distributions.utils.broadcast_all: numbers become Tensors of the first Tensor's floating dtype
    (the default dtype when there is none); everything is broadcast to one shape."""
    from .. import broadcast_tensors, get_default_dtype
    from ..tensor import tensor

    like = next((v for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), None)
    dtype = like.dtype if like is not None else get_default_dtype()
    device = next((v.device for v in values if isinstance(v, Tensor)), None)
    out = [v if isinstance(v, Tensor) else tensor(v, dtype=dtype, device=device) for v in values]
    out = [v if v.dtype.kind == "f" else v.to(dtype=dtype) for v in out]
    return broadcast_tensors(*out) if len(out) > 1 else out


def _shape(sample_shape):
    return tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)


def _host_tensor(array, like):
    from ..tensor import _make

    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return _make(like.device.backend.from_host(array, copy=False), like.device, False, None)


def _host(tensor):
    """float64 host copy of a Tensor's values (no gradient)."""
    return np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)


def _rng():
    from ..random import default_generator

    return default_generator.np


def _finfo(dtype):
    return np.finfo(np.dtype(dtype.name) if hasattr(dtype, "name") else dtype)


def clamp_probs(probs):
    eps = float(_finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def _sum_rightmost(value, dim):
    """Sum out the dim rightmost dimensions of value."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def __getattr__(name):  # torch.distributions.utils.lazy_property lives in distribution.py (no import cycle)
    if name == "lazy_property":
        from .distribution import lazy_property

        return lazy_property
    raise AttributeError(name)
