"""Optimizers, lr schedulers and nn.utils helpers checked step by step against torch.optim on the same
parameters and gradients."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim
from tensorcore.optim import lr_scheduler as S

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
    old, tc_old = torch.get_default_dtype(), tc.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam's mu_product and step counters in float64, in both: they
    tc.set_default_dtype(tc.float64)  # follow the default dtype (torch's _get_scalar_dtype)
    yield
    torch.set_default_dtype(old)
    tc.set_default_dtype(tc_old)


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


# --- lr schedulers ---------------------------------------------------------------------------------

def _two_group_optimizers(kind="SGD"):
    kw = {"momentum": 0.9} if kind == "SGD" else {}
    p1, p2 = nn.Parameter(tc.ones(2)), nn.Parameter(tc.ones(3))
    t1, t2 = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = getattr(optim, kind)([{"params": [p1]}, {"params": [p2], "lr": 0.05}], lr=0.1, **kw)
    topt = getattr(torch.optim, kind)([{"params": [t1]}, {"params": [t2], "lr": 0.05}], lr=0.1, **kw)
    return opt, topt


def _momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


SCHEDULER_CASES = {
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=3),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=6, power=2.0),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lr_lambda=lambda t: 0.9 if t % 2 else 0.8),
    "MultiplicativeLR-per-group": lambda S, o: S.MultiplicativeLR(o, [lambda t: 0.9, lambda t: 0.5]),
    "LambdaLR-per-group": lambda S, o: S.LambdaLR(o, [lambda t: 1 / (t + 1), lambda t: 0.95**t]),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=4),
    "CosineAnnealingLR-past-T_max": lambda S, o: S.CosineAnnealingLR(o, T_max=3, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.01),
    "CosineAnnealingWarmRestarts-T_mult": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
    "CyclicLR": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3),
    "CyclicLR-triangular2": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=2,
                                                    step_size_down=3, mode="triangular2"),
    "CyclicLR-exp_range": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2, mode="exp_range",
                                                  gamma=0.9, base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2, scale_fn=lambda x: 0.5 ** x,
                                                 scale_mode="iterations", cycle_momentum=False),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=4),
                                                         S.ExponentialLR(o, gamma=0.9)]),
    "ChainedScheduler-warmup-step": lambda S, o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.5, total_iters=3),
                                                                     S.StepLR(o, step_size=2, gamma=0.5),
                                                                     S.MultiStepLR(o, milestones=[3, 3, 6])]),
    "ChainedScheduler-cosine-poly": lambda S, o: S.ChainedScheduler([S.CosineAnnealingLR(o, T_max=4),
                                                                     S.PolynomialLR(o, total_iters=8)]),
    "SequentialLR": lambda S, o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=2),
                                                    S.ExponentialLR(o, gamma=0.8)], milestones=[3]),
}


@pytest.mark.parametrize("label", sorted(SCHEDULER_CASES))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_scheduler_matches_torch(label, kind):
    opt, topt = _two_group_optimizers(kind)
    make = SCHEDULER_CASES[label]
    sched, tsched = make(S, opt), make(torch.optim.lr_scheduler, topt)
    for step in range(14):
        for g, tg in zip(opt.param_groups, topt.param_groups):
            assert g["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=1e-15), f"{label} step {step}"
            assert _momentum(g) == pytest.approx(_momentum(tg), rel=1e-12), f"{label} momentum, step {step}"
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("epochs", [[0.5, 1.25, 2.0, 3.7, 7.1], [0, 1, 5, 6, 13]])
def test_warm_restarts_fractional_epochs_match_torch(epochs):
    opt, topt = _two_group_optimizers()
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.001)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=2, eta_min=0.001)
    for e in epochs:
        sched.step(e)
        tsched.step(e)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)


def test_reduce_lr_on_plateau_matches_torch():
    opt, topt = _two_group_optimizers()
    kw = dict(mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", cooldown=1, min_lr=0.01)
    sched, tsched = S.ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    for metric in [1.0, 1.005, 0.9, 0.8, 1.2, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7]:
        sched.step(metric)
        tsched.step(metric)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups])


def test_scheduler_errors_are_named():
    opt, _ = _two_group_optimizers()
    with pytest.raises(tc.TensorcoreError, match="ConstantLR"):
        S.ConstantLR(opt, factor=1.5)
    with pytest.raises(tc.TensorcoreError, match="CyclicLR"):
        S.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(tc.TensorcoreError, match="momentum"):
        S.CyclicLR(optim.Adagrad([nn.Parameter(tc.ones(1))]), 0.01, 0.1)
    with pytest.raises(tc.TensorcoreError, match="lr_lambdas"):
        S.MultiplicativeLR(opt, [lambda t: 1.0])
    with pytest.raises(tc.TensorcoreError, match="ReduceLROnPlateau"):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])
    with pytest.raises(tc.TensorcoreError, match="T_0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)


def test_chained_scheduler_state_dict_round_trip():
    opt, _ = _two_group_optimizers()
    chain = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.9)])
    for _ in range(3):
        chain.step()
    state = chain.state_dict()
    opt2, _ = _two_group_optimizers()
    chain2 = S.ChainedScheduler([S.ConstantLR(opt2, factor=0.5, total_iters=2), S.ExponentialLR(opt2, gamma=0.9)])
    chain2.load_state_dict(state)
    chain.step()
    chain2.step()
    assert chain2.get_last_lr() == pytest.approx(chain.get_last_lr())


# --- nn.utils ----------------------------------------------------------------------------------------

def test_clip_grad_value_and_vector_helpers_match_torch():
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    ps = [nn.Parameter(tc.tensor(w)) for w in ws]
    tps = [torch.tensor(w, requires_grad=True) for w in ws]
    for p, tp in zip(ps, tps):
        g = 3 * rng.standard_normal(p.shape)
        p.grad, tp.grad = tc.tensor(g), torch.tensor(g)
    nn.utils.clip_grad_value_(ps, 0.5)
    torch.nn.utils.clip_grad_value_(tps, 0.5)
    for p, tp in zip(ps, tps):
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    vec, tvec = nn.utils.parameters_to_vector(ps), torch.nn.utils.parameters_to_vector(tps)
    np.testing.assert_array_equal(vec.numpy(), tvec.detach().numpy())
    assert vec.requires_grad and vec.shape == (10,)
    for p in ps:
        p.grad = None
    (vec * tc.arange(10.0, dtype=tc.float64)).sum().backward()  # differentiable, as PyTorch's (cat of views)
    np.testing.assert_array_equal(ps[1].grad.numpy(), np.arange(6.0, 10.0))
    new = rng.standard_normal(10)
    nn.utils.vector_to_parameters(tc.tensor(new), ps)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tps)
    for p, tp in zip(ps, tps):
        np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
    with pytest.raises(tc.TensorcoreError, match="vector_to_parameters"):
        nn.utils.vector_to_parameters(tc.zeros(9), ps)
    np.testing.assert_array_equal(ps[0].numpy(), tps[0].detach().numpy())  # nothing written on error
    with pytest.raises(tc.TensorcoreError, match="clip_value"):
        nn.utils.clip_grad_value_(ps, "big")
