"""Keras' Sequential model over tensorcore.nn and tensorcore.optim.

    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=784))
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer=Adam(lr=0.001), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32)

The model chains its layers' nn modules into one `nn.Sequential` (`model.net`). When the last
module is a softmax and the loss a categorical cross-entropy (or sigmoid and binary
cross-entropy), training and evaluation run the network without that last activation and feed
the logits to the loss's fused form (`Loss.call_logits`): stable, and one op cheaper. One-hot
targets are turned into class indices once per fit, which selects the single-node
softmax-cross-entropy op (the same number: -log softmax at the true class). predict() runs the
whole network, softmax included.
"""

import math
import sys
import time
from collections import OrderedDict

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..dtypes import get_default_dtype
from ..errors import ShapeError, TensorcoreError
from ..nn.utils import blas_threads, small_model_threads
from ..tensor import Tensor, _make
from . import callbacks as callbacks_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .layers import InputLayer, Layer


class Sequential:
    """A linear stack of Keras layers. See the module docstring for an example."""

    def __init__(self, layers=None, name=None):
        self.name = name or "sequential"
        self.layers = []
        self._input_shape = None
        self._name_counts = {}
        self.net = None
        self.built = False
        self.optimizer = None
        self.loss = None
        self._metric_ids = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # --- building --------------------------------------------------------------------------------
    def add(self, layer):
        """Append a layer; the model is built as soon as its input shape is known."""
        if isinstance(layer, InputLayer):
            if self.layers:
                raise ValueError("Sequential: an Input must be the first thing added")
            self._input_shape = layer.input_shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras Layer, got {type(layer).__name__}")
        if layer.name is None:
            n = self._name_counts.get(layer.base_name, 0)
            self._name_counts[layer.base_name] = n + 1
            layer.name = layer.base_name if n == 0 else f"{layer.base_name}_{n}"
        elif any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential: a layer named {layer.name!r} is already in the model")
        if not self.layers and self._input_shape is None and layer.input_shape is not None:
            self._input_shape = layer.input_shape
        self.layers.append(layer)
        if self.built:
            layer.build(self.layers[-2].output_shape if len(self.layers) > 1 else self._input_shape)
            self._assemble()
        elif self._input_shape is not None:
            self.build()

    def pop(self):
        if not self.layers:
            raise ValueError("Sequential.pop: there are no layers")
        layer = self.layers.pop()
        if self.built:
            self._assemble()
        return layer

    def build(self, input_shape=None):
        """Build every layer; input_shape includes the batch axis as in Keras, e.g. (None, 784)."""
        if input_shape is not None:
            self._input_shape = tuple(input_shape)[1:]
        if self._input_shape is None:
            raise ValueError("Sequential.build: the input shape is unknown; give input_dim=/input_shape= to the "
                             "first layer, add an Input, or call fit/predict")
        shape = self._input_shape
        for layer in self.layers:
            shape = layer.build(shape) if not layer.built else layer.output_shape
        self._assemble()

    def _assemble(self):
        mods = OrderedDict()
        for layer in self.layers:
            for name, module in layer.modules():
                mods[name] = module
        self.net = nn.Sequential(mods)
        last = next(reversed(mods.values()), None) if mods else None
        out_shape = self.layers[-1].output_shape if self.layers else None
        self._head = None
        if out_shape is not None and len(out_shape) == 1:
            if isinstance(last, nn.Softmax) and last.dim in (-1, 1):
                self._head = "softmax"
            elif isinstance(last, nn.Sigmoid):
                self._head = "sigmoid"
        self._body = nn.Sequential(OrderedDict(list(mods.items())[:-1])) if self._head else self.net
        self.built = True
        if self.optimizer is not None:
            self.optimizer.inner = None  # parameters changed: the optimizer is rebuilt on the next fit

    @property
    def output_shape(self):
        return (None,) + tuple(self.layers[-1].output_shape) if self.built and self.layers else None

    @property
    def input_shape(self):
        return (None,) + tuple(self._input_shape) if self._input_shape is not None else None

    # --- compile -----------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer (name or keras optimizer), the loss (name, Loss or callable) and metric names."""
        unsupported = {k for k, v in kwargs.items() if v is not None and k not in ("run_eagerly", "jit_compile")}
        if unsupported:
            raise TypeError(f"compile: unsupported arguments {sorted(unsupported)}")
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.optimizer.inner = None
        self.loss = losses_module.get(loss)
        self._metric_ids = list(metrics or [])
        self.compiled = True

    def _fused(self):
        return self._head is not None and not self.loss.from_logits and self.loss.head == self._head

    def _ready(self, x):
        if not self.compiled:
            raise TensorcoreError("the model must be compiled before fit/evaluate: call model.compile(...)")
        self._ensure_built(x)
        if self.optimizer.inner is None:
            self.optimizer.build(self.net.parameters())

    def _ensure_built(self, x):
        if not self.built:
            self._input_shape = tuple(x.shape[1:])
            self.build()
        elif tuple(x.shape[1:]) != tuple(self._input_shape):
            raise ShapeError(f"{self.name}: expected inputs of shape (N, {', '.join(map(str, self._input_shape))}), "
                             f"got {x.shape}")

    @property
    def _device(self):
        p = next(self.net.parameters(), None)
        if p is not None:
            return p.device
        from ..device import device

        return device("cpu")

    # --- data ----------------------------------------------------------------------------------------
    @staticmethod
    def _inputs(x):
        if isinstance(x, Tensor):
            x = x.numpy()
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"inputs must be numeric arrays, got dtype {x.dtype}")
        dt = get_default_dtype()
        return x if x.dtype == dt else x.astype(dt)

    def _targets(self, y, n):
        """Targets as an array, one-hot rows turned into labels when the fused path allows it."""
        if isinstance(y, Tensor):
            y = y.numpy()
        y = np.asarray(y)
        if len(y) != n:
            raise ShapeError(f"{n} input samples but {len(y)} targets")
        loss = self.loss
        if isinstance(loss, losses_module.CategoricalCrossentropy):
            if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and self.layers[-1].output_shape[-1] != 1):
                raise ShapeError(f"categorical_crossentropy expects one-hot targets (N, C), got shape {y.shape}; "
                                 "use to_categorical(y) or loss='sparse_categorical_crossentropy'")
            if self._fused() and not loss.label_smoothing and _is_one_hot(y):
                return y.argmax(axis=-1)
            return y.astype(get_default_dtype(), copy=False)
        if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
            if y.dtype.kind == "f":
                if not np.all(y == np.round(y)):
                    raise ShapeError("sparse_categorical_crossentropy expects integer labels, got fractional values")
            return y.reshape(n).astype(np.int64, copy=False)
        return y.astype(get_default_dtype(), copy=False) if y.dtype.kind in "biuf" else y

    def _batch(self, a, rows, device):
        b = a[rows]
        if device.type != "cpu":
            return _make(device.backend.from_host(b), device, False, None)
        return _make(b, device, False, None)

    def _make_metrics(self, y):
        loss_name = getattr(self.loss, "name", None)
        return [metrics_module.get(m, loss_name, y, self.layers[-1].output_shape) for m in self._metric_ids]

    def _forward_loss(self, xb, yb):
        """(loss Tensor, output Tensor, whether the output is logits)."""
        if self._fused():
            out = self._body(xb)
            return self.loss.call_logits(yb, out), out, True
        out = self.net(xb)
        return self.loss(yb, out), out, self.loss.from_logits

    def _update_metrics(self, metrics, yb, out, from_logits):
        if not metrics:
            return
        pred = out.numpy()
        probs = None
        for m in metrics:
            if m.needs_probabilities and from_logits:
                if probs is None:
                    probs = _softmax(pred) if self._head != "sigmoid" else 1 / (1 + np.exp(-pred))
                m.update_state(yb, probs, False)
            else:
                m.update_state(yb, pred, from_logits)

    # --- fit / evaluate / predict --------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, steps_per_epoch=None, class_weight=None,
            sample_weight=None, distributed=False):
        """Train for `epochs` epochs; returns a History whose .history has 'loss', metrics, 'val_*'.

        Shuffling draws from tensorcore's generator (tc.manual_seed makes a run repeatable).
        validation_split takes the last fraction of the samples, before shuffling, as Keras does.
        verbose: 0 silent, 1 a progress bar per epoch (tqdm), 2 one line per epoch.
        distributed=True: data parallel over the ranks of an MPI job (`mpirun -n 4 python script.py`):
        each rank trains on its shard of x (batch_size per rank), gradients and epoch logs are averaged
        over the ranks, and only rank 0 prints and runs ModelCheckpoint (tensorcore/distributed/training.py).
        Models under a million parameters train with NumPy's BLAS on one thread (nn.utils.blas_threads).
        """
        if x is not None and not self.built:
            self._ensure_built(self._inputs(x))
        threads = small_model_threads(self.net) if self.built else None
        with blas_threads(threads):
            return self._fit(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                             shuffle, initial_epoch, steps_per_epoch, class_weight, sample_weight, distributed)

    def _fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
             initial_epoch, steps_per_epoch, class_weight, sample_weight, distributed):
        if class_weight is not None or sample_weight is not None:
            raise TypeError("fit: class_weight and sample_weight are not supported")
        if x is None or y is None:
            raise ValueError("fit: give x and y")
        verbose = 1 if verbose == "auto" else int(verbose)
        x = self._inputs(x)
        self._ready(x)
        y = self._targets(y, len(x))
        if validation_data is not None:
            xv, yv = validation_data[0], validation_data[1]
            xv = self._inputs(xv)
            yv = self._targets(yv, len(xv))
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            split = int(len(x) * (1 - validation_split))
            x, xv, y, yv = x[:split], x[split:], y[:split], y[split:]
        else:
            xv = yv = None
        if distributed:
            from ..distributed.training import KerasFit

            dp = KerasFit(self, x, y, xv, yv, verbose, callbacks)
            x, y, xv, yv, verbose, callbacks = dp.x, dp.y, dp.xv, dp.yv, dp.verbose, dp.callbacks
        n = len(x)
        if n == 0:
            raise ValueError("fit: no training samples")
        steps = math.ceil(n / batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        history = callbacks_module.History()
        cbs = list(callbacks or []) + [history]  # History last, so it sees what other callbacks add to the logs
        for cb in cbs:
            cb.set_model(self)
            cb.set_params({"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        for cb in cbs:
            cb.on_train_begin()
        device = self._device
        params = list(self.net.parameters())
        opt = self.optimizer
        inner = opt.inner
        plain_step = opt.clipnorm is None and opt.clipvalue is None
        base = callbacks_module.Callback
        batch_hooks = [cb for cb in cbs if type(cb).on_train_batch_end is not base.on_train_batch_end
                       or type(cb).on_train_batch_begin is not base.on_train_batch_begin]
        from ..random import _gen

        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            self.net.train()
            order = _gen(None).permutation(n) if shuffle else np.arange(n)
            metrics = self._make_metrics(y)
            total_loss = 0.0
            seen = 0
            bar = _progress(steps, f"Epoch {epoch + 1}/{epochs}") if verbose == 1 else None
            start = time.perf_counter()
            last_refresh = start
            for step in range(steps):
                rows = order[step * batch_size:(step + 1) * batch_size]
                xb = self._batch(x, rows, device)
                yb = self._batch(y, rows, device)
                for cb in batch_hooks:
                    cb.on_train_batch_begin(step)
                loss, out, from_logits = self._forward_loss(xb, yb)
                for p in params:
                    p.grad = None
                loss.backward()
                if plain_step:
                    inner.step()
                else:
                    opt.step(params)
                bs = len(rows)
                total_loss += float(loss.data) * bs
                seen += bs
                self._update_metrics(metrics, yb.data, out, from_logits)
                if batch_hooks:
                    logs = {"loss": total_loss / seen, **{m.name: m.result() for m in metrics}}
                    for cb in batch_hooks:
                        cb.on_train_batch_end(step, logs)
                if bar is not None:
                    bar.update(1)
                    now = time.perf_counter()
                    if now - last_refresh > 0.2 or step == steps - 1:
                        last_refresh = now
                        bar.set_postfix_str(_format_logs({"loss": total_loss / seen,
                                                          **{m.name: m.result() for m in metrics}}), refresh=False)
            logs = {"loss": total_loss / seen}
            for m in metrics:
                logs[m.name] = m.result()
            if xv is not None and len(xv):
                val = self._evaluate_arrays(xv, yv, batch_size)
                logs.update({f"val_{k}": v for k, v in val.items()})
            if distributed:
                logs = dp.average_logs(logs)
            elapsed = time.perf_counter() - start
            if bar is not None:
                bar.set_postfix_str(_format_logs(logs), refresh=False)
                bar.close()
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - {elapsed:.0f}s - {_format_logs(logs, ' - ')}", file=sys.stdout)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end()
        self.history = history
        history.model = self
        return history

    def _evaluate_arrays(self, x, y, batch_size, bar=None):
        self.net.eval()
        metrics = self._make_metrics(y)
        device = self._device
        total, seen = 0.0, 0
        try:
            with no_grad():
                for start in range(0, len(x), batch_size):
                    rows = slice(start, start + batch_size)
                    xb, yb = self._batch(x, rows, device), self._batch(y, rows, device)
                    loss, out, from_logits = self._forward_loss(xb, yb)
                    bs = len(xb)
                    total += float(loss.data) * bs
                    seen += bs
                    self._update_metrics(metrics, yb.data, out, from_logits)
                    if bar is not None:
                        bar.update(1)
        finally:
            self.net.train()
        logs = {"loss": total / max(seen, 1)}
        for m in metrics:
            logs[m.name] = m.result()
        return logs

    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", return_dict=False):
        """Loss (and metrics) over (x, y): a float, or [loss, metric, ...], or a dict with return_dict=True."""
        verbose = 1 if verbose == "auto" else int(verbose)
        x = self._inputs(x)
        self._ready(x)
        y = self._targets(y, len(x))
        bar = _progress(math.ceil(len(x) / batch_size), "Evaluate") if verbose == 1 else None
        logs = self._evaluate_arrays(x, y, batch_size, bar)
        if bar is not None:
            bar.set_postfix_str(_format_logs(logs), refresh=False)
            bar.close()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs (softmax probabilities for a softmax model) as a NumPy array; no graph is recorded."""
        verbose = 0 if verbose == "auto" else int(verbose)
        x = self._inputs(x)
        self._ensure_built(x)
        device = self._device
        self.net.eval()
        outs = []
        steps = math.ceil(len(x) / batch_size)
        bar = _progress(steps, "Predict") if verbose == 1 else None
        try:
            with no_grad():
                for start in range(0, len(x), batch_size):
                    outs.append(self.net(self._batch(x, slice(start, start + batch_size), device)).numpy())
                    if bar is not None:
                        bar.update(1)
        finally:
            self.net.train()
            if bar is not None:
                bar.close()
        if not outs:
            return np.zeros((0,) + tuple(self.layers[-1].output_shape), dtype=get_default_dtype())
        return np.concatenate(outs)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(x), 1))

    def train_on_batch(self, x, y):
        """One optimizer step on one batch; returns the loss (or [loss, metrics...])."""
        x = self._inputs(x)
        self._ready(x)
        y = self._targets(y, len(x))
        device = self._device
        self.net.train()
        rows = slice(None)
        xb, yb = self._batch(x, rows, device), self._batch(y, rows, device)
        loss, out, from_logits = self._forward_loss(xb, yb)
        params = list(self.net.parameters())
        for p in params:
            p.grad = None
        loss.backward()
        self.optimizer.step(params)
        metrics = self._make_metrics(y)
        self._update_metrics(metrics, yb.data, out, from_logits)
        if not metrics:
            return float(loss.data)
        return [float(loss.data)] + [m.result() for m in metrics]

    def __call__(self, x):
        """Run the network on a Tensor (recording the graph when it requires grad)."""
        if not isinstance(x, Tensor):
            x = self._batch(self._inputs(x), slice(None), self._device if self.built else _cpu())
        self._ensure_built(x)
        return self.net(x)

    # --- weights -----------------------------------------------------------------------------------
    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self):
        """Every layer's weights as NumPy arrays, in Keras layout (Dense kernels are (in, out))."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        i = 0
        for layer in self.layers:
            k = len(layer.parameters())
            layer.set_weights(weights[i:i + k])
            i += k
        if i != len(weights):
            raise ShapeError(f"set_weights: got {len(weights)} arrays, the model has {i} weights")

    def save_weights(self, filepath, overwrite=True):
        """Save the weights to an .npz checkpoint (atomic write, no pickle)."""
        import os

        from ..serialization import save

        if not self.built:
            raise TensorcoreError("save_weights: the model has no weights yet (it is not built)")
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
        save({"format": "tensorcore-keras-weights", "layers": [layer.name for layer in self.layers],
              "weights": self.net.state_dict()}, filepath)

    def load_weights(self, filepath):
        """Load weights saved by save_weights. Layers are matched by name, or else by position when
        every shape agrees (as Keras does); otherwise StateDictError names each missing, unexpected
        or mis-shaped weight."""
        from ..serialization import StateDictError, load

        state = load(filepath)
        if not isinstance(state, dict) or state.get("format") != "tensorcore-keras-weights":
            raise StateDictError(f"load_weights({filepath}): not a weights file written by save_weights")
        if not self.built:
            raise TensorcoreError("load_weights: build the model first (give an input shape or call build())")
        weights = state["weights"]
        own = self.net.state_dict()
        if set(weights) != set(own) and len(weights) == len(own) and all(
                tuple(a.shape) == tuple(b.shape) for a, b in zip(weights.values(), own.values())):
            weights = OrderedDict(zip(own, weights.values()))
        try:
            self.net.load_state_dict(weights, strict=True)
        except StateDictError as e:
            raise StateDictError(f"load_weights({filepath}): {e}") from None

    # --- printing -----------------------------------------------------------------------------------
    def summary(self, print_fn=None):
        """Print the layers with their output shapes and parameter counts, as Keras does."""
        print_fn = print_fn or print
        if not self.built:
            raise ValueError("summary: the model is not built yet; give an input shape or call fit/build first")
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 str((None,) + tuple(layer.output_shape)), f"{layer.count_params():,}") for layer in self.layers]
        head = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(r[i]) for r in rows + [head]) + 4 for i in range(3)]
        width = sum(widths)
        lines = [f'Model: "{self.name}"', "_" * width, "".join(h.ljust(w) for h, w in zip(head, widths)), "=" * width]
        for i, r in enumerate(rows):
            lines.append("".join(c.ljust(w) for c, w in zip(r, widths)))
            lines.append("_" * width if i < len(rows) - 1 else "=" * width)
        total = self.count_params()
        trainable = sum(layer.count_params() for layer in self.layers if layer.trainable)
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "_" * width]
        print_fn("\n".join(lines))


def _is_one_hot(y):
    if y.ndim != 2 or y.shape[1] < 2:
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _format_logs(logs, sep=" - "):
    return sep.join(f"{k}: {v:.4f}" for k, v in logs.items())


def _progress(total, desc):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, leave=True, mininterval=0.2)


def _cpu():
    from ..device import device

    return device("cpu")
