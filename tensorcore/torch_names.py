"""PyTorch's top-level names that are aliases or short compositions of tensorcore's (torch.as_tensor,
torch.pi, torch.FloatTensor, torch.iinfo, torch.compile, torch.greater ...), and the Tensor methods of the
same kind (type_as, is_cpu, nbytes, addcmul_, ...). Imported by tensorcore/__init__.py."""

import math as _math

import numpy as np

from . import _validate as check
from .dtypes import as_dtype
from .errors import ArgumentError, DTypeError
from .tensor import Tensor, attach_method

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
newaxis = None
dtype = np.dtype  # isinstance(x.dtype, torch.dtype)


def as_tensor(data, dtype=None, device=None):
    """data as a Tensor, sharing memory when it already is one (or a NumPy array) of that dtype and device."""
    from .creation import from_numpy
    from .tensor import tensor

    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else data
    if isinstance(data, np.ndarray) and (device is None or str(device) == "cpu") and data.dtype.kind in "biuf" \
            and (dtype is None or as_dtype(dtype) == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def clone(input, *, memory_format=None):
    """A copy of input that stays in the graph (gradient flows back to input)."""
    return input.clone()


def detach(input):
    """input's values without the graph (shares memory)."""
    return input.detach()


class iinfo:
    """Limits of an integer dtype, as torch.iinfo: bits, min, max (Python ints) and the dtype's name."""

    def __init__(self, type):
        dt = as_dtype(type)
        if dt.kind not in "iub":
            raise DTypeError(f"iinfo: expected an integer dtype, got {dt}")
        info = np.iinfo(np.uint8 if dt.kind == "b" else dt)
        self.bits, self.min, self.max, self.dtype = int(info.bits), int(info.min), int(info.max), dt.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def initial_seed():
    """torch.initial_seed: the default generator's seed (tensorcore.random.initial_seed; it does not reseed)."""
    from .random import initial_seed as _initial_seed

    return _initial_seed()


def seed():
    """torch.seed: seed the default generator from fresh entropy; returns the seed (tensorcore.random.seed)."""
    from .random import seed as _seed

    return _seed()


def compile(model=None, **kwargs):
    """torch.compile's place: tensorcore runs eagerly, so the model (or function) comes back unchanged."""
    if model is None:
        return lambda fn: fn
    return model


_deterministic = {"mode": False, "warn_only": False}
_matmul_precision = ["highest"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded only: tensorcore's CPU ops are deterministic already."""
    _deterministic.update(mode=check.flag(mode, "mode", "use_deterministic_algorithms"), warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled():
    return _deterministic["mode"]


def set_float32_matmul_precision(precision):
    """Recorded only ('highest', 'high', 'medium'): float32 matmuls stay float32."""
    _matmul_precision[0] = check.choice(precision, "precision", "set_float32_matmul_precision",
                                        ("highest", "high", "medium"))


def get_float32_matmul_precision():
    return _matmul_precision[0]


def is_inference_mode_enabled():
    from .grad_mode import modes

    return bool(getattr(modes, "inference", False))


_PRINT_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_print_options = dict(_PRINT_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """torch.set_printoptions: precision, threshold, edgeitems, linewidth and sci_mode change Tensor reprs as
    torch's; profile 'default', 'short' or 'full' as torch's."""
    import sys

    tensor_module = sys.modules["tensorcore.tensor"]  # (tc.tensor is the function)
    if profile is not None:
        profiles = {"default": dict(_PRINT_DEFAULTS), "short": dict(_PRINT_DEFAULTS, precision=2, edgeitems=2),
                    "full": dict(_PRINT_DEFAULTS, threshold=2**63 - 1)}
        _print_options.update(profiles[check.choice(profile, "profile", "set_printoptions", tuple(profiles))])
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            _print_options[key] = check.integer(value, key, "set_printoptions", minimum=0)
    _print_options["sci_mode"] = sci_mode
    tensor_module._SUMMARY_THRESHOLD = _print_options["threshold"]
    tensor_module._EDGE_ITEMS = _print_options["edgeitems"]
    tensor_module._LINE_WIDTH = _print_options["linewidth"]
    tensor_module._PRECISION = _print_options["precision"]
    tensor_module._SCI_MODE = sci_mode


def get_printoptions():
    return dict(_print_options)


def _comparison_aliases():
    from . import ops

    cmp = ops.compare
    return {"greater": cmp.gt, "greater_equal": cmp.ge, "less": cmp.lt, "less_equal": cmp.le,
            "not_equal": cmp.ne}


# --- the legacy typed constructors: torch.FloatTensor(2, 3), torch.LongTensor([1, 2]) -----------------------------
class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == np.dtype(cls._dtype)


def _typed(name, dt):
    def __new__(cls, *args, device=None):
        from .creation import empty
        from .tensor import tensor

        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = args[0]
            if isinstance(data, Tensor):
                return data.to(dtype=cls._dtype)
            return tensor(data, dtype=cls._dtype, device=device)
        sizes = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        return empty(*sizes, dtype=cls._dtype, device=device) if sizes else tensor([], dtype=cls._dtype)

    return _TypedTensorMeta(name, (), {"_dtype": dt, "__new__": __new__,
                                       "__doc__": f"torch.{name}: a {dt} tensor from data or sizes."})


FloatTensor, DoubleTensor, HalfTensor = _typed("FloatTensor", "float32"), _typed("DoubleTensor", "float64"), \
    _typed("HalfTensor", "float16")
LongTensor, IntTensor, ShortTensor = _typed("LongTensor", "int64"), _typed("IntTensor", "int32"), \
    _typed("ShortTensor", "int16")
ByteTensor, CharTensor, BoolTensor = _typed("ByteTensor", "uint8"), _typed("CharTensor", "int8"), \
    _typed("BoolTensor", "bool")


# --- Tensor methods -------------------------------------------------------------------------------------------------
def _type_as(self, other):
    """self cast to other's dtype."""
    return self.to(dtype=other.dtype)


def _get_device(self):
    """-1 on the CPU, else the device index (torch's Tensor.get_device)."""
    return -1 if self.device.type == "cpu" else (self.device.index or 0)


def _is_signed(self):
    return self.dtype.kind in "if" or self.dtype.kind == "V"


def _data_ptr(self):
    data = self._data
    if hasattr(data, "ctypes"):
        return int(data.ctypes.data) if data.size else 0
    return int(data.data.ptr)


def _is_nonzero(self):
    if self.numel() != 1:
        raise ArgumentError(f"is_nonzero: only a one-element tensor has a truth value, got shape {tuple(self.shape)}")
    return bool(self.item())


def _dist(self, other, p=2):
    """||self - other||_p."""
    return (self - other).norm(p)


def _new(self, *args):
    """torch's legacy Tensor.new: a tensor of self's dtype and device, empty by sizes or from data."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return self.new_tensor(args[0])
    sizes = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    return self.new_empty(sizes) if sizes else self.new_empty((0,))


def _addcmul_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 * tensor2, in place."""
    return self._inplace("addcmul_", self + value * tensor1 * tensor2)


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 / tensor2, in place."""
    return self._inplace("addcdiv_", self + value * tensor1 / tensor2)


def _addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    """self = beta * self + alpha * mat1 @ mat2, in place."""
    return self._inplace("addmm_", beta * self + alpha * (mat1 @ mat2))


def _fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal (all dims equal, or a tall 2-d matrix; wrap repeats it below)."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise ArgumentError(f"fill_diagonal_: all dimensions must be equal (or the tensor 2-d), "
                            f"got {tuple(self.shape)}")
    mask = np.zeros(self.shape, dtype=bool)
    if self.ndim == 2:
        rows, cols = self.shape
        n = rows if wrap and rows > cols else min(rows, cols)
        idx = np.arange(n)
        keep = (idx % (cols + 1)) < cols if wrap else np.ones(n, bool)
        mask[idx[keep], (idx % (cols + 1))[keep] if wrap else idx] = True
    else:
        mask[(np.arange(self.shape[0]),) * self.ndim] = True
    from .tensor import tensor

    return self.masked_fill_(tensor(mask, device=self.device), fill_value)


def _cumulative_(name):
    def method(self, dim, *, dtype=None):
        return self._inplace(f"{name}_", getattr(self, name)(dim))

    method.__doc__ = f"{name} along dim, written into self."
    return method


def _comparison_(name):
    def method(self, other):
        return self._inplace(f"{name}_", getattr(self, name)(other).to(dtype=self.dtype))

    method.__doc__ = f"self = ({name}(self, other)) in self's dtype."
    return method


def _attach():
    for name, fn in (("type_as", _type_as), ("get_device", _get_device), ("is_signed", _is_signed),
                     ("data_ptr", _data_ptr), ("is_nonzero", _is_nonzero), ("dist", _dist), ("new", _new),
                     ("addcmul_", _addcmul_), ("addcdiv_", _addcdiv_), ("addmm_", _addmm_),
                     ("fill_diagonal_", _fill_diagonal_), ("cumsum_", _cumulative_("cumsum")),
                     ("cumprod_", _cumulative_("cumprod")),
                     ("is_same_size", lambda self, other: tuple(self.shape) == tuple(other.shape)),
                     ("pin_memory", lambda self, device=None: self), ("share_memory_", lambda self: self),
                     ("is_shared", lambda self: False), ("is_pinned", lambda self, device=None: False),
                     ("storage_offset", lambda self: 0 if self._data.base is None else
                      (self._data.__array_interface__["data"][0] - self._data.base.__array_interface__["data"][0])
                      // self._data.itemsize if hasattr(self._data, "__array_interface__") else 0)):
        if not hasattr(Tensor, name):
            attach_method(name, fn)
    for name in ("eq", "ne", "lt", "gt", "le", "ge", "logical_and", "logical_or", "logical_xor"):
        if not hasattr(Tensor, name + "_") and hasattr(Tensor, name):
            attach_method(name + "_", _comparison_(name))
    if not hasattr(Tensor, "logical_not_"):
        attach_method("logical_not_",
                      lambda self: self._inplace("logical_not_", self.logical_not().to(dtype=self.dtype)))
    for alias, name in (("absolute", "abs"), ("absolute_", "abs_"), ("arccos", "acos"), ("arcsin", "asin"),
                        ("arctan", "atan"), ("arccosh", "acosh"), ("arcsinh", "asinh"), ("arctanh", "atanh"),
                        ("arccos_", "acos_"), ("arcsin_", "asin_"), ("arctan_", "atan_"), ("arccosh_", "acosh_"),
                        ("arcsinh_", "asinh_"), ("arctanh_", "atanh_"), ("arctan2_", "atan2_"),
                        ("greater_", "gt_"), ("greater_equal_", "ge_"), ("less_", "lt_"), ("less_equal_", "le_"),
                        ("not_equal_", "ne_")):
        if not hasattr(Tensor, alias) and hasattr(Tensor, name):
            attach_method(alias, getattr(Tensor, name))
    for name, prop in (("is_cpu", property(lambda self: self.device.type == "cpu")),
                       ("itemsize", property(lambda self: int(self.dtype.itemsize))),
                       ("nbytes", property(lambda self: int(self.dtype.itemsize) * self.numel()))):
        if not hasattr(Tensor, name):
            attach_method(name, prop)


_attach()
globals().update(_comparison_aliases())


# --- torch.<op> spellings of torch.nn.functional ops (torch.conv2d, torch.dropout, torch.layer_norm, ...) ----------
def _F():
    from .nn import functional

    return functional


def _passthrough(name):
    def op(*args, **kwargs):
        return getattr(_F(), name)(*args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"torch.{name}: torch.nn.functional.{name}."
    return op


def dropout(input, p, train):
    """torch.dropout(input, p, train) (its arguments are positional and required, unlike F.dropout's)."""
    return _F().dropout(input, p, train)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True):
    """torch.batch_norm's argument order (weight and bias first), unlike F.batch_norm's."""
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """torch.embedding(weight, indices): the table first, unlike F.embedding."""
    return _F().embedding(indices, weight, None if padding_idx == -1 else padding_idx, None, 2.0, scale_grad_by_freq)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _F().rms_norm(input, normalized_shape, weight, eps)


for _op in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "cosine_similarity",
            "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "bilinear", "max_pool1d",
            "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "prelu",
            "selu", "celu", "threshold", "hardshrink", "rrelu"):
    globals()[_op] = _passthrough(_op)


TORCH_FUNCTIONAL_NAMES = ("dropout", "layer_norm", "group_norm", "batch_norm", "embedding", "rms_norm", "conv1d",
                          "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "cosine_similarity",
                          "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "bilinear",
                          "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
                          "adaptive_max_pool1d", "prelu", "selu", "celu", "threshold", "hardshrink", "rrelu")
# (torch.relu_, torch.acos_, ... the top-level in-place functions: tensorcore/torch_inplace.py)
