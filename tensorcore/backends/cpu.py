"""The CPU backend: NumPy arrays and NumPy/BLAS implementations of the primitive table."""

import math

import numpy as np

from . import cpu_parallel as _parallel  # multi-core kernels for large arrays (imports numba only on use)

xp = np
name = "cpu"
simulated = False


def asarray(data, dtype=None):
    """Any array-like -> a NumPy array of `dtype` (copies only when it must)."""
    return np.asarray(data, dtype=dtype)


def to_numpy(a):
    """The array as a NumPy array (the same object on the CPU)."""
    return a


def from_host(a, copy=True):
    """A host (NumPy) array on this device: the same array with copy=False, else a copy."""
    return np.array(a, copy=True) if copy else np.asarray(a)


def sum(x, axes, keepdims):
    """x summed over `axes` (a tuple). np.add.reduce: the same sum as x.sum, without its Python wrapper."""
    if x.size >= SMALL_SUM_MIN and x.dtype.char == "f" and x.size <= SMALL_SUM_MAX and len(axes) == x.ndim \
            and x.flags.c_contiguous:  # a full float32 sum of a mid-size array: one serial loop, in float64
        small = _small_kernels()
        if small is not None:
            return small.total(x, keepdims)
    elif x.size == 1 and not keepdims and len(axes) == x.ndim and x.dtype.char in "fd":
        # the sum of one element: itself + 0 (as a sum, -0.0 gives 0.0), 0.45 us against np.add.reduce's 0.8
        return x.reshape(()) + _zero(x.dtype)
    elif x.dtype.itemsize == 2 and x.dtype.char in _LOW_FLOATS:  # NOTE: float32 accumulation (bfloat16 stalls
        return _rounded(np.add.reduce(x, axis=axes, keepdims=keepdims, dtype=np.float32), x.dtype)  # at 256 + 1)
    elif x.ndim == 4 and tuple(axes) == (0, 2, 3) and x.flags.c_contiguous and _parallel.takes(x):
        return _parallel.kernels("elementwise").channel_sum(x, keepdims)  # a conv bias's gradient, threaded
    return np.add.reduce(x, axis=axes, keepdims=keepdims)


# The serial Numba kernels (cpu_parallel_small), where they beat NumPy's fixed cost per call (measured there):
# full float32 sums of SMALL_SUM_MIN to SMALL_SUM_MAX elements, ReLU backwards below the parallel kernels' size.
SMALL_SUM_MIN, SMALL_SUM_MAX = 256, 1 << 16
_small = None  # cpu_parallel_small once loaded; False without Numba


def _small_kernels():
    """The serial kernels' module, or None (Numba missing, or the kernels switched off)."""
    global _small
    if not _parallel.enabled:
        return None
    if _small is None:
        _small = _parallel.kernels("small") if _parallel.available() else False
    return _small or None


# --- float16 / bfloat16: computed in float32, rounded once ------------------------------------------

# float16 and bfloat16 by their type characters (ml_dtypes' bfloat16 is 'E'): no ml_dtypes import to ask
_LOW_FLOATS = np.dtype(np.float16).char + "E"


def _low_dtype(arrays):
    """The float16/bfloat16 dtype of the first such array among `arrays`, else None."""
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.itemsize == 2 and a.dtype.char in _LOW_FLOATS:
            return a.dtype
    return None


def _to_float32(a):
    return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.itemsize == 2 and a.dtype.char in _LOW_FLOATS \
        else a


def _rounded(out, low):
    """float32 results rounded to `low`; beyond its range they become inf, as in PyTorch (GradScaler looks for them)."""
    if isinstance(out, tuple):
        return tuple(_rounded(o, low) for o in out)
    if isinstance(out, (np.ndarray, np.generic)) and out.dtype == np.float32:
        with np.errstate(over="ignore"):
            return out.astype(low)
    return out


def computed_in_float32(fn, dtypes=_LOW_FLOATS):
    """fn on float16/bfloat16 arrays (of `dtypes`): run on float32 copies, each float32 result rounded once to the
    input's dtype.

    # NOTE: PyTorch's CPU kernels do the same (float32 accumulation): NumPy has no half-precision BLAS (its float16
    # GEMM is a scalar loop, ~30x slower than float32's) and ml_dtypes' bfloat16 loops are scalar too. The
    # result differs from a pure low-precision computation only by being more accurate (one rounding)."""

    def low_precision(x, *args, **kwargs):
        # The ops' operands share one dtype (the ops refuse mixed dtypes), so the first one decides: float32 and
        # float64 pay one attribute test here.
        if x.dtype.itemsize != 2 or x.dtype.char not in dtypes:
            return fn(x, *args, **kwargs)
        low = x.dtype
        x = _to_float32(x)
        args = tuple(_to_float32(a) for a in args)
        kwargs = {k: _to_float32(v) for k, v in kwargs.items()}
        return _rounded(fn(x, *args, **kwargs), low)

    low_precision.__name__ = low_precision.__qualname__ = fn.__name__
    low_precision.__doc__ = fn.__doc__
    low_precision.__wrapped__ = fn
    return low_precision


# --- matmul -----------------------------------------------------------------------------------


def matmul(a, b):
    """NumPy matmul semantics: 1-D, 2-D and batched with broadcast batch dimensions; float16/bfloat16 in float32
    (computed_in_float32's rule, inline: the per-op overhead of small products counts here)."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype.char in "fd":
        if a.size * b.shape[1] > _parallel.GEMM_MIN_MNK and _parallel.gemm(a, b):
            # large 2-D products on tc's threads (no spinning BLAS workers); the size test first, inline
            return _parallel.kernels("tiled").gemm(a, b)
        return np.dot(a, b)  # the same BLAS call as np.matmul for 2-D, 0.2-0.4 us less of NumPy's overhead
    low = a.dtype
    if low.itemsize == 2 and low.char in _LOW_FLOATS:
        return _rounded(matmul(a.astype(np.float32), _to_float32(b)), low)
    return np.matmul(a, b)


def linear(x, w, b=None):
    """y = x @ w.T + b with w of shape (out, in): one BLAS call and an in-place bias add."""
    if x.ndim > 2:  # one 2-D GEMM (NumPy's N-D @ 2-D matmul runs one GEMM per leading index)
        y = matmul(x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + (w.shape[0],))
    else:
        y = matmul(x, w.T)
    if b is not None:
        y += b
    return y


# --- local response norm: one fused node (ops/lrn_fused.py) on the parallel kernels --------------------


def lrn_fused(x):
    """Whether local_response_norm takes the fused kernels for x: N-D (N, C, ...) float32/float64, large."""
    return x.ndim >= 3 and x.dtype.kind == "f" and _parallel.takes(x)


def lrn_forward(x, size, alpha, beta, k):
    """(y, d): y = x / d^beta, d = k + alpha / size * (the channel-window sum of x^2)."""
    return _parallel.kernels("lrn").lrn_forward(x, size, alpha, beta, k)


def lrn_backward(g, x, d, size, alpha, beta):
    return _parallel.kernels("lrn").lrn_backward(g, x, d, size, alpha, beta)


# --- activations --------------------------------------------------------------------------------


_ZEROS = {}  # dtype -> a 0-d zero of it: np.maximum with a 0-d array is faster than with the Python 0


def _zero(dtype):
    zero = _ZEROS.get(dtype)
    if zero is None:
        zero = _ZEROS[dtype] = np.zeros((), dtype)
    return zero


try:
    from numpy._core.umath import clip as _clip  # the clip ufunc itself (np.clip wraps it in Python)
except ImportError:  # NumPy 1.x
    _clip = None
_RELU_BOUNDS = {}  # dtype -> (0, its largest value) as 0-d arrays (float32/64, the integers), or None


def _relu_bounds(dtype):
    """clip(x, 0, max) is ReLU; NumPy's clip loop beats maximum's with a 0-d zero 1.2-1.8x at 2048+ elements
    (float32/64, int64: bench/results/2026-12-02-cpu2-session7-relu.md), but not for float16 (or without it)."""
    if dtype.kind == "b":  # (never cached: each call refuses)
        raise TypeError("Boolean inputs not supported for relu, as in PyTorch")
    bounds = None  # (kept as None: maximum's dtypes look it up once)
    if _clip is not None and dtype.kind in "iuf" and dtype.itemsize >= 4:
        top = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
        bounds = (np.zeros((), dtype), np.array(top, dtype))
    _RELU_BOUNDS[dtype] = bounds
    return bounds


def relu(x):
    bounds = _RELU_BOUNDS.get(x.dtype, False)
    if bounds is False:
        bounds = _relu_bounds(x.dtype)
    if x.size >= _parallel.MIN_ELEMENTS and _parallel.takes(x):
        return _parallel.kernels("elementwise").relu(np.ascontiguousarray(x))
    if bounds is not None:
        return _clip(x, bounds[0], bounds[1])  # NOTE: keeps -0.0 and NaN, as PyTorch's relu and the kernels
    if x.dtype.char == "E":  # bfloat16: in float32, rounded once (NumPy's float16 loop is faster than that trip)
        return _rounded(relu(x.astype(np.float32)), x.dtype)
    return np.maximum(_zero(x.dtype), x)  # float16, bool; this order keeps -0.0 (and NaN)


def relu_backward(x, g):
    """g where x > 0, else 0.  # NOTE: the subgradient at the kink x == 0 is taken as 0."""
    if x.dtype.itemsize == 2 and x.dtype.char in _LOW_FLOATS:  # computed_in_float32's rule, inline (per-op overhead)
        return _rounded(relu_backward(x.astype(np.float32), _to_float32(g)), x.dtype)
    if x.size < _parallel.MIN_ELEMENTS:
        if (x.dtype.char in "fd" and g.dtype is x.dtype and g.shape == x.shape and x.flags.c_contiguous
                and g.flags.c_contiguous):
            small = _small_kernels()
            if small is not None:
                return small.relu_backward(x, g)
    elif _parallel.takes(x, g):
        return _parallel.kernels("elementwise").relu_backward(np.ascontiguousarray(x), np.ascontiguousarray(g))
    return g * (x > _zero(x.dtype))  # (a 0-d zero of its dtype: 0.25 us less than the Python 0 on small arrays)


def leaky_relu(x, negative_slope):
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def leaky_relu_backward(x, g, negative_slope):
    return np.where(x > 0, g, g * negative_slope).astype(g.dtype, copy=False)


def sigmoid(x):
    # NOTE: 0.5 * (1 + tanh(x / 2)) never overflows, unlike 1 / (1 + exp(-x)) for x << 0.
    if _parallel.takes(x):
        return _parallel.kernels("elementwise").sigmoid(np.ascontiguousarray(x))
    y = np.tanh(x * 0.5)
    y += 1
    y *= 0.5
    return y


def sigmoid_backward(y, g):
    """g * y * (1 - y) from the forward's output y = sigmoid(x)."""
    if _parallel.takes(y, g):
        return _parallel.kernels("elementwise").sigmoid_backward(np.ascontiguousarray(y), np.ascontiguousarray(g))
    return g * y * (1 - y)


def tanh(x):
    return np.tanh(x)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x, approximate="none"):
    if _parallel.takes(x):
        return _parallel.kernels("elementwise").gelu(np.ascontiguousarray(x), approximate)
    if approximate == "tanh":  # 0.5 x (1 + tanh(c x (1 + 0.044715 x^2))), in place on one temporary
        t = np.asarray(x * x)  # (an array even for a 0-d x: x * x is a NumPy scalar then)
        t *= 0.044715 * _SQRT_2_OVER_PI
        t += _SQRT_2_OVER_PI
        t *= x
        np.tanh(t, out=t)
        t += 1.0
        t *= x
        t *= 0.5
        return t
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_backward(x, g, approximate="none"):
    """g * d gelu / dx: Phi(x) + x phi(x), or the derivative of the tanh form."""
    if _parallel.takes(x, g):
        return _parallel.kernels("elementwise").gelu_backward(np.ascontiguousarray(x), np.ascontiguousarray(g),
                                                               approximate)
    if approximate == "tanh":  # 0.5 (1 + u) + 0.5 x (1 - u^2) c (1 + 3 0.044715 x^2), u = tanh(...), in place
        x2 = np.asarray(x * x)  # (arrays even for a 0-d x)
        u = np.asarray(x2 * (0.044715 * _SQRT_2_OVER_PI))
        u += _SQRT_2_OVER_PI
        u *= x
        np.tanh(u, out=u)
        x2 *= 3 * 0.044715 * _SQRT_2_OVER_PI
        x2 += _SQRT_2_OVER_PI
        x2 *= x
        x2 *= 1.0 - u * u
        u += 1.0
        u += x2
        u *= 0.5
        u *= g
        return u.astype(g.dtype, copy=False)
    d = 0.5 * (1 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return (g * d).astype(g.dtype, copy=False)


def erf(x):
    """Elementwise erf in NumPy (no SciPy).

    # NOTE: W. J. Cody's rational Chebyshev approximations (as used by many libms); |error| < 1e-15.
    """
    x = np.asarray(x)
    out_dtype = x.dtype if x.dtype.kind in "fV" else np.float64  # (V: bfloat16 stays bfloat16)
    xd = x.astype(np.float64, copy=False)
    ax = np.abs(xd)
    res = np.full_like(xd, np.nan)  # NaN stays NaN (no branch below takes it)
    small = ax < 0.5
    if small.any():
        z = xd[small]
        t = z * z
        p = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t
             + 377.485237685302021) * t + 3209.37758913846947
        q = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t \
            + 2844.23683343917062
        res[small] = z * p / q
    mid = (~small) & (ax < 4.0)
    if mid.any():
        z = ax[mid]
        p = ((((((((2.15311535474403846e-8 * z + 0.564188496988670089) * z + 8.88314979438837594) * z
                  + 66.1191906371416295) * z + 298.635138197400131) * z + 881.952221241769090) * z
               + 1712.04761263407058) * z + 2051.07837782607147) * z + 1230.33935479799725)
        q = ((((((((z + 15.7449261107098347) * z + 117.693950891312499) * z + 537.181101862009858) * z
                 + 1621.38957456669019) * z + 3290.79923573345963) * z + 4362.61909014324716) * z
              + 3439.36767414372164) * z + 1230.33935480374942)
        r = np.exp(-z * z) * p / q
        res[mid] = np.sign(xd[mid]) * (1.0 - r)
    big = ax >= 4.0
    if big.any():
        z = ax[big]
        zi = 1.0 / (z * z)
        p = ((((0.0163153871373020978 * zi + 0.305326634961232344) * zi + 0.360344899949804439) * zi
              + 0.125781726111229246) * zi + 0.0160837851487422766) * zi + 0.000658749161529837803
        q = ((((zi + 2.56852019228982242) * zi + 1.87295284992346725) * zi + 0.527905102951428412) * zi
             + 0.0605183413124413191) * zi + 0.00233520497626869185
        r = zi * p / q
        r = (1.0 / math.sqrt(math.pi) - r) / z
        r = np.exp(-z * z) * r
        res[big] = np.sign(xd[big]) * (1.0 - r)
    return res.astype(out_dtype, copy=False)



# --- softmax family ---------------------------------------------------------------------------


def _last_axis_rows(x, axis):
    """x as contiguous rows (R, C) when `axis` is its last axis and the kernels take it, else None."""
    if x.ndim == 0 or axis not in (-1, x.ndim - 1) or x.shape[-1] == 0 or not _parallel.takes(x):
        return None
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1])


def softmax(x, axis=-1):
    # NOTE: subtracting the row max keeps exp() finite for logits of 1e4.
    rows = _last_axis_rows(x, axis)
    if rows is not None:
        return _parallel.kernels("elementwise").softmax_rows(rows, False).reshape(x.shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    rows = _last_axis_rows(x, axis)
    if rows is not None:
        return _parallel.kernels("elementwise").softmax_rows(rows, True).reshape(x.shape)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def softmax_cross_entropy(logits, targets, ignore_index=-100):
    """Rows of logits (N, C) and integer targets (N,) -> (loss per row (N,), softmax - onehot (N, C)).

    One pass: the stable log-softmax gives both the loss and, exponentiated, the gradient. Rows whose
    target is ignore_index get 0 loss and 0 gradient.
    """
    if _parallel.takes(logits) and logits.ndim == 2 and logits.shape[1] > 0:
        return _parallel.kernels("elementwise").softmax_cross_entropy(np.ascontiguousarray(logits), targets,
                                                                      int(ignore_index))
    logp = log_softmax(logits, axis=1)
    rows = np.arange(logits.shape[0])
    valid = targets != ignore_index
    safe = np.where(valid, targets, 0)
    loss = -logp[rows, safe]
    grad = np.exp(logp, out=logp)
    grad[rows, safe] -= 1
    if not valid.all():
        loss[~valid] = 0
        grad[~valid] = 0
    return loss, grad


def check_targets(op, targets, num_classes, ignore_index):
    """Class-index targets must lie in [0, num_classes) unless equal to ignore_index."""
    bad = (targets != ignore_index) & ((targets < 0) | (targets >= num_classes))
    if bad.any():
        from ..errors import ShapeError

        raise ShapeError(f"{op}: target {int(targets[bad][0])} is out of range for {num_classes} classes")


# --- convolution and pooling: backends/cpu_conv.py ----------------------------------------------
from .cpu_attention import *  # noqa: E402,F401,F403  (attention, layer norm, embedding)
from .cpu_conv import *  # noqa: E402,F401,F403  (conv and pooling primitives)
from .cpu_conv import conv2d_forward as _conv2d_forward  # noqa: E402


def conv2d_forward(x, w, stride, padding, dilation, groups, return_columns=False):
    """cpu_conv.conv2d_forward; float16/bfloat16 in float32 (the columns it returns stay float32)."""
    low = _low_dtype((x, w))
    if low is None:
        return _conv2d_forward(x, w, stride, padding, dilation, groups, return_columns)
    out = _conv2d_forward(_to_float32(x), _to_float32(w), stride, padding, dilation, groups, return_columns)
    return (_rounded(out[0], low), out[1]) if return_columns else _rounded(out, low)


# The GEMMs (float16 and bfloat16 have no BLAS; matmul does it inline) and the activations, pools and softmaxes
# whose half-precision NumPy loops measured slower than a float32 round trip (bench/bench_amp.py); NumPy's
# float16 relu and tanh measured faster than the round trip, so only bfloat16 takes it for those two.
for _name in ("linear", "conv2d_backward_weight", "conv2d_backward_input",
              "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward", "tanh", "gelu", "gelu_backward",
              "softmax", "log_softmax", "softmax_cross_entropy", "max_pool2d_forward", "max_pool2d_backward",
              "avg_pool2d_forward", "avg_pool2d_backward", "layer_norm_forward", "layer_norm_backward"):
    globals()[_name] = computed_in_float32(globals()[_name], _LOW_FLOATS[1:] if _name == "tanh" else
                                           _LOW_FLOATS)
del _name


def _flat_views(*arrays):
    """1-D views of C-contiguous arrays of one float dtype and size that the kernels take, else None."""
    a0 = arrays[0]
    if not _parallel.takes(a0) or any(a.dtype != a0.dtype or a.size != a0.size or not a.flags.c_contiguous
                                      for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


def adam_update(xp_, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, **kw):
    """One Adam/AdamW step in place (tensorcore.optim.adam.adam_update): one fused pass on large arrays."""
    from ..optim.optimizer import FLUSH_EVERY

    flat = _flat_views(param, grad, exp_avg, exp_avg_sq, *((max_exp_avg_sq,) if kw["amsgrad"] else ()))
    if flat is None:
        from ..optim.adam import adam_update as numpy_adam

        return numpy_adam(xp_, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, **kw)
    flat += [None] * (5 - len(flat))
    _parallel.kernels("optim").adam_update(*flat, flush=kw["step"] % FLUSH_EVERY == 0, **kw)


def sgd_update(xp_, param, grad, momentum_buffer, **kw):
    """One SGD step in place (tensorcore.optim.sgd.sgd_update): one fused pass on large arrays."""
    from ..optim.optimizer import FLUSH_EVERY

    flat = _flat_views(param, grad, *(() if momentum_buffer is None else (momentum_buffer,)))
    if flat is None:
        from ..optim.sgd import sgd_update as numpy_sgd

        return numpy_sgd(xp_, param, grad, momentum_buffer, **kw)
    buf = _parallel.kernels("optim").sgd_update(flat[0], flat[1], flat[2] if len(flat) > 2 else None,
                                                flush=kw["step"] % FLUSH_EVERY == 0, **kw)
    return momentum_buffer if momentum_buffer is not None else (None if buf is None else buf.reshape(param.shape))
