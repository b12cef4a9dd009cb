"""Session-7 keras model API: sample_weight / class_weight (Keras 3's reduction), weighted_metrics,
test_on_batch / train_on_batch(return_dict=), regularizer penalties in the loss, to_json /
model_from_json, .keras round trips of the new layers, and three tutorial-style programs end to end."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras
from tensorcore.keras import layers as L

RNG = np.random.default_rng(11)


def _classifier(seed=0, regularizer=None):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(5,)), L.Dense(6, activation="tanh", kernel_regularizer=regularizer),
                              L.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    return model


def _data(n=24):
    return RNG.standard_normal((n, 5)).astype(np.float32), RNG.integers(0, 3, n), RNG.random(n)


def test_sample_weighted_loss_divides_by_the_batch_size_not_the_weight_sum():
    model = _classifier()
    x, y, w = _data()
    p = model.predict(x, verbose=0).astype(np.float64)
    ce = -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1 - 1e-7))
    logs = model.evaluate(x, y, sample_weight=w, batch_size=len(x), verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx((w * ce).sum() / len(x), rel=1e-5)
    hit = (p.argmax(1) == y).astype(float)
    assert logs["accuracy"] == pytest.approx(hit.mean())  # plain metrics ignore the weights (Keras' rule)
    assert logs["weighted_accuracy"] == pytest.approx((w * hit).sum() / w.sum())
    # batches of 8: the epoch loss is the batch-size weighted mean of the batch losses
    per_batch = [(w[i:i + 8] * ce[i:i + 8]).sum() / 8 for i in range(0, 24, 8)]
    assert model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0) [0] == pytest.approx(np.mean(per_batch),
                                                                                               rel=1e-5)


def test_class_weight_is_the_sample_weight_of_each_class_and_one_hot_targets_work():
    x, y, _ = _data()
    cw = {0: 0.5, 1: 2.0}  # class 2 is missing: weight 1.0, as Keras
    a, b, c = _classifier(), _classifier(), _classifier()
    b.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy")
    a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, class_weight=cw)
    b.fit(x, np.eye(3)[y], batch_size=8, epochs=2, shuffle=False, verbose=0, class_weight=cw)
    c.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, sample_weight=np.array([0.5, 2.0, 1.0])[y])
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wa, wc, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    with pytest.raises(tc.TensorcoreError, match="not both"):
        a.fit(x, y, class_weight=cw, sample_weight=np.ones(len(x)), verbose=0)
    with pytest.raises(tc.TensorcoreError, match="class_weight must"):
        a.fit(x, y, class_weight={"zero": 1.0}, verbose=0)
    with pytest.raises(tc.TensorcoreError, match="one weight per sample"):
        a.fit(x, y, sample_weight=np.ones(len(x) - 1), verbose=0)


def test_binary_class_weight_rounds_the_labels():
    keras.utils.set_random_seed(1)
    x = RNG.standard_normal((16, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input(shape=(3,)), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    w = np.where(y > 0.5, 3.0, 1.0)
    got = model.test_on_batch(x, y, sample_weight=w)
    assert got == pytest.approx((w * bce).mean(), rel=1e-5)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, class_weight={0: 1.0, 1: 3.0})
    assert history.history["loss"][0] == pytest.approx(got, rel=1e-5)


def test_validation_data_with_sample_weights_and_the_on_batch_calls():
    model = _classifier()
    x, y, w = _data()
    expected = model.evaluate(x[:8], y[:8], sample_weight=w[:8], verbose=0, return_dict=True)
    assert model.test_on_batch(x[:8], y[:8], sample_weight=w[:8], return_dict=True) == pytest.approx(expected)
    before = [a.copy() for a in model.get_weights()]
    logs = model.train_on_batch(x[:8], y[:8], sample_weight=w[:8], return_dict=True)
    assert logs["loss"] == pytest.approx(expected["loss"], rel=1e-6)  # the loss before the step, as Keras
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    values = model.test_on_batch(x[:8], y[:8])
    assert isinstance(values, list) and len(values) == 3
    after = model.evaluate(x[8:], y[8:], sample_weight=w[8:], verbose=0, return_dict=True)
    history = model.fit(x[:1], y[:1], epochs=1, verbose=0, validation_data=(x[8:], y[8:], w[8:]))
    assert set(history.history) == {"loss", "accuracy", "weighted_accuracy", "val_loss", "val_accuracy",
                                    "val_weighted_accuracy"}
    assert history.history["val_loss"][0] != pytest.approx(after["loss"])  # fit took a step first
    with pytest.raises(tc.TensorcoreError, match="validation_data"):
        model.fit(x, y, verbose=0, validation_data=(x,))


def test_weighted_sequence_loss_broadcasts_the_sample_weight_over_steps():
    keras.utils.set_random_seed(2)
    x = RNG.standard_normal((6, 4, 3)).astype(np.float32)
    y = RNG.standard_normal((6, 4, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input(shape=(4, 3)), L.TimeDistributed(L.Dense(2))])
    model.compile(optimizer="sgd", loss="mse")
    w = RNG.random(6)
    p = model.predict(x, verbose=0)
    per_step = ((p - y) ** 2).mean(-1)  # (N, T)
    got = model.evaluate(x, y, sample_weight=w, batch_size=6, verbose=0)
    assert got == pytest.approx((per_step * w[:, None]).sum() / per_step.size, rel=1e-5)


def test_weight_and_activity_regularizers_join_the_loss():
    x, y, _ = _data(8)
    plain, reg = _classifier(3), _classifier(3, keras.regularizers.l2(0.05))
    base = plain.evaluate(x, y, verbose=0, batch_size=8, return_dict=True)["loss"]
    kernel = reg.layers[0].get_weights()[0]
    got = reg.evaluate(x, y, verbose=0, batch_size=8, return_dict=True)["loss"]
    assert got == pytest.approx(base + 0.05 * (kernel.astype(np.float64) ** 2).sum(), rel=1e-5)
    assert len(reg.losses) == 1 and reg.losses[0].item() == pytest.approx(0.05 * (kernel ** 2).sum(), rel=1e-5)
    l1 = keras.regularizers.L1L2(l1=0.01, l2=0.02)
    assert l1.get_config() == {"l1": 0.01, "l2": 0.02}
    assert keras.regularizers.get({"class_name": "L1", "config": {"l1": 0.3}}).l1 == 0.3
    with pytest.raises(tc.TensorcoreError, match="regularizer"):
        keras.regularizers.get("l3")
    # an activity penalty is divided by the batch size (Keras 3)
    keras.utils.set_random_seed(4)
    act = keras.Sequential([keras.Input(shape=(5,)), L.Dense(3, activity_regularizer="l2"),
                            L.ActivityRegularization(l1=0.1)])
    act.compile(optimizer="sgd", loss="mse")
    target = np.zeros((8, 3), np.float32)
    out = act.predict(x, verbose=0).astype(np.float64)
    want = (out ** 2).mean() + (0.01 * (out ** 2).sum() + 0.1 * np.abs(out).sum()) / 8
    assert act.evaluate(x, target, batch_size=8, verbose=0) == pytest.approx(want, rel=1e-5)
    before = act.layers[0].get_weights()[0].copy()
    act.fit(x, target, batch_size=8, epochs=1, verbose=0)
    assert not np.allclose(before, act.layers[0].get_weights()[0])


def _double(t):
    return t * 2


def _merge_model():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(4,), name="b")
    ha, hb = L.Dense(5, activation="relu")(a), L.Dense(5)(b)
    mixed = L.Concatenate()([L.Subtract()([ha, hb]), L.Multiply()([ha, hb]), L.Lambda(_double)(ha),
                             L.Dot(axes=1)([ha, hb])])
    return keras.Model([a, b], L.Dense(1, activation="sigmoid")(L.PReLU()(mixed)))


def test_to_json_and_model_from_json():
    model = _merge_model()
    text = model.to_json()
    with pytest.raises(tc.TensorcoreError, match="custom_objects"):
        keras.models.model_from_json(text)
    twin = keras.models.model_from_json(text, custom_objects={"_double": _double})
    assert twin.to_json() == text and not twin.compiled
    twin.set_weights(model.get_weights())
    xa, xb = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    np.testing.assert_allclose(twin.predict([xa, xb], verbose=0), model.predict([xa, xb], verbose=0), rtol=1e-6)
    seq = keras.Sequential([keras.Input(shape=(6, 2)), L.Conv1D(3, 2, kernel_regularizer=keras.regularizers.l2(1e-3)),
                            L.MaxPooling1D(), L.Flatten(), L.Dense(2)])
    back = keras.models.model_from_json(seq.to_json(indent=1))
    assert [type(la).__name__ for la in back.layers] == ["Conv1D", "MaxPooling1D", "Flatten", "Dense"]
    assert back.layers[0].kernel_regularizer.l2 == pytest.approx(1e-3)
    with pytest.raises(tc.TensorcoreError, match="not valid JSON"):
        keras.models.model_from_json("{")
    with pytest.raises(tc.TensorcoreError, match="unknown class"):
        keras.models.model_from_json('{"class_name": "os.system", "config": {}}')


def test_keras_file_round_trip_of_the_new_layers(tmp_path):
    keras.utils.set_random_seed(5)
    norm = L.Normalization()
    norm.adapt(RNG.standard_normal((20, 6, 6, 2)) * 3 + 1)
    inputs = keras.Input(shape=(6, 6, 2))
    x = L.Rescaling(0.5)(norm(inputs))
    x = L.SeparableConv2D(4, 3, padding="same", depthwise_regularizer="l2")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2)(L.ZeroPadding2D(1)(x))
    x = L.Conv2DTranspose(3, 3, strides=2, padding="same")(L.SpatialDropout2D(0.1)(x))
    x = L.Cropping2D(((1, 1), (2, 0)))(L.UpSampling2D(1)(L.ReLU(max_value=6.0)(x)))
    x = L.GlobalMaxPooling2D()(L.GaussianNoise(0.1)(x))
    x = L.RepeatVector(4)(L.LeakyReLU()(x))
    x = L.TimeDistributed(L.Dense(3))(L.Permute((1, 2))(x))
    x = L.AveragePooling1D(2)(L.Conv1D(4, 2, padding="causal")(x))
    x = L.UnitNormalization()(L.Flatten()(L.ELU()(x)))
    outputs = L.Softmax()(L.Dense(3)(L.GaussianDropout(0.1)(L.Identity()(x))))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    data = RNG.standard_normal((8, 6, 6, 2)).astype(np.float32)
    model.fit(data, np.eye(3)[RNG.integers(0, 3, 8)], epochs=1, batch_size=4, verbose=0, sample_weight=np.ones(8))
    path = tmp_path / "new_layers.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in model.layers]
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-5, atol=1e-6)
    assert loaded._weighted_metric_spec == ["accuracy"]
    np.testing.assert_allclose(loaded.layers[1].get_weights()[0], norm.get_weights()[0])
    lam = keras.Sequential([keras.Input(shape=(2,)), L.Lambda(lambda t: t + 1)])
    with pytest.raises(tc.TensorcoreError, match="anonymous"):
        lam.save(tmp_path / "lambda.keras")


def test_tutorial_imdb_style_conv1d_text_classifier():
    rng = np.random.default_rng(20)
    keras.utils.set_random_seed(0)
    vocab, maxlen = 40, 16
    x = rng.integers(1, vocab, (192, maxlen))
    y = (x <= 2).any(axis=1).astype("int64")  # a "keyword" anywhere: what Conv1D + max pooling can find
    model = keras.Sequential([
        keras.Input(shape=(maxlen,), dtype="int64"),
        L.Embedding(vocab, 8),
        L.Dropout(0.2),
        L.Conv1D(16, 3, padding="valid", activation="relu", strides=1),
        L.GlobalMaxPooling1D(),
        L.Dense(16, kernel_regularizer=keras.regularizers.l2(1e-4)),
        L.Dropout(0.2),
        L.Activation("relu"),
        L.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=10, validation_split=0.25, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85 and history.history["val_accuracy"][-1] > 0.75
    assert model.layers[2].get_weights()[0].shape == (3, 8, 16)


def test_tutorial_convolutional_autoencoder():
    rng = np.random.default_rng(21)
    keras.utils.set_random_seed(1)
    images = np.zeros((32, 8, 8, 1), np.float32)
    for img in images:  # bright squares at random places
        r, c = rng.integers(0, 5, 2)
        img[r:r + 3, c:c + 3] = 1.0
    inputs = keras.Input(shape=(8, 8, 1))
    x = L.Conv2D(8, 3, activation="relu", padding="same")(inputs)
    x = L.MaxPooling2D(2, padding="same")(x)
    x = L.Conv2D(4, 3, activation="relu", padding="same")(x)
    encoded = L.MaxPooling2D(2, padding="same")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, activation="relu", padding="same")(encoded)
    x = L.UpSampling2D((2, 2))(x)
    decoded = L.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    autoencoder = keras.Model(inputs, decoded)
    assert autoencoder.outputs[0].shape == (None, 8, 8, 1)
    autoencoder.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = autoencoder.fit(images, images, epochs=8, batch_size=8, shuffle=True, verbose=0,
                              validation_data=(images[:8], images[:8]))
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    assert autoencoder.predict(images[:2], verbose=0).shape == (2, 8, 8, 1)


def test_tutorial_functional_siamese_merges():
    rng = np.random.default_rng(22)
    keras.utils.set_random_seed(2)
    a_in, b_in = keras.Input(shape=(6,), name="left"), keras.Input(shape=(6,), name="right")
    shared = L.Dense(8, activation="tanh")
    ha, hb = shared(a_in), shared(b_in)
    merged = L.Concatenate()([L.Subtract()([ha, hb]), L.Multiply()([ha, hb]), L.Maximum()([ha, hb]),
                              L.Minimum()([ha, hb]), L.Average()([ha, hb])])
    out = L.Dense(1, activation="sigmoid")(L.LeakyReLU(negative_slope=0.1)(merged))
    model = keras.Model([a_in, b_in], out)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    xa, xb = rng.standard_normal((128, 6)).astype(np.float32), rng.standard_normal((128, 6)).astype(np.float32)
    y = ((xa * xb).sum(1) > 0).astype(np.float32)
    history = model.fit({"left": xa, "right": xb}, y, epochs=10, batch_size=32, verbose=0,
                        class_weight={0: 1.0, 1: 1.5})
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.7
    assert len(model.layers[2].weights) == 2  # the shared Dense counts once


def test_activity_penalties_belong_to_the_last_forward_pass():
    keras.utils.set_random_seed(6)
    shared = L.Dense(2, activity_regularizer=keras.regularizers.l1(0.5))
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    model = keras.Model([a, b], L.Add()([shared(a), shared(b)]))
    xa, xb = RNG.standard_normal((4, 3)).astype(np.float32), RNG.standard_normal((4, 3)).astype(np.float32)
    for _ in range(3):
        model.predict([xa, xb], verbose=0)
    assert len(model.losses) == 2  # one per call of the shared layer, not one per predict
    kernel, bias = shared.get_weights()
    want = 0.5 * (np.abs(xa @ kernel + bias).sum() + np.abs(xb @ kernel + bias).sum()) / 4
    assert sum(p.item() for p in model.losses) == pytest.approx(want, rel=1e-5)


def test_register_keras_serializable_lets_load_model_find_a_custom_layer(tmp_path):
    from tensorcore.keras.config import REGISTERED

    class Scale(keras.layers.Layer):
        config_keys = ("factor",)

        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

    def shift(t):
        return t + 1

    saved = dict(REGISTERED)
    try:
        keras.saving.register_keras_serializable(package="s7")(Scale)
        keras.saving.register_keras_serializable()(shift)
        model = keras.Sequential([keras.Input(shape=(3,)), Scale(3.0), L.Lambda(shift), L.Dense(2)])
        config = model.get_config()["layers"]
        assert config[0]["registered_name"] == "s7>Scale" and config[1]["config"]["function"] == "Custom>shift"
        path = tmp_path / "custom.keras"
        model.save(path)
        loaded = keras.models.load_model(path)  # no custom_objects: both were registered by this program
        x = RNG.standard_normal((2, 3)).astype(np.float32)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
        assert type(loaded.layers[0]) is Scale and loaded.layers[0].factor == 3.0
        assert keras.models.model_from_json(model.to_json()).layers[1].function is shift
    finally:
        REGISTERED.clear()
        REGISTERED.update(saved)
    with pytest.raises(tc.TensorcoreError, match="Scale"):
        keras.models.load_model(path)  # once unregistered, the name alone builds nothing


def test_tutorial_timeseries_fcn_with_callbacks(tmp_path):
    rng = np.random.default_rng(23)
    keras.utils.set_random_seed(3)
    x = rng.standard_normal((96, 24, 1)).astype(np.float32)
    y = (x[:, :, 0].mean(1) > 0).astype(np.int64)
    inputs = keras.layers.Input((24, 1))
    conv = inputs
    for _ in range(2):
        conv = keras.layers.Conv1D(filters=8, kernel_size=3, padding="same")(conv)
        conv = keras.layers.BatchNormalization()(conv)
        conv = keras.layers.ReLU()(conv)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling1D()(conv))
    model = keras.models.Model(inputs=inputs, outputs=outputs)
    best = str(tmp_path / "best_model.keras")
    callbacks = [keras.callbacks.ModelCheckpoint(best, save_best_only=True, monitor="val_loss"),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001),
                 keras.callbacks.EarlyStopping(monitor="val_loss", patience=50)]
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=12, callbacks=callbacks, validation_split=0.2, verbose=0)
    assert history.history["sparse_categorical_accuracy"][-1] > 0.8
    restored = keras.models.load_model(best)
    assert restored.evaluate(x, y, verbose=0)[0] < history.history["loss"][0]


def test_tutorial_xception_style_residual_blocks_with_layers_add(tmp_path):
    rng = np.random.default_rng(24)
    keras.utils.set_random_seed(4)
    inputs = keras.Input(shape=(12, 12, 3))
    x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(8, 3, strides=2, padding="same")(
        L.Rescaling(1.0 / 255)(inputs))))
    previous = x
    for size in (8, 16):
        x = L.SeparableConv2D(size, 3, padding="same")(L.Activation("relu")(x))
        x = L.MaxPooling2D(3, strides=2, padding="same")(L.BatchNormalization()(x))
        residual = L.Conv2D(size, 1, strides=2, padding="same")(previous)
        x = L.add([x, residual])
        previous = x
    outputs = L.Dense(1)(L.Dropout(0.25)(L.GlobalAveragePooling2D()(x)))
    model = keras.Model(inputs, outputs)
    assert [type(la).__name__ for la in model.layers].count("Add") == 2
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="acc")])
    images = rng.integers(0, 256, (32, 12, 12, 3)).astype(np.float32)
    labels = (images[:, :, :, 0].mean((1, 2)) > 127.5).astype(np.float32)
    history = model.fit(images, labels, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "xception.keras"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    for fn, cls in ((L.subtract, L.Subtract), (L.multiply, L.Multiply), (L.concatenate, L.Concatenate),
                    (L.maximum, L.Maximum), (L.minimum, L.Minimum), (L.average, L.Average), (L.dot, L.Dot)):
        assert type(fn([a, b]).node.layer) is cls


def test_add_loss_in_a_custom_layer_joins_the_loss():
    class Sparse(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss((inputs * inputs).mean() * 0.25)
            return inputs

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input(shape=(3,)), L.Dense(4), Sparse(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.standard_normal((8, 3)).astype(np.float32), RNG.standard_normal((8, 1)).astype(np.float32)
    kernel, bias = model.layers[0].get_weights()
    hidden = x @ kernel + bias
    pred = model.predict(x, verbose=0)
    want = ((pred - y) ** 2).mean() + 0.25 * (hidden ** 2).mean()
    assert model.evaluate(x, y, batch_size=8, verbose=0) == pytest.approx(want, rel=1e-5)
    assert len(model.losses) == 1


def test_tutorial_timeseries_anomaly_autoencoder_with_conv1d_transpose():
    rng = np.random.default_rng(25)
    keras.utils.set_random_seed(5)
    steps = np.arange(24)
    x = np.stack([np.sin(steps / 3 + p) for p in rng.random(64) * 6])[..., None].astype(np.float32)
    model = keras.Sequential([
        L.Input(shape=(24, 1)),
        L.Conv1D(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Dropout(rate=0.2),
        L.Conv1D(filters=4, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Conv1DTranspose(filters=4, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Dropout(rate=0.2),
        L.Conv1DTranspose(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ])
    assert model.output_shape == (None, 24, 1)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    history = model.fit(x, x, epochs=10, batch_size=16, validation_split=0.1, verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")])
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    errors = np.abs(model.predict(x, verbose=0) - x).mean(axis=(1, 2))
    spiky = x.copy()
    spiky[:, 10:13] += 3.0  # an anomaly: the reconstruction error grows
    assert np.abs(model.predict(spiky, verbose=0) - spiky).mean(axis=(1, 2)).mean() > 2 * errors.mean()


def test_functional_model_shapes_carry_the_batch_axis_and_nested_models_summarize():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(3,))
    two = keras.Model([a, b], [L.Dense(2)(a), L.Dense(1)(b)])
    assert two.output_shape == [(None, 2), (None, 1)] and two.input_shape == [(None, 4), (None, 3)]
    inner = keras.Sequential([keras.Input((4,)), L.Dense(2, name="d0")], name="inner_seq")
    outer = keras.Sequential([keras.Input((4,)), inner, L.Dense(3)])
    assert inner.output_shape == (None, 2) and outer.output_shape == (None, 3)
    lines = []
    outer.summary(print_fn=lines.append)
    assert "inner_seq (Sequential)    (None, 2)" in lines[0]
