"""compile / fit / evaluate / predict for every keras model, on the shared loop (tensorcore/loop.py).

When the one output ends in softmax and the loss is a categorical cross-entropy (or sigmoid and
binary cross-entropy), training and evaluation run the model without that last activation and feed
the logits to the loss's fused form (`Loss.call_logits`): stable, and one op cheaper. One-hot
targets become class indices once per fit, which selects the single-node softmax-cross-entropy op
(the same number: -log softmax at the true class). predict() runs the whole model, softmax included.
Several outputs: one loss for all, or a list / dict of losses (by output name); the logs then also
hold "<output>_loss", and metrics given per output are named "<output>_<metric>".
"""

import math
import sys
import time

import numpy as np

from .. import loop
from ..dtypes import get_default_dtype
from ..errors import ArgumentError, ShapeError, TensorcoreError
from ..nn.utils import blas_threads, small_model_threads
from ..tensor import Tensor, _make
from . import callbacks as callbacks_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import weighting
from .compile_specs import _metrics_per_output, _penalized_layers, _per_output
from .symbolic import flatten


class TrainingMixin:
    """Keras' training API; the model class provides _forward, output_names, _head and net."""

    def __init__(self):
        self.optimizer = self._loss_spec = self._losses = None
        self._metric_spec, self._metrics_per_output, self._loss_weights = None, [], None
        self.compiled = self.stop_training = False
        self.history = None

    # --- compile ---
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                **kwargs):
        """Choose the optimizer (name or keras optimizer), the loss(es) (name, Loss or callable) and metric names;
        weighted_metrics see fit/evaluate's sample weights, metrics do not (Keras' rule)."""
        unsupported = {k for k, v in kwargs.items() if v is not None and k not in ("run_eagerly", "jit_compile",
                                                                                    "steps_per_execution")}
        if unsupported:
            raise TypeError(f"compile: unsupported arguments {sorted(unsupported)}")
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.optimizer.inner = None
        self._loss_spec, self._metric_spec, self._loss_weights = loss, metrics, loss_weights
        self._weighted_metric_spec = weighted_metrics
        self._losses = None
        if not isinstance(loss, (list, tuple, dict)):
            losses_module.get(loss)  # unknown names fail here, as in Keras
        self.compiled = True

    @property
    def loss(self):
        """The loss of a one-output model (a keras Loss), or the list of per-output losses."""
        if self._losses is None:
            return None if self._loss_spec is None else losses_module.get(self._loss_spec) \
                if not isinstance(self._loss_spec, (list, tuple, dict)) else self._loss_spec
        return self._losses[0] if len(self._losses) == 1 else self._losses

    def _resolve(self):
        names = self.output_names
        self._losses = [None if s is None else losses_module.get(s)
                        for s in _per_output(self._loss_spec, names, "loss")]
        weights = self._loss_weights
        self._weights_per_output = [1.0] * len(names) if weights is None else \
            [1.0 if w is None else float(w) for w in _per_output(weights, names, "loss_weights")]
        self._metrics_per_output = _metrics_per_output(self._metric_spec, names)
        self._weighted_per_output = _metrics_per_output(getattr(self, "_weighted_metric_spec", None), names)
        self._penalized = _penalized_layers(self)

    def _fused(self):
        return (self._head is not None and len(self._losses) == 1 and self._losses[0] is not None
                and not self._losses[0].from_logits and self._losses[0].head == self._head)

    def _output_shapes(self):
        if self._graph is None:
            return [None] * len(self.output_names)
        return [t.shape[1:] for t in self._graph.output_list]

    def _ready(self, x_arrays):
        if not self.compiled:
            raise TensorcoreError("the model must be compiled before fit/evaluate: call model.compile(...)")
        self._ensure_built(x_arrays)
        self._resolve()
        if self.optimizer.inner is None:
            self.optimizer.build(self._trainable_parameters())

    def _trainable_parameters(self):
        """The parameters the optimizer updates: those of no layer (at any depth) with trainable=False."""
        frozen, stack = set(), list(self.sublayers())
        while stack:
            layer = stack.pop()
            if not layer.trainable:
                frozen.update(id(p) for p in layer.parameters())
            stack.extend(layer.sublayers())
        return [p for p in self.net.parameters() if id(p) not in frozen]

    def _ensure_built(self, x_arrays):
        if not self.built:
            self._build_from([self._tensor(a[:2]) for a in x_arrays])

    @property
    def _device(self):
        p = next(self.net.parameters(), None) if self.net is not None else None
        if p is not None:
            return p.device
        from ..device import device

        return device("cpu")

    # --- data ---
    def _tensor(self, a, device=None):
        device = device or self._device
        return _make(device.backend.from_host(a, copy=False), device, False, None)

    def _input_arrays(self, x):
        """The inputs as a list of NumPy arrays, in the model's input order and dtypes."""
        if x is None:
            raise ValueError("give the inputs x")
        if isinstance(x, dict):
            if self._graph is None:
                raise ArgumentError(f"{self.name}: a dict of inputs needs a functional model")
            x = self._flat_inputs(x)
        items = list(x) if isinstance(x, (list, tuple)) else [x]
        arrays = [np.asarray(a.numpy() if isinstance(a, Tensor) else a) for a in items]
        if self._graph is not None and len(arrays) != len(self._graph.input_list):
            raise ShapeError(f"{self.name}: {len(self._graph.input_list)} inputs, got {len(arrays)} arrays")
        if any(len(a) != len(arrays[0]) for a in arrays):
            raise ShapeError(f"inputs with different numbers of samples: {[len(a) for a in arrays]}")
        return [self._cast_input(a, i) for i, a in enumerate(arrays)]

    def _target_arrays(self, y, n):
        names = self.output_names
        if isinstance(y, dict):
            missing = [k for k, loss in zip(names, self._losses) if loss is not None and k not in y]
            if missing:
                raise ArgumentError(f"fit: targets dict lacks outputs {missing}")
            items = [y.get(k) for k in names]
        elif isinstance(y, (list, tuple)) and len(names) > 1:
            items = list(y)
        else:
            items = [y]
        if len(items) != len(names):
            raise ShapeError(f"{len(names)} outputs {names} but {len(items)} target arrays")
        shapes = self._output_shapes()
        return [None if t is None else self._targets(loss, t, n, shape)
                for loss, t, shape in zip(self._losses, items, shapes)]

    def _targets(self, loss, y, n, out_shape):
        """Targets as an array, one-hot rows turned into labels when the fused path allows it."""
        y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
        if len(y) != n:
            raise ShapeError(f"{n} input samples but {len(y)} targets")
        if isinstance(loss, losses_module.CategoricalCrossentropy):
            classes = out_shape[-1] if out_shape else None
            if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and classes != 1):
                raise ShapeError(f"categorical_crossentropy expects one-hot targets (N, C), got shape {y.shape}; "
                                 "use to_categorical(y) or loss='sparse_categorical_crossentropy'")
            if self._fused() and not loss.label_smoothing and _is_one_hot(y):
                return y.argmax(axis=-1)
            return y.astype(get_default_dtype(), copy=False)
        if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
            if y.dtype.kind == "f" and not np.all(y == np.round(y)):
                raise ShapeError("sparse_categorical_crossentropy expects integer labels, got fractional values")
            return y.reshape(y.shape[:-1] if y.ndim > 1 and y.shape[-1] == 1 else y.shape).astype(np.int64, copy=False)
        return y.astype(get_default_dtype(), copy=False) if y.dtype.kind in "biuf" else y

    def _batches(self, xs, ys, batch_size, order=None, sws=None):
        n = len(xs[0])
        order = np.arange(n) if order is None else order
        device = self._device
        weighted = sws is not None and any(w is not None for w in sws)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            targets = None
            if ys is not None:
                targets = weighting.Targets(None if a is None else self._tensor(a[rows], device) for a in ys)
                if weighted:
                    targets.sample_weight = [None if w is None else self._tensor(w[rows], device) for w in sws]
            yield [self._tensor(a[rows], device) for a in xs], targets

    # --- steps ---
    def _losses_of(self, yb, outs, fused):
        parts = []
        total = None
        sws = getattr(yb, "sample_weight", None) or [None] * len(yb)
        for loss, weight, target, out, sw in zip(self._losses, self._weights_per_output, yb, outs, sws):
            if loss is None or target is None:
                parts.append(None)
                continue
            if sw is not None:
                value = weighting.weighted_loss(loss, target, out, fused, sw)
            else:
                value = loss.call_logits(target, out) if fused else loss(target, out)
            parts.append(value)
            weighted = value * weight if weight != 1.0 else value
            total = weighted if total is None else total + weighted
        if total is None:
            raise ArgumentError("fit: no output has both a loss and targets")
        if self._penalized:  # Keras 3: the regularizers' penalties join the loss in training and evaluation
            for penalty in self.losses:
                total = total + penalty
        return total, parts

    def _from_logits(self, fused):
        """Whether the (first) output is logits: fused, or a loss built with from_logits=True."""
        return fused or bool(self._losses[0] is not None and self._losses[0].from_logits)

    def _train_step(self, xb, yb):
        fused = self._fused()
        outs = flatten(self._forward(xb, training=True, logits=fused))
        total, parts = self._losses_of(yb, outs, fused)
        params = self._params
        for p in params:
            p.grad = None
        total.backward()
        if self.optimizer.clipnorm is None and self.optimizer.clipvalue is None:
            self.optimizer.inner.step()
        else:
            self.optimizer.step(params)
        return total, (outs, parts, self._from_logits(fused))

    def _eval_step(self, xb, yb):
        fused = self._fused()
        outs = flatten(self._forward(xb, training=False, logits=fused))
        total, parts = self._losses_of(yb, outs, fused)
        return total, (outs, parts, self._from_logits(fused))

    # --- fit / evaluate / predict ---
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, distributed=False):
        """Train for `epochs` epochs on the shared loop; returns a History (.history: 'loss', metrics, 'val_*').

        Keras' arguments in Keras' order. Shuffling draws from tensorcore's generator (tc.manual_seed makes a
        run repeatable). validation_split takes the last fraction of the samples (and of sample_weight),
        before shuffling, as Keras does; validation_data is (x, y) or (x, y, sample_weight).
        sample_weight (N,) / class_weight {class: weight}: see weighting.py (Keras 3's reduction).
        verbose: 0 silent, 1 a progress bar per epoch (tqdm), 2 one line per epoch.
        distributed=True (one input and output): data parallel over the ranks of an MPI job; see
        tensorcore/distributed/training.py. Models under a million parameters train on one BLAS thread.
        """
        if x is None or y is None:
            raise ValueError("fit: give x and y")
        xs = self._input_arrays(x)
        self._ready(xs)
        with blas_threads(small_model_threads(self.net)):
            return self._fit(xs, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                             shuffle, initial_epoch, steps_per_epoch, distributed, sample_weight, class_weight)

    def _fit(self, xs, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
             initial_epoch, steps_per_epoch, distributed, sample_weight=None, class_weight=None):
        verbose = 1 if verbose == "auto" else int(verbose)
        ys = self._target_arrays(y, len(xs[0]))
        sws = weighting.sample_weights(self, ys, sample_weight, class_weight, len(xs[0]))
        xv = yv = swv = None
        if validation_data is not None:
            x_val, y_val, sw_val = weighting.unpack_validation(validation_data)
            xv = self._input_arrays(x_val)
            yv = self._target_arrays(y_val, len(xv[0]))
            swv = weighting.sample_weights(self, yv, sw_val, None, len(xv[0]), "fit(validation_data)")
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            split = int(len(xs[0]) * (1 - validation_split))
            xv, yv = [a[split:] for a in xs], [None if a is None else a[split:] for a in ys]
            xs, ys = [a[:split] for a in xs], [None if a is None else a[:split] for a in ys]
            swv = [None if w is None else w[split:] for w in sws]
            sws = [None if w is None else w[:split] for w in sws]
        dp = None
        if distributed and any(w is not None for w in sws + (swv or [])):
            raise ArgumentError("fit(distributed=True): sample_weight / class_weight are not supported there")
        if distributed:
            if len(xs) != 1 or len(ys) != 1:
                raise ArgumentError("fit(distributed=True) supports models with one input and one output")
            from ..distributed.training import KerasFit

            dp = KerasFit(self, xs[0], ys[0], None if xv is None else xv[0], None if yv is None else yv[0],
                          verbose, callbacks)
            xs, ys, verbose, callbacks = [dp.x], [dp.y], dp.verbose, dp.callbacks
            xv, yv = (None, None) if dp.xv is None else ([dp.xv], [dp.yv])
        n = len(xs[0])
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
        self._params = self._trainable_parameters()
        metrics = metrics_module.ModelMetrics(self, ys)
        from ..random import _gen

        def one_epoch(epoch):
            self.net.train()
            order = (_gen(None).permutation(n) if shuffle else np.arange(n))[:steps * batch_size]
            bar = loop.Progress(steps, f"Epoch {epoch + 1}/{epochs}", _format_logs) if verbose == 1 else None
            start = time.perf_counter()
            logs = loop.run_epoch(self._batches(xs, ys, batch_size, order, sws), self._train_step, metrics, bar,
                                  cbs, should_stop=lambda: self.stop_training)
            if xv is not None and len(xv[0]):
                logs.update({f"val_{k}": v for k, v in self._evaluate_arrays(xv, yv, batch_size, None, swv).items()})
            if dp is not None:
                logs = dp.average_logs(logs)
            if bar is not None:
                bar.close(logs)
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - start:.0f}s - {_format_logs(logs)}",
                      file=sys.stdout)
            return logs

        loop.fit(one_epoch, epochs, initial_epoch, cbs, should_stop=lambda: self.stop_training)
        self.history = history
        history.model = self
        return history

    def _evaluate_arrays(self, xs, ys, batch_size, bar=None, sws=None):
        self.net.eval()
        try:
            metrics = metrics_module.ModelMetrics(self, ys)
            return loop.evaluate(self._batches(xs, ys, batch_size, None, sws), self._eval_step, metrics, bar)
        finally:
            self.net.train()

    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", sample_weight=None, steps=None, callbacks=None,
                 return_dict=False):
        """Loss (and metrics) over (x, y): a float, or [loss, metric, ...], or a dict with return_dict=True.

        sample_weight (N,): the loss is sum(w * loss) / N per batch, as Keras'; weighted_metrics are weighted."""
        if steps is not None or callbacks:
            raise ArgumentError("evaluate: steps= and callbacks= are not supported (arrays are evaluated whole)")
        verbose = 1 if verbose == "auto" else int(verbose)
        xs = self._input_arrays(x)
        self._ready(xs)
        ys = self._target_arrays(y, len(xs[0]))
        sws = weighting.sample_weights(self, ys, sample_weight, None, len(xs[0]), "evaluate")
        bar = loop.Progress(math.ceil(len(xs[0]) / batch_size), "Evaluate", _format_logs) if verbose == 1 else None
        logs = self._evaluate_arrays(xs, ys, batch_size, bar, sws)
        if bar is not None:
            bar.close(logs)
        return _logs_result(logs, return_dict)

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs (softmax probabilities for a softmax model) as NumPy arrays; no graph is recorded."""
        from ..autograd import no_grad
        from .model import _output_structure

        verbose = 0 if verbose == "auto" else int(verbose)
        xs = self._input_arrays(x)
        self._ensure_built(xs)
        self.net.eval()
        outs = []
        bar = loop.Progress(math.ceil(len(xs[0]) / batch_size), "Predict", _format_logs) if verbose == 1 else None
        try:
            with no_grad():
                for xb, _ in self._batches(xs, None, batch_size):
                    outs.append([o.numpy() for o in flatten(self._forward(xb, training=False))])
                    if bar is not None:
                        bar.bar.update(1)
        finally:
            self.net.train()
            if bar is not None:
                bar.close()
        if not outs:
            shapes = self._output_shapes()
            return _output_structure(self, [np.zeros((0,) + tuple(s or ()), dtype=get_default_dtype())
                                            for s in shapes])
        return _output_structure(self, [np.concatenate(parts) for parts in zip(*outs)])

    def predict_on_batch(self, x):
        first = x if not isinstance(x, (list, tuple, dict)) else flatten(x)[0]
        return self.predict(x, batch_size=max(len(first), 1))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns the loss (or [loss, metrics...], or a dict)."""
        xs = self._input_arrays(x)
        self._ready(xs)
        ys = self._target_arrays(y, len(xs[0]))
        sws = weighting.sample_weights(self, ys, sample_weight, class_weight, len(xs[0]), "train_on_batch")
        self._params = self._trainable_parameters()
        self.net.train()
        metrics = metrics_module.ModelMetrics(self, ys)
        logs = loop.run_epoch(self._batches(xs, ys, len(xs[0]), None, sws), self._train_step, metrics)
        return _logs_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) of one batch, without training: a float, a list, or a dict."""
        xs = self._input_arrays(x)
        self._ready(xs)
        ys = self._target_arrays(y, len(xs[0]))
        sws = weighting.sample_weights(self, ys, sample_weight, None, len(xs[0]), "test_on_batch")
        return _logs_result(self._evaluate_arrays(xs, ys, max(len(xs[0]), 1), None, sws), return_dict)


def _logs_result(logs, return_dict):
    """Keras' return value of evaluate / *_on_batch: the dict, or one float, or the list of values."""
    if return_dict:
        return dict(logs)
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _is_one_hot(y):
    if y.ndim != 2 or y.shape[1] < 2:
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


def _format_logs(logs, sep=" - "):
    return sep.join(f"{k}: {v:.4f}" for k, v in logs.items())
