"""tensorcore.nn.utils.rnn: PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence, unpad_sequence,
pack_sequence, unpack_sequence, invert_permutation.

A PackedSequence holds the steps of sequences of unequal lengths, longest first, time-major:
data (sum(batch_sizes), *) and batch_sizes[t] = how many sequences are longer than t. Packing and
unpacking are index ops, so gradients flow through them.
"""

from typing import NamedTuple

import numpy as np

from .. import ops
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, _make


class PackedSequence(NamedTuple):
    """data (sum(batch_sizes), *), batch_sizes (int64, CPU), sorted_indices / unsorted_indices (or None)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor = None
    unsorted_indices: Tensor = None

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))


def _int_tensor(values, device):
    return _make(device.backend.asarray(np.asarray(values, dtype=np.int64)), device, False, None)


def _lengths_array(lengths):
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    lengths = np.asarray(lengths).reshape(-1)
    if lengths.dtype.kind not in "iu":
        raise ArgumentError(f"pack_padded_sequence: lengths must be integers, got {lengths.dtype}")
    return lengths.astype(np.int64)


def _packed_positions(lengths_sorted):
    """(time index, batch index) of every packed entry, in packed order, and batch_sizes."""
    T = int(lengths_sorted[0])
    batch_sizes = np.array([(lengths_sorted > t).sum() for t in range(T)], dtype=np.int64)
    t_idx = np.repeat(np.arange(T), batch_sizes)
    b_idx = np.concatenate([np.arange(n) for n in batch_sizes])
    return t_idx, b_idx, batch_sizes


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Padded (T, B, *) (or (B, T, *) with batch_first) and lengths (B,) -> a PackedSequence.

    enforce_sorted=True needs lengths in decreasing order; False sorts them and remembers the order.
    """
    lengths = _lengths_array(lengths)
    if batch_first:
        input = input.swapaxes(0, 1)
    T, B = input.shape[:2]
    if lengths.shape[0] != B:
        raise ShapeError(f"pack_padded_sequence: {lengths.shape[0]} lengths for a batch of {B}")
    if lengths.min(initial=1) <= 0 or lengths.max(initial=0) > T:
        raise ShapeError(f"pack_padded_sequence: lengths must be in [1, {T}], got {lengths.tolist()}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ArgumentError("pack_padded_sequence: lengths must be sorted in decreasing order when "
                                "enforce_sorted=True (pass enforce_sorted=False to sort them)")
        order, sorted_t, unsorted_t = np.arange(B), None, None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_t = _int_tensor(order, input.device)
        unsorted_t = _int_tensor(np.argsort(order), input.device)
        input = input[:, _to_device(order, input)]
    lengths = lengths[order]
    t_idx, b_idx, batch_sizes = _packed_positions(lengths)
    data = input[_to_device(t_idx, input), _to_device(b_idx, input)]
    from ..device import device as as_device

    return PackedSequence(data, _int_tensor(batch_sizes, as_device("cpu")), sorted_t, unsorted_t)


def _to_device(array, like):
    return like.device.backend.from_host(array, copy=False)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded (T, B, *), lengths (B,) int64) in the original order."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.numpy().astype(np.int64)
    T, B = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if total_length < T:
            raise ShapeError(f"pad_packed_sequence: total_length {total_length} is shorter than the longest "
                             f"sequence ({T})")
        T = int(total_length)
    lengths = np.array([(batch_sizes > b).sum() for b in range(B)], dtype=np.int64)
    t_idx, b_idx, _ = _packed_positions(lengths)
    xp = data.device.backend.xp
    base = _make(xp.full((T, B) + data.shape[1:], padding_value, dtype=data.dtype), data.device, False, None)
    padded = ops.index.index_put(base, (_to_device(t_idx, data), _to_device(b_idx, data)), data)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices._data
        padded = padded[:, unsorted]
        lengths = lengths[sequence.unsorted_indices.numpy()]
    if batch_first:
        padded = padded.swapaxes(0, 1)
    from ..device import device as as_device

    return padded, _int_tensor(lengths, as_device("cpu"))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Tensors (L_i, *) -> one (max L, B, *) tensor (or (B, max L, *)), padded with padding_value."""
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError("pad_sequence: needs at least one sequence")
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    trail = sequences[0].shape[1:]
    for s in sequences:
        if s.shape[1:] != trail:
            raise ShapeError(f"pad_sequence: trailing shapes differ ({s.shape} vs (L, *{trail}))")
    T = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        gap = T - s.shape[0]
        widths = ((gap, 0) if padding_side == "left" else (0, gap),) + ((0, 0),) * len(trail)
        rows.append(ops.shape.pad(s, widths, padding_value) if gap else s)
    return ops.shape.stack(rows, axis=0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Tensors (L_i, *) -> a PackedSequence (pad_sequence, then pack_padded_sequence)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """A PackedSequence -> the list of its tensors (L_i, *)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, :int(n)] for i, n in enumerate(lengths.numpy())]


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Padded (T, B, *) (or (B, T, *) with batch_first) and lengths (B,) -> the list of tensors (L_i, *).

    Row i keeps the steps t < lengths[i], as torch's mask idx < length picks them (a length past T keeps all T, a
    length <= 0 none). torch's version transposes a time-major input in place (transpose_); this one leaves the
    caller's tensor as it was."""
    if padded_sequences.ndim < 2:
        raise ShapeError(f"unpad_sequence: padded_sequences must have a time and a batch dim, got shape "
                         f"{tuple(padded_sequences.shape)}")
    if not batch_first:
        padded_sequences = padded_sequences.swapaxes(0, 1)
    values = lengths.numpy() if isinstance(lengths, Tensor) else np.asarray(lengths)
    B, T = padded_sequences.shape[:2]
    if values.ndim != 1 or values.shape[0] != B:
        raise ShapeError(f"unpad_sequence: {values.size} lengths (shape {tuple(values.shape)}) for a batch of {B}")
    steps = np.arange(T)
    return [padded_sequences[i, :int((steps < n).sum())] for i, n in enumerate(values)]


def invert_permutation(permutation):
    """The inverse of a 1-D int64 permutation (out[permutation[i]] = i), on its device; None -> None."""
    if permutation is None:
        return None
    if not isinstance(permutation, Tensor):
        raise ArgumentError(f"invert_permutation: expected a Tensor or None, got {type(permutation).__name__}")
    values = permutation.numpy()
    if values.dtype != np.int64 or values.ndim != 1:  # torch's scatter_ of an int64 arange refuses other dtypes
        raise ArgumentError(f"invert_permutation: expected a 1-D int64 tensor, got shape {tuple(values.shape)} "
                            f"{values.dtype}")
    n = values.shape[0]
    if n and (values.min() < 0 or values.max() >= n or np.unique(values).size != n):
        raise ArgumentError(f"invert_permutation: {values.tolist()} is not a permutation of range({n})")
    out = np.empty_like(values)
    out[values] = np.arange(n, dtype=values.dtype)
    return _make(permutation.device.backend.from_host(out, copy=False), permutation.device, False, None)
