"""The tensor-parallel collectives as autograd Functions (Megatron-LM's mappings), so backward communicates.

Each forward is one collective (or none) on the group's ranks; each backward is the adjoint collective,
written as another of these Functions, so double backward communicates correctly too:

    copy_to_parallel_region          x -> x                        grad -> all_reduce(grad)
    reduce_from_parallel_region      x -> all_reduce(x)            grad -> grad
    gather_from_parallel_region      x -> all_gather(x, dim)       grad -> this rank's slice of grad
    scatter_to_parallel_region       x -> this rank's slice of x   grad -> all_gather(grad, dim)
    reduce_scatter_to_sequence_parallel_region   x -> reduce_scatter(x, dim 0)   grad -> all_gather(grad, dim 0)
    gather_from_sequence_parallel_region         x -> all_gather(x, dim 0)       grad -> reduce_scatter(grad, dim 0)

The first four assume what a tensor-parallel layer's ranks hold: a replicated input (the same on every
rank), a partial sum, or a slice. Slices may be uneven: `sizes` lists every rank's extent along `dim`.
"""

from ...autograd import Function
from ...errors import ShapeError
from ...tensor import Tensor
from .comm import all_gather_array, all_reduce_array, reduce_scatter_array, resolve


def _check(x, what):
    if not isinstance(x, Tensor):
        raise ShapeError(f"{what}: expected a Tensor, got {type(x).__name__}")


def _sizes(group, x, dim, sizes, what, full):
    """Every rank's extent along dim (even split of `full` when sizes is None)."""
    n = group.size
    if sizes is None:
        if full % n:
            raise ShapeError(f"{what}: dim {dim} of shape {tuple(x.shape)} ({full}) is not divisible by the "
                             f"tensor-parallel world size ({n})")
        return (full // n,) * n
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) != n or sum(sizes) != full:
        raise ShapeError(f"{what}: sizes {sizes} do not split dim {dim} of shape {tuple(x.shape)} over {n} ranks")
    return sizes


class _CopyToParallelRegion(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return x[...]

    @staticmethod
    def backward(ctx, grad):
        return reduce_from_parallel_region(grad, ctx.group)


class _ReduceFromParallelRegion(Function):
    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return all_reduce_array(group, x)

    @staticmethod
    def backward(ctx, grad):
        return copy_to_parallel_region(grad, ctx.group)


class _GatherFromParallelRegion(Function):
    @staticmethod
    def forward(ctx, x, group, dim, sizes):
        ctx.group, ctx.dim, ctx.sizes = group, dim, sizes
        xp = ctx.backend.xp
        biggest = max(sizes)
        if x.shape[dim] < biggest:  # an uneven split: pad to the largest slice, gather, trim
            pad = [(0, 0)] * x.ndim
            pad[dim] = (0, biggest - x.shape[dim])
            x = xp.pad(x, pad)
        parts = all_gather_array(group, x)
        return xp.concatenate([xp.take(parts[r], xp.arange(s), axis=dim) for r, s in enumerate(sizes)], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return scatter_to_parallel_region(grad, ctx.group, ctx.dim, ctx.sizes)


class _ScatterToParallelRegion(Function):
    @staticmethod
    def forward(ctx, x, group, dim, sizes):
        ctx.group, ctx.dim, ctx.sizes = group, dim, sizes
        start = sum(sizes[: group.rank])
        index = [slice(None)] * x.ndim
        index[dim] = slice(start, start + sizes[group.rank])
        return ctx.backend.xp.ascontiguousarray(x[tuple(index)])

    @staticmethod
    def backward(ctx, grad):
        return gather_from_parallel_region(grad, ctx.group, ctx.dim, ctx.sizes)


class _ReduceScatterToSequenceParallelRegion(Function):
    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return reduce_scatter_array(group, x)

    @staticmethod
    def backward(ctx, grad):
        return gather_from_sequence_parallel_region(grad, ctx.group)


class _GatherFromSequenceParallelRegion(Function):
    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        parts = all_gather_array(group, x)
        return parts.reshape(parts.shape[0] * parts.shape[1], *parts.shape[2:])

    @staticmethod
    def backward(ctx, grad):
        return reduce_scatter_to_sequence_parallel_region(grad, ctx.group)


def copy_to_parallel_region(x, group=None):
    """y = x on every rank; backward all-reduces the gradient (the input of a column-parallel layer)."""
    _check(x, "copy_to_parallel_region")
    return _CopyToParallelRegion.apply(x, group=resolve(group, "copy_to_parallel_region"))


def reduce_from_parallel_region(x, group=None):
    """y = sum over ranks of x; backward passes the gradient through (the output of a row-parallel layer)."""
    _check(x, "reduce_from_parallel_region")
    return _ReduceFromParallelRegion.apply(x, group=resolve(group, "reduce_from_parallel_region"))


def _dim(x, dim, what):
    if not -x.ndim <= dim < x.ndim:
        raise ShapeError(f"{what}: dim {dim} is out of range for shape {tuple(x.shape)}")
    return dim % x.ndim


def gather_from_parallel_region(x, group=None, dim=-1, sizes=None):
    """y = cat([x of rank 0, x of rank 1, ...], dim); backward keeps this rank's slice of the gradient.

    sizes: every rank's extent of x along dim (for an uneven split; default all equal to x's).
    """
    what = "gather_from_parallel_region"
    _check(x, what)
    group = resolve(group, what)
    dim = _dim(x, dim, what)
    if sizes is None:
        sizes = (x.shape[dim],) * group.size
    else:
        sizes = _sizes(group, x, dim, sizes, what, sum(int(s) for s in sizes))
        if sizes[group.rank] != x.shape[dim]:
            raise ShapeError(f"{what}: this rank's slice is {x.shape[dim]} wide along dim {dim} (shape "
                             f"{tuple(x.shape)}), sizes says {sizes[group.rank]}")
    return _GatherFromParallelRegion.apply(x, group=group, dim=dim, sizes=sizes)


def scatter_to_parallel_region(x, group=None, dim=-1, sizes=None):
    """y = this rank's slice of x along dim (even, or `sizes` per rank); backward all-gathers the gradient."""
    what = "scatter_to_parallel_region"
    _check(x, what)
    group = resolve(group, what)
    dim = _dim(x, dim, what)
    sizes = _sizes(group, x, dim, sizes, what, x.shape[dim])
    return _ScatterToParallelRegion.apply(x, group=group, dim=dim, sizes=sizes)


def reduce_scatter_to_sequence_parallel_region(x, group=None):
    """y = block `rank` (along dim 0) of the sum over ranks of x; backward all-gathers the gradient."""
    what = "reduce_scatter_to_sequence_parallel_region"
    _check(x, what)
    group = resolve(group, what)
    if x.ndim == 0 or x.shape[0] % group.size:
        raise ShapeError(f"{what}: dim 0 of shape {tuple(x.shape)} must be divisible by the group size {group.size}")
    return _ReduceScatterToSequenceParallelRegion.apply(x, group=group)


def gather_from_sequence_parallel_region(x, group=None):
    """y = cat over ranks of x along dim 0; backward reduce-scatters the gradient (sums the ranks' parts)."""
    what = "gather_from_sequence_parallel_region"
    _check(x, what)
    if x.ndim == 0:
        raise ShapeError(f"{what}: needs at least one dimension, got a scalar")
    return _GatherFromSequenceParallelRegion.apply(x, group=resolve(group, what))
