"""Learning-rate schedules against hand-computed values (and PyTorch's schedulers when installed)."""

import math

import pytest

import tensorcore as tc
from tensorcore import nn, optim
from tensorcore.optim import lr_scheduler as S


def _opt(lr=0.1, kind="sgd"):
    p = nn.Parameter(tc.ones(1))
    if kind == "adam":
        return optim.Adam([p], lr=lr)
    return optim.SGD([p], lr=lr, momentum=0.9)


def _lrs(sched, steps):
    """The lr in use at steps 0..steps-1 (before each scheduler.step())."""
    out = []
    for _ in range(steps):
        out.append(sched.optimizer.param_groups[0]["lr"])
        sched.optimizer.step()
        sched.step()
    return out


def test_step_lr():
    assert _lrs(S.StepLR(_opt(), step_size=2, gamma=0.5), 6) == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_multistep_lr():
    got = _lrs(S.MultiStepLR(_opt(), milestones=[3, 1], gamma=0.1), 5)
    assert got == pytest.approx([0.1, 0.01, 0.01, 0.001, 0.001])


def test_exponential_lr():
    assert _lrs(S.ExponentialLR(_opt(), gamma=0.9), 4) == pytest.approx([0.1, 0.09, 0.081, 0.0729])


def test_cosine_annealing():
    got = _lrs(S.CosineAnnealingLR(_opt(), T_max=4, eta_min=0.01), 5)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    assert got == pytest.approx(expected)
    assert got[2] == pytest.approx(0.055) and got[4] == pytest.approx(0.01)


def test_linear_warmup():
    got = _lrs(S.LinearLR(_opt(), start_factor=0.25, total_iters=3), 5)
    assert got == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])


def test_linear_warmup_then_cosine():
    sched = S.linear_warmup(_opt(), warmup_steps=2, start_factor=0.0, after=lambda o: S.CosineAnnealingLR(o, T_max=2))
    assert _lrs(sched, 5) == pytest.approx([0.0, 0.05, 0.1, 0.05, 0.0])
    plain = S.linear_warmup(_opt(), warmup_steps=4)
    assert _lrs(plain, 6) == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1])


def test_lambda_lr():
    assert _lrs(S.LambdaLR(_opt(), lambda t: 1 / (t + 1)), 3) == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_onecycle_by_hand():
    opt = _opt(kind="sgd")
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3, div_factor=10, final_div_factor=100)
    lrs, moms = [], []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    # up from 0.1 to 1.0 over steps 0..2 (cosine), then down to 0.001 over steps 2..9
    assert lrs[0] == pytest.approx(0.1) and lrs[2] == pytest.approx(1.0) and lrs[9] == pytest.approx(0.001)
    assert lrs[1] == pytest.approx(1.0 + (0.1 - 1.0) / 2 * (math.cos(math.pi * 0.5) + 1))
    assert moms[0] == pytest.approx(0.95) and moms[2] == pytest.approx(0.85) and moms[9] == pytest.approx(0.95)
    with pytest.raises(optim.OptimizerError):
        for _ in range(5):
            sched.step()


def test_onecycle_cycles_adam_beta1_and_linear():
    opt = _opt(kind="adam")
    sched = S.OneCycleLR(opt, max_lr=0.01, epochs=2, steps_per_epoch=5, anneal_strategy="linear")
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)
    sched.step()
    assert 0.85 < opt.param_groups[0]["betas"][0] < 0.95


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_onecycle_against_torch(three_phase, strategy):
    torch = pytest.importorskip("torch")
    opt = _opt(kind="sgd")
    tp = torch.nn.Parameter(torch.ones(1))
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    kw = dict(max_lr=0.5, total_steps=20, pct_start=0.25, anneal_strategy=strategy, three_phase=three_phase)
    sched, tsched = S.OneCycleLR(opt, **kw), torch.optim.lr_scheduler.OneCycleLR(topt, **kw)
    for _ in range(19):
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-9)
        assert opt.param_groups[0]["momentum"] == pytest.approx(topt.param_groups[0]["momentum"], rel=1e-9)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


def test_schedulers_against_torch():
    torch = pytest.importorskip("torch")
    cases = [("StepLR", {"step_size": 3, "gamma": 0.5}), ("MultiStepLR", {"milestones": [2, 5], "gamma": 0.3}),
             ("ExponentialLR", {"gamma": 0.8}), ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}),
             ("LinearLR", {"start_factor": 0.2, "total_iters": 4})]
    for name, kw in cases:
        opt = _opt()
        topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
        sched, tsched = getattr(S, name)(opt, **kw), getattr(torch.optim.lr_scheduler, name)(topt, **kw)
        for _ in range(8):
            assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-9), name
            opt.step()
            topt.step()
            sched.step()
            tsched.step()


def test_reduce_on_plateau():
    opt = _opt()
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, cooldown=1, min_lr=0.02)
    lrs = []
    for loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        sched.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    # two bad epochs -> halve; one cooldown epoch; two more bad -> halve; ... floor 0.02
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    sched2 = S.ReduceLROnPlateau(_opt(), mode="max", patience=0, factor=0.1)
    sched2.step(0.5)
    sched2.step(0.4)
    assert sched2.get_last_lr() == pytest.approx([0.01])


def test_state_dict_round_trip(tmp_path):
    opt = _opt()
    sched = S.CosineAnnealingLR(opt, T_max=10)
    for _ in range(3):
        opt.step()
        sched.step()
    tc.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.npz")
    state = tc.load(tmp_path / "s.npz")
    opt2 = _opt()
    opt2.load_state_dict(state["opt"])
    sched2 = S.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(state["sched"])
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == pytest.approx(sched.get_last_lr())
    plateau = S.ReduceLROnPlateau(_opt())
    plateau.step(1.0)
    tc.save(plateau.state_dict(), tmp_path / "p.npz")
    again = S.ReduceLROnPlateau(_opt())
    again.load_state_dict(tc.load(tmp_path / "p.npz"))
    assert again.best == 1.0


def test_bad_arguments():
    with pytest.raises(optim.OptimizerError):
        S.StepLR(_opt(), step_size=0)
    with pytest.raises(optim.OptimizerError):
        S.OneCycleLR(_opt(), max_lr=0.1)
    with pytest.raises(optim.OptimizerError):
        S.ReduceLROnPlateau(_opt(), factor=2.0)
    with pytest.raises(optim.OptimizerError):
        S.CosineAnnealingLR(_opt(), T_max=5, last_epoch=3)  # resuming needs initial_lr in the groups
