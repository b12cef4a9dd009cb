"""Declaring a simple op in one place: `unary(...)` and `binary(...)`.

A declaration gives the forward on backend arrays and the vector-Jacobian product written with
Tensor ops. It creates the op's Function class, its public function (registered, with the error
boundary), its Tensor method and, for elementwise ops, the in-place method `name_`:

    exp = unary("exp", forward=lambda xp, x: xp.exp(x), vjp=lambda g, out: g * out)
    mul = binary("mul", forward=lambda xp, x, y: x * y, vjp=(lambda g, y: g * y, lambda g, x: g * x))

The vjp's parameter names say what forward keeps for backward: `x` (and `y`), the inputs, and/or
`out`, the output. Keyword parameters of the op (`params={"negative_slope": 0.01}`) reach forward
and vjp by name. Broadcasting and dtype are the engine's business (autograd._normalize), so a vjp
returns the gradient in the output's shape. `backend="relu"` takes the forward from the device's
backend table (a fused kernel on cuda); `vjp_arrays` is the optional raw-array backward the engine
uses under plain backward().

The public function is also the lean path: when nothing records, it calls forward directly on the
arrays, with no Function.apply and no Context.
"""

import inspect

from ..autograd import Function, _check_finite, _forward_error, _user_frame
from ..dtypes import get_default_dtype
from ..errors import ArgumentError, DeviceError
from ..grad_mode import modes
from ..tensor import Tensor, _make, attach_method, tensor
from .registry import register

_SCALARS = (int, float, bool)


def _saved_names(vjp):
    return [p for p in inspect.signature(vjp).parameters if p in ("x", "y", "out")]


def _bind(name, params, args, kwargs):
    """Positional and keyword op parameters -> a dict over `params` (name -> default)."""
    if len(args) > len(params):
        raise ArgumentError(f"{name}: takes {len(params) + 1} positional arguments, got {len(args) + 1}")
    bound = dict(params)
    for key, value in zip(params, args):
        bound[key] = value
    for key, value in kwargs.items():
        if key not in params:
            raise ArgumentError(f"{name}: unexpected keyword argument {key!r}")
        bound[key] = value
    return bound


def _call_vjp(vjp, g, saved, p):
    return vjp(g, **saved, **p) if p else vjp(g, **saved)


def _make_function(name, call, vjps, saved_names, arity, vjp_arrays):
    """The Function class of a declared op: forward saves what the vjps name, backward calls them."""
    keys = ("x", "y")[:arity]

    class Declared(Function):
        op_name = name

        @staticmethod
        def forward(ctx, *arrays, **p):
            out = call(ctx.backend, *arrays, **p)
            ctx.params = p
            ctx.save_for_backward(*[out if n == "out" else arrays[keys.index(n)] for n in saved_names])
            return out

        @staticmethod
        def backward(ctx, g):
            saved = dict(zip(saved_names, ctx.saved_tensors))
            return tuple(
                _call_vjp(vjp, g, {k: saved[k] for k in names}, ctx.params) if vjp is not None and need else None
                for vjp, names, need in zip(vjps, [_saved_names(v) if v else () for v in vjps],
                                            ctx.needs_input_grad)
            )

    if vjp_arrays is not None:
        def backward_arrays(ctx, g):
            saved = dict(zip(saved_names, ctx.saved_arrays))
            return vjp_arrays(ctx.backend, g, **saved, **ctx.params)

        Declared.backward_arrays = staticmethod(backward_arrays)
    Declared.__name__ = Declared.__qualname__ = "".join(w.capitalize() for w in name.split("_"))
    return Declared


def _forward_caller(name, forward, backend):
    """(be, *arrays, **params) -> the output array: the declared forward on be.xp, or be's primitive."""
    if (forward is None) == (backend is None):
        raise ValueError(f"op {name!r}: give exactly one of forward= and backend=")
    if backend is not None:
        return lambda be, *arrays, **p: getattr(be, backend)(*arrays, **p)
    return lambda be, *arrays, **p: forward(be.xp, *arrays, **p)


def _finish(name, fn, doc, method, inplace):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    op = register(name)(fn)
    if method:
        attach_method(method if isinstance(method, str) else name, op)
    if inplace:
        attach_method(name + "_", lambda self, *a, **k: self._inplace(name + "_", op(self, *a, **k)))
    return op


def unary(name, vjp, forward=None, backend=None, params=None, check=None, vjp_arrays=None,
          doc="", method=True, inplace=True, floating=False):
    """Declare an elementwise op of one tensor: y = forward(x), dL/dx = vjp(g, x and/or out)."""
    params = dict(params or {})
    call = _forward_caller(name, forward, backend)
    saved = _saved_names(vjp) if vjp else []
    differentiable = vjp is not None
    Fn = _make_function(name, call, (vjp,), saved, 1, vjp_arrays)

    def op(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise ArgumentError(f"{name}: expected a Tensor, got {type(input).__name__}")
        p = _bind(name, params, args, kwargs) if (args or kwargs or params) else {}
        if check is not None:
            check(**p)
        if floating and input._data.dtype.kind not in "fc":
            input = input.astype(get_default_dtype())
        if differentiable and input.requires_grad and modes.grad_enabled:
            return Fn.apply(input, **p)
        be = input.device.backend
        try:
            out = forward(be.xp, input._data, **p) if forward is not None else call(be, input._data, **p)
        except (ValueError, TypeError, IndexError) as e:
            raise _forward_error(Fn, (input,), e) from e
        if modes.anomaly_forward:
            _check_finite(out, f"{name} (forward, called at {_user_frame()})")
        return _make(out, input.device, False, None)

    op.Function = Fn
    return _finish(name, op, doc, method, inplace)


def _is_float_kind(v):
    return v.dtype.kind in "fc" if isinstance(v, Tensor) else isinstance(v, float)


def _promote(x, y, floating):
    """PyTorch's type promotion for two operands: a Python number counts only by its kind (bool <
    int < float), a float result from integer tensors gets the default float dtype."""
    if floating or _is_float_kind(x) or _is_float_kind(y):
        default = get_default_dtype()
        if isinstance(x, Tensor) and x._data.dtype.kind not in "fc":
            x = x.astype(y.dtype if isinstance(y, Tensor) and y._data.dtype.kind in "fc" else default)
        if isinstance(y, Tensor) and y._data.dtype.kind not in "fc":
            y = y.astype(x.dtype if isinstance(x, Tensor) and x._data.dtype.kind in "fc" else default)
    return x, y


def operand(value, like):
    """A binary op's non-Tensor operand: Python numbers stay constants, arrays and lists become Tensors."""
    if value is None or isinstance(value, str):
        raise ArgumentError(f"expected a Tensor or a number, got {type(value).__name__}")
    if isinstance(value, _SCALARS):
        return value
    if hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and hasattr(value, "item"):
        return value.item()  # a NumPy scalar
    return tensor(value, device=like.device if not hasattr(value, "__array__") else None)


def binary(name, vjp, forward=None, backend=None, doc="", method=True, inplace=True, floating=False,
           vjp_arrays=None, promote=True):
    """Declare an elementwise op of two operands with broadcasting: y = forward(x, y)."""
    call = _forward_caller(name, forward, backend)
    saved = sorted({n for v in vjp if v is not None for n in _saved_names(v)}, key=("x", "y", "out").index)
    Fn = _make_function(name, call, tuple(vjp), saved, 2, vjp_arrays)
    differentiable = any(v is not None for v in vjp)

    def op(input, other):
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
        if promote:
            x, y = _promote(x, y, floating)
        if isinstance(x, Tensor) and isinstance(y, Tensor):
            device = x.device
            if y.device is not device:
                raise DeviceError(f"{name}: tensors on different devices ({x.device}, {y.device}); "
                                  "move them with .to(device)")
            requires = x.requires_grad or y.requires_grad
            xa, ya = x._data, y._data
        elif isinstance(x, Tensor):
            device, requires, xa, ya = x.device, x.requires_grad, x._data, y
        else:
            device, requires, xa, ya = y.device, y.requires_grad, x, y._data
        if requires and differentiable and modes.grad_enabled:
            return Fn.apply(x, y)
        be = device.backend
        try:
            out = forward(be.xp, xa, ya) if forward is not None else call(be, xa, ya)
        except (ValueError, TypeError, IndexError) as e:
            raise _forward_error(Fn, (x, y), e) from e
        if not hasattr(out, "dtype"):  # two Python numbers never get here; a 0-d NumPy result might
            out = be.asarray(out)
        if modes.anomaly_forward:
            _check_finite(out, f"{name} (forward, called at {_user_frame()})")
        return _make(out, device, False, None)

    op.Function = Fn
    return _finish(name, op, doc, method, inplace)
