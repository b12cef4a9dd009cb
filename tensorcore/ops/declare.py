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
import operator

import numpy as np

from .. import grad_mode, out_arg
from ..amp import policy as amp_policy
from ..autograd import _SAVED_OUTPUT, Context, Function, _check_finite, _forward_error, _packed, _user_frame
from ..dtypes import get_default_dtype
from ..errors import ArgumentError, DeviceError, TensorcoreError
from ..grad_mode import modes
from ..tensor import Tensor, _make, attach_method
from .plans import _apply_rules, _plans, _saved_names
from .promotion import (  # noqa: F401  (re-exported: ops import the promotion helpers from here)
    _CATEGORY,
    _SCALARS,
    _category,
    _operands,
    _promote,
    _wrapped_int,
    operand,
    refuse_result,
    refusing,
    result_dtype,
    result_dtype_of,
)
from .registry import BOUNDARY, boundary_error, register

_NO_PARAMS = Context.params  # the params of a call that passed none (one shared dict: nothing writes to it)
_ndarray = np.ndarray
_FLOAT_DTYPES = frozenset(map(np.dtype, "efdFD"))  # dtype.kind in "fc", as one set lookup


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


def _make_function(name, call, vjps, saved_names, arity, vjp_arrays):
    """The Function class of a declared op: forward saves what the vjps name, backward calls them."""
    keys = ("x", "y")[:arity]
    plans = _plans(name, vjps, saved_names, arity)

    class Declared(Function):
        op_name = name

        @staticmethod
        def forward(ctx, *arrays, **p):
            out = call(ctx.backend, *arrays, **p)
            ctx.params = p
            need = ctx.needs_input_grad
            if need:
                ctx.plan = plan = plans[tuple(need)]
                ctx.save_for_backward(*[out if n == "out" else arrays[keys.index(n)] for n in plan[0]])
            return out

        @staticmethod
        def backward(ctx, g):
            plan = ctx.plan
            return _apply_rules(plan, g, ctx.saved_tensors if plan[0] else (), ctx.params)

    Declared.plans = plans
    if vjp_arrays is True:  # the vjps are plain arithmetic: the same rules run on the raw arrays
        def backward_arrays(ctx, g):
            plan = ctx.plan
            fast = plan[3]
            if fast is not None and not ctx.params:
                return fast(g, ctx.saved_arrays if plan[0] else ())
            return _apply_rules(plan, g, ctx.saved_arrays if plan[0] else (), ctx.params)

        Declared.backward_arrays = staticmethod(backward_arrays)
    elif vjp_arrays is not None and arity == 1:  # the names saved are the vjp's, in its order: by position
        names = list(inspect.signature(vjp_arrays).parameters)
        if names[2:2 + len(saved_names)] != list(saved_names):
            raise ValueError(f"op {name!r}: vjp_arrays must take be, g, then {', '.join(saved_names)}, then params")

        def backward_arrays(ctx, g):
            p = ctx.params
            return vjp_arrays(ctx.backend, g, *ctx.saved_arrays, **p) if p else vjp_arrays(ctx.backend, g,
                                                                                            *ctx.saved_arrays)

        Declared.backward_arrays = staticmethod(backward_arrays)
    elif vjp_arrays is not None:
        def backward_arrays(ctx, g):
            return vjp_arrays(ctx.backend, g, **dict(zip(ctx.plan[0], ctx.saved_arrays)), **ctx.params)

        Declared.backward_arrays = staticmethod(backward_arrays)
    Declared.__name__ = Declared.__qualname__ = "".join(w.capitalize() for w in name.split("_"))
    return Declared


def _edge_meta(t, a):
    """(needs a gradient, graph edge, (shape, dtype)) of one operand of a declared op."""
    if not isinstance(t, Tensor):
        return False, None, None
    if t.requires_grad:
        return True, (t if t._node is None else t._node), (a.shape, a.dtype)
    return False, None, (a.shape, a.dtype)


def _record(Fn, call, inputs, arrays, device, p):
    """The recording path of a declared op (Function.apply's, without its generic input loop)."""
    if len(inputs) == 1:
        x = inputs[0]
        needs, edges, meta = (True,), (x if x._node is None else x._node,), ((arrays[0].shape, arrays[0].dtype),)
    else:
        x, y = inputs
        if type(x) is Tensor and type(y) is Tensor:
            nx, ny = x.requires_grad, y.requires_grad
            needs = (nx, ny)
            edges = ((x if x._node is None else x._node) if nx else None,
                     (y if y._node is None else y._node) if ny else None)
            meta = ((arrays[0].shape, arrays[0].dtype), (arrays[1].shape, arrays[1].dtype))
        else:
            nx, ex, mx = _edge_meta(x, arrays[0])
            ny, ey, my = _edge_meta(y, arrays[1])
            needs, edges, meta = (nx, ny), (ex, ey), (mx, my)
    ctx = Context(Fn, device, needs, edges, meta)
    try:
        if p is not _NO_PARAMS:
            out = call(device.backend, *arrays, **p)
            ctx.params = p
        else:  # `call` is the op's plain caller (its lean paths pass it): no argument packing
            out = call(device.backend, *arrays)
    except (ValueError, TypeError, IndexError) as e:
        raise _forward_error(Fn, inputs, e) from e
    if out.__class__ is not _ndarray and not hasattr(out, "dtype"):
        out = device.backend.asarray(out)
    result = _make(out, device, True, ctx)
    ctx.plan = plan = Fn.plans[needs]
    if plan[0]:
        saved = []
        for n in plan[0]:
            if n == "out":
                vc = result._vcounter = [0, False]  # the fresh output's version counter (Tensor._vc)
                ctx._output_data, ctx._output_vc = out, vc
                saved.append((_SAVED_OUTPUT, vc, 0))
            else:
                t = inputs[0] if n == "x" else inputs[1]
                if isinstance(t, Tensor):
                    vc = t._vcounter
                    if vc is None:
                        vc = t._vcounter = [0, False]  # Tensor._vc, inline
                    saved.append((t, vc, vc[0]))
                else:
                    saved.append((t, None, 0))  # a Python number operand
        ctx._saved = saved if not grad_mode.saved_hooks_threads else _packed(ctx, saved, result)
    if grad_mode.anomaly_threads and modes.anomaly:
        ctx.created_at = _user_frame()
        if modes.anomaly_forward:
            _check_finite(out, f"{Fn.name()} (forward, called at {ctx.created_at})")
    return result


def _forward_caller(name, forward, backend, arity):
    """(call, plain): call(be, *arrays, **params) -> the output array, the declared forward on be.xp or be's
    primitive; plain(be, x[, y]), the same for a call without params (no argument packing: the hot path)."""
    if (forward is None) == (backend is None):
        raise ValueError(f"op {name!r}: give exactly one of forward= and backend=")
    if backend is not None:
        call = lambda be, *arrays, **p: getattr(be, backend)(*arrays, **p)  # noqa: E731
        plain = (lambda be, x: getattr(be, backend)(x)) if arity == 1 else lambda be, x, y: getattr(be, backend)(x, y)
        return call, plain
    call = lambda be, *arrays, **p: forward(be.xp, *arrays, **p)  # noqa: E731
    plain = (lambda be, x: forward(be.xp, x)) if arity == 1 else lambda be, x, y: forward(be.xp, x, y)
    return call, plain


def _records(self, args):
    """Whether an in-place call on self records: grad mode on and self or a Tensor operand requires grad."""
    return modes.grad_enabled and (self.requires_grad
                                   or any(isinstance(a, Tensor) and a.requires_grad for a in args))


def _finish(name, fn, doc, method, inplace, saves_input):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    op = register(name, lean=True)(fn)  # fn is its own error boundary and autocast check
    if method:
        attach_method(method if isinstance(method, str) else name, op)
    if inplace:
        def inplace_method(self, *args, **kwargs):
            # A recorded op whose gradient needs its input gets a copy of self: self's memory is about to change
            # (PyTorch's original_self)
            source = self.clone() if saves_input and isinstance(self, Tensor) and _records(self, args) else self
            return self._inplace(name + "_", op(source, *args, **kwargs))

        inplace_method.__name__ = inplace_method.__qualname__ = name + "_"
        attach_method(name + "_", inplace_method)
    return op


def unary(name, vjp, forward=None, backend=None, params=None, check=None, vjp_arrays=None,
          doc="", method=True, inplace=True, floating=False):
    """Declare an elementwise op of one tensor: y = forward(x), dL/dx = vjp(g, x and/or out)."""
    params = dict(params or {})
    call, plain = _forward_caller(name, forward, backend, 1)
    saved = _saved_names(vjp) if vjp else []
    differentiable = vjp is not None
    Fn = _make_function(name, call, (vjp,), saved, 1, vjp_arrays)

    lean = not params and check is None  # a call with no arguments beyond the tensor can skip the binding
    floats = _FLOAT_DTYPES if floating else None  # the dtypes the lean path takes (floating ops: no integer casts)
    fetch = operator.attrgetter(backend) if backend is not None else None
    listed = name in amp_policy.NAMES  # autocast casts this op's inputs (checked here: no wrapper on the hot path)

    def op(input, *args, **kwargs):
        try:
            if type(input) is Tensor and lean and not args and not kwargs:
                xa = input._data
                if (floats is None or xa.dtype in floats) and not (listed and amp_policy.active):
                    # the common call: nothing to bind, cast or promote
                    if input.requires_grad and differentiable and modes.grad_enabled:
                        return _record(Fn, plain, (input,), (xa,), input.device, _NO_PARAMS)
                    if not (grad_mode.anomaly_threads and modes.anomaly_forward):  # the forward straight on the array
                        be = input.device.backend
                        try:
                            out = forward(be.xp, xa) if backend is None else fetch(be)(xa)
                        except (ValueError, TypeError, IndexError) as e:
                            raise _forward_error(Fn, (input,), e) from e
                        return _make(out, input.device, False, None)
            if "out" in kwargs:  # torch's out=: the result written into a given tensor (never the lean call)
                return out_arg.call_with_out(name, op, (input, *args), kwargs)
            if listed and amp_policy.active:
                return amp_policy.dispatch(name, general, (input, *args), kwargs)
            return general(input, *args, **kwargs)
        except TensorcoreError:
            raise
        except BOUNDARY as e:
            raise boundary_error(name, e) from e

    def general(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise ArgumentError(f"{name}: expected a Tensor, got {type(input).__name__}")
        p = _bind(name, params, args, kwargs) if (args or kwargs or params) else {}
        if check is not None:
            check(**p)
        if p and p.get("inplace") is True:  # F.relu6(x, inplace=True): the result written into x
            return input._inplace(name + "_", op(input, **{**p, "inplace": False}))
        if floating and input._data.dtype.kind not in "fcV":  # 'V': bfloat16 (dtypes.FLOAT_KINDS)
            input = input.astype(get_default_dtype())
        if differentiable and input.requires_grad and modes.grad_enabled:
            return _record(Fn, call, (input,), (input._data,), input.device, p)
        try:
            out = call(input.device.backend, input._data, **p)
        except (ValueError, TypeError, IndexError) as e:
            raise _forward_error(Fn, (input,), e) from e
        if modes.anomaly_forward:
            _check_finite(out, f"{name} (forward, called at {_user_frame()})")
        return _make(out, input.device, False, None)

    op.Function = Fn
    return _finish(name, op, doc, method, inplace, "x" in saved)


def _check_param_defaults(name, params, fns):
    """A binary op called without params passes none (the lean path): its forward, check and vjps
    must then default each param to the declared value."""
    for fn in fns:
        if fn is None:
            continue
        sig = inspect.signature(fn).parameters
        for key, value in params.items():
            par = sig.get(key)
            if par is None and not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
                raise ValueError(f"op {name!r}: {fn} does not take the param {key!r}")
            if par is not None and (par.default is par.empty or par.default != value):
                raise ValueError(f"op {name!r}: {fn} must default {key!r} to {value!r}")


def binary(name, vjp, forward=None, backend=None, doc="", method=True, inplace=True, floating=False,
           vjp_arrays=None, promote=True, params=None, check=None, refuse=None):
    """Declare an elementwise op of two operands with broadcasting: y = forward(x, y).

    `floating` is a bool or a function of the params (div: only without rounding_mode). Params
    (`params={"alpha": 1}`) must have the same defaults in forward, check and the vjps' signatures.
    `refuse(x, y)` sees the operands before promotion (for dtypes PyTorch refuses, such as sub of a bool) and
    raises; the same-dtype fast path skips it, so forward checks that case itself."""
    params = dict(params or {})
    _check_param_defaults(name, params, (forward, check, *vjp))
    call, plain = _forward_caller(name, forward, backend, 2)
    saved = sorted({n for v in vjp if v is not None for n in _saved_names(v)}, key=("x", "y", "out").index)
    Fn = _make_function(name, call, tuple(vjp), saved, 2, vjp_arrays)
    differentiable = any(v is not None for v in vjp)
    floating_of = floating if callable(floating) else None
    floating_default = floating() if callable(floating) else floating  # with the declared params

    listed = name in amp_policy.NAMES  # autocast casts this op's inputs (checked here: no wrapper on the hot path)

    def op(input, other, *args, **kwargs):
        try:
            if (type(input) is Tensor and type(other) is Tensor and not args and not kwargs
                    and not (listed and amp_policy.active)):
                xa, ya = input._data, other._data
                device = input.device
                if (xa.dtype is ya.dtype and other.device is device
                        and (not floating_default or xa.dtype.kind in "fc")):
                    # The common call: two tensors of one dtype on one device, nothing to promote or bind.
                    if differentiable and (input.requires_grad or other.requires_grad) and modes.grad_enabled:
                        return _record(Fn, plain, (input, other), (xa, ya), device, _NO_PARAMS)
                    if not (grad_mode.anomaly_threads and modes.anomaly_forward):  # the forward straight on the arrays
                        be = device.backend
                        try:
                            out = forward(be.xp, xa, ya) if forward is not None else call(be, xa, ya)
                        except (ValueError, TypeError, IndexError) as e:
                            raise _forward_error(Fn, (input, other), e) from e
                        return _make(out, device, False, None)
            if "out" in kwargs:
                return out_arg.call_with_out(name, op, (input, other, *args), kwargs)
            if listed and amp_policy.active:
                return amp_policy.dispatch(name, general, (input, other, *args), kwargs)
            return general(input, other, *args, **kwargs)
        except TensorcoreError:
            raise
        except BOUNDARY as e:
            raise boundary_error(name, e) from e

    def general(input, other, *args, **kwargs):
        x, y = input, other
        if type(x) is not Tensor or type(y) is not Tensor:
            x, y = _operands(name, x, y)
        if args or kwargs:
            p = _bind(name, params, args, kwargs)
            fl = floating_of(**p) if floating_of is not None else floating
        else:
            p, fl = _NO_PARAMS, floating_default
        if check is not None:
            check(**p)
        if refuse is not None:
            refuse(x, y)
        if promote:
            x, y = _promote(x, y, fl)
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
            return _record(Fn, call, (x, y), (xa, ya), device, p)
        be = device.backend
        try:
            out = forward(be.xp, xa, ya, **p) if forward is not None else call(be, xa, ya, **p)
        except (ValueError, TypeError, IndexError) as e:
            raise _forward_error(Fn, (x, y), e) from e
        if not hasattr(out, "dtype"):  # two Python numbers never get here; a 0-d NumPy result might
            out = be.asarray(out)
        if modes.anomaly_forward:
            _check_finite(out, f"{name} (forward, called at {_user_frame()})")
        return _make(out, device, False, None)

    op.Function = Fn
    return _finish(name, op, doc, method, inplace, "x" in saved)
