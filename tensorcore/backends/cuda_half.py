"""float16 on the cuda device: which kernels take float16 as it is, and the widening wrapper for the rest.

Under tc.autocast("cuda") the activations between matmuls and convolutions are float16. These kernels take
float16 arrays as they are (float16 in global memory, float32 in registers, one rounding per store):
the GEMM (kernels/gemm_f16.py), the activations and their backward (kernels/activations.py), softmax,
log-softmax and cross-entropy (kernels/softmax.py: a float32 loss, see :func:`half_loss`), layer norm
(kernels/layernorm.py: float32 mean/rstd), fused attention (kernels/attention.py: float32 lse), the
implicit-GEMM convolution forward, input and weight gradients (kernels/conv_implicit.py,
conv_implicit_grad.py: float32 split-K partials) and max/avg pooling (kernels/pool.py). The backend
(backends/cuda.py) calls them directly. Only the im2col convolution path (kernels/conv.py: the ``conv =
"im2col"`` switch, and the input gradient of convolutions with fewer than 16 input channels per group) is
float32/float64 only: :func:`float32_compute` widens its float16 arguments to float32 and rounds its results
back, at the cost of a copy each way.
"""

import functools

import numpy as np

_HALF = np.dtype(np.float16)
_FLOAT = np.dtype(np.float32)


def float32_compute(fn):
    """fn with its float16 array arguments widened to float32 and its float32 array results rounded to float16."""

    @functools.wraps(fn)
    def half_as_float32(*args, **kwargs):
        if not any(getattr(a, "dtype", None) == _HALF for a in args):
            return fn(*args, **kwargs)
        wide = [a.astype(_FLOAT) if getattr(a, "dtype", None) == _HALF else a for a in args]
        return _narrow(fn(*wide, **kwargs))

    return half_as_float32


def _narrow(out):
    if isinstance(out, tuple):
        return tuple(_narrow(o) for o in out)
    if getattr(out, "dtype", None) == _FLOAT:
        return out.astype(_HALF)
    return out


def half_loss(loss, logits):
    """The cross-entropy kernel's per-row loss in the logits' dtype: it computes (and returns) a float32 loss
    for float16 logits; PyTorch's cross_entropy of float16 logits is float16 (under autocast the logits are
    float32 already, as the amp policy lists cross_entropy as float32)."""
    return loss.astype(_HALF) if logits.dtype == _HALF and loss.dtype != _HALF else loss


def sequence_dtypes_match(*arrays, stats=()):
    """True when the row arrays (None skipped) share one dtype and the saved statistics are in its compute
    dtype (float32 for float16 rows): what kernels/layernorm.py takes."""
    dtypes = {a.dtype for a in arrays if a is not None}
    if len(dtypes) != 1:
        return False
    acc = _FLOAT if dtypes == {_HALF} else dtypes.pop()
    return all(s.dtype == acc for s in stats)
