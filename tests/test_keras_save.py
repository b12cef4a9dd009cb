"""model.save("m.keras") / keras.models.load_model: round trips with identical predictions, and hostile files
(pickles, huge declared arrays, path-traversal names, unknown classes) refused with a tc.TensorcoreError."""

import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras
from tensorcore.keras import layers as L

RNG = np.random.default_rng(0)


def _roundtrip(model, x, tmp_path, **load_kwargs):
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path, **load_kwargs)
    before, after = model.predict(x), loaded.predict(x)
    for a, b in zip(before if isinstance(before, list) else [before], after if isinstance(after, list) else [after]):
        np.testing.assert_array_equal(a, b)
    return loaded


def test_sequential_roundtrip_keeps_predictions_and_compile(tmp_path):
    tc.manual_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), L.Dense(8, activation="relu"), L.Dropout(0.2),
                              L.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = RNG.standard_normal((40, 4)).astype(np.float32)
    y = RNG.integers(0, 3, 40)
    model.fit(x, y, epochs=1, verbose=0)
    loaded = _roundtrip(model, x, tmp_path)
    assert isinstance(loaded, keras.Sequential) and [la.name for la in loaded.layers] == ["dense", "dropout",
                                                                                          "dense_1"]
    assert loaded.compiled and isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert loaded.optimizer.learning_rate == pytest.approx(0.005)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    loaded.fit(x, y, epochs=1, verbose=0)  # trains on
    assert not keras.models.load_model(tmp_path / "m.keras", compile=False).compiled


def test_optimizer_state_is_saved_so_training_resumes_exactly(tmp_path):
    tc.manual_seed(6)
    model = keras.Sequential([keras.Input(shape=(4,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    x, y = RNG.standard_normal((48, 4)).astype(np.float32), RNG.integers(0, 3, 48)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "mid.keras")
    loaded = keras.models.load_model(tmp_path / "mid.keras")
    state = loaded.optimizer.inner.state_dict()["state"]
    assert len(state) == 4 and all(st for st in state.values())
    for m in (model, loaded):
        tc.manual_seed(7)
        m.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    with zipfile.ZipFile(tmp_path / "mid.keras") as z:
        names = zipfile.ZipFile(io.BytesIO(z.read("model.weights.npz"))).namelist()
    assert {"w0.npy", "o0.npy"} <= set(names)
    with zipfile.ZipFile(tmp_path / "mid.keras") as z:  # an optimizer-state array declared huge: refused
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(io.BytesIO(members["model.weights.npz"])) as inner:
        weights = {n: inner.read(n) for n in inner.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**10,)})
    weights["o0.npy"] = header.getvalue()
    members["model.weights.npz"] = _npz(weights)
    with pytest.raises(tc.TensorcoreError, match="optimizer state"):
        keras.models.load_model(_write(tmp_path, list(members.items())))


def test_functional_several_outputs_roundtrip(tmp_path):
    tc.manual_seed(1)
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    h = L.Concatenate()([L.Dense(4, activation="tanh")(a), b])
    out = [L.Dense(2, activation="softmax", name="cls")(h), L.Add()([L.Dense(1)(h), L.Dense(1)(h)])]
    model = keras.Model([a, b], out)
    x = [RNG.standard_normal((5, 3)).astype(np.float32), RNG.standard_normal((5, 2)).astype(np.float32)]
    loaded = _roundtrip(model, x, tmp_path)
    assert [la.name for la in loaded.layers] == [la.name for la in model.layers]
    assert loaded.get_layer("cls").get_config() == model.get_layer("cls").get_config()


def test_sequence_model_roundtrip(tmp_path):
    tc.manual_seed(2)
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = L.Embedding(12, 6, mask_zero=True)(inputs)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    x = L.LayerNormalization()(L.MultiHeadAttention(2, 3)(x, x))
    out = L.Dense(1, activation="sigmoid")(L.GRU(3, reset_after=False)(x))
    model = keras.Model(inputs, out)
    tokens = np.array([[3, 4, 5, 0], [1, 2, 0, 0], [7, 8, 9, 10]])
    _roundtrip(model, tokens, tmp_path)


def test_conv_model_roundtrip_keeps_batch_norm_statistics(tmp_path):
    tc.manual_seed(3)
    model = keras.Sequential([keras.Input(shape=(6, 6, 2)), L.Conv2D(3, 3, padding="same"), L.BatchNormalization(),
                              L.MaxPooling2D(), L.Reshape((-1,)), L.Dense(2)])
    x = RNG.standard_normal((8, 6, 6, 2)).astype(np.float32)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, RNG.standard_normal((8, 2)), epochs=1, verbose=0)  # moves the moving mean and variance
    loaded = _roundtrip(model, x, tmp_path)
    np.testing.assert_array_equal(loaded.layers[1].get_weights()[2], model.layers[1].get_weights()[2])


class Tiny(keras.Model):
    def __init__(self, units=3):
        super().__init__()
        self.units = units
        self.dense = L.Dense(units)

    def call(self, inputs):
        return self.dense(inputs) * 2.0

    def get_config(self):
        return {"units": self.units}


def test_subclassed_model_needs_its_class(tmp_path):
    tc.manual_seed(4)
    model = Tiny(units=5)
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    model.predict(x)
    loaded = _roundtrip(model, x, tmp_path, custom_objects={"Tiny": Tiny})
    assert isinstance(loaded, Tiny) and loaded.units == 5
    with pytest.raises(tc.TensorcoreError, match="custom_objects"):
        keras.models.load_model(tmp_path / "m.keras")


def test_save_checks_and_atomicity(tmp_path):
    model = keras.Sequential([keras.Input(shape=(2,)), L.Dense(2)])
    with pytest.raises(tc.TensorcoreError, match=".keras"):
        model.save(tmp_path / "m.npz")
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    odd = keras.Sequential([keras.Input(shape=(2,)), L.Dense(2, activation=lambda t: t * 2)])
    with pytest.raises(tc.TensorcoreError, match="callable"):
        odd.save(path)
    assert path.read_bytes() == before  # a failed save leaves the old file
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
    assert sorted(zipfile.ZipFile(path).namelist()) == ["config.json", "metadata.json", "model.weights.npz"]


# --- hostile files ---------------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    tc.manual_seed(5)
    model = keras.Sequential([keras.Input(shape=(3,)), L.Dense(4), L.Dense(2)])
    path = tmp_path / "good.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _write(tmp_path, members, compression=zipfile.ZIP_STORED):
    path = tmp_path / "hostile.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as z:
            for name, data in members:
                z.writestr(name, data)
    return path


def _npz(arrays):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in arrays.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _weights(saved):
    with zipfile.ZipFile(io.BytesIO(saved["model.weights.npz"])) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_a_pickle_is_refused(tmp_path):
    path = tmp_path / "pickled.keras"
    path.write_bytes(pickle.dumps({"model": "anything"}))
    with pytest.raises(tc.TensorcoreError, match="pickle"):
        keras.models.load_model(path)


def test_an_extra_pickled_member_is_refused(tmp_path, saved):
    path = _write(tmp_path, list(saved.items()) + [("payload.pkl", pickle.dumps(print))])
    with pytest.raises(tc.TensorcoreError, match="unexpected members"):
        keras.models.load_model(path)


def test_an_object_array_weight_is_refused(tmp_path, saved):
    weights = _weights(saved)
    weights["w0.npy"] = _npy(np.array([object()] * 12, dtype=object).reshape(3, 4), allow_pickle=True)
    path = _write(tmp_path, [*((k, v) for k, v in saved.items() if k != "model.weights.npz"),
                             ("model.weights.npz", _npz(weights))])
    with pytest.raises(tc.TensorcoreError, match="pickle"):
        keras.models.load_model(path)


def test_a_huge_declared_array_is_refused_before_allocating(tmp_path, saved):
    weights = _weights(saved)
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    weights["w0.npy"] = buffer.getvalue() + b"\0" * 16
    path = _write(tmp_path, [*((k, v) for k, v in saved.items() if k != "model.weights.npz"),
                             ("model.weights.npz", _npz(weights))])
    with pytest.raises(tc.TensorcoreError, match="declares shape"):
        keras.models.load_model(path)
    wrong = dict(_weights(saved))
    wrong["w0.npy"] = _npy(np.zeros((3, 5), np.float32))
    path = _write(tmp_path, [*((k, v) for k, v in saved.items() if k != "model.weights.npz"),
                             ("model.weights.npz", _npz(wrong))])
    with pytest.raises(tc.TensorcoreError, match="declares shape"):
        keras.models.load_model(path)


def test_a_huge_declared_config_is_refused(tmp_path, saved):
    path = _write(tmp_path, [("config.json", b" " * (17 * 2**20)), ("model.weights.npz", saved["model.weights.npz"])],
                  zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    with pytest.raises(tc.TensorcoreError, match="limit"):
        keras.models.load_model(path)


@pytest.mark.parametrize("name", ["../evil.json", "/etc/evil", "weights/../../x", "C:\\evil"])
def test_path_traversal_names_are_refused(tmp_path, saved, name):
    path = _write(tmp_path, list(saved.items()) + [(name, b"{}")])
    with pytest.raises(tc.TensorcoreError, match="outside the archive"):
        keras.models.load_model(path)


def test_duplicated_members_are_refused(tmp_path, saved):
    path = _write(tmp_path, list(saved.items()) + [("config.json", saved["config.json"])])
    with pytest.raises(tc.TensorcoreError, match="duplicated"):
        keras.models.load_model(path)


@pytest.mark.parametrize("change, message", [
    (lambda c: c["model"]["config"]["layers"][0].update(class_name="os.system"), "unknown class"),
    (lambda c: c["model"]["config"]["layers"][0]["config"].update(evil="x"), "unknown arguments"),
    (lambda c: c["model"]["config"]["layers"][0]["config"].update(activation="__import__('os')"), "activation"),
    (lambda c: c.update(format="something-else"), "not a tensorcore"),
    (lambda c: c["model"]["config"]["layers"][0]["config"].update(units=10**9), "refused before allocating"),
    (lambda c: c["model"]["config"]["input"].update(shape=[10**5, 10**5]), "probe"),
    (lambda c: c["compile"].update(optimizer={"class_name": "Optimizer.__subclasses__", "config": {}}),
     "optimizer"),
])
def test_a_config_can_only_name_known_classes_and_arguments(tmp_path, saved, change, message):
    model = keras.Sequential([keras.Input(shape=(3,)), L.Dense(4), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    good = tmp_path / "compiled.keras"
    model.save(good)
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    path = _write(tmp_path, list(members.items()))
    with pytest.raises(tc.TensorcoreError, match=message):
        keras.models.load_model(path)


def test_missing_or_extra_weights_are_refused(tmp_path, saved):
    weights = _weights(saved)
    weights.pop("w3.npy")
    path = _write(tmp_path, [*((k, v) for k, v in saved.items() if k != "model.weights.npz"),
                             ("model.weights.npz", _npz(weights))])
    with pytest.raises(tc.TensorcoreError, match="needs 4 weights"):
        keras.models.load_model(path)
    weights = _weights(saved)
    weights["w0.npy"] = weights["w0.npy"][:-8]  # truncated data
    path = _write(tmp_path, [*((k, v) for k, v in saved.items() if k != "model.weights.npz"),
                             ("model.weights.npz", _npz(weights))])
    with pytest.raises(tc.TensorcoreError, match="bytes"):
        keras.models.load_model(path)


def test_model_checkpoint_writes_keras_files(tmp_path):
    tc.manual_seed(8)
    model = keras.Sequential([keras.Input(shape=(3,)), L.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = RNG.standard_normal((20, 3)).astype(np.float32), RNG.integers(0, 2, 20)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.keras"))])
    loaded = keras.models.load_model(tmp_path / "e2.keras")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert (tmp_path / "e1.keras").exists()
