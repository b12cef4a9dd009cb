"""The engine: backward() and grad() walk the tape from the roots to the leaves.

Plain backward (no create_graph) works on raw arrays from end to end: gradients are summed as
arrays, ops with `backward_arrays` get arrays, the others get a constant Tensor and their Tensor
results are unwrapped. Under create_graph every gradient is a Tensor and every rule is recorded.
"""

from . import autograd as ag
from .errors import GradientError, ShapeError
from .grad_mode import modes

_callbacks = []


def queue_callback(fn):
    """Run `fn()` once the current backward pass has finished (used by DistributedDataParallel)."""
    _callbacks.append(fn)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's `.grad`."""
    if inputs is not None:
        raise ag.ArgumentError("backward: inputs= is not supported; use tc.autograd.grad")
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
        g = grads
        if (isinstance(g, ag._Tensor) and tensors.requires_grad and g._data.shape == tensors._data.shape
                and g.device is tensors.device):
            return (tensors,), (g,)  # the common call: one output and its gradient, nothing to check
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


def _count_consumers(roots):
    deps = {}
    stack = []
    for t in roots:
        if t._node is not None and t._node not in deps:
            deps[t._node] = 0
            stack.append(t._node)
    while stack:
        node = stack.pop()
        for nxt in node.next:
            if nxt is None or isinstance(nxt, ag._Tensor):
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                stack.append(nxt)
    return deps


def _run(roots, root_grads, retain_graph, create_graph, inputs, allow_unused):
    deps = _count_consumers(roots)
    wanted = None if inputs is None else {id(t._node if t._node is not None else t): i for i, t in enumerate(inputs)}
    capture = None if inputs is None else {}
    grads = {}
    leaf = _Leaves(capture, wanted, create_graph)
    deliver = leaf.deliver
    state = modes
    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    anomaly = state.anomaly  # only anomaly mode turns forward checks on; backward rules are checked per node, below
    if anomaly:
        prev_anomaly, state.anomaly_forward = state.anomaly_forward, False
    grad_call = inputs is not None
    prev_grad_call = state.in_grad_call
    if prev_grad_call is not grad_call:
        state.in_grad_call = grad_call
    Context = ag.Context
    try:
        for t, g in zip(roots, root_grads):
            if not create_graph:
                g = g._data
                leaf.owned.add(id(g))  # the caller's gradient: a leaf's .grad gets a copy of it
            if t._node is None:
                deliver(t, g)
            else:
                prev = grads.get(t._node)
                grads[t._node] = g if prev is None else prev + g
        ready = []  # only the roots' nodes can have no consumers
        for t in roots:
            node = t._node
            if node is not None and deps[node] == 0 and node not in ready:
                ready.append(node)
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            if g is None:  # nothing flows through this node: its inputs only lose a consumer
                for nxt in node.next:
                    if type(nxt) is Context:
                        left = deps[nxt] - 1
                        deps[nxt] = left
                        if left == 0:
                            ready.append(nxt)
                continue
            if capture is not None and id(node) in wanted:
                capture[wanted[id(node)]] = g
            if create_graph:
                in_grads = _backward_tensors(node, g)
            else:
                in_grads = _backward_arrays(node, g)
            if not retain_graph and node._saved:
                node._saved = None  # free what forward saved; nodes that saved nothing stay usable
            for gi, meta, nxt in zip(in_grads, node.input_meta, node.next):
                if nxt is None:
                    continue
                if gi is not None and not create_graph:
                    # One gradient per input, summed back to its input's shape and cast to its dtype.
                    if isinstance(gi, ag._Tensor):
                        gi = gi._data
                    elif not hasattr(gi, "shape"):
                        gi = node.backend.asarray(gi)
                    shape, dtype = meta
                    if gi.shape != shape:
                        gi = _sum_to_shape_array(node, gi, shape)
                    if gi.dtype != dtype:
                        gi = gi.astype(dtype)
                    if anomaly:
                        _check_grads(node, (gi,))
                if type(nxt) is Context:
                    if gi is not None:
                        prev = grads.get(nxt)
                        grads[nxt] = gi if prev is None else prev + gi
                    left = deps[nxt] - 1
                    deps[nxt] = left
                    if left == 0:
                        ready.append(nxt)
                elif gi is not None:
                    deliver(nxt, gi)
    finally:
        state.grad_enabled = prev_mode
        if anomaly:
            state.anomaly_forward = prev_anomaly
        if prev_grad_call is not grad_call:
            state.in_grad_call = prev_grad_call
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
        if g is not None and not create_graph:
            g = ag._make_tensor(g, t.device, False, None)
        result.append(g)
    return result


def _freed(node):
    return GradientError(
        f"{node.name}: trying to backward through the graph a second time; its saved arrays "
        "were freed after the first backward. Pass retain_graph=True to the first call."
    )


def _backward_arrays(node, g):
    """Plain backward: the node's rule on raw arrays (its backward_arrays, unless the switch forces the
    Tensor rule: then a constant Tensor in, and Tensor results unwrapped by the caller)."""
    if node._saved is None:
        raise _freed(node)
    fn = node.fn
    if fn.backward_arrays is not None and ag._fast_backward:
        in_grads = fn.backward_arrays(node, g)
    else:
        in_grads = fn.backward(node, ag._make_tensor(g, node.device, False, None))
    return _checked_count(node, in_grads)


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
        raise GradientError(f"{node.name}: backward returned {len(in_grads)} gradients for {len(node.next)} inputs")
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
            ag._check_finite(data, f"{node.name} (backward of the op called at {where})")


def _reduced_axes(node, gshape, shape):
    """The axes a gradient of shape gshape is summed over to reach shape (NumPy broadcasting undone)."""
    lead = len(gshape) - len(shape)
    ok = lead >= 0 and all(n == m or n == 1 for n, m in zip(shape, gshape[lead:]))
    if not ok:
        raise GradientError(f"{node.name}: backward returned a gradient of shape {tuple(gshape)} "
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


def _add_into(acc, g):
    """acc += g; False where acc is read-only (a NumPy broadcast view, say)."""
    try:
        acc += g
    except ValueError:
        return False
    return True


class _Leaves:
    """Gradients arriving at leaves: into .grad (backward) or into the captured results (grad)."""

    __slots__ = ("capture", "wanted", "create_graph", "owned")

    def __init__(self, capture, wanted, create_graph):
        self.capture, self.wanted, self.create_graph = capture, wanted, create_graph
        self.owned = set()  # ids of arrays a .grad may not keep: the caller's, and those already kept

    def deliver(self, leaf, g):
        if self.capture is not None:
            i = self.wanted.get(id(leaf))
            if i is not None:
                prev = self.capture.get(i)
                self.capture[i] = g if prev is None else prev + g
            return
        if self.create_graph:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        elif leaf.grad is None:
            # A leaf's .grad never shares memory with another gradient (nor with the caller's): copy views,
            # reused and read-only arrays.
            if g.base is not None or id(g) in self.owned or not g.flags.writeable:
                g = g.copy()
            self.owned.add(id(g))
            leaf.grad = ag._make_tensor(g, leaf.device, False, None)
        else:
            # As PyTorch's AccumulateGrad: the sum goes into the existing .grad in place (views of it see
            # it), unless that array arrived in this backward (it may still be shared with a gradient in
            # flight) or cannot take it (read-only, another shape or dtype).
            old = leaf.grad
            acc = old._data
            if id(acc) in self.owned or acc.shape != g.shape or acc.dtype != g.dtype or not _add_into(acc, g):
                leaf.grad = ag._make_tensor(acc + g, leaf.device, False, None)
            elif old._vcounter is None:
                old._vcounter = [1, False]  # the version counter, as an in-place op bumps it
            else:
                old._vcounter[0] += 1
        if leaf._hooks:
            for hook in leaf._hooks:
                hook(leaf)
