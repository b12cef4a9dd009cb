"""torch.testing.assert_close: values (and by default dtypes, devices and shapes) equal within tolerances, with
torch's failure messages (mismatched count and share, greatest absolute / relative difference and where)."""

import numpy as np

# PyTorch's default (rtol, atol) per dtype; integers and bool compare exactly.
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _as_array(value):
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return value.detach().cpu().numpy(), value
    return np.asarray(value), None


def _fail(default, msg):
    raise AssertionError(msg(default) if callable(msg) else (msg or default))


def _item(path):
    return "".join(f"[{k!r}]" for k in path)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless |actual - expected| <= atol + rtol * |expected| elementwise (PyTorch's rule);
    msg (a string, or a callable of torch's message) replaces the message."""
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    _compare(actual, expected, (), rtol, atol, equal_nan, check_device, check_dtype, msg)


def _compare(actual, expected, path, rtol, atol, equal_nan, check_device, check_dtype, msg):
    where = f"\n\nThe failure occurred for item {_item(path)}" if path else ""
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)) and \
            any(hasattr(a, "shape") or isinstance(a, (list, tuple, dict)) for a in actual):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}{where}", msg)
        for i, (a, b) in enumerate(zip(actual, expected)):
            _compare(a, b, path + (i,), rtol, atol, equal_nan, check_device, check_dtype, msg)
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                  f"{sorted(set(expected) - set(actual))}\nAdditional keys in the actual mapping: "
                  f"{sorted(set(actual) - set(expected))}{where}", msg)
        for k in actual:
            _compare(actual[k], expected[k], path + (k,), rtol, atol, equal_nan, check_device, check_dtype, msg)
        return
    a, ta = _as_array(actual)
    b, tb = _as_array(expected)
    if a.shape != b.shape:
        _fail(f"The values for attribute 'shape' do not match: {a.shape} != {b.shape}.{where}", msg)
    if check_dtype and a.dtype != b.dtype and (ta is not None or tb is not None):
        _fail(f"The values for attribute 'dtype' do not match: {a.dtype} != {b.dtype}.{where}", msg)
    if check_device and ta is not None and tb is not None and str(ta.device) != str(tb.device):
        _fail(f"The values for attribute 'device' do not match: {ta.device} != {tb.device}.{where}", msg)
    if rtol is None:  # torch: the largest default rtol and the largest default atol of the two dtypes
        pairs = [_TOLERANCES.get(str(d), (0.0, 0.0)) for d in (a.dtype, b.dtype)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    af, bf = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = np.isclose(af, bf, rtol=rtol, atol=atol, equal_nan=equal_nan) | (af == bf)
    if not close.all():
        _fail(_mismatch_message(a, b, close, rtol, atol, ta is None and tb is None or a.ndim == 0) + where, msg)


def _mismatch_message(a, b, close, rtol, atol, scalar):
    """torch's wording: 'Tensor-likes are not close!' (or 'Scalars', or 'equal' when rtol == atol == 0)."""
    exact = rtol == 0 and atol == 0
    up_abs = "" if exact else f" (up to {atol} allowed)"
    up_rel = "" if exact else f" (up to {rtol} allowed)"
    head = f"{'Scalars' if scalar else 'Tensor-likes'} are not {'equal' if exact else 'close'}!\n\n"
    if scalar and a.size == 1:  # torch compares the Python numbers (item())
        x, y = a.reshape(-1)[0].item(), b.reshape(-1)[0].item()
        abs_diff = abs(x - y)
        rel_diff = float("inf") if y == 0 else abs_diff / abs(y)
        return (head + f"Expected {y} but got {x}.\nAbsolute difference: {abs_diff}{up_abs}\n"
                f"Relative difference: {rel_diff}{up_rel}")
    common = np.result_type(a.dtype, b.dtype)
    if common.kind in "biu":  # torch: integers (and bools) differ in int64, the ratio in the default float32
        common = np.dtype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a.astype(common) - b.astype(common))
        rel_type = common if common.kind == "f" else np.float32
        rel_diff = abs_diff.astype(rel_type) / np.abs(b.astype(rel_type))
    # torch leaves the matching elements out of the greatest differences
    abs_diff, rel_diff = np.where(close, 0, abs_diff).astype(abs_diff.dtype), np.where(close, 0, rel_diff)
    bad = int((~close).sum())

    def greatest(diff):
        flat = diff.reshape(-1)
        k = int(np.argmax(np.where(np.isnan(flat), np.inf, flat))) if flat.dtype.kind == "f" else int(np.argmax(flat))
        return flat[k].item(), tuple(int(i) for i in np.unravel_index(k, diff.shape))

    (max_abs, i_abs), (max_rel, i_rel) = greatest(abs_diff), greatest(rel_diff)
    return (head + f"Mismatched elements: {bad} / {close.size} ({bad / close.size:.1%})\n"
            f"Greatest absolute difference: {max_abs} at index {i_abs}{up_abs}\n"
            f"Greatest relative difference: {max_rel} at index {i_rel}{up_rel}")


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """The older torch.testing.assert_allclose: values only (no dtype check)."""
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)
