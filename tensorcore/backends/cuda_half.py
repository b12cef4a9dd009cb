"""float16 on the cuda device: kernels without a float16 variant compute in float32 on widened copies.

Under tc.autocast("cuda") the activations between matmuls and convolutions are float16. The float16 GEMM
(kernels/gemm_f16.py) takes them as they are; the other kernels (activations, softmax, convolution, pooling)
are float32/float64 only, so their float16 arguments are widened to float32 and their results rounded back:
float16 storage with float32 arithmetic, as in the GEMM, at the cost of a copy each way.
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
