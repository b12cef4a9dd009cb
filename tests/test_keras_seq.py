"""Keras sequence layers against hand-written NumPy references of Keras' equations (and against Keras itself,
with the torch backend, where it is installed): Embedding, SimpleRNN, LSTM, GRU, Bidirectional,
LayerNormalization, MultiHeadAttention; masks, return_sequences / return_state / go_backwards; training."""

import os

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras
from tensorcore.keras import layers as L

RNG = np.random.default_rng(0)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --- NumPy references (Keras' gate equations and masking rules) -------------------------------------------


def np_rnn(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Keras' loop: masked steps keep the states and repeat the previous output (or zeros)."""
    outputs = []
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t:t + 1].astype(x.dtype)
            prev = np.zeros_like(out) if zero_output_for_mask else states[0]
            out = keep * out + (1 - keep) * prev
            new = [keep * n + (1 - keep) * s for n, s in zip(new, states)]
        outputs.append(out)
        states = new
    return np.stack(outputs, 1), states


def np_simple_rnn(w, u, b):
    def step(x, states):
        h = np.tanh(x @ w + states[0] @ u + b)
        return h, [h]
    return step, 1


def np_lstm(w, u, b):
    n = u.shape[0]

    def step(x, states):
        h, c = states
        z = x @ w + h @ u + b
        i, f, g, o = _sigmoid(z[:, :n]), _sigmoid(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), _sigmoid(z[:, 3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        return h, [h, c]
    return step, 2


def np_gru(w, u, b, reset_after=True):
    n = u.shape[0]

    def step(x, states):
        (h,) = states
        if reset_after:
            xz = x @ w + b[0]
            hz = h @ u + b[1]
            z = _sigmoid(xz[:, :n] + hz[:, :n])
            r = _sigmoid(xz[:, n:2 * n] + hz[:, n:2 * n])
            cand = np.tanh(xz[:, 2 * n:] + r * hz[:, 2 * n:])
        else:
            xz = x @ w + b
            z = _sigmoid(xz[:, :n] + h @ u[:, :n])
            r = _sigmoid(xz[:, n:2 * n] + h @ u[:, n:2 * n])
            cand = np.tanh(xz[:, 2 * n:] + (r * h) @ u[:, 2 * n:])
        h = z * h + (1 - z) * cand
        return h, [h]
    return step, 1


def reference(layer, x, mask=None):
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    if isinstance(layer, L.LSTM):
        step, n_states = np_lstm(*weights)
    elif isinstance(layer, L.GRU):
        step, n_states = np_gru(*weights, reset_after=layer.reset_after)
    else:
        step, n_states = np_simple_rnn(*weights)
    states = [np.zeros((x.shape[0], layer.units))] * n_states
    return np_rnn(step, x.astype(np.float64), states, mask, layer.go_backwards, layer.zero_output_for_mask)


def _run(layer, x, **kwargs):
    out = layer(tc.tensor(x), **kwargs)
    return [o.numpy() for o in out] if isinstance(out, list) else out.numpy()


# --- recurrent layers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: L.SimpleRNN(4, return_sequences=True, return_state=True),
                                  lambda: L.LSTM(4, return_sequences=True, return_state=True),
                                  lambda: L.GRU(4, return_sequences=True, return_state=True),
                                  lambda: L.GRU(4, reset_after=False, return_sequences=True, return_state=True),
                                  lambda: L.LSTM(3, go_backwards=True, return_sequences=True, return_state=True)])
def test_rnn_layers_match_keras_equations(make):
    tc.manual_seed(1)
    layer = make()
    x = RNG.standard_normal((3, 5, 2)).astype(np.float32)
    out = _run(layer, x)
    seq, states = reference(layer, x)
    np.testing.assert_allclose(out[0], seq, rtol=1e-4, atol=1e-5)
    for got, want in zip(out[1:], states):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[1], seq[:, -1], rtol=1e-5, atol=1e-6)  # h_T is the last output
    assert len(out) == 1 + (2 if isinstance(layer, L.LSTM) else 1)


def test_weight_layouts_and_defaults():
    tc.manual_seed(0)
    lstm, gru, gru_v1, rnn = L.LSTM(3), L.GRU(3), L.GRU(3, reset_after=False), L.SimpleRNN(3)
    for layer in (lstm, gru, gru_v1, rnn):
        layer(tc.zeros((1, 2, 5)))
    assert [w.shape for w in lstm.get_weights()] == [(5, 12), (3, 12), (12,)]
    assert [w.shape for w in gru.get_weights()] == [(5, 9), (3, 9), (2, 9)]
    assert [w.shape for w in gru_v1.get_weights()] == [(5, 9), (3, 9), (9,)]
    assert [w.shape for w in rnn.get_weights()] == [(5, 3), (3, 3), (3,)]
    np.testing.assert_array_equal(lstm.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])  # unit_forget_bias
    u = lstm.get_weights()[1]
    np.testing.assert_allclose(u @ u.T, np.eye(3), atol=1e-5)  # orthogonal recurrent kernel (rows)
    assert lstm.count_params() == 5 * 12 + 3 * 12 + 12
    with pytest.raises(tc.TensorcoreError, match="dropout"):
        L.LSTM(3, dropout=0.2)


def test_return_modes_shapes():
    x = tc.tensor(RNG.standard_normal((2, 6, 3)).astype(np.float32))
    assert L.LSTM(4)(x).shape == (2, 4)
    assert L.LSTM(4, return_sequences=True)(x).shape == (2, 6, 4)
    out, h, c = L.LSTM(4, return_state=True)(x)
    assert out.shape == h.shape == c.shape == (2, 4)
    np.testing.assert_array_equal(out.numpy(), h.numpy())


def test_initial_state_is_used():
    tc.manual_seed(2)
    layer = L.GRU(3)
    x = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    h0 = RNG.standard_normal((2, 3)).astype(np.float32)
    got = layer(tc.tensor(x), initial_state=[tc.tensor(h0)]).numpy()
    step, _ = np_gru(*[w.astype(np.float64) for w in layer.get_weights()])
    _, (want,) = np_rnn(step, x.astype(np.float64), [h0.astype(np.float64)])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    with pytest.raises(tc.ShapeError):
        layer(tc.tensor(x), initial_state=[tc.zeros((2, 4))])


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU])
def test_mask_zero_skips_padding(cls):
    """A padded batch gives each sequence the same last output as the sequence alone (post- and pre-padding)."""
    tc.manual_seed(3)
    tokens = np.array([[3, 1, 4, 0, 0], [0, 0, 2, 7, 1], [5, 9, 2, 6, 5]])
    inputs = keras.Input(shape=(None,), dtype="int64")
    embedded = L.Embedding(10, 4, mask_zero=True)(inputs)
    rnn = cls(3)
    model = keras.Model(inputs, rnn(embedded))
    padded = model.predict(tokens)
    for row, real in ((0, [3, 1, 4]), (1, [2, 7, 1]), (2, [5, 9, 2, 6, 5])):
        alone = model.predict(np.array([real]))
        np.testing.assert_allclose(padded[row], alone[0], rtol=1e-5, atol=1e-6)
    # return_sequences with a mask: a masked step repeats the previous output (Keras' rule), as the reference says
    seq_layer = cls(3, return_sequences=True)
    emb = model.get_layer(index=1)
    x = emb(tc.tensor(tokens)).numpy()
    mask = tokens != 0
    got = seq_layer(tc.tensor(x), mask=tc.tensor(mask)).numpy()
    want, _ = reference(seq_layer, x, mask)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got[0, 3], got[0, 2])


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
def test_packed_path_equals_step_loop_on_post_padding(cls, go_backwards, zero_output, monkeypatch):
    """Post-padded masks run as one packed rnn_layer node: the same outputs, states and gradients as the loop."""
    from tensorcore.keras import rnn_layers

    calls = []
    real_run = rnn_layers.run_fused
    monkeypatch.setattr(rnn_layers, "run_fused", lambda *a: calls.append(a[-1]) or real_run(*a))
    tc.manual_seed(13)
    x = RNG.standard_normal((4, 5, 3)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array([2, 5, 1, 3])[:, None]  # unsorted lengths
    h0 = RNG.standard_normal((4, 2)).astype(np.float32)
    results = []
    for fused in (True, False):
        tc.manual_seed(13)
        layer = cls(2, return_sequences=True, return_state=True, go_backwards=go_backwards,
                    zero_output_for_mask=zero_output)
        inp = tc.tensor(x, requires_grad=True)
        initial = [tc.tensor(h0)] * (2 if cls is L.LSTM else 1)
        if not fused:
            layer._fused_mode = lambda: None
        out = layer(inp, mask=tc.tensor(mask), initial_state=initial)
        (sum((o * o).sum() for o in out)).backward()
        results.append([o.numpy() for o in out] + [inp.grad.numpy()] + [w.grad.numpy() for w in layer.weights])
    assert len(calls) == 1 and list(calls[0]) == [2, 5, 1, 3]  # the first run was packed, the second the loop
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_bidirectional_merges_forward_and_flipped_backward(merge_mode):
    tc.manual_seed(4)
    layer = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=merge_mode)
    x = RNG.standard_normal((2, 5, 4)).astype(np.float32)
    out = layer(tc.tensor(x))
    fwd, _ = reference(layer.forward_layer, x)
    bwd, _ = reference(layer.backward_layer, x)
    bwd = bwd[:, ::-1]
    want = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd, "ave": (fwd + bwd) / 2, "mul": fwd * bwd,
            None: [fwd, bwd]}[merge_mode]
    got = [o.numpy() for o in out] if merge_mode is None else out.numpy()
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5)
    assert layer.backward_layer.go_backwards and layer.forward_layer.name == "forward_lstm"
    assert len(layer.get_weights()) == 6


def test_bidirectional_with_mask_and_states():
    tc.manual_seed(5)
    tokens = np.array([[4, 2, 0, 0], [1, 2, 3, 4]])
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = L.Embedding(6, 3, mask_zero=True)(inputs)
    out, fh, bh = L.Bidirectional(L.GRU(2, return_state=True))(x)
    model = keras.Model(inputs, [out, fh, bh])
    o, f, b = model.predict(tokens)
    np.testing.assert_allclose(o, np.concatenate([f, b], -1), rtol=1e-6)
    alone = model.predict(np.array([[4, 2]]))  # the padded row equals the short sequence alone, both directions
    np.testing.assert_allclose(o[0], alone[0][0], rtol=1e-5, atol=1e-6)


def test_lstm_gradients_gradcheck():
    tc.set_default_dtype(tc.float64)
    try:
        tc.manual_seed(6)
        layer = L.LSTM(2, return_sequences=True)
        x = tc.tensor(RNG.standard_normal((2, 3, 2)), requires_grad=True)
        layer(x)
        kernel = layer.weights[0]
        assert kernel.dtype == np.float64
        mask = tc.tensor(np.array([[True, True, False], [True, True, True]]))
        assert tc.gradcheck(lambda inp, k: layer.call(inp, mask=mask).sum() + (k * 0).sum(), (x, kernel))
        # without a mask the layer is one rnn_layer node on weights rearranged to PyTorch's layout
        for fused in (L.GRU(2, return_sequences=True, go_backwards=True), L.LSTM(2), L.SimpleRNN(2)):
            fused(x)
            assert fused._fused_mode() is not None
            weights = fused.weights
            probe = RNG.standard_normal(fused(x).shape)

            outputs = (fused.call(x) * tc.tensor(probe)).sum()
            outputs.backward()
            grads = [w.grad.numpy() for w in weights]
            eps = 1e-6
            for w, grad in zip(weights, grads):  # central differences on a few entries of every weight
                flat = w.numpy().reshape(-1)  # on the cpu: the weight's own array
                for i in range(0, flat.size, max(1, flat.size // 3)):
                    saved = flat[i]
                    flat[i] = saved + eps
                    up = (fused.call(x) * tc.tensor(probe)).sum().item()
                    flat[i] = saved - eps
                    down = (fused.call(x) * tc.tensor(probe)).sum().item()
                    flat[i] = saved
                    assert abs((up - down) / (2 * eps) - grad.reshape(-1)[i]) < 1e-6, (type(fused).__name__, i)
    finally:
        tc.set_default_dtype(tc.float32)


# --- Embedding, LayerNormalization, MultiHeadAttention ----------------------------------------------------


def test_embedding_lookup_mask_and_gradient():
    tc.manual_seed(7)
    emb = L.Embedding(5, 3, mask_zero=True)
    idx = np.array([[1, 1, 0], [4, 2, 0]])
    out = emb(tc.tensor(idx))
    table = emb.get_weights()[0]
    np.testing.assert_array_equal(out.numpy(), table[idx])
    assert np.abs(table).max() <= 0.05  # uniform(-0.05, 0.05)
    np.testing.assert_array_equal(emb.compute_mask(tc.tensor(idx)).numpy(), idx != 0)
    out.sum().backward()
    grad = emb.weights[0].grad.numpy()
    np.testing.assert_array_equal(grad[:, 0], [2, 2, 1, 0, 1])  # index 1 picked twice: its gradient sums
    with pytest.raises(tc.TensorcoreError, match="range"):
        emb(tc.tensor(np.array([[5]])))


def test_layer_normalization_matches_numpy():
    tc.manual_seed(8)
    layer = L.LayerNormalization()
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32) * 3 + 1
    layer(tc.tensor(x))
    gamma = RNG.standard_normal(4).astype(np.float32)
    beta = RNG.standard_normal(4).astype(np.float32)
    layer.set_weights([gamma, beta])
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    want = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(layer(tc.tensor(x)).numpy(), want, rtol=1e-4, atol=1e-5)
    two = L.LayerNormalization(axis=[1, 2])
    y = two(tc.tensor(x)).numpy()
    m2, v2 = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - m2) / np.sqrt(v2 + 1e-3), rtol=1e-4, atol=1e-5)
    assert [w.shape for w in two.get_weights()] == [(3, 4), (3, 4)]


def np_mha(layer, q, v, k=None, mask=None):
    wq, bq, wk, bk, wv, bv, wo, bo = [w.astype(np.float64) for w in layer.get_weights()]
    k = v if k is None else k
    qh = np.einsum("btd,dhk->bhtk", q, wq) + bq[None, :, None]
    kh = np.einsum("bsd,dhk->bhsk", k, wk) + bk[None, :, None]
    vh = np.einsum("bsd,dhk->bhsk", v, wv) + bv[None, :, None]
    scores = np.einsum("bhtk,bhsk->bhts", qh / np.sqrt(wq.shape[-1]), kh)
    if mask is not None:
        scores = scores + (1 - mask[:, None].astype(np.float64)) * -1e9
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    out = np.einsum("bhts,bhsv->bthv", scores, vh)
    return np.einsum("bthv,hvo->bto", out, wo) + bo, scores


def test_multi_head_attention_matches_numpy_with_masks():
    tc.manual_seed(9)
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2)
    q = RNG.standard_normal((2, 4, 5)).astype(np.float32)
    v = RNG.standard_normal((2, 6, 5)).astype(np.float32)
    out, scores = layer(tc.tensor(q), tc.tensor(v), return_attention_scores=True)
    assert [w.shape for w in layer.get_weights()] == [(5, 2, 3), (2, 3), (5, 2, 3), (2, 3), (5, 2, 2), (2, 2),
                                                     (2, 2, 5), (5,)]
    want, want_scores = np_mha(layer, q.astype(np.float64), v.astype(np.float64))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-4, atol=1e-6)
    mask = RNG.random((2, 4, 6)) > 0.4
    mask[:, :, 0] = True
    got = layer(tc.tensor(q), tc.tensor(v), attention_mask=tc.tensor(mask), return_attention_scores=True)
    want, want_scores = np_mha(layer, q.astype(np.float64), v.astype(np.float64), mask=mask)
    np.testing.assert_allclose(got[0].numpy(), want, rtol=1e-4, atol=1e-5)
    assert np.all(got[1].numpy()[np.broadcast_to(~mask[:, None], got[1].shape)] < 1e-6)
    causal = layer(tc.tensor(q), tc.tensor(q[:, :, :5]), use_causal_mask=True, return_attention_scores=True)[1]
    assert np.all(np.triu(causal.numpy()[0, 0], 1) < 1e-6)


def test_multi_head_attention_uses_keras_masks_of_its_inputs():
    tc.manual_seed(10)
    tokens = np.array([[1, 2, 3, 0], [4, 0, 0, 0]])
    inputs = keras.Input(shape=(4,), dtype="int64")
    x = L.Embedding(5, 6, mask_zero=True)(inputs)
    mha = L.MultiHeadAttention(2, 3)
    _, scores = mha(x, x, return_attention_scores=True)
    model = keras.Model(inputs, scores)
    got = model.predict(tokens)
    real = tokens != 0
    allowed = real[:, :, None] & real[:, None, :]
    assert np.all(got[np.broadcast_to(~allowed[:, None], got.shape) & np.broadcast_to(real[:, None, :, None],
                                                                                       got.shape)] < 1e-6)
    np.testing.assert_allclose(got[0, :, :3].sum(-1), 1.0, rtol=1e-5)


def test_global_pooling_1d_respects_masks():
    tc.manual_seed(12)
    tokens = np.array([[1, 2, 0, 0], [3, 4, 5, 6], [0, 0, 0, 0]])
    inputs = keras.Input(shape=(None,), dtype="int64")
    emb = L.Embedding(7, 3, mask_zero=True)
    x = emb(inputs)
    model = keras.Model(inputs, [L.GlobalAveragePooling1D()(x), L.GlobalMaxPooling1D()(x)])
    avg, top = model.predict(tokens)
    table = emb.get_weights()[0]
    np.testing.assert_allclose(avg[0], table[[1, 2]].mean(0), rtol=1e-6)
    np.testing.assert_allclose(avg[1], table[[3, 4, 5, 6]].mean(0), rtol=1e-6)
    np.testing.assert_array_equal(avg[2], 0)  # every step masked: 0, not 0 / 0
    np.testing.assert_allclose(top, table[tokens].max(1), rtol=1e-6)
    assert L.GlobalAveragePooling1D(keepdims=True)(tc.zeros((2, 5, 3))).shape == (2, 1, 3)


def test_small_sequence_model_learns():
    """Embedding + LSTM + Dense: is token 1 in the (padded) sequence? Reaches high accuracy in a few epochs."""
    tc.manual_seed(11)
    rng = np.random.default_rng(11)
    lengths = rng.integers(2, 7, 256)
    x = np.zeros((256, 6), dtype=np.int64)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.integers(2, 8, n)
    y = rng.integers(0, 2, 256)
    for i in np.flatnonzero(y):
        x[i, rng.integers(0, lengths[i])] = 1
    model = keras.Sequential([keras.Input(shape=(6,), dtype="int64"), L.Embedding(8, 8, mask_zero=True),
                              L.LSTM(8), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9, history.history
    bag = keras.Sequential([keras.Input(shape=(6,), dtype="int64"), L.Embedding(8, 8, mask_zero=True),
                            L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")])  # the IMDB-tutorial shape
    bag.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    assert bag.fit(x, y, epochs=10, batch_size=32, verbose=0).history["accuracy"][-1] > 0.85


# --- Keras itself as the oracle (torch backend), where installed ---------------------------------------------


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras as real
    except ImportError:
        pytest.skip("keras is not installed (the NumPy references above cover the same equations)")
    if real.backend.backend() != "torch":
        pytest.skip(f"keras uses the {real.backend.backend()} backend; these comparisons use torch")
    return real


@pytest.mark.parametrize("name, kwargs", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                          ("LSTM", {"go_backwards": True})])
def test_against_keras_rnn(name, kwargs):
    real = _keras()
    x = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    theirs = getattr(real.layers, name)(4, return_sequences=True, return_state=True, **kwargs)
    ref = theirs(x, mask=mask)
    ours = getattr(L, name)(4, return_sequences=True, return_state=True, **kwargs)
    ours(tc.tensor(x))
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    got = ours(tc.tensor(x), mask=tc.tensor(mask))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), real.ops.convert_to_numpy(b), rtol=1e-4, atol=1e-5)


def test_against_keras_bidirectional_mha_layernorm_pooling():
    real = _keras()
    tokens = np.array([[1, 2, 3, 0], [4, 1, 0, 0]])
    k_in = real.Input(shape=(4,), dtype="int32")
    k_x = real.layers.Embedding(5, 6, mask_zero=True)(k_in)
    k_b = real.layers.Bidirectional(real.layers.LSTM(3, return_sequences=True))(k_x)
    k_a = real.layers.MultiHeadAttention(2, 3)(k_b, k_b)
    k_out = real.layers.GlobalAveragePooling1D()(real.layers.LayerNormalization()(k_a))
    theirs = real.Model(k_in, k_out)
    t_in = keras.Input(shape=(4,), dtype="int64")
    t_x = L.Embedding(5, 6, mask_zero=True)(t_in)
    t_b = L.Bidirectional(L.LSTM(3, return_sequences=True))(t_x)
    t_a = L.MultiHeadAttention(2, 3)(t_b, t_b)
    ours = keras.Model(t_in, L.GlobalAveragePooling1D()(L.LayerNormalization()(t_a)))
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    want = real.ops.convert_to_numpy(theirs(tokens))
    np.testing.assert_allclose(ours.predict(tokens), want, rtol=1e-4, atol=1e-5)
