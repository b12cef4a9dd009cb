"""tensorcore: a small, fast, readable deep-learning engine.

A tape-based reverse-mode autograd Tensor on NumPy (CPU) and CuPy + Numba CUDA kernels (GPU).

Example:
    import tensorcore as tc
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad          # tensor([2., 4., 6.])
"""

from . import backends, cuda, linalg, ops, return_types  # noqa: E402
from .autograd import (
    Function,
    detect_anomaly,
    enable_grad,
    grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .backends.cpu_parallel import get_num_threads, set_num_threads
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .device import Device, device, get_default_device, set_default_device
from .dtypes import (
    as_dtype,
    bool_,
    channels_last,
    contiguous_format,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    preserve_format,
    promote_types,
    result_type,
    set_default_dtype,
    strided,
    uint8,
)
from .errors import (
    AnomalyError,
    ArgumentError,
    DeviceError,
    DTypeError,
    GradcheckError,
    GradientError,
    IndexingError,
    OutOfMemoryError,
    ShapeError,
    TensorcoreError,
)
from .gradcheck import gradcheck, gradgradcheck
from .ops.activations import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh
from .ops.arithmetic import add, div, divide, mul, multiply, neg, negative, pow, rsub, sub, subtract, true_divide
from .ops.binary_math import (
    atan2,
    copysign,
    float_power,
    fmax,
    fmin,
    heaviside,
    hypot,
    lerp,
    logaddexp,
    logaddexp2,
    nextafter,
    xlogy,
)
from .ops.blocks import block_diag, cartesian_prod, diagflat, tril_indices, triu_indices
from .ops.compare import (
    clamp,
    clamp_max,
    clamp_min,
    clip,
    eq,
    ge,
    gt,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    ne,
    sign,
)
from .ops.copies import (
    alias_copy,
    diagonal_copy,
    expand_copy,
    histogram,
    nonzero_static,
    permute_copy,
    renorm,
    split_with_sizes,
    squeeze_copy,
    t_copy,
    transpose_copy,
    trapz,
    unbind_copy,
    unfold_copy,
    unsafe_chunk,
    unsafe_split,
    unsqueeze_copy,
    view_copy,
)
from .ops.embed import diagonal_scatter, index_reduce, put, select_scatter, slice_scatter
from .ops.gather import gather, scatter, scatter_add, scatter_reduce, take, take_along_dim
from .ops.index import getitem, index_add, index_copy, index_fill, index_put, index_select
from .ops.joins import (
    cat,
    chunk,
    concat,
    concatenate,
    dsplit,
    hsplit,
    narrow,
    ravel,
    select,
    split,
    stack,
    tensor_split,
    unbind,
    vsplit,
)
from .ops.layout import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_tensors,
    column_stack,
    diag,
    diag_embed,
    diagonal,
    dstack,
    flip,
    fliplr,
    flipud,
    hstack,
    meshgrid,
    repeat,
    repeat_interleave,
    roll,
    rot90,
    tile,
    tril,
    triu,
    vstack,
)
from .ops.logic import (
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
)
from .ops.masked import argwhere, masked_fill, masked_scatter, masked_select, nonzero, where
from .ops.matmul import linear, matmul
from .ops.nn import log_softmax, softmax
from .ops.piecewise_activations import hardshrink, prelu, rrelu, threshold
from .ops.reduce import (
    all,
    amax,
    amin,
    aminmax,
    any,
    argmax,
    argmin,
    count_nonzero,
    logsumexp,
    max,
    mean,
    min,
    nanmean,
    nansum,
    prod,
    sum,
)
from .ops.rounding import ceil, fix, floor, floor_divide, fmod, frac, remainder, round, sgn, trunc
from .ops.scan import cummax, cummin, cumprod, cumsum, diff, logcumsumexp
from .ops.series import (
    broadcast_shapes,
    combinations,
    corrcoef,
    cov,
    cumulative_trapezoid,
    dist,
    histc,
    narrow_copy,
    row_stack,
    trapezoid,
    unravel_index,
)
from .ops.shape import (
    broadcast_to,
    contiguous,
    expand,
    expand_as,
    expand_dims,
    flatten,
    moveaxis,
    movedim,
    pad,
    permute,
    reshape,
    reshape_as,
    squeeze,
    swapaxes,
    swapdims,
    t,
    transpose,
    unflatten,
    unsqueeze,
    view_as,
)
from .ops.smooth_activations import celu, selu
from .ops.sort import (
    argsort,
    bincount,
    bucketize,
    isin,
    kthvalue,
    median,
    mode,
    msort,
    nanmedian,
    searchsorted,
    sort,
    topk,
    unique,
    unique_consecutive,
)
from .ops.stats import nanquantile, norm, quantile, std, std_mean, var, var_mean
from .ops.unary import abs, cos, erf, exp, log, log1p, sin, sqrt
from .ops.unary_math import (
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    asin,
    asinh,
    atan,
    atanh,
    cosh,
    deg2rad,
    exp2,
    expm1,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    log2,
    log10,
    logit,
    nan_to_num,
    positive,
    rad2deg,
    reciprocal,
    rsqrt,
    signbit,
    sinc,
    sinh,
    square,
    tan,
)
from .random import Generator, get_rng_state, manual_seed, set_rng_state

from .tensor import Size, Tensor, is_floating_point, is_tensor, numel, tensor  # isort: skip
from . import accelerator, sampling  # noqa: E402, I001  (after tensor: they attach Tensor methods)
from .sampling import bernoulli, multinomial, normal, randperm  # noqa: E402, I001
from .creation import fill, logspace, randint_like, scalar_tensor  # noqa: E402, I001
from .ops.binary_math import addcdiv, addcmul, gcd, lcm, ldexp  # noqa: E402, I001
from .ops.logic import allclose, equal, isclose  # noqa: E402, I001
from .ops.unary_math import angle, conj, conj_physical, real, resolve_conj, resolve_neg  # noqa: E402, I001
from .ops.special_math import digamma, erfc, erfinv, frexp, lgamma, mvlgamma, polygamma  # noqa: E402, I001
from . import special  # noqa: E402, I001
from . import data  # noqa: E402  (after tensor: data imports it)
from .serialization import load, save
from .ops.products import (  # noqa: E402, I001  (linear algebra products, torch's names)
    addbmm,
    addmm,
    addmv,
    baddbmm,
    bmm,
    cdist,
    cross,
    dot,
    einsum,
    ger,
    kron,
    mm,
    mv,
    outer,
    tensordot,
    trace,
    vdot,
)
from .ops.decompositions import det, matrix_power, slogdet  # noqa: E402, I001
from .ops.decompositions import inv as inverse  # noqa: E402, I001
from .ops.svd_qr import pinv as _pinv  # noqa: E402, I001  (also attaches Tensor.inverse/slogdet/pinverse)
from .ops.strided import as_strided, as_strided_copy, as_strided_scatter  # noqa: E402, I001  (+ Tensor.resize_)
from .ops.linalg_more import (  # noqa: E402, I001  (+ Tensor.cholesky/svd/qr: torch's old API)
    addr, cholesky, cholesky_inverse, cholesky_solve, inner, logdet, matrix_exp, qr, svd, triangular_solve,
)
from .ops.numeric import constant_pad_nd, gradient, split_with_sizes_copy  # noqa: E402, I001
from .ops.bessel import i0  # noqa: E402, I001

from .torch_names import (  # noqa: E402, I001  (also attaches Tensor.type_as, is_cpu, nbytes, addcmul_, ...)
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor,
    are_deterministic_algorithms_enabled, as_tensor, asarray, clone, compile, detach, dtype, e,
    get_float32_matmul_precision, greater, greater_equal, iinfo, inf, initial_seed, is_inference_mode_enabled, less,
    less_equal, nan, newaxis, not_equal, pi, seed, set_float32_matmul_precision, use_deterministic_algorithms,
    get_printoptions, set_printoptions,
)

from . import torch_names as _torch_names  # noqa: E402, I001

for _name in _torch_names.TORCH_FUNCTIONAL_NAMES:  # torch.conv2d, torch.dropout, torch.relu_ ... (kept if defined)
    if _name not in globals():
        globals()[_name] = getattr(_torch_names, _name)
from .ops.igamma import igamma, igammac  # noqa: E402, I001
from . import torch_inplace as _torch_inplace  # noqa: E402, I001  (torch.acos_, dropout_ ...; Tensor.addmv_ ...)
from . import torch_top as _torch_top, torch_top_nn as _torch_top_nn, torch_windows as _torch_windows  # noqa: E402, I001
from . import torch_top_linalg as _torch_top_linalg  # noqa: E402, I001  (torch.lu, chain_matmul ...; Tensor.lu)
from . import spectral as _spectral  # noqa: E402, I001  (torch.stft / istft, real layout; Tensor.stft / istft)
from . import torch_top_more as _torch_top_more, version  # noqa: E402, F401, I001  (torch.cond, select_copy ...)
from . import torch_methods as _torch_methods  # noqa: E402, F401, I001  (Tensor.adjoint, apply_, resize, is_sparse, layout ...)

# torch's top-level names that only compose tensorcore's (kept if defined)
for _module in (_torch_inplace, _torch_top, _torch_top_nn, _torch_top_linalg, _torch_windows, _spectral,
                _torch_top_more):
    for _name in _module.EXPORTS:
        globals().setdefault(_name, getattr(_module, _name))
from . import autograd as _autograd_module  # noqa: E402, I001
from . import autograd_compat as _autograd_compat  # noqa: E402, I001

# torch.autograd's user-facing names, added to tc.autograd: functional.jacobian/hessian/..., Variable, gradcheck,
# grad with torch's whole signature (only_inputs, materialize_grads; tc.grad stays the engine's).
for _name in ("functional", "Variable", "once_differentiable", "FunctionCtx", "grad"):
    setattr(_autograd_module, _name, getattr(_autograd_compat, _name))
_autograd_module.gradcheck, _autograd_module.gradgradcheck = gradcheck, gradgradcheck
from . import autograd_extra as _autograd_extra  # noqa: E402, I001  (autograd.forward_ad/function/variable ...)

_autograd_extra.install(_autograd_module, __name__)
__import__("sys").modules[__name__ + ".autograd.functional"] = _autograd_compat.functional
from . import profiler as _profiler  # noqa: E402, I001  (torch.autograd.profiler: profile, record_function)

_autograd_module.profiler = _profiler.autograd_profiler
__import__("sys").modules[__name__ + ".autograd.profiler"] = _profiler.autograd_profiler
del _name
from . import out_arg as _out_arg  # noqa: E402, I001  (torch.matmul(a, b, out=y), torch.add(x, y, out=r) ...)

_out_arg.install(globals())

bool = bool_
# PyTorch's dtype names (NumPy dtypes: x.dtype == tc.float32 holds, and they print as float32).
float, double, half, long, int, short = float32, float64, float16, int64, int32, int16
__version__ = "0.1.0"

# These subpackages load on first use, so `import tensorcore` stays fast.
_LAZY_SUBMODULES = ("nn", "optim", "keras", "models", "utils", "cpu", "signal", "fft", "masked", "testing",
                    "distributions", "func", "jit", "profiler")
# torch.autocast, torch.GradScaler, torch.is_autocast_enabled ...: tc.amp's, loaded on first use.
_AMP_NAMES = ("autocast", "GradScaler", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype")


def __getattr__(name):
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _AMP_NAMES:
        return getattr(importlib.import_module(f"{__name__}.amp"), name)
    if name == "vmap":  # torch.vmap is torch.func.vmap
        return importlib.import_module(f"{__name__}.func").vmap
    if name == "bfloat16":  # ml_dtypes loads on first use (its extension takes longer than the rest of the import)
        from .dtypes import bfloat16_dtype

        return bfloat16_dtype()
    if name in _UNSUPPORTED_DTYPES:
        raise AttributeError(f"module 'tensorcore' has no attribute {name!r}: tensorcore has no {name} dtype "
                             "(NumPy arrays hold its tensors: bool, integer, float16, bfloat16, float32, "
                             "float64 only)")
    raise AttributeError(f"module 'tensorcore' has no attribute {name!r}")


_UNSUPPORTED_DTYPES = ("complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf", "uint16", "uint32",
                       "uint64", "float8_e4m3fn", "float8_e5m2", "quint8", "qint8", "qint32")

# NumPy's floating-point warnings from inside tensorcore's ops (log(0) = -inf, x / 0, overflow to inf): PyTorch
# gives the same values silently. (A filter costs nothing until a warning is raised; the user's own NumPy calls
# still warn.)
import warnings as _warnings  # noqa: E402

_warnings.filterwarnings("ignore", message=r".*encountered in ", category=RuntimeWarning, module=r"tensorcore(\.|$)")
