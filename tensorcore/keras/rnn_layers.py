"""Keras sequence layers: Embedding, SimpleRNN, LSTM, GRU and Bidirectional, from tensorcore ops.

Weights follow Keras' names, layouts and gate orders, so Keras weights load with set_weights:
    SimpleRNN  kernel (F, U), recurrent_kernel (U, U), bias (U,)
               h = tanh(x W + h U + b)
    LSTM       kernel (F, 4U), recurrent_kernel (U, 4U), bias (4U,), gates i, f, c, o
               z = x W + h U + b;  i, f, o = sigmoid(z_i, z_f, z_o);  c = f c + i tanh(z_c);  h = o tanh(c)
    GRU        kernel (F, 3U), recurrent_kernel (U, 3U), gates z, r, h; reset_after=True (Keras' default):
               bias (2, 3U) (input bias, recurrent bias);  x' = x W + b0,  h' = h U + b1
               z, r = sigmoid(x'_z + h'_z, x'_r + h'_r);  n = tanh(x'_h + r h'_h);  h = z h + (1 - z) n
               reset_after=False: bias (3U,), n = tanh(x'_h + (r h) U_h)
Masks (Embedding(mask_zero=True), or mask= in the call): at a masked step the states keep their
previous values and the output repeats the previous output (zeros with zero_output_for_mask=True,
which Bidirectional sets when it returns sequences), as Keras does. go_backwards=True runs from the
last step and returns the outputs in that (reversed) order.
"""

import numpy as np

from .. import matmul, sigmoid, stack, tanh
from ..errors import ArgumentError, IndexingError, ShapeError
from ..tensor import _make
from .base import Layer, _array, _reverse_steps
from .initializers import initial_values, keras_fans
from .rnn_fused import post_padded_lengths, run_fused

_CELL_ACTIVATIONS = {"tanh": tanh, "sigmoid": sigmoid, "linear": lambda x: x, None: lambda x: x}


def _cell_activation(name, what):
    if name == "relu":
        from .. import relu

        return relu
    if name not in _CELL_ACTIVATIONS:
        raise ArgumentError(f"{what} must be one of tanh, sigmoid, relu, linear; got {name!r}")
    return _CELL_ACTIVATIONS[name]


class Embedding(Layer):
    """Embedding(input_dim, output_dim): integer indices (N, ...) -> rows of `embeddings` (N, ..., output_dim).

    embeddings_initializer='uniform' (U(-0.05, 0.05), Keras' default). mask_zero=True makes index 0
    padding: the output mask is inputs != 0, and later sequence layers skip those steps.
    """

    base_name = "embedding"
    config_keys = ("input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "mask_zero")

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, input_length=None, **kwargs):
        super().__init__(**kwargs)
        from .regularizers import get as get_regularizer

        self.embeddings_regularizer = get_regularizer(embeddings_regularizer)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        if self.input_dim < 1 or self.output_dim < 1:
            raise ArgumentError(f"Embedding: input_dim and output_dim must be >= 1, got {input_dim}, {output_dim}")
        self.embeddings_initializer, self.mask_zero = embeddings_initializer, bool(mask_zero)

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer,
                                          name="embeddings", regularizer=self.embeddings_regularizer)
        self.built = True

    def call(self, inputs):
        index = _array(inputs)
        if index.dtype.kind == "f":
            index = index.astype(np.int64)
        elif index.dtype.kind not in "iu":
            raise IndexingError(f"{self.name}: indices must be integers, got dtype {index.dtype}")
        if index.size and (int(index.min()) < 0 or int(index.max()) >= self.input_dim):
            raise IndexingError(f"{self.name}: index out of range [0, {self.input_dim}): got values in "
                                f"[{int(index.min())}, {int(index.max())}]")
        return self.embeddings[index]

    def compute_mask(self, inputs, mask=None):
        return (inputs != 0) if self.mask_zero else None


class _RNN(Layer):
    """The recurrent loop shared by SimpleRNN, LSTM and GRU; subclasses give `gates`, `states` and `step`."""

    gates, states = 1, 1
    config_keys = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                   "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                   "return_sequences", "return_state", "go_backwards", "zero_output_for_mask")

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        from .regularizers import get as get_regularizer

        self.kernel_regularizer = get_regularizer(kernel_regularizer)
        self.recurrent_regularizer = get_regularizer(recurrent_regularizer)
        self.bias_regularizer = get_regularizer(bias_regularizer)
        if int(units) < 1:
            raise ArgumentError(f"{type(self).__name__}: units must be >= 1, got {units}")
        if dropout or recurrent_dropout or stateful:
            raise ArgumentError(f"{type(self).__name__}: dropout, recurrent_dropout and stateful=True are not "
                                "supported (put a Dropout layer before or after)")
        self.units, self.activation, self.use_bias = int(units), activation, bool(use_bias)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.zero_output_for_mask = bool(go_backwards), bool(zero_output_for_mask)
        self.unroll = unroll
        self._act = _cell_activation(activation, "activation")

    def _bias_values(self, shape):
        return initial_values(self.bias_initializer, shape, keras_fans(shape))

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ShapeError(f"{self.name}: expects sequences (batch, timesteps, features), got shape "
                             f"{tuple(input_shape)}")
        g, u = self.gates * self.units, self.units
        self.kernel = self.add_weight((input_shape[-1], g), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight((u, g), self.recurrent_initializer, name="recurrent_kernel",
                                                regularizer=self.recurrent_regularizer)
        if self.use_bias:
            shape = self._bias_shape()
            self.bias = self.add_weight(shape, lambda s, d: self._bias_values(s), name="bias",
                                        regularizer=self.bias_regularizer)
        self.built = True

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _input_projection(self, x):
        """x W (+ b) for every step at once: (N, T, gates * U)."""
        xw = matmul(x, self.kernel)
        return xw + self.bias if self.use_bias else xw

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if sequences.ndim != 3:
            raise ShapeError(f"{self.name}: expects (batch, timesteps, features), got {tuple(sequences.shape)}")
        n, steps = sequences.shape[0], sequences.shape[1]
        xp = sequences.device.backend.xp
        if initial_state is None:
            zeros = xp.zeros((n, self.units), dtype=sequences.dtype)
            states = [_make(zeros, sequences.device, False, None) for _ in range(self.states)]
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) != self.states or any(tuple(s.shape) != (n, self.units) for s in states):
                raise ShapeError(f"{self.name}: initial_state must be {self.states} tensor(s) of shape "
                                 f"{(n, self.units)}, got {[tuple(s.shape) for s in states]}")
        if mask is not None:
            m = _array(mask)
            if tuple(m.shape) != (n, steps):
                raise ShapeError(f"{self.name}: mask of shape {tuple(m.shape)} for sequences {tuple(sequences.shape)}")
            m = m.astype(sequences.dtype)[:, :, None]
        mode = self._fused_mode()
        lengths = None if mask is None or mode is None else post_padded_lengths(mask)
        if mode is not None and (mask is None or lengths is not None):
            return run_fused(self, sequences, states, mode, lengths)
        xw = self._input_projection(sequences)
        outputs = []
        for t in (range(steps - 1, -1, -1) if self.go_backwards else range(steps)):
            out, new_states = self.step(xw[:, t], states)
            if mask is not None:
                keep = _make(m[:, t], sequences.device, False, None)
                previous = states[0] if not self.zero_output_for_mask else 0.0
                out = keep * out + (1 - keep) * previous
                new_states = [keep * s + (1 - keep) * old for s, old in zip(new_states, states)]
            outputs.append(out)
            states = new_states
        if steps == 0:
            raise ShapeError(f"{self.name}: sequences with 0 timesteps")
        output = stack(outputs, 1) if self.return_sequences else outputs[-1]
        return [output] + states if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out] + [None] * self.states if self.return_state else out

    def _fused_mode(self):
        """The tensorcore rnn_layer mode computing this layer in one node (None: step by step)."""
        return None

    def _torch_weights(self):
        """(w_ih, w_hh, b_ih, b_hh) in PyTorch's layout, made from the Keras weights (so gradients reach them)."""
        return self.kernel.T, self.recurrent_kernel.T, self.bias if self.use_bias else None, None


class SimpleRNN(_RNN):
    """SimpleRNN(units): h_t = tanh(x_t kernel + h_{t-1} recurrent_kernel + bias)."""

    base_name = "simple_rnn"

    def step(self, xw, states):
        h = self._act(xw + matmul(states[0], self.recurrent_kernel))
        return h, [h]

    def _fused_mode(self):
        return {"tanh": "RNN_TANH", "relu": "RNN_RELU"}.get(self.activation)


class LSTM(_RNN):
    """LSTM(units): Keras' gate order i, f, c, o; unit_forget_bias=True starts the forget bias at 1."""

    base_name = "lstm"
    gates, states = 4, 2
    config_keys = _RNN.config_keys + ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation, self.unit_forget_bias = recurrent_activation, bool(unit_forget_bias)
        self._rec = _cell_activation(recurrent_activation, "recurrent_activation")

    def _bias_values(self, shape):
        values = super()._bias_values(shape)
        if self.unit_forget_bias:
            values[self.units:2 * self.units] = 1.0
        return values

    def _fused_mode(self):
        return "LSTM" if (self.activation, self.recurrent_activation) == ("tanh", "sigmoid") else None

    def step(self, xw, states):
        h, c = states
        u = self.units
        z = xw + matmul(h, self.recurrent_kernel)
        i, f, o = self._rec(z[:, :u]), self._rec(z[:, u:2 * u]), self._rec(z[:, 3 * u:])
        c = f * c + i * self._act(z[:, 2 * u:3 * u])
        h = o * self._act(c)
        return h, [h, c]


class GRU(_RNN):
    """GRU(units): Keras' gate order z, r, h; reset_after=True (the default) uses a (2, 3U) bias."""

    base_name = "gru"
    gates, states = 3, 1
    config_keys = _RNN.config_keys + ("recurrent_activation", "reset_after")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation, self.reset_after = recurrent_activation, bool(reset_after)
        self._rec = _cell_activation(recurrent_activation, "recurrent_activation")

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_projection(self, x):
        xw = matmul(x, self.kernel)
        if not self.use_bias:
            return xw
        return xw + (self.bias[0] if self.reset_after else self.bias)

    def _fused_mode(self):
        ok = self.reset_after and (self.activation, self.recurrent_activation) == ("tanh", "sigmoid")
        return "GRU" if ok else None

    def _torch_weights(self):
        """Keras' gate order z | r | h becomes PyTorch's r | z | n; bias[0] is b_ih, bias[1] b_hh."""
        from .. import cat

        u = self.units

        def reorder(w):  # columns (Keras) -> rows (PyTorch)
            return cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], -1)

        w_ih, w_hh = reorder(self.kernel).T, reorder(self.recurrent_kernel).T
        if not self.use_bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, reorder(self.bias[0]), reorder(self.bias[1])

    def step(self, xw, states):
        (h,) = states
        u = self.units
        if self.reset_after:
            inner = matmul(h, self.recurrent_kernel)
            if self.use_bias:
                inner = inner + self.bias[1]
            z = self._rec(xw[:, :u] + inner[:, :u])
            r = self._rec(xw[:, u:2 * u] + inner[:, u:2 * u])
            candidate = self._act(xw[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            inner = matmul(h, self.recurrent_kernel[:, :2 * u])
            z = self._rec(xw[:, :u] + inner[:, :u])
            r = self._rec(xw[:, u:2 * u] + inner[:, u:])
            candidate = self._act(xw[:, 2 * u:] + matmul(r * h, self.recurrent_kernel[:, 2 * u:]))
        h = z * h + (1 - z) * candidate
        return h, [h]


class Bidirectional(Layer):
    """Bidirectional(layer, merge_mode='concat'): the RNN forwards and a copy with go_backwards, merged.

    merge_mode: 'concat', 'sum', 'ave', 'mul' or None (a list of both outputs). The backward
    outputs are flipped back to time order before merging. Weights: the forward layer's, then the backward's.
    """

    base_name = "bidirectional"
    config_keys = ("merge_mode",)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, _RNN) or (backward_layer is not None and not isinstance(backward_layer, _RNN)):
            raise ArgumentError("Bidirectional: wrap a SimpleRNN, LSTM or GRU layer")
        if merge_mode not in ("concat", "sum", "ave", "mul", None):
            raise ArgumentError(f"Bidirectional: merge_mode must be concat, sum, ave, mul or None; got {merge_mode!r}")
        name = (layer.name or layer.base_name).removeprefix("forward_")
        self.forward_layer = type(layer).from_config({**layer.get_config(), "name": "forward_" + name})
        if backward_layer is None:
            backward_layer = type(layer).from_config({**layer.get_config(), "name": "backward_" + name,
                                                      "go_backwards": not layer.go_backwards})
        self.backward_layer = backward_layer
        for a in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, a) != getattr(self.backward_layer, a):
                raise ArgumentError(f"Bidirectional: the forward and backward layers differ in {a}")
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ArgumentError("Bidirectional: the forward and backward layers need different go_backwards")
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        if weights is not None:
            raise ArgumentError("Bidirectional: weights= is not supported; call set_weights after building")

    def get_config(self):
        from .config import serialize_layer

        return {**super().get_config(), "layer": serialize_layer(self.forward_layer),
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        from .config import deserialize_layer

        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"])
        return cls(**config)

    def _build_for(self, args, kwargs):
        shape = tuple((args[0] if args else kwargs["sequences"]).shape[1:])
        for sub in self.sublayers():
            if not sub.built:
                sub._build_for([_Shape(shape)], {})
        self.input_shape, self.built = shape, True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        from .. import cat

        half = None if initial_state is None else len(initial_state) // 2
        fwd = self.forward_layer._eager_call([sequences], {"initial_state": None if half is None else
                                                           initial_state[:half], "mask": mask})
        bwd = self.backward_layer._eager_call([sequences], {"initial_state": None if half is None else
                                                            initial_state[half:], "mask": mask})
        states = []
        if self.return_state:
            states = fwd[1:] + bwd[1:]
            fwd, bwd = fwd[0], bwd[0]
        if self.return_sequences:
            bwd = _reverse_steps(bwd)
        if self.merge_mode == "concat":
            out = cat([fwd, bwd], -1)
        elif self.merge_mode == "sum":
            out = fwd + bwd
        elif self.merge_mode == "ave":
            out = (fwd + bwd) * 0.5
        elif self.merge_mode == "mul":
            out = fwd * bwd
        else:
            out = [fwd, bwd]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        out = [out, out] if self.merge_mode is None else out
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + [None] * (2 * self.forward_layer.states)
        return out


class _Shape:
    """A stand-in with only .shape (batch axis first), for building a sublayer from a known shape."""

    def __init__(self, shape):
        self.shape = (None,) + tuple(shape)


__all__ = ["GRU", "LSTM", "Bidirectional", "Embedding", "SimpleRNN"]
