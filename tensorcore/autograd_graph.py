"""torch.autograd.graph: hooks on what the graph saves, on several tensors' gradients, and on its nodes.

- `saved_tensors_hooks(pack_hook, unpack_hook)`: while the block runs (in this thread), each Tensor an op saves
  for backward is given to pack_hook, and what it returns is kept instead; backward calls unpack_hook on it to
  get the Tensor back (`save_on_cpu` is the pair that moves saved tensors to the host and back).
- `register_multi_grad_hook(tensors, fn, mode="all")`: fn(grads) once a backward has computed the gradients of
  these tensors that it reaches (None for the others); mode="any": fn(grad) for the first one computed.
- `Node` is what `grad_fn` is (`isinstance(y.grad_fn, Node)`), with PyTorch's `register_hook` and
  `register_prehook`; `get_gradient_edge(t)` names the node that gets t's gradient.

Example:
    with tc.autograd.graph.saved_tensors_hooks(lambda t: t.numpy().copy(), lambda a: tc.from_numpy(a)):
        y = (x * x).sum()      # x saved as a NumPy copy
    y.backward()               # unpacked for mul's backward
"""

import abc
import collections
import contextlib
import threading

from . import grad_mode
from .errors import GradientError

_state = threading.local()  # .stack: the (pack, unpack) pairs in force, innermost last; .disabled: its message


class _Packed:
    """A saved Tensor as pack_hook returned it; `edge` is where the original sat in the graph (its node, the
    leaf itself, or None), so the unpacked tensor is put back in the same place for create_graph."""

    __slots__ = ("packed", "unpack", "edge", "output")

    def __init__(self, packed, unpack, edge, output):
        self.packed, self.unpack, self.edge, self.output = packed, unpack, edge, output

    def tensor(self):
        t = self.unpack(self.packed)
        from .tensor import Tensor

        if not isinstance(t, Tensor):
            raise GradientError(f"saved_tensors_hooks: unpack_hook must return a Tensor, got {type(t).__name__}")
        return t


def pack(ctx, saved, result):
    """autograd's _record: the (item, counter, version) entries of a node's saves with the hooks in force."""
    pack_hook, unpack_hook = _state.stack[-1]
    from .autograd import _SAVED_OUTPUT
    from .tensor import Tensor

    out = []
    for item, vc, version in saved:
        if item is _SAVED_OUTPUT:
            out.append((_Packed(pack_hook(result), unpack_hook, ctx, True), None, 0))
        elif isinstance(item, Tensor):
            edge = (item if item._node is None else item._node) if item.requires_grad else None
            out.append((_Packed(pack_hook(item), unpack_hook, edge, False), None, 0))
        else:
            out.append((item, vc, version))
    return out


def unpacked_tensor(ctx, entry):
    """A _Packed save as a Tensor for a node's Tensor rule: in the graph where the original was."""
    from .autograd import _make_tensor

    data = entry.tensor()._data
    if entry.output:
        return _make_tensor(data, ctx.device, True, ctx)
    if entry.edge is None:
        return _make_tensor(data, ctx.device, False, None)
    if entry.edge.__class__ is not ctx.__class__:  # a leaf: the leaf itself (its gradient goes to it)
        return entry.edge
    return _make_tensor(data, ctx.device, True, entry.edge)


class saved_tensors_hooks:  # noqa: N801  (PyTorch's name)
    """Context manager: saved Tensors go through pack_hook when saved and unpack_hook when backward needs them."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        message = getattr(_state, "disabled", None)
        if message is not None:
            raise GradientError(message)
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append((self.pack_hook, self.unpack_hook))
        with grad_mode._anomaly_lock:
            grad_mode.saved_hooks_threads += 1
        return self

    def __exit__(self, *exc):
        _state.stack.pop()
        with grad_mode._anomaly_lock:
            grad_mode.saved_hooks_threads -= 1
        return False


def hooks_in_force():
    """Whether this thread has saved-tensor hooks (the module count is read first: the common case is none)."""
    return bool(grad_mode.saved_hooks_threads and getattr(_state, "stack", None))


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """Saved tensors kept on the host, moved back to their device when backward needs them (a no-op on cpu)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return t.device, t.detach().to("cpu")

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message):
    """Inside the block, entering saved_tensors_hooks raises error_message."""
    prev = getattr(_state, "disabled", None)
    _state.disabled = error_message
    try:
        yield
    finally:
        _state.disabled = prev


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """fn(grads) after a backward that reached any of `tensors`: their gradients, None where not reached
    (mode="all"); mode="any": fn(grad) with the first gradient computed. Returns a handle with .remove()."""
    from .engine import queue_callback

    tensors = tuple(tensors)
    from .tensor import Tensor

    if not tensors or not all(isinstance(t, Tensor) and t.requires_grad for t in tensors):
        raise GradientError("register_multi_grad_hook: expected one or more Tensors that require grad")
    if not callable(fn):
        raise GradientError(f"register_multi_grad_hook: fn must be callable, got {type(fn).__name__}")
    if mode not in ("all", "any"):
        raise GradientError(f"register_multi_grad_hook: mode must be 'all' or 'any', got {mode!r}")
    lock = threading.Lock()
    state = {"grads": None, "fired": False}

    def one(i):
        def hook(grad):
            with lock:
                if mode == "any":
                    if not state["fired"]:
                        state["fired"] = True
                        queue_callback(lambda: state.update(fired=False))
                        fn(grad)
                    return None
                if state["grads"] is None:
                    state["grads"] = [None] * len(tensors)
                    queue_callback(finish)
                state["grads"][i] = grad
            return None
        return hook

    def finish():
        grads, state["grads"] = state["grads"], None
        if grads is not None:
            fn(tuple(grads))

    return _Handles([t.register_hook(one(i)) for i, t in enumerate(tensors)])


class _Handles:
    """register_multi_grad_hook's handle: removes the hook of each tensor."""

    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Node(abc.ABC):
    """What grad_fn is: tensorcore's nodes (autograd.Context) and AccumulateGrad are Nodes."""

    @abc.abstractmethod
    def name(self):
        ...

    @property
    @abc.abstractmethod
    def next_functions(self):
        ...


GradientEdge = collections.namedtuple("GradientEdge", ["node", "output_nr"])


def get_gradient_edge(tensor):
    """The node that receives tensor's gradient: its grad_fn, or a leaf's AccumulateGrad."""
    from .autograd import AccumulateGrad
    from .tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise GradientError(f"get_gradient_edge: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise GradientError("get_gradient_edge: the tensor does not require grad")
    node = tensor._node
    return GradientEdge(node if node is not None else AccumulateGrad(tensor), 0)


def increment_version(tensor):
    """Bump the version counter as an in-place change does (saved copies of it then refuse backward)."""
    from .tensor import Tensor

    for t in (tensor,) if not isinstance(tensor, (list, tuple)) else tensor:
        if not isinstance(t, Tensor):
            raise GradientError(f"increment_version: expected Tensors, got {type(t).__name__}")
        t._vc[0] += 1


def _register_nodes():
    from .autograd import AccumulateGrad, Context

    Node.register(Context)
    Node.register(AccumulateGrad)


_register_nodes()
