"""Comparisons and logic (no gradient), selection (where, maximum, minimum, clip), casts and copies."""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError
from ..tensor import Tensor, _make
from .declare import _wrapped_int, binary, operand, result_dtype_of, unary
from .registry import register


def _compare(name, forward, doc):
    return binary(name, forward=forward, vjp=(None, None), promote=False, inplace=False, doc=doc)


def _wrapping(fn):
    """A comparison whose Python int wraps into an integer tensor's dtype first (uint8 > -3 is uint8 > 253),
    as PyTorch casts it; NumPy compares the mathematical values."""
    def forward(xp, x, y):
        if type(y) is int and getattr(x, "dtype", None) is not None and x.dtype.kind in "iu":
            y = _wrapped_int(y, x.dtype)
        elif type(x) is int and getattr(y, "dtype", None) is not None and y.dtype.kind in "iu":
            x = _wrapped_int(x, y.dtype)
        return fn(x, y)
    return forward


eq = _compare("eq", _wrapping(lambda x, y: x == y), "x == y, elementwise (a bool tensor).")
ne = _compare("ne", _wrapping(lambda x, y: x != y), "x != y, elementwise.")
lt = _compare("lt", _wrapping(lambda x, y: x < y), "x < y, elementwise.")
le = _compare("le", _wrapping(lambda x, y: x <= y), "x <= y, elementwise.")
gt = _compare("gt", _wrapping(lambda x, y: x > y), "x > y, elementwise.")
ge = _compare("ge", _wrapping(lambda x, y: x >= y), "x >= y, elementwise.")
logical_and = _compare("logical_and", lambda xp, x, y: xp.logical_and(x, y), "x and y, elementwise.")
logical_or = _compare("logical_or", lambda xp, x, y: xp.logical_or(x, y), "x or y, elementwise.")
logical_xor = _compare("logical_xor", lambda xp, x, y: xp.logical_xor(x, y), "x xor y, elementwise.")
logical_not = unary("logical_not", forward=lambda xp, x: xp.logical_not(x), vjp=None, inplace=False,
                    doc="not x, elementwise.")


def _sign(xp, x):
    """-1, 0 or 1; NaN gives 0, as PyTorch's sign (NumPy's gives NaN)."""
    if x.dtype.kind == "b":
        return x.copy()
    s = xp.sign(x)
    return xp.where(s != s, xp.zeros((), s.dtype), s) if x.dtype.kind in "fV" else s


sign = unary("sign", forward=_sign, vjp=lambda g: g * 0.0,
             doc="-1, 0 or 1 by the sign of x (its gradient is zero).")


def _grad_split(g, x, y, wins):
    # NOTE: at ties the gradient is split evenly between x and y (as PyTorch does).
    return g * (wins + (x == y) * 0.5)


maximum = binary("maximum", forward=lambda xp, x, y: xp.maximum(x, y), inplace=False,
                 vjp=(lambda g, x, y: _grad_split(g, x, y, x > y), lambda g, x, y: _grad_split(g, x, y, y > x)),
                 doc="The elementwise max, with broadcasting; ties share the gradient.")
minimum = binary("minimum", forward=lambda xp, x, y: xp.minimum(x, y), inplace=False,
                 vjp=(lambda g, x, y: _grad_split(g, x, y, x < y), lambda g, x, y: _grad_split(g, x, y, y < x)),
                 doc="The elementwise min, with broadcasting; ties share the gradient.")


class Where(Function):
    @staticmethod
    def forward(ctx, cond, x, y, dtype=None):
        ctx.save_for_backward(cond)
        out = ctx.backend.xp.where(cond, x, y)
        return out if dtype is None or out.dtype == dtype else out.astype(dtype)  # a Python scalar with bfloat16

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (None, where(cond, g, 0.0) if needs[1] else None, where(cond, 0.0, g) if needs[2] else None)


@register("where")
def where(condition, input, other):
    """input where condition else other (broadcasting); no gradient flows to condition."""
    ref = input if isinstance(input, Tensor) else other
    if not isinstance(ref, Tensor):
        if not isinstance(condition, Tensor):
            raise ArgumentError("where: condition, input or other must be a Tensor")
        # NOTE: two Python scalars: PyTorch's result is bool, int64 or the default float dtype.
        dt = _scalar_dtype(input) if _scalar_rank(input) >= _scalar_rank(other) else _scalar_dtype(other)
        ref = _make(condition.device.backend.xp.zeros((), dtype=dt), condition.device, False, None)
        input = ref | input if dt.kind == "b" else ref + input
    if not isinstance(condition, Tensor):
        condition = _make(ref.device.backend.asarray(condition), ref.device, False, None)
    if condition.dtype != np.bool_:
        condition = condition.astype(bool)
    if not isinstance(input, Tensor):
        input = operand(input, ref)
    if not isinstance(other, Tensor):
        other = operand(other, ref)
    # NOTE: PyTorch's promotion of input and other together: a 0-d tensor or a Python scalar of a higher
    # category (float against an integer tensor) gives its dtype or the category's default, not NumPy's float64.
    dt = result_dtype_of(input, other)
    input = input.to(dt) if isinstance(input, Tensor) and input.dtype != dt else input
    other = other.to(dt) if isinstance(other, Tensor) and other.dtype != dt else other
    return Where.apply(condition, input, other, dtype=dt)


def _scalar_rank(value):
    return 0 if isinstance(value, (bool, np.bool_)) else 1 if isinstance(value, (int, np.integer)) else 2


def _scalar_dtype(value):
    from ..dtypes import get_default_dtype

    return (np.dtype(bool), np.dtype(np.int64), get_default_dtype())[_scalar_rank(value)]


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = ctx.backend.xp
        out = x
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        ctx.save_for_backward(x, lo if hasattr(lo, "shape") else None, hi if hasattr(hi, "shape") else None)
        ctx.lo, ctx.hi = lo, hi
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        # NOTE: PyTorch's rule: x gets g where lo <= x <= hi; lo where x < lo (and lo < hi); hi where
        # x > hi (or hi < lo, where the output is hi).
        x, lo_t, hi_t = ctx.saved_tensors
        lo = lo_t if lo_t is not None else ctx.lo
        hi = hi_t if hi_t is not None else ctx.hi
        needs = ctx.needs_input_grad
        inside = None
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = x <= hi if inside is None else inside & (x <= hi)
        gx = where(inside, g, 0.0) if needs[0] else None
        glo = ghi = None
        if needs[1]:
            below = x < lo
            glo = where(below & (lo < hi) if hi is not None else below, g, 0.0)
        if needs[2]:
            above = x > hi
            ghi = where(above | (hi < lo) if lo is not None else above, g, 0.0)
        return gx, glo, ghi


def _bound(value, x, name):
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        if hasattr(value, "__array__"):
            return operand(value, x)
        raise ArgumentError(f"clamp: {name} must be a number or a Tensor, got {type(value).__name__}")
    return value.item() if hasattr(value, "item") else value


@register("clamp", method=True)
def clamp(input, min=None, max=None):
    """min(max(input, min), max), elementwise (bounds are numbers or tensors that broadcast); the
    gradient is 1 where min <= input <= max."""
    if not isinstance(input, Tensor):
        raise ArgumentError(f"clamp: expected a Tensor, got {type(input).__name__}")
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    lo, hi = _bound(min, input, "min"), _bound(max, input, "max")
    dt = result_dtype_of(input, *(b for b in (lo, hi) if b is not None))  # all three at once, as PyTorch
    x = input if input.dtype == dt else input.to(dt)
    if x.dtype.kind in "iu":  # a Python int bound: PyTorch's checked cast to x's dtype (uint8: -1 is 255)
        lo, hi = (_wrapped_int(b, x.dtype, "clamp") if type(b) is int else b for b in (lo, hi))
    lo, hi = (b.to(dt) if isinstance(b, Tensor) and b.dtype != dt else b for b in (lo, hi))
    return Clamp.apply(x, lo, hi)


def clamp_min(input, min):
    """max(input, min), elementwise."""
    return clamp(input, min=min)


def clamp_max(input, max):
    """min(input, max), elementwise."""
    return clamp(input, max=max)


clip = clamp


# --- casts, copies, devices -----------------------------------------------------------------------------


class Cast(Function):
    op_name = "astype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.src) if ctx.src.kind in "fV" else None


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class ToDevice(Function):
    op_name = "to"

    @staticmethod
    def forward(ctx, x, device, source):
        ctx.source = source
        ctx.out_device = device
        return device.backend.from_host(source.backend.to_numpy(x), copy=False)

    @staticmethod
    def backward(ctx, g):
        return to_device(g, ctx.source)


def astype(x, dtype):
    from ..dtypes import as_dtype

    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "biufV":  # x.to(object), x.to(str): torch refuses them; they made object / str arrays
        from .._validate import tensor_dtype

        tensor_dtype(dtype, "to")
    if x.requires_grad and dtype.kind not in "fV":  # 'V': bfloat16 (dtypes.FLOAT_KINDS)
        return x.detach().astype(dtype)
    return Cast.apply(x, dtype=dtype)


def clone(x):
    from .._validate import fits_in_memory

    if x._data.size and 0 in x._data.strides:  # an expanded view: its copy allocates every element
        fits_in_memory(tuple(x.shape), x.dtype, "clone")
    return Clone.apply(x)


def _cast_checked(x, dtype, memory_format):
    from ..dtypes import check_layout

    check_layout(f"Tensor.{dtype}", memory_format)
    return astype(x, dtype)


def _clone_checked(x, memory_format):
    from ..dtypes import check_layout

    check_layout("clone", memory_format)
    return clone(x)


def to_device(x, device):
    if x.device is device:
        return x
    return ToDevice.apply(x, device=device, source=x.device)


def to(x, *args, **kwargs):
    """x.to(device), x.to(dtype), x.to(device, dtype), x.to(other): differentiable across devices."""
    from ..device import Device
    from ..device import device as as_device
    from ..dtypes import check_layout

    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    check_layout("to", kwargs.pop("memory_format", None))
    if kwargs:
        raise ArgumentError(f"to: unexpected keyword arguments {sorted(kwargs)}")
    flags = []  # PyTorch's positional non_blocking, copy (after the device / dtype / tensor)
    for a in args:
        if isinstance(a, bool):
            flags.append(a)
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, Device)):
            device = a
        elif a is None:
            continue
        else:
            dtype = a
    if len(flags) > 2:
        raise ArgumentError(f"to: too many positional flags {flags} (non_blocking, copy)")
    if len(flags) == 2:
        copy = flags[1]
    out = x if device is None else to_device(x, as_device(device))
    out = out if dtype is None else astype(out, dtype)
    return clone(out) if copy and out is x else out


_TYPE_NAMES = {"float32": "tensorcore.FloatTensor", "float64": "tensorcore.DoubleTensor",
               "float16": "tensorcore.HalfTensor", "int64": "tensorcore.LongTensor", "int32": "tensorcore.IntTensor",
               "int16": "tensorcore.ShortTensor", "int8": "tensorcore.CharTensor", "uint8": "tensorcore.ByteTensor",
               "bool": "tensorcore.BoolTensor"}


def type_(x, dtype=None):
    """x.type(): the type name ('tensorcore.FloatTensor'); x.type(dtype): x cast to dtype."""
    if dtype is None:
        return _TYPE_NAMES.get(str(x.dtype), f"tensorcore.{x.dtype}Tensor")
    if dtype is Tensor:  # x.type(torch.Tensor): the default tensor type, as torch's (cyclegan's Tensor = torch.Tensor)
        from ..dtypes import get_default_dtype

        dtype = get_default_dtype()
    dtype = getattr(dtype, "_dtype", dtype)  # tc.FloatTensor and the other typed classes (torch_names.py)
    if isinstance(dtype, type) and not issubclass(dtype, (np.generic, bool, int, float)):
        raise ArgumentError(f"type: {dtype.__name__} is not a tensor type or dtype")
    if isinstance(dtype, str) and dtype.startswith(("tensorcore.", "torch.")):
        names = {v.split(".")[1]: k for k, v in _TYPE_NAMES.items()}
        key = dtype.split(".")[-1]
        if key not in names:
            raise ArgumentError(f"type: unknown tensor type {dtype!r}")
        dtype = names[key]
    return astype(x, dtype)


def copy_(x, src, non_blocking=False):
    """Copy src's values into x's own storage (broadcast to x's shape, cast to x's dtype)."""
    from .shape import broadcast_to

    if not isinstance(src, Tensor):
        from ..tensor import tensor

        src = tensor(src, dtype=x.dtype, device=x.device)
    if src.device is not x.device:
        src = to_device(src, x.device)
    if src.dtype != x.dtype:
        src = Cast.apply(src, dtype=x.dtype) if src.dtype.kind in "fV" or not src.requires_grad else src.detach()
    return x._inplace("copy_", broadcast_to(src, tuple(x.shape)) if tuple(src.shape) != tuple(x.shape) else clone(src))


def _recording_non_leaf(x):
    """clamp_ & co run on a copy of x when recording: clamp's backward saves x, whose memory the write changes."""
    from ..grad_mode import modes

    return modes.grad_enabled and x.requires_grad and x._node is not None


def _attach_methods():
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(Tensor, f"__{name}__", globals()[name])
    Tensor.greater, Tensor.less, Tensor.greater_equal, Tensor.less_equal = gt, lt, ge, le
    Tensor.not_equal = ne
    Tensor.where = lambda self, condition, other: where(condition, self, other)
    for name, fn in (("clamp", clamp), ("clip", clamp), ("clamp_min", clamp_min), ("clamp_max", clamp_max)):
        setattr(Tensor, name, fn)
        setattr(Tensor, name + "_", lambda self, *a, _fn=fn, _name=name, **k: self._inplace(
            _name + "_", _fn(self.clone() if _recording_non_leaf(self) else self, *a, **k)))
    Tensor.astype = astype
    Tensor.to = to
    Tensor.type = type_
    Tensor.copy_ = copy_
    Tensor.clone = lambda self, memory_format=None: _clone_checked(self, memory_format)
    Tensor.cpu = lambda self: to(self, "cpu")
    Tensor.cuda = lambda self, device=None, non_blocking=False: to(
        self, "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))
    for name, dtype in (("float", "float32"), ("double", "float64"), ("half", "float16"), ("bfloat16", "bfloat16"),
                        ("long", "int64"),
                        ("int", "int32"), ("short", "int16"), ("char", "int8"), ("byte", "uint8"), ("bool", "bool")):
        setattr(Tensor, name, lambda self, memory_format=None, dtype=dtype: _cast_checked(self, dtype, memory_format))


_attach_methods()
