"""The cuda backend: CuPy arrays, our Numba kernels (tensorcore.kernels) for the heavy primitives.

It implements the same primitive table as backends/cpu.py (tests/test_backends.py checks the
names). Elementwise math without a custom kernel stays `xp`-generic in the ops (`xp` is CuPy).

The simulated device: with TENSORCORE_CUDA_SIM=1 and NUMBA_ENABLE_CUDASIM=1, `cuda` exists on a
machine without a GPU. Arrays are NumPy arrays and the kernels run in Numba's CUDA simulator, so
CI exercises exactly this dispatch. `tc.cuda.is_simulated()` says which mode is on.

Switches for benchmarks and checks (module attributes, read on every call):
    tc.backends.cuda.gemm = "numba" | "cublas"     # our GEMM kernel, or CuPy's matmul (cuBLAS)
    tc.backends.cuda.attention = "numba" | "cupy"  # our attention, layer_norm and embedding kernels, or CuPy ops
    tc.backends.cuda.conv = "implicit" | "im2col"  # conv forward and both grads: implicit GEMM, or im2col + GEMM
The primitive itself is named `matmul`, like every backend's, so the switch is named `gemm`.

Host transfers are explicit and counted (`transfers`): `to_numpy` is the only way data leaves the
device, and a training step never calls it (tests/test_cuda_device.py counts).
"""

import functools
import os

import numpy as np

from ..errors import ArgumentError, DeviceError, ShapeError
from .cuda_half import float32_compute, half_loss, sequence_dtypes_match

name = "cuda"
simulated = os.environ.get("TENSORCORE_CUDA_SIM", "") == "1"
gemm = "numba"
attention = "numba"
conv = "implicit"

#: Host <-> device copies made through this backend (tests count them).
transfers = {"to_host": 0, "to_device": 0}

_unavailable = None
if simulated:
    xp = np
    _array_type = np.ndarray
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "") != "1":
        _unavailable = ("TENSORCORE_CUDA_SIM=1 needs NUMBA_ENABLE_CUDASIM=1 too (set both before starting "
                        "Python: the simulator must be on before numba is imported)")
else:
    try:
        import cupy as xp

        _array_type = xp.ndarray
    except ImportError as e:  # no CuPy: the device is unavailable, with the reason
        xp = None
        _array_type = ()
        _unavailable = (f"CuPy is not installed ({e}); install tensorcore[cuda], or set TENSORCORE_CUDA_SIM=1 "
                        "and NUMBA_ENABLE_CUDASIM=1 for the simulated device")


def device_count():
    if _unavailable is not None:
        return 0
    if simulated:
        return 1
    try:
        return xp.cuda.runtime.getDeviceCount()
    except Exception:  # no driver / no device
        return 0


def unavailable_reason():
    """Why cuda cannot be used here, or None when it can."""
    if _unavailable is not None:
        return _unavailable
    if simulated:
        return None
    from ..cuda import _diagnose_once  # no driver, a driver too old for CuPy's CUDA, or no GPU

    return _diagnose_once(xp)


def check_device(index):
    """Raise DeviceError unless cuda:index can be used."""
    reason = unavailable_reason()
    if reason is not None:
        raise DeviceError(f"cuda:{index} is not available: {reason}")
    if index >= device_count():
        raise DeviceError(f"cuda:{index} is not available: only {device_count()} device(s)")


def _kernels(family):
    """tensorcore.kernels.<family>, imported on first use (it imports numba.cuda)."""
    import importlib

    return importlib.import_module(f"tensorcore.kernels.{family}")


def _oom_guard(fn):
    """A CUDA out-of-memory error becomes a DeviceError naming the primitive and the sizes asked for."""
    if simulated:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except xp.cuda.memory.OutOfMemoryError as e:
            shapes = ", ".join(str(tuple(a.shape)) for a in args if hasattr(a, "shape"))
            raise DeviceError(f"{fn.__name__}: CUDA out of memory (inputs {shapes}): {e}") from None

    return wrapper


def _contiguous(a):
    """C-contiguous (a copy only when needed). # NOTE: Numba's simulator copies every NumPy argument
    back after a launch, so read-only views (broadcasts) are copied there too."""
    if not a.flags.c_contiguous or (simulated and not a.flags.writeable):
        return xp.array(a, order="C", copy=True)
    return a


# --- storage ---------------------------------------------------------------------------------------------


def asarray(data, dtype=None):
    """Device array of `dtype` from a device array (no copy when it can) or host data (one copy)."""
    if isinstance(data, _array_type) and not simulated:
        return xp.asarray(data, dtype=dtype)
    if not simulated:
        transfers["to_device"] += 1
    return xp.asarray(data, dtype=dtype)


def to_numpy(a):
    """A NumPy copy on the host: the one, explicit, counted way out of the device."""
    transfers["to_host"] += 1
    return a.copy() if simulated else xp.asnumpy(a)


def from_host(a, copy=True):
    """A NumPy array copied onto the device (always a copy: the host and the device never share memory)."""
    transfers["to_device"] += 1
    return np.array(a, copy=True) if simulated else xp.asarray(a)


def sum(x, axes, keepdims):
    """x summed over `axes` (a tuple)."""
    return x.sum(axis=axes, keepdims=keepdims)


def erf(x):
    if simulated:
        from .cpu import erf as cpu_erf

        return cpu_erf(x)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(x)


# --- matmul ----------------------------------------------------------------------------------------------


def _gemm_operand(a):
    """A 2-D/3-D operand for the GEMM kernel: C-contiguous as is, or a transposed view passed with
    the transpose flag (so `g.T @ x` in linear's backward copies nothing)."""
    if a.flags.c_contiguous:
        return a, False
    t = a.swapaxes(-1, -2)
    if t.flags.c_contiguous:
        return t, True
    return xp.ascontiguousarray(a), False


@_oom_guard
def matmul(a, b):
    """NumPy matmul semantics; 2-D and batched products run on our GEMM kernel (or cuBLAS)."""
    if gemm == "cublas" or a.dtype != b.dtype or a.dtype.kind != "f":
        return xp.matmul(a, b)
    if a.ndim == 1 or b.ndim == 1:  # promote like NumPy, multiply, drop the added axis
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        out = matmul(a2, b2)
        return out[..., 0, :] if a.ndim == 1 and b.ndim > 1 else (out[..., 0] if b.ndim == 1 and a.ndim > 1
                                                                    else out[..., 0, 0])
    k = _kernels("gemm_f16" if a.dtype == np.float16 else "gemm")  # float16: float32 accumulation
    if a.ndim == 2 and b.ndim == 2:
        a2, ta = _gemm_operand(a)
        b2, tb = _gemm_operand(b)
        return k.matmul(a2, b2, trans_a=ta, trans_b=tb)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = a if a.ndim == 2 else xp.broadcast_to(a, batch + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
    b3 = b if b.ndim == 2 else xp.broadcast_to(b, batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    # a 2-D operand is shared by every batch entry inside the kernel (no copy)
    out = k.matmul(_contiguous(a3), _contiguous(b3))
    return out.reshape(batch + out.shape[-2:])


@_oom_guard
def linear(x, w, b=None, activation=None):
    """y = act(x @ w.T + b) in one GEMM launch: the bias and the activation (None, "relu" or "gelu",
    erf form) fused into its epilogue (float16: our activation kernel runs after, in place)."""
    if activation not in (None, "relu", "gelu"):
        raise ArgumentError(f"linear: activation must be None, 'relu' or 'gelu', got {activation!r}")
    fused = gemm != "cublas" and x.dtype == w.dtype and x.dtype.kind == "f" and x.dtype != np.float16
    if gemm == "cublas" or x.dtype != w.dtype:
        y = xp.matmul(x, w.T)
        if b is not None:
            y += b
    else:
        lead = x.shape[:-1]
        x2 = _contiguous(x.reshape(-1, x.shape[-1]))
        k = _kernels("gemm_f16" if x.dtype == np.float16 else "gemm")  # float16: float32 accumulation
        y = k.matmul(x2, _contiguous(w), bias=None if b is None else _contiguous(b), trans_b=True,
                     **({"activation": activation} if fused else {}))
        y = y.reshape(lead + (w.shape[0],))
    if activation is not None and not fused and y.dtype == np.float16:  # our float16 kernel, in place
        y = _kernels("activations").relu(y, out=y) if activation == "relu" else _kernels("activations").gelu(y, out=y)
    elif activation == "relu" and not fused:
        y = xp.where(y < 0, xp.zeros((), y.dtype), y)  # NOTE: keeps NaN as NaN, as the kernel does
    elif activation == "gelu" and not fused:
        y = 0.5 * y * (1 + erf(y / np.sqrt(2.0)))
    return y


# --- activations -----------------------------------------------------------------------------------------


def _activation(fn_name, *arrays, **kw):
    arrays = [_contiguous(a) for a in arrays]
    return getattr(_kernels("activations"), fn_name)(*arrays, **kw)


@_oom_guard
def lrn_fused(x):
    """local_response_norm keeps its composite of tensor ops here (no fused kernel)."""
    return False


def relu(x):
    return _activation("relu", x)


@_oom_guard
def relu_backward(x, g):
    return _activation("relu_backward", x, g)


@_oom_guard
def leaky_relu(x, negative_slope):
    return _activation("leaky_relu", x, negative_slope=negative_slope)


@_oom_guard
def leaky_relu_backward(x, g, negative_slope):
    return _activation("leaky_relu_backward", x, g, negative_slope=negative_slope)


@_oom_guard
def sigmoid(x):
    return _activation("sigmoid", x)


@_oom_guard
def sigmoid_backward(y, g):
    """g * y * (1 - y) from the forward's output y = sigmoid(x), in one kernel."""
    return _activation("sigmoid_backward_from_output", y, g)


@_oom_guard
def tanh(x):
    return _activation("tanh", x)


@_oom_guard
def gelu(x, approximate="none"):
    return _activation("gelu", x, approximate=approximate)


@_oom_guard
def gelu_backward(x, g, approximate="none"):
    return _activation("gelu_backward", x, g, approximate=approximate)


# --- softmax family ------------------------------------------------------------------------------------------


def _rows(x, axis):
    """Move `axis` last and flatten the rest: the kernels work on rows."""
    moved = xp.moveaxis(x, axis, -1)
    return _contiguous(moved).reshape(-1, x.shape[axis]), moved.shape


@_oom_guard
def softmax(x, axis=-1):
    rows, shape = _rows(x, axis)
    return xp.moveaxis(_kernels("softmax").softmax(rows).reshape(shape), -1, axis)


@_oom_guard
def log_softmax(x, axis=-1):
    rows, shape = _rows(x, axis)
    return xp.moveaxis(_kernels("softmax").log_softmax(rows).reshape(shape), -1, axis)


@_oom_guard
def softmax_cross_entropy(logits, targets, ignore_index=-100):
    """(loss per row, softmax - onehot) in one fused kernel; ignored rows get 0 loss and 0 gradient.

    # NOTE: out-of-range targets are not checked on the host (that would synchronize): the kernel
    # gives them a NaN loss, which anomaly mode reports.
    """
    loss, grad = _kernels("softmax").softmax_cross_entropy(_contiguous(logits), _contiguous(targets),
                                                           ignore_index=ignore_index)
    return half_loss(loss, logits), grad


@_oom_guard
def softmax_cross_entropy_reduced(logits, targets, ignore_index=-100):
    """``(loss per row, softmax - onehot, stats)`` from one kernel, ``stats = (sum of the non-ignored rows'
    losses, their count, sum / count, max(count, 1))`` reduced inside it (kernels/_ce_f16.py): no reduction
    ops after it."""
    loss, grad, stats = _kernels("softmax").softmax_cross_entropy(_contiguous(logits), _contiguous(targets),
                                                                  ignore_index=ignore_index, return_stats=True)
    return half_loss(loss, logits), grad, stats


def check_targets(op, targets, num_classes, ignore_index):
    """Nothing on the device: range checks would cost a host synchronization (see above)."""


# --- convolution and pooling ------------------------------------------------------------------------------------


@functools.cache
def _widened(fn):
    """``fn`` (an im2col-path kernel wrapper, float32/float64 only) taking float16 through float32 copies."""
    return float32_compute(fn)


@_oom_guard
def conv2d_forward(x, w, stride, padding, dilation, groups, return_columns=False):
    """Convolution through our implicit-GEMM kernel (float16 as it is; or im2col + GEMM, by the `conv` switch);
    no column matrix is kept (columns=None)."""
    if conv == "implicit":
        run = _kernels("conv_implicit").conv2d_forward
    else:
        run = _widened(_kernels("conv").conv2d_forward)
    out = run(_contiguous(x), _contiguous(w), stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (out, None) if return_columns else out


@_oom_guard
def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    # NOTE: conv_transpose2d with output_padding >= stride asks for an x_shape whose conv2d output is larger
    # than g; the missing trailing rows and columns of g are zeros (they reach no output), so pad them in.
    full = [(x_shape[2 + a] + 2 * padding[a] - dilation[a] * (w.shape[2 + a] - 1) - 1) // stride[a] + 1
            for a in (0, 1)]
    if full[0] > g.shape[2] or full[1] > g.shape[3]:
        g = xp.pad(g, ((0, 0), (0, 0), (0, max(full[0] - g.shape[2], 0)), (0, max(full[1] - g.shape[3], 0))))
    implicit = conv == "implicit" and _kernels("conv_implicit_grad").input_grad_is_implicit(w.shape[1])
    if implicit:
        run = _kernels("conv_implicit").conv2d_backward_input
    else:
        run = _widened(_kernels("conv").conv2d_backward_input)
    return run(_contiguous(g), _contiguous(w), x_shape, stride=stride, padding=padding, dilation=dilation,
               groups=groups)


@_oom_guard
def conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups, columns=None):
    if conv == "implicit":
        run = _kernels("conv_implicit_grad").conv2d_backward_weight
    else:
        run = _widened(_kernels("conv").conv2d_backward_weight)
    return run(_contiguous(x), _contiguous(g), w_shape, stride=stride, padding=padding, dilation=dilation,
               groups=groups)


@_oom_guard
def max_pool2d_forward(x, kernel, stride, padding, dilation=(1, 1)):
    """Max pooling -> (out, indices as in the CPU backend: flat h * W + w per plane, int64)."""
    if tuple(dilation) != (1, 1):
        raise ShapeError(f"max_pool2d: dilation {tuple(dilation)} is not supported on cuda")
    out, argmax = _kernels("pool").max_pool2d_forward(_contiguous(x), kernel, stride, padding)
    return out, argmax.astype(np.int64)


@_oom_guard
def max_pool2d_backward(g, indices, x_shape, unique=False):
    """Scatter-add g into zeros(x_shape) at the per-plane flat indices (also max_unpool2d's forward)."""
    n, c, h, w = x_shape
    planes = n * c
    flat = (indices.reshape(planes, -1) + (xp.arange(planes) * (h * w))[:, None]).reshape(-1)
    out = xp.zeros(planes * h * w, dtype=g.dtype)
    if simulated:
        np.add.at(out, flat, g.reshape(-1))
    else:
        import cupyx

        cupyx.scatter_add(out, flat, g.reshape(-1))
    return out.reshape(x_shape)


@_oom_guard
def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True):
    return _kernels("pool").avg_pool2d_forward(_contiguous(x), kernel, stride, padding,
                                               count_include_pad=count_include_pad)


@_oom_guard
def avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad=True):
    return _kernels("pool").avg_pool2d_backward(_contiguous(g), x_shape, kernel, stride, padding,
                                                count_include_pad=count_include_pad)


# --- optimizer ---------------------------------------------------------------------------------------------------


@_oom_guard
def adam_update(xp_, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, *, step, lr, beta1, beta2, eps,
                weight_decay, amsgrad, maximize, decoupled_weight_decay):
    """One fused Adam/AdamW step in place on param and the moments: one kernel launch per parameter.

    Same signature as tensorcore.optim.adam.adam_update; amsgrad and maximize take that generic path.
    """
    if amsgrad or maximize or param.dtype.kind != "f":
        from ..optim.adam import adam_update as generic

        return generic(xp_, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, step=step, lr=lr,
                       beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                       maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
    _kernels("optim").adam_update(param, _contiguous(grad), exp_avg, exp_avg_sq, lr, beta1=beta1, beta2=beta2,
                                  eps=eps, weight_decay=weight_decay, step=step, decoupled=decoupled_weight_decay)
    return param


@_oom_guard
def sgd_update(xp_, param, grad, momentum_buffer, *, step, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """One fused SGD step in place (one kernel launch); same signature and result as tensorcore.optim.sgd's."""
    if param.dtype not in (np.float32, np.float64) or not param.flags.c_contiguous:
        from ..optim.sgd import sgd_update as generic

        return generic(xp_, param, grad, momentum_buffer, step=step, lr=lr, momentum=momentum, dampening=dampening,
                       weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
    first = momentum_buffer is None or step == 1
    if momentum and momentum_buffer is None:
        momentum_buffer = xp.empty_like(param)
    _kernels("optim").sgd_update(param, _contiguous(grad).astype(param.dtype, copy=False), momentum_buffer, lr,
                                 momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                                 maximize=maximize, first=first)
    return momentum_buffer


# --- sequence models: attention, layer norm, embedding (kernels/attention.py, layernorm.py, embedding.py) ----------
# Same signatures and semantics as backends/cpu_attention.py (documented there); with the switch
# `attention = "cupy"`, or where a kernel does not apply, the very same xp code runs with CuPy.


def _sequence_kernels(*arrays, dtypes=("float32", "float64")):
    """True when our kernels take these arrays (the switch is on and every dtype is supported)."""
    return attention == "numba" and all(a is None or a.dtype.name in dtypes for a in arrays)


def _attention_mask(mask, lead, L, S):
    """``(mask4, heads)`` for the kernel: ``mask`` (broadcastable to lead + (L, S)) as a float32 4-D
    ``(MB, MH, ML, MS)`` over batch-heads ``z = b * heads + h``; copied to full size only when its
    broadcast pattern over the leading axes is not "outer axes, inner axes"."""
    if mask is None:
        return None, 1
    if mask.dtype == np.bool_:
        mask = xp.where(mask, 0.0, -np.inf)
    mask = mask.astype(np.float32, copy=False)
    mask = mask.reshape((1,) * (len(lead) + 2 - mask.ndim) + mask.shape)
    tail = mask.shape[-2:]
    for split in range(len(lead) + 1):
        outer, inner = mask.shape[:split], mask.shape[split:len(lead)]
        o_full, i_full = outer == lead[:split], inner == lead[split:]
        if (o_full or all(d == 1 for d in outer)) and (i_full or all(d == 1 for d in inner)):
            mb = int(np.prod(outer)) if o_full else 1
            mh = int(np.prod(inner)) if i_full else 1
            return _contiguous(mask.reshape((mb, mh) + tail)), int(np.prod(lead[split:]))
    full = xp.broadcast_to(mask, tuple(lead) + tail)
    return _contiguous(full.reshape((int(np.prod(lead)), 1) + tail)), 1


def _attention_operands(q, k, v, mask):
    lead, L, S = q.shape[:-2], q.shape[-2], k.shape[-2]
    bh = int(np.prod(lead))
    q3, k3, v3 = (_contiguous(a.reshape((bh,) + a.shape[-2:])) for a in (q, k, v))
    mask4, heads = _attention_mask(mask, lead, L, S)
    return lead, bh, q3, k3, v3, mask4, heads


def _attention_kernels_take(q, k, v):
    return (_sequence_kernels(q, k, v, dtypes=("float32", "float16")) and q.dtype == k.dtype == v.dtype
            and max(q.shape[-1], v.shape[-1]) <= 128
            and q.ndim >= 2 and q.shape[:-2] == k.shape[:-2] == v.shape[:-2])


@_oom_guard
def attention_forward(q, k, v, mask, is_causal, scale):
    """``(out, lse)`` of softmax(scale q k^T + mask) v: our fused kernel for float32 or float16 (float32
    arithmetic and lse) with head dimensions <= 128, else CuPy ops. Arguments and results as
    backends/cpu_attention.py."""
    from .cpu_attention import attention_forward_xp

    if not _attention_kernels_take(q, k, v):
        return attention_forward_xp(xp, q, k, v, mask, is_causal, scale)
    lead, bh, q3, k3, v3, mask4, heads = _attention_operands(q, k, v, mask)
    out, lse = _kernels("attention").attention_forward(q3, k3, v3, mask4, is_causal, scale, heads=heads)
    return out.reshape(tuple(lead) + out.shape[-2:]), lse.reshape(tuple(lead) + (q.shape[-2],))


@_oom_guard
def attention_backward(q, k, v, out, lse, dout, mask, is_causal, scale):
    """``(dq, dk, dv)`` from the forward's ``out`` and ``lse``: our dq and dk/dv kernels (p recomputed
    tile by tile), or CuPy ops. Arguments and results as backends/cpu_attention.py."""
    from .cpu_attention import attention_backward_xp

    if (not _attention_kernels_take(q, k, v) or out.dtype != q.dtype or dout.dtype != q.dtype
            or lse.dtype != np.float32):
        return attention_backward_xp(xp, q, k, v, out, lse, dout, mask, is_causal, scale)
    lead, bh, q3, k3, v3, mask4, heads = _attention_operands(q, k, v, mask)
    o3, g3 = (_contiguous(a.reshape((bh,) + a.shape[-2:])) for a in (out, dout))
    l2 = _contiguous(lse.reshape(bh, q.shape[-2]))
    grads = _kernels("attention").attention_backward(q3, k3, v3, o3, l2, g3, mask4, is_causal, scale, heads=heads)
    return tuple(g.reshape(a.shape) for g, a in zip(grads, (q, k, v)))


_LN_DTYPES = ("float32", "float64", "float16")  # float16: float32 mean/rstd (kernels/layernorm.py)


@_oom_guard
def layer_norm_forward(x2d, weight, bias, eps):
    """``(y, mean, rstd)`` per row of ``x2d (R, C)``: our row kernel (float32/float64/float16, whose mean and rstd
    are float32), or CuPy."""
    from .cpu_attention import layer_norm_forward_xp

    if not _sequence_kernels(x2d, weight, bias, dtypes=_LN_DTYPES) or not sequence_dtypes_match(x2d, weight, bias):
        return layer_norm_forward_xp(xp, x2d, weight, bias, eps)
    w, b = (None if a is None else _contiguous(a) for a in (weight, bias))
    return _kernels("layernorm").layer_norm_forward(_contiguous(x2d), w, b, eps=eps)


@_oom_guard
def layer_norm_backward(dy, x2d, weight, mean, rstd):
    """``(dx, dweight, dbias)`` (dweight None when weight is None): our row kernel plus a deterministic
    two-stage column reduction for dweight/dbias (no atomics), or CuPy."""
    from .cpu_attention import layer_norm_backward_xp

    arrays = (dy, x2d, weight, mean, rstd)
    if not _sequence_kernels(*arrays, dtypes=_LN_DTYPES) or not sequence_dtypes_match(dy, x2d, weight,
                                                                                       stats=(mean, rstd)):
        return layer_norm_backward_xp(xp, dy, x2d, weight, mean, rstd)
    dx, dw, db = _kernels("layernorm").layer_norm_backward(
        *(None if a is None else _contiguous(a) for a in arrays))
    return dx, (dw if weight is not None else None), db


def _flat_indices(idx):
    flat = idx.reshape(-1)
    return _contiguous(flat if flat.dtype.name in ("int32", "int64") else flat.astype(np.int64))


@_oom_guard
def embedding_forward(weight, idx):
    """``weight[idx]`` (shape ``idx.shape + (E,)``): our gather kernel, or CuPy's take.

    # NOTE: indices are not range-checked here (that would synchronize); out-of-range rows come out NaN.
    """
    if not _sequence_kernels(weight) or weight.ndim != 2:
        return xp.take(weight, idx, axis=0)
    out = _kernels("embedding").embedding_forward(_contiguous(weight), _flat_indices(idx))
    return out.reshape(tuple(idx.shape) + (weight.shape[1],))


@_oom_guard
def embedding_backward(dout, idx, num_embeddings, padding_idx):
    """``dweight (V, E)``, summing ``dout`` rows per index in increasing position (deterministic: sorted
    unique keys, one warp per output row, no atomics); row ``padding_idx`` zero. CuPy: scatter_add."""
    E = dout.shape[-1]
    if not _sequence_kernels(dout):
        dweight = xp.zeros((num_embeddings, E), dtype=dout.dtype)
        if simulated:
            np.add.at(dweight, idx.reshape(-1), dout.reshape(-1, E))
        else:
            import cupyx

            cupyx.scatter_add(dweight, idx.reshape(-1), dout.reshape(-1, E))
        if padding_idx is not None:
            dweight[padding_idx] = 0
        return dweight
    return _kernels("embedding").embedding_backward(_contiguous(dout.reshape(-1, E)), _flat_indices(idx),
                                                    num_embeddings, padding_idx)


from .torch_flags import install_cuda_flags  # noqa: E402  (torch.backends.cuda's flags: matmul.allow_tf32 ...)

install_cuda_flags(globals())
