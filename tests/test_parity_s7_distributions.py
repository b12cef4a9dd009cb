"""Session 7 parity with PyTorch: tc.distributions (Categorical, Normal, Bernoulli, Uniform, kl_divergence:
log_prob, entropy and their gradients against torch's; samples with the right shapes and frequencies), the
nn.init functions public code uses (trunc_normal_, orthogonal_, eye_, dirac_), torch.cuda's housekeeping."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
LOGITS, LOC, SCALE = RNG.standard_normal((3, 4)), RNG.standard_normal(3), np.exp(RNG.standard_normal(3))


def _np(values):
    return [np.asarray(v.detach().numpy() if hasattr(v, "detach") else v, dtype=float) for v in values]


def _agree(run):
    for a, b in zip(_np(run(torch)), _np(run(tc))):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_categorical_log_prob_entropy_grads_and_kl():
    def run(lib):
        logits = lib.tensor(LOGITS, requires_grad=True)
        d = lib.distributions.Categorical(logits=logits)
        lp, ent = d.log_prob(lib.tensor([0, 3, 1])), d.entropy()
        (lp.sum() + ent.sum()).backward()
        d2 = lib.distributions.Categorical(probs=lib.tensor(np.abs(LOGITS)))
        return [lp, ent, logits.grad, d.probs, d2.logits, lib.distributions.kl_divergence(d, d2),
                d2.log_prob(lib.tensor([[1], [2]])), list(d.sample((5,)).shape), list(d.batch_shape)]
    _agree(run)


def test_normal_log_prob_entropy_cdf_grads_and_kl():
    def run(lib):
        loc, scale = lib.tensor(LOC, requires_grad=True), lib.tensor(SCALE, requires_grad=True)
        d = lib.distributions.Normal(loc, scale)
        v = lib.tensor([0.1, -0.5, 2.0])
        lp, ent = d.log_prob(v), d.entropy()
        (lp.sum() + ent.sum()).backward()
        std = lib.distributions.Normal(lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64))
        return [lp, ent, d.cdf(v), loc.grad, scale.grad, lib.distributions.kl_divergence(d, std), d.stddev,
                list(d.rsample((2,)).shape), [d.rsample().requires_grad, d.sample().requires_grad]]
    _agree(run)


def test_bernoulli_and_uniform():
    def run(lib):
        logits = lib.tensor(LOGITS[0], requires_grad=True)
        d = lib.distributions.Bernoulli(logits=logits)
        lp, ent = d.log_prob(lib.tensor([1.0, 0.0, 1.0, 1.0], dtype=lib.float64)), d.entropy()
        (lp.sum() + ent.sum()).backward()
        p = lib.distributions.Bernoulli(probs=lib.tensor([0.2, 0.7]))
        f64 = lib.float64
        u = lib.distributions.Uniform(lib.tensor([0.0, 1.0], dtype=f64), lib.tensor([2.0, 5.0], dtype=f64))
        return [lp, ent, logits.grad, p.log_prob(lib.tensor([1.0, 0.0])), p.entropy(),
                u.log_prob(lib.tensor([1.0, 1.5], dtype=f64)), u.entropy(), u.variance, list(u.sample((3,)).shape)]
    _agree(run)


def test_categorical_samples_follow_the_probabilities():
    tc.manual_seed(0)
    probs = np.array([0.1, 0.6, 0.3])
    draws = tc.distributions.Categorical(probs=tc.tensor(probs)).sample((20000,)).numpy()
    assert draws.dtype == np.int64
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / draws.size, probs, atol=0.015)
    tc.manual_seed(0)
    again = tc.distributions.Categorical(probs=tc.tensor(probs)).sample((20000,)).numpy()
    assert np.array_equal(draws, again)


def test_init_functions_public_code_uses():
    w = tc.empty(3, 5)
    q = tc.nn.init.orthogonal_(w, gain=2.0).numpy()
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(3), atol=1e-5)
    t = tc.nn.init.trunc_normal_(tc.empty(5000), std=0.02, a=-0.04, b=0.04).numpy()
    assert t.min() >= -0.04 and t.max() <= 0.04 and 0.015 < t.std() < 0.02
    for shape, groups in (((4, 2, 3, 3), 2), ((3, 3, 5), 1)):
        a, b = tc.empty(*shape), torch.empty(*shape)
        assert np.array_equal(tc.nn.init.dirac_(a, groups).numpy(), torch.nn.init.dirac_(b, groups).numpy())
    assert np.array_equal(tc.nn.init.eye_(tc.empty(2, 3)).numpy(), torch.nn.init.eye_(torch.empty(2, 3)).numpy())


def test_cuda_housekeeping_calls_run_anywhere():
    before = tc.rand(3).numpy()
    tc.manual_seed(7)
    first = tc.rand(3).numpy()
    tc.manual_seed(7)
    tc.cuda.manual_seed_all(0)
    tc.cuda.manual_seed(1)
    tc.cuda.empty_cache()
    tc.cuda.reset_peak_memory_stats()
    assert np.array_equal(tc.rand(3).numpy(), first) and before.shape == (3,)
    assert tc.cuda.memory_allocated() >= 0 and isinstance(tc.cuda.is_bf16_supported(), bool)
