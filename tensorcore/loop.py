"""The one training loop behind `tensorcore train` and keras `Model.fit`: epochs x batches, callbacks,
a progress bar, metrics and validation.

A caller supplies the parts that differ (how a batch becomes a loss, which metrics, what to print):

    def step(xb, yb):                       # forward, backward and update; returns (loss, outputs)
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad(); loss.backward(); opt.step()
        return loss, out

    def one_epoch(epoch):
        logs = run_epoch(loader, step, metrics=Accuracy())
        logs.update({f"val_{k}": v for k, v in evaluate(val_batches, eval_step, Accuracy()).items()})
        return logs

    fit(one_epoch, epochs=10, callbacks=[...])

Callbacks are any objects with some of the Keras hooks: on_train_begin(logs), on_epoch_begin(epoch, logs),
on_train_batch_begin(batch, logs), on_train_batch_end(batch, logs), on_epoch_end(epoch, logs),
on_train_end(logs). A hook that an object lacks is skipped.
"""

import sys
import time

import numpy as np

from .autograd import no_grad

REFRESH_SECONDS = 0.2  # the progress bar's postfix is rewritten at most this often


class Accuracy:
    """Top-1 accuracy of logits or probabilities (N, C) against integer labels (N,): mean(argmax(out) == y)."""

    def __init__(self, name="acc"):
        self.name = name
        self.reset()

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, y, out):
        pred = _array(out).argmax(axis=-1)
        self.correct += int((pred == _array(y)).sum())
        self.count += int(pred.size)

    def results(self):
        return {self.name: self.correct / max(self.count, 1)}


class Progress:
    """A tqdm bar over `total` steps whose postfix shows the running logs, rewritten at most every 0.2 s.

    fmt(logs) -> str formats the logs (e.g. "loss 0.1234 acc 0.9000").
    """

    def __init__(self, total, desc, fmt, unit="step", leave=True, file=None):
        from tqdm import tqdm

        self.fmt = fmt
        self.bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, dynamic_ncols=True,
                        mininterval=REFRESH_SECONDS, file=file if file is not None else sys.stderr)
        self.last = time.perf_counter()

    def update(self, logs_fn, last=False):
        self.bar.update(1)
        now = time.perf_counter()
        if last or now - self.last > REFRESH_SECONDS:
            self.last = now
            self.bar.set_postfix_str(self.fmt(logs_fn()), refresh=False)

    def close(self, logs=None):
        if logs is not None:
            self.bar.set_postfix_str(self.fmt(logs), refresh=False)
        self.bar.close()


class EpochEnd:
    """A callback from one function: on_epoch_end(epoch, logs) calls fn(epoch, logs)."""

    def __init__(self, fn):
        self.on_epoch_end = fn


def _array(t):
    """The backend array under a Tensor, without a copy (host or device)."""
    return t._data if hasattr(t, "_data") else t.data


def _hooks(callbacks, name):
    """The bound `name` hooks of the callbacks that define it (skipping no-op base-class hooks)."""
    out = []
    for cb in callbacks:
        fn = getattr(cb, name, None)
        if fn is not None and not getattr(fn, "_noop", False):
            out.append(fn)
    return out


def _rows(batch):
    """The number of samples in a batch: the length of its first array (batches may be lists or dicts)."""
    while isinstance(batch, (list, tuple, dict)):
        batch = next(iter(batch.values())) if isinstance(batch, dict) else batch[0]
    return len(batch)


def _length(batches):
    try:
        return len(batches)
    except TypeError:
        return None


def run_epoch(batches, step, metrics=None, progress=None, callbacks=(), should_stop=None):
    """One pass over `batches` (pairs xb, yb): step(xb, yb) -> (loss Tensor, outputs) on each.

    Returns {"loss": the sample-weighted mean loss, **metrics.results()}. metrics: an object with
    reset(), update(yb, outputs) and results() -> dict (or None). The callbacks' batch hooks get the
    batch index and the running logs; the pass ends after a batch where should_stop() turns true
    (TerminateOnNaN sets model.stop_training in its batch hook).
    """
    begin, end = _hooks(callbacks, "on_train_batch_begin"), _hooks(callbacks, "on_train_batch_end")
    if metrics is not None:
        metrics.reset()
    total, seen = 0.0, 0

    def logs():
        out = {"loss": total / max(seen, 1)}
        if metrics is not None:
            out.update(metrics.results())
        return out

    steps = _length(batches)
    for index, (xb, yb) in enumerate(batches):
        for hook in begin:
            hook(index)
        loss, out = step(xb, yb)
        n = _rows(yb if yb is not None else xb)
        total += loss.item() * n
        seen += n
        if metrics is not None:
            metrics.update(yb, out)
        for hook in end:
            hook(index, logs())
        if progress is not None:
            progress.update(logs, last=steps is not None and index == steps - 1)
        if should_stop is not None and should_stop():
            break
    return logs()


def evaluate(batches, step, metrics=None, progress=None):
    """run_epoch without recording a graph: step(xb, yb) -> (loss, outputs) computes only the loss."""
    with no_grad():
        return run_epoch(batches, step, metrics, progress)


def fit(one_epoch, epochs, initial_epoch=0, callbacks=(), should_stop=None):
    """Run one_epoch(epoch) -> logs for epoch in [initial_epoch, epochs), with the callbacks' epoch hooks.

    Stops early when should_stop() turns true after an epoch (EarlyStopping sets model.stop_training).
    Returns the logs of the last epoch run (None if none ran).
    """
    callbacks = list(callbacks)
    for hook in _hooks(callbacks, "on_train_begin"):
        hook()
    logs = None
    for epoch in range(initial_epoch, epochs):
        for hook in _hooks(callbacks, "on_epoch_begin"):
            hook(epoch)
        logs = one_epoch(epoch)
        for hook in _hooks(callbacks, "on_epoch_end"):
            hook(epoch, logs)
        if should_stop is not None and should_stop():
            break
    for hook in _hooks(callbacks, "on_train_end"):
        hook()
    return logs


def array_batches(arrays, batch_size, order=None, to_tensor=None):
    """Batches of rows of same-length NumPy arrays (x, y): tuples of to_tensor(rows of each), in `order`."""
    n = len(arrays[0])
    order = np.arange(n) if order is None else order
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        yield tuple(to_tensor(a, rows) if to_tensor is not None else a[rows] for a in arrays)


__all__ = ["Accuracy", "EpochEnd", "Progress", "array_batches", "evaluate", "fit", "run_epoch"]
