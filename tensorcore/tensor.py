"""Tensor: an array on a device, with the bookkeeping reverse-mode autograd needs.

Methods delegate to the op functions in `tensorcore.ops`; this file holds no math.
"""

import numpy as np

from . import autograd
from .device import Device
from .device import device as as_device
from .dtypes import as_dtype, get_default_dtype
from .errors import ArgumentError, DTypeError, GradientError


class Tensor:
    """An n-dimensional array that records the ops applied to it when it requires grad.

    Example:
        x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        (x * x).sum().backward()      # x.grad == 2 * x
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "_version", "device", "_hooks", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.data, self.device = t.data, t.device
        self.requires_grad, self.grad, self._node, self._version, self._hooks = requires_grad, None, None, 0, None

    # --- basic properties ------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        """Number of elements (NumPy's meaning)."""
        return self.data.size

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

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
    def T(self):
        return ops.shape.transpose(self)

    @property
    def mT(self):
        return ops.shape.swapaxes(self, -1, -2)

    def __len__(self):
        if self.data.ndim == 0:
            raise ArgumentError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self.data.size != 1:
            raise ArgumentError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise ArgumentError("only integer tensors of one element can be used as an index")
        return int(self.item())

    # --- conversion ----------------------------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (a copy from the device for cuda tensors; the same array on cpu)."""
        return self.device.backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self):
        if self.data.size != 1:
            raise ArgumentError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data, cut from the graph."""
        return _make(self.data, self.device, False, None)

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def clone(self):
        return ops.elementwise.clone(self)

    def astype(self, dtype):
        return ops.elementwise.astype(self, dtype)

    def float(self):
        return self.astype("float32")

    def double(self):
        return self.astype("float64")

    def long(self):
        return self.astype("int64")

    def to(self, device=None, dtype=None):
        """Move to a device (differentiable: gradients flow back to the source) and/or cast."""
        if isinstance(device, (str, Device)) or device is None:
            out = self if device is None else ops.elementwise.to_device(self, as_device(device))
        else:  # t.to(tc.float64)
            out, dtype = self, device
        return out if dtype is None else out.astype(dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=0):
        return self.to(f"cuda:{index}")

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind != "f":
            raise DTypeError(f"requires_grad_: only floating tensors can require grad, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise GradientError("requires_grad_(False) on a non-leaf tensor; use detach()")
        self.requires_grad = requires_grad
        return self

    def register_post_accumulate_grad_hook(self, hook):
        """Call hook(tensor) each time backward has accumulated this leaf's .grad."""
        if self._node is not None:
            raise GradientError("register_post_accumulate_grad_hook: only for leaf tensors")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return hook

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate the gradient of this tensor into the .grad of every leaf it depends on."""
        autograd.backward(self, grad, retain_graph, create_graph)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=200,
                               prefix="tensor(")
        extra = ""
        if self.dtype != get_default_dtype() and self.dtype.kind == "f" or self.dtype.kind not in "f":
            extra += f", dtype={self.dtype}"
        if self.device.type != "cpu":
            extra += f", device='{self.device}'"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # --- in place (bump the version counter) -------------------------------------------------------
    def _inplace(self, name, result):
        """Make `result` (computed out of place) the new value of self, as an in-place op would."""
        if autograd.is_grad_enabled() and (self.requires_grad or result.requires_grad):
            if self._node is None and self.requires_grad:
                raise GradientError(
                    f"{name}: a leaf tensor that requires grad (shape {self.shape}) cannot be modified "
                    "in place while recording; wrap the update in tc.no_grad()"
                )
            self.data = result.data
            self._node = result._node
            self.requires_grad = result.requires_grad
            if result._node is not None:
                result._node._output_ref = None
        else:
            if result.shape != self.shape:
                from .errors import ShapeError

                raise ShapeError(f"{name}: result of shape {result.shape} cannot be written into a tensor "
                                 f"of shape {self.shape}")
            if self.data.flags.writeable:
                self.data[...] = result.data
            else:
                self.data = result.data.copy()
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._inplace("add_", ops.elementwise.add(self, other))

    def __isub__(self, other):
        return self._inplace("sub_", ops.elementwise.sub(self, other))

    def __imul__(self, other):
        return self._inplace("mul_", ops.elementwise.mul(self, other))

    def __itruediv__(self, other):
        return self._inplace("div_", ops.elementwise.div(self, other))

    def add_(self, other, alpha=1):
        return self._inplace("add_", ops.elementwise.add(self, other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", ops.elementwise.sub(self, other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._inplace("mul_", ops.elementwise.mul(self, other))

    def div_(self, other):
        return self._inplace("div_", ops.elementwise.div(self, other))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if self.requires_grad and autograd.is_grad_enabled():
            raise GradientError(
                f"fill_: a tensor that requires grad (shape {self.shape}) cannot be overwritten while "
                "recording; wrap it in tc.no_grad()"
            )
        self.data[...] = value
        self._version += 1
        return self

    def copy_(self, src):
        src = src if isinstance(src, Tensor) else tensor(src, dtype=self.dtype, device=self.device)
        if src.device is not self.device:
            from .errors import DeviceError

            raise DeviceError(f"copy_: source on {src.device}, destination on {self.device}")
        return self._inplace("copy_", ops.shape.broadcast_to(src.astype(self.dtype), self.shape))

    def __setitem__(self, index, value):
        return self._inplace("setitem", ops.index.index_put(self, index, value))

    # --- arithmetic --------------------------------------------------------------------------------
    # The arithmetic operators call the op classes directly (the hot path of every model);
    # Function.apply already turns array-library errors into tensorcore errors naming the op.
    def __add__(self, other):
        return _binary(_ew.Add, self, other)

    def __radd__(self, other):
        return _binary(_ew.Add, other, self)

    def __sub__(self, other):
        return _binary(_ew.Sub, self, other)

    def __rsub__(self, other):
        return _binary(_ew.Sub, other, self)

    def __mul__(self, other):
        return _binary(_ew.Mul, self, other)

    def __rmul__(self, other):
        return _binary(_ew.Mul, other, self)

    def __truediv__(self, other):
        return _binary(_ew.Div, self, other)

    def __rtruediv__(self, other):
        return _binary(_ew.Div, other, self)

    def __pow__(self, other):
        return ops.elementwise.pow(self, other)

    def __rpow__(self, other):
        return ops.elementwise.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul.matmul(other, self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.elementwise.abs(self)

    # comparisons: no gradient, boolean tensors
    def __eq__(self, other):
        return ops.elementwise.compare("eq", self, other)

    def __ne__(self, other):
        return ops.elementwise.compare("ne", self, other)

    def __lt__(self, other):
        return ops.elementwise.compare("lt", self, other)

    def __le__(self, other):
        return ops.elementwise.compare("le", self, other)

    def __gt__(self, other):
        return ops.elementwise.compare("gt", self, other)

    def __ge__(self, other):
        return ops.elementwise.compare("ge", self, other)

    def __invert__(self):
        return ops.elementwise.logical_not(self)

    def __and__(self, other):
        return ops.elementwise.compare("and", self, other)

    def __or__(self, other):
        return ops.elementwise.compare("or", self, other)

    def __getitem__(self, index):
        return ops.index.getitem(self, index)

    def __iter__(self):
        if self.data.ndim == 0:
            raise ArgumentError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # --- math methods (the same functions as tc.<name>) ------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return ops.reduce.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.reduce.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.reduce.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.reduce.min(self, axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return ops.reduce.prod(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return ops.reduce.var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return ops.reduce.std(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.reduce.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None, keepdims=False):
        return ops.reduce.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        return ops.reduce.argmin(self, axis, keepdims)

    def reshape(self, *shape):
        return ops.shape.reshape(self, *shape)

    def view(self, *shape):
        return ops.shape.reshape(self, *shape)

    def transpose(self, *axes):
        return ops.shape.transpose(self, *axes)

    def swapaxes(self, a, b):
        return ops.shape.swapaxes(self, a, b)

    def flatten(self, start_axis=0, end_axis=-1):
        return ops.shape.flatten(self, start_axis, end_axis)

    def squeeze(self, axis=None):
        return ops.shape.squeeze(self, axis)

    def unsqueeze(self, axis):
        return ops.shape.unsqueeze(self, axis)

    def expand_dims(self, axis):
        return ops.shape.unsqueeze(self, axis)

    def broadcast_to(self, shape):
        return ops.shape.broadcast_to(self, shape)

    def repeat(self, repeats, axis=None):
        return ops.shape.repeat(self, repeats, axis)

    def tile(self, reps):
        return ops.shape.tile(self, reps)

    def exp(self):
        return ops.elementwise.exp(self)

    def log(self):
        return ops.elementwise.log(self)

    def log1p(self):
        return ops.elementwise.log1p(self)

    def sqrt(self):
        return ops.elementwise.sqrt(self)

    def sin(self):
        return ops.elementwise.sin(self)

    def cos(self):
        return ops.elementwise.cos(self)

    def abs(self):
        return ops.elementwise.abs(self)

    def tanh(self):
        return ops.elementwise.tanh(self)

    def sigmoid(self):
        return ops.elementwise.sigmoid(self)

    def relu(self):
        return ops.elementwise.relu(self)

    def clip(self, min=None, max=None):
        return ops.elementwise.clip(self, min, max)

    def softmax(self, axis=-1):
        return ops.nn.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return ops.nn.log_softmax(self, axis)

    def matmul(self, other):
        return ops.matmul.matmul(self, other)

    # --- DLPack -----------------------------------------------------------------------------------
    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()


def _make(data, device, requires_grad, node):
    """Fast internal constructor: no checks, no conversion."""
    t = Tensor.__new__(Tensor)
    t.data = data
    t.device = device
    t.requires_grad = requires_grad
    t.grad = None
    t._node = node
    t._version = 0
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
            from .errors import DeviceError

            raise DeviceError(f"tensor: data is on {data.device}, asked for {dev}; use .to(device)")
        dev, be = data.device, data.device.backend
        arr = be.xp.array(data.data, dtype=dtype, copy=True)
    else:
        if dtype is None:
            arr = np.asarray(data) if not _is_device_array(data) else data
            if arr.dtype == np.float64 and not isinstance(data, np.ndarray) and not _is_device_array(data):
                arr = arr.astype(get_default_dtype())  # Python floats -> default float
            if arr.dtype.kind not in "biuf":
                raise DTypeError(f"tensor: unsupported data of dtype {arr.dtype} ({type(data).__name__})")
        else:
            arr = data
        if _is_device_array(arr) and dev.type == "cpu" and device is not None:
            from .errors import DeviceError

            raise DeviceError(f"tensor: data is a device array ({type(arr).__module__}); asked for cpu")
        arr = be.asarray(arr, dtype=dtype)
        if arr is data:
            arr = arr.copy()
    if requires_grad and arr.dtype.kind != "f":
        raise DTypeError(f"tensor: only floating tensors can require grad, got {arr.dtype}")
    return _make(arr, dev, bool(requires_grad), None)


def _is_device_array(a):
    return hasattr(a, "__cuda_array_interface__") and not isinstance(a, np.ndarray)


autograd._Tensor = Tensor
autograd._make_tensor = _make

from . import ops  # noqa: E402  (ops import Tensor from here)
from .ops import elementwise as _ew  # noqa: E402
from .ops.elementwise import _binary  # noqa: E402
