"""torch's top-level spellings of neural-network functions, with ATen's signatures (not F's): the losses take
`reduction` as an int (0 'none', 1 'mean', 2 'sum'), the norms take every argument positionally, and
embedding_bag / native_layer_norm / native_batch_norm return their auxiliary outputs too. The math is F's
(tensorcore/nn/functional.py and the ops it calls); the RNN cells are nn.RNNCell / LSTMCell / GRUCell's
equations on given weights. Imported by tensorcore/__init__.py (EXPORTS)."""

import warnings

import numpy as np

from .errors import ArgumentError, ShapeError
from .tensor import Tensor

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
# NOTE: ATen's schemas say reduction=1 (mean), but torch's Python bindings of these top-level losses give 0 (none)
# when reduction is left out: torch.kl_div(a, b) has a's shape. The default here is what torch programs get.
_NONE = 0


def _F():
    from .nn import functional

    return functional


def _reduction(name, reduction):
    if isinstance(reduction, bool) or reduction not in _REDUCTIONS:
        raise ArgumentError(f"{name}: reduction must be an int: 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return _REDUCTIONS[reduction]


# --- losses -------------------------------------------------------------------------------------------------------
def kl_div(input, target, reduction=_NONE, *, log_target=False):
    """target * (log target - input), elementwise (0), averaged over every element (1) or summed (2)."""
    with warnings.catch_warnings():  # (F.kl_div warns that 'mean' is not 'batchmean'; torch.kl_div does not)
        warnings.simplefilter("ignore")
        return _F().kl_div(input, target, reduction=_reduction("kl_div", reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=_NONE):
    return _F().binary_cross_entropy_with_logits(input, target, weight, pos_weight,
                                                 _reduction("binary_cross_entropy_with_logits", reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=_NONE):
    return _F().cosine_embedding_loss(input1, input2, target, margin,
                                      reduction=_reduction("cosine_embedding_loss", reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=_NONE):
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=_NONE):
    return _F().margin_ranking_loss(input1, input2, target, margin,
                                    reduction=_reduction("margin_ranking_loss", reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=_NONE):
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_reduction("triplet_margin_loss", reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """torch.poisson_nll_loss: every argument required, positional."""
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps,
                                 reduction=_reduction("poisson_nll_loss", reduction))


def pdist(input, p=2):
    """The p-norm distances between the rows of a 2-d input, the upper triangle row by row: N (N - 1) / 2 values."""
    return _F().pdist(input, p)


# --- norms ---------------------------------------------------------------------------------------------------------
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    """torch.instance_norm's argument order (weight and bias first, all positional), unlike F.instance_norm's."""
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(layer_norm(input), mean, rstd): mean and 1 / sqrt(var + eps) over the normalized dims, kept as size 1."""
    out = _F().layer_norm(input, normalized_shape, weight, bias, eps)
    dims = tuple(range(input.ndim - len(tuple(normalized_shape)), input.ndim))
    x = input.detach()
    mean = x.mean(dim=dims, keepdim=True)
    rstd = (x.var(dim=dims, keepdim=True, correction=0) + eps).rsqrt()
    return out, mean, rstd


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(batch_norm(input), save_mean, save_invstd): in training the batch's mean and 1 / sqrt(var + eps) per
    channel; in evaluation two empty tensors (as torch's)."""
    out = _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = input.detach().new_empty((0,))
        return out, empty, empty.clone()
    dims = (0,) + tuple(range(2, input.ndim))
    x = input.detach()
    return out, x.mean(dim=dims), (x.var(dim=dims, correction=0) + eps).rsqrt()


# --- embedding_bag -------------------------------------------------------------------------------------------------
def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """torch.embedding_bag(weight, indices, offsets, ...): the table first and mode an int (0 sum, 1 mean, 2 max);
    returns (output, offset2bag, bag_size, max_indices) with torch's cpu values for the last three."""
    if isinstance(mode, bool) or mode not in (0, 1, 2):
        raise ArgumentError(f"embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    modes = ("sum", "mean", "max")
    out = _F().embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, modes[mode], sparse,
                             per_sample_weights, include_last_offset, padding_idx)
    idx = indices.detach().cpu().numpy().reshape(-1).astype(np.int64)
    starts = offsets.detach().cpu().numpy().astype(np.int64) if offsets is not None else np.zeros(1, np.int64)
    bags = len(starts) - 1 if include_last_offset else len(starts)
    bag_of = np.searchsorted(starts[:bags], np.arange(len(idx)), side="right") - 1
    kept = idx != padding_idx if padding_idx is not None else np.ones(len(idx), bool)
    bag_size = np.bincount(bag_of[kept], minlength=bags)[:bags].astype(np.int64)

    def make(array):
        from .tensor import tensor

        return tensor(np.asarray(array, dtype=np.int64), device=weight.device)

    if mode == 0:  # (torch's cpu sum: no offset2bag on its float32 fast path; the sizes are zeros)
        zeros = np.zeros(bags if weight.requires_grad else len(starts))
        fast = weight.dtype == np.float32 and padding_idx is None
        return out, make(np.zeros(0) if fast else bag_of), make(zeros), make(zeros)
    if mode == 1:
        return out, make(bag_of), make(bag_size), make(bag_size)
    w = weight.detach().cpu().numpy()
    best = np.full((bags, w.shape[1]), -1, np.int64)
    for b in range(bags):
        rows = idx[(bag_of == b) & kept]
        if len(rows):
            best[b] = rows[np.argmax(w[rows], axis=0)]
    return out, make(bag_of), make(bag_size), make(best)


# --- RNN cells -----------------------------------------------------------------------------------------------------
def _cell_inputs(name, input, states, w_ih, w_hh):
    for what, t in (("input", input), ("w_ih", w_ih), ("w_hh", w_hh)) + tuple(("hx", s) for s in states):
        if not isinstance(t, Tensor):
            raise ArgumentError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    if input.ndim != 2 or w_ih.ndim != 2 or w_hh.ndim != 2 or input.shape[1] != w_ih.shape[1]:
        raise ShapeError(f"{name}: expected input (N, I) and w_ih (G*H, I), got input {tuple(input.shape)} and "
                         f"w_ih {tuple(w_ih.shape)}")
    for s in states:
        if tuple(s.shape) != (input.shape[0], w_hh.shape[1]):
            raise ShapeError(f"{name}: hidden state of shape {tuple(s.shape)}, expected "
                             f"{(input.shape[0], w_hh.shape[1])}")


def _gates(input, h, w_ih, w_hh, b_ih, b_hh):
    from .ops.matmul import linear

    return linear(input, w_ih, b_ih), linear(h, w_hh, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """tanh(input w_ih^T + b_ih + hx w_hh^T + b_hh) (nn.RNNCell's step)."""
    _cell_inputs("rnn_tanh_cell", input, (hx,), w_ih, w_hh)
    gi, gh = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (gi + gh).tanh()


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """relu(input w_ih^T + b_ih + hx w_hh^T + b_hh) (nn.RNNCell(nonlinearity='relu')'s step)."""
    _cell_inputs("rnn_relu_cell", input, (hx,), w_ih, w_hh)
    gi, gh = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (gi + gh).relu()


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c'): gates i|f|g|o of input w_ih^T + b_ih + h w_hh^T + b_hh; c' = f c + i g, h' = o tanh(c')."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise ArgumentError(f"lstm_cell: hx must be a pair (h, c) of tensors, got {type(hx).__name__}")
    h, c = hx
    _cell_inputs("lstm_cell", input, (h, c), w_ih, w_hh)
    gi, gh = _gates(input, h, w_ih, w_hh, b_ih, b_hh)
    i, f, g, o = (gi + gh).chunk(4, 1)
    c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c2.tanh(), c2


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """(1 - z) n + z h with r, z = sigmoid(W_i x + b_i + W_h h + b_h), n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""
    _cell_inputs("gru_cell", input, (hx,), w_ih, w_hh)
    gi, gh = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    ir, iz, inn = gi.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = (inn + r * hn).tanh()
    return (1 - z) * n + z * hx


# --- whole-sequence RNNs (ATen's lstm / gru / rnn_tanh / rnn_relu: what nn.LSTM & co run) -------------------------
def _sequence(mode, input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    from .ops.joins import cat, stack
    from .ops.rnn import rnn_layer

    name = mode.lower()
    if not isinstance(input, Tensor) or input.ndim != 3:
        raise ShapeError(f"{name}: input must be 3-d (L, N, H_in), or (N, L, H_in) with batch_first, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    dirs = 2 if bidirectional else 1
    params = list(params)
    per = len(params) // max(num_layers * dirs, 1)
    plain = 4 if has_biases else 2
    if per not in (plain, plain + 1) or per * num_layers * dirs != len(params) or (per != plain and mode != "LSTM"):
        raise ArgumentError(f"{name}: expected {num_layers * dirs * plain} weights (w_ih, w_hh" +
                            (", b_ih, b_hh" if has_biases else "") + f" per layer and direction), got {len(params)}")
    states = list(hx) if mode == "LSTM" else [hx]
    x = input.transpose(0, 1) if batch_first else input
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w = params[k * per:(k + 1) * per]
            w_ih, w_hh = w[0], w[1]
            b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
            w_hr = w[-1] if per == plain + 1 else None
            y, h, c = rnn_layer(x, states[0][k], states[1][k] if mode == "LSTM" else None, w_ih, w_hh, b_ih, b_hh,
                                w_hr, mode=mode, reverse=d == 1)
            outs.append(y)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if dirs == 1 else cat(outs, 2)
        if dropout and train and layer < num_layers - 1:
            x = _F().dropout(x, dropout, True)
    out = x.transpose(0, 1) if batch_first else x
    return (out, stack(h_n, 0), stack(c_n, 0)) if mode == "LSTM" else (out, stack(h_n, 0))


def lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """(output, h_n, c_n) of a multi-layer LSTM on given weights (params: w_ih, w_hh[, b_ih, b_hh][, w_hr] per layer
    and direction, as nn.LSTM's parameters are ordered; hx = (h_0, c_0))."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise ArgumentError("lstm: hx must be a pair (h_0, c_0)")
    return _sequence("LSTM", input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)


def gru(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """(output, h_n) of a multi-layer GRU on given weights (nn.GRU's parameter order)."""
    return _sequence("GRU", input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)


def rnn_tanh(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """(output, h_n) of a multi-layer tanh RNN on given weights."""
    return _sequence("RNN_TANH", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


def rnn_relu(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """(output, h_n) of a multi-layer relu RNN on given weights."""
    return _sequence("RNN_RELU", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


EXPORTS = ("kl_div", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss",
           "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss", "pdist", "instance_norm",
           "native_layer_norm", "native_batch_norm", "embedding_bag", "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell",
           "gru_cell", "lstm", "gru", "rnn_tanh", "rnn_relu")


# --- session 8 (H1): torch.ctc_loss (reduction an int, 'none' when left out), conv_transpose3d, conv_tbc,
# native_channel_shuffle (tensorcore/nn/ctc.py, conv_transpose3d.py, functional_extra.py)
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=_NONE, zero_infinity=False):
    from .nn.ctc import torch_ctc_loss

    return torch_ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _F().conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_tbc(input, weight, bias, pad=0):
    return _F().conv_tbc(input, weight, bias, pad)


def native_channel_shuffle(input, groups):
    return _F().native_channel_shuffle(input, groups)


EXPORTS = EXPORTS + ("ctc_loss", "conv_transpose3d", "conv_tbc", "native_channel_shuffle")
