"""torch.special's Bessel and Airy functions against torch (float64, float32, edge values, dtypes, no gradient)
and against mpmath (tensorcore's are accurate to ~1e-14; torch's own float64 J/Y/Ai err up to ~3e-6 near 2-8)."""

import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

NAMES = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
         "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
         "spherical_bessel_j0", "airy_ai"]
XS = np.concatenate([np.linspace(-40, 40, 801), np.geomspace(1e-7, 2e3, 120), -np.geomspace(1e-7, 2e3, 120)])
EDGES = np.array([0.0, -0.0, -1.0, -30.0, 1e-300, 1e300, np.inf, -np.inf, np.nan, 2.0, -2.0, 25.0, 25.0000001])


def _both(name, x, dtype="float64"):
    mine = getattr(tc.special, name)(tc.tensor(np.asarray(x, dtype=dtype)))
    ref = getattr(torch.special, name)(torch.tensor(np.asarray(x, dtype=dtype)))
    return mine, ref


@pytest.mark.parametrize("name", NAMES)
def test_values_float64_match_torch(name):
    mine, ref = _both(name, XS)
    assert mine.dtype == tc.float64
    m, r = mine.numpy(), ref.numpy()
    np.testing.assert_array_equal(np.isnan(m), np.isnan(r))
    np.testing.assert_allclose(m, r, rtol=1e-6, atol=3e-6)  # torch's own error reaches 2.8e-6 (airy_ai at -2.1)


@pytest.mark.parametrize("name", NAMES)
def test_edge_values_match_torch(name):
    with np.errstate(all="ignore"):
        mine, ref = _both(name, EDGES)
    np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
def test_values_float32_match_torch(name):
    xs = XS[np.abs(XS) < 80]
    mine, ref = _both(name, xs, "float32")
    assert mine.dtype == tc.float32
    m, r = mine.numpy().astype(np.float64), ref.numpy().astype(np.float64)
    np.testing.assert_array_equal(np.isinf(m), np.isinf(r))
    fin = np.isfinite(r)
    np.testing.assert_allclose(m[fin], r[fin], rtol=2e-5, atol=1e-5)  # torch float32 airy_ai: 3.5e-6 off


_MP = {"bessel_j0": ("besselj", 0), "bessel_j1": ("besselj", 1), "bessel_y0": ("bessely", 0),
       "bessel_y1": ("bessely", 1), "modified_bessel_k0": ("besselk", 0), "modified_bessel_k1": ("besselk", 1),
       "modified_bessel_i0": ("besseli", 0), "modified_bessel_i1": ("besseli", 1)}


@pytest.mark.parametrize("name", NAMES)
def test_values_against_mpmath(name):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    xs = np.concatenate([np.linspace(-30, 30, 241), np.geomspace(1e-5, 500, 60)]) + 1e-3
    if name in ("bessel_y0", "bessel_y1") or "_k" in name:
        xs = xs[xs > 0]

    def truth(v):
        v = mpmath.mpf(float(v))
        if name in _MP:
            fn, order = _MP[name]
            return getattr(mpmath, fn)(order, v)
        if name.startswith("scaled"):
            return mpmath.besselk(int(name[-1]), v) * mpmath.exp(v)
        if name == "airy_ai":
            return mpmath.airyai(v)
        return mpmath.sin(v) / v

    true = np.array([float(truth(v)) for v in xs])
    mine = getattr(tc.special, name)(tc.tensor(xs)).numpy()
    np.testing.assert_allclose(mine, true, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_no_gradient_like_torch(name):
    x = tc.tensor([0.5, 2.0], dtype=tc.float64, requires_grad=True)
    t = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    y, ty = getattr(tc.special, name)(x), getattr(torch.special, name)(t)
    assert not y.requires_grad and not ty.requires_grad
    with pytest.raises(RuntimeError):
        ty.sum().backward()
    with pytest.raises(tc.GradientError):
        y.sum().backward()


@pytest.mark.parametrize("name", NAMES)
def test_dtypes_like_torch(name):
    for values in ([1, 2], [True, False]):
        mine, ref = getattr(tc.special, name)(tc.tensor(values)), getattr(torch.special, name)(torch.tensor(values))
        assert mine.dtype == tc.float32 and ref.dtype == torch.float32
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=2e-5, atol=3e-6, equal_nan=True)
    with pytest.raises(NotImplementedError):
        getattr(torch.special, name)(torch.tensor([1.0], dtype=torch.float16))
    for dt in (tc.float16, tc.bfloat16):
        with pytest.raises(tc.DTypeError, match=name):
            getattr(tc.special, name)(tc.tensor([1.0], dtype=dt))


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_no_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for shape in [(0,), (2, 0, 3), (), (3, 4)]:
            x = tc.tensor(np.linspace(0.1, 30, int(np.prod(shape))).reshape(shape))
            out = getattr(tc.special, name)(x)
            assert tuple(out.shape) == shape
        big = tc.tensor(np.linspace(-50, 50, 9000))  # more than one quadrature chunk
        np.testing.assert_allclose(getattr(tc.special, name)(big).numpy(),
                                   getattr(torch.special, name)(torch.tensor(np.linspace(-50, 50, 9000))).numpy(),
                                   rtol=1e-6, atol=3e-6, equal_nan=True)


def test_names_exported():
    for name in NAMES:
        assert name in tc.special.__all__
    np.testing.assert_allclose(tc.special.modified_bessel_i0(tc.tensor([1.5])).numpy(), tc.i0(tc.tensor([1.5])).numpy())
