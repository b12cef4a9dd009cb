"""Optimizers, lr schedulers and nn.utils helpers checked step by step against torch.optim on the same
parameters and gradients."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim

torch = pytest.importorskip("torch")

OPTIMIZER_CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.5), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
]


@pytest.fixture
def torch_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam's mu_product and step counters in float64, as ours
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name,kw", OPTIMIZER_CASES)
def test_optimizer_matches_torch(name, kw, torch_float64):
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    ps = [nn.Parameter(tc.tensor(w0)), nn.Parameter(tc.tensor(b0))]
    tps = [torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
    opt, topt = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(tps, **kw)
    for step in range(12):
        for p, tp in zip(ps, tps):
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = tc.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        for p, tp in zip(ps, tps):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} step {step}")
    assert opt.state[ps[0]]["step"] == 12


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_optimizer_state_dict_resumes(name):
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(6)]

    def run(split):
        p = nn.Parameter(tc.tensor(w0))
        opt = getattr(optim, name)([p], lr=0.01)
        for i, g in enumerate(grads):
            if i == split:
                saved = opt.state_dict()
                p2 = nn.Parameter(tc.tensor(p.numpy().copy()))
                opt = getattr(optim, name)([p2], lr=0.01)
                opt.load_state_dict(saved)
                p = p2
            p.grad = tc.tensor(g)
            opt.step()
        return p.numpy()

    np.testing.assert_allclose(run(3), run(-1), rtol=1e-13)


@pytest.mark.parametrize("name,kw", [("Adadelta", {"rho": 1.5}), ("Adamax", {"betas": (0.9, 1.0)}),
                                     ("NAdam", {"momentum_decay": -1}), ("RAdam", {"eps": -1}),
                                     ("RAdam", {"capturable": True}), ("NAdam", {"differentiable": True}),
                                     ("LBFGS", {"line_search_fn": "backtracking"}), ("LBFGS", {"max_iter": 0})])
def test_bad_hyperparameters_raise(name, kw):
    with pytest.raises(tc.TensorcoreError, match=name):
        getattr(optim, name)([nn.Parameter(tc.ones(2))], **kw)


def _rosenbrock_pair(start):
    p, tp = nn.Parameter(tc.tensor(start)), torch.tensor(start, requires_grad=True)

    def loss_of(x):
        return ((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2) + (x[2] ** 2) * 0.5

    return p, tp, loss_of


@pytest.mark.parametrize("kw", [{}, {"lr": 0.1, "history_size": 3, "max_iter": 7},
                                {"line_search_fn": "strong_wolfe"},
                                {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 8}])
def test_lbfgs_matches_torch(kw):
    p, tp, loss_of = _rosenbrock_pair(np.array([-1.2, 1.0, 0.5]))
    opt, topt = optim.LBFGS([p], **kw), torch.optim.LBFGS([tp], **kw)

    def closure():
        opt.zero_grad()
        loss = loss_of(p)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = loss_of(tp)
        loss.backward()
        return loss

    for _ in range(4):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        # NOTE: Rosenbrock's valley amplifies last-bit differences of the dot products (1e-15 -> 1e-9).
        assert float(loss) == pytest.approx(float(tloss.detach()), rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)
    st, tst = opt.state[p], topt.state[tp]
    assert (st["n_iter"], st["func_evals"]) == (tst["n_iter"], tst["func_evals"])


def test_lbfgs_needs_a_closure_and_one_group():
    p = nn.Parameter(tc.ones(2))
    with pytest.raises(tc.TensorcoreError, match="closure"):
        optim.LBFGS([p]).step()
    with pytest.raises(tc.TensorcoreError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [nn.Parameter(tc.ones(1))]}])
