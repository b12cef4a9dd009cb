"""Sequence models: text data, the gpt and char_lstm models, the CLI's train/generate, clear errors, and a
slow test that a tiny GPT learns."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.cli import main as cli_main
from tensorcore.data.text import ByteTokenizer, CharTokenizer, TextDataset, read_text_files, text_splits


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    words = "the cat sat on a mat and the dog ran to a log while it rained".split()
    (tmp_path / "a").write_text(" ".join(rng.choice(words, 1500)) + "\n")
    (tmp_path / "b").write_text("a second file, ünïcode too.\n")
    (tmp_path / "b.dat").write_bytes(b"\x00\x01 index, skipped")
    (tmp_path / "b.u8").symlink_to(tmp_path / "b")
    return tmp_path


def test_text_files_tokenizers_and_windows(corpus):
    text = read_text_files(corpus)
    assert text.endswith("ünïcode too.\n") and "index" not in text and text.count("second") == 1
    char = CharTokenizer.from_text(text)
    assert char.decode(char.encode(text)) == text and char.vocab_size == len(set(text))
    byte = ByteTokenizer()
    assert byte.decode(byte.encode(text)) == text and byte.encode("ü").tolist() == [195, 188]
    with pytest.raises(tc.TensorcoreError, match="not in the vocabulary"):
        char.encode("Z")
    train, val = text_splits(text, char, block_size=8, val_fraction=0.1)
    n = len(char.encode(text))
    assert len(train.tokens) == int(n * 0.9) and len(train.tokens) + len(val.tokens) == n
    x, y = train[3]
    np.testing.assert_array_equal(x[1:], y[:-1])
    bx, by = train.batch([0, 3])
    np.testing.assert_array_equal(bx[1], x)
    assert bx.shape == by.shape == (2, 8) and bx.dtype == np.int64
    with pytest.raises(tc.TensorcoreError):
        TextDataset(np.arange(4), 8)


def test_fortunes_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(tc.data.DatasetNotFoundError, match="apt-get install fortunes"):
        tc.data.fortunes(root=tmp_path / "nope")


@pytest.mark.parametrize("name", ["gpt", "char_lstm"])
def test_language_models_shapes_and_generate(name):
    tc.manual_seed(0)
    kw = dict(n_layer=2, n_head=2, n_embd=16) if name == "gpt" else dict(embedding_dim=8, hidden_size=16)
    model = tc.models.get_model(name, vocab_size=11, block_size=8, **kw)
    idx = np.random.default_rng(0).integers(0, 11, (3, 8))
    assert model(tc.tensor(idx)).shape == (3, 8, 11)
    out = model.generate(idx[:, :2], 10, temperature=0.8, top_k=3, generator=tc.Generator(1))
    assert out.shape == (3, 12) and out.min() >= 0 and out.max() < 11
    np.testing.assert_array_equal(out, model.generate(idx[:, :2], 10, 0.8, 3, tc.Generator(1)))
    greedy = model.generate(idx[:, :2], 3, temperature=0.0)
    assert greedy.shape == (3, 5)


def test_gpt_is_causal_and_ties_its_head():
    tc.manual_seed(0)
    model = tc.models.get_model("gpt", vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8)
    assert "lm_head.weight" not in model.state_dict()
    a = np.array([[1, 2, 3, 4, 5, 6]])
    b = a.copy()
    b[0, 4:] = 0
    la, lb = model(tc.tensor(a)).numpy(), model(tc.tensor(b)).numpy()
    np.testing.assert_allclose(la[0, :4], lb[0, :4], rtol=1e-5)  # the future does not leak backwards
    with pytest.raises(tc.ShapeError, match="block_size"):
        model(tc.tensor(np.zeros((1, 7), dtype=np.int64)))


def test_cli_train_then_generate(corpus, tmp_path, capsys):
    ckpt, plot = tmp_path / "lm.npz", tmp_path / "lm.png"
    code = cli_main(["train", "--model", "char_lstm", "--text-dir", str(corpus), "--steps", "6", "--eval-every", "3",
                     "--batch-size", "4", "--block-size", "8", "--val-batches", "2", "--save", str(ckpt), "--plot",
                     str(plot), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "step 6/6: train loss" in out and "perplexity" in out and "val loss" in out
    assert ckpt.exists() and plot.stat().st_size > 1000
    code = cli_main(["generate", "--checkpoint", str(ckpt), "--prompt", "the ", "--max-new-tokens", "20",
                     "--temperature", "0.5", "--top-k", "3"])
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("the ") and len(text.rstrip("\n")) >= 24


def test_cli_rejects_bad_text_arguments(corpus, tmp_path, capsys):
    assert cli_main(["train", "--model", "mlp", "--dataset", "fortunes"]) != 0
    assert "must be one of gpt, char_lstm" in capsys.readouterr().err
    assert cli_main(["train", "--model", "gpt", "--text-dir", str(corpus), "--steps", "0"]) != 0
    assert "--steps must be >= 1" in capsys.readouterr().err
    bogus = tmp_path / "x.npz"
    tc.save({"weights": tc.zeros(3)}, bogus)
    assert cli_main(["generate", "--checkpoint", str(bogus)]) != 0
    assert "not a language-model checkpoint" in capsys.readouterr().err


def test_module_errors_are_clear():
    with pytest.raises(tc.ShapeError, match="input of size"):
        nn.LSTM(3, 4)(tc.zeros((5, 2, 2)))
    with pytest.raises(tc.ShapeError, match="initial state"):
        nn.GRU(3, 4)(tc.zeros((5, 2, 3)), tc.zeros((1, 3, 4)))
    with pytest.raises(tc.ArgumentError, match="divisible"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(tc.ShapeError, match="key_padding_mask"):
        mha = nn.MultiheadAttention(4, 2, batch_first=True)
        x = tc.zeros((2, 3, 4))
        mha(x, x, x, key_padding_mask=np.zeros((2, 4), dtype=bool))
    with pytest.raises(tc.ShapeError, match="normalized_shape"):
        nn.functional.layer_norm(tc.zeros((2, 3)), (4,))
    with pytest.raises(tc.TensorcoreError, match="out of range"):
        nn.functional.embedding(tc.tensor([5]), tc.zeros((5, 2)))
    with pytest.raises(tc.ArgumentError, match="not both"):
        q = tc.zeros((1, 2, 2))
        nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), bool), is_causal=True)
    with pytest.raises(tc.ArgumentError, match="enforce_sorted"):
        nn.utils.rnn.pack_padded_sequence(tc.zeros((3, 2, 1)), [1, 3])


def test_rnn_layer_double_backward_raises_instead_of_a_wrong_number():
    lstm = nn.LSTM(2, 3).double()
    x = tc.tensor(np.random.default_rng(0).standard_normal((4, 1, 2)), requires_grad=True)
    (g,) = tc.grad(lstm(x)[0].sum(), x, create_graph=True)
    with pytest.raises(tc.GradientError, match="not differentiable"):
        g.sum().backward()


def test_transformer_dropout_trains_and_eval_is_deterministic():
    tc.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    x = tc.randn(2, 5, 8)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


@pytest.mark.slow
def test_tiny_gpt_learns_fortunes_like_text(corpus):
    """A 2-layer GPT over 300 Adam steps on the corpus: the validation loss falls far below uniform."""
    text = read_text_files(corpus)
    tok = CharTokenizer.from_text(text)
    train, val = text_splits(text, tok, block_size=16)
    tc.manual_seed(0)
    model = tc.models.get_model("gpt", vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=32)
    opt = tc.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)

    def loss_of(x, y):
        logits = model(tc.tensor(x))
        return nn.functional.cross_entropy(logits.reshape(-1, tok.vocab_size), tc.tensor(y.reshape(-1)))

    vx, vy = val.random_batch(64, np.random.default_rng(1))
    with tc.no_grad():
        before = loss_of(vx, vy).item()
    for _ in range(300):
        loss = loss_of(*train.random_batch(16, rng))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with tc.no_grad():
        after = loss_of(vx, vy).item()
    assert before > 0.9 * np.log(tok.vocab_size)
    assert after < 0.6 * before, (before, after)


def test_initialization_follows_pytorch():
    tc.manual_seed(0)
    lstm = nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    for name, p in lstm.named_parameters():
        a = p.numpy()
        assert np.abs(a).max() <= 0.25 and a.std() > 0.1, name  # U(-1/sqrt(16), 1/sqrt(16))
    mha = nn.MultiheadAttention(8, 2)
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform on the (3E, E) in_proj_weight
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound and mha.in_proj_weight.numpy().std() > bound / 3
    emb = nn.Embedding(50, 4, padding_idx=3)
    assert np.all(emb.weight.numpy()[3] == 0) and 0.7 < emb.weight.numpy().std() < 1.3
    ln = nn.LayerNorm(4)
    assert np.all(ln.weight.numpy() == 1) and np.all(ln.bias.numpy() == 0)
