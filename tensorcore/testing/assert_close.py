"""torch.testing.assert_close: values (and by default dtypes, devices and shapes) equal within tolerances."""

import numpy as np

# PyTorch's default (rtol, atol) per dtype; integers and bool compare exactly.
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _as_array(value):
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return value.detach().cpu().numpy(), value
    return np.asarray(value), None


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless |actual - expected| <= atol + rtol * |expected| elementwise (PyTorch's rule)."""
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)) and \
            any(hasattr(a, "shape") for a in actual):
        if len(actual) != len(expected):
            raise AssertionError(msg or f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for a, b in zip(actual, expected):
            assert_close(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                         check_dtype=check_dtype, msg=msg)
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        if set(actual) != set(expected):
            raise AssertionError(msg or f"The keys of the mappings do not match: {sorted(actual)} != "
                                 f"{sorted(expected)}")
        for k in actual:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_device=check_device, check_dtype=check_dtype, msg=msg)
        return
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: both rtol and atol must be given, or neither")
    a, ta = _as_array(actual)
    b, tb = _as_array(expected)
    if a.shape != b.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {a.shape} != {b.shape}.")
    if check_dtype and a.dtype != b.dtype and (ta is not None or tb is not None):
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {a.dtype} != {b.dtype}.")
    if check_device and ta is not None and tb is not None and str(ta.device) != str(tb.device):
        raise AssertionError(msg or f"The values for attribute 'device' do not match: {ta.device} != {tb.device}.")
    if rtol is None:
        rtol, atol = max((_TOLERANCES.get(str(d), (0.0, 0.0)) for d in (a.dtype, b.dtype)), key=lambda t: t[0])
    af, bf = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = np.isclose(af, bf, rtol=rtol, atol=atol, equal_nan=equal_nan) | (af == bf)
    if not close.all():
        bad = int((~close).sum())
        diff = np.abs(af - bf)[~close]
        raise AssertionError(msg or (f"Tensor-likes are not close!\n\nMismatched elements: {bad} / {close.size}\n"
                                     f"Greatest absolute difference: {np.nanmax(diff) if diff.size else 0}\n"
                                     f"(up to {atol} allowed, rtol {rtol})"))


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """The older torch.testing.assert_allclose: values only (no dtype check)."""
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)
