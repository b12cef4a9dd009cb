"""The nn.Transformer translation tutorial under `import tensorcore as torch`: float causal masks, bool source
masks and key padding masks together, greedy decoding through .encoder / .decoder, against PyTorch."""

import warnings

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, no_dropout, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def pairs(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):  # "translate" = reverse and shift by one word, of 2 to 6 words (so the batches are padded)
        words = rng.integers(4, 12, int(rng.integers(2, 7))).tolist()
        out.append((words, [w + 1 for w in words[::-1]]))
    return out


def test_translation_transformer_matches_torch():
    ours, theirs = both("translation_transformer")
    train_iter, val_iter = pairs(32, 0), pairs(16, 1)
    th_model, tc_model = theirs.build(12, 13), ours.build(12, 13)
    copy_weights(th_model, tc_model, ours.torch)
    no_dropout(th_model), no_dropout(tc_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch warns that the mask types differ; the tutorial mixes them)
        want = theirs.main(th_model, train_iter, val_iter)
        want_words = [theirs.translate(th_model, src) for src, _ in val_iter[:4]]
    got = ours.main(tc_model, train_iter, val_iter)
    got_words = [ours.translate(tc_model, src) for src, _ in val_iter[:4]]
    close(got, want, rtol=2e-4, atol=2e-5, what="(train loss, val loss) per epoch")
    assert got[-1][0] < got[0][0]
    for k, v in state_arrays(th_model).items():
        g = state_arrays(tc_model)[k]
        if k.endswith("in_proj_bias"):  # the key bias's gradient is 0 up to rounding; Adam makes it +-lr
            g, v = np.delete(g, np.s_[16:32]), np.delete(v, np.s_[16:32])
        close(g, v, rtol=2e-3, atol=1e-4, what=k)  # (Adam)
    assert got_words == want_words
    assert all(w[0] == ours.BOS_IDX for w in got_words)


def test_masks_as_torch():
    ours, theirs = both("translation_transformer")
    src = np.array([[2, 2], [5, 6], [3, 7], [1, 3]])
    tgt = np.array([[2, 2], [8, 9], [3, 1]])
    got = ours.create_mask(ours.torch.tensor(src), ours.torch.tensor(tgt))
    want = theirs.create_mask(torch.tensor(src), torch.tensor(tgt))
    for g, w in zip(got, want):
        assert str(g.dtype) == str(w.dtype).replace("torch.", "")
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    bool_mask = ours.generate_square_subsequent_mask(3).type(ours.torch.bool)
    np.testing.assert_array_equal(bool_mask.numpy(), theirs.generate_square_subsequent_mask(3).type(torch.bool).numpy())
