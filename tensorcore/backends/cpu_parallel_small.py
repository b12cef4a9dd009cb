"""Serial Numba kernels for small and mid-size arrays, where NumPy's fixed cost per call is the time.

A ufunc call costs NumPy 0.3-0.6 us before it touches an element, a full reduction 0.55 us, and ReLU's
backward `g * (x > 0)` is two ufuncs and a temporary. Below the size where the parallel families take
over (cpu_parallel.MIN_ELEMENTS) one compiled loop is faster, measured on the 2-core Xeon, float32, one
core (bench/results/2026-12-01-cpu2-session5-overhead.md):

| elements | 1 | 256 | 2048 | 32768 |
| --- | --- | --- | --- | --- |
| full sum: np.add.reduce / this | 0.58 / 0.46 us | 0.64 / 0.49 | 0.95 / 0.59 | 5.8 / 2.4 |
| relu: np.maximum / this | 0.29 / 0.44 | 0.36 / 0.47 | 0.73 / 0.58 | 5.9 / 3.3 |
| relu backward: g * (x > 0) / this | 1.10 / 0.51 | 1.18 / 0.53 | 1.85 / 0.67 | 11.7 / 4.1 |

so cpu.py sends full float32 sums from 256 to 65536 elements and ReLU backwards of every size below the parallel
kernels' here. Not ReLU's forward: NumPy's maximum plus its output array costs what the Numba call does
once the Python around it is counted. Loaded (with numba) by cpu_parallel.kernels("small") on first use,
compiled once per dtype and rank and cached on disk. The callers pass C-contiguous arrays.
No threads, so nothing depends on the thread count.
"""

import numpy as np
from numba import njit


# NOTE: float32 input (the only one cpu.py sends) accumulates in float64, rounded once at the end: more
# accurate than NumPy's float32 pairwise sum and PyTorch's float32 cascade (65536 standard normals, 20 draws:
# within 0.5 ulp of the exact sum, NumPy's within 13). `reassoc` lets LLVM keep several float64 partial sums in
# vector lanes; float64 input stays NumPy's pairwise sum (reassociated, this loop was 163 ulp off there).
@njit(cache=True, fastmath={"reassoc"})
def _total_kernel(x, out):
    flat = x.reshape(-1)
    acc = 0.0
    for i in range(flat.size):
        acc += np.float64(flat[i])
    out.reshape(-1)[0] = acc


@njit(cache=True)
def _relu_backward_kernel(x, g, out):
    xf, gf, of = x.reshape(-1), g.reshape(-1), out.reshape(-1)
    for i in range(xf.size):
        of[i] = gf[i] * (xf[i] > 0)  # NOTE: g * 0 at the kink x == 0 (and NaN * 0 stays NaN), as cpu.py's


def total(x, keepdims):
    """sum of every element of x: a 0-d array, or of shape (1,) * x.ndim with keepdims."""
    out = np.empty((1,) * x.ndim if keepdims else (), x.dtype)
    _total_kernel(x, out)
    return out


def relu_backward(x, g):
    out = np.empty(x.shape, x.dtype)
    _relu_backward_kernel(x, g, out)
    return out
