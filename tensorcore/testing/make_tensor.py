"""torch.testing.make_tensor: a tensor of the given shape, dtype and device with values drawn uniformly from
[low, high) by tensorcore's default generator (tc.manual_seed makes it repeatable), torch's defaults and checks."""

import math
import warnings
from collections.abc import Sequence

import numpy as np


def _low_high(low, high, dtype, lowest, highest, default_low, default_high, integral):
    """torch's modify_low_high: defaults, NaN / order / range checks, clamping into the dtype's range."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and not integral:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
                      "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                      FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype} only "
                         f"supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if integral:  # low ceiled (nothing below low); high ceiled too, as randint's high is exclusive
        return math.ceil(low), math.ceil(high)
    return low, high


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """torch.testing.make_tensor: bool in [0, 2), unsigned in [0, 10), signed in [-9, 10), floating in [-9, 9) by
    default; low/high clamped into the dtype's finite range; noncontiguous gives every other element of a doubled
    last dim (from offset 1); exclude_zero puts 1 (bool, integers) or finfo.tiny (floating) where a zero was drawn;
    requires_grad only for floating dtypes (ValueError otherwise), as torch's."""
    from ..dtypes import as_dtype, finfo
    from ..random import _gen
    from ..tensor import tensor

    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = shape[0]
    shape = tuple(int(s) for s in shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    dt = as_dtype(dtype)
    name = str(dt)
    integral = dt.kind in "biu"
    if requires_grad and integral:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype=torch.{name}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = shape[:-1] + (2 * shape[-1],)
    rng = _gen(None)
    if dt.kind == "b":
        low, high = _low_high(low, high, name, 0, 2, 0, 2, True)
        values = rng.integers(low, high, size=shape, dtype=np.int64).astype(np.bool_)
    elif integral:
        info = np.iinfo(dt)
        low, high = _low_high(low, high, name, int(info.min), int(info.max) + (1 if dt != np.int64 else 0), -9, 10,
                              True)
        values = rng.integers(low, high, size=shape, dtype=dt)
    elif dt.kind == "f" or name == "bfloat16":
        fi = finfo(dt)
        low, high = _low_high(low, high, name, float(fi.min), float(fi.max), -9, 9, False)
        u = rng.random(size=shape)
        with np.errstate(over="ignore"):
            if high - low >= float(fi.max):  # torch halves the range first (uniform_ needs high - low <= max)
                values = (low / 2 + (high / 2 - low / 2) * u) * 2
            else:
                values = low + (high - low) * u
        values = np.asarray(values).astype(dt)
    else:
        raise TypeError(f"The requested dtype '{name}' is not supported by torch.testing.make_tensor().")
    if exclude_zero:
        values = np.where(values == 0, np.asarray(1 if integral else finfo(dt).tiny).astype(dt), values)
    result = tensor(np.array(values, order="C"), dtype=dt, device=device)
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.contiguous(memory_format=memory_format)
    if not integral and requires_grad:
        result.requires_grad_(True)
    return result
