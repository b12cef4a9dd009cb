"""tensorcore.keras: Sequential/compile/fit/evaluate/predict, fused softmax cross-entropy, callbacks, weights."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.keras import Input
from tensorcore.keras.callbacks import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from tensorcore.keras.layers import Activation, Dense, Dropout, Flatten
from tensorcore.keras.models import Sequential
from tensorcore.keras.optimizers import SGD, Adam, RMSprop
from tensorcore.keras.utils import to_categorical
from tensorcore.serialization import StateDictError


def _blobs(n=300, classes=3, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, dim)) * 3
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, dim))).astype(np.float32)
    return x, y


def _model(dim=4, classes=3, activation="softmax"):
    model = Sequential()
    model.add(Dense(16, activation="relu", input_dim=dim))
    model.add(Dense(classes, activation=activation))
    return model


def test_the_issue_example_runs_and_learns():
    tc.manual_seed(0)
    x, y = _blobs()
    y1 = to_categorical(y, 3)
    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=4))
    model.add(Dense(64, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    model.compile(optimizer=Adam(lr=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y1, epochs=5, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "accuracy"} and len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    preds = model.predict(x)
    assert preds.shape == (300, 3) and preds.dtype == np.float32
    np.testing.assert_allclose(preds.sum(axis=1), 1, rtol=1e-5)
    assert (preds.argmax(1) == y).mean() > 0.9
    loss, acc = model.evaluate(x, y1, verbose=0)
    assert acc > 0.9 and loss < 0.5


def test_fused_loss_equals_unfused_and_one_hot_fast_path():
    tc.manual_seed(0)
    x, y = _blobs(64)
    y1 = to_categorical(y, 3)
    model = _model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    fused = model.evaluate(x, y1, verbose=0, batch_size=64)
    probs = model.predict(x)
    manual = -np.log(probs[np.arange(64), y]).mean()
    assert fused == pytest.approx(manual, rel=1e-5)
    soft = y1 * 0.9 + 0.1 / 3  # not one-hot: the probability-target path
    soft_loss = model.evaluate(x, soft, verbose=0, batch_size=64)
    assert soft_loss == pytest.approx(-(soft * np.log(probs)).sum(1).mean(), rel=1e-5)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.evaluate(x, y, verbose=0, batch_size=64) == pytest.approx(manual, rel=1e-5)


def test_fused_softmax_cross_entropy_is_stable():
    model = _model()
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    with tc.no_grad():
        model.layers[-1].linear.weight.data[...] *= 1e4  # logits of order 1e4: softmax saturates to 0 and 1
    x, y = _blobs(32)
    history = model.fit(x, to_categorical(y, 3), epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(np.isfinite(p.numpy()).all() for p in model.net.parameters())


def test_validation_split_and_validation_data():
    tc.manual_seed(0)
    x, y = _blobs(200)
    model = _model()
    model.compile(optimizer=Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy", metrics=["acc"])
    h = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "acc", "val_loss", "val_acc"}
    h = model.fit(x[:150], y[:150], epochs=1, validation_data=(x[150:], y[150:]), verbose=0)
    assert "val_loss" in h.history
    assert model.history is h


def test_a_metric_instance_starts_each_epoch_and_evaluation_afresh():
    from tensorcore.keras.metrics import SparseCategoricalAccuracy

    tc.manual_seed(0)
    x, y = _blobs(96)
    model = _model()
    model.compile(optimizer=Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=[SparseCategoricalAccuracy()])
    h = model.fit(x[:64], y[:64], epochs=3, batch_size=16, validation_data=(x[64:], y[64:]), verbose=0)
    for key, n in (("sparse_categorical_accuracy", 64), ("val_sparse_categorical_accuracy", 32)):
        assert all(float(a * n).is_integer() for a in h.history[key]), h.history[key]  # a count over one pass
    _, acc = model.evaluate(x[64:], y[64:], batch_size=32, verbose=0)
    assert acc == np.mean(model.predict(x[64:], verbose=0).argmax(-1) == y[64:])


def test_fit_is_reproducible_with_manual_seed():
    x, y = _blobs(100)
    weights = []
    for _ in range(2):
        tc.manual_seed(3)
        model = _model()
        model.add(Dropout(0.2))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=10, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_binary_and_mse_losses():
    tc.manual_seed(0)
    x, y = _blobs(200, classes=2)
    model = _model(classes=1, activation="sigmoid")
    model.compile(optimizer=Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y.astype(np.float32), epochs=5, batch_size=16, verbose=0)
    assert h.history["accuracy"][-1] > 0.85
    p = model.predict(x)
    assert p.shape == (200, 1) and (0 <= p).all() and (p <= 1).all()
    reg = Sequential([Dense(1, input_shape=(4,))])
    reg.compile(optimizer=SGD(0.05), loss="mse", metrics=["mae"])
    target = x @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32)
    h = reg.fit(x, target, epochs=20, batch_size=20, verbose=0)
    assert h.history["loss"][-1] < 0.05 * h.history["loss"][0]
    assert "mae" in h.history


def test_layers_flatten_activation_input_and_summary():
    model = Sequential()
    model.add(Input(shape=(2, 3)))
    model.add(Flatten())
    model.add(Dense(5))
    model.add(Activation("tanh"))
    model.add(Dense(2, activation="softmax", name="out"))
    assert model.built and model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "activation", "out"]
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "dense (Dense)" in text and "(None, 5)" in text and "Total params: 47" in text
    assert model.count_params() == 6 * 5 + 5 + 5 * 2 + 2
    assert model.predict(np.zeros((3, 2, 3))).shape == (3, 2)


def test_model_built_from_data_and_errors():
    model = Sequential([Dense(3, activation="softmax")])
    assert not model.built
    with pytest.raises(ValueError):
        model.summary()
    with pytest.raises(tc.TensorcoreError, match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros(4))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    with pytest.raises(tc.ShapeError, match="one-hot"):
        model.fit(np.zeros((4, 2)), np.zeros(4, dtype=np.int64), verbose=0)
    model.fit(np.zeros((4, 2)), to_categorical([0, 1, 2, 0], 3), verbose=0)
    assert model.built and model.layers[0].input_shape == (2,)
    with pytest.raises(tc.ShapeError):
        model.predict(np.zeros((4, 5)))
    with pytest.raises(ValueError):
        model.compile(optimizer="adam", loss="no_such_loss")
    with pytest.raises(ValueError):
        Dense(4, activation="no_such_activation").build((None, 3))


def test_optimizers_accept_lr_and_learning_rate():
    assert Adam(lr=0.5).learning_rate == 0.5
    assert Adam(learning_rate=0.25).learning_rate == 0.25
    assert SGD(lr=0.1, momentum=0.9).momentum == 0.9
    assert RMSprop(lr=0.01).learning_rate == 0.01
    model = _model()
    opt = Adam(lr=0.003)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    x, y = _blobs(20)
    model.fit(x, y, epochs=1, verbose=0)
    inner = opt.inner
    assert isinstance(inner, tc.optim.Adam) and inner.param_groups[0]["lr"] == 0.003
    assert inner.param_groups[0]["eps"] == 1e-7  # Keras' default epsilon
    opt.learning_rate = 0.001
    assert inner.param_groups[0]["lr"] == 0.001


def test_get_set_weights_keras_layout():
    model = _model()
    w = model.get_weights()
    assert [a.shape for a in w] == [(4, 16), (16,), (16, 3), (3,)]
    np.testing.assert_array_equal(w[0], model.layers[0].linear.weight.numpy().T)
    w[0][...] = 1.0
    model.set_weights(w)
    assert float(model.layers[0].linear.weight.min()) == 1.0
    with pytest.raises(tc.ShapeError):
        model.set_weights(w[:2])


def test_dense_default_init_is_glorot_uniform_with_zero_bias():
    tc.manual_seed(0)
    model = Sequential([Dense(200, input_dim=300)])
    kernel, bias = model.get_weights()
    limit = np.sqrt(6 / 500)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert not bias.any()


def test_save_and_load_weights(tmp_path):
    tc.manual_seed(0)
    x, y = _blobs(50)
    a = _model()
    a.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    a.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "w.npz"
    a.save_weights(path)
    b = _model()
    b.load_weights(path)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    c = Sequential([Dense(16, activation="relu", input_dim=4, name="first"), Dense(3, name="second")])
    c.load_weights(path)  # other names, same shapes: loaded by position, as Keras does
    np.testing.assert_array_equal(c.get_weights()[0], a.get_weights()[0])
    wrong = _model(classes=5)
    with pytest.raises(StateDictError, match="dense_1.weight"):
        wrong.load_weights(path)
    (tmp_path / "junk.npz").write_bytes(b"\x80\x04junk")
    with pytest.raises(tc.TensorcoreError, match="pickle"):
        a.load_weights(tmp_path / "junk.npz")


def test_early_stopping_restores_best_weights():
    x, y = _blobs(60)

    class Scripted(Callback):
        """Overwrites val_loss with a fixed sequence so the test knows where the best epoch is."""

        losses = [1.0, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1]

        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = self.losses[epoch]
            if epoch == 1:
                self.best = self.model.get_weights()

    scripted = Scripted()
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model = _model()
    model.compile(optimizer=Adam(0.05), loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=7, batch_size=10, verbose=0, validation_split=0.2, callbacks=[scripted, stop])
    assert len(h.history["loss"]) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    for a, b in zip(model.get_weights(), scripted.best):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_and_lr_scheduler(tmp_path):
    x, y = _blobs(60)
    model = _model()
    model.compile(optimizer=SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    every = ModelCheckpoint(str(tmp_path / "ep{epoch:02d}.npz"))
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="accuracy", save_best_only=True)
    sched = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[every, best, sched])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "ep01.npz", "ep02.npz", "ep03.npz"]
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    model.load_weights(tmp_path / "ep03.npz")


def test_train_on_batch_and_call():
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _blobs(16)
    loss, acc = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    out = model(tc.tensor(x))
    assert out.shape == (16, 3)


def test_verbose_modes(capsys):
    x, y = _blobs(40)
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=10, verbose=2)
    out = capsys.readouterr()
    assert "Epoch 1/1" in out.out and "loss:" in out.out and "accuracy:" in out.out
    model.fit(x, y, epochs=1, batch_size=10, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "4/4" in err and "loss" in err
    model.fit(x, y, epochs=1, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_to_categorical():
    np.testing.assert_array_equal(to_categorical([0, 2, 1]), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert to_categorical(np.array([1, 0]), 4).shape == (2, 4)
    assert to_categorical([1], 2).dtype == np.float32
    with pytest.raises(ValueError):
        to_categorical([3], 2)


def test_datasets_wrap_tensorcore_data():
    from tensorcore.keras.datasets import fashion_mnist

    try:
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    except tc.TensorcoreError as e:
        pytest.skip(f"Fashion-MNIST not installed: {e}")
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8 and y_test.max() == 9
