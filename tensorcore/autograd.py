"""The tape: Function (a forward/backward pair), the graph node it records, and the engine.

A differentiable op is a `Function` subclass. `forward(ctx, *arrays, **params)` works on backend
arrays and returns one array; `backward(ctx, grad)` receives the output's gradient as a Tensor and
returns one gradient per input, or None where the input needs no gradient. The engine (`_normalize`)
sums each gradient back to its input's shape (undoing broadcasting) and casts it to the input's
dtype, in one place, so no op does either.

Backward rules are written with tensor ops. Under `backward(create_graph=True)` they are recorded,
so gradients of gradients work. Under plain `backward()` the engine works on raw arrays and, where
an op defines the optional `backward_arrays(ctx, grad_array)` (on raw arrays, `ctx.saved_arrays`),
calls that instead: the cheaper path is the engine's choice, never the op's, and
`set_fast_backward(False)` turns it off everywhere (the tests compare both). A Function whose backward
is not made of differentiable ops sets `once_differentiable = True`: backpropagating through its
gradient raises instead of giving a wrong number.

The engine walks the graph without recursion, in the reverse of recording order: every node has an
`order` that falls as nodes are recorded, and a node's consumers are recorded after it, so taking the
pending node of lowest order first (a heap) runs each node once all its consumers have run (PyTorch's
ready queue orders by sequence number the same way). No pass counts consumers first. Gradients reaching
a node are summed in a dict keyed by node.
"""

import itertools
import sys

from . import grad_mode as _grad_mode
from .errors import AnomalyError, ArgumentError, GradientError, ShapeError
from .grad_mode import (  # noqa: F401  (re-exported: tc.autograd.no_grad, ...)
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    modes,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)

_fast_backward = True


def set_fast_backward(enabled):
    """Let plain backward() use ops' `backward_arrays` (True, the default) or force the Tensor rules."""
    global _fast_backward
    _fast_backward = bool(enabled)


def _user_frame():
    """File and line of the innermost frame outside tensorcore's modules: where the user called the op."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "tensorcore" and not module.startswith("tensorcore."):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _check_finite(array, what):
    xp = _array_module(array)
    if array.dtype.kind in "fcV" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise AnomalyError(f"{what} produced {kind}")


def _array_module(array):
    if type(array).__module__.startswith("cupy"):
        import cupy

        return cupy
    import numpy

    return numpy


# --- contexts ---------------------------------------------------------------------------------------

_SAVED_OUTPUT = object()
_recorded = itertools.count(0, -1)


class _NoGradNeeded:
    """needs_input_grad of an unrecorded call: False for every input."""

    def __getitem__(self, i):
        return False

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False


class ForwardContext:
    """What forward gets when nothing records: the backend, and a save_for_backward that keeps nothing."""

    needs_input_grad = _NoGradNeeded()
    out_device = None
    _to_save = ()

    def __init__(self, backend):
        self.backend = backend

    def save_for_backward(self, *arrays):
        pass

    # torch.autograd.Function's ctx methods, for the forwards of torch-style subclasses (Function.tensor_forward)
    non_differentiable = ()  # ids of the outputs mark_non_differentiable named
    output_marked = False  # the forward's output is one of them: _record gives a plain result

    def mark_dirty(self, *tensors):
        """Accepted: an in-place forward's output is a new tensor here."""

    def mark_non_differentiable(self, *tensors):
        """The output so marked gets no gradient."""
        self.non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        """Accepted: a gradient always arrives as a Tensor here."""


class Context(ForwardContext):
    """One recorded call of a Function (a node of the graph): what backward needs, and the edges.

    Ops may store any plain attribute on it in forward (axis, shapes, masks). `saved_tensors` gives
    back what `save_for_backward` kept: inputs and the output as Tensors that stay connected to the
    graph (so create_graph works through them), anything else as constant Tensors. Each saved Tensor
    is version-checked: an in-place change after the save makes backward raise.
    """

    # Defaults of the fields most nodes never set (class attributes: a node records in fewer steps).
    created_at = None  # where the user called the op (anomaly mode)
    _saved = ()  # (item, version counter, version) triples; None once freed
    _output_data = None  # the output, when saved for backward (with its version counter)
    _output_vc = None
    params = {}  # a declared op's keyword params; calls without any share this dict (never written to)
    _hooked = None  # once hooked: the output tensor with gradient hooks (or retain_grad), or the node itself
    _fn_hooks = None  # the node's own register_prehook / register_hook hooks (hooks.NodeHooks)
    view_args = None  # a view op's inputs (the base first) and params, to make the view again (ops/copy_slices.py)
    view_params = None

    def __init__(self, fn, device, needs_input_grad, edges, input_meta):
        self.order = next(_recorded)  # falls as nodes are recorded: a node's consumers always come before it
        self.backend = device.backend
        self.fn = fn
        self.device = device
        self.needs_input_grad = needs_input_grad
        self.next = edges  # per input: its node, the leaf Tensor itself, or None
        self.input_meta = input_meta  # per input: (shape, dtype), or None for a constant

    def save_for_backward(self, *arrays):
        self._to_save = arrays

    def _saved_items(self):
        saved = self._saved
        if saved is None:
            raise GradientError(
                f"{self.fn.name()}: trying to backward through the graph a second time; its saved arrays "
                "were freed after the first backward. Pass retain_graph=True to the first call."
            )
        for _item, vc, version in saved:
            if vc is not None and vc[0] != version:
                _raise_modified(self, vc[0], version)
        return saved

    @property
    def saved_tensors(self):
        out = []
        for item, _, _ in self._saved_items():
            if item.__class__ is _Packed:  # saved through autograd.graph.saved_tensors_hooks
                out.append(_graph.unpacked_tensor(self, item))
            elif item is _SAVED_OUTPUT:
                t = _make_tensor(self._output_data, self.device, True, self)
                t._vc = self._output_vc
                out.append(t)
            elif isinstance(item, _Tensor) or item is None or isinstance(item, (int, float)):
                out.append(item)
            else:
                out.append(_make_tensor(item, self.device, False, None))
        return tuple(out)

    @property
    def saved_arrays(self):
        """What save_for_backward kept, as raw arrays (for backward_arrays): _saved_items' checks, in its loop."""
        saved = self._saved
        if not saved:
            return () if saved is not None else self._saved_items()  # (that raises: freed)
        out = []
        for item, vc, version in saved:
            if vc is None:  # a constant (a Python number, an array the op kept), or a save packed by hooks
                out.append(item if item.__class__ is not _Packed else item.tensor()._data)
                continue
            if vc[0] != version:
                _raise_modified(self, vc[0], version)
            out.append(self._output_data if item is _SAVED_OUTPUT else item._data)
        return out

    def name(self):
        """PyTorch's grad_fn.name(): the node's name as the Tensor's repr shows it (MulBackward)."""
        return f"{self.fn.__name__}Backward"

    def register_prehook(self, hook):
        """hook(grad_outputs) -> None or new grad_outputs, before this node's backward runs (PyTorch's)."""
        return self._own_hooks(hook).add(self._fn_hooks.pre, hook)

    def register_hook(self, hook):
        """hook(grad_inputs, grad_outputs) -> None or new grad_inputs, after this node's backward (PyTorch's)."""
        return self._own_hooks(hook).add(self._fn_hooks.post, hook)

    def _own_hooks(self, hook):
        from .hooks import NodeHooks

        if not callable(hook):
            raise ArgumentError(f"{self.name()}: a hook must be callable, got {type(hook).__name__}")

        if self._fn_hooks is None:
            self._fn_hooks = NodeHooks()
        if self._hooked is None:
            self._hooked = self  # the engine looks at a node's hooks when _hooked is set
        return self._fn_hooks

    @property
    def next_functions(self):
        """Per input, as PyTorch's: (the node that made it, 0), (its AccumulateGrad, 0) for a leaf that needs a
        gradient, or (None, 0) for a constant."""
        return tuple((AccumulateGrad(e) if isinstance(e, _Tensor) else e, 0) for e in self.next)

    def __repr__(self):
        return f"<{self.name()}>"


class AccumulateGrad:
    """The end of a graph path at a leaf (grad_fn.next_functions' entry): `variable` is the leaf Tensor."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


def _raise_modified(ctx, now, saved):
    raise GradientError(
        f"{ctx.fn.name()}: a tensor saved for backward was modified in place afterwards "
        f"(its version is {now}, it was saved at version {saved}). Use an out-of-place op "
        "(x = x + y instead of x += y) or clone() it before the in-place change."
    )


# --- Function ---------------------------------------------------------------------------------------


class Function:
    """Base class of differentiable ops (like torch.autograd.Function).

    Example:
        class Square(tc.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad
        y = Square.apply(tc.tensor([3.0], requires_grad=True))
    """

    once_differentiable = False
    # forward sees Tensors and may return one (PyTorch's rule for torch.autograd.Function): every subclass defined
    # outside tensorcore; tensorcore's own ops get the backend arrays
    tensor_forward = False
    changes_device = False  # only ToDevice: its output lives on ctx.out_device
    is_view = False  # the output shares the first input's memory (and so its version counter)
    # A view op whose forward makes the same view again from the base and the call's params: an in-place change
    # through its output is followed (ops/copy_slices.py). False where a param pins the base's memory (as_strided).
    remakes_view = True
    backward_arrays = None  # optional: (ctx, grad_array) -> raw-array gradients, for plain backward()

    @staticmethod
    def forward(ctx, *args, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "tensor_forward" not in cls.__dict__ and cls.__module__.split(".")[0] != "tensorcore":
            cls.tensor_forward = True

    @classmethod
    def name(cls):
        return getattr(cls, "op_name", None) or cls.__name__.lower()

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and, when recording, add a node to the tape.

        Inputs are Tensors, or constants (Python numbers, None) that get no gradient.
        """
        device = None
        requires = False
        arrays = []
        for t in inputs:
            if isinstance(t, _Tensor):
                if device is None:
                    device = t.device
                elif t.device is not device:
                    _raise_device_mix(cls, inputs)
                if t.requires_grad:
                    requires = True
                arrays.append(t._data)
            elif t is None or isinstance(t, (int, float)):
                arrays.append(t)
            else:
                raise ArgumentError(f"{cls.name()}: expected Tensor inputs, got {type(t).__name__}")
        if device is None:
            raise ArgumentError(f"{cls.name()}: needs at least one Tensor input")
        try:
            if requires and modes.grad_enabled:
                return _record(cls, inputs, params, device)
            return forward_only(cls, inputs, arrays, device, params)
        except _SeveralOutputs:
            # NOTE: a torch-style forward with several outputs runs again there, on its flat node
            from .autograd_compat import TorchFunction

            return TorchFunction.apply.__func__(cls, *inputs, **params)


def forward_only(cls, inputs, arrays, device, params):
    """The lean path of Function.apply: nothing records, no node, nothing saved. An op's public function
    may call it directly once it knows that nothing records (the inputs checked, their arrays taken)."""
    ctx = ForwardContext(device.backend)
    try:
        out = _call_forward(cls, ctx, arrays, device, params)
    except (ValueError, TypeError, IndexError) as e:
        raise _forward_error(cls, inputs, e) from e
    if modes.anomaly_forward:
        _check_finite(out, f"{cls.name()} (forward, called at {_user_frame()})")
    result = _make_tensor(out, ctx.out_device or device, False, None)
    if cls.is_view:
        result._vcounter = vc = inputs[0]._vc
        if not vc[1]:
            _copy_slices.first_view(vc, inputs[0])  # the counter keeps the memory's owner
    return result


def _call_forward(cls, ctx, arrays, device, params):
    """cls.forward on the arrays, or for a tensor-forward class on Tensors: detached views of the inputs' arrays
    (what it saves or returns is mapped back to arrays, so saves of inputs and of the output keep their meaning)."""
    if not cls.tensor_forward:
        return cls.forward(ctx, *arrays, **params)
    args = [a if a is None or isinstance(a, (int, float)) else _make_tensor(a, device, False, None) for a in arrays]
    out = cls.forward(ctx, *args, **params)
    if isinstance(out, (tuple, list)):
        raise _SeveralOutputs
    if not isinstance(out, _Tensor):
        raise ArgumentError(f"{cls.name()}: forward must return a Tensor, got {type(out).__name__}")
    if ctx._to_save:
        ctx._to_save = tuple(t._data if isinstance(t, _Tensor) else t for t in ctx._to_save)
    ctx.output_marked = id(out) in ctx.non_differentiable
    return out._data


class _SeveralOutputs(Exception):
    """A tensor-forward class returned a tuple: Function.apply hands the call to autograd_compat's flat node."""


def _record(cls, inputs, params, device):
    """The recording path of Function.apply: forward, then a node with edges, metadata and saves."""
    if len(inputs) == 1:  # one Tensor input (sum, reshape, most stateful ops): it requires grad, as we record
        t = inputs[0]
        a = t._data
        arrays, meta, needs, edges = (a,), ((a.shape, a.dtype),), (True,), (t if t._node is None else t._node,)
    elif len(inputs) == 2 and type(inputs[0]) is _Tensor and type(inputs[1]) is _Tensor:  # matmul, linear, ...
        x, y = inputs
        a, b = x._data, y._data
        arrays, meta = (a, b), ((a.shape, a.dtype), (b.shape, b.dtype))
        needs = (x.requires_grad, y.requires_grad)
        edges = ((x if x._node is None else x._node) if needs[0] else None,
                 (y if y._node is None else y._node) if needs[1] else None)
    else:
        needs, edges, meta, arrays = [], [], [], []
        for t in inputs:
            if isinstance(t, _Tensor):
                a = t._data
                meta.append((a.shape, a.dtype))
                arrays.append(a)
                if t.requires_grad:
                    needs.append(True)
                    edges.append(t if t._node is None else t._node)
                    continue
            else:
                meta.append(None)
                arrays.append(t)
            needs.append(False)
            edges.append(None)
    ctx = Context(cls, device, needs, edges, meta)
    try:
        if cls.tensor_forward:
            out = _call_forward(cls, ctx, arrays, device, params)
        else:
            out = cls.forward(ctx, *arrays, **params)
    except (ValueError, TypeError, IndexError) as e:
        raise _forward_error(cls, inputs, e) from e
    if ctx.output_marked:  # a torch-style forward marked its output non-differentiable
        return _make_tensor(out, device, False, None)
    result = _make_tensor(out, ctx.out_device or device, True, ctx)
    if cls.is_view:  # the output shares the input's version counter (Tensor._vc, inline)
        vc = inputs[0]._vcounter
        if vc is None:
            vc = inputs[0]._vcounter = [0, False]
        result._vcounter = vc
        if not vc[1]:
            _copy_slices.first_view(vc, inputs[0])
        if cls.remakes_view:
            ctx.view_args, ctx.view_params = inputs, params  # an in-place change of the memory remakes the view
            if inputs[0]._node is not None:
                _copy_slices.track(vc, result)
    if ctx._to_save:
        saved = []
        for a in ctx._to_save:
            if a is out:
                ctx._output_data, ctx._output_vc = out, result._vc
                saved.append((_SAVED_OUTPUT, result._vc, result._vc[0]))
                continue
            for i, arr in enumerate(arrays):
                if a is arr and meta[i] is not None:  # an input Tensor's array: saved as that Tensor, versioned
                    t = inputs[i]
                    vc = t._vcounter
                    if vc is None:
                        vc = t._vcounter = [0, False]  # Tensor._vc, inline
                    saved.append((t, vc, vc[0]))
                    break
            else:
                saved.append((a, None, 0))
        ctx._saved = saved if not _grad_mode.saved_hooks_threads else _packed(ctx, saved, result)
        ctx._to_save = None
    if _grad_mode.anomaly_threads and modes.anomaly:
        ctx.created_at = _user_frame()
        if modes.anomaly_forward:
            _check_finite(out, f"{cls.name()} (forward, called at {ctx.created_at})")
    return result


def _forward_error(cls, inputs, error):
    """An array-library error inside forward, re-raised naming the op and its inputs' shapes and dtypes."""
    from .errors import DTypeError, TensorcoreError

    if isinstance(error, TensorcoreError):
        return error
    described = ", ".join(f"{tuple(t.shape)} {t.dtype}" if isinstance(t, _Tensor) else repr(t) for t in inputs)
    kind = DTypeError if isinstance(error, TypeError) else ShapeError
    message = str(error)
    if "broadcast" in message:
        shapes = " and ".join(str(tuple(t.shape)) for t in inputs if isinstance(t, _Tensor))
        return ShapeError(f"{cls.name()}: shapes {shapes} cannot be broadcast together")
    return kind(f"{cls.name()}: {message} (inputs: {described})")


def _raise_device_mix(cls, inputs):
    from .errors import DeviceError

    devices = ", ".join(str(t.device) for t in inputs if isinstance(t, _Tensor))
    raise DeviceError(f"{cls.name()}: tensors on different devices ({devices}); move them with .to(device)")


def _edge(t):
    """Where an input's gradient goes: its node, the leaf tensor itself, or nowhere (None)."""
    if not isinstance(t, _Tensor) or not t.requires_grad:
        return None
    return t._node if t._node is not None else t


class _NotDifferentiableTwice(Function):
    """Stands in the graph for the gradient of a once-differentiable op under create_graph."""

    @staticmethod
    def backward(ctx, grad):
        raise GradientError(
            f"{ctx.op}: its backward is not differentiable, so double backward through it is "
            "not supported (the first-order gradient is fine)"
        )


def _wrap_once_differentiable(node, grad_out, grads):
    """Connect a once-differentiable op's gradients to a node that raises if backpropagated."""
    edges = (_edge(grad_out),) + tuple(node.next)
    if all(e is None for e in edges):
        return grads
    wrapped = []
    for g in grads:
        if g is None:
            wrapped.append(None)
            continue
        ctx = Context(_NotDifferentiableTwice, node.device, None, edges, (None,) * len(edges))
        ctx.op = node.fn.name()
        wrapped.append(_make_tensor(g._data, node.device, True, ctx))
    return tuple(wrapped)


# Filled in by tensor.py (the Tensor class imports this module, not the other way round).
_Tensor = None
_make_tensor = None

from . import autograd_graph as _graph  # noqa: E402
from . import engine as _engine  # noqa: E402  (the engine uses the names above)
from .autograd_graph import _Packed  # noqa: E402

graph = _graph  # tc.autograd.graph, as torch.autograd.graph


def _packed(ctx, saved, result):
    """A node's saves through this thread's saved_tensors_hooks, when it has any."""
    return _graph.pack(ctx, saved, result) if _graph.hooks_in_force() else saved
from .ops import copy_slices as _copy_slices  # noqa: E402

backward, grad, queue_callback = _engine.backward, _engine.grad, _engine.queue_callback
