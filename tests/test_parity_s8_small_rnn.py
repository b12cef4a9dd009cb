"""torch.nn.utils.rnn.unpad_sequence, unpack_sequence and invert_permutation against torch."""

import numpy as np
import pytest
import tensorcore.nn.utils.rnn as R

import tensorcore as tc

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn


def _seqs(lengths, feat=(3,), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + feat) for n in lengths]


def test_rnn_names_are_torchs():
    for name in trnn.__all__:
        assert hasattr(R, name), name


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 2, 4], [1], [3, 3]])
def test_unpad_sequence_values_and_grads(batch_first, lengths):
    arrays = _seqs(lengths)
    xs = [tc.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    padded = R.pad_sequence(xs, batch_first=batch_first)
    tpadded = trnn.pad_sequence(ts, batch_first=batch_first)
    out = R.unpad_sequence(padded, tc.tensor(lengths), batch_first=batch_first)
    tout = trnn.unpad_sequence(tpadded.clone(), torch.tensor(lengths), batch_first=batch_first)
    assert len(out) == len(tout)
    weights = [np.arange(o.numel(), dtype=np.float64).reshape(tuple(o.shape)) for o in tout]
    for o, t in zip(out, tout):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    sum((o * tc.tensor(w)).sum() for o, w in zip(out, weights)).backward()
    sum((t * torch.tensor(w)).sum() for t, w in zip(tout, weights)).backward()
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_unpad_sequence_leaves_the_input_as_it_was():
    padded = R.pad_sequence([tc.ones(4, 2), tc.ones(2, 2)])
    R.unpad_sequence(padded, tc.tensor([4, 2]))
    assert tuple(padded.shape) == (4, 2, 2)


def test_unpad_sequence_lengths_past_the_end_and_list_lengths():
    padded = np.random.default_rng(1).standard_normal((2, 3, 4))
    out = R.unpad_sequence(tc.tensor(padded), [7, 0], batch_first=True)
    tout = trnn.unpad_sequence(torch.tensor(padded), torch.tensor([7, 0]), batch_first=True)
    for o, t in zip(out, tout):
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_unpad_sequence_bad_lengths_raise():
    with pytest.raises(ValueError):
        trnn.unpad_sequence(torch.zeros(3, 2, 4), torch.tensor([1, 2]), batch_first=True)
    with pytest.raises(tc.ShapeError, match="unpad_sequence: 2 lengths"):
        R.unpad_sequence(tc.zeros(3, 2, 4), tc.tensor([1, 2]), batch_first=True)
    with pytest.raises(tc.ShapeError, match="unpad_sequence"):
        R.unpad_sequence(tc.zeros(3), tc.tensor([1]))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_unpack_sequence_matches_torch(enforce_sorted):
    lengths = [4, 3, 1] if enforce_sorted else [2, 5, 3]
    arrays = _seqs(lengths, (2,), seed=3)
    xs = [tc.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = R.unpack_sequence(R.pack_sequence(xs, enforce_sorted=enforce_sorted))
    tout = trnn.unpack_sequence(trnn.pack_sequence(ts, enforce_sorted=enforce_sorted))
    for o, t in zip(out, tout):
        np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    sum((o * o).sum() for o in out).backward()
    sum((t * t).sum() for t in tout).backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("perm", [[2, 0, 1], [0], [], [4, 3, 0, 1, 2]])
def test_invert_permutation_matches_torch(perm):
    p = tc.tensor(np.array(perm, dtype=np.int64))
    tp = torch.tensor(np.array(perm, dtype=np.int64))
    out, tout = R.invert_permutation(p), trnn.invert_permutation(tp)
    assert out.dtype == tc.int64 and tout.dtype == torch.int64
    np.testing.assert_array_equal(out.numpy(), tout.numpy())


def test_invert_permutation_refuses_other_dtypes_like_torch():
    with pytest.raises(RuntimeError):
        trnn.invert_permutation(torch.tensor([1, 0], dtype=torch.int32))
    with pytest.raises(tc.ArgumentError, match="1-D int64"):
        R.invert_permutation(tc.tensor(np.array([1, 0], dtype=np.int32)))


def test_invert_permutation_none_and_bad_input():
    assert R.invert_permutation(None) is None and trnn.invert_permutation(None) is None
    with pytest.raises(tc.ArgumentError, match="not a permutation"):
        R.invert_permutation(tc.tensor([0, 3]))
    with pytest.raises(tc.ArgumentError, match="1-D int64"):
        R.invert_permutation(tc.tensor([0.0, 1.0]))


def test_invert_permutation_undoes_packed_sorting():
    packed = R.pack_sequence([tc.ones(2, 1), tc.ones(5, 1), tc.ones(3, 1)], enforce_sorted=False)
    np.testing.assert_array_equal(R.invert_permutation(packed.sorted_indices).numpy(),
                                  packed.unsorted_indices.numpy())
