"""tensorcore/loop.py, the one training loop of `tensorcore train` and keras fit: weighted means, metrics, hooks."""

import numpy as np

import tensorcore as tc
from tensorcore import loop


def _batches():
    x = np.arange(10, dtype=np.float32)
    y = (np.arange(10) % 3).astype(np.int64)
    return list(loop.array_batches((x, y), 4, to_tensor=lambda a, rows: tc.tensor(a[rows])))


def test_array_batches_cover_every_row_in_order():
    batches = _batches()
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), np.arange(10))
    order = np.array([3, 1, 2, 0])
    rows = [b[0] for b in loop.array_batches((np.arange(4),), 3, order)]
    np.testing.assert_array_equal(np.concatenate(rows), order)


def test_run_epoch_weights_the_loss_by_batch_size_and_calls_batch_hooks():
    seen = []

    class Hooks:
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("end", batch, round(logs["loss"], 6)))

    def step(xb, yb):  # loss = the batch's mean x; outputs: one-hot logits of the true class
        out = np.eye(3, dtype=np.float32)[yb.numpy()]
        return xb.mean(), tc.tensor(out)

    logs = loop.run_epoch(_batches(), step, loop.Accuracy(), callbacks=[Hooks()])
    assert logs["loss"] == np.arange(10).mean() and logs["acc"] == 1.0
    assert seen[:3] == [("begin", 0), ("end", 0, 1.5), ("begin", 1)]
    assert seen[-1] == ("end", 2, 4.5)


def test_accuracy_counts_argmax_matches():
    acc = loop.Accuracy("accuracy")
    acc.update(tc.tensor(np.array([0, 1, 2, 1])), tc.tensor(np.eye(3)[[0, 1, 1, 0]]))
    assert acc.results() == {"accuracy": 0.5}
    acc.reset()
    assert acc.results() == {"accuracy": 0.0}


def test_evaluate_records_no_graph():
    w = tc.tensor(np.ones(1, np.float32), requires_grad=True)
    recorded = []

    def step(xb, yb):
        loss = (xb * w).mean()
        recorded.append(loss.requires_grad)
        return loss, None

    loop.evaluate(_batches(), step)
    assert recorded == [False, False, False]


def test_fit_runs_epoch_hooks_in_order_and_stops_early():
    events = []

    class Hooks:
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"begin {epoch}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"end {epoch} {logs['loss']}")

        def on_train_end(self, logs=None):
            events.append("train_end")

    last = loop.fit(lambda epoch: {"loss": float(epoch)}, epochs=10, initial_epoch=2, callbacks=[Hooks()],
                    should_stop=lambda: len(events) >= 5)
    assert events == ["train_begin", "begin 2", "end 2 2.0", "begin 3", "end 3 3.0", "train_end"]
    assert last == {"loss": 3.0}
    ends = []
    loop.fit(lambda epoch: {"loss": 0.0}, 2, callbacks=[loop.EpochEnd(lambda e, logs: ends.append(e))])
    assert ends == [0, 1]
