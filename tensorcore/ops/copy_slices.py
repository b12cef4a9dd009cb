"""In-place changes of memory that views share, while recording: the graph is rewritten as PyTorch's is.

A recorded view op (`is_view`: slicing, reshape, permute, ...) keeps its input, the base, and its arguments
on its node (`view_args`, `view_params`), and a non-leaf base's views are listed (weakly, in the order they
were made) in the version counter that base and views share. When an in-place op changes such memory:

- through a view: the base takes a CopySlices node, the base with the view's region replaced by the op's
  result (up the chain of views to the tensor that owns the memory), as PyTorch's CopySlices;
- then every live view of the memory, the changed one included, is made again from its (new) base, so that
  a gradient through any of them reaches the new graph, not the values before the change.

A view made outside the graph (of a tensor that did not require grad, as `buf[:, 1]` of `buf = zeros(...)`)
has no node; its memory's owner, the tensor the first view of it was made from, is kept (weakly) in the counter,
and the view's place in the owner's memory is read off the arrays' geometry: `buf[:, 1] += x[:, 0]` then gives
buf a CopySlices node and the view an as_strided one, as PyTorch makes buf require grad. Such views have no
node to be remade from, so while another of them is alive (the array that owns the memory has more references
than the owner and the changed view), the change is refused by name instead of leaving that view a constant.

Example (each as in PyTorch):
    y = x * 1
    y[1:] *= 2            # y's node: CopySlices; x.grad == [1, 2, 2, ...] after y.sum().backward()
    h = y[0]; y.add_(1)   # h is rebuilt on the changed y
"""

import sys
import weakref

import numpy as np

from ..autograd import ForwardContext, Function
from ..errors import GradientError
from ..tensor import _make

_MEMORY = 2  # the version counter's slot for what is known of its memory: [version, has views, _Memory]


class _Memory:
    """The owner of a memory that views share (weakly) and its recorded views (weakly, in the order made)."""

    __slots__ = ("owner", "views")

    def __init__(self, owner):
        self.owner = weakref.ref(owner) if owner is not None else None
        self.views = []


def first_view(vc, base):
    """A first view of `base`'s memory (vc, its counter, had none): the counter says so and keeps the owner."""
    vc[1] = True
    if len(vc) == _MEMORY:
        vc.append(_Memory(base))


def track(vc, view):
    """List a recorded view of a non-leaf base (their shared counter `vc`); autograd._record calls it. (A leaf
    that requires grad is never changed in place while recording, so its views need no rebuilding.)"""
    if len(vc) == _MEMORY:
        vc.append(_Memory(None))
    vc[_MEMORY].views.append(weakref.ref(view))


def _view_node(t):
    node = t._node
    return node if node is not None and node.view_args is not None else None


def _owner(t):
    """The tensor t's memory belongs to (the one its first view was made from; t itself for that one), or None
    when that is not known or gone."""
    vc = t._vcounter
    memory = vc[_MEMORY] if vc is not None and len(vc) > _MEMORY else None
    return memory.owner() if memory is not None and memory.owner is not None else None


def _other_views(owner, t):
    """Whether arrays other than owner's and t's see owner's memory (views made outside the graph, which no node
    follows): read off the reference count of the array that owns the memory. CuPy arrays: assumed so."""
    if not isinstance(owner._data, np.ndarray):
        return True
    root = owner._data if owner._data.base is None else owner._data.base
    expected = 3  # owner's array (or its base reference), the local name root, getrefcount's argument
    if t is not owner:
        if t._data.base is not root:
            return True
        expected += 1  # t's base reference
    return sys.getrefcount(root) > expected


def refusal(t, name):
    """The error for an in-place change of t's shared memory that the graph cannot follow, else None."""
    root = t
    while _view_node(root) is not None:
        root = root._node.view_args[0]
    if root._node is not None and root._node.fn.is_view and root._node.view_args is None:
        return GradientError(
            f"{name}: an in-place change, while recording, of the output of {root._node.fn.name()} (shape "
            f"{tuple(root.shape)}), a view that cannot be made again, is not supported; clone() it first")
    if root._node is None and root.requires_grad:
        return GradientError(
            f"{name}: a view of a leaf tensor that requires grad (shape {tuple(root.shape)}) cannot be changed in "
            "place while recording (as in PyTorch); change a clone(), or the leaf under tc.no_grad()")
    if root is t and t._node is None and not t.requires_grad:  # memory of tensors made outside the graph
        owner = _owner(t)
        if owner is not None and owner is not t and owner.requires_grad:
            return GradientError(
                f"{name}: a view (shape {tuple(t.shape)}) made under no_grad of a tensor that requires grad cannot "
                "be changed in place while recording (as in PyTorch); make the view outside no_grad")
        if owner is None or owner is not t and _Strided.between(owner._data, t._data) is None:
            return GradientError(
                f"{name}: an in-place change, while recording, of a view (shape {tuple(t.shape)}) made outside "
                "the graph whose base is gone or not contiguous is not supported; write into the base tensor "
                "(base[index] = value) or use the out-of-place op")
        if _other_views(owner, t):
            return GradientError(
                f"{name}: an in-place change, while recording, of memory (shape {tuple(owner.shape)}) that other "
                "views made outside the graph still see is not supported: they would not follow the change's "
                "gradient; write into it before making those views, or use the out-of-place op")
    return None


def take_place(t, result):
    """t, whose memory already holds `result`'s values, takes result's place in the graph: through its views'
    bases up to the memory's owner (a CopySlices node each), then every live view made again."""
    value = result
    owner = _owner(t) if t._node is None and not t.requires_grad else None
    if owner is not None and owner is not t:  # a view made outside the graph
        where = _Strided.between(owner._data, t._data)
        owner._node = CopySlices.apply(owner, value, view=where)._node
        owner.requires_grad = True
        view = where.of(owner)  # recorded now: the view on the owner's new node
        t._node, t.requires_grad = view._node, True
        return
    while _view_node(t) is not None:
        node = t._node
        base = node.view_args[0]
        value = CopySlices.apply(base, value, view=_Replayed(node))
        t = base
    t._node = value._node
    t.requires_grad = True
    vc = t._vc
    if len(vc) > _MEMORY:
        memory = vc[_MEMORY]
        live = [ref for ref in memory.views if ref() is not None]
        for ref in live:  # in the order they were made: a view's base is rebuilt before it
            view = ref()
            node = _view_node(view) if view is not None else None
            if node is not None:
                view._node = node.fn.apply(node.view_args[0], *node.view_args[1:], **node.view_params)._node
        memory.views[:] = [ref for ref in live if ref() is not None]  # (not the rebuilt nodes' passing outputs)


class _Replayed:
    """The view a recorded view node made, made again: of an array of its base's shape, or of a Tensor."""

    def __init__(self, node):
        self.node = node

    def region(self, array):
        node = self.node
        consts = [a._data if hasattr(a, "_data") else a for a in node.view_args[1:]]
        return node.fn.forward(ForwardContext(node.backend), array, *consts, **node.view_params)

    def of(self, t):
        node = self.node
        return node.fn.apply(t, *node.view_args[1:], **node.view_params)


class _Strided:
    """A view's place in its owner's (C-contiguous) memory: shape, element strides and offset."""

    def __init__(self, shape, strides, offset):
        self.shape, self.strides, self.offset = shape, strides, offset

    @classmethod
    def between(cls, owner, view):
        """The place of array `view` in array `owner`, or None (owner not C-contiguous, view not inside it)."""
        if not owner.flags.c_contiguous or view.dtype != owner.dtype or owner.size == 0:
            return None
        size = view.dtype.itemsize
        start = _address(view) - _address(owner)
        strides = tuple(s // size for s in view.strides)
        if start % size or any(s % size for s in view.strides) or min(strides, default=0) < 0:
            return None
        offset = start // size
        last = offset + sum((n - 1) * s for n, s in zip(view.shape, strides)) if view.size else offset
        return cls(view.shape, strides, offset) if 0 <= offset and last < owner.size else None

    def region(self, array):
        array = array.reshape(-1)  # (C-contiguous arrays of the owner's shape: the gradients)
        item = array.dtype.itemsize
        return _as_strided(array)(array[self.offset:], self.shape, tuple(s * item for s in self.strides))

    def of(self, t):
        from .strided import as_strided

        return as_strided(t.contiguous(), self.shape, self.strides, self.offset)


def _address(a):
    return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") else a.data.ptr


def _as_strided(array):
    if isinstance(array, np.ndarray):
        return np.lib.stride_tricks.as_strided
    import cupy

    return cupy.lib.stride_tricks.as_strided


class CopySlices(Function):
    """The base after an in-place change through its view: its values are already in the base's memory (the
    change wrote them there); backward gives the base the gradient outside the view's region, the change's
    result the gradient inside it."""

    op_name = "copy_slices"

    @staticmethod
    def forward(ctx, base, value, view):
        ctx.view = view
        return base

    @staticmethod
    def backward(ctx, g):
        view = ctx.view
        keep = ctx.backend.xp.ones(g.shape, g.dtype)
        view.region(keep)[...] = 0
        gbase = g * _make(keep, g.device, False, None) if ctx.needs_input_grad[0] else None
        return gbase, view.of(g)

    @staticmethod
    def backward_arrays(ctx, g):
        g = ctx.backend.xp.ascontiguousarray(g)
        gbase = None
        if ctx.needs_input_grad[0]:
            gbase = g.copy()
            ctx.view.region(gbase)[...] = 0
        return gbase, ctx.view.region(g)
