"""The tape: Function (a forward/backward pair), the graph node it records, and the engine.

A differentiable op is a `Function` subclass. `forward(ctx, *arrays, **params)` works on backend
arrays and returns one array; `backward(ctx, grad)` receives the output's gradient as a Tensor and
returns one gradient per input: a Tensor (or array) of that input's shape, or None where the input
needs no gradient. The engine checks every returned gradient's shape here, in one place.

Backward rules are written with tensor ops. Under plain `backward()` they run with recording off;
under `backward(create_graph=True)` they are recorded, so gradients of gradients work. A Function
whose backward is not made of differentiable ops sets `once_differentiable = True`: its gradient
can still be used, but backpropagating through it raises instead of giving a wrong number.

The engine walks the graph without recursion: one pass counts each node's consumers, then nodes
run when all their consumers have run (Kahn's algorithm), gradients summed in a dict keyed by node.
"""

import sys
import weakref

from .errors import AnomalyError, ArgumentError, GradientError, ShapeError

# --- grad mode --------------------------------------------------------------------------------

_grad_enabled = True
_anomaly_enabled = False
_anomaly_forward = False  # anomaly mode checks forward outputs (off while the engine runs backward rules)


def is_grad_enabled():
    return _grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode to `self.mode` and restores it on exit."""

    mode = True

    def __enter__(self):
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn):
        import functools

        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """`tc.set_grad_enabled(False)` turns recording off now; as a context manager, until the block ends."""

    def __init__(self, mode):
        self.mode = bool(mode)
        _GradMode.__enter__(self)

    def __enter__(self):
        return self


class no_grad(_GradMode):
    """`with tc.no_grad():` or `@tc.no_grad()`: ops inside record nothing."""

    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a no_grad region."""

    mode = True


# --- anomaly detection ---------------------------------------------------------------------------


def set_detect_anomaly(mode):
    """Check every op's output and every gradient for NaN/Inf (off by default: no cost when off)."""
    global _anomaly_enabled, _anomaly_forward
    _anomaly_enabled = _anomaly_forward = bool(mode)


def is_anomaly_enabled():
    return _anomaly_enabled


class detect_anomaly:
    """`with tc.detect_anomaly():` a NaN or Inf raises AnomalyError naming the op and where it was made."""

    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        self.prev = _anomaly_enabled
        set_detect_anomaly(self.mode)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(self.prev)


def _user_frame():
    """File and line of the innermost frame outside tensorcore: where the user called the op."""
    frame = sys._getframe(2)
    while frame is not None and "/tensorcore/" in frame.f_code.co_filename.replace("\\", "/"):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _check_finite(array, what):
    xp = _array_module(array)
    if array.dtype.kind in "fc" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise AnomalyError(f"{what} produced {kind}")


def _array_module(array):
    mod = type(array).__module__
    if mod.startswith("cupy"):
        import cupy

        return cupy
    import numpy

    return numpy


# --- the graph node -------------------------------------------------------------------------------

_SAVED_OUTPUT = object()


class Context:
    """One recorded call of a Function: what backward needs, and the edges to the inputs.

    Ops may store any plain attribute on it in forward (axis, shapes, masks). `saved_tensors`
    gives back what `save_for_backward` kept: inputs and the output as Tensors that stay connected
    to the graph (so create_graph works through them), anything else as constant Tensors.
    """

    def __init__(self, backend, needs_input_grad):
        self.backend = backend
        self.needs_input_grad = needs_input_grad
        self._to_save = ()

    def save_for_backward(self, *arrays):
        self._to_save = arrays

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            raise GradientError(
                f"{self.name}: trying to backward through the graph a second time; its saved arrays "
                "were freed after the first backward. Pass retain_graph=True to the first call."
            )
        out = []
        for item, version in saved:
            if item is _SAVED_OUTPUT:
                t = self._output_ref()
                if t is not None and t._version != 0:
                    _raise_modified(self, t._version, 0)
                out.append(_make_tensor(self._output_data, self.device, True, self))
            elif isinstance(item, _Tensor):
                if item._version != version:
                    _raise_modified(self, item._version, version)
                out.append(item)
            elif item is None or isinstance(item, (int, float)):
                out.append(item)
            else:
                out.append(_make_tensor(item, self.device, False, None))
        return tuple(out)

    @property
    def name(self):
        return self.fn.name()

    def __repr__(self):
        return f"<{self.fn.__name__}Backward>"


def _raise_modified(ctx, now, saved):
    raise GradientError(
        f"{ctx.name}: a tensor saved for backward was modified in place afterwards "
        f"(its version is {now}, it was saved at version {saved}). Use an out-of-place op "
        "(x = x + y instead of x += y) or clone() it before the in-place change."
    )


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
    changes_device = False  # only ToDevice: its output lives on ctx.out_device

    @staticmethod
    def forward(ctx, *args, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

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
                requires = requires or t.requires_grad
                arrays.append(t.data)
            else:
                if t is not None and not isinstance(t, (int, float)):
                    raise ArgumentError(f"{cls.name()}: expected Tensor inputs, got {type(t).__name__}")
                arrays.append(t)
        if device is None:
            raise ArgumentError(f"{cls.name()}: needs at least one Tensor input")
        backend = device.backend
        if not (requires and _grad_enabled):
            ctx = Context(backend, _NO_GRAD_NEEDED)
            try:
                out = cls.forward(ctx, *arrays, **params)
            except (ValueError, TypeError, IndexError) as e:
                raise _forward_error(cls, inputs, e) from e
            if _anomaly_forward:
                _check_finite(out, f"{cls.name()} (forward, called at {_user_frame()})")
            return _make_tensor(out, ctx.out_device if cls.changes_device else device, False, None)

        needs, edges, meta = [], [], []
        for t, a in zip(inputs, arrays):
            if isinstance(t, _Tensor):
                meta.append((a.shape, a.dtype))
                if t.requires_grad:
                    needs.append(True)
                    edges.append(t if t._node is None else t._node)
                    continue
            else:
                meta.append(None)
            needs.append(False)
            edges.append(None)
        ctx = Context(backend, needs)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except (ValueError, TypeError, IndexError) as e:
            raise _forward_error(cls, inputs, e) from e
        ctx.fn = cls
        ctx.device = device
        ctx.next = edges
        ctx.input_meta = meta
        result = _make_tensor(out, ctx.out_device if cls.changes_device else device, True, ctx)
        to_save = ctx._to_save
        if to_save:
            saved = []
            for a in to_save:
                if a is out:
                    ctx._output_data = out
                    ctx._output_ref = weakref.ref(result)
                    saved.append((_SAVED_OUTPUT, 0))
                    continue
                for t, arr in zip(inputs, arrays):
                    if a is arr and isinstance(t, _Tensor):
                        saved.append((t, t._version))
                        break
                else:
                    saved.append((a, 0))
            ctx._saved = saved
        else:
            ctx._saved = ()
        ctx._to_save = None
        if _anomaly_enabled:
            ctx.created_at = _user_frame()
        if _anomaly_forward:
            _check_finite(out, f"{cls.name()} (forward, called at {ctx.created_at})")
        return result


_NO_GRAD_NEEDED = None


def _forward_error(cls, inputs, error):
    """An array-library error inside forward, re-raised naming the op and its inputs' shapes and dtypes."""
    from .errors import DTypeError, ShapeError, TensorcoreError

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
        ctx = Context(node.backend, None)
        ctx.fn = _NotDifferentiableTwice
        ctx.op = node.name
        ctx.device = node.device
        ctx.next = edges
        ctx.input_meta = (None,) * len(edges)
        ctx._saved = ()
        wrapped.append(_make_tensor(g.data, node.device, True, ctx))
    return tuple(wrapped)


# --- the engine --------------------------------------------------------------------------------------

_callbacks = []


def queue_callback(fn):
    """Run `fn()` once the current backward pass has finished (used by DistributedDataParallel)."""
    _callbacks.append(fn)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensors)/d(leaf) into every leaf's `.grad`."""
    tensors, grad_tensors = _roots(tensors, grad_tensors, "backward")
    _run(tensors, grad_tensors, retain_graph if retain_graph is not None else create_graph,
         create_graph, None, False)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple of Tensors, without touching any `.grad`.

    Example:
        x = tc.tensor([1.0, 2.0], requires_grad=True)
        (g,) = tc.grad((x ** 3).sum(), x, create_graph=True)   # 3 x^2, itself differentiable
    """
    outputs, grad_outputs = _roots(outputs, grad_outputs, "grad")
    single = isinstance(inputs, _Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for t in inputs:
        if not isinstance(t, _Tensor) or not t.requires_grad:
            raise GradientError("grad: every input must be a Tensor that requires grad")
    found = _run(outputs, grad_outputs, retain_graph if retain_graph is not None else create_graph,
                 create_graph, inputs, allow_unused)
    return tuple(found)


def _roots(tensors, grads, op):
    if isinstance(tensors, _Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    if grads is None or isinstance(grads, _Tensor):
        grads = (grads,) * len(tensors) if grads is None else (grads,)
    grads = tuple(grads)
    if len(grads) != len(tensors):
        raise GradientError(f"{op}: got {len(tensors)} outputs but {len(grads)} gradients")
    out = []
    for t, g in zip(tensors, grads):
        if not t.requires_grad:
            raise GradientError(
                f"{op}: tensor of shape {t.shape} does not require grad and has no grad_fn "
                "(was it computed under no_grad, or from inputs without requires_grad=True?)"
            )
        if g is None:
            if t.data.size != 1:
                raise GradientError(
                    f"{op}: grad can be implicitly created only for scalar outputs, got shape "
                    f"{t.shape}; pass a gradient of that shape"
                )
            g = _make_tensor(t.device.backend.xp.ones(t.shape, dtype=t.dtype), t.device, False, None)
        elif not isinstance(g, _Tensor):
            g = _make_tensor(t.device.backend.asarray(g, dtype=t.dtype), t.device, False, None)
        if g.shape != t.shape:
            raise ShapeError(f"{op}: gradient of shape {g.shape} for an output of shape {t.shape}")
        out.append(g)
    return tensors, tuple(out)


def _run(roots, root_grads, retain_graph, create_graph, inputs, allow_unused):
    global _grad_enabled, _anomaly_forward
    # 1. Count, for each node, how many consumers it has in this graph.
    deps = {}
    stack = []
    for t in roots:
        if t._node is not None and t._node not in deps:
            deps[t._node] = 0
            stack.append(t._node)
    while stack:
        node = stack.pop()
        for nxt in node.next:
            if nxt is None or isinstance(nxt, _Tensor):
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                stack.append(nxt)

    capture = None
    if inputs is not None:
        capture = {}
        wanted = {id(t._node if t._node is not None else t): i for i, t in enumerate(inputs)}

    grads = {}
    owned = set()
    prev_mode = _grad_enabled
    _grad_enabled = create_graph
    _anomaly_forward = False  # backward rules are checked per node, in _normalize
    try:
        for t, g in zip(roots, root_grads):
            if t._node is None:
                _deliver_leaf(t, g, capture, wanted if capture is not None else None, owned, create_graph)
            else:
                prev = grads.get(t._node)
                grads[t._node] = g if prev is None else prev + g
        ready = [n for n, d in deps.items() if d == 0]
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            if capture is not None and id(node) in wanted and g is not None:
                capture[wanted[id(node)]] = g
            in_grads = None
            if g is not None:
                in_grads = _call_backward(node, g, create_graph)
                if not retain_graph and node._saved:
                    node._saved = None  # free what forward saved; nodes that saved nothing stay usable
            for i, nxt in enumerate(node.next):
                if nxt is None:
                    continue
                gi = in_grads[i] if in_grads is not None else None
                if isinstance(nxt, _Tensor):
                    if gi is not None:
                        _deliver_leaf(nxt, gi, capture, wanted if capture is not None else None,
                                      owned, create_graph)
                    continue
                if gi is not None:
                    prev = grads.get(nxt)
                    grads[nxt] = gi if prev is None else prev + gi
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
    finally:
        _grad_enabled = prev_mode
        _anomaly_forward = _anomaly_enabled
        if _callbacks:
            callbacks = list(_callbacks)
            _callbacks.clear()
            for fn in callbacks:
                fn()

    if capture is None:
        return None
    result = []
    for i, t in enumerate(inputs):
        g = capture.get(i)
        if g is None and not allow_unused:
            raise GradientError(
                f"grad: input {i} (shape {t.shape}) is not reached from the outputs; "
                "pass allow_unused=True to get None for it"
            )
        result.append(g)
    return result


def _call_backward(node, g, create_graph):
    if node._saved is None:
        raise GradientError(
            f"{node.name}: trying to backward through the graph a second time; its saved arrays "
            "were freed after the first backward. Pass retain_graph=True to the first call."
        )
    fn = node.fn
    if create_graph and fn.once_differentiable:
        with no_grad():
            in_grads = fn.backward(node, g)
        in_grads = _normalize(node, in_grads)
        return _wrap_once_differentiable(node, g, in_grads)
    return _normalize(node, fn.backward(node, g))


def _normalize(node, in_grads):
    """Check backward's result: one gradient per input, each of its input's shape and dtype."""
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    if len(in_grads) != len(node.next):
        raise GradientError(
            f"{node.name}: backward returned {len(in_grads)} gradients for {len(node.next)} inputs"
        )
    out = []
    for gi, meta, edge in zip(in_grads, node.input_meta, node.next):
        if gi is None or edge is None:
            out.append(None)
            continue
        if not isinstance(gi, _Tensor):
            gi = _make_tensor(node.backend.asarray(gi), node.device, False, None)
        shape, dtype = meta
        if gi.shape != shape:
            raise GradientError(
                f"{node.name}: backward returned a gradient of shape {gi.shape} for an input of shape {shape}"
            )
        if gi.dtype != dtype:
            gi = gi.astype(dtype)
        if _anomaly_enabled:
            where = getattr(node, "created_at", "<unknown>")
            _check_finite(gi.data, f"{node.name} (backward of the op called at {where})")
        out.append(gi)
    return out


def _deliver_leaf(leaf, g, capture, wanted, owned, create_graph):
    if capture is not None:
        i = wanted.get(id(leaf))
        if i is not None:
            prev = capture.get(i)
            capture[i] = g if prev is None else prev + g
        return
    if leaf.grad is None:
        if not create_graph:
            data = g.data
            # A leaf's .grad never shares memory with another gradient: copy views and reused arrays.
            if getattr(data, "base", None) is not None or id(data) in owned:
                data = data.copy()
            owned.add(id(data))
            g = _make_tensor(data, leaf.device, False, None)
        leaf.grad = g
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:
        leaf.grad = _make_tensor(leaf.grad.data + g.data, leaf.device, False, None)
    hooks = leaf._hooks
    if hooks:
        for hook in hooks:
            hook(leaf)


# Filled in by tensor.py (the Tensor class imports this module, not the other way round).
_Tensor = None
_make_tensor = None
