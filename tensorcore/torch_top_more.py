"""More of torch's top-level names that compose tensorcore's: the *_copy view ops, adjoint, as_strided_, native_dropout,
norm_except_dim, max_pool1d_with_indices, convolution, cond, the build flags (has_lapack, ...), the deterministic
debug mode, get_device_module, default_generator, and the predicates that are False for every tensorcore tensor
(is_conj, is_neg, is_storage, is_distributed). Imported by tensorcore/__init__.py (EXPORTS)."""

import numpy as np

from .errors import ArgumentError, ShapeError
from .random import default_generator  # noqa: F401  (torch.default_generator)
from .tensor import Tensor, attach_method


def _tensor(name, value):
    if not isinstance(value, Tensor):
        raise ArgumentError(f"{name}(): argument 'input' must be a Tensor, not {type(value).__name__}")
    return value


# --- views and their copies -----------------------------------------------------------------------------------------
def adjoint(input):
    """The conjugate transpose of the last two dims (a view; real tensors: transpose(-2, -1))."""
    return _tensor("adjoint", input).adjoint()


def as_strided_(input, size, stride, storage_offset=None):
    """input becomes the as_strided view of its own storage (sizes, strides and offset change; values do not)."""
    from .ops.strided import as_strided

    view = as_strided(_tensor("as_strided_", input), size, stride, storage_offset)
    if input.requires_grad:
        raise ArgumentError(f"as_strided_: a tensor that requires grad (shape {tuple(input.shape)}) cannot change "
                            "its geometry in place; use as_strided()")
    input._data = view._data
    return input


def detach_copy(input):
    """input's values in new memory, outside the graph."""
    return _tensor("detach_copy", input).detach().clone()


def select_copy(input, dim, index):
    return _tensor("select_copy", input).select(dim, index).clone()


def slice_copy(input, dim=0, start=None, end=None, step=1):
    """input[start:end:step] along dim, in new memory."""
    _tensor("slice_copy", input)
    if step is None or step < 1:
        raise ArgumentError(f"slice_copy: slice step must be positive, got {step}")
    index = [slice(None)] * input.ndim
    index[dim] = slice(start, end, step)
    return input[tuple(index)].clone()


def split_copy(input, split_size, dim=0):
    return [piece.clone() for piece in _tensor("split_copy", input).split(split_size, dim)]


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """An uninitialized tensor of `size` whose dims lie in memory in the order physical_layout (outermost first)."""
    from .creation import empty

    size, order = tuple(int(s) for s in size), tuple(int(d) for d in physical_layout)
    if sorted(order) != list(range(len(size))):
        raise ArgumentError(f"empty_permuted: physical_layout {order} must be a permutation of the {len(size)} dims")
    physical = empty(*[size[d] for d in order], dtype=dtype, device=device)
    out = physical.permute(*np.argsort(order).tolist())
    return out.requires_grad_(True) if requires_grad else out


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) of the q largest singular values of A - M (A = U diag(S) V^T approximately). torch's is randomized
    (niter subspace iterations); this one is the exact truncated SVD, which torch's approximates."""
    from .linalg import svd

    _tensor("svd_lowrank", A)
    q = 6 if q is None else int(q)
    if A.ndim < 2 or not 0 < q <= min(A.shape[-2:]):
        raise ArgumentError(f"svd_lowrank: q={q} must be in [1, min(m, n)] for A of shape {tuple(A.shape)}")
    U, S, Vh = svd(A if M is None else A - M, full_matrices=False)
    return U[..., :q], S[..., :q], Vh.mT[..., :q]


def pca_lowrank(A, q=None, center=True, niter=2):
    """svd_lowrank of A with each column's mean removed (center=True); q defaults to min(6, m, n)."""
    _tensor("pca_lowrank", A)
    if A.ndim < 2:
        raise ShapeError(f"pca_lowrank: A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    q = min(6, *A.shape[-2:]) if q is None else q
    return svd_lowrank(A - A.mean(dim=-2, keepdim=True) if center else A, q, niter)


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """(hist, bin_edges) of the points input[..., :] in D dims: bins an int, D ints, or D 1-d edge tensors; range a
    flat (min_0, max_0, min_1, max_1, ...); weight one value per point; no gradient."""
    from .return_types import _make as _named
    from .tensor import tensor

    _tensor("histogramdd", input)
    if input.dtype.kind not in "fV" or input.ndim < 1:
        raise ArgumentError(f"histogramdd: expected a floating tensor of points (..., D), got {input.dtype} "
                            f"{tuple(input.shape)}")
    host = input.device.backend.to_numpy
    dims = input.shape[-1]
    points = host(input._data).reshape(-1, dims).astype(np.float64)
    if isinstance(bins, (int, np.integer)):
        bins = [int(bins)] * dims
    bins = [host(b._data).astype(np.float64) if isinstance(b, Tensor) else int(b) for b in bins]
    for d, b in enumerate(bins):
        if isinstance(b, np.ndarray) and (b.ndim != 1 or np.any(np.diff(b) < 0)):
            raise ArgumentError(f"histogramdd: the edges of dim {d} must be a 1-d increasing sequence, got "
                                f"{np.round(b, 4).tolist()}")
    if len(bins) != dims:
        raise ArgumentError(f"histogramdd: expected {dims} bin counts or edge tensors (one per dim), got {len(bins)}")
    if range is not None:
        if len(range) != 2 * dims:
            raise ArgumentError(f"histogramdd: range must have {2 * dims} values (min, max per dim), got {len(range)}")
        range = [(float(range[2 * i]), float(range[2 * i + 1])) for i in np.arange(dims)]
    weights = host(weight._data).reshape(-1).astype(np.float64) if weight is not None else None
    hist, edges = np.histogramdd(points, bins=bins, range=range, weights=weights, density=density)
    result = _named("histogramdd", "hist bin_edges")
    dev = input.device
    return result(tensor(hist.astype(input.dtype), device=dev),
                  tuple(tensor(e.astype(input.dtype), device=dev) for e in edges))


# --- nn pieces ------------------------------------------------------------------------------------------------------
def native_dropout(input, p, train):
    """(output, mask): dropout's output and the bool mask of the kept elements (all True when not training)."""
    from .random import _gen
    from .tensor import tensor

    _tensor("native_dropout", input)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ArgumentError(f"native_dropout: dropout probability has to be between 0 and 1, but got {p}")
    if not train:
        return input.clone(), tensor(np.ones(tuple(input.shape), bool), device=input.device)
    keep = _gen(None).random(tuple(input.shape)) >= p
    scale = np.where(keep, 1.0 / (1.0 - p) if p < 1 else 0.0, 0.0)
    return input * tensor(scale.astype(input.dtype), device=input.device), tensor(keep, device=input.device)


def norm_except_dim(v, pow=2, dim=0):
    """The pow-norm of v over every dim but dim (kept as size 1); dim=-1: over all of v (weight_norm's helper)."""
    _tensor("norm_except_dim", v)
    if dim == -1:
        return v.norm(pow)
    dims = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=dims, keepdim=True) if dims else v.abs()


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """(values, indices) of max_pool1d (stride () or None: kernel_size)."""
    from .nn import functional as F

    stride = None if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else stride
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """ATen's convolution: conv1d/2d/3d (or conv_transpose1d/2d/3d) by weight's dims, every argument required."""
    from .nn import functional as F

    if not isinstance(weight, Tensor) or weight.ndim not in (3, 4, 5):
        raise ShapeError(f"convolution: weight must be 3-d, 4-d or 5-d, got {getattr(weight, 'shape', weight)}")
    n = weight.ndim - 2
    if transposed:
        return getattr(F, f"conv_transpose{n}d")(input, weight, bias, tuple(stride), tuple(padding),
                                                 tuple(output_padding), groups, tuple(dilation))
    return getattr(F, f"conv{n}d")(input, weight, bias, tuple(stride), tuple(padding), tuple(dilation), groups)


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred else false_fn(*operands) (eager: torch.cond's meaning without tracing)."""
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise ArgumentError(f"cond: pred must be a one-element tensor or a bool, got shape {tuple(pred.shape)}")
        pred = bool(pred.item())
    return (true_fn if pred else false_fn)(*tuple(operands))


# --- flags and switches ---------------------------------------------------------------------------------------------
has_lapack = True  # (NumPy's linear algebra)
has_spectral = True
has_mkl = False
has_openmp = False


def compiled_with_cxx11_abi():
    return True


def is_vulkan_available():
    return False


def init_num_threads():
    """Nothing to initialize (tensorcore's thread pool starts on first use)."""


def is_conj(input):
    _tensor("is_conj", input)
    return False


def is_neg(input):
    _tensor("is_neg", input)
    return False


def is_storage(obj):
    return False


def is_distributed(input):
    _tensor("is_distributed", input)
    return False


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode):
    """0 / 'default': off; 1 / 'warn': deterministic algorithms, warn only; 2 / 'error': deterministic."""
    from .torch_names import use_deterministic_algorithms

    mode = _DEBUG_MODES.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else debug_mode
    if mode not in (0, 1, 2) or isinstance(mode, bool):
        raise ArgumentError(f"set_deterministic_debug_mode: invalid mode {debug_mode!r}, expected one of 'default', "
                            "'warn', 'error' or 0, 1, 2")
    use_deterministic_algorithms(mode > 0, warn_only=mode == 1)


def get_deterministic_debug_mode():
    from .torch_names import _deterministic

    return 0 if not _deterministic["mode"] else 1 if _deterministic["warn_only"] else 2


def is_deterministic_algorithms_warn_only_enabled():
    from .torch_names import _deterministic

    return bool(_deterministic["warn_only"])


def get_device_module(device=None):
    """tc.cpu or tc.cuda, by the device (or device type); the default device's module without one."""
    import importlib

    from .device import device as as_device
    from .device import get_default_device

    kind = (as_device(device) if device is not None and not isinstance(device, str) else
            as_device(device.split(":")[0]) if device is not None else get_default_device()).type
    if kind not in ("cpu", "cuda"):
        raise ArgumentError(f"get_device_module: unknown device {device!r}")
    return importlib.import_module(f"tensorcore.{kind}")


EXPORTS = ("adjoint", "as_strided_", "detach_copy", "select_copy", "slice_copy", "split_copy", "native_dropout",
           "norm_except_dim", "max_pool1d_with_indices", "convolution", "cond", "has_lapack", "has_spectral",
           "has_mkl", "has_openmp", "compiled_with_cxx11_abi", "is_vulkan_available", "init_num_threads", "is_conj",
           "is_neg", "is_storage", "is_distributed", "set_deterministic_debug_mode", "get_deterministic_debug_mode",
           "is_deterministic_algorithms_warn_only_enabled", "get_device_module", "default_generator",
           "empty_permuted", "svd_lowrank", "pca_lowrank", "histogramdd")


def _attach():
    for name, fn in (("as_strided_", as_strided_), ("const_data_ptr", lambda self: self.data_ptr()),
                     ("dense_dim", lambda self: self.ndim), ("sparse_dim", lambda self: 0),
                     ("to_dense", lambda self, dtype=None, *, masked_grad=None: self if dtype is None else
                      self.to(dtype=dtype))):
        if not hasattr(Tensor, name):
            attach_method(name, fn)


_attach()
