"""The Keras functional API and subclassed models: Input, symbolic calls, several inputs and outputs (lists and
dicts), summary / layers / get_layer, get_weights / set_weights, and the Flatten / Reshape / Concatenate / Add /
Dropout layers."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras
from tensorcore.keras import layers as L

RNG = np.random.default_rng(0)


def _relu(z):
    return np.maximum(z, 0)


def test_input_and_symbolic_calls_give_keras_tensors():
    x = keras.Input(shape=(None, 3), dtype="float64", name="seq")
    assert isinstance(x, keras.KerasTensor) and x.shape == (None, None, 3) and x.dtype == np.float64
    assert x.name == "seq"
    h = L.Dense(5)(x)
    assert isinstance(h, keras.KerasTensor) and h.shape == (None, None, 5)
    flat = L.Flatten()(keras.Input(shape=(2, 3)))
    assert flat.shape == (None, 6)
    assert L.Reshape((3, -1))(keras.Input(shape=(12,))).shape == (None, 3, 4)
    with pytest.raises(tc.ShapeError):
        L.Reshape((5, 5))(keras.Input(shape=(12,)))


def test_functional_mlp_predicts_what_its_weights_say():
    tc.manual_seed(0)
    inputs = keras.Input(shape=(4,))
    hidden = L.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = L.Dense(3, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, outputs, name="mlp")
    assert model.name == "mlp" and [layer.name for layer in model.layers] == ["input_layer", "hidden", "probs"]
    assert model.get_layer("hidden") is model.layers[1]
    with pytest.raises(tc.TensorcoreError, match="no layer named"):
        model.get_layer("nope")
    x = RNG.standard_normal((10, 4)).astype(np.float32)
    w1, b1, w2, b2 = model.get_weights()
    z = _relu(x @ w1 + b1) @ w2 + b2
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(tc.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)
    lines = []
    model.summary(print_fn=lines.append)
    assert "hidden (Dense)" in lines[0] and "(None, 8)" in lines[0] and "Total params: 67" in lines[0]
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_several_inputs_and_outputs_train_with_dicts():
    tc.manual_seed(1)
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    joined = L.Concatenate()([L.Dense(8, activation="relu")(a), b])
    cls = L.Dense(2, activation="softmax", name="cls")(joined)
    reg = L.Dense(1, name="reg")(joined)
    model = keras.Model({"a": a, "b": b}, {"cls": cls, "reg": reg})
    xa = RNG.standard_normal((128, 4)).astype(np.float32)
    xb = RNG.standard_normal((128, 3)).astype(np.float32)
    y_cls, y_reg = (xa[:, 0] > 0).astype(np.int64), xb.sum(1, keepdims=True)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss={"cls": "sparse_categorical_crossentropy",
                                                                "reg": "mse"},
                  metrics={"cls": ["accuracy"]}, loss_weights={"cls": 1.0, "reg": 0.5})
    h = model.fit({"a": xa, "b": xb}, {"cls": y_cls, "reg": y_reg}, epochs=15, batch_size=32, verbose=0)
    assert set(h.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    np.testing.assert_allclose(h.history["loss"][-1], h.history["cls_loss"][-1] + 0.5 * h.history["reg_loss"][-1],
                               rtol=1e-5)
    assert h.history["reg_loss"][-1] < 0.3 * h.history["reg_loss"][0]
    assert h.history["cls_accuracy"][-1] > 0.9
    pred = model.predict({"a": xa, "b": xb})
    assert set(pred) == {"cls", "reg"} and pred["cls"].shape == (128, 2) and pred["reg"].shape == (128, 1)
    listed = keras.Model([a, b], [cls, reg])  # the same layers as lists: the same predictions
    out = listed.predict([xa, xb])
    np.testing.assert_allclose(out[0], pred["cls"], rtol=1e-6)
    with pytest.raises(tc.TensorcoreError, match="lacks"):
        model.predict({"a": xa})


def test_add_concatenate_and_shape_errors():
    x, y = tc.tensor(RNG.standard_normal((2, 3))), tc.tensor(RNG.standard_normal((2, 3)))
    np.testing.assert_allclose(L.Add()([x, y]).numpy(), x.numpy() + y.numpy())
    np.testing.assert_allclose(L.Concatenate(axis=0)([x, y]).numpy(), np.concatenate([x.numpy(), y.numpy()], 0))
    with pytest.raises(tc.ShapeError):
        L.Add()([x, tc.zeros((2, 4))])
    with pytest.raises(tc.ShapeError):
        L.Concatenate()([x, tc.zeros((3, 3))])
    with pytest.raises(tc.TensorcoreError):
        L.Add()(x)


def test_disconnected_graph_and_bad_outputs_raise():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    out = L.Add()([a, b])
    with pytest.raises(tc.TensorcoreError, match="disconnected"):
        keras.Model(a, out)
    with pytest.raises(tc.TensorcoreError):
        keras.Model(a, np.zeros(2))


def test_dropout_only_while_training():
    tc.manual_seed(2)
    inputs = keras.Input(shape=(1000,))
    model = keras.Model(inputs, L.Dropout(0.5)(inputs))
    x = np.ones((2, 1000), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), x)
    trained = model(tc.tensor(x), training=True).numpy()
    assert set(np.unique(trained)) == {0.0, 2.0} and 0.4 < (trained == 0).mean() < 0.6
    with pytest.raises(tc.TensorcoreError):
        L.Dropout(1.0)


def test_nested_model_is_a_layer():
    tc.manual_seed(3)
    inner_in = keras.Input(shape=(3,))
    inner = keras.Model(inner_in, L.Dense(2, name="inner_dense")(inner_in), name="inner")
    outer_in = keras.Input(shape=(3,))
    outer = keras.Model(outer_in, L.Dense(1, name="head")(inner(outer_in)))
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    w1, b1, w2, b2 = outer.get_weights()
    np.testing.assert_allclose(outer.predict(x), (x @ w1 + b1) @ w2 + b2, rtol=1e-5, atol=1e-6)
    assert len(outer.net.state_dict()) == 4


class TwoLayer(keras.Model):
    def __init__(self, units=8):
        super().__init__()
        self.units = units
        self.hidden = L.Dense(units, activation="relu")
        self.drop = L.Dropout(0.3)
        self.out = L.Dense(3)
        self.calls = []

    def call(self, inputs, training=None):
        self.calls.append(training)
        return self.out(self.drop(self.hidden(inputs)))

    def get_config(self):
        return {"units": self.units}


def test_subclassed_model_tracks_layers_and_trains():
    tc.manual_seed(4)
    model = TwoLayer()
    assert model.name == "two_layer" and [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]
    x = np.random.default_rng(4).standard_normal((200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    h = model.fit(x, y, epochs=10, batch_size=20, verbose=0)
    assert h.history["accuracy"][-1] > 0.65 and h.history["loss"][-1] < 0.7 * h.history["loss"][0]
    assert True in model.calls and model.calls[-1] is True
    model.predict(x[:3])
    assert model.calls[-1] is False
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 8), (8,), (8, 3), (3,)]
    assert len(model.trainable_weights) == 4 and model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    other = TwoLayer()
    other(x[:2])  # built by its first call
    other.set_weights(weights)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(tc.ShapeError):
        other.set_weights(weights[:3])


def test_frozen_layer_is_not_trained():
    tc.manual_seed(5)
    inputs = keras.Input(shape=(3,))
    frozen = L.Dense(4, name="frozen", trainable=False)
    model = keras.Model(inputs, L.Dense(1)(frozen(inputs)))
    before = frozen.get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(RNG.standard_normal((16, 3)), RNG.standard_normal((16, 1)), epochs=2, verbose=0)
    for a, b in zip(before, frozen.get_weights()):
        np.testing.assert_array_equal(a, b)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 16" in lines[0]


def test_functional_conv_net_fits():
    tc.manual_seed(6)
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 0.2, (64, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    for i, label in enumerate(y):
        r = slice(0, 3) if label == 0 else slice(5, 8)
        x[i, r, r, 0] += 1.0
    inputs = keras.Input(shape=(8, 8, 1))
    h = L.MaxPooling2D()(L.Conv2D(4, 3, padding="same", activation="relu")(inputs))
    outputs = L.Dense(2, activation="softmax")(L.Flatten()(h))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


class Scale(keras.layers.Layer):
    """A user-defined layer, written as for Keras 3: add_weight in build, the math in call."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs):
        return inputs * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_layer_trains_and_saves_with_custom_objects(tmp_path):
    tc.manual_seed(7)
    inputs = keras.Input(shape=(3,))
    scale = Scale(0.5)
    model = keras.Model(inputs, L.Dense(1)(scale(inputs)))
    x = RNG.standard_normal((32, 3)).astype(np.float32)
    np.testing.assert_array_equal(scale.get_weights()[0], np.ones(3, np.float32))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x.sum(1, keepdims=True), epochs=2, verbose=0)
    assert not np.array_equal(scale.get_weights()[0], np.ones(3))  # trained
    assert len(model.get_weights()) == 3 and list(model.net.state_dict())[0] == "scale.w"
    model.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras", custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_layer(scale.name).factor == 0.5
    with pytest.raises(tc.TensorcoreError, match="Scale"):
        keras.models.load_model(tmp_path / "custom.keras")


def test_losses_follow_keras_formulas():
    p = np.array([[0.2, 0.8], [0.999, 0.001], [1.0, 0.0]], np.float32)
    y = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean()
    got = keras.losses.binary_crossentropy(tc.tensor(y), tc.tensor(p)).item()
    assert np.isfinite(got) and got == pytest.approx(bce, rel=1e-5)
    cce = -(y * np.log(np.clip(p / p.sum(1, keepdims=True), 1e-7, 1 - 1e-7))).sum(1).mean()
    assert keras.losses.categorical_crossentropy(tc.tensor(y), tc.tensor(p)).item() == pytest.approx(cce, rel=1e-5)


def test_arithmetic_on_keras_tensors_records_ops(tmp_path):
    tc.manual_seed(8)
    inputs = keras.Input(shape=(4,))
    h = L.Dense(4, name="proj")(inputs)
    residual = h + inputs * 0.5 - 1.0
    out = -(2.0 * residual) / 4.0 + residual ** 2
    model = keras.Model(inputs, out)
    assert [la.name for la in model.layers if isinstance(la, L.TensorOp)][:2] == ["tensor_op", "tensor_op_1"]
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    w, b = model.get_layer("proj").get_weights()
    r = x @ w + b + x * 0.5 - 1.0
    np.testing.assert_allclose(model.predict(x), -(2.0 * r) / 4.0 + r ** 2, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "ops.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "ops.keras").predict(x), model.predict(x))
    with pytest.raises(tc.TensorcoreError):
        L.TensorOp("eval")


class Block(keras.layers.Layer):
    """A layer of your own made of Keras layers (a small transformer block), as in Keras tutorials."""

    def __init__(self, dim=6, heads=2, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads = dim, heads
        self.attention = L.MultiHeadAttention(heads, dim // heads)
        self.norm = L.LayerNormalization()
        self.feed = L.Dense(dim, activation="relu")

    def call(self, inputs):
        x = self.norm(inputs + self.attention(inputs, inputs))
        return x + self.feed(x)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "heads": self.heads}


def test_custom_layer_of_layers_tracks_and_trains_its_sublayers(tmp_path):
    tc.manual_seed(9)
    inputs = keras.Input(shape=(5, 6))
    block = Block()
    outputs = L.Dense(1)(L.Flatten()(block(inputs)))
    model = keras.Model(inputs, outputs)
    assert [s.name for s in block.sublayers()] == ["multi_head_attention", "layer_normalization", "dense"]
    assert len(block.get_weights()) == 8 + 2 + 2 and block.get_weights()[-2].shape == (6, 6)  # Keras layouts
    before = [w.copy() for w in block.get_weights()]
    x = RNG.standard_normal((16, 5, 6)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x.sum((1, 2))[:, None], epochs=2, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, block.get_weights()))  # every sublayer trained
    block.set_weights(before)
    np.testing.assert_array_equal(block.get_weights()[-2], before[-2])
    model.save(tmp_path / "block.keras")
    loaded = keras.models.load_model(tmp_path / "block.keras", custom_objects={"Block": Block})
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_fit_matches_keras_itself_where_installed():
    """One epoch of SGD on the same weights and batches gives Keras' weights (torch backend)."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    real = pytest.importorskip("keras", reason="keras is not installed")
    if real.backend.backend() != "torch":
        pytest.skip("these comparisons use keras' torch backend")
    x = RNG.standard_normal((40, 5)).astype(np.float32)
    y = RNG.integers(0, 3, 40)
    theirs = real.Sequential([real.Input(shape=(5,)), real.layers.Dense(4, activation="tanh"),
                              real.layers.Dense(3, activation="softmax")])
    ours = keras.Sequential([keras.Input(shape=(5,)), L.Dense(4, activation="tanh"), L.Dense(3, activation="softmax")])
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    for model, api in ((theirs, real), (ours, keras)):
        model.compile(optimizer=api.optimizers.SGD(learning_rate=0.1, momentum=0.5),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(h_ours.history["accuracy"], h_theirs.history["accuracy"])
