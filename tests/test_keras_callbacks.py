"""Keras callbacks beyond EarlyStopping/ModelCheckpoint: ReduceLROnPlateau's schedule, TerminateOnNaN, CSVLogger;
model.summary()'s trainable count."""

import io
import os
from contextlib import redirect_stdout

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras


class _Optimizer:
    learning_rate = 1.0


class _Model:
    def __init__(self):
        self.optimizer, self.stop_training = _Optimizer(), False


def test_reduce_lr_on_plateau_follows_keras_schedule():
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_delta=0.0, cooldown=1,
                                           min_lr=0.1)
    cb.set_model(_Model())
    cb.on_train_begin()
    seen = []
    for epoch, loss in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]):
        logs = {"val_loss": loss}
        cb.on_epoch_end(epoch, logs)
        seen.append((logs["learning_rate"], cb.model.optimizer.learning_rate))
    # logs get the rate the epoch ran with; the rate halves after 2 epochs without improvement, then rests 1 epoch,
    # and never goes below min_lr
    assert [after for _, after in seen] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1]
    assert [before for before, _ in seen][1:] == [after for _, after in seen][:-1]
    with pytest.raises(tc.TensorcoreError, match="factor"):
        keras.callbacks.ReduceLROnPlateau(factor=1.0)


def _model():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_terminate_on_nan_stops_at_the_first_bad_batch():
    x = np.ones((64, 4), np.float32)
    x[20] = np.nan  # the second batch of 16
    y = np.zeros(64, np.int64)
    batches = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    with redirect_stdout(io.StringIO()) as out:
        history = _model().fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                               callbacks=[keras.callbacks.TerminateOnNaN(), counter])
    assert batches == [0, 1] and len(history.epoch) == 1
    assert "Invalid loss" in out.getvalue()


def test_csv_logger_writes_one_row_per_epoch_atomically(tmp_path):
    path = tmp_path / "log.csv"
    x = np.random.default_rng(0).random((32, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[keras.callbacks.CSVLogger(path)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.CSVLogger(path, append=True)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "0"]
    assert len(rows[1].split(",")) == 5 and os.listdir(tmp_path) == ["log.csv"]


def test_summary_counts_batchnorm_moving_statistics_as_non_trainable():
    lines = []
    _model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Dense(4->3) 15, BatchNorm(3) gamma/beta 6 + moving mean/var 6, Dense(3->2) 8: as Keras counts them
    assert "Total params: 35" in text and "Trainable params: 29" in text and "Non-trainable params: 6" in text
