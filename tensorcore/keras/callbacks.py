"""Keras callbacks: History, EarlyStopping, ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau,
TerminateOnNaN, CSVLogger, LambdaCallback."""

import math
import os
import tempfile
import warnings

from ..errors import ArgumentError


class Callback:
    """Base class; fit calls the hooks with the epoch (or batch) index and a dict of logs."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    for _hook in (on_train_begin, on_train_end, on_epoch_begin, on_epoch_end, on_train_batch_begin,
                  on_train_batch_end):
        _hook._noop = True  # the loop skips hooks a subclass did not override
    del _hook


class History(Callback):
    """Records every epoch's logs: history.history == {"loss": [...], "accuracy": [...], "val_loss": ...}."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _mode_op(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ArgumentError(f"callback: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
    return mode


class EarlyStopping(Callback):
    """Stop training when `monitor` has not improved by min_delta for `patience` epochs.

    restore_best_weights=True puts back the weights of the best epoch when it stops.

    Example:
        model.fit(x, y, validation_split=0.1, callbacks=[EarlyStopping(patience=2)])
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose, self.baseline = monitor, patience, verbose, baseline
        self.min_delta = abs(min_delta)
        self.mode = _mode_op(mode, monitor)
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.stopped_epoch = 0
        self.best_epoch = 0

    def _better(self, current, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return current + self.min_delta < reference
        return current - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: metric {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(logs or {})})", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose:
                    print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model's weights after each epoch (or only when `monitor` improves, save_best_only=True).

    filepath may use the epoch and the logs: "ckpt-{epoch:02d}-{val_loss:.3f}.npz". A path ending in
    .keras (and save_weights_only=False, Keras' default) gets the whole model (model.save); any other
    path the weights (model.save_weights: an .npz). Both writes are atomic, with no pickle.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch"):
        super().__init__()
        if save_freq != "epoch":
            raise ArgumentError("ModelCheckpoint: only save_freq='epoch' is supported")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = _mode_op(mode, monitor)
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: metric {self.monitor!r} is not in the logs; skipping", stacklevel=2)
                return
            better = current < self.best if self.mode == "min" else current > self.best
            if not better:
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if path.endswith(".keras") and not self.save_weights_only:
            self.model.save(path)
        else:
            self.model.save_weights(path)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch: lr = schedule(epoch, lr)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, self.model.optimizer.learning_rate))
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(Callback):
    """lr = max(lr * factor, min_lr) when `monitor` has not improved by min_delta for `patience` epochs;
    then `cooldown` epochs of rest before counting again."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **unused):
        super().__init__()
        if factor >= 1.0:
            raise ArgumentError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), patience, verbose
        self.mode = _mode_op(mode, monitor)
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, float(min_lr)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = optimizer.learning_rate
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: metric {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(logs)})", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = (current < self.best - self.min_delta if self.mode == "min"
                  else current > self.best + self.min_delta)
        if better:
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and optimizer.learning_rate > self.min_lr:
                optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {optimizer.learning_rate}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """One row per epoch (epoch, then the logs' keys in sorted order) in a CSV file, rewritten atomically."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        self.rows, self.keys = [], None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self.rows = [line.rstrip("\n") for line in f if line.strip()]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not self.rows:
                self.rows.append(self.sep.join(["epoch", *self.keys]))
        self.rows.append(self.sep.join([str(epoch), *(str(logs.get(k, "NA")) for k in self.keys)]))
        folder = os.path.dirname(os.path.abspath(self.filename))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".csvlogger-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("\n".join(self.rows) + "\n")
            os.replace(tmp, self.filename)
        except BaseException:
            os.unlink(tmp)
            raise


class LambdaCallback(Callback):
    """Callbacks from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None):
        super().__init__()
        for name, fn in list(locals().items()):
            if name.startswith("on_") and fn is not None:
                setattr(self, name, fn)
