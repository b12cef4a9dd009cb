"""Session 8 parity with PyTorch: tc.distributions' families (log_prob, entropy, mean, mode, variance, cdf, icdf
and their gradients against torch's on the same parameters, float64 and float32), sample shapes and sample
statistics, reparameterized (incl. implicit Gamma / Beta / Dirichlet) gradients, validate_args errors."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
POS = np.exp(R.standard_normal(3)) + 0.2     # positive parameters
POS2 = np.exp(R.standard_normal(3)) + 0.2
REAL = R.standard_normal(3)
UNIT = np.array([0.2, 0.55, 0.9])
SIMPLEX_LOGITS = R.standard_normal((2, 4))

# name -> (constructor(lib, params) -> distribution, params (grad ones), values for log_prob, has cdf, has icdf)
CASES = {
    "Beta": (lambda D, p: D.Beta(p[0], p[1]), [POS, POS2], np.array([0.3, 0.5, 0.8]), False, False),
    "Gamma": (lambda D, p: D.Gamma(p[0], p[1]), [POS, POS2], np.array([0.4, 1.5, 3.0]), True, False),
    "Chi2": (lambda D, p: D.Chi2(p[0]), [POS], np.array([0.4, 1.5, 3.0]), True, False),
    "Dirichlet": (lambda D, p: D.Dirichlet(p[0]), [np.exp(SIMPLEX_LOGITS)],
                  np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.4, 0.1]]), False, False),
    "Exponential": (lambda D, p: D.Exponential(p[0]), [POS], np.array([0.4, 1.5, 3.0]), True, True),
    "Laplace": (lambda D, p: D.Laplace(p[0], p[1]), [REAL, POS], np.array([0.4, -1.5, 3.0]), True, True),
    "LogNormal": (lambda D, p: D.LogNormal(p[0], p[1]), [REAL, POS], np.array([0.4, 1.5, 3.0]), True, True),
    "Poisson": (lambda D, p: D.Poisson(p[0]), [POS], np.array([0.0, 1.0, 4.0]), False, False),
    "Cauchy": (lambda D, p: D.Cauchy(p[0], p[1]), [REAL, POS], np.array([0.4, -1.5, 3.0]), True, True),
    "HalfNormal": (lambda D, p: D.HalfNormal(p[0]), [POS], np.array([0.4, 1.5, 3.0]), True, True),
    "HalfCauchy": (lambda D, p: D.HalfCauchy(p[0]), [POS], np.array([0.4, 1.5, 3.0]), True, True),
    "StudentT": (lambda D, p: D.StudentT(p[0], p[1], p[2]), [POS + 2, REAL, POS2], np.array([0.4, -1.5, 3.0]),
                 False, False),
    "Gumbel": (lambda D, p: D.Gumbel(p[0], p[1]), [REAL, POS], np.array([0.4, -1.5, 3.0]), True, True),
    "Pareto": (lambda D, p: D.Pareto(p[0], p[1]), [POS, POS2 + 2], np.array([3.0, 4.5, 5.0]), True, True),
    "Weibull": (lambda D, p: D.Weibull(p[0], p[1]), [POS, POS2], np.array([0.4, 1.5, 3.0]), True, True),
    "Geometric": (lambda D, p: D.Geometric(probs=p[0]), [UNIT], np.array([0.0, 2.0, 5.0]), False, False),
    "Binomial": (lambda D, p: D.Binomial(10, probs=p[0]), [UNIT], np.array([0.0, 2.0, 10.0]), False, False),
    "BinomialLogits": (lambda D, p: D.Binomial(torch_or_tc_tensor(D, [3.0, 5.0, 7.0]), logits=p[0]), [REAL],
                       np.array([0.0, 2.0, 7.0]), False, False),
    "NegativeBinomial": (lambda D, p: D.NegativeBinomial(p[0], probs=p[1]), [POS, UNIT * 0.9],
                         np.array([0.0, 2.0, 5.0]), False, False),
    "Multinomial": (lambda D, p: D.Multinomial(6, logits=p[0]), [SIMPLEX_LOGITS],
                    np.array([[1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 6.0]]), False, False),
    "OneHotCategorical": (lambda D, p: D.OneHotCategorical(logits=p[0]), [SIMPLEX_LOGITS],
                          np.eye(4)[[1, 3]], False, False),
    "Normal": (lambda D, p: D.Normal(p[0], p[1]), [REAL, POS], np.array([0.4, -1.5, 3.0]), True, True),
    "VonMises": (lambda D, p: D.VonMises(p[0], p[1]), [REAL, POS], np.array([0.4, -1.5, 3.0]), False, False),
    "ContinuousBernoulli": (lambda D, p: D.ContinuousBernoulli(probs=p[0]), [np.array([0.2, 0.4995, 0.9])],
                            np.array([0.3, 0.5, 0.8]), True, True),
    "RelaxedBernoulli": (lambda D, p: D.RelaxedBernoulli(p[0], probs=p[1]), [POS, UNIT], np.array([0.3, 0.5, 0.8]),
                         False, False),
    "RelaxedOneHotCategorical": (lambda D, p: D.RelaxedOneHotCategorical(p[0], logits=p[1]),
                                 [np.array(0.7), SIMPLEX_LOGITS],
                                 np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.4, 0.1]]), False, False),
    "InverseGamma": (lambda D, p: D.InverseGamma(p[0], p[1]), [POS + 1, POS2], np.array([0.4, 1.5, 3.0]), False,
                     False),
    "Kumaraswamy": (lambda D, p: D.Kumaraswamy(p[0], p[1]), [POS, POS2], np.array([0.3, 0.5, 0.8]), False, False),
    "LogisticNormal": (lambda D, p: D.LogisticNormal(p[0], p[1]), [REAL, POS], np.array([0.1, 0.2, 0.3, 0.4]),
                       False, False),
    "FisherSnedecor": (lambda D, p: D.FisherSnedecor(p[0], p[1]), [POS + 3, POS2 + 5], np.array([0.4, 1.5, 3.0]),
                       False, False),
}
NO_ENTROPY = {"BinomialLogits", "FisherSnedecor", "LogisticNormal", "NegativeBinomial", "Pareto", "Poisson",
              "RelaxedBernoulli", "RelaxedOneHotCategorical", "VonMises"}
NO_MODE = {"ContinuousBernoulli", "RelaxedBernoulli", "RelaxedOneHotCategorical", "Multinomial", "Chi2",
           "VonMises"}
NO_MOMENTS = {"RelaxedBernoulli", "RelaxedOneHotCategorical", "LogisticNormal"}


def torch_or_tc_tensor(D, values):
    lib = torch if D is torch.distributions else tc
    return lib.tensor(values, dtype=lib.float64)


def _np(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def _run(lib, name, dtype_name):
    make, params, value, has_cdf, has_icdf = CASES[name]
    dtype = getattr(lib, dtype_name)
    ps = [lib.tensor(p, dtype=dtype, requires_grad=True) for p in params]
    d = make(lib.distributions, ps)
    v = lib.tensor(value, dtype=dtype)
    out = {"log_prob": d.log_prob(v), "batch_shape": list(d.batch_shape), "event_shape": list(d.event_shape)}
    total = out["log_prob"].sum()
    if name not in NO_ENTROPY:
        out["entropy"] = d.entropy()
        total = total + out["entropy"].sum()
    if name not in NO_MOMENTS:
        out["mean"], out["variance"] = d.mean, d.variance
    if name not in NO_MODE | NO_MOMENTS:
        out["mode"] = d.mode
    if has_cdf:
        out["cdf"] = d.cdf(v)
        if name not in ("Gamma", "Chi2"):  # torch has no derivative of igamma in the concentration
            total = total + out["cdf"].sum()
    if has_icdf:
        out["icdf"] = d.icdf(lib.tensor([0.1, 0.5, 0.7], dtype=dtype))
    grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(total, ps, allow_unused=True)
    out["grads"] = [np.zeros(1) if g is None else g for g in grads]
    out["shape"] = list(d.sample((5,)).shape)
    out["has_rsample"] = d.has_rsample
    return out


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_family_against_torch(name, dtype_name):
    expected, got = _run(torch, name, dtype_name), _run(tc, name, dtype_name)
    assert sorted(got) == sorted(expected)
    rtol, atol = (1e-9, 1e-11) if dtype_name == "float64" else (2e-5, 2e-6)
    if name == "VonMises":  # torch's log I0 is a polynomial fit good to ~1e-8; tensorcore's i0e is exact
        rtol, atol = max(rtol, 1e-7), max(atol, 1e-7)
    for key in expected:
        if key == "grads":
            for e, g in zip(expected[key], got[key]):
                np.testing.assert_allclose(_np(g), _np(e), rtol=rtol * 10, atol=atol * 10, err_msg=f"{name} grad")
        elif isinstance(expected[key], (list, bool)):
            assert got[key] == expected[key], (name, key)
        else:
            assert got[key].dtype == getattr(tc, dtype_name) or key in ("mode",), (name, key, got[key].dtype)
            np.testing.assert_allclose(_np(got[key]), _np(expected[key]), rtol=rtol, atol=atol, err_msg=f"{name} {key}")


BROADCAST = {  # parameters of shapes (2, 1) and (3,), values of shape (4, 2, 3) or broadcastable to it
    "Gamma": (lambda D, a, b: D.Gamma(a, b), lambda r: np.exp(r.standard_normal((4, 2, 3)))),
    "Beta": (lambda D, a, b: D.Beta(a, b), lambda r: r.uniform(0.05, 0.95, (4, 2, 3))),
    "Dirichlet": (lambda D, a, b: D.Dirichlet(a * b), lambda r: np.full((4, 2, 3), 1 / 3)),
    "Laplace": (lambda D, a, b: D.Laplace(a, b), lambda r: r.standard_normal((4, 1, 3))),
    "LogNormal": (lambda D, a, b: D.LogNormal(a, b), lambda r: np.exp(r.standard_normal((4, 2, 1)))),
    "Exponential": (lambda D, a, b: D.Exponential(a * b), lambda r: np.exp(r.standard_normal((4, 2, 3)))),
    "Poisson": (lambda D, a, b: D.Poisson(a * b), lambda r: r.integers(0, 5, (4, 2, 3)).astype(float)),
    "StudentT": (lambda D, a, b: D.StudentT(a + 1, b, a), lambda r: r.standard_normal((4, 2, 3))),
    "Gumbel": (lambda D, a, b: D.Gumbel(a, b), lambda r: r.standard_normal((4, 2, 3))),
    "Weibull": (lambda D, a, b: D.Weibull(a, b), lambda r: np.exp(r.standard_normal((4, 2, 3)))),
    "NegativeBinomial": (lambda D, a, b: D.NegativeBinomial(a, probs=b / (b + 1)),
                         lambda r: r.integers(0, 5, (4, 2, 3)).astype(float)),
    "Independent": (lambda D, a, b: D.Independent(D.Normal(a, b), 1), lambda r: r.standard_normal((4, 2, 3))),
    "Kumaraswamy": (lambda D, a, b: D.Kumaraswamy(a, b), lambda r: r.uniform(0.05, 0.95, (4, 2, 3))),
    "HalfNormal": (lambda D, a, b: D.HalfNormal(a * b), lambda r: np.exp(r.standard_normal((4, 2, 3)))),
}


@pytest.mark.parametrize("name", sorted(BROADCAST))
def test_broadcast_parameters_values_and_expand(name):
    make, values = BROADCAST[name]
    r = np.random.default_rng(3)
    a, b, v = np.exp(r.standard_normal((2, 1))) + 0.3, np.exp(r.standard_normal(3)) + 0.3, values(r)
    out = []
    for lib in (torch, tc):
        d = make(lib.distributions, lib.tensor(a), lib.tensor(b))
        lp = d.log_prob(lib.tensor(v))
        e = d.expand((4,) + tuple(d.batch_shape))
        out.append((_np(lp), tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample((5,)).shape),
                    tuple(e.batch_shape), _np(e.log_prob(lib.tensor(v)))))
    (t_lp, *t_shapes, t_elp), (c_lp, *c_shapes, c_elp) = out
    assert c_shapes == t_shapes
    np.testing.assert_allclose(c_lp, t_lp, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_elp, t_elp, rtol=1e-10, atol=1e-12)
