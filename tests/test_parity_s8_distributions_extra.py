"""Session 8 parity with PyTorch, part 3: what RL / VAE / flow programs lean on: a tanh-squashed Gaussian policy
(SAC: TanhTransform(cache_size=1), log_prob of its own rsample), straight-through one-hot samples, Categorical
and Bernoulli at probabilities 0 and 1, entropy where torch has none, support / arg_constraints surfaces."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")


def _np(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def test_sac_tanh_gaussian_policy():
    def run(lib):
        D = lib.distributions
        mu = lib.tensor([[0.3, -2.0], [1.5, 0.1]], dtype=lib.float64, requires_grad=True)
        log_std = lib.tensor([[-0.5, 0.2], [0.0, -1.0]], dtype=lib.float64, requires_grad=True)
        pi = D.TransformedDistribution(D.Normal(mu, log_std.exp()), [D.transforms.TanhTransform(cache_size=1)])
        u = lib.tensor([[0.5, -3.0], [2.0, 0.05]], dtype=lib.float64)
        a = pi.transforms[0](mu + log_std.exp() * u)  # a reparameterized action, cached
        lp = pi.log_prob(a).sum(-1)
        grads = (torch.autograd.grad if lib is torch else tc.autograd.grad)(lp.sum() + a.sum(), [mu, log_std])
        ind = D.Independent(D.Normal(mu, log_std.exp()), 1)
        return [a, lp, *grads, ind.log_prob(lib.tensor([[0.1, 0.2], [0.3, 0.4]], dtype=lib.float64)),
                ind.entropy()]

    for e, g in zip(run(torch), run(tc)):
        np.testing.assert_allclose(_np(g), _np(e), rtol=1e-10, atol=1e-12)


def test_one_hot_straight_through_gradient():
    def run(lib):
        logits = lib.tensor([[0.2, -1.0, 0.5]], dtype=lib.float64, requires_grad=True)
        d = lib.distributions.OneHotCategoricalStraightThrough(logits=logits)
        s = d.rsample((4,))
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
        (g,) = (torch.autograd.grad if lib is torch else tc.autograd.grad)((s * w).sum(), [logits])
        return s, g

    (ts, tg), (cs, cg) = run(torch), run(tc)
    assert tuple(cs.shape) == tuple(ts.shape) == (4, 1, 3) and cs.requires_grad
    assert set(np.unique(_np(cs))) <= {0.0, 1.0} and np.all(_np(cs).sum(-1) == 1)
    np.testing.assert_allclose(_np(cg), _np(tg), rtol=1e-12, atol=1e-14)  # the gradient does not depend on the draw


def test_probabilities_zero_and_one():
    out = []
    for lib in (torch, tc):
        D = lib.distributions
        c = D.Categorical(probs=lib.tensor([0.0, 1.0]))
        oh = D.OneHotCategorical(probs=lib.tensor([0.0, 0.3, 0.7]))
        out.append([c.logits, c.log_prob(lib.tensor(0)), c.entropy(), oh.entropy(),
                    oh.log_prob(lib.tensor([0.0, 1.0, 0.0])), D.Geometric(probs=lib.tensor([1.0])).log_prob(
                        lib.tensor([0.0])), D.Poisson(lib.tensor([0.0])).log_prob(lib.tensor([0.0]))])
    for e, g in zip(*out):
        np.testing.assert_allclose(_np(g), _np(e), rtol=1e-6, atol=1e-7)


def test_entropy_and_rsample_where_torch_has_none():
    for lib, err in ((torch, NotImplementedError), (tc, NotImplementedError)):
        D = lib.distributions
        with pytest.raises(err):
            D.Poisson(lib.tensor([1.0])).entropy()
        with pytest.raises(err):
            D.Poisson(lib.tensor([1.0])).rsample()
        with pytest.raises(err):
            D.Categorical(logits=lib.zeros(3)).rsample()
    for name in ("Beta", "Gamma", "Dirichlet", "Exponential", "Laplace", "LogNormal", "MultivariateNormal",
                 "Normal", "Uniform", "Cauchy", "StudentT", "HalfNormal", "RelaxedBernoulli", "ContinuousBernoulli"):
        assert getattr(tc.distributions, name).has_rsample is getattr(torch.distributions, name).has_rsample, name
    for name in ("Poisson", "Categorical", "Bernoulli", "Binomial", "Geometric", "OneHotCategorical", "VonMises"):
        assert not getattr(tc.distributions, name).has_rsample


def test_support_and_arg_constraints_surface():
    TD, D = torch.distributions, tc.distributions
    cases = [("Beta", (0.5, 0.5)), ("Gamma", (1.0, 1.0)), ("Exponential", (1.0,)), ("Laplace", (0.0, 1.0)),
             ("LogNormal", (0.0, 1.0)), ("Poisson", (1.0,)), ("Normal", (0.0, 1.0)), ("HalfNormal", (1.0,)),
             ("Cauchy", (0.0, 1.0)), ("Chi2", (2.0,)), ("StudentT", (3.0,)), ("Gumbel", (0.0, 1.0))]
    for name, args in cases:
        t = getattr(TD, name)(*[torch.tensor(a) for a in args])
        c = getattr(D, name)(*[tc.tensor(a) for a in args])
        assert sorted(c.arg_constraints) == sorted(t.arg_constraints), name
        assert repr(c.support) == repr(t.support), name
        assert c.support.is_discrete == t.support.is_discrete and c.support.event_dim == t.support.event_dim
    assert repr(D.Dirichlet(tc.ones(3)).support) == repr(TD.Dirichlet(torch.ones(3)).support)
    assert D.constraints.simplex.event_dim == 1 and D.constraints.real_vector.event_dim == 1
    mvn = D.MultivariateNormal(tc.zeros(2), scale_tril=tc.eye(2))
    assert "covariance_matrix" not in mvn.__dict__  # lazily computed, as torch
    np.testing.assert_allclose(mvn.covariance_matrix.numpy(), np.eye(2))


def test_torch_submodule_names_import():
    from tensorcore.distributions.categorical import Categorical
    from tensorcore.distributions.normal import Normal
    from tensorcore.distributions.one_hot_categorical import OneHotCategorical

    from tensorcore.distributions.utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

    assert Normal is tc.distributions.Normal and Categorical is tc.distributions.Categorical
    assert OneHotCategorical is tc.distributions.OneHotCategorical
    assert tc.distributions.transformed_distribution.TransformedDistribution is tc.distributions.TransformedDistribution
    a, b = broadcast_all(tc.zeros(3, dtype=tc.float64), 1.0)
    assert b.dtype == tc.float64 and tuple(b.shape) == (3,)
    np.testing.assert_allclose(logits_to_probs(probs_to_logits(tc.tensor([0.2, 0.8]))).numpy(), [0.2, 0.8], rtol=1e-6)
    assert callable(lazy_property)


def test_constraint_check_returns_bool_tensor_and_user_constraints_validate():
    C = tc.distributions.constraints
    got = C.interval(tc.tensor([0.0, 1.0]), 2.0).check(tc.tensor([0.5, 0.5]))
    assert isinstance(got, tc.Tensor) and got.dtype == tc.bool and got.tolist() == [True, False]

    class Even(C.Constraint):  # torch style: a subclass defines check with Tensor ops
        def check(self, value):
            return value % 2 == 0

    class EvenPoisson(tc.distributions.Poisson):
        arg_constraints = {"rate": Even()}

    EvenPoisson(tc.tensor([2.0, 4.0]))
    with pytest.raises(tc.ArgumentError):
        EvenPoisson(tc.tensor([2.0, 3.0]))


def test_modes_at_the_edges():
    def run(lib):
        D = lib.distributions
        return [D.Dirichlet(lib.tensor([[0.5, 0.3, 0.9], [2.0, 3.0, 1.0], [0.5, 2.0, 0.2]])).mode,
                D.Beta(lib.tensor([0.5, 2.0, 0.7]), lib.tensor([0.5, 3.0, 4.0])).mode,
                D.Gamma(lib.tensor([0.5, 2.0]), 1.0).mode, D.Bernoulli(lib.tensor([0.5, 0.2, 0.7])).mode,
                D.Binomial(5, lib.tensor([0.5, 0.99])).mode, D.Poisson(lib.tensor([2.5, 3.0])).mode,
                D.Categorical(lib.tensor([[0.2, 0.5, 0.3]])).mode]

    for e, g in zip(run(torch), run(tc)):
        np.testing.assert_allclose(_np(g), _np(e), rtol=1e-6, atol=1e-7)


DEVICE_FAMILIES = {
    "Gamma": lambda D, t: D.Gamma(t([0.5, 2.0]), t([1.0, 2.0])), "Beta": lambda D, t: D.Beta(t([0.5, 2.0]), 1.0),
    "Dirichlet": lambda D, t: D.Dirichlet(t([0.5, 2.0, 1.0])), "Exponential": lambda D, t: D.Exponential(t([0.5])),
    "Laplace": lambda D, t: D.Laplace(t([0.5]), 1.0), "LogNormal": lambda D, t: D.LogNormal(t([0.5]), 2.0),
    "Poisson": lambda D, t: D.Poisson(t([0.5, 2.0])), "Binomial": lambda D, t: D.Binomial(3, t([0.2, 0.5])),
    "MultivariateNormal": lambda D, t: D.MultivariateNormal(t([0.0, 1.0]), precision_matrix=t([[2.0, 0.5],
                                                                                               [0.5, 1.0]])),
    "Independent": lambda D, t: D.Independent(D.Normal(t([0.0, 1.0]), 1.0), 1),
    "OneHotCategorical": lambda D, t: D.OneHotCategorical(logits=t([0.5, 2.0])),
    "StickBreaking": lambda D, t: D.TransformedDistribution(D.Normal(t([0.0, 1.0]), 1.0),
                                                            [D.transforms.StickBreakingTransform()]),
    "StudentT": lambda D, t: D.StudentT(t([3.0, 4.0])), "HalfCauchy": lambda D, t: D.HalfCauchy(t([1.0, 2.0])),
    "LKJCholesky": lambda D, t: D.LKJCholesky(3, t(2.0)),
}


@pytest.mark.parametrize("name", sorted(DEVICE_FAMILIES))
def test_families_stay_on_the_device(name, device):
    D = tc.distributions

    def t(v):
        return tc.tensor(v, device=device)

    d = DEVICE_FAMILIES[name](D, t)
    s = d.sample((3,))
    outs = [s, d.log_prob(s)]
    for prop in ("mean", "variance", "entropy"):  # (LKJCholesky, StickBreaking and Poisson lack some, as in torch)
        try:
            outs.append(getattr(d, prop)() if prop == "entropy" else getattr(d, prop))
        except NotImplementedError:
            assert name in ("LKJCholesky", "StickBreaking", "Poisson")
    if d.has_rsample:
        outs.append(d.rsample((2,)))
    if name in ("Gamma", "Beta", "Exponential", "Laplace", "Poisson", "Binomial", "Dirichlet", "MultivariateNormal"):
        outs.append(D.kl_divergence(d, DEVICE_FAMILIES[name](D, t)))
    assert all(o.device.type == device for o in outs), [o.device for o in outs]
