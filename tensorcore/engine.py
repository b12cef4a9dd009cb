"""The engine: backward() and grad() walk the tape from the roots to the leaves.

Plain backward (no create_graph) works on raw arrays from end to end: gradients are summed as
arrays, ops with `backward_arrays` get arrays, the others get a constant Tensor and their Tensor
results are unwrapped. Under create_graph every gradient is a Tensor and every rule is recorded.
"""

from heapq import heappop, heappush

import numpy as np

from . import autograd as ag
from . import grad_mode
from .errors import GradientError, ShapeError
from .grad_mode import modes

_ndarray = np.ndarray
_FIRST = [(0,) * n for n in range(65)]  # the index of an array's one element, per rank
_Tensor = None  # tensor.py's Tensor class, set when it is defined (it imports this module)

_callbacks = []


def queue_callback(fn):
    """Run `fn()` once the current backward pass has finished (used by DistributedDataParallel)."""
    _callbacks.append(fn)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's `.grad` (only into the `inputs`' .grad when given)."""
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, ag._Tensor) else tuple(inputs)
        if not inputs:
            raise ag.ArgumentError("backward: inputs= is an empty sequence")
        found = grad(tensors, inputs, grad_tensors, retain_graph, create_graph, allow_unused=True)
        for t, g in zip(inputs, found):
            if g is not None:
                t._grad = g if t._grad is None else t._grad + g
        return
    roots, grads = _roots(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph or (grad_mode.anomaly_threads and modes.anomaly):
        _run(roots, grads, retain_graph, create_graph, None, False)
    else:
        _plain(roots, grads, retain_graph)


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradient of this tensor into the .grad of every leaf it depends on."""
    if (gradient.__class__ is _Tensor and inputs is None and not create_graph and self.requires_grad
            and gradient._data.shape == self._data.shape and gradient.device is self.device
            and not (grad_mode.anomaly_threads and modes.anomaly)):
        _plain((self,), (gradient,), bool(retain_graph))  # the common call: one output and its gradient
    else:
        backward(self, gradient, retain_graph, create_graph, inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple of Tensors, without touching any `.grad`.

    Example:
        x = tc.tensor([1.0, 2.0], requires_grad=True)
        (g,) = tc.grad((x ** 3).sum(), x, create_graph=True)   # 3 x^2, itself differentiable
    """
    outputs, grad_outputs = _roots(outputs, grad_outputs, "grad")
    single = isinstance(inputs, ag._Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for t in inputs:
        if not isinstance(t, ag._Tensor) or not t.requires_grad:
            raise GradientError("grad: every input must be a Tensor that requires grad")
    found = _run(outputs, grad_outputs, retain_graph if retain_graph is not None else create_graph,
                 create_graph, inputs, allow_unused)
    return tuple(found)


def _roots(tensors, grads, op):
    if isinstance(tensors, ag._Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    if grads is None or isinstance(grads, ag._Tensor):
        grads = (grads,) * len(tensors) if grads is None else (grads,)
    grads = tuple(grads)
    if len(grads) != len(tensors):
        raise GradientError(f"{op}: got {len(tensors)} outputs but {len(grads)} gradients")
    out = []
    for t, g in zip(tensors, grads):
        if not isinstance(t, ag._Tensor):
            raise GradientError(f"{op}: expected Tensors to differentiate, got {type(t).__name__}")
        if not t.requires_grad:
            raise GradientError(
                f"{op}: tensor of shape {t.shape} does not require grad and has no grad_fn "
                "(was it computed under no_grad, or from inputs without requires_grad=True?)"
            )
        if g is None:
            if t._data.size != 1:
                raise GradientError(
                    f"{op}: grad can be implicitly created only for scalar outputs, got shape "
                    f"{t.shape}; pass a gradient of that shape"
                )
            g = ag._make_tensor(t.device.backend.xp.ones(t.shape, dtype=t.dtype), t.device, False, None)
        elif not isinstance(g, ag._Tensor):
            g = ag._make_tensor(t.device.backend.asarray(g, dtype=t.dtype), t.device, False, None)
        if g.shape != t.shape:
            raise ShapeError(f"{op}: gradient of shape {g.shape} for an output of shape {t.shape}")
        if g.device is not t.device:
            raise ag.ArgumentError(f"{op}: gradient on {g.device} for an output on {t.device}")
        out.append(g)
    return tensors, tuple(out)


def _run(roots, root_grads, retain_graph, create_graph, inputs, allow_unused):
    capture = wanted = None
    if inputs is not None:
        wanted = {id(t._node if t._node is not None else t): i for i, t in enumerate(inputs)}
        capture = {}
    arrays = not create_graph  # plain backward: raw arrays end to end
    owned = set()  # ids of arrays a .grad may not keep: the caller's, and those already kept
    pending = {}  # node -> the sum of the gradients that reached it so far
    order = []  # heap of (node.order, node): the node recorded last comes first
    state = modes
    prev_mode = state.grad_enabled
    if prev_mode is not create_graph:
        state.grad_enabled = create_graph
    anomaly = grad_mode.anomaly_threads and state.anomaly  # backward rules are then checked per node, below
    if anomaly:
        prev_anomaly, state.anomaly_forward = state.anomaly_forward, False
    grad_call = inputs is not None
    prev_grad_call = state.in_grad_call
    if prev_grad_call is not grad_call:
        state.in_grad_call = grad_call
    Context = ag.Context
    if capture is None and arrays:
        deliver = _accumulate  # plain backward(): into each leaf's .grad
    else:
        def deliver(leaf, g, owned):
            _deliver(leaf, g, owned, capture, wanted, create_graph)
    try:
        for t, g in zip(roots, root_grads):
            if arrays:
                g = g._data
                owned.add(id(g))  # the caller's gradient: a leaf's .grad gets a copy of it
            node = t._node
            if node is None:
                deliver(t, g, owned)
            elif not pending:  # the first root's node
                pending[node] = g
                order.append((node.order, node))
            else:
                _pend(pending, order, node, g)
        while order:
            node = heappop(order)[1]
            g = pending.pop(node)
            if node._hooked is not None:
                g = _node_hooks(node, g, arrays)
            if capture is not None and id(node) in wanted:
                capture[wanted[id(node)]] = g
            saved = node._saved
            if saved is None:
                raise _freed(node)
            in_grads = _backward_tensors(node, g) if create_graph else _backward_arrays(node, g)
            if node._fn_hooks is not None:
                in_grads = _post_node_hooks(node, in_grads, g, arrays)
            if saved and not retain_graph:
                node._saved = None  # free what forward saved; nodes that saved nothing stay usable
            for gi, meta, nxt in zip(in_grads, node.input_meta, node.next):
                if gi is None or nxt is None:
                    continue
                if arrays:
                    gi = _input_array(node, gi, meta)
                    if anomaly:
                        _check_grads(node, (gi,))
                if type(nxt) is Context:  # (Context has no subclasses)
                    _pend(pending, order, nxt, gi)
                else:
                    deliver(nxt, gi, owned)
    finally:
        if prev_mode is not create_graph:
            state.grad_enabled = prev_mode
        if anomaly:
            state.anomaly_forward = prev_anomaly
        if prev_grad_call is not grad_call:
            state.in_grad_call = prev_grad_call
        if _callbacks:
            _run_callbacks()
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
        if g is not None and not create_graph:
            g = ag._make_tensor(g, t.device, False, None)
        result.append(g)
    return result


def _plain(roots, root_grads, retain_graph):
    """backward() without create_graph, inputs= or anomaly mode, the common call: _run's walk for that case alone,
    raw arrays from the roots into the leaves' .grad, the usual steps inline and the rest in _run's helpers."""
    state = modes
    was_enabled = state.grad_enabled
    state.grad_enabled = False
    in_grad_call = state.in_grad_call
    if in_grad_call:
        state.in_grad_call = False  # a backward() inside a grad() (a checkpoint's recomputation)
    owned = set()  # as in _run
    pending = {}
    order = []
    Context = ag.Context
    node = None  # the node to run next when it is the only one waiting: it skips the heap (a chain's nodes do)
    try:
        if len(roots) == 1 and roots[0]._node is not None:
            node, g = roots[0]._node, root_grads[0]._data
            owned.add(id(g))
        else:
            for t, g in zip(roots, root_grads):
                g = g._data
                owned.add(id(g))
                if t._node is None:
                    _accumulate(t, g, owned)
                else:
                    _pend(pending, order, t._node, g)
        while True:
            if node is None:
                if not order:
                    break
                node = heappop(order)[1]
                g = pending.pop(node)
            hooked = node._hooked
            if hooked is not None:
                g = _node_hooks(node, g, True)
            saved = node._saved
            rule = node.fn.backward_arrays
            if rule is not None and saved is not None and ag._fast_backward:
                in_grads = rule(node, g)
                kind = in_grads.__class__
                if kind is not tuple and kind is not list or len(in_grads) != len(node.next):
                    in_grads = _checked_count(node, in_grads)
            else:
                in_grads = _backward_arrays(node, g)
            if hooked is not None and node._fn_hooks is not None:
                in_grads = _post_node_hooks(node, in_grads, g, True)
            if saved and not retain_graph:
                node._saved = None
            # With nothing else waiting, the first node this one reaches runs next, off the heap: every other
            # consumer of it has run (one still to run would be reached from it, a cycle). Another one queues it.
            node_of, node = node, None
            for gi, meta, nxt in zip(in_grads, node_of.input_meta, node_of.next):
                if gi is None or nxt is None:
                    continue
                if gi.__class__ is not _ndarray or gi.shape != meta[0] or gi.dtype is not meta[1]:
                    gi = _input_array(node_of, gi, meta)
                if type(nxt) is Context:
                    if node is None and not order:
                        node, g = nxt, gi
                    elif nxt is node:
                        g = g + gi
                    else:
                        if node is not None:  # a second node waits: both go through the heap
                            _pend(pending, order, node, g)
                            node = None
                        _pend(pending, order, nxt, gi)
                    continue
                # a leaf: the sum into its existing .grad in place (as _accumulate's common case), else _accumulate
                old = nxt._grad
                if old is not None and nxt._hooks is None:
                    acc = old._data
                    vc = old._vcounter
                    if acc.shape == gi.shape and acc.dtype is gi.dtype and vc is not None and id(acc) not in owned:
                        try:
                            if acc.size == 1 and acc.__class__ is _ndarray:
                                i = _FIRST[acc.ndim]  # (see _accumulate)
                                acc[i] = acc[i] + gi[i]
                            else:
                                acc += gi
                        except ValueError:
                            pass
                        else:
                            vc[0] += 1
                            continue
                _accumulate(nxt, gi, owned)
    finally:
        state.grad_enabled = was_enabled
        if in_grad_call:
            state.in_grad_call = True
        if _callbacks:
            _run_callbacks()


def _backward_arrays(node, g):
    """Plain backward: the node's raw-array rule, unless the switch forces its Tensor rule (a constant Tensor in,
    Tensor results unwrapped by _input_array)."""
    if node._saved is None:
        raise _freed(node)
    fn = node.fn
    rule = fn.backward_arrays
    if rule is not None and ag._fast_backward:
        in_grads = rule(node, g)
    else:
        in_grads = fn.backward(node, ag._make_tensor(g, node.device, False, None))
    kind = in_grads.__class__
    if kind is not tuple and kind is not list or len(in_grads) != len(node.next):
        in_grads = _checked_count(node, in_grads)
    return in_grads


def _input_array(node, gi, meta):
    """Plain backward: one gradient for an input, as an array summed back to the input's shape, in its dtype."""
    if gi.__class__ is not _ndarray:
        gi = gi._data if isinstance(gi, ag._Tensor) else node.backend.asarray(gi)
    shape, dtype = meta
    if gi.shape != shape:
        gi = _sum_to_shape_array(node, gi, shape)
    if gi.dtype is not dtype and gi.dtype != dtype:
        gi = gi.astype(dtype)
    return gi


def _run_callbacks():
    callbacks = list(_callbacks)
    _callbacks.clear()
    for fn in callbacks:
        fn()


def _pend(pending, order, node, g):
    """A gradient reaching a node: summed with those before it, the node queued when it is the first."""
    prev = pending.get(node)
    if prev is None:
        pending[node] = g
        heappush(order, (node.order, node))
    else:
        pending[node] = prev + g


def _freed(node):
    return GradientError(
        f"{node.fn.name()}: trying to backward through the graph a second time; its saved arrays "
        "were freed after the first backward. Pass retain_graph=True to the first call."
    )


def _backward_tensors(node, g):
    """create_graph: the node's Tensor rule, recorded, its gradients normalized as recorded ops."""
    if node._saved is None:
        raise _freed(node)
    fn = node.fn
    if fn.once_differentiable:
        with ag.no_grad():
            in_grads = _normalize_tensors(node, fn.backward(node, g))
        return ag._wrap_once_differentiable(node, g, in_grads)
    return _normalize_tensors(node, fn.backward(node, g))


# Broadcasting in forward is undone in the engine, for every op: a gradient with extra leading axes, or
# with size > 1 where the input had size 1, is summed over those axes.

def _checked_count(node, in_grads):
    if type(in_grads) is not tuple and type(in_grads) is not list:
        in_grads = (in_grads,)
    if len(in_grads) != len(node.next):
        raise GradientError(f"{node.fn.name()}: backward returned {len(in_grads)} gradients for "
                            f"{len(node.next)} inputs")
    return in_grads


def _normalize_tensors(node, in_grads):
    """create_graph: the gradients as Tensors, the summing and casting recorded like any op."""
    in_grads = _checked_count(node, in_grads)
    out = []
    for gi, meta, edge in zip(in_grads, node.input_meta, node.next):
        if gi is None or edge is None:
            out.append(None)
            continue
        shape, dtype = meta
        if not isinstance(gi, ag._Tensor):
            gi = ag._make_tensor(node.backend.asarray(gi), node.device, False, None)
        if gi.shape != shape:
            gi = _sum_to_shape_tensor(node, gi, shape)
        if gi.dtype != dtype:
            gi = gi.astype(dtype)
        out.append(gi)
    if modes.anomaly:
        _check_grads(node, [None if g is None else g._data for g in out])
    return out


def _check_grads(node, arrays):
    where = node.created_at or "<unknown>"
    for data in arrays:
        if data is not None:
            ag._check_finite(data, f"{node.fn.name()} (backward of the op called at {where})")


def _reduced_axes(node, gshape, shape):
    """The axes a gradient of shape gshape is summed over to reach shape (NumPy broadcasting undone)."""
    lead = len(gshape) - len(shape)
    ok = lead >= 0 and all(n == m or n == 1 for n, m in zip(shape, gshape[lead:]))
    if not ok:
        raise GradientError(f"{node.fn.name()}: backward returned a gradient of shape {tuple(gshape)} "
                            f"for an input of shape {shape}")
    return tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)


def _sum_to_shape_array(node, g, shape):
    axes = _reduced_axes(node, g.shape, shape)
    if axes:  # the backend's sum: float32 accumulation for float16/bfloat16, as PyTorch's
        g = node.backend.sum(g, axes, True)
    return g.reshape(shape)


def _sum_to_shape_tensor(node, g, shape):
    from .ops.reduce import Sum
    from .ops.shape import Reshape

    axes = _reduced_axes(node, g.shape, shape)
    if axes:
        g = Sum.apply(g, axes=axes, keepdims=True)
    return Reshape.apply(g, shape=shape) if g.shape != shape else g


def _grad_hooks(t, hooks, g, arrays):
    """A tensor's register_hook hooks on its gradient g (an array in plain backward): each may replace it."""
    for hook in list(hooks.grad.values()):
        new = hook(ag._make_tensor(g, t.device, False, None) if arrays else g)
        if new is None:
            continue
        if not isinstance(new, ag._Tensor) or new.shape != t.shape:
            got = f"shape {new.shape}" if isinstance(new, ag._Tensor) else type(new).__name__
            raise GradientError(f"register_hook: a hook returned a gradient of {got} for a tensor of shape {t.shape}")
        g = new._data if arrays else new
    return g


def _node_hooks(node, g, arrays):
    """Before a hooked node runs, on its complete gradient: the hooks of the non-leaf tensor it made (retain_grad
    keeps a copy in .grad), then the node's own pre-hooks (grad_fn.register_prehook)."""
    t = node._hooked
    hooks = t._hooks if t is not node else None
    if hooks is not None:
        if hooks.grad:
            g = _grad_hooks(t, hooks, g, arrays)
        if hooks.retain:
            kept = ag._make_tensor(g.copy(), t.device, False, None) if arrays else g
            t._grad = kept if t._grad is None else t._grad + kept
    own = node._fn_hooks
    if own is not None and own.pre:
        for hook in list(own.pre.values()):
            new = hook((ag._make_tensor(g, node.device, False, None) if arrays else g,))
            if new is not None:
                g = _checked_replacement(node, "register_prehook", new, (g,))[0]
                g = g._data if arrays else g
    return g


def _post_node_hooks(node, in_grads, g, arrays):
    """After a hooked node ran: its register_hook hooks see (grad_inputs, grad_outputs) and may replace the first."""
    own = node._fn_hooks
    if not own.post:
        return in_grads
    grads = [None if gi is None or nxt is None else _input_array(node, gi, meta) if arrays else gi
             for gi, meta, nxt in zip(in_grads, node.input_meta, node.next)]

    def wrap(a):
        return ag._make_tensor(a, node.device, False, None) if arrays and a is not None else a

    grad_inputs, grad_outputs = tuple(wrap(a) for a in grads), (wrap(g),)
    for hook in list(own.post.values()):
        new = hook(grad_inputs, grad_outputs)
        if new is not None:
            grad_inputs = _checked_replacement(node, "register_hook", new, grad_inputs)
    return [None if t is None else t._data if arrays else t for t in grad_inputs]


def _checked_replacement(node, op, new, old):
    """A node hook's replacement gradients: as many as before, Tensors (or None) of the same shapes."""
    new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
    if len(new) != len(old):
        raise GradientError(f"{node.name()}.{op}: a hook returned {len(new)} gradients for {len(old)}")
    for n, o in zip(new, old):
        if n is not None and (not isinstance(n, ag._Tensor) or (o is not None and n.shape != o.shape)):
            got = f"shape {tuple(n.shape)}" if isinstance(n, ag._Tensor) else type(n).__name__
            raise GradientError(f"{node.name()}.{op}: a hook returned a gradient of {got} where {tuple(o.shape)} "
                                "was expected")
    return new


def _deliver(leaf, g, owned, capture, wanted, create_graph):
    """A gradient arriving at a leaf under grad() (into the captured results, for the inputs asked for) or under
    create_graph (into .grad, as a Tensor); plain backward() delivers through _accumulate instead."""
    hooks = leaf._hooks
    if capture is not None:
        i = wanted.get(id(leaf))
        if i is None:
            return
        if hooks is not None and hooks.grad:
            g = _grad_hooks(leaf, hooks, g, not create_graph)
        prev = capture.get(i)
        capture[i] = g if prev is None else prev + g
        return
    if hooks is not None and hooks.grad:
        g = _grad_hooks(leaf, hooks, g, False)
    old = leaf._grad
    leaf._grad = g if old is None else old + g
    if hooks is not None and hooks.post:
        _post_hooks(leaf)


def _post_hooks(leaf):
    """A leaf's post-accumulate hooks, once its .grad holds the new sum."""
    for hook in list(leaf._hooks.post.values()):
        hook(leaf)


def _accumulate(leaf, g, owned):
    """Plain backward: a gradient array arriving at a leaf, summed into its .grad (after its register_hook hooks)."""
    hooks = leaf._hooks
    if hooks is not None and hooks.grad:
        g = _grad_hooks(leaf, hooks, g, True)
    old = leaf._grad
    if old is None:
        # A leaf's .grad never shares memory with another gradient (nor with the caller's): copy views,
        # reused and read-only arrays.
        if g.base is not None or id(g) in owned or not g.flags.writeable:
            g = g.copy()
        owned.add(id(g))
        leaf._grad = ag._make_tensor(g, leaf.device, False, None)
    else:
        # As PyTorch's AccumulateGrad: the sum goes into the existing .grad in place (views of it see it),
        # unless that array arrived in this backward (it may still be shared with a gradient in flight) or
        # cannot take it (read-only, another shape or dtype).
        acc = old._data
        added = False
        if id(acc) not in owned and acc.shape == g.shape and (acc.dtype is g.dtype or acc.dtype == g.dtype):
            try:
                if acc.size == 1 and acc.__class__ is _ndarray:
                    # NOTE: NumPy's in-place add of a one-element array takes 0.55 us (two elements: 0.25);
                    # through its scalars 0.2, the same float32/float64 rounding.
                    i = _FIRST[acc.ndim]
                    acc[i] = acc[i] + g[i]
                else:
                    acc += g
                added = True
            except ValueError:  # read-only (a NumPy broadcast view, say)
                pass
        if not added:
            leaf._grad = ag._make_tensor(acc + g, leaf.device, False, None)
        elif old._vcounter is None:
            old._vcounter = [1, False]  # the version counter, as an in-place op bumps it
        else:
            old._vcounter[0] += 1
    if hooks is not None and hooks.post:
        _post_hooks(leaf)
