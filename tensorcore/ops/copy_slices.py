"""In-place changes of memory that views share, while recording: the graph is rewritten as PyTorch's is.

A recorded view op (`is_view`: slicing, reshape, permute, ...) keeps its input, the base, and its arguments
on its node (`view_args`, `view_params`), and a non-leaf base's views are listed (weakly, in the order they
were made) in the version counter that base and views share. When an in-place op changes such memory:

- through a view: the base takes a CopySlices node, the base with the view's region replaced by the op's
  result (up the chain of views to the tensor that owns the memory), as PyTorch's CopySlices;
- then every live view of the memory, the changed one included, is made again from its (new) base, so that
  a gradient through any of them reaches the new graph, not the values before the change.

Example (each as in PyTorch):
    y = x * 1
    y[1:] *= 2            # y's node: CopySlices; x.grad == [1, 2, 2, ...] after y.sum().backward()
    h = y[0]; y.add_(1)   # h is rebuilt on the changed y
"""

import weakref

from ..autograd import ForwardContext, Function
from ..errors import GradientError
from ..tensor import _make

_VIEWS = 2  # the version counter's slot for its memory's recorded views: [version, has views, [weakrefs]]


def track(vc, view):
    """List a recorded view of a non-leaf base (their shared counter `vc`); autograd._record calls it. (A leaf
    that requires grad is never changed in place while recording, so its views need no rebuilding.)"""
    if len(vc) == _VIEWS:
        vc.append([])
    vc[_VIEWS].append(weakref.ref(view))


def _view_node(t):
    node = t._node
    return node if node is not None and node.view_args is not None else None


def refusal(t, name):
    """The error for an in-place change of t's shared memory that the graph cannot follow, else None."""
    root = t
    while _view_node(root) is not None:
        root = root._node.view_args[0]
    if root._node is None and root.requires_grad:
        return GradientError(
            f"{name}: a view of a leaf tensor that requires grad (shape {tuple(root.shape)}) cannot be changed in "
            "place while recording (as in PyTorch); change a clone(), or the leaf under tc.no_grad()")
    if root is t and t._node is None and not t.requires_grad and getattr(t._data, "base", None) is not None:
        return GradientError(
            f"{name}: an in-place change, while recording, of a view (shape {tuple(t.shape)}) made outside the "
            "graph (from a tensor that did not require grad) is not supported; write into the base tensor "
            "(base[index] = value) or use the out-of-place op")
    return None


def take_place(t, result):
    """t, whose memory already holds `result`'s values, takes result's place in the graph: through its views'
    bases up to the memory's owner (a CopySlices node each), then every live view made again."""
    value = result
    while _view_node(t) is not None:
        node = t._node
        base = node.view_args[0]
        value = CopySlices.apply(base, value, view=node)
        t = base
    t._node = value._node
    t.requires_grad = True
    vc = t._vc
    if len(vc) > _VIEWS:
        live = [ref for ref in vc[_VIEWS] if ref() is not None]
        for ref in live:  # in the order they were made: a view's base is rebuilt before it
            view = ref()
            node = _view_node(view) if view is not None else None
            if node is not None:
                view._node = node.fn.apply(node.view_args[0], *node.view_args[1:], **node.view_params)._node
        vc[_VIEWS][:] = [ref for ref in live if ref() is not None]  # (not the rebuilt nodes' passing outputs)


def _region(node, array):
    """The view `node` made of its base, made again of `array` (an array of the base's shape)."""
    consts = [a._data if hasattr(a, "_data") else a for a in node.view_args[1:]]
    return node.fn.forward(ForwardContext(node.backend), array, *consts, **node.view_params)


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
        _region(view, keep)[...] = 0
        gbase = g * _make(keep, g.device, False, None)
        gvalue = view.fn.apply(g, *view.view_args[1:], **view.view_params)
        return gbase, gvalue

    @staticmethod
    def backward_arrays(ctx, g):
        gbase = g.copy()
        _region(ctx.view, gbase)[...] = 0
        return gbase, _region(ctx.view, g)
