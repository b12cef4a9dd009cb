"""Hook registries: the handle every register_*_hook returns, and a tensor's gradient hooks.

A tensor's hooks (Tensor.register_hook, retain_grad, register_post_accumulate_grad_hook) live in one
TensorHooks object on the tensor; a non-leaf's node points back to the tensor (node._hooked), so
the engine runs them when the node's gradient is complete, before the node's backward uses it.
"""

import itertools
from collections import OrderedDict

_ids = itertools.count()


class RemovableHandle:
    """What register_*_hook returns: handle.remove() takes the hook out (also as a context manager)."""

    def __init__(self, registry):
        self._registry = registry
        self.id = next(_ids)

    def remove(self):
        self._registry.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class TensorHooks:
    """grad: hook(grad) -> None or a new grad, before the gradient is used or accumulated; post: hook(tensor)
    after a leaf's .grad is accumulated; retain: a non-leaf keeps its gradient in .grad."""

    __slots__ = ("grad", "post", "retain")

    def __init__(self):
        self.grad, self.post, self.retain = OrderedDict(), OrderedDict(), False

    def add(self, registry, hook):
        handle = RemovableHandle(registry)
        registry[handle.id] = hook
        return handle



class NodeHooks:
    """A node's own hooks (grad_fn.register_prehook / register_hook): pre(grad_outputs) and post(grad_inputs,
    grad_outputs), each returning None or replacements."""

    __slots__ = ("pre", "post")
    add = TensorHooks.add

    def __init__(self):
        self.pre, self.post = OrderedDict(), OrderedDict()
