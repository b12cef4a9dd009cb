"""Shape ops against PyTorch (values, dtypes, gradients in float64), including the names whose meaning
changed from NumPy's: transpose swaps two dims, repeat tiles, split takes a piece size, squeeze(dim) skips
dims that are not 1, x.T reverses all dims; and views sharing memory and the version counter."""

import numpy as np
import pytest

import tensorcore as tc

from .torch_compare import compare

torch = pytest.importorskip("torch")

R = np.random.default_rng(2)
X = R.standard_normal((2, 3, 4))
M = R.standard_normal((3, 4))
V = R.standard_normal(5)


def _both(fn):
    return (lambda *a: fn(tc, *a)), (lambda *a: fn(torch, *a))


CALLS_3D = {
    # the reversed names
    "transpose(0, 1)": lambda m, x: x.transpose(0, 1),
    "transpose(-1, 0)": lambda m, x: m.transpose(x, -1, 0),
    "transpose same dim": lambda m, x: x.transpose(1, 1),
    "T reverses": lambda m, x: x.T,
    "mT": lambda m, x: x.mT,
    "repeat tiles": lambda m, x: x.repeat(2, 1, 3),
    "repeat new dims": lambda m, x: x.repeat(2, 1, 1, 2),
    "split size": lambda m, x: x.split(3, 2),
    "split sizes": lambda m, x: m.split(x, [1, 2], dim=1),
    "split default dim": lambda m, x: x.split(1),
    "squeeze non-1 dim": lambda m, x: x.squeeze(1),
    "squeeze all": lambda m, x: x.unsqueeze(0).unsqueeze(3).squeeze(),
    "squeeze tuple": lambda m, x: x.unsqueeze(2).squeeze((0, 2)),
    "unsqueeze -1": lambda m, x: x.unsqueeze(-1),
    "flatten": lambda m, x: x.flatten(),
    "flatten start_dim": lambda m, x: m.flatten(x, 1),
    "flatten start end": lambda m, x: m.flatten(x, start_dim=0, end_dim=1),
    "unflatten": lambda m, x: x.unflatten(2, (2, -1)),
    # views and layout
    "view": lambda m, x: x.view(6, 4),
    "view -1": lambda m, x: x.view(-1, 2),
    "view tuple": lambda m, x: x.view((4, 6)),
    "view_as": lambda m, x: x.view_as(x.reshape(4, 6)),
    "reshape_as": lambda m, x: x.permute(2, 0, 1).reshape_as(x),
    "reshape": lambda m, x: m.reshape(x, (4, -1)),
    "permute": lambda m, x: x.permute(2, 0, 1),
    "permute negative": lambda m, x: m.permute(x, (-1, 0, 1)),
    "movedim": lambda m, x: x.movedim(0, -1),
    "movedim tuples": lambda m, x: m.movedim(x, (0, 1), (2, 0)),
    "moveaxis": lambda m, x: m.moveaxis(x, 2, 0),
    "swapaxes": lambda m, x: x.swapaxes(0, 2),
    "swapdims": lambda m, x: m.swapdims(x, 1, 2),
    "expand": lambda m, x: x[:, :1].expand(2, 5, 4),
    "expand -1 new dim": lambda m, x: x[:, :1].expand(3, -1, 2, -1),
    "expand_as": lambda m, x: x[:1].expand_as(x),
    "broadcast_to": lambda m, x: m.broadcast_to(x[:, :, :1], (2, 3, 3)),
    "contiguous": lambda m, x: x.transpose(0, 2).contiguous(),
    # joins and splits
    "cat": lambda m, x: m.cat([x, x * 2], 1),
    "cat negative dim": lambda m, x: m.cat((x, x[:, :, :1]), dim=-1),
    "concat": lambda m, x: m.concat([x, x], 0),
    "concatenate": lambda m, x: m.concatenate([x, x], 2),
    "stack": lambda m, x: m.stack([x, x * 3], 1),
    "stack -1": lambda m, x: m.stack([x, x], dim=-1),
    "tensor_split sections": lambda m, x: x.tensor_split(3, 2),
    "tensor_split indices": lambda m, x: m.tensor_split(x, [1, 3], dim=2),
    "chunk": lambda m, x: x.chunk(3, 2),
    "chunk fewer": lambda m, x: m.chunk(x, 4, 1),
    "unbind": lambda m, x: x.unbind(1),
    "select": lambda m, x: x.select(2, -1),
    "narrow": lambda m, x: x.narrow(2, 1, 2),
    "narrow negative start": lambda m, x: m.narrow(x, 1, -2, 2),
    "hstack": lambda m, x: m.hstack([x, x]),
    "vstack": lambda m, x: m.vstack([x, x[:1]]),
    "dstack": lambda m, x: m.dstack([x, x]),
    # flips and rotations
    "flip": lambda m, x: x.flip(0, 2),
    "flip list": lambda m, x: m.flip(x, [1]),
    "flip dims=": lambda m, x: m.flip(x, dims=(0, 1)),
    "fliplr": lambda m, x: x.fliplr(),
    "flipud": lambda m, x: m.flipud(x),
    "roll": lambda m, x: x.roll(1, 2),
    "roll dims": lambda m, x: m.roll(x, (1, -2), (0, 2)),
    "roll flat": lambda m, x: x.roll(5),
    "rot90": lambda m, x: x.rot90(),
    "rot90 k=2": lambda m, x: m.rot90(x, 2, (1, 2)),
    "rot90 k=-1": lambda m, x: x.rot90(-1, [2, 0]),
    "rot90 k=3": lambda m, x: x.rot90(3),
    # triangles and diagonals
    "tril": lambda m, x: x.tril(),
    "tril 1": lambda m, x: m.tril(x, 1),
    "triu -1": lambda m, x: x.triu(-1),
    "diagonal": lambda m, x: x.diagonal(),
    "diagonal offset dims": lambda m, x: m.diagonal(x, 1, 1, 2),
    "diagonal negative": lambda m, x: x.diagonal(-1, -1, 0),
    "diag_embed": lambda m, x: x.diag_embed(),
    "diag_embed offset dims": lambda m, x: m.diag_embed(x, -1, 0, 2),
    # repeats
    "tile": lambda m, x: x.tile((2, 1, 1)),
    "tile fewer": lambda m, x: m.tile(x, (2,)),
    "tile more": lambda m, x: x.tile(2, 1, 1, 2),
    "repeat_interleave": lambda m, x: x.repeat_interleave(2, 1),
    "repeat_interleave flat": lambda m, x: m.repeat_interleave(x, 2),
    "repeat_interleave counts": lambda m, x: x.repeat_interleave(m.tensor([1, 0, 3]), dim=1),
    "getitem basic": lambda m, x: x[1, :, ::2],
    "getitem None Ellipsis": lambda m, x: x[None, ..., -1],
}


@pytest.mark.parametrize("name", sorted(CALLS_3D))
def test_same_call_as_pytorch(name):
    ours, theirs = _both(CALLS_3D[name])
    compare(ours, theirs, X)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.t(), lambda m, x: m.t(x[0]), lambda m, x: x.T, lambda m, x: x[0].T, lambda m, x: m.diag(x),
    lambda m, x: m.diag(x, 1), lambda m, x: m.diag(x[0]), lambda m, x: m.diag(x[0], -2),
    lambda m, x: m.column_stack([x[:, 0], x]), lambda m, x: m.atleast_1d(x[0, 0]), lambda m, x: m.atleast_2d(x[0]),
    lambda m, x: m.atleast_3d(x), lambda m, x: m.atleast_3d(x[0]), lambda m, x: m.atleast_2d(x[0], x),
    lambda m, x: m.atleast_1d([x, x[0, 0]]), lambda m, x: m.hstack([x[0], x[1]]), lambda m, x: m.vstack([x[0], x[1]]),
    lambda m, x: m.meshgrid(x[0], x[1, :2], indexing="ij"), lambda m, x: m.meshgrid([x[0], x[1, :2]], indexing="xy"),
    lambda m, x: m.meshgrid(x[0], x[1, :2], x[2], indexing="xy"), lambda m, x: m.broadcast_tensors(x[:, :1], x[0]),
    lambda m, x: x[0].unsqueeze(0).squeeze(0), lambda m, x: x.flatten(0, -1), lambda m, x: x[0, 0].flatten(),
    lambda m, x: x.rot90(1, (0, 1)), lambda m, x: m.tril(x, -1), lambda m, x: x[0, 0].reshape(1, 1),
])
def test_matrix_and_vector_inputs(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, M)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.cat([x.long(), x]), lambda m, x: m.stack([x.int(), x.int()]), lambda m, x: x.long().repeat(2, 1),
    lambda m, x: m.cat([x.float(), x]), lambda m, x: x.long().transpose(0, 1), lambda m, x: (x > 0).flip(0),
    lambda m, x: m.tril(x.long()), lambda m, x: m.repeat_interleave(m.tensor([2, 0, 1])),
    lambda m, x: m.cat([x, m.tensor([])]),
])
def test_dtypes_follow_pytorch(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, M, grad=False)


def test_views_share_memory_and_version():
    x = tc.tensor(X)
    for view in (x.transpose(0, 1), x.view(6, 4), x.permute(2, 0, 1), x[0], x.narrow(2, 1, 2), x.select(1, 0),
                 x.unbind(0)[1], x.split(2, 2)[0], x.expand(3, 2, 3, 4), x.diagonal(0, 1, 2), x.movedim(0, 2),
                 x.unsqueeze(0), x.squeeze(), x.T):
        before = x._version
        assert np.shares_memory(view.numpy(), x.numpy())
        view.add_(0) if getattr(view._data.flags, "writeable", True) else view._vc.__setitem__(0, view._vc[0] + 1)
        assert x._version == before + 1
    v = x.narrow(2, 0, 1)
    v.mul_(0)
    assert np.all(x.numpy()[..., 0] == 0)  # an in-place change through a view writes the base
    assert not np.shares_memory(x.flip(0).numpy(), x.numpy())  # flip copies, as PyTorch's


def test_view_refuses_incompatible_strides_like_pytorch():
    x = tc.tensor(M).t()
    with pytest.raises(tc.ShapeError, match="view: a view of shape \\(12,\\) is not compatible"):
        x.view(-1)
    with pytest.raises(RuntimeError):
        torch.tensor(M).t().view(-1)
    np.testing.assert_array_equal(x.reshape(-1).numpy(), M.T.reshape(-1))


def test_view_dtype():
    x = tc.tensor(M.astype(np.float32))
    assert x.view(tc.int32).dtype == tc.int32
    np.testing.assert_array_equal(x.view(tc.int32).numpy(), torch.tensor(M.astype(np.float32)).view(torch.int32))
    with pytest.raises(tc.ArgumentError, match="only same-size dtypes"):
        x.view(tc.float64)


def test_numpy_meanings_moved_to_their_new_names():
    x = tc.tensor(X)
    with pytest.raises(tc.ArgumentError, match="use permute"):
        x.transpose(2, 0, 1)
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), X.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.repeat_interleave(2, 1).numpy(), X.repeat(2, axis=1))
    with pytest.raises(tc.ShapeError, match="for NumPy's repeat use repeat_interleave"):
        x.repeat(2)
    assert [p.shape[0] for p in tc.tensor_split(tc.tensor(V), 3)] == [len(a) for a in np.array_split(V, 3)]
    assert [p.shape[0] for p in tc.split(tc.tensor(V), 2)] == [2, 2, 1]
    assert x.squeeze(0).shape == (2, 3, 4) and x.swapaxes(0, 2).shape == (4, 3, 2)


def test_errors_name_the_op():
    x = tc.tensor(X)
    with pytest.raises(tc.ShapeError, match="expand: the size 3 of dim 1"):
        x.expand(2, 5, 4)
    with pytest.raises(tc.ShapeError, match="split: sizes \\[1, 1\\] do not add up to the size 3 of dim 1"):
        x.split([1, 1], 1)
    with pytest.raises(tc.ShapeError, match="narrow: start \\(3\\) \\+ length \\(2\\)"):
        x.narrow(2, 3, 2)
    with pytest.raises(tc.ShapeError, match="cat: shapes"):
        tc.cat([x, x[:, :1, :2]], 1)
    with pytest.raises(tc.ShapeError, match="diagonal: needs two different dims"):
        x.diagonal(0, 1, 1)
    with pytest.raises(tc.ArgumentError, match="meshgrid: indexing must be"):
        tc.meshgrid(x[0, 0], indexing="ji")
    with pytest.raises(tc.ArgumentError, match="contiguous: memory_format"):
        x.contiguous(memory_format="channels_last")


@pytest.mark.parametrize("fn", [
    lambda m, x: x.hsplit(2), lambda m, x: m.vsplit(x, [1, 2]), lambda m, x: x.reshape(2, 1, 6).dsplit(3),
    lambda m, x: x.t().ravel(), lambda m, x: x.unfold(1, 2, 1), lambda m, x: m.diagflat(x[:2, :2], 1),
    lambda m, x: m.block_diag(x[:2, :2], x[0, 0], x[1]), lambda m, x: m.cartesian_prod(x[0, :2], x[1, :3]),
    lambda m, x: x.unfold(0, 2, 2), lambda m, x: m.cartesian_prod(x[0]),
])
def test_more_shape_ops(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, M)


def test_index_grids():
    for offset in (0, 1, -2):
        np.testing.assert_array_equal(tc.tril_indices(3, 4, offset).numpy(), torch.tril_indices(3, 4, offset).numpy())
        np.testing.assert_array_equal(tc.triu_indices(4, 3, offset).numpy(), torch.triu_indices(4, 3, offset).numpy())
    assert tc.tril_indices(2, 2).dtype == tc.int64


def test_in_place_shape_ops_follow_pytorch():
    ours, theirs = tc.tensor(X[:, :1]), torch.tensor(X[:, :1])
    for t in (ours, theirs):
        assert t.squeeze_(1) is t
        t.t_()
        t.unsqueeze_(0)
        t.transpose_(0, 2)
        t.swapaxes_(0, 1)
        t.swapdims_(1, 2)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    leaf = tc.tensor(X, requires_grad=True)
    y = leaf * 2
    y.transpose_(0, 2)
    y.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.full(X.shape, 2.0))
    with pytest.raises(tc.GradientError, match="t_: a leaf tensor that requires grad"):
        tc.tensor(M, requires_grad=True).t_()


@pytest.mark.parametrize("fn", [
    lambda m, x: m.alias_copy(x), lambda m, x: m.diagonal_copy(x, 1), lambda m, x: m.expand_copy(x[:1], (2, 3, 4)),
    lambda m, x: m.permute_copy(x, (1, 0)), lambda m, x: m.squeeze_copy(x[None]), lambda m, x: m.t_copy(x),
    lambda m, x: m.transpose_copy(x, 0, 1), lambda m, x: m.unbind_copy(x, 1), lambda m, x: m.unsqueeze_copy(x, 1),
    lambda m, x: m.view_copy(x, (12,)), lambda m, x: m.unfold_copy(x, 1, 2, 1),
    lambda m, x: m.split_with_sizes(x, [1, 3], 1), lambda m, x: x.unsafe_split(2, 1), lambda m, x: m.unsafe_chunk(x, 2),
    lambda m, x: x.sum_to_size(1, 4), lambda m, x: x.sum_to_size(3, 1), lambda m, x: m.linalg.diagonal(x[None]),
    lambda m, x: x.H,
])
def test_copies_and_aliases(fn):
    ours, theirs = _both(fn)
    compare(ours, theirs, M)


@pytest.mark.parametrize("name", ["alias", "diagonal", "expand", "permute", "squeeze", "t", "transpose", "unbind",
                                  "unsqueeze", "view", "unfold"])
def test_copies_share_no_memory(name):
    x = tc.tensor(M)
    args = {"diagonal": (), "expand": ((2, 3, 4),), "permute": ((1, 0),), "transpose": (0, 1), "unbind": (1,),
            "unsqueeze": (0,), "view": ((12,),), "unfold": (1, 2, 1)}.get(name, ())
    out = getattr(tc, name + "_copy")(x, *args)
    for o in out if isinstance(out, tuple) else (out,):
        assert not np.shares_memory(o.numpy(), x.numpy())
