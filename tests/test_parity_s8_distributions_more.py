"""Session 8 parity with PyTorch, part 2: MultivariateNormal (three parameterizations), Independent,
MixtureSameFamily, transforms / TransformedDistribution / biject_to, kl_divergence pairs, implicit
reparameterization gradients of Gamma / Beta / Dirichlet, sample statistics, expand and validate_args."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

R = np.random.default_rng(1)
A = R.standard_normal((2, 3, 3))
COV = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
LOC = R.standard_normal((2, 3))
X = R.standard_normal((4, 2, 3))


def _np(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def _agree(run, rtol=1e-9, atol=1e-11):
    for e, g in zip(run(torch), run(tc)):
        if isinstance(e, (list, tuple, bool, int)):
            assert g == e
        else:
            np.testing.assert_allclose(_np(g), _np(e), rtol=rtol, atol=atol)


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal(param):
    def run(lib):
        loc = lib.tensor(LOC, requires_grad=True)
        cov = lib.tensor(COV, requires_grad=True)
        arg = {"covariance_matrix": cov, "precision_matrix": lib.linalg.inv(cov),
               "scale_tril": lib.linalg.cholesky(cov)}[param]
        d = lib.distributions.MultivariateNormal(loc, **{param: arg})
        lp, ent = d.log_prob(lib.tensor(X)), d.entropy()
        std = lib.distributions.MultivariateNormal(lib.zeros(3, dtype=lib.float64), lib.eye(3, dtype=lib.float64))
        kl = lib.distributions.kl_divergence(d, std) + lib.distributions.kl_divergence(std, d)
        grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(lp.sum() + ent.sum() + kl.sum(),
                                                                             [loc, cov])
        return [lp, ent, kl, d.mean, d.variance, d.covariance_matrix, d.scale_tril, d.precision_matrix,
                *grads, list(d.rsample((5,)).shape), list(d.batch_shape), list(d.event_shape)]
    _agree(run, rtol=1e-8, atol=1e-10)


def test_low_rank_mvn_and_mixture():
    W, D = R.standard_normal((2, 3, 2)), np.exp(R.standard_normal((2, 3)))

    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        d = lib.distributions.LowRankMultivariateNormal(lib.tensor(LOC), w, lib.tensor(D))
        lp, ent = d.log_prob(lib.tensor(X)), d.entropy()
        (gw,) = (torch.autograd.grad if lib is torch else tc.autograd.grad)(lp.sum() + ent.sum(), [w])
        mix = lib.distributions.Categorical(logits=lib.tensor(LOC[0]))
        comp = lib.distributions.Normal(lib.tensor(LOC[1]), lib.tensor(D[0]))
        gmm = lib.distributions.MixtureSameFamily(mix, comp)
        comp2 = lib.distributions.Independent(lib.distributions.Normal(lib.tensor(LOC.T), lib.tensor(D.T)), 1)
        gmm2 = lib.distributions.MixtureSameFamily(mix, comp2)
        v = lib.tensor([0.3, -1.0, 2.0], dtype=lib.float64)
        return [lp, ent, gw, d.variance, d.covariance_matrix, gmm.log_prob(v), gmm.mean, gmm.variance, gmm.cdf(v),
                gmm2.log_prob(lib.tensor(X[:, :, :2])), list(gmm.sample((4,)).shape),
                list(gmm2.sample((4,)).shape), list(gmm2.event_shape)]
    _agree(run)


def test_independent_and_transformed():
    def run(lib):
        D = lib.distributions
        T = D.transforms
        loc = lib.tensor(LOC, requires_grad=True)
        base = D.Normal(loc, lib.tensor(np.exp(LOC)))
        ind = D.Independent(base, 1)
        flow = D.TransformedDistribution(base, [T.AffineTransform(0.5, 2.0), T.TanhTransform()])
        y = lib.tensor(np.tanh(X / 3))
        ind_lp, flow_lp = ind.log_prob(lib.tensor(X)), flow.log_prob(y)
        sig = D.TransformedDistribution(D.Uniform(lib.tensor(0.0, dtype=lib.float64), 1.0),
                                        [T.SigmoidTransform().inv, T.AffineTransform(1.0, 3.0)])
        sm = D.TransformedDistribution(D.Normal(loc, 1.0), T.StickBreakingTransform())
        simplex = lib.tensor([[0.2, 0.3, 0.1, 0.4], [0.1, 0.1, 0.5, 0.3]], dtype=lib.float64)
        pw = D.TransformedDistribution(D.Exponential(lib.tensor([1.0, 2.0], dtype=lib.float64)),
                                       [T.PowerTransform(lib.tensor(0.5, dtype=lib.float64)), T.ExpTransform()])
        grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(
            ind_lp.sum() + flow_lp.sum() + sm.log_prob(simplex).sum(), [loc])
        k = D.kl_divergence(ind, D.Independent(D.Normal(lib.zeros(2, 3, dtype=lib.float64), 1.0), 1))
        ln, ln2 = D.LogNormal(loc, 1.0), D.LogNormal(loc * 0, 2.0)
        return [ind_lp, ind.entropy(), flow_lp, *grads, sig.log_prob(lib.tensor([0.5, 2.0], dtype=lib.float64)),
                sm.log_prob(simplex), pw.log_prob(lib.tensor([1.5, 2.5], dtype=lib.float64)), k,
                D.kl_divergence(ln, ln2), list(ind.batch_shape), list(ind.event_shape), list(sm.event_shape),
                list(flow.rsample((3,)).shape), list(sm.sample((2,)).shape), flow.has_rsample,
                sig.cdf(lib.tensor([0.5, 2.0], dtype=lib.float64)), sig.icdf(lib.tensor([0.1, 0.9], dtype=lib.float64))]
    _agree(run)


def test_transforms_and_biject_to():
    def run(lib):
        D = lib.distributions
        T, C = D.transforms, D.constraints
        x = lib.tensor(X[0])
        out = []
        for t in [T.ExpTransform(), T.SigmoidTransform(), T.TanhTransform(), T.AffineTransform(1.0, -2.0),
                  T.SoftplusTransform(), T.StickBreakingTransform(), T.ComposeTransform([T.ExpTransform(),
                                                                                        T.AffineTransform(1.0, 2.0)]),
                  D.biject_to(C.interval(-1.0, 3.0)), D.biject_to(C.greater_than(2.0)), D.biject_to(C.simplex),
                  D.transform_to(C.simplex), D.biject_to(C.positive), D.biject_to(C.unit_interval),
                  D.biject_to(C.less_than(1.0))]:
            y = t(x)
            out += [y, t.inv(y), t.log_abs_det_jacobian(x, y) if t.bijective else y.sum(), t.bijective,
                    t.domain.event_dim, t.codomain.event_dim]
        out += [T.SoftmaxTransform()(x), T.AbsTransform()(x), T.PowerTransform(2.0)(x.abs())]
        cs = [C.positive.check(x), C.real.check(x), C.unit_interval.check(x), C.simplex.check(x.softmax(-1)),
              C.lower_cholesky.check(lib.linalg.cholesky(lib.tensor(COV))), C.positive_definite.check(lib.tensor(COV)),
              C.nonnegative_integer.check(lib.tensor([0.0, 1.5, 2.0])), C.boolean.check(lib.tensor([0.0, 1.0, 2.0]))]
        return out + [[bool(b) for b in np.ravel(_np(c))] for c in cs]
    _agree(run, rtol=1e-9, atol=1e-11)


def test_kl_pairs():
    p1, p2 = np.exp(R.standard_normal(3)), np.exp(R.standard_normal(3))

    def run(lib):
        D = lib.distributions
        t = [lib.tensor(v, requires_grad=True) for v in (p1, p2)]
        a, b = t
        pairs = [(D.Beta(a, b), D.Beta(b, a)), (D.Gamma(a, b), D.Gamma(b, 1.0)),
                 (D.Dirichlet(a), D.Dirichlet(b)), (D.Exponential(a), D.Exponential(b)),
                 (D.Laplace(a, b), D.Laplace(b, a)), (D.Poisson(a), D.Poisson(b)),
                 (D.Normal(a, b), D.Normal(b, a)), (D.Uniform(a - 1, a), D.Normal(b, a)),
                 (D.Normal(a, b), D.Laplace(b, a)), (D.Exponential(a), D.Gamma(b, a)),
                 (D.Categorical(logits=a), D.Categorical(logits=b)),
                 (D.OneHotCategorical(logits=a), D.OneHotCategorical(logits=b)),
                 (D.Bernoulli(logits=a), D.Bernoulli(logits=b)), (D.Geometric(probs=a / 4), D.Geometric(probs=b / 4)),
                 (D.Uniform(a - 1, a), D.Uniform(a - 2, a + 1))]
        kls = [D.kl_divergence(p, q) for p, q in pairs]
        total = sum(k.sum() for k in kls)
        grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(total, t)
        return kls + list(grads)
    _agree(run)


def test_kl_unregistered_pair_and_register_kl():
    D = tc.distributions
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Beta(1.0, 2.0), D.Poisson(1.0))

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return p.loc * 0 + 42.0

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 0.0  # the Normal-Normal formula


def test_standard_gamma_gradient_matches_torch():
    """The implicit-reparameterization derivative dx/dalpha at the same (alpha, x) as torch's. (tensorcore's finite
    difference of P(alpha, x) is within ~1e-9 of a high-precision reference; torch's approximation is within ~4e-4,
    hence rtol 5e-4.)"""
    from tensorcore.distributions.gamma import _standard_gamma_grad

    alpha = np.array([0.05, 0.3, 1.0, 2.5, 8.0, 40.0, 300.0])
    a = np.repeat(alpha, 6)
    torch.manual_seed(0)
    x = torch._standard_gamma(torch.tensor(a))  # random draws of each alpha
    expected = torch._standard_gamma_grad(torch.tensor(a), x).numpy()
    got = _standard_gamma_grad(a, x.numpy())
    np.testing.assert_allclose(got, expected, rtol=5e-4, atol=1e-12)


@pytest.mark.parametrize("family", ["Gamma", "Beta", "Dirichlet", "Chi2", "StudentT"])
def test_implicit_rsample_gradient_is_unbiased(family):
    """d/dtheta E[f(x)] estimated from rsample gradients agrees with the analytic derivative of the mean."""
    tc.manual_seed(0)
    n = 40000
    D = tc.distributions
    if family == "Gamma":
        c = tc.tensor([0.5, 2.0, 7.0], dtype=tc.float64, requires_grad=True)
        r = tc.tensor([1.0, 0.5, 3.0], dtype=tc.float64, requires_grad=True)
        x = D.Gamma(c, r).rsample((n,))
        x.mean(0).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), 1 / r.detach().numpy(), rtol=0.03)
        np.testing.assert_allclose(r.grad.numpy(), -(c / r ** 2).detach().numpy(), rtol=0.03)
    elif family == "Chi2":
        df = tc.tensor([1.0, 4.0], dtype=tc.float64, requires_grad=True)
        D.Chi2(df).rsample((n,)).mean(0).sum().backward()
        np.testing.assert_allclose(df.grad.numpy(), [1.0, 1.0], rtol=0.03)
    elif family == "Beta":
        a = tc.tensor([0.7, 2.0], dtype=tc.float64, requires_grad=True)
        b = tc.tensor([1.5, 0.4], dtype=tc.float64, requires_grad=True)
        D.Beta(a, b).rsample((n,)).mean(0).sum().backward()
        av, bv = a.detach().numpy(), b.detach().numpy()
        np.testing.assert_allclose(a.grad.numpy(), bv / (av + bv) ** 2, rtol=0.05)
        np.testing.assert_allclose(b.grad.numpy(), -av / (av + bv) ** 2, rtol=0.05)
    elif family == "Dirichlet":
        c = tc.tensor([0.5, 1.0, 3.0], dtype=tc.float64, requires_grad=True)
        x = D.Dirichlet(c).rsample((n,))
        (x[:, 0].mean()).backward()  # d/dc E[x_0] = (delta_0j S - c_0) / S^2
        cv = c.detach().numpy()
        s = cv.sum()
        np.testing.assert_allclose(c.grad.numpy(), (np.eye(3)[0] * s - cv[0]) / s ** 2, rtol=0.05, atol=3e-3)
    else:
        loc = tc.tensor([0.5], dtype=tc.float64, requires_grad=True)
        scale = tc.tensor([2.0], dtype=tc.float64, requires_grad=True)
        x = D.StudentT(5.0, loc, scale).rsample((n,))
        (x ** 2).mean().backward()  # E[x^2] = loc^2 + scale^2 df / (df - 2)
        np.testing.assert_allclose(loc.grad.numpy(), [1.0], rtol=0.1)
        np.testing.assert_allclose(scale.grad.numpy(), [2 * 2.0 * 5 / 3], rtol=0.1)


SAMPLES = {
    "Gamma": lambda D: D.Gamma(tc.tensor([0.3, 2.0]), tc.tensor([1.0, 4.0])),
    "Beta": lambda D: D.Beta(tc.tensor([0.5, 3.0]), tc.tensor([2.0, 1.0])),
    "Dirichlet": lambda D: D.Dirichlet(tc.tensor([0.5, 3.0, 1.0])),
    "Exponential": lambda D: D.Exponential(tc.tensor([0.5, 3.0])),
    "Laplace": lambda D: D.Laplace(tc.tensor([0.5, -3.0]), tc.tensor([1.0, 0.2])),
    "LogNormal": lambda D: D.LogNormal(tc.tensor([0.5, -1.0]), tc.tensor([0.3, 0.5])),
    "Poisson": lambda D: D.Poisson(tc.tensor([0.5, 12.0])),
    "Geometric": lambda D: D.Geometric(tc.tensor([0.3, 0.8])),
    "Binomial": lambda D: D.Binomial(10, tc.tensor([0.3, 0.8])),
    "NegativeBinomial": lambda D: D.NegativeBinomial(tc.tensor([3.0, 1.5]), tc.tensor([0.3, 0.6])),
    "Multinomial": lambda D: D.Multinomial(5, tc.tensor([0.2, 0.3, 0.5])),
    "OneHotCategorical": lambda D: D.OneHotCategorical(tc.tensor([0.2, 0.3, 0.5])),
    "MultivariateNormal": lambda D: D.MultivariateNormal(tc.tensor([1.0, -1.0]),
                                                         tc.tensor([[2.0, 0.5], [0.5, 1.0]])),
    "HalfNormal": lambda D: D.HalfNormal(tc.tensor([0.5, 2.0])),
    "Gumbel": lambda D: D.Gumbel(tc.tensor([0.5, 2.0]), tc.tensor([1.0, 0.5])),
    "Weibull": lambda D: D.Weibull(tc.tensor([1.0, 2.0]), tc.tensor([1.5, 3.0])),
    "Pareto": lambda D: D.Pareto(tc.tensor([1.0, 2.0]), tc.tensor([4.0, 5.0])),
    "StudentT": lambda D: D.StudentT(tc.tensor([6.0, 9.0])),
    "ContinuousBernoulli": lambda D: D.ContinuousBernoulli(tc.tensor([0.2, 0.8])),
    "VonMises": lambda D: D.VonMises(tc.tensor([0.5, -1.0]), tc.tensor([2.0, 5.0])),
    "InverseGamma": lambda D: D.InverseGamma(tc.tensor([6.0, 9.0]), tc.tensor([1.0, 3.0])),
    "Kumaraswamy": lambda D: D.Kumaraswamy(tc.tensor([0.5, 3.0]), tc.tensor([2.0, 1.0])),
    "FisherSnedecor": lambda D: D.FisherSnedecor(tc.tensor([6.0, 9.0]), tc.tensor([12.0, 20.0])),
    "LowRankMultivariateNormal": lambda D: D.LowRankMultivariateNormal(tc.tensor([1.0, -1.0]),
                                                                       tc.tensor([[1.0], [0.5]]),
                                                                       tc.tensor([0.5, 1.0])),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_statistics(name):
    tc.manual_seed(0)
    d = SAMPLES[name](tc.distributions)
    s = d.sample((20000,))
    assert tuple(s.shape) == (20000,) + d.batch_shape + d.event_shape
    assert s.dtype == tc.float32 and not s.requires_grad
    assert bool(d.support.check(s).all())
    m, v = s.double().mean(0).numpy(), s.double().var(0).numpy()
    if name == "VonMises":  # circular statistics: mean direction and 1 - mean resultant length
        z = np.exp(1j * s.double().numpy()).mean(0)
        m, v = np.angle(z), 1 - np.abs(z)
    np.testing.assert_allclose(m, d.mean.double().numpy(), rtol=0.05, atol=0.03)
    np.testing.assert_allclose(v, d.variance.double().numpy(), rtol=0.1, atol=0.03)


def test_expand():
    D = tc.distributions
    for d in [D.Gamma(tc.tensor([1.0]), 2.0), D.Beta(tc.tensor([1.0]), 2.0), D.Dirichlet(tc.tensor([[1.0, 2.0]])),
              D.Exponential(tc.tensor([1.0])), D.Laplace(tc.tensor([1.0]), 2.0), D.LogNormal(tc.tensor([1.0]), 2.0),
              D.Poisson(tc.tensor([1.0])), D.OneHotCategorical(tc.tensor([[0.2, 0.8]])),
              D.MultivariateNormal(tc.zeros(1, 2), tc.eye(2)), D.Independent(D.Normal(tc.zeros(1, 2), 1.0), 1),
              D.Normal(tc.tensor([0.0]), 1.0), D.Categorical(tc.tensor([[0.2, 0.8]])), D.Gumbel(tc.tensor([0.0]), 1.0),
              D.Weibull(tc.tensor([1.0]), 2.0), D.Binomial(3, tc.tensor([0.2]))]:
        e = d.expand((3,))
        assert type(e) is type(d) and e.batch_shape == (3,) and e.event_shape == d.event_shape
        assert tuple(e.sample((2,)).shape) == (2, 3) + d.event_shape
        assert tuple(e.log_prob(e.sample()).shape) == (3,)


def test_validate_args_as_torch():
    D, TD = tc.distributions, torch.distributions
    bad = [lambda M, t: M.Gamma(t([-1.0]), 1.0), lambda M, t: M.Beta(t([1.0]), t([0.0])),
           lambda M, t: M.Dirichlet(t([1.0, -2.0])), lambda M, t: M.Exponential(t([-1.0])),
           lambda M, t: M.Laplace(0.0, t([-1.0])), lambda M, t: M.Poisson(t([-1.0])),
           lambda M, t: M.Normal(0.0, t([0.0])), lambda M, t: M.Bernoulli(probs=t([1.5])),
           lambda M, t: M.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]])),
           lambda M, t: M.Categorical(probs=t([0.5, -0.1])), lambda M, t: M.Uniform(t([1.0]), t([0.0]))]
    for make in bad:
        with pytest.raises(ValueError):
            make(TD, torch.tensor)
        with pytest.raises(tc.ArgumentError):
            make(D, tc.tensor)
    out_of_support = [(lambda M, t: M.Gamma(1.0, 1.0), -1.0), (lambda M, t: M.Beta(1.0, 1.0), 1.5),
                      (lambda M, t: M.Poisson(t([1.0])), 1.5), (lambda M, t: M.Exponential(1.0), -0.5),
                      (lambda M, t: M.Categorical(t([0.5, 0.5])), 2.0), (lambda M, t: M.Bernoulli(t(0.5)), 0.5)]
    for make, v in out_of_support:
        with pytest.raises(ValueError):
            make(TD, torch.tensor).log_prob(torch.tensor(v))
        with pytest.raises(tc.ArgumentError):
            make(D, tc.tensor).log_prob(tc.tensor(v))
    assert D.Gamma(tc.tensor([-1.0]), 1.0, validate_args=False).batch_shape == (1,)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Exponential(tc.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(tc.ArgumentError):
        D.Exponential(tc.tensor([-1.0]))


def test_gradcheck_float64():
    D = tc.distributions
    c = tc.tensor([0.7, 2.0], dtype=tc.float64, requires_grad=True)
    r = tc.tensor([1.5, 0.4], dtype=tc.float64, requires_grad=True)
    v = tc.tensor([0.3, 0.6], dtype=tc.float64)
    assert tc.gradcheck(lambda a, b: D.Beta(a, b).log_prob(v) + D.Beta(a, b).entropy(), (c, r))
    assert tc.gradcheck(lambda a, b: D.Gamma(a, b).log_prob(v) + D.Gamma(a, b).entropy(), (c, r))
    assert tc.gradcheck(lambda a: D.Dirichlet(a).log_prob(tc.tensor([0.3, 0.7], dtype=tc.float64)), (c,))
    assert tc.gradcheck(lambda a, b: D.kl_divergence(D.Gamma(a, b), D.Gamma(b, a)), (c, r))
    cov = tc.tensor(COV[0], requires_grad=True)
    assert tc.gradcheck(lambda m: D.MultivariateNormal(tc.zeros(3, dtype=tc.float64), (m + m.mT) / 2).log_prob(
        tc.tensor(X[0, 0])), (cov,))
    assert tc.gradcheck(lambda a: D.Laplace(a, 1.0).log_prob(tc.tensor([0.1, 0.9], dtype=tc.float64)), (c,))


def _family(lib, name, k):
    """One instance per family with batch_shape (3,), parameters varying with k (so p != q)."""
    t = lambda v: lib.tensor(np.asarray(v, dtype=np.float64))  # noqa: E731
    D = lib.distributions
    a = np.array([0.7, 1.3, 2.2]) + 0.4 * k
    b = np.array([1.6, 0.9, 3.1]) - 0.3 * k
    make = {
        "Bernoulli": lambda: D.Bernoulli(probs=t(a / 4)), "Beta": lambda: D.Beta(t(a), t(b)),
        "ContinuousBernoulli": lambda: D.ContinuousBernoulli(probs=t(a / 4)),
        "Binomial": lambda: D.Binomial(t([5.0, 5.0, 5.0]), probs=t(a / 4)), "Cauchy": lambda: D.Cauchy(t(a), t(b)),
        "Exponential": lambda: D.Exponential(t(a)), "Gamma": lambda: D.Gamma(t(a), t(b)),
        "Gumbel": lambda: D.Gumbel(t(a), t(b)), "HalfNormal": lambda: D.HalfNormal(t(b)),
        "Laplace": lambda: D.Laplace(t(a), t(b)), "Normal": lambda: D.Normal(t(a - 1), t(b)),
        "Pareto": lambda: D.Pareto(t(b * 0 + 0.5 + 0.2 * k), t(a + 2)), "Poisson": lambda: D.Poisson(t(a)),
        "Uniform": lambda: D.Uniform(t(a * 0.1 * (1 - k)), t(a * 0.1 + 0.5 + 0.1 * k)),
        "LowRankMultivariateNormal": lambda: D.LowRankMultivariateNormal(
            t(np.stack([a, b])), t(np.stack([a, b, a])[None].repeat(2, 0).transpose(0, 2, 1)[..., :2] * 0.3),
            t(np.stack([b, a]) + 1)),
        "MultivariateNormal": lambda: D.MultivariateNormal(t(np.stack([a, b])), t(COV[0] + k * np.eye(3))),
    }
    return make[name]() if name in make else None


def test_cross_family_kl_pairs_against_torch():
    """Every pair torch registers whose families both build in _family: same values (inf included)."""
    pairs = sorted({(p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY})
    checked = 0
    for pn, qn in pairs:
        if _family(torch, pn, 0) is None or _family(torch, qn, 1) is None:
            continue
        expected = torch.distributions.kl_divergence(_family(torch, pn, 0), _family(torch, qn, 1))
        got = tc.distributions.kl_divergence(_family(tc, pn, 0), _family(tc, qn, 1))
        np.testing.assert_allclose(_np(got), _np(expected), rtol=1e-9, atol=1e-11, err_msg=f"{pn} {qn}")
        checked += 1
    assert checked >= 75


def test_stack_cat_and_corr_cholesky_transforms():
    def run(lib):
        D = lib.distributions
        T = D.transforms
        x = lib.tensor(X[0, :, :2].T.copy(), requires_grad=True)  # (2, 2)
        st = T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=0)
        ct = T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0)], dim=-1, lengths=[1, 1])
        vec = lib.tensor(VEC, requires_grad=True)
        cc = T.CorrCholeskyTransform()
        L = cc(vec)
        out = [st(x), st.inv(st(x)), st.log_abs_det_jacobian(x, st(x)), ct(x), ct.inv(ct(x)),
               ct.log_abs_det_jacobian(x, ct(x)), L, cc.inv(L), cc.log_abs_det_jacobian(vec, L),
               L @ L.mT, [bool(b) for b in np.ravel(_np(D.constraints.corr_cholesky.check(L)))],
               [bool(b) for b in np.ravel(_np(st.codomain.check(st(x))))], list(cc.forward_shape((4, 6)))]
        total = L.sum() + cc.log_abs_det_jacobian(vec, L).sum() + ct(x).sum() + st(x).sum()
        out += list((torch.autograd.grad if lib is torch else tc.autograd.grad)(total, [x, vec]))
        return out
    _agree(run)


VEC = R.standard_normal((4, 6))


def test_lkj_cholesky():
    def run(lib):
        D = lib.distributions
        c = lib.tensor([0.5, 2.0], dtype=lib.float64, requires_grad=True)
        d = D.LKJCholesky(3, c)
        L = D.transforms.CorrCholeskyTransform()(lib.tensor(VEC[:2, :3]))
        lp = d.log_prob(L)
        (g,) = (torch.autograd.grad if lib is torch else tc.autograd.grad)(lp.sum(), [c])
        s = d.sample((500,))
        corr = s @ s.mT
        ok = [bool(b) for b in np.ravel(_np(D.constraints.corr_cholesky.check(s)))]
        return [lp, g, list(s.shape), all(ok), np.allclose(_np(corr).diagonal(0, -2, -1), 1.0)]
    _agree(run)
    tc.manual_seed(0)
    s = tc.distributions.LKJCholesky(3, 2.0).sample((20000,))
    corr = (s @ s.mT).numpy()
    np.testing.assert_allclose(corr.mean(0), np.eye(3), atol=0.02)  # off-diagonal mean 0
    # Var of an off-diagonal correlation under LKJ(eta) in dim d: 1 / (2 eta + d - 1)
    np.testing.assert_allclose(corr[:, 1, 0].var(), 1 / (2 * 2.0 + 2), rtol=0.05)


@pytest.mark.parametrize("conc", [-0.3, 0.0, 0.4])
def test_generalized_pareto_and_positive_definite_transform(conc):
    def run(lib):
        D = lib.distributions
        loc = lib.tensor([0.0, 1.0], requires_grad=True, dtype=lib.float32)
        scale = lib.tensor([1.5, 0.5], requires_grad=True, dtype=lib.float32)
        d = D.GeneralizedPareto(loc, scale, lib.tensor([conc, conc], dtype=lib.float32))
        v = lib.tensor([0.5, 1.7], dtype=lib.float32)
        lp, cdf = d.log_prob(v), d.cdf(v)
        grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(lp.sum() + cdf.sum(), [loc, scale])
        pd = D.transforms.PositiveDefiniteTransform()
        m = pd(lib.tensor(X[0, :, :2]))
        return [lp, cdf, d.icdf(lib.tensor([0.2, 0.9], dtype=lib.float32)), d.mean, d.variance, d.entropy(), *grads,
                d.log_survival_function(v), m, pd.inv(m), list(d.rsample((3,)).shape)]
    _agree(run, rtol=2e-5, atol=2e-6)  # float32: torch's log_prob refuses float64 (isclose against a float32 0)


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_wishart(param):
    def run(lib):
        D = lib.distributions
        cov = lib.tensor(COV, requires_grad=True)
        df = lib.tensor([4.0, 6.5], dtype=lib.float64, requires_grad=True)
        arg = {"covariance_matrix": cov, "precision_matrix": lib.linalg.inv(cov),
               "scale_tril": lib.linalg.cholesky(cov)}[param]
        d = D.Wishart(df, **{param: arg})
        v = lib.tensor(COV[::-1].copy() + np.eye(3))
        lp, ent = d.log_prob(v), d.entropy()
        grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(lp.sum() + ent.sum(), [cov, df])
        s = d.rsample((4,))
        return [lp, ent, d.mean, d.mode, d.variance, d.precision_matrix, *grads, list(s.shape),
                bool(_np(D.constraints.positive_definite.check(s)).all()), list(d.expand((3, 2)).batch_shape)]
    _agree(run, rtol=1e-8, atol=1e-10)


def test_wishart_sample_mean_and_df_gradient():
    tc.manual_seed(0)
    df = tc.tensor(5.0, dtype=tc.float64, requires_grad=True)
    d = tc.distributions.Wishart(df, covariance_matrix=tc.tensor(COV[0]))
    s = d.rsample((20000,))
    np.testing.assert_allclose(s.mean(0).detach().numpy(), 5.0 * COV[0], rtol=0.05, atol=0.05)
    s.mean(0).trace().backward()  # d/d df E[trace W] = trace(cov)
    np.testing.assert_allclose(df.grad.item(), np.trace(COV[0]), rtol=0.05)


@pytest.mark.parametrize("batched", [False, True])
def test_wishart_kl_by_bregman_divergence(batched):
    def run(lib):
        D = lib.distributions
        df = lib.tensor([4.0, 6.5] if batched else 5.0, dtype=lib.float64)
        p = D.Wishart(df, covariance_matrix=lib.tensor(COV if batched else COV[0]))
        cov = lib.tensor((COV if batched else COV[0]) + np.eye(3), requires_grad=True)
        q = D.Wishart(df + 1.0, covariance_matrix=cov)
        kl = D.kl_divergence(p, q)  # (as torch's, it detaches p's natural parameters: a gradient to q only)
        (g,) = (torch.autograd.grad if lib is torch else tc.autograd.grad)(kl.sum(), [cov])
        return [kl, g]
    _agree(run, rtol=1e-8, atol=1e-10)
    with pytest.raises(NotImplementedError):
        tc.distributions.kl_divergence(tc.distributions.Wishart(5.0, covariance_matrix=tc.tensor(COV[0])),
                                       tc.distributions.ContinuousBernoulli(tc.tensor(0.3)))
