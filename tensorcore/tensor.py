"""Tensor: an array on a device, with the bookkeeping reverse-mode autograd needs.

This file holds no math: every op attaches its own method when it is declared (ops/declare.py,
`register(..., method=True)`), so an op's name is written once.

A tensor's version counter (`_vc`, a one-element list made on first need) is shared by every view
of the same memory: an in-place change through any alias bumps it, and backward through an op that
saved an older version raises.
"""

import numpy as np

from . import autograd
from .device import device as as_device
from .dtypes import FLOAT_KINDS, as_dtype, get_default_dtype, is_bfloat16
from .errors import ArgumentError, DeviceError, DTypeError, GradientError, ShapeError
from .grad_mode import modes
from .hooks import TensorHooks


class Size(tuple):
    """A tensor's shape (torch.Size): a tuple of ints with numel()."""

    __slots__ = ()

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return f"tensorcore.Size({list(self)})"

    __str__ = tuple.__repr__  # messages show (2, 3)


class Tensor:
    """An n-dimensional array that records the ops applied to it when it requires grad.

    Example:
        x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        (x * x).sum().backward()      # x.grad == 2 * x
    """

    __slots__ = ("_data", "requires_grad", "_grad", "_node", "_vcounter", "device", "_hooks", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        """PyTorch's legacy constructor: Tensor(data) copies data as the default float dtype, Tensor(*sizes) (or a
        Size) is a zero-filled tensor of that shape, Tensor() an empty one, Tensor(tensor) shares its memory."""
        sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
        if len(args) == 1 and isinstance(args[0], Tensor):
            t = args[0]
            self._data, self.device = t._data, t.device
            self._vcounter = t._vc  # the same memory: one version counter
        else:
            if all(type(n) is int for n in sizes):  # () included: Tensor() is empty
                from .creation import zeros  # (its size checks: negative sizes, more than the memory)

                try:
                    data = zeros(*(sizes or (0,)), dtype=dtype or get_default_dtype())._data
                except ArgumentError as e:
                    raise ArgumentError(str(e).replace("zeros()", "Tensor()", 1)) from None
            elif len(args) == 1 and (isinstance(args[0], (list, tuple, np.ndarray)) or hasattr(args[0], "__array__")):
                data = args[0]
            else:
                raise ArgumentError(f"Tensor: expected data (a list, tuple or array) or sizes, got "
                                    f"{', '.join(type(a).__name__ for a in args)}")
            t = tensor(data, dtype=dtype or get_default_dtype(), device=device)
            self._data, self.device, self._vcounter = t._data, t.device, None
        self._grad, self._node, self._hooks = None, None, None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    # --- the version counter ----------------------------------------------------------------------
    @property
    def _vc(self):
        vc = self._vcounter
        if vc is None:
            vc = self._vcounter = [0, False]  # [version, whether views of this memory exist]
        return vc

    @_vc.setter
    def _vc(self, counter):
        self._vcounter = counter

    @property
    def _version(self):
        vc = self._vcounter
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value):
        self._vc[0] = value

    # --- basic properties ------------------------------------------------------------------------
    @property
    def data(self):
        """The same storage, detached from the graph (PyTorch's `.data`); `.numpy()` gives the array."""
        t = _make(self._data, self.device, False, None)
        t._vcounter = self._vc
        return t

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            if value.device is not self.device:
                raise DeviceError(f"data: cannot set data on {self.device} from a tensor on {value.device}")
            self._data = value._data
            self._vcounter = value._vc
        else:
            raise ArgumentError(f"data: expected a Tensor, got {type(value).__name__}")

    @property
    def shape(self):
        """The shape, a Size (torch.Size: a tuple with numel()), as size() gives it."""
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape (a Size), or the size of dimension `dim`."""
        shape = self._data.shape
        if dim is None:
            return Size(shape)
        return shape[_dim(self, dim, "size")]

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    def numel(self):
        return self._data.size

    nelement = numel

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def element_size(self):
        return self._data.dtype.itemsize

    def stride(self, dim=None):
        """Strides in elements (as PyTorch counts them), or of dimension `dim`."""
        strides = tuple(s // self._data.dtype.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_dim(self, dim, "stride")]

    def is_contiguous(self, memory_format=None):
        """Row-major contiguous; with memory_format=channels_last(_3d), contiguous in that order instead."""
        if memory_format is not None:
            from .dtypes import memory_format_name

            name = memory_format_name(memory_format)
            if name in ("channels_last", "channels_last_3d"):
                return self._channels_last_contiguous(4 if name == "channels_last" else 5)
        return bool(self._data.flags.c_contiguous)

    def _channels_last_contiguous(self, ndim):
        """A row-major tensor is also channels-last contiguous when C or the spatial size is 1."""
        if self._data.ndim != ndim or not self._data.flags.c_contiguous:
            return False
        shape = self._data.shape
        spatial = 1
        for d in shape[2:]:
            spatial *= d
        return shape[1] == 1 or spatial == 1

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def backend(self):
        return self.device.backend

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_floating_point_dtype(self):
        return self._data.dtype.kind in FLOAT_KINDS

    def is_floating_point(self):
        return self._data.dtype.kind in FLOAT_KINDS

    def __len__(self):
        if self._data.ndim == 0:
            raise ArgumentError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self._data.size != 1:
            raise ArgumentError(f"the truth value of a tensor with {self._data.size} elements is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise ArgumentError("only integer tensors of one element can be used as an index")
        return int(self.item())

    # --- conversion ----------------------------------------------------------------------------------
    def numpy(self, force=False):
        """The data as a NumPy array (a copy from the device for cuda tensors; the same array on cpu)."""
        return self.device.backend.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self):
        if self._data.size != 1:
            raise ArgumentError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data (and version counter), cut from the graph."""
        t = _make(self._data, self.device, False, None)
        t._vcounter = self._vc
        return t

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in FLOAT_KINDS:
            raise DTypeError(f"requires_grad_: only floating tensors can require grad, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise GradientError("requires_grad_(False) on a non-leaf tensor; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        """The accumulated gradient (None until a backward reaches this tensor)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:  # PyTorch's checks on an assigned .grad
            if not isinstance(value, Tensor):
                raise ArgumentError(f"grad: expected a Tensor or None, got {type(value).__name__}")
            if value is self:
                raise GradientError("grad: a tensor cannot be its own gradient")
            if value.shape != self.shape:
                raise ShapeError(f"grad: a gradient of shape {tuple(value.shape)} for a tensor of shape "
                                 f"{tuple(self.shape)}")
            if value.dtype != self.dtype:
                raise DTypeError(f"grad: a gradient of dtype {value.dtype} for a tensor of dtype {self.dtype}")
            if value.device != self.device:
                raise DeviceError(f"grad: a gradient on {value.device} for a tensor on {self.device}")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    def _tensor_hooks(self, op):
        if not self.requires_grad:
            raise GradientError(f"{op}: cannot register a hook on a tensor that does not require grad")
        hooks = self._hooks
        if hooks is None:
            hooks = self._hooks = TensorHooks()
        if self._node is not None:
            # the engine finds the hooks from the node that made this tensor, even once the tensor object is gone
            # (a hook on an intermediate result, as PyTorch's live on its grad_fn)
            self._node._hooked = self
        return hooks

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement, each time the gradient with respect to this tensor is computed
        (before a leaf accumulates it, before a non-leaf's producer uses it); returns a handle with .remove()."""
        hooks = self._tensor_hooks("register_hook")
        return hooks.add(hooks.grad, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call hook(tensor) each time backward has accumulated this leaf's .grad; returns a handle."""
        if self._node is not None:
            raise GradientError("register_post_accumulate_grad_hook: only for leaf tensors")
        hooks = self._tensor_hooks("register_post_accumulate_grad_hook")
        return hooks.add(hooks.post, hook)

    def retain_grad(self):
        """Keep this non-leaf's gradient in .grad after backward (a leaf keeps it anyway)."""
        if self._node is not None:
            self._tensor_hooks("retain_grad").retain = True
        elif not self.requires_grad:
            raise GradientError("retain_grad: the tensor does not require grad")

    @property
    def retains_grad(self):
        return self._node is not None and self._hooks is not None and self._hooks.retain

    backward = autograd._engine.tensor_backward  # (the engine checks the common call inline)

    def __repr__(self):
        values = self.numpy()
        if is_bfloat16(values.dtype):  # NumPy formats ml_dtypes' bfloat16 with all its digits: print as PyTorch does
            values = values.astype(np.float32)
        suffixes = []  # PyTorch's, in its order: device, size (empty tensors), dtype (unless a default one), grad
        if self.device.type != "cpu":
            suffixes.append(f"device='{self.device}'")
        if values.size == 0 and values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if self.dtype != get_default_dtype() and (values.size == 0 or self.dtype not in (np.int64, np.bool_)):
            suffixes.append(f"dtype={self.dtype}")  # (an empty tensor shows any dtype but the default float)
        if self._node is not None:
            suffixes.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        text = "tensor(" + _layout(values)
        line = len(text) - text.rfind("\n") + 1  # (PyTorch's count: 2 more than the last line's length)
        for suffix in suffixes:  # on the same line while it fits in 80 columns, else on a new one, indented
            # (lines break where PyTorch's do: its dtype suffix is "dtype=torch.int32", 6 characters longer)
            width = len(suffix) + 6 * suffix.startswith("dtype=")
            if line + width + 2 > _LINE_WIDTH:
                text += ",\n" + " " * len("tensor(") + suffix
                line = len("tensor(") + width
            else:
                text += ", " + suffix
                line += width + 2
        return text + ")"

    def __format__(self, spec):
        if self._data.size == 1 and self._data.ndim == 0 or spec:
            if self._data.size != 1:
                raise ArgumentError(f"format: only one-element tensors take a format spec, got shape {self.shape}")
            return format(self.item(), spec)
        return repr(self) if not spec else format(self.item(), spec)

    # --- in place (bump the version counter) -------------------------------------------------------
    def _inplace(self, name, result):
        """Write `result` (computed out of place) into self, as an in-place op does: same storage,
        same dtype, version bumped; when recording, self takes over result's place in the graph."""
        if not isinstance(result, Tensor):
            raise ArgumentError(f"{name}: expected a Tensor result, got {type(result).__name__}")
        if result._data.dtype != self._data.dtype:
            if not np.can_cast(result._data.dtype, self._data.dtype, "same_kind"):
                raise DTypeError(f"{name}: the result type {result.dtype} can't be cast to the tensor's "
                                 f"dtype {self.dtype} in place")
        if result.shape != self.shape:
            raise ShapeError(f"{name}: a result of shape {tuple(result.shape)} cannot be written into a tensor "
                             f"of shape {tuple(self.shape)}")
        recording = modes.grad_enabled and (self.requires_grad or result.requires_grad)
        if recording and self._node is None and self.requires_grad:
            raise GradientError(
                f"{name}: a leaf tensor that requires grad (shape {tuple(self.shape)}) cannot be modified "
                "in place while recording; wrap the update in tc.no_grad()"
            )
        shared = recording and self._vc[1]  # memory shared with views: the graph is rewritten (ops/copy_slices.py)
        if shared:
            refused = _copy_slices().refusal(self, name)
            if refused is not None:
                raise refused
        data = self._data
        if isinstance(data, np.generic):  # a NumPy scalar (0-d results of NumPy ops): no memory to share
            data = self._data = np.array(data)
        if not getattr(data.flags, "writeable", True):
            raise ArgumentError(f"{name}: the tensor is a read-only view (several of its elements share one "
                                "memory location, as after expand); clone() it first")
        data[...] = result._data
        if shared:
            _copy_slices().take_place(self, result)
        elif recording:
            self._node = result._node
            self.requires_grad = result.requires_grad
        self._vc[0] += 1
        return self

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):
            value = value.item()
        if self.requires_grad and modes.grad_enabled:  # in the graph: the checks of every in-place op
            return self._inplace("fill_", _Filled.apply(self, value=value))
        if isinstance(self._data, np.generic):
            self._data = np.array(self._data)
        if not getattr(self._data.flags, "writeable", True):
            raise ArgumentError("fill_: the tensor is a read-only view (several of its elements share one memory "
                                "location, as after expand); clone() it first")
        self._data[...] = value
        self._vc[0] += 1
        return self

    # --- DLPack -----------------------------------------------------------------------------------
    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()


def _dim(t, dim, op):
    n = t._data.ndim
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or not -max(n, 1) <= dim < max(n, 1):
        raise ArgumentError(f"{op}: dimension {dim!r} is out of range for a tensor of {n} dimensions")
    return int(dim) % max(n, 1)


def attach_method(name, fn):
    """Make `fn(self, ...)` the Tensor method `name` (ops call this when they are declared)."""
    setattr(Tensor, name, fn)


class _Filled(autograd.Function):
    """fill_'s node while recording: the new values do not depend on the old ones, so the old ones get a
    zero gradient (PyTorch's FillBackward), and the tensor stays in the graph."""

    op_name = "fill_"

    @staticmethod
    def forward(ctx, x, value):
        return ctx.backend.xp.full(x.shape, value, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros_like

        return zeros_like(g)

    @staticmethod
    def backward_arrays(ctx, g):
        return ctx.backend.xp.zeros_like(g)


_ndarray = np.ndarray


# PyTorch's print options (tc.set_printoptions sets them); _SCI_MODE None: scientific notation when it reads better
_SUMMARY_THRESHOLD, _EDGE_ITEMS, _LINE_WIDTH, _PRECISION, _SCI_MODE = 1000, 3, 80, 4, None


def _shown(values):
    """The elements a summarized repr prints (3 at each end of each long dimension), or all of them."""
    if values.size > _SUMMARY_THRESHOLD:
        for axis in range(values.ndim):
            if values.shape[axis] > 2 * _EDGE_ITEMS:
                values = np.concatenate([values.take(range(_EDGE_ITEMS), axis),
                                         values.take(range(-_EDGE_ITEMS, 0), axis)], axis)
    return values


def _layout(values):
    """The bracketed elements as PyTorch's repr lays them out: each padded to one width, as many per line as fit
    in 80 columns after the indent (7 for "tensor(", plus one per level), a blank line between blocks of 3-D."""
    if values.dtype.kind == "f":
        fmt, width = _float_format(values)
    else:  # integers and bools: str() of each, padded to the widest shown
        width = max((len(str(v)) for v in _shown(values).reshape(-1).tolist()), default=1)
        fmt = lambda v: str(v).rjust(width)  # noqa: E731
    summarize = values.size > _SUMMARY_THRESHOLD

    def cut(v):  # the parts of one dimension: all of them, or each end with None for "..." between
        n = len(v)
        if summarize and n > 2 * _EDGE_ITEMS:
            return [*v[:_EDGE_ITEMS], None, *v[n - _EDGE_ITEMS:]]
        return list(v)

    def block(v, indent):
        if v.ndim == 1:
            items = [" ..." if x is None else fmt(x) for x in cut(v.tolist() if len(v) <= _SUMMARY_THRESHOLD else v)]
            per_line = max(1, (_LINE_WIDTH - indent) // (width + 2))
            lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
            return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
        parts = ["..." if x is None else block(x, indent + 1) for x in cut(v)]
        return "[" + ("," + "\n" * (v.ndim - 1) + " " * (indent + 1)).join(parts) + "]"

    if values.ndim == 0:
        return fmt(values.item()).strip()
    if values.size == 0:  # any empty shape prints as [] (the size suffix gives the shape)
        return "[]"
    return block(values, len("tensor("))


def _float_format(values):
    """(format one value, width): PyTorch's number style for a float tensor's repr: "1." when every nonzero
    finite value is whole, else 4 fixed decimals (the print precision), scientific when the values span more
    than 1000x or reach 1e8 (or, not whole, fall below 1e-4); every element padded to the width of the widest
    nonzero finite one."""
    values = _shown(values)  # summarized: the style of the elements shown
    shown = values[np.isfinite(values) & (values != 0)].astype(np.float64)
    finite = np.abs(shown)
    whole = bool(np.all(finite == np.round(finite)))
    sci = finite.size > 0 and (finite.max() / finite.min() > 1000 or finite.max() > 1e8
                               or (not whole and finite.min() < 1e-4))
    if _SCI_MODE is not None:
        sci = bool(_SCI_MODE)
    fmt = f"{{:.{_PRECISION}e}}" if sci else "{:.0f}." if whole else f"{{:.{_PRECISION}f}}"

    def one(v):
        return fmt.format(v) if np.isfinite(v) else str(float(v))

    # the widest string is the largest or the most negative value's (the formats grow with |v| and the sign)
    width = max((len(one(v)) for v in (shown.max(), shown.min())), default=1) if shown.size else 1
    return (lambda v: one(v).rjust(width)), width



_new = object.__new__


def _copy_slices():
    from .ops import copy_slices  # (ops import this module)

    return copy_slices


def _make(data, device, requires_grad, node):
    """Fast internal constructor: no checks; a NumPy scalar (a ufunc's 0-d result) becomes a 0-d array,
    so that views and in-place ops of 0-d tensors share memory as PyTorch's do."""
    if data.__class__ is not _ndarray and isinstance(data, np.generic):
        data = np.array(data)  # (np.asarray of a NumPy scalar takes 0.4 us, np.array 0.15)
    t = _new(Tensor)  # object.__new__ as a module global: one attribute lookup less than Tensor.__new__
    t._data = data
    t.device = device
    t.requires_grad = requires_grad
    t._grad = None
    t._node = node
    t._vcounter = None
    t._hooks = None
    return t


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Make a tensor from a list, scalar, NumPy array or Tensor (always a copy of a Tensor's data).

    Python floats become the default float dtype (float32); ints become int64.

    Example:
        x = tc.tensor([[1, 2], [3, 4]], dtype=tc.float64, requires_grad=True)
    """
    dev = as_device(device)
    dtype = as_dtype(dtype)
    be = dev.backend
    if isinstance(data, Tensor):
        if data.device is not dev and device is not None:
            raise DeviceError(f"tensor: data is on {data.device}, asked for {dev}; use .to(device)")
        dev, be = data.device, data.device.backend
        arr = be.xp.array(data._data, dtype=dtype, copy=True)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
            data = [v.numpy() if isinstance(v, Tensor) else v for v in data]
        try:
            arr = np.asarray(data) if not _is_device_array(data) else data
        except (ValueError, TypeError, OverflowError) as e:
            raise ShapeError(f"tensor: the data is not a rectangular array of numbers ({e})") from None
        if arr.dtype.kind not in "biuf" and not is_bfloat16(arr.dtype):
            raise DTypeError(f"tensor: unsupported data of dtype {arr.dtype} ({type(data).__name__})")
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.ndarray) \
                and not _is_device_array(data) and not _holds_float64_scalar(data):
            arr = arr.astype(get_default_dtype())  # Python floats -> default float (NumPy float64 stays)
        if dtype is not None and dtype.kind in "iub" and arr.dtype.kind in "fV" and not np.isfinite(arr).all():
            raise DTypeError(f"tensor: cannot convert non-finite values to {dtype}")
        if _is_device_array(arr) and dev.type == "cpu" and device is not None:
            raise DeviceError(f"tensor: data is a device array ({type(arr).__module__}); asked for cpu")
        try:
            arr = be.asarray(arr, dtype=dtype)
        except ValueError as e:
            raise ShapeError(f"tensor: the data is not a rectangular array ({e})") from None
        except (TypeError, OverflowError) as e:
            raise DTypeError(f"tensor: cannot make a tensor of {type(data).__name__} as {dtype} ({e})") from None
        if arr.dtype.kind not in "biuf" and not is_bfloat16(arr.dtype):
            raise DTypeError(f"tensor: unsupported data of dtype {arr.dtype} ({type(data).__name__})")
        if arr is data:
            arr = arr.copy()
    if requires_grad and arr.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"tensor: only floating tensors can require grad, got {arr.dtype}")
    return _make(arr, dev, bool(requires_grad), None)


def _holds_float64_scalar(data):
    """A NumPy float64 scalar in the data: torch.tensor(np.float64(3)) and torch.tensor([np.mean(a)]) are float64
    (a NumPy scalar keeps its dtype; only Python floats take the default dtype)."""
    if isinstance(data, np.generic):
        return data.dtype == np.float64
    if isinstance(data, (list, tuple)):
        return any(_holds_float64_scalar(v) for v in data)
    return False


def _is_device_array(a):
    return hasattr(a, "__cuda_array_interface__") and not isinstance(a, np.ndarray)


autograd._Tensor = autograd._engine._Tensor = Tensor
autograd._make_tensor = _make


def is_tensor(obj):
    """True for a tensorcore Tensor (torch.is_tensor)."""
    return isinstance(obj, Tensor)


def is_floating_point(input):
    """True when input's dtype is a floating one."""
    return input.is_floating_point()


def numel(input):
    """The number of elements of input."""
    return input.numel()
