"""torch.func's autodiff transforms on tensorcore's tape: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian.

Each call differentiates with respect to fresh stand-ins of its inputs: a new leaf for a tensor that needs no
gradient, or a recorded view of one that does (so an enclosing transform or backward() still reaches it, and
an input captured by an inner function stays a constant there, as torch.func's levels make it). The
gradients are taken with create_graph whenever grad mode was on at the call, so transforms compose
(grad(grad(f)), jacrev(jacrev(f)), vmap(grad(f))). A result whose graph reaches only this call's fresh leaves
is detached before it is returned: outside every transform it is a plain tensor, as in PyTorch.

jvp is the double-vjp: with u a fresh cotangent, J v = d/du <J^T u, v>. jacfwd computes the same Jacobian as
jacrev (row by row, by reverse mode); its values are forward mode's.
"""

import functools

from .. import engine
from ..creation import zeros_like
from ..errors import ArgumentError
from ..grad_mode import enable_grad, is_grad_enabled
from ..ops.joins import stack
from ..tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten


class _Level:
    """The stand-ins of one transform call, and the fresh leaves among them."""

    def __init__(self):
        self.fresh = {}  # id -> the fresh leaf (kept alive, so ids are not reused)

    def wrap(self, x, op):
        if not isinstance(x, Tensor):
            raise ArgumentError(f"{op}: expected Tensors to differentiate with respect to, got {type(x).__name__}")
        if not x.is_floating_point():
            raise ArgumentError(f"{op}: only Tensors of floating point dtype can be differentiated, got {x.dtype}")
        if x.requires_grad:
            return x.view(tuple(x.shape))  # recorded: the enclosing level's graph goes on through it
        leaf = x.detach().requires_grad_(True)
        self.fresh[id(leaf)] = leaf
        return leaf

    def release(self, t):
        """t, detached when its graph reaches no leaf but this level's fresh ones."""
        if not isinstance(t, Tensor) or not t.requires_grad:
            return t
        if t._node is None:
            return t.detach() if id(t) in self.fresh else t
        stack_, seen = [t._node], set()
        while stack_:
            node = stack_.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for edge in node.next:
                if edge is None:
                    continue
                if isinstance(edge, Tensor):
                    if id(edge) not in self.fresh:
                        return t
                else:
                    stack_.append(edge)
        return t.detach()

    def release_tree(self, tree):
        leaves, spec = tree_flatten(tree)
        return tree_unflatten([self.release(x) for x in leaves], spec)


def _argnums(argnums, n_args, op):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums) if isinstance(argnums, (tuple, list)) else None
    if not nums or not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise ArgumentError(f"{op}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    for i in nums:
        if not -n_args <= i < n_args:
            raise ArgumentError(f"{op}: got argnum={i}, but only {n_args} positional inputs")
    nums = tuple(i % n_args for i in nums)
    if len(set(nums)) != len(nums):
        raise ArgumentError(f"{op}: argnums must be unique, got {argnums!r}")
    return nums, single


def _wrap_args(level, args, nums, op):
    """args with the ones at nums replaced by stand-ins; and the stand-ins, per argnum (leaves, spec)."""
    args = list(args)
    wrapped = []
    for i in nums:
        leaves, spec = tree_flatten(args[i])
        new = [level.wrap(x, op) for x in leaves]
        args[i] = tree_unflatten(new, spec)
        wrapped.append((new, spec))
    return args, wrapped


def _split_aux(out, has_aux, op):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ArgumentError(f"{op}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return out


def _grads(outputs, inputs, create_graph, grad_outputs=None):
    """d outputs / d inputs with zeros for the inputs nothing reaches (as torch.func gives)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs or [None] * len(outputs))
             if isinstance(o, Tensor) and o.requires_grad]
    found = [None] * len(inputs)
    if pairs:
        found = engine.grad([o for o, _ in pairs], inputs, grad_outputs=[g for _, g in pairs],
                            retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [g if g is not None else zeros_like(x) for g, x in zip(found, inputs)]


def _shaped(wrapped, flat_grads, single):
    """Per argnum, the gradients put back in that argument's structure (one argument: its structure alone)."""
    out, start = [], 0
    for leaves, spec in wrapped:
        out.append(tree_unflatten(flat_grads[start:start + len(leaves)], spec))
        start += len(leaves)
    return out[0] if single else tuple(out)


def grad_and_value(func, argnums=0, has_aux=False):
    """torch.func.grad_and_value: a function returning (grad of func wrt args[argnums], func's value)
    ((grad, (value, aux)) with has_aux). func must return a scalar Tensor."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        op = "grad_and_value(f)(*args)"
        nums, single = _argnums(argnums, len(args), op)
        create_graph = is_grad_enabled()
        level = _Level()
        with enable_grad():
            new_args, wrapped = _wrap_args(level, args, nums, op)
            out, aux = _split_aux(func(*new_args, **kwargs), has_aux, op)
            if not isinstance(out, Tensor):
                raise ArgumentError(f"{op}: Expected f(*args) to return a Tensor, got {type(out).__name__}")
            if out.ndim != 0:
                raise ArgumentError(f"{op}: Expected f(*args) to return a scalar Tensor, got tensor with "
                                    f"{out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
            flat_inputs = [x for leaves, _ in wrapped for x in leaves]
            flat = _grads([out], flat_inputs, create_graph)
        grads = _shaped(wrapped, [level.release(g) for g in flat], single)
        value = level.release(out)
        return (grads, (value, level.release_tree(aux))) if has_aux else (grads, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """torch.func.grad: a function returning d func / d args[argnums] ((grad, aux) with has_aux).

    Example:
        tc.func.grad(lambda x: x.sin().sum())(x)            # cos(x)
        tc.func.grad(tc.func.grad(lambda x: x.sin()))(x)     # -sin(x), x a scalar
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func, *primals, has_aux=False):
    """torch.func.vjp: (func(*primals), vjp_fn[, aux]); vjp_fn(cotangents) gives one gradient per primal (a
    tuple), cotangents shaped as func's output. vjp_fn may be called many times."""
    op = "vjp(f, *primals)"
    create_graph = is_grad_enabled()
    level = _Level()
    with enable_grad():
        new_args, wrapped = _wrap_args(level, primals, tuple(range(len(primals))), op)
        out, aux = _split_aux(func(*new_args), has_aux, op)
    out_leaves, out_spec = tree_flatten(out)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise ArgumentError(f"{op}: expected f(*primals) to return only Tensors, got {type(o).__name__}")
    flat_inputs = [x for leaves, _ in wrapped for x in leaves]

    def vjp_fn(cotangents):
        cot_leaves, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec or len(cot_leaves) != len(out_leaves):
            raise ArgumentError(f"{op}: expected cotangents with the structure of the output ({len(out_leaves)} "
                                f"tensors), got {len(cot_leaves)}")
        for o, c in zip(out_leaves, cot_leaves):
            if not isinstance(c, Tensor) or tuple(c.shape) != tuple(o.shape):
                got = tuple(c.shape) if isinstance(c, Tensor) else type(c).__name__
                raise ArgumentError(f"{op}: expected a cotangent of shape {tuple(o.shape)}, got {got}")
        with enable_grad():
            flat = _grads(out_leaves, flat_inputs, create_graph and is_grad_enabled(), cot_leaves)
        grads = _shaped(wrapped, [level.release(g) for g in flat], False)
        return tuple(grads)

    released = level.release_tree(out)
    return (released, vjp_fn, level.release_tree(aux)) if has_aux else (released, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """torch.func.jvp: (func(*primals), J tangents[, aux]), computed as a double vjp."""
    op = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise ArgumentError(f"{op}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise ArgumentError(f"{op}: Expected tangents to be a tuple of the same length as primals")
    tangent_leaves, tangent_spec = tree_flatten(tangents)
    create_graph = is_grad_enabled()
    level = _Level()
    with enable_grad():
        new_args, wrapped = _wrap_args(level, primals, tuple(range(len(primals))), op)
        if tree_flatten(primals)[1] != tangent_spec:
            raise ArgumentError(f"{op}: Expected primals and tangents to have the same python structure")
        flat_inputs = [x for leaves, _ in wrapped for x in leaves]
        for x, v in zip(flat_inputs, tangent_leaves):
            if not isinstance(v, Tensor) or tuple(v.shape) != tuple(x.shape):
                got = tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__
                raise ArgumentError(f"{op}: Expected a tangent of shape {tuple(x.shape)}, got {got}")
        out, aux = _split_aux(func(*new_args), has_aux, op)
        out_leaves, out_spec = tree_flatten(out)
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise ArgumentError(f"{op}: expected f(*primals) to return only Tensors, got {type(o).__name__}")
        cotangents = [zeros_like(o).requires_grad_(True) if o.is_floating_point() else None for o in out_leaves]
        for u in cotangents:
            if u is not None:
                level.fresh[id(u)] = u
        live = [(o, u) for o, u in zip(out_leaves, cotangents) if u is not None]
        transposed = _grads([o for o, _ in live], flat_inputs, True, [u for _, u in live])
        dot = None
        for g, v in zip(transposed, tangent_leaves):
            if g.requires_grad:
                term = (g * v).sum()
                dot = term if dot is None else dot + term
        jv = [None] * len(live)
        if dot is not None:
            jv = engine.grad(dot, [u for _, u in live], retain_graph=True, create_graph=create_graph,
                             allow_unused=True)
        jv_iter = iter(jv)
        flat_jv = []
        for o, u in zip(out_leaves, cotangents):
            j = next(jv_iter) if u is not None else None
            flat_jv.append(level.release(j) if j is not None else zeros_like(o))
    result = (level.release_tree(out), tree_unflatten(flat_jv, out_spec))
    return result + (level.release_tree(aux),) if has_aux else result


def linearize(func, *primals):
    """torch.func.linearize: (func(*primals), jvp_fn) with jvp_fn(*tangents) = J tangents."""
    out = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """torch.func.jacrev: a function returning the Jacobian of func wrt args[argnums], shaped
    output.shape + input.shape, per output (func's output structure) and per argnum."""
    _check_chunk_size(chunk_size, "jacrev")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        op = "jacrev(f)(*args)"
        nums, single = _argnums(argnums, len(args), op)
        create_graph = is_grad_enabled()
        level = _Level()
        with enable_grad():
            new_args, wrapped = _wrap_args(level, args, nums, op)
            out, aux = _split_aux(func(*new_args, **kwargs), has_aux, op)
            out_leaves, out_spec = tree_flatten(out)
            flat_inputs = [x for leaves, _ in wrapped for x in leaves]
            per_output = []
            for o in out_leaves:
                if not isinstance(o, Tensor):
                    raise ArgumentError(f"{op}: expected f(*args) to return only Tensors, got {type(o).__name__}")
                rows = _jacobian_rows(o, flat_inputs, create_graph)
                jac = [level.release(j) for j in rows]
                per_output.append(_shaped(wrapped, jac, single))
        result = tree_unflatten(per_output, out_spec)
        return (result, level.release_tree(aux)) if has_aux else result

    return wrapper


def _jacobian_rows(o, inputs, create_graph):
    """Per input x: d o / d x shaped o.shape + x.shape, one reverse pass per element of o."""
    flat = o.reshape(-1)
    rows = [[] for _ in inputs]
    for k in range(flat.numel()):
        for r, g in zip(rows, _grads([flat[k]], inputs, create_graph)):
            r.append(g)
    out = []
    for r, x in zip(rows, inputs):
        shape = tuple(o.shape) + tuple(x.shape)
        out.append(stack(r, 0).reshape(shape) if r else zeros_like(x).reshape(-1)[:0].reshape(shape))
    return out


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """torch.func.jacfwd: the same Jacobian as jacrev (tensorcore computes it by reverse mode)."""
    if randomness not in ("error", "different", "same"):
        raise ArgumentError(f"jacfwd: randomness must be 'error', 'different' or 'same', got {randomness!r}")
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """torch.func.hessian: jacfwd(jacrev(func, argnums), argnums)."""
    return jacfwd(jacrev(func, argnums), argnums)


def _check_chunk_size(chunk_size, op):
    if chunk_size is not None and (not isinstance(chunk_size, int) or isinstance(chunk_size, bool)
                                   or chunk_size <= 0):
        raise ArgumentError(f"{op}: chunk_size should be a positive integer or None, got {chunk_size!r}")


__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize", "vjp"]
