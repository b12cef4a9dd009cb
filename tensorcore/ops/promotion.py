"""PyTorch's type promotion for the declared ops: the result dtype of operands (dimensioned tensors, 0-d
tensors, Python numbers, by category bool < integer < floating), operands made Tensors, and refusals of
the dtypes PyTorch has no kernel for. declare.py's binary ops use it; other ops import it from there too."""

import numpy as np

from ..dtypes import get_default_dtype
from ..errors import ArgumentError, DTypeError
from ..tensor import Tensor, tensor

_SCALARS = (int, float, bool)


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3, "V": 2}  # 'V': bfloat16 (see dtypes.FLOAT_KINDS)


def _category(v):
    """bool 0 < integer 1 < floating 2 (PyTorch's promotion categories) of a Tensor or a Python number."""
    if isinstance(v, Tensor):
        return _CATEGORY[v._data.dtype.kind]
    return 0 if isinstance(v, bool) else 1 if isinstance(v, int) else 2


def _same_class(a, b):
    """Promotion between two dtypes of the same standing: the higher category wins, else NumPy's rule."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_dtype(x, y):
    """PyTorch's result type of two operands (Tensors or Python numbers; at least one a Tensor).

    Tensors with dimensions outrank 0-d tensors, which outrank Python numbers, unless the lower one
    is of a higher category (bool < int < float): then a 0-d tensor gives its dtype and a Python
    number the default dtype of its category (int64, or the default float)."""
    if not isinstance(x, Tensor):
        x, y = y, x
    dx = x._data.dtype
    if not isinstance(y, Tensor):
        cy = _category(y)
        if cy <= _CATEGORY[dx.kind]:
            return dx
        return get_default_dtype() if cy == 2 else np.dtype(np.int64)
    dy = y._data.dtype
    if dx == dy:
        return dx
    zx, zy = x._data.ndim == 0, y._data.ndim == 0
    if zx == zy:
        return _same_class(dx, dy)
    dim, zero = (dy, dx) if zx else (dx, dy)
    return zero if _CATEGORY[zero.kind] > _CATEGORY[dim.kind] else dim


def result_dtype_of(*values):
    """PyTorch's result type of several operands at once (addcmul, where, ...): the promoted dtype of the
    dimensioned tensors, unless the 0-d tensors (then the Python numbers, as their category's default
    dtype) are of a higher category."""
    ranks = [None, None, None]  # dimensioned tensors, 0-d tensors, Python numbers
    for v in values:
        if isinstance(v, Tensor):
            k, d = (1 if v._data.ndim == 0 else 0), v._data.dtype
        else:
            k, d = 2, (np.dtype(bool), np.dtype(np.int64), get_default_dtype())[_category(v)]
        ranks[k] = d if ranks[k] is None else _same_class(ranks[k], d)
    out = None
    for d in ranks:
        if d is not None and (out is None or _CATEGORY[d.kind] > _CATEGORY[out.kind]):
            out = d
    return out


def refuse_result(op, kinds):
    """A binary op's `refuse`: PyTorch has no kernel of `op` when the operands' result dtype is of these kinds
    (floor_divide of bools, logaddexp of integers): a DTypeError naming the dtypes."""
    def refuse(x, y):
        dt = result_dtype_of(x, y)
        if dt.kind in kinds:
            raise DTypeError(f"{op}: not implemented for {dt} (the result type of {_described(x)} and "
                             f"{_described(y)}), as in PyTorch")
    return refuse


def refusing(op, kinds, forward):
    """forward, refusing arrays of these kinds: the same-dtype fast path calls forward without `refuse`."""
    def checked(xp, x, y, **params):
        a = x if hasattr(x, "dtype") else y
        if a.dtype.kind in kinds:
            raise DTypeError(f"{op}: not implemented for {a.dtype} tensors, as in PyTorch")
        return forward(xp, x, y, **params)
    return checked


def _described(v):
    return f"{tuple(v.shape)} {v.dtype}" if isinstance(v, Tensor) else f"{type(v).__name__} {v!r}"


_INT_BOUNDS = {}


def _wrapped_int(value, dtype, checked=None):
    """A Python int out of an integer tensor's range wraps into it (uint8 + -3 is uint8 + 253), as PyTorch
    casts its scalars; NumPy refuses it. In range: the value itself. `checked` (an op name): PyTorch's checked
    conversion (clamp, masked_fill): only an unsigned dtype's negatives down to -max wrap, the rest is refused."""
    bounds = _INT_BOUNDS.get(dtype)
    if bounds is None:
        info = np.iinfo(dtype)
        bounds = _INT_BOUNDS[dtype] = (int(info.min), int(info.max), dtype.itemsize * 8)
    low, high, bits = bounds
    if low <= value <= high:
        return value
    if checked and not (low == 0 and -high <= value < 0):
        raise ArgumentError(f"{checked}: value {value} cannot be converted to {dtype} without overflow")
    w = value % (1 << bits)
    return w - (1 << bits) if low < 0 and w > high else w


def _promote(x, y, floating):
    """Cast Tensor operands to PyTorch's result type (see result_dtype); `floating`: integer results
    become the default float (true division). Python numbers stay numbers."""
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        dx, dy = x._data.dtype, y._data.dtype
        if dx == dy and (not floating or dx.kind in "fcV"):
            return x, y
    else:
        t, s = (x, y) if isinstance(x, Tensor) else (y, x)
        kind = t._data.dtype.kind
        if kind in "iu" and type(s) is int and not floating:
            w = _wrapped_int(s, t._data.dtype)
            if w is not s:
                x, y = (x, w) if t is x else (w, y)
        if kind in "fcV" or (not floating and not isinstance(s, float) and not (kind == "b" and type(s) is int)):
            return x, y  # NumPy keeps the tensor's dtype for a Python number of its category or lower
    dtype = result_dtype(x, y)
    if floating and dtype.kind not in "fcV":
        dtype = get_default_dtype()
    if isinstance(x, Tensor) and x._data.dtype != dtype:
        x = x.astype(dtype)
    if isinstance(y, Tensor) and y._data.dtype != dtype:
        y = y.astype(dtype)
    return x, y


def operand(value, like):
    """A binary op's non-Tensor operand: Python numbers stay constants, arrays and lists become Tensors."""
    if value is None or isinstance(value, str):
        raise ArgumentError(f"expected a Tensor or a number, got {type(value).__name__}")
    if isinstance(value, np.generic):
        return value.item()  # a NumPy scalar is a Python number to PyTorch (np.float64 * float32 stays float32)
    if isinstance(value, _SCALARS):
        return value
    if hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and hasattr(value, "item"):
        return value.item()  # a 0-d array
    if isinstance(value, complex):
        raise ArgumentError("complex numbers are not supported")
    return tensor(value, device=like.device if not hasattr(value, "__array__") else None)


def _operands(name, input, other):
    x, y = input, other
    if not isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            raise ArgumentError(f"{name}: expected at least one Tensor, got {type(x).__name__} "
                                f"and {type(y).__name__}")
        try:
            x = operand(x, y)
        except ArgumentError as e:
            raise ArgumentError(f"{name}: {e}") from None
    elif not isinstance(y, Tensor):
        try:
            y = operand(y, x)
        except ArgumentError as e:
            raise ArgumentError(f"{name}: {e}") from None
    return x, y
