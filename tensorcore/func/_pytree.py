"""The nested containers torch.func's transforms accept: tuples, lists and dicts of leaves (Tensors, mostly).

A spec records the structure: None for a leaf, else (type, keys, child specs) where keys are a dict's keys
(in order) or the number of items of a tuple or list.
"""

from ..errors import ArgumentError


def tree_flatten(tree):
    """(leaves, spec): the leaves of tree, depth first, and what tree_unflatten needs to rebuild it."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        keys = tuple(tree)
        return (type(tree), keys, tuple(_flatten(tree[k], leaves) for k in keys))
    if isinstance(tree, (tuple, list)) and not hasattr(tree, "_fields"):
        return (type(tree), len(tree), tuple(_flatten(item, leaves) for item in tree))
    if isinstance(tree, tuple):  # a namedtuple: rebuilt by its own class
        return (type(tree), tree._fields, tuple(_flatten(item, leaves) for item in tree))
    leaves.append(tree)
    return None


def tree_unflatten(leaves, spec):
    """The tree of `spec` with `leaves` put back in order."""
    it = iter(leaves)
    return _unflatten(it, spec)


def _unflatten(it, spec):
    if spec is None:
        return next(it)
    kind, keys, children = spec
    items = [_unflatten(it, child) for child in children]
    if issubclass(kind, dict):
        return kind(zip(keys, items))
    if issubclass(kind, tuple) and isinstance(keys, tuple):
        return kind(*items)
    return kind(items)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(leaf) for leaf in leaves], spec)


def broadcast_prefix(prefix, tree, what):
    """One entry of `prefix` per leaf of `tree`: a leaf of prefix (an int, None) covers a whole subtree.

    Raises ArgumentError(what) where prefix's structure is not a prefix of tree's.
    """
    out = []
    _broadcast(prefix, tree, out, what)
    return out


def _broadcast(prefix, tree, out, what):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * len(tree_flatten(tree)[0]))
        return
    if isinstance(prefix, dict) != isinstance(tree, dict) or not isinstance(tree, (tuple, list, dict)):
        raise ArgumentError(what)
    if isinstance(prefix, dict):
        if set(prefix) != set(tree):
            raise ArgumentError(what)
        for key in tree:
            _broadcast(prefix[key], tree[key], out, what)
        return
    if len(prefix) != len(tree):
        raise ArgumentError(what)
    for p, t in zip(prefix, tree):
        _broadcast(p, t, out, what)
