"""Matrix and tensor products with torch's names: mm, bmm, mv, dot, vdot, outer, addmm, addmv, baddbmm,
tensordot, kron, cross, trace, einsum, cdist. Each is a composition of matmul, elementwise and shape ops
(its gradients are theirs), except einsum, a Function whose backward is again einsum."""

import string

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from .matmul import matmul, same_dtype
from .registry import register


def _ndim(op, t, n, name="input"):
    if t.ndim != n:
        raise ShapeError(f"{op}: {name} must be {n}-D, got shape {tuple(t.shape)}")


def _inner(op, a, b):
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
                         f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")


@register("mm", method=True)
def mm(input, mat2):
    """Matrix product of (n, m) and (m, p)."""
    _ndim("mm", input, 2), _ndim("mm", mat2, 2, "mat2"), _inner("mm", input, mat2)
    return matmul(input, mat2)


@register("bmm", method=True)
def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) (no broadcasting of the batch)."""
    _ndim("bmm", input, 3), _ndim("bmm", mat2, 3, "mat2"), _inner("bmm", input, mat2)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


@register("mv", method=True)
def mv(input, vec):
    """Matrix (n, m) times vector (m,)."""
    _ndim("mv", input, 2), _ndim("mv", vec, 1, "vec"), _inner("mv", input, vec)
    return matmul(input, vec)


@register("dot", method=True)
def dot(input, tensor):
    """Inner product of two 1-D tensors of the same length."""
    _ndim("dot", input, 1), _ndim("dot", tensor, 1, "tensor")
    if input.shape != tensor.shape:
        raise ShapeError(f"dot: 1D tensors expected of the same size, got {input.shape[0]} and {tensor.shape[0]}")
    same_dtype("dot", input, tensor)
    return (input * tensor).sum()


@register("vdot", method=True)
def vdot(input, other):
    """dot(conj(input), other); tensorcore's tensors are real, so dot."""
    return dot(input, other)


@register("outer", method=True)
def outer(input, vec2):
    """out[i, j] = input[i] vec2[j]."""
    from .._validate import fits_in_memory

    _ndim("outer", input, 1), _ndim("outer", vec2, 1, "vec2")
    fits_in_memory((input.shape[0], vec2.shape[0]), np.result_type(input.dtype, vec2.dtype), "outer")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def _scaled(beta, base, alpha, product):
    out = product if alpha == 1 else alpha * product
    if beta == 0:  # as PyTorch: base is ignored (NaN in it does not propagate)
        return out + 0 * product
    return out + (base if beta == 1 else beta * base)


@register("addmm", method=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta input + alpha (mat1 @ mat2) (input broadcast to the product's shape)."""
    return _scaled(beta, input, alpha, mm(mat1, mat2))


@register("addmv", method=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta input + alpha (mat @ vec)."""
    return _scaled(beta, input, alpha, mv(mat, vec))


@register("baddbmm", method=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta input + alpha bmm(batch1, batch2)."""
    return _scaled(beta, input, alpha, bmm(batch1, batch2))


@register("addbmm", method=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta input + alpha sum_b batch1[b] @ batch2[b]."""
    return _scaled(beta, input, alpha, bmm(batch1, batch2).sum(dim=0))


@register("tensordot")
def tensordot(a, b, dims=2):
    """Contract the last `dims` dims of a with the first of b, or the dims given as ([a dims], [b dims])."""
    if isinstance(dims, int):
        if dims < 0:
            raise ArgumentError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da, db = [d % a.ndim for d in da], [d % b.ndim for d in db]
    for i, j in zip(da, db):  # as PyTorch: a contracted dim of size 1 broadcasts (the other side is summed)
        if a.shape[i] != b.shape[j] and 1 in (a.shape[i], b.shape[j]):
            if b.shape[j] == 1:
                a = a.sum(dim=i, keepdim=True)
            else:
                b = b.sum(dim=j, keepdim=True)
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise ShapeError(f"tensordot: contracted dims {da} of {tuple(a.shape)} and {db} of {tuple(b.shape)} differ")
    fa, fb = [i for i in range(a.ndim) if i not in da], [j for j in range(b.ndim) if j not in db]
    k = 1
    for i in da:
        k *= a.shape[i]
    m, n = 1, 1  # the free sizes spelled out: reshape(-1, 0) of an empty tensor has no answer
    for i in fa:
        m *= a.shape[i]
    for j in fb:
        n *= b.shape[j]
    left = a.permute(*fa, *da).reshape(m, k)
    right = b.permute(*db, *fb).reshape(k, n)
    return matmul(left, right).reshape(*[a.shape[i] for i in fa], *[b.shape[j] for j in fb])


@register("kron", method=True)
def kron(input, other):
    """Kronecker product: out[i1 m1 + j1, ...] = input[i1, ...] other[j1, ...] (dims aligned at the right)."""
    n = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (n - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
    a = a.reshape(*[s for d in a.shape for s in (d, 1)])
    b = b.reshape(*[s for d in b.shape for s in (1, d)])
    return (a * b).reshape(*[x * y for x, y in zip(a.shape[::2], b.shape[1::2])])


@register("cross", method=True)
def cross(input, other, dim=None):
    """Cross product of 3-vectors along dim (None: the first dimension of size 3, as torch.cross); input and other
    broadcast (with the same number of dims, as PyTorch)."""
    if input.shape != other.shape:
        from .layout import broadcast_tensors

        try:
            if input.ndim != other.ndim:  # as PyTorch: the same number of dims, sizes of 1 broadcast
                raise ValueError
            np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        except ValueError:
            raise ShapeError(f"cross: input {tuple(input.shape)} and other {tuple(other.shape)} do not "
                             "broadcast") from None
        input, other = broadcast_tensors(input, other)
    if dim is None:
        sizes = [i for i, s in enumerate(input.shape) if s == 3]
        if not sizes:
            raise ShapeError(f"cross: no dimension of size 3 in input {tuple(input.shape)}")
        dim = sizes[0]
    dim = dim % input.ndim if input.ndim else 0
    if input.shape[dim] != 3:
        raise ShapeError(f"cross: dimension {dim} does not have size 3 (shape {tuple(input.shape)})")
    from .joins import stack

    a = [input.select(dim, i) for i in range(3)]
    b = [other.select(dim, i) for i in range(3)]
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dim)


@register("trace", method=True)
def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    from .layout import diagonal

    _ndim("trace", input, 2)
    if input.dtype.kind == "b":
        from ..errors import DTypeError

        raise DTypeError("trace: not implemented for bool tensors, as in PyTorch")
    return diagonal(input).sum()


class Einsum(Function):
    op_name = "einsum"

    @staticmethod
    def forward(ctx, *arrays, inputs, output):
        ctx.save_for_backward(*arrays)
        ctx.inputs, ctx.output = inputs, output
        return ctx.backend.xp.einsum(",".join(inputs) + "->" + output, *arrays)

    @staticmethod
    def backward(ctx, g):
        ts = ctx.saved_tensors
        grads = []
        for k, sub in enumerate(ctx.inputs):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(s, t) for i, (s, t) in enumerate(zip(ctx.inputs, ts)) if i != k]
            seen = set(ctx.output).union(*(set(s) for s, _ in others))
            kept = "".join(c for c in sub if c in seen)
            grad = _einsum([ctx.output] + [s for s, _ in others], kept, [g] + [t for _, t in others])
            if kept != sub:  # letters summed in this operand alone: the gradient is constant along them
                full = tuple(ts[k].shape)
                grad = grad.reshape(*[n if c in kept else 1 for c, n in zip(sub, full)]).expand(*full)
            grads.append(grad)
        return tuple(grads)


def _einsum(inputs, output, tensors):
    return Einsum.apply(*tensors, inputs=tuple(inputs), output=output)


def _ellipsis(inputs, out, arrow, operands):
    """'...' replaced by letters of their own (right-aligned across operands, as broadcasting aligns dims)."""
    free = [c for c in reversed(string.ascii_letters) if c not in "".join(inputs) + out]
    spans = []
    for sub, t in zip(inputs, operands):
        n = t.ndim - (len(sub) - 3) if "..." in sub else 0
        if n < 0:
            raise ShapeError(f"einsum: subscripts {sub!r} for an operand of shape {tuple(t.shape)}")
        spans.append(n)
    width = max(spans, default=0)
    letters = "".join(free[:width][::-1])
    inputs = [sub.replace("...", letters[width - n:]) for sub, n in zip(inputs, spans)]
    if arrow:
        out = out.replace("...", letters)
    elif "..." in "".join(inputs):
        out = None
    return inputs, out, letters


def _diagonals(sub, t):
    """A letter repeated within one operand takes that operand's diagonal (moved to the end, as tc.diagonal)."""
    while len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        i = sub.index(c)
        j = sub.index(c, i + 1)
        if t.shape[i] != t.shape[j]:
            raise ShapeError(f"einsum: letter {c!r} repeated in {sub!r} with sizes {t.shape[i]} and {t.shape[j]}")
        t = t.diagonal(0, i, j)
        sub = sub[:i] + sub[i + 1:j] + sub[j + 1:] + c
    return sub, t


@register("einsum")
def einsum(equation, *operands):
    """Einstein summation, torch.einsum('ij,jk->ik', a, b); the implicit form ('ij,jk') sums the repeated letters.

    '...' stands for the dims not named (broadcast across operands); a letter repeated within one operand takes
    its diagonal; dims of size 1 broadcast against the other operands' size of that letter, as PyTorch's.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise ArgumentError(f"einsum: equation must be a string, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ArgumentError(f"einsum: the equation has {len(inputs)} operands, {len(operands)} were given")
    letters = set(string.ascii_letters)
    for sub in inputs + [out]:
        if not set(sub.replace("...", "")) <= letters or sub.replace("...", "").count(".") or sub.count("...") > 1:
            raise ArgumentError(f"einsum: subscripts must be letters and at most one '...', got {sub!r}")
    inputs, out, ell = _ellipsis(inputs, out, arrow, operands)
    counts = {}
    for c in "".join(inputs):  # the implicit output: the letters named once in the equation, as written
        counts[c] = counts.get(c, 0) + 1
    operands = list(operands)
    for k, (sub, t) in enumerate(zip(inputs, operands)):
        if len(sub) != t.ndim:
            raise ShapeError(f"einsum: subscripts {sub!r} for an operand of shape {tuple(t.shape)}")
        inputs[k], operands[k] = _diagonals(sub, t)
    if not arrow:
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    sizes = {}
    for sub, t in zip(inputs, operands):
        for c, n in zip(sub, t.shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise ShapeError(f"einsum: letter {c!r} has sizes {sizes[c]} and {n}")
    for k, (sub, t) in enumerate(zip(inputs, operands)):  # size-1 dims broadcast
        want = tuple(sizes[c] for c in sub)
        if tuple(t.shape) != want:
            operands[k] = t.expand(*want)
    if not set(out) <= set(sizes) or len(set(out)) != len(out):
        raise ArgumentError(f"einsum: bad output subscripts {out!r}")
    return _einsum(inputs, out, operands)


@register("cdist")
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p."""
    from .stats import vector_norm

    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} must be (..., P, M) and (..., R, M)")
    if p < 0:
        raise ArgumentError(f"cdist only supports non-negative p values, got {p}")
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, dim=-1)
