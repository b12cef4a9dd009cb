"""Keras SimpleRNN / LSTM / GRU as one rnn_layer node (tensorcore/ops/rnn.py, PyTorch's fused recurrence).

Used when the layer's activations are the defaults and there is no mask, or the mask is
post-padding (each row: real steps, then padding, at least one real step), Keras' usual case with
Embedding(mask_zero=True). Such a batch is sorted by length and packed (rnn_layer's batch_sizes), so
each sequence stops at its own end; then Keras' rules are restored: a padded step repeats the
previous output (zeros with zero_output_for_mask), and go_backwards returns the outputs in the order
they were computed (the padding, which comes first, repeats the initial state). The weights enter in
PyTorch's layout through differentiable rearrangements, so their gradients reach the Keras weights.
"""

import numpy as np

from ..tensor import _make
from .base import _permute, _reverse_steps


def post_padded_lengths(mask):
    """Each row's number of real steps when the mask is post-padding with >= 1 real step, else None."""
    m = np.asarray(mask.numpy(), dtype=bool)
    lengths = m.sum(axis=1)
    if lengths.min() < 1 or not np.array_equal(m, np.arange(m.shape[1])[None, :] < lengths[:, None]):
        return None
    return lengths


def run_fused(layer, sequences, states, mode, lengths=None):
    """layer's outputs (Keras' structure) computed by rnn_layer; lengths: per-row real steps, or None."""
    from ..ops.rnn import rnn_layer

    xp, device = sequences.device.backend.xp, sequences.device
    steps = sequences.shape[1]
    batch_sizes = order = None
    if lengths is not None:
        order_host = np.argsort(-lengths, kind="stable")
        order = xp.asarray(order_host)
        sequences, states = sequences[order], [s[order] for s in states]
        batch_sizes = [int((lengths > t).sum()) for t in range(steps)]
    w_ih, w_hh, b_ih, b_hh = layer._torch_weights()
    out, h, c = rnn_layer(_permute(sequences, (1, 0, 2)), states[0], states[1] if layer.states == 2 else None,
                          w_ih, w_hh, b_ih, b_hh, mode=mode, batch_sizes=batch_sizes, reverse=layer.go_backwards)
    new_states = [h, c] if layer.states == 2 else [h]
    output = h
    if layer.return_sequences:
        output = _permute(out, (1, 0, 2))  # (N, T, H), zeros at padded steps
    if lengths is not None:
        inverse = xp.asarray(np.argsort(order_host, kind="stable"))
        new_states = [s[inverse] for s in new_states]
        output = output[inverse]
        initial = states[0][inverse]
    if layer.return_sequences:
        output = _keras_sequence(layer, output, lengths, initial if lengths is not None else None, xp, device)
    else:
        output = new_states[0]
    return [output] + new_states if layer.return_state else output


def _keras_sequence(layer, output, lengths, initial, xp, device):
    """rnn_layer's time-ordered outputs (zeros at padding) in Keras' order, padding filled as Keras fills it."""
    n, steps = output.shape[0], output.shape[1]
    if layer.go_backwards:
        output = _reverse_steps(output)  # the order in which the steps ran
    if lengths is None or layer.zero_output_for_mask:
        return output
    if not layer.go_backwards:  # a padded step repeats the last real output
        last = np.minimum(np.arange(steps)[None, :], lengths[:, None] - 1)
        return output[xp.asarray(np.repeat(np.arange(n)[:, None], steps, 1)), xp.asarray(last)]
    # backwards, the padding runs first and repeats the initial state
    padded = (np.arange(steps)[None, :] < (steps - lengths)[:, None]).astype(output.dtype)[:, :, None]
    return output + _make(xp.asarray(padded), device, False, None) * initial.reshape(n, 1, -1)


__all__ = ["post_padded_lengths", "run_fused"]
