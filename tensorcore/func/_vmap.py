"""torch.vmap / torch.func.vmap, by running the function once per batch element and stacking the results.

Correct first: func sees each element exactly as PyTorch's batched tensors show it (the mapped dim removed),
so shapes, broadcasting, nested vmap and the other transforms inside behave as in PyTorch; the cost is one
call per element. Stacking is differentiable, so grad/backward go through a vmap.

randomness: 'error' (the default) makes a draw from the default generator inside func raise, as PyTorch's;
'different' draws afresh per element; 'same' restores the generator's state before each element, so every
element sees the same numbers (and the state afterwards is that of one call). A mapped dim of size 0 raises:
with no element to run, the output's shape is unknown. An output with out_dims None must be the same for
every element: PyTorch raises for any output that depends on a mapped input, this raises only when the
values differ.
"""

import functools
import threading

from .. import random as _random
from ..errors import ArgumentError, ShapeError, TensorcoreError
from ..ops.joins import stack
from ..tensor import Tensor
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten
from ._transforms import _check_chunk_size

_RANDOMNESS = ("error", "different", "same")


class _NoRandomness:
    """Stands in for the default generator's NumPy generator while a vmap with randomness='error' runs: a draw
    from a thread inside such a vmap raises; other threads draw from the real generator as usual."""

    def __init__(self, real):
        self.real = real
        self.blocked = {}  # thread id -> how many error-mode vmaps it is inside

    def __getattr__(self, name):
        if threading.get_ident() in self.blocked:
            raise TensorcoreError("vmap: called random operation while in randomness error mode. Please either "
                                  "use the 'same' or 'different' randomness flags on vmap or perform the "
                                  "randomness operation out of vmap")
        return getattr(self.real, name)


def _block_randomness():
    gen = _random.default_generator
    proxy = gen.np if isinstance(gen.np, _NoRandomness) else _NoRandomness(gen.np)
    gen.np = proxy
    tid = threading.get_ident()
    proxy.blocked[tid] = proxy.blocked.get(tid, 0) + 1
    return proxy


def _unblock_randomness(proxy):
    tid = threading.get_ident()
    proxy.blocked[tid] -= 1
    if not proxy.blocked[tid]:
        del proxy.blocked[tid]
    gen = _random.default_generator
    if not proxy.blocked and gen.np is proxy:  # (a manual_seed meanwhile put a new generator there: kept)
        gen.np = proxy.real


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """torch.vmap: func mapped over dim in_dims of its inputs, the results stacked at out_dims.

    Example:
        tc.vmap(tc.dot)(a, b)                           # row-wise dot products of (B, n) tensors
        tc.vmap(f, in_dims=(0, None))(xs, w)            # w broadcast to every call
        tc.vmap(tc.func.grad(loss), in_dims=(None, 0, 0))(params, xs, ys)   # per-sample gradients
    """
    if randomness not in _RANDOMNESS:
        raise ArgumentError(f"vmap: randomness must be one of {_RANDOMNESS}, got {randomness!r}")
    _check_chunk_size(chunk_size, "vmap")
    name = getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        where = f"vmap({name}, in_dims={in_dims!r}, ...)(<inputs>)"
        leaves, spec, dims, size = _mapped_inputs(args, in_dims, where)
        outputs = []
        state = _random.get_rng_state() if randomness == "same" else None
        proxy = _block_randomness() if randomness == "error" else None
        try:
            for b in range(size):
                if state is not None:
                    _random.set_rng_state(state)
                element = [x if d is None else x.select(d, b) for x, d in zip(leaves, dims)]
                outputs.append(func(*tree_unflatten(element, spec), **kwargs))
        finally:
            if proxy is not None:
                _unblock_randomness(proxy)
        return _stack_outputs(outputs, out_dims, name)

    return wrapper


def _mapped_inputs(args, in_dims, where):
    """The inputs' leaves, their structure, each leaf's mapped dim (None: broadcast), and the batch size."""
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ArgumentError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                            f"structure of inputs, got: {type(in_dims)}.")
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ArgumentError(f"{where}: in_dims is not compatible with the structure of `inputs`: {len(in_dims)} "
                            f"in_dims for {len(args)} inputs")
    leaves, spec = tree_flatten(tuple(args))
    dims = broadcast_prefix(in_dims, tuple(args), f"{where}: in_dims is not compatible with the structure of "
                                                   "`inputs`")
    sizes, resolved = [], []
    for x, d in zip(leaves, dims):
        if d is None:
            resolved.append(None)
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ArgumentError(f"{where}: in_dim must be an int or None for every input, got {d!r}")
        if not isinstance(x, Tensor):
            raise ArgumentError(f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. We "
                                "cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        if not -x.ndim <= d < max(x.ndim, 0) or x.ndim == 0:
            raise ShapeError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                             f"dimensionality {x.ndim} so expected in_dim to satisfy {-x.ndim} <= in_dim < {x.ndim}.")
        d %= x.ndim
        resolved.append(d)
        sizes.append(x.shape[d])
    if not sizes:
        raise ArgumentError(f"{where}: at least one input must be a Tensor to be mapped over (got in_dims={in_dims!r})")
    if len(set(sizes)) != 1:
        raise ShapeError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    if sizes[0] == 0:
        raise ShapeError("vmap: the mapped dimension has size 0; tensorcore's vmap runs func once per element and "
                         "cannot tell the output's shape without one")
    return leaves, spec, resolved, sizes[0]


def _stack_outputs(outputs, out_dims, name):
    first_leaves, spec = tree_flatten(outputs[0])
    per_element = []
    for out in outputs:
        leaves, s = tree_flatten(out)
        if s != spec:
            raise ArgumentError(f"vmap({name}, ...): `{name}` returned outputs of different structures for "
                                "different batch elements")
        per_element.append(leaves)
    if not isinstance(out_dims, (int, tuple, list, dict, type(None))) or isinstance(out_dims, bool):
        raise ArgumentError(f"vmap({name}, ...): out_dims must be an int, None or a tuple, got {out_dims!r}")
    if isinstance(outputs[0], Tensor) and isinstance(out_dims, tuple):
        if len(out_dims) != 1:
            raise ArgumentError(f"vmap({name}, ...): out_dims={out_dims!r} for a single Tensor output")
        out_dims = out_dims[0]
    dims = broadcast_prefix(out_dims, outputs[0], f"vmap({name}, ...): out_dims is not compatible with the "
                                                  "structure of `outputs`")
    stacked = []
    for k, d in enumerate(dims):
        column = [leaves[k] for leaves in per_element]
        if d is None:
            stacked.append(_unbatched(column, name))
            continue
        if not isinstance(column[0], Tensor):
            raise ArgumentError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                                f"{type(column[0])}. Did you mean to set out_dims= to None for output?")
        ndim = column[0].ndim + 1
        if not isinstance(d, int) or not -ndim <= d < ndim:
            raise ShapeError(f"vmap({name}, ...): out_dim={d!r} is out of range for an output of "
                             f"dimensionality {ndim}")
        stacked.append(stack(column, d))
    return tree_unflatten(stacked, spec)


def _unbatched(column, name):
    """An output with out_dim None: the same value from every element (PyTorch raises for a batched one)."""
    first = column[0]
    for other in column[1:]:
        same = (bool((other == first).all()) if isinstance(first, Tensor) and isinstance(other, Tensor)
                and other.shape == first.shape else other is first or other == first)
        if not same:
            raise ArgumentError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
    return first
