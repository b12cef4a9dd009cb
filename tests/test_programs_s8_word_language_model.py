"""pytorch/examples word_language_model under `import tensorcore as torch`: RNNModel (LSTM, GRU, RNN, tied
weights), TransformerModel (an nn.Transformer subclass whose decoder is replaced) and the older
TransformerEncoder model, trained with clip_grad_norm_ and p.data.add_, step by step against PyTorch."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, no_dropout

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)
NTOKENS = 11


def corpus(n=168, seed=0):
    """Token ids with structure to learn: a repeated phrase with a few random substitutions."""
    rng = np.random.default_rng(seed)
    phrase = np.array([1, 4, 2, 7, 3, 9, 5, 0, 8, 6, 10])
    ids = np.tile(phrase, n // len(phrase) + 1)[:n]
    noise = rng.random(n) < 0.1
    ids[noise] = rng.integers(0, NTOKENS, noise.sum())
    return ids


BUILDERS = {
    "LSTM": lambda m: m.RNNModel("LSTM", NTOKENS, 8, 8, 2, dropout=0.2),
    "GRU": lambda m: m.RNNModel("GRU", NTOKENS, 8, 6, 1, dropout=0.2),
    "RNN_TANH": lambda m: m.RNNModel("RNN_TANH", NTOKENS, 6, 8, 2, dropout=0.2),
    "RNN_RELU": lambda m: m.RNNModel("RNN_RELU", NTOKENS, 6, 8, 1, dropout=0.2),
    "LSTM_tied": lambda m: m.RNNModel("LSTM", NTOKENS, 8, 8, 1, dropout=0.2, tie_weights=True),
    "Transformer": lambda m: m.TransformerModel(NTOKENS, 8, 2, 16, 2, dropout=0.2),
    "EncoderOnly": lambda m: m.EncoderOnlyTransformerModel(NTOKENS, 8, 2, 16, 2, dropout=0.2),
}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_word_language_model_trains_as_torch_does(kind, tmp_path):
    ours, theirs = both("word_language_model")
    torch.manual_seed(0)
    th_model = BUILDERS[kind](theirs)
    tc_model = BUILDERS[kind](ours)
    assert sorted(tc_model.state_dict()) == sorted(th_model.state_dict())
    copy_weights(th_model, tc_model, ours.torch)
    if kind == "LSTM_tied":
        assert tc_model.decoder.weight is tc_model.encoder.weight
        assert len(list(tc_model.parameters())) == len(list(th_model.parameters()))
    no_dropout(tc_model), no_dropout(th_model)
    ids = corpus()
    (tmp_path / "ours").mkdir(), (tmp_path / "theirs").mkdir()
    lr = 1.0 if kind in ("Transformer", "EncoderOnly") else 5.0
    got = ours.main(tc_model, ids, epochs=3, lr=lr, save_dir=str(tmp_path / "ours"))
    want = theirs.main(th_model, ids, epochs=3, lr=lr, save_dir=str(tmp_path / "theirs"))
    assert len(got["losses"]) == len(want["losses"]) == 3 * 6
    close(got["losses"], want["losses"], rtol=2e-3, atol=2e-4, what="training losses")
    close(got["vals"], want["vals"], rtol=2e-3, atol=2e-4, what="validation losses")
    close(got["test"], want["test"], rtol=2e-3, atol=2e-4, what="the reloaded best model's loss")
    assert got["lr"] == want["lr"]
    assert got["vals"][-1] < got["vals"][0]
    assert type(got["model"]).__name__ == type(th_model).__name__  # torch.save(model) / torch.load round trip
    # generate.py: sampling from the reloaded model, with torch.multinomial and torch.Tensor([[word_idx]])
    sampled = ours.generate(got["model"], NTOKENS, words=5, temperature=1.0)
    assert len(sampled) == 5 and all(0 <= w < NTOKENS for w in sampled)
