"""Recurrent layers with PyTorch's names, parameter layouts and initialization: RNN, LSTM, GRU and cells.

Parameters of layer k, direction suffix '' or '_reverse': weight_ih_l{k} (G*H, in), weight_hh_l{k}
(G*H, H_out), bias_ih_l{k}, bias_hh_l{k} (G*H,), and for LSTM with proj_size weight_hr_l{k} (P, H);
G = 1 (RNN), 4 (LSTM: i|f|g|o), 3 (GRU: r|z|n). Every one starts U(-1/sqrt(H), 1/sqrt(H)).
So a PyTorch state_dict loads with load_state_dict.
"""

import math
import warnings

from .. import _validate as check
from .. import ops
from ..errors import ArgumentError, ShapeError
from ..ops.rnn import GATES, rnn_layer
from ..tensor import _make
from . import functional as F
from . import init
from .layers import _empty_parameter
from .module import Module
from .rnn_utils import PackedSequence


def _zeros(like, shape):
    """Zeros of `shape` with like's dtype and device (a constant)."""
    return _make(like.device.backend.xp.zeros(shape, dtype=like.dtype), like.device, False, None)


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU (PyTorch's RNNBase)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        op = type(self).__name__
        if not isinstance(mode, str) or mode not in GATES:
            raise ArgumentError(f"{op}: unrecognized RNN mode {mode!r} (one of {', '.join(GATES)})")
        input_size = check.size(input_size, "input_size", op)
        hidden_size = check.integer(hidden_size, "hidden_size", op, minimum=1)
        num_layers = check.integer(num_layers, "num_layers", op, minimum=1)
        proj_size = check.integer(proj_size, "proj_size", op)
        check.number(dropout, "dropout", op, low=0, high=1)
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=2)
        if proj_size < 0 or (proj_size and mode != "LSTM"):
            raise ArgumentError(f"{type(self).__name__}: proj_size must be 0, or >= 0 for LSTM only")
        if proj_size >= hidden_size and proj_size:
            raise ArgumentError(f"LSTM: proj_size ({proj_size}) must be smaller than hidden_size ({hidden_size})")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), int(proj_size)
        gates = GATES[mode] * self.hidden_size
        out = self.proj_size or self.hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            layer_in = self.input_size if layer == 0 else out * dirs
            for suffix in ("", "_reverse")[:dirs]:
                shapes = [("weight_ih", (gates, layer_in)), ("weight_hh", (gates, out))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
                for name, shape in shapes:
                    full = f"{name}_l{layer}{suffix}"
                    setattr(self, full, _empty_parameter(shape, device, dtype))
                    self._flat_weights_names.append(full)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def flatten_parameters(self):
        """PyTorch packs the weights into one cuDNN buffer here; each weight is its own array: nothing to do."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """One list of weights per layer and direction, as PyTorch's (weight_ih, weight_hh, bias_ih, ...)."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def _layer_weights(self, layer, suffix):
        get = lambda name: getattr(self, f"{name}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        batch_sizes = sorted_idx = unsorted_idx = None
        if packed:
            x, batch_sizes, sorted_idx, unsorted_idx = input
            sizes = tuple(int(n) for n in batch_sizes.numpy())
            x, gather = _packed_to_padded(x, sizes)
            batched = True
        else:
            if input.ndim not in (2, 3):
                raise ShapeError(f"{type(self).__name__}: input must be (L, N, H_in), (N, L, H_in) with "
                                 f"batch_first, or unbatched (L, H_in); got {input.shape}")
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.swapaxes(0, 1)
            sizes = None
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: input of size {x.shape[-1]}, expected {self.input_size}")
        h0, c0 = self._initial_state(x, hx, batched, sorted_idx)
        dirs = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:dirs]):
                k = layer * dirs + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, suffix)
                y, h, c = rnn_layer(x, h0[k], c0[k] if is_lstm else None, w_ih, w_hh, b_ih, b_hh, w_hr,
                                    mode=self.mode, batch_sizes=sizes, reverse=d == 1)
                outs.append(y)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else ops.shape.concatenate(outs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = ops.shape.stack(h_n, axis=0)
        c_n = ops.shape.stack(c_n, axis=0) if is_lstm else None
        if packed:
            out = PackedSequence(x[gather], batch_sizes, sorted_idx, unsorted_idx)
            if unsorted_idx is not None:
                h_n = h_n[:, unsorted_idx._data]
                c_n = c_n[:, unsorted_idx._data] if is_lstm else None
        else:
            out = x.swapaxes(0, 1) if batched and self.batch_first else x
            if not batched:
                out, h_n = out.squeeze(1), h_n.squeeze(1)
                c_n = c_n.squeeze(1) if is_lstm else None
        return (out, (h_n, c_n)) if is_lstm else (out, h_n)

    def _initial_state(self, x, hx, batched, sorted_idx):
        """h0 (and c0) as lists of (B, H) tensors, one per layer and direction, in the packed order."""
        dirs = 2 if self.bidirectional else 1
        n, b = self.num_layers * dirs, x.shape[1]
        out_size = self.proj_size or self.hidden_size
        zeros = lambda size: _zeros(x, (n, b, size))  # noqa: E731
        if hx is None:
            states = [zeros(out_size)] + ([zeros(self.hidden_size)] if self.mode == "LSTM" else [])
        else:
            states = list(hx) if self.mode == "LSTM" else [hx]
            if self.mode == "LSTM" and len(states) != 2:
                raise ArgumentError("LSTM: hx must be a tuple (h_0, c_0)")
            sizes = [out_size, self.hidden_size]
            for i, s in enumerate(states):
                if not batched:
                    s = s.unsqueeze(1)
                if s.shape != (n, b, sizes[i]):
                    raise ShapeError(f"{type(self).__name__}: initial state {i} of shape {s.shape}, expected "
                                     f"{(n, b, sizes[i]) if batched else (n, sizes[i])}")
                if sorted_idx is not None:
                    s = s[:, sorted_idx._data]
                states[i] = s
        split = [[s[k] for k in range(n)] for s in states]
        return split[0], (split[1] if self.mode == "LSTM" else None)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _packed_to_padded(data, sizes):
    """Packed rows (sum(sizes), *) -> time-major padded (T, B, *) and the index that packs it back."""
    import numpy as np

    xp = data.device.backend.xp
    T, B = len(sizes), sizes[0]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    src = np.full((T, B), offsets[-1], dtype=np.int64)  # the extra zero row at the end
    for t, n in enumerate(sizes):
        src[t, :n] = np.arange(offsets[t], offsets[t] + n)
    zero = _zeros(data, (1,) + data.shape[1:])
    padded = ops.shape.concatenate([data, zero], axis=0)[xp.asarray(src)]
    t_idx = np.repeat(np.arange(T), sizes)
    b_idx = np.concatenate([np.arange(n) for n in sizes])
    return padded, (xp.asarray(t_idx), xp.asarray(b_idx))


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (nonlinearity='relu' for ReLU).

    Example:
        rnn = nn.RNN(10, 20, num_layers=2)
        output, h_n = rnn(tc.randn(5, 3, 10))       # (5, 3, 20), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory; returns (output, (h_n, c_n)), PyTorch's gate order i, f, g, o.

    Example:
        lstm = nn.LSTM(10, 20, batch_first=True, bidirectional=True)
        output, (h_n, c_n) = lstm(tc.randn(3, 5, 10))   # (3, 5, 40), (2, 3, 20), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's gate order r, z, n; b_hn inside the reset gate's product)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# --- cells: one step, composed of ordinary ops (so they differentiate twice) -----------------------------


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        input_size = check.size(input_size, "input_size", type(self).__name__)
        hidden_size = check.integer(hidden_size, "hidden_size", type(self).__name__, minimum=1)
        gates = check.integer(num_chunks, "num_chunks", type(self).__name__, minimum=1)  # (PyTorch's name)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        self.weight_ih = _empty_parameter((gates * hidden_size, input_size), device, dtype)
        self.weight_hh = _empty_parameter((gates * hidden_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = _empty_parameter((gates * hidden_size,), device, dtype)
            self.bias_hh = _empty_parameter((gates * hidden_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _prepare(self, input, hx, count):
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: input must be (N, {self.input_size}) or ({self.input_size},), "
                             f"got {input.shape}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            states = [_zeros(x, (x.shape[0], self.hidden_size)) for _ in range(count)]
        else:
            states = list(hx) if count == 2 else [hx]
            states = [s if batched else s.unsqueeze(0) for s in states]
            for s in states:
                if s.shape != (x.shape[0], self.hidden_size):
                    raise ShapeError(f"{type(self).__name__}: hidden state of shape {s.shape}, expected "
                                     f"{(x.shape[0], self.hidden_size)}")
        return x, states, batched

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return s + (f", nonlinearity={nonlinearity}" if nonlinearity != "tanh" else "")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, 1)
        pre = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        out = F.tanh(pre) if self.nonlinearity == "tanh" else F.relu(pre)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """(h', c'): c' = f c + i g, h' = o tanh(c'), gates i|f|g|o of x W_ih^T + b_ih + h W_hh^T + b_hh."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h, c), batched = self._prepare(input, hx, 2)
        H = self.hidden_size
        g = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i, f = F.sigmoid(g[:, :H]), F.sigmoid(g[:, H:2 * H])
        gg, o = F.tanh(g[:, 2 * H:3 * H]), F.sigmoid(g[:, 3 * H:])
        c2 = f * c + i * gg
        h2 = o * F.tanh(c2)
        return (h2, c2) if batched else (h2.squeeze(0), c2.squeeze(0))


class GRUCell(RNNCellBase):
    """h' = (1 - z) n + z h with r, z = sigma(...), n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, 1)
        H = self.hidden_size
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        gh = F.linear(h, self.weight_hh, self.bias_hh)
        r = F.sigmoid(gi[:, :H] + gh[:, :H])
        z = F.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = F.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        out = (1 - z) * n + z * h
        return out if batched else out.squeeze(0)
