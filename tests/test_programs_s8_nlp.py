"""The NLP tutorials under `import tensorcore as torch`, against PyTorch from the same weights: seq2seq translation
(GRU encoder, plain and Bahdanau-attention decoders, teacher forcing), the character-level RNN name classifier,
and text classification with nn.EmbeddingBag and offsets."""

import random

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, no_dropout, numpy_of, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def reversal_pairs(n, seed):
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        words = rng.integers(2, 10, rng.integers(2, 5)).tolist()
        pairs.append((words, words[::-1]))
    return pairs


@pytest.mark.parametrize("decoder", ["DecoderRNN", "AttnDecoderRNN"])
def test_seq2seq_translation_matches_torch(decoder):
    ours, theirs = both("seq2seq")
    pairs = reversal_pairs(24, 0)
    torch.manual_seed(0)
    th = theirs.EncoderRNN(10, 12), getattr(theirs, decoder)(12, 10)
    tc = ours.EncoderRNN(10, 12), getattr(ours, decoder)(12, 10)
    for a, b in zip(th, tc):
        copy_weights(a, b, ours.torch)
        no_dropout(a), no_dropout(b)
    results = []
    for mod, (encoder, dec) in ((ours, tc), (theirs, th)):
        loader = mod.get_dataloader(pairs, 8, sampler=mod.torch.utils.data.SequentialSampler)
        losses = mod.train(loader, encoder, dec, 4, learning_rate=0.01, print_every=2, plot_every=1)
        encoder.eval(), dec.eval()
        words, attn = mod.evaluate(encoder, dec, [3, 4, 5], {i: f"w{i}" for i in range(10)})
        results.append((losses, words, None if attn is None else numpy_of(attn)))
    (got, got_words, got_attn), (want, want_words, want_attn) = results
    close(got, want, rtol=1e-4, atol=1e-6, what="epoch losses")
    assert got[-1] < got[0]
    assert got_words == want_words
    if decoder == "AttnDecoderRNN":
        assert got_attn.shape == want_attn.shape == (1, 6, 4)
        close(got_attn, want_attn, rtol=1e-3, atol=1e-6)
        close(got_attn.sum(-1), np.ones((1, 6)), rtol=1e-5)


def test_seq2seq_dataloader_as_written():
    ours, _ = both("seq2seq")
    ours.torch.manual_seed(0)
    loader = ours.get_dataloader(reversal_pairs(10, 1), 4)
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(4, 6), (4, 6), (2, 6)]
    assert batches[0][0].dtype == ours.torch.int64  # torch.LongTensor of an int32 array
    assert sorted(int(r[0]) for b in batches for r in b[0]) != list(range(10))  # rows, shuffled by RandomSampler


NAMES = {"Alpha": ["Abara", "Abaco", "Abal", "Aband", "Abarca", "Abasolo", "Abe", "Abel"],
         "Zeta": ["Zhou", "Zhong", "Zheng", "Zhang", "Zhan", "Zhao", "Zhu", "Zha"],
         "Mid": ["Müller", "Mëyer", "Moser", "Maier", "Mayer", "Meier", "Menzel", "Merz"]}


def test_char_rnn_classification_matches_torch():
    ours, theirs = both("char_rnn_classification")
    assert ours.unicodeToAscii("Ślusàrski") == "Slusarski"
    data = {"ours": ours.NamesDataset(NAMES), "theirs": theirs.NamesDataset(NAMES)}
    assert data["ours"].labels_uniq == ["Alpha", "Mid", "Zeta"]
    np.testing.assert_array_equal(numpy_of(data["ours"][9][1]), numpy_of(data["theirs"][9][1]))
    train_set, test_set = ours.split(data["ours"])
    assert (len(train_set), len(test_set)) == (21, 3)
    assert sorted(train_set.indices + test_set.indices) == list(range(24))
    torch.manual_seed(0)
    th_rnn, tc_rnn = theirs.CharRNN(ours.n_letters, 16, 3), ours.CharRNN(ours.n_letters, 16, 3)
    copy_weights(th_rnn, tc_rnn, ours.torch)
    runs = []
    for mod, rnn in ((ours, tc_rnn), (theirs, th_rnn)):
        random.seed(7)  # random.shuffle orders the batches
        losses = mod.train(rnn, data["ours" if mod is ours else "theirs"], n_epoch=4, n_batch_size=8,
                           report_every=2, learning_rate=0.1)
        confusion = mod.evaluate(rnn, data["ours" if mod is ours else "theirs"], data["ours"].labels_uniq)
        runs.append((losses, numpy_of(confusion)))
    (got, got_confusion), (want, want_confusion) = runs
    close(got, want, rtol=1e-4, atol=1e-6, what="average batch losses")
    close(got_confusion, want_confusion, atol=1e-6)
    close(got_confusion.sum(1), np.ones(3), rtol=1e-6)


def corpus(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        label = int(rng.integers(1, 5))
        words = [f"w{label * 2 + int(rng.integers(0, 2))}" if rng.random() < 0.6 else f"w{int(rng.integers(0, 10))}"
                 for _ in range(int(rng.integers(3, 9)))]
        out.append((label, " ".join(words)))
    return out


def test_text_classification_embeddingbag_matches_torch():
    ours, theirs = both("text_classification")
    vocab = {f"w{i}": i + 1 for i in range(10)}
    train_iter, test_iter = corpus(160, 0), corpus(40, 1)
    torch.manual_seed(0)
    th_model, tc_model = theirs.TextClassificationModel(11, 8, 4), ours.TextClassificationModel(11, 8, 4)
    assert np.abs(numpy_of(tc_model.embedding.weight)).max() <= 0.5 and not numpy_of(tc_model.fc.bias).any()
    copy_weights(th_model, tc_model, ours.torch)
    got = ours.run(tc_model, train_iter, test_iter, vocab)
    want = theirs.run(th_model, train_iter, test_iter, vocab)
    for (gl, ga, glr), (wl, wa, wlr) in zip(got[0], want[0]):
        close(gl, wl, rtol=1e-4, atol=1e-6, what="training losses")
        assert ga == wa and glr == pytest.approx(wlr)
    assert got[1] == want[1] and got[2] == want[2]
    for k, v in state_arrays(th_model).items():
        close(state_arrays(tc_model)[k], v, rtol=1e-3, atol=1e-6, what=k)


def test_text_classification_as_written_with_random_split_and_shuffle():
    ours, _ = both("text_classification")
    ours.torch.manual_seed(1)
    model = ours.TextClassificationModel(11, 8, 4)
    history, accu_test, label = ours.run(model, corpus(120, 2), corpus(30, 3), {f"w{i}": i + 1 for i in range(10)},
                                         epochs=2, shuffle=True)
    assert len(history) == 2 and 0 <= accu_test <= 1 and label in (1, 2, 3, 4)
