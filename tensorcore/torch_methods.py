"""torch.Tensor methods and properties that compose tensorcore's, session 8: adjoint, apply_, map_, map2_, resize,
resize_as, prelu, ger, unsafe_split_with_sizes, new_empty_strided, dim_order, is_inference, is_set_to, output_nr,
name, layout and the is_<kind> properties that are False for every tensorcore tensor (is_sparse, is_quantized,
is_meta, is_nested, ...). Imported by tensorcore/__init__.py, after the ops."""

import warnings

import numpy as np

from .errors import ArgumentError, DeviceError, DTypeError, GradientError, ShapeError
from .grad_mode import no_grad
from .tensor import Tensor, attach_method


def _adjoint(self):
    """The conjugate transpose of the last two dims (a view; tensorcore's tensors are real: transpose(-2, -1))."""
    if self.ndim < 2:
        raise ShapeError(f"adjoint: tensor must have at least 2 dimensions, got shape {tuple(self.shape)}")
    return self.transpose(-2, -1)


def _host_values(self, name):
    if self.device.type != "cpu":
        raise DeviceError(f"{name}: only works on cpu tensors (the tensor is on {self.device})")
    if self.requires_grad:
        raise GradientError(f"{name}: can't call {name}() on a tensor that requires grad; use "
                            f"x.detach().{name}(...) instead (shape {tuple(self.shape)})")
    return self._data


def _write_values(self, name, values):
    from .tensor import tensor

    with no_grad():
        return self._inplace(name, tensor(np.asarray(values).reshape(self.shape).astype(self.dtype)))


def _apply_(self, callable):
    """self[i] = callable(self[i]) for every element, in place (cpu only, slow: a Python call per element)."""
    data = _host_values(self, "apply_")
    values = [callable(v) for v in data.reshape(-1).tolist()]
    return _write_values(self, "apply_", values)


def _map_(self, tensor, callable):
    """self[i] = callable(self[i], tensor[i]) with tensor broadcast to self's shape, in place (cpu only)."""
    data = _host_values(self, "map_")
    other = _broadcast_host("map_", tensor, self.shape, self.dtype)
    values = [callable(a, b) for a, b in zip(data.reshape(-1).tolist(), other.reshape(-1).tolist())]
    return _write_values(self, "map_", values)


def _map2_(self, x, y, callable):
    """self[i] = callable(self[i], x[i], y[i]) with x and y broadcast to self's shape, in place (cpu only)."""
    data = _host_values(self, "map2_")
    xs, ys = (_broadcast_host("map2_", t, self.shape, self.dtype) for t in (x, y))
    values = [callable(a, b, c) for a, b, c in zip(data.reshape(-1).tolist(), xs.reshape(-1).tolist(),
                                                   ys.reshape(-1).tolist())]
    return _write_values(self, "map2_", values)


def _broadcast_host(name, other, shape, dtype):
    if not isinstance(other, Tensor):
        raise ArgumentError(f"{name}: expected a Tensor, got {type(other).__name__}")
    if other.dtype != dtype:
        raise DTypeError(f"{name}: expected a tensor of self's dtype {dtype}, got {other.dtype}")
    try:
        return np.broadcast_to(other.device.backend.to_numpy(other._data), tuple(shape))
    except ValueError:
        raise ShapeError(f"{name}: a tensor of shape {tuple(other.shape)} cannot be broadcast to the shape "
                         f"{tuple(shape)} of self") from None


def _resize(self, *sizes):
    """The deprecated out-of-place resize: self reshaped to sizes, which must hold as many elements."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)
    return _resize_to(self, sizes)


def _resize_to(self, sizes):
    try:
        sizes = tuple(int(s) for s in sizes)
    except TypeError:
        raise ArgumentError(f"resize: sizes must be ints, got {sizes!r}") from None
    if int(np.prod(sizes, dtype=np.int64)) != self.numel():
        shown = "x".join(map(str, sizes))
        raise ShapeError(f"resize: requested resize to {shown} ({int(np.prod(sizes))} elements in total), but the "
                         f"given tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} elements). "
                         "autograd's resize can only change the shape of a given tensor, while preserving the "
                         "number of elements.")
    return self.reshape(sizes)


def _resize_as(self, tensor):
    """The deprecated out-of-place resize to tensor's shape."""
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return _resize_to(self, tuple(tensor.shape))


def _prelu(self, weight):
    """max(0, x) + weight * min(0, x), weight per channel (dim 1) or one value."""
    from .ops.piecewise_activations import prelu

    return prelu(self, weight)


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                       pin_memory=False):
    """An uninitialized tensor of size and stride, of self's dtype and device unless given."""
    from .torch_top import empty_strided

    return empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                         device=self.device if device is None else device, requires_grad=requires_grad)


def _dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory (by stride, largest first; ties keep the dim order)."""
    strides = self.stride()
    return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))


def _is_set_to(self, tensor):
    """True if both tensors view the same memory with the same offset, sizes and strides."""
    if not isinstance(tensor, Tensor):
        raise ArgumentError(f"is_set_to: expected a Tensor, got {type(tensor).__name__}")
    a, b = self._data, tensor._data
    return bool(self.device == tensor.device and a.dtype == b.dtype and a.shape == b.shape
                and a.strides == b.strides and _address(a) == _address(b))


def _address(a):
    return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") else int(a.data.ptr)


def _unsafe_split_with_sizes(self, split_sizes, dim=0):
    from .torch_top import unsafe_split_with_sizes

    return unsafe_split_with_sizes(self, split_sizes, dim)


def _module_load(self, other, assign=False):
    """What load_state_dict puts in place of self: other.detach() (assign=True), else self.copy_(other).detach()."""
    if assign:
        return other.detach()
    with no_grad():
        return self.copy_(other).detach()


def _set_(self, source=None):
    """self shares source's memory (its sizes, strides and version counter); set_() with no source: empty."""
    from .grad_mode import modes

    if modes.grad_enabled and self.requires_grad:
        raise GradientError(f"set_: a tensor that requires grad (shape {tuple(self.shape)}) cannot be set to other "
                            "memory while recording; use tc.no_grad()")
    if source is None:
        self._data = self._data[:0].reshape(0).copy() if self._data.ndim else self._data.reshape(1)[:0].copy()
        self._vcounter = None
        return self
    if not isinstance(source, Tensor):
        raise ArgumentError(f"set_: only a Tensor source is supported (no storages), got {type(source).__name__}")
    if source.device != self.device or source.dtype != self.dtype:
        raise ArgumentError(f"set_: source must have self's dtype and device ({self.dtype}, {self.device}), got "
                            f"{source.dtype}, {source.device}")
    vc = source._vc
    vc[1] = True  # (both now view one memory)
    self._data, self._vcounter = source._data, vc
    return self


def _as_subclass(self, cls):
    """self's data and graph seen as an instance of cls, a subclass of Tensor (the memory is shared)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise ArgumentError(f"as_subclass: expected a subclass of Tensor, got {cls!r}")
    out = object.__new__(cls)
    out._data, out.device, out.requires_grad = self._data, self.device, self.requires_grad
    out._grad, out._node, out._hooks = None, self._node, None
    out._vcounter = self._vc
    self._vc[1] = True
    return out


def _reinforce(self, reward):
    raise GradientError("reinforce() was removed. Use torch.distributions instead.")


def _volatile(self):
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2)
    return False


def _layout(self):
    from .dtypes import strided

    return strided


class UntypedStorage:
    """The memory under a tensor (torch's x.untyped_storage()): data_ptr, nbytes, size (in bytes), device; views of
    one tensor give storages with the same data_ptr."""

    def __init__(self, tensor):
        base = tensor._data
        while isinstance(getattr(base, "base", None), type(base)):
            base = base.base
        self._base, self.device = base, tensor.device

    def data_ptr(self):
        return _address(self._base) if self._base.size else 0

    def nbytes(self):
        return int(self._base.nbytes)

    def size(self):
        return self.nbytes()

    def element_size(self):
        return 1

    def __len__(self):
        return self.size()

    def is_shared(self):
        return False

    def is_pinned(self, device=None):
        return False


class TypedStorage(UntypedStorage):
    """x.storage() (deprecated in torch): the memory under x counted in elements of x's dtype; tolist() its values."""

    def __init__(self, tensor):
        super().__init__(tensor)
        self.dtype = tensor.dtype

    def size(self):
        return self.nbytes() // self.dtype.itemsize

    def element_size(self):
        return int(self.dtype.itemsize)

    def tolist(self):
        flat = self._base.reshape(-1).view(np.uint8) if self._base.size else self._base.reshape(-1)
        return self.device.backend.to_numpy(flat).view(self.dtype).tolist()


def _storage(self):
    warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the only "
                  "storage class. This should only matter to you if you are using storages directly.  To access "
                  "UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()", UserWarning,
                  stacklevel=2)
    return TypedStorage(self)


_ALWAYS_FALSE = ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_nested", "is_mkldnn", "is_xpu",
                 "is_ipu", "is_mps", "is_mtia", "is_maia", "is_vulkan", "is_xla")


def _attach():
    methods = (("adjoint", _adjoint), ("apply_", _apply_), ("map_", _map_), ("map2_", _map2_), ("resize", _resize),
               ("resize_as", _resize_as), ("prelu", _prelu), ("new_empty_strided", _new_empty_strided),
               ("dim_order", _dim_order), ("is_set_to", _is_set_to),
               ("unsafe_split_with_sizes", _unsafe_split_with_sizes),
               ("is_inference", lambda self: False), ("is_distributed", lambda self: False),
               ("untyped_storage", lambda self: UntypedStorage(self)), ("storage", _storage), ("reinforce", _reinforce),
               ("module_load", _module_load), ("set_", _set_), ("as_subclass", _as_subclass))
    for name, fn in methods:
        if not hasattr(Tensor, name):
            attach_method(name, fn)
    if not hasattr(Tensor, "ger"):
        attach_method("ger", Tensor.outer)
    properties = [(name, property(lambda self: False)) for name in _ALWAYS_FALSE]
    # output_nr: which output of its node a tensor is (each tensorcore node has one output: 0).
    properties += [("layout", property(_layout)), ("name", property(lambda self: None)),
                   ("output_nr", property(lambda self: 0)), ("volatile", property(_volatile))]
    for name, prop in properties:
        if not hasattr(Tensor, name):
            attach_method(name, prop)


_attach()
