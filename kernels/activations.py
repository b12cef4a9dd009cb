"""Elementwise activations, forward and backward, as grid-stride kernels over contiguous arrays.

Math (``g`` is the incoming gradient, ``dx = g * f'(x)``; every backward takes the forward *input*)::

    relu(x)        = x if x > 0 else 0           f'(x) = 1 if x > 0 else 0   (NOTE: 0 at the kink)
    leaky_relu(x)  = x if x >= 0 else a x        f'(x) = 1 if x > 0 else a
    sigmoid(x)     = 1 / (1 + e^-x)              f'(x) = s (1 - s)
    tanh(x)                                      f'(x) = 1 - tanh(x)^2
    gelu(x)        = x Phi(x) = x/2 (1 + erf(x / sqrt 2))
                                                 f'(x) = Phi(x) + x phi(x),  phi(x) = e^(-x^2/2) / sqrt(2 pi)
    gelu_tanh(x)   = x/2 (1 + t),  t = tanh(sqrt(2/pi) (x + 0.044715 x^3))
                   f'(x) = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)

Shapes and dtypes: any shape, C-contiguous, float32, float64 or float16. The math runs in the compute
type (kernels/_rows.py: float32 for float16 storage, else the array's dtype; constants are cast, so
float32 stays float32 on the GPU). ``out`` may be ``x`` itself (in place). Cost per element: forward
reads 1 and writes 1 element, backward reads 2 and writes 1 (8 or 12 B in float32, 4 or 6 in float16);
a handful of FLOPs (erf/tanh/exp about 20-40), so every kernel is memory bound.

Launch: a 1-D grid-stride loop of ``THREADS_1D = 256`` threads per block (``_launch.grid_1d``).
When every array is float32/float16 with its data 16-byte (float16: 8-byte) aligned, the ``_vec``
kernels move 4 elements per instruction (``LDG.E.128`` / ``LDG.E.64``, kernels/_vector_f16.py):
``VEC_UNROLL = 2`` vectors per thread per step, ``VEC * THREADS_1D`` elements apart, all loads issued
before the first store; block 0 finishes the last ``n % 4`` elements. Otherwise (float64, unaligned
views) each step a thread handles ``UNROLL = 4`` elements 256 apart, loads issued together.

Wrappers (CuPy/Numba device arrays, or NumPy in the simulator; ``stream`` optional)::

    relu(x, out=None, stream=None)                 relu_backward(x, grad, out=None, stream=None)
    leaky_relu(x, negative_slope=0.01, out=None)   leaky_relu_backward(x, grad, negative_slope=0.01, out=None)
    sigmoid(x, out=None)                           sigmoid_backward(x, grad, out=None)
    tanh(x, out=None)                              tanh_backward(x, grad, out=None)
    sigmoid_backward_from_output(y, grad, out=None)   tanh_backward_from_output(y, grad, out=None)
    gelu(x, approximate="none", out=None)          gelu_backward(x, grad, approximate="none", out=None)

    y = relu(x); dx = relu_backward(x, dy)
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _launch, _rows
from . import _vector_f16 as _vec

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = 0.044715

#: Elements per thread per grid-stride step: their loads are issued together, so each thread keeps
#: UNROLL (backward: 2 UNROLL) loads in flight; H200 needs ~20 KB in flight per SM to approach its
#: bandwidth, and 2048 resident threads x 4 B with one load each would give only 8 KB.
UNROLL = 4
#: Vectors (of ``_vector_f16.VEC`` elements) per thread per step in the vector kernels.
VEC_UNROLL = 2
#: The activation names (``gelu`` is the erf form, ``gelu_tanh`` the tanh approximation).
NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")
#: Backward-only kernels taking the forward's *output* ``y``: ``g y (1 - y)`` and ``g (1 - y^2)``.
OUTPUT_NAMES = ("sigmoid_output", "tanh_output")


def _constants(dtype):
    """The math constants in the kernel's dtype (Python floats would promote float32 math to float64)."""
    T = _launch.numba_type(dtype)
    return (
        T(0.0),
        T(1.0),
        T(0.5),
        T(_SQRT_2_OVER_PI),
        T(_INV_SQRT2),
        T(_INV_SQRT_2PI),
        T(_GELU_C),
        T(3.0 * _GELU_C),
    )


# The activation is a compile-time constant (OP) tested inline in the device functions below: NVVM
# folds the if/elif chain away, leaving one activation per kernel.


def _math(name: str, dtype):
    """``(f, d)``: inline device functions ``f(v, a)`` (the activation) and ``d(v, a)`` (its derivative),
    in the compute type of ``dtype`` (float32 for float16 storage)."""
    OP = (NAMES + OUTPUT_NAMES).index(name)
    zero, one, half, s2pi, inv_sqrt2, inv_sqrt_2pi, c, c3 = _constants(_rows.compute_dtype(dtype))

    @cuda.jit(device=True, inline=True)
    def f(v, a):
        if OP == 0:  # relu. NOTE: `v < 0` lets NaN through as NaN
            return zero if v < zero else v
        elif OP == 1:  # leaky_relu
            return a * v if v < zero else v
        elif OP == 2:  # sigmoid. NOTE: exp of a non-positive number only, no overflow
            e = math.exp(-abs(v))
            return one / (one + e) if v >= zero else e / (one + e)
        elif OP == 3:
            return math.tanh(v)
        elif OP == 4:  # gelu, erf form
            return half * v * (one + math.erf(v * inv_sqrt2))
        else:  # gelu, tanh approximation
            return half * v * (one + math.tanh(s2pi * (v + c * v * v * v)))

    @cuda.jit(device=True, inline=True)
    def d(v, a):
        if OP == 0:  # NOTE: derivative 0 at the kink v = 0
            return one if v > zero else zero
        elif OP == 1:
            return one if v > zero else a
        elif OP == 2:
            e = math.exp(-abs(v))
            s = one / (one + e) if v >= zero else e / (one + e)
            return s * (one - s)
        elif OP == 3:
            t = math.tanh(v)
            return one - t * t
        elif OP == 4:
            return half * (one + math.erf(v * inv_sqrt2)) + v * inv_sqrt_2pi * math.exp(-half * v * v)
        elif OP == 6:  # sigmoid, from its output v = s
            return v * (one - v)
        elif OP == 7:  # tanh, from its output v = t
            return one - v * v
        else:
            t = math.tanh(s2pi * (v + c * v * v * v))
            return half * (one + t) + half * v * (one - t * t) * s2pi * (one + c3 * v * v)

    return f, d


def make_forward_kernel(name: str, dtype):
    """``out[i] = f(x[i], a)`` for ``i < x.size``, grid-stride, one element per load. Args ``(x, a, out)``, 1-D."""
    T = _rows.compute_type(dtype)
    zero = T(0.0)
    f, _ = _math(name, dtype)

    def activation_forward(x, a, out):
        vals = cuda.local.array(UNROLL, T)
        block = cuda.blockDim.x
        base = cuda.blockIdx.x * block * UNROLL + cuda.threadIdx.x
        stride = cuda.gridDim.x * block * UNROLL
        n = x.size
        while base < n:
            for u in range(UNROLL):  # UNROLL independent loads in flight per thread
                i = base + u * block
                vals[u] = T(x[i]) if i < n else zero
            for u in range(UNROLL):
                i = base + u * block
                if i >= n:
                    break
                out[i] = f(vals[u], a)
            base += stride

    return _launch.named(activation_forward, f"{name}_forward", dtype)


def make_backward_kernel(name: str, dtype):
    """``out[i] = grad[i] * f'(x[i], a)``, grid-stride, one element per load. Args ``(x, grad, a, out)``, 1-D."""
    T = _rows.compute_type(dtype)
    zero = T(0.0)
    _, d = _math(name, dtype)

    def activation_backward(x, grad, a, out):
        vals = cuda.local.array(UNROLL, T)
        grads = cuda.local.array(UNROLL, T)
        block = cuda.blockDim.x
        base = cuda.blockIdx.x * block * UNROLL + cuda.threadIdx.x
        stride = cuda.gridDim.x * block * UNROLL
        n = x.size
        while base < n:
            for u in range(UNROLL):  # 2 UNROLL independent loads in flight per thread
                i = base + u * block
                vals[u] = T(x[i]) if i < n else zero
                grads[u] = T(grad[i]) if i < n else zero
            for u in range(UNROLL):
                i = base + u * block
                if i >= n:
                    break
                out[i] = grads[u] * d(vals[u], a)
            base += stride

    return _launch.named(activation_backward, f"{name}_backward", dtype)


def make_forward_vector_kernel(name: str, dtype):
    """:func:`make_forward_kernel` with 4-element vector loads/stores (kernels/_vector_f16.py): thread
    steps over ``VEC_UNROLL`` vectors ``VEC * THREADS_1D`` elements apart; the last ``n % 4`` elements
    are done one by one by block 0. Args as the scalar kernel; the arrays must be 4-element aligned."""
    T = _rows.compute_type(dtype)
    W = VEC_UNROLL * _vec.VEC
    f, _ = _math(name, dtype)

    def activation_forward_vec(x, a, out):
        vals = cuda.local.array(W, T)
        block = cuda.blockDim.x
        base = cuda.blockIdx.x * block * VEC_UNROLL + cuda.threadIdx.x
        stride = cuda.gridDim.x * block * VEC_UNROLL
        n = x.size
        nv = n // 4
        while base < nv:
            for u in range(VEC_UNROLL):  # every load issued before the first store (out may be x)
                j = base + u * block
                if j < nv:
                    vals[4 * u], vals[4 * u + 1], vals[4 * u + 2], vals[4 * u + 3] = _vec.load4(x, 4 * j)
            for u in range(VEC_UNROLL):
                j = base + u * block
                if j < nv:
                    _vec.store4(out, 4 * j, f(vals[4 * u], a), f(vals[4 * u + 1], a), f(vals[4 * u + 2], a),
                                f(vals[4 * u + 3], a))
            base += stride
        i = 4 * nv + cuda.threadIdx.x
        if cuda.blockIdx.x == 0 and i < n:
            out[i] = f(T(x[i]), a)

    return _launch.named(activation_forward_vec, f"{name}_forward_vec", dtype)


def make_backward_vector_kernel(name: str, dtype):
    """:func:`make_backward_kernel` with 4-element vector loads/stores (see the forward)."""
    T = _rows.compute_type(dtype)
    W = VEC_UNROLL * _vec.VEC
    _, d = _math(name, dtype)

    def activation_backward_vec(x, grad, a, out):
        vals = cuda.local.array(W, T)
        grads = cuda.local.array(W, T)
        block = cuda.blockDim.x
        base = cuda.blockIdx.x * block * VEC_UNROLL + cuda.threadIdx.x
        stride = cuda.gridDim.x * block * VEC_UNROLL
        n = x.size
        nv = n // 4
        while base < nv:
            for u in range(VEC_UNROLL):
                j = base + u * block
                if j < nv:
                    vals[4 * u], vals[4 * u + 1], vals[4 * u + 2], vals[4 * u + 3] = _vec.load4(x, 4 * j)
                    grads[4 * u], grads[4 * u + 1], grads[4 * u + 2], grads[4 * u + 3] = _vec.load4(grad, 4 * j)
            for u in range(VEC_UNROLL):
                j = base + u * block
                if j < nv:
                    _vec.store4(out, 4 * j, grads[4 * u] * d(vals[4 * u], a), grads[4 * u + 1] * d(vals[4 * u + 1], a),
                                grads[4 * u + 2] * d(vals[4 * u + 2], a), grads[4 * u + 3] * d(vals[4 * u + 3], a))
            base += stride
        i = 4 * nv + cuda.threadIdx.x
        if cuda.blockIdx.x == 0 and i < n:
            out[i] = T(grad[i]) * d(T(x[i]), a)

    return _launch.named(activation_backward_vec, f"{name}_backward_vec", dtype)


_MAKERS = {(False, False): make_forward_kernel, (True, False): make_backward_kernel,
           (False, True): make_forward_vector_kernel, (True, True): make_backward_vector_kernel}


def _kernel(name, dtype, backward, vector):
    return _launch.built(_MAKERS[backward, vector], name, dtype)


def ptx_signatures():
    """``(name, python function, [signature], launch_bounds)`` of every kernel as launched."""
    out = []
    for dtype in _rows.DTYPES:
        t, a = _rows.storage_type(dtype), _rows.compute_type(dtype)
        v = t[::1]
        for name in NAMES + OUTPUT_NAMES:
            for vector in (False, True) if dtype in _vec.VECTOR_DTYPES else (False,):
                if name in NAMES:
                    fwd = _MAKERS[False, vector](name, dtype)
                    out.append((fwd.__name__, fwd, [numba.void(v, a, v)], None))
                bwd = _MAKERS[True, vector](name, dtype)
                out.append((bwd.__name__, bwd, [numba.void(v, v, a, v)], None))
    return out


def _run(fn, name, x, grad, a, out, stream):
    kind = _launch.check_same_kind(fn, x, grad, out)
    _launch.check(fn, "x", x, dtype=_rows.DTYPES)
    dtype = np.dtype(x.dtype)
    if grad is not None:
        _launch.check(fn, "grad", grad, dtype=dtype, shape=x.shape)
    out = _launch.output(fn, kind, out, x.shape, dtype)
    n = x.size
    if n == 0:
        return out
    flat = [_launch.reshape(v, (n,)) for v in ((x, grad, out) if grad is not None else (x, out))]
    a = _rows.compute_dtype(dtype).type(a)
    args = [flat[0], flat[1], a, flat[2]] if grad is not None else [flat[0], a, flat[1]]
    vector = _vec.aligned(x, grad, out)
    kernel = _kernel(name, dtype, grad is not None, vector)
    grid = _launch.grid_1d(_launch.cdiv(n, VEC_UNROLL * _vec.VEC if vector else UNROLL))
    _launch.launch(kernel, grid, _launch.THREADS_1D, _launch.stream_for(kind, stream), *args)
    return out


def relu(x, out=None, stream=None):
    """``max(x, 0)`` elementwise (NaN stays NaN). Example: ``y = relu(x)``."""
    return _run("relu", "relu", x, None, 0.0, out, stream)


def relu_backward(x, grad, out=None, stream=None):
    """``grad * (x > 0)``: the gradient of relu at its input ``x``. Example: ``dx = relu_backward(x, dy)``."""
    return _run("relu_backward", "relu", x, grad, 0.0, out, stream)


def leaky_relu(x, negative_slope=0.01, out=None, stream=None):
    """``x if x >= 0 else negative_slope * x``."""
    return _run("leaky_relu", "leaky_relu", x, None, negative_slope, out, stream)


def leaky_relu_backward(x, grad, negative_slope=0.01, out=None, stream=None):
    """``grad * (1 if x > 0 else negative_slope)``."""
    return _run("leaky_relu_backward", "leaky_relu", x, grad, negative_slope, out, stream)


def sigmoid(x, out=None, stream=None):
    """``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""
    return _run("sigmoid", "sigmoid", x, None, 0.0, out, stream)


def sigmoid_backward(x, grad, out=None, stream=None):
    """``grad * s (1 - s)`` with ``s = sigmoid(x)`` (recomputed from the input ``x``)."""
    return _run("sigmoid_backward", "sigmoid", x, grad, 0.0, out, stream)


def sigmoid_backward_from_output(y, grad, out=None, stream=None):
    """``grad * y (1 - y)`` from the forward's output ``y = sigmoid(x)`` (PyTorch's sigmoid_backward)."""
    return _run("sigmoid_backward_from_output", "sigmoid_output", y, grad, 0.0, out, stream)


def tanh_backward_from_output(y, grad, out=None, stream=None):
    """``grad * (1 - y^2)`` from the forward's output ``y = tanh(x)`` (PyTorch's tanh_backward)."""
    return _run("tanh_backward_from_output", "tanh_output", y, grad, 0.0, out, stream)


def tanh(x, out=None, stream=None):
    """``tanh(x)``."""
    return _run("tanh", "tanh", x, None, 0.0, out, stream)


def tanh_backward(x, grad, out=None, stream=None):
    """``grad * (1 - tanh(x)^2)``."""
    return _run("tanh_backward", "tanh", x, grad, 0.0, out, stream)


def _gelu_name(fn, approximate):
    if approximate in (None, "none", False):
        return "gelu"
    if approximate == "tanh":
        return "gelu_tanh"
    raise ValueError(f"{fn}: approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu(x, approximate="none", out=None, stream=None):
    """``x Phi(x)`` (erf form), or with ``approximate="tanh"`` the tanh approximation."""
    return _run("gelu", _gelu_name("gelu", approximate), x, None, 0.0, out, stream)


def gelu_backward(x, grad, approximate="none", out=None, stream=None):
    """``grad * gelu'(x)`` for the erf form or (``approximate="tanh"``) the tanh approximation."""
    return _run("gelu_backward", _gelu_name("gelu_backward", approximate), x, grad, 0.0, out, stream)


# ----------------------------------------------------------------------------- NumPy references (float64)


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def forward_reference(name, x, a=0.0):
    """NumPy float64 reference of the forward kernel ``name``."""
    x = np.asarray(x, dtype=np.float64)
    if name == "relu":
        return np.where(x < 0, 0.0, x)
    if name == "leaky_relu":
        return np.where(x < 0, a * x, x)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * x))
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x * _INV_SQRT2))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x**3)))
    raise ValueError(name)


def backward_reference(name, x, grad, a=0.0):
    """NumPy float64 reference of the backward kernel ``name`` (``grad * f'(x)``)."""
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    if name == "relu":
        d = (x > 0).astype(np.float64)
    elif name == "leaky_relu":
        d = np.where(x > 0, 1.0, a)
    elif name == "sigmoid":
        s = forward_reference("sigmoid", x)
        d = s * (1 - s)
    elif name == "tanh":
        d = 1 - np.tanh(x) ** 2
    elif name == "gelu":
        d = 0.5 * (1 + _erf(x * _INV_SQRT2)) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    elif name == "gelu_tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x**3))
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * x * x)
    elif name == "sigmoid_output":  # x is the forward's output
        d = x * (1 - x)
    elif name == "tanh_output":
        d = 1 - x * x
    else:
        raise ValueError(name)
    return g * d
