"""Keras metric classes: the values of Keras's own documented examples, and compile/save/load with instances."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras


@pytest.mark.parametrize("metric, y_true, y_pred, expected", [
    # the examples of the Keras API reference (keras.io/api/metrics)
    (lambda: keras.metrics.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75),
    (lambda: keras.metrics.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75),
    (lambda: keras.metrics.CategoricalAccuracy(), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5),
    (lambda: keras.metrics.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5),
    (lambda: keras.metrics.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]],
     [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5),
    (lambda: keras.metrics.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5),
    (lambda: keras.metrics.SparseTopKCategoricalAccuracy(k=2), [2, 1], [[0.1, 0.2, 0.7], [0.5, 0.1, 0.4]], 0.5),
    (lambda: keras.metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    (lambda: keras.metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    (lambda: keras.metrics.RootMeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.5),
    (lambda: keras.metrics.MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25),
    (lambda: keras.metrics.MeanAbsoluteError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25),
])
def test_metric_values_match_the_keras_reference_examples(metric, y_true, y_pred, expected):
    m = metric()
    assert m(y_true, y_pred) == pytest.approx(expected)
    m.reset_state()
    assert m.result() == 0.0
    m.update_state(np.asarray(y_true), np.asarray(y_pred, dtype=np.float32))
    assert m.result() == pytest.approx(expected)


def test_metrics_accumulate_over_calls_and_name_by_class():
    m = keras.metrics.Precision()
    m([1, 1], [1, 1])  # tp 2, fp 0
    assert m([0, 0], [1, 1]) == pytest.approx(0.5)  # then fp 2: 2 / 4
    assert isinstance(keras.metrics.get("Recall"), keras.metrics.Recall)
    with pytest.raises(tc.TensorcoreError, match="unknown metric"):
        keras.metrics.get("no_such_metric")
    with pytest.raises(tc.TensorcoreError, match="thresholds"):
        keras.metrics.Precision(thresholds=1.5)


def test_compile_with_metric_instances_trains_saves_and_loads(tmp_path):
    tc.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((64, 8)).astype(np.float32)
    y = (x.sum(axis=1) > 4).astype(np.int64)
    # tanh, not relu: a dead relu layer ties the two outputs, and a tie is a top-1 hit (Keras's in_top_k) but
    # argmax picks one class
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(), keras.metrics.SparseTopKCategoricalAccuracy(k=1)])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"}
    # top-1 of two classes is plain accuracy: the two metrics agree every epoch
    assert history.history["sparse_categorical_accuracy"] == pytest.approx(
        history.history["sparse_top_k_categorical_accuracy"])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
