"""tensorcore.optim: update formulas against hand-computed steps (and PyTorch when installed), state dicts."""

import math

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim
from tensorcore.serialization import StateDictError

GRADS = [0.5, -1.0, 2.0]  # the gradient at each of three steps, for a scalar parameter starting at 1.0


def _run(make_opt, grads=GRADS, w0=1.0):
    """Scalar parameter w0 (float64), one step per gradient; returns the parameter after each step."""
    p = nn.Parameter(tc.tensor([w0], dtype=tc.float64))
    opt = make_opt([p])
    out = []
    for g in grads:
        p.grad = tc.tensor([g], dtype=tc.float64)
        opt.step()
        out.append(float(p.item()))
    return out


def test_sgd_plain():
    # w <- w - lr g
    assert _run(lambda ps: optim.SGD(ps, lr=0.1)) == pytest.approx([0.95, 1.05, 0.85])


def test_sgd_momentum_dampening_weight_decay():
    lr, mu, damp, wd = 0.1, 0.9, 0.5, 0.01
    w, b, expected = 1.0, None, []
    for g in GRADS:
        g = g + wd * w
        b = g if b is None else mu * b + (1 - damp) * g
        w -= lr * b
        expected.append(w)
    got = _run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, dampening=damp, weight_decay=wd))
    assert got == pytest.approx(expected, rel=1e-12)
    # by hand, no dampening: b1 = .5, w1 = .95; b2 = .45 - 1 = -.55, w2 = 1.005; b3 = -.495 + 2 = 1.505, w3 = .8545
    assert _run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)) == pytest.approx([0.95, 1.005, 0.8545])


def test_sgd_nesterov_and_maximize():
    # nesterov: g' = g + mu b. b1 = .5 -> g' = .95, w1 = .905; b2 = -.55 -> g' = -1.495, w2 = 1.0545
    assert _run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True))[:2] == pytest.approx([0.905, 1.0545])
    assert _run(lambda ps: optim.SGD(ps, lr=0.1, maximize=True)) == pytest.approx([1.05, 0.95, 1.15])


def _adam_reference(grads, lr, b1, b2, eps, wd=0.0, amsgrad=False, decoupled=False, w=1.0):
    m = v = vmax = 0.0
    out = []
    for t, g in enumerate(grads, 1):
        if wd and decoupled:
            w *= 1 - lr * wd
        elif wd:
            g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        vv = vmax if amsgrad else v
        w -= lr / (1 - b1**t) * m / (math.sqrt(vv) / math.sqrt(1 - b2**t) + eps)
        out.append(w)
    return out


def test_adam_first_step_by_hand():
    # step 1: m_hat = g, v_hat = g^2, so w1 = w0 - lr * g / (|g| + eps) ~ w0 - lr * sign(g)
    got = _run(lambda ps: optim.Adam(ps, lr=0.1), grads=[0.5])
    assert got[0] == pytest.approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-8), rel=1e-12)


@pytest.mark.parametrize("kw", [{}, {"weight_decay": 0.1}, {"amsgrad": True}, {"amsgrad": True, "weight_decay": 0.1}])
def test_adam_three_steps(kw):
    got = _run(lambda ps: optim.Adam(ps, lr=0.1, betas=(0.8, 0.9), eps=1e-6, **kw))
    assert got == pytest.approx(_adam_reference(GRADS, 0.1, 0.8, 0.9, 1e-6, kw.get("weight_decay", 0.0),
                                                kw.get("amsgrad", False)), rel=1e-12)


def test_amsgrad_differs_when_v_shrinks():
    grads = [3.0, 0.1, 0.1]
    a = _run(lambda ps: optim.Adam(ps, lr=0.1, betas=(0.9, 0.5), amsgrad=True), grads=grads)
    b = _run(lambda ps: optim.Adam(ps, lr=0.1, betas=(0.9, 0.5)), grads=grads)
    assert a[-1] != pytest.approx(b[-1], rel=1e-6)
    assert a == pytest.approx(_adam_reference(grads, 0.1, 0.9, 0.5, 1e-8, amsgrad=True), rel=1e-12)


def test_adamw_decoupled_weight_decay():
    got = _run(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5))
    assert got == pytest.approx(_adam_reference(GRADS, 0.1, 0.9, 0.999, 1e-8, 0.5, decoupled=True), rel=1e-12)
    assert optim.AdamW([nn.Parameter(tc.zeros(1))]).defaults["weight_decay"] == 0.01


def test_rmsprop_by_hand():
    lr, alpha, eps = 0.01, 0.9, 1e-8
    w, v, expected = 1.0, 0.0, []
    for g in GRADS:
        v = alpha * v + (1 - alpha) * g * g
        w -= lr * g / (math.sqrt(v) + eps)
        expected.append(w)
    assert _run(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps)) == pytest.approx(expected, rel=1e-12)


def test_rmsprop_centered_momentum():
    lr, alpha, eps, mu = 0.01, 0.9, 1e-8, 0.5
    w, v, a, b, expected = 1.0, 0.0, 0.0, 0.0, []
    for g in GRADS:
        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g
        b = mu * b + g / (math.sqrt(v - a * a) + eps)
        w -= lr * b
        expected.append(w)
    got = _run(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps, momentum=mu, centered=True))
    assert got == pytest.approx(expected, rel=1e-10)


def test_adagrad_by_hand():
    lr, decay, eps, init = 0.1, 0.5, 1e-10, 0.1
    w, s, expected = 1.0, init, []
    for t, g in enumerate(GRADS, 1):
        s += g * g
        w -= lr / (1 + (t - 1) * decay) * g / (math.sqrt(s) + eps)
        expected.append(w)
    got = _run(lambda ps: optim.Adagrad(ps, lr=lr, lr_decay=decay, initial_accumulator_value=init))
    assert got == pytest.approx(expected, rel=1e-12)


TORCH_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]


@pytest.mark.parametrize("name,kw", TORCH_CASES)
def test_against_torch(name, kw, rng):
    torch = pytest.importorskip("torch")
    w0 = rng.standard_normal((3, 4))
    p = nn.Parameter(tc.tensor(w0))
    tp = torch.tensor(w0, requires_grad=True)
    opt, topt = getattr(optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    for _ in range(5):
        g = rng.standard_normal((3, 4))
        p.grad, tp.grad = tc.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-12)


# --- mechanics -----------------------------------------------------------------------------------


def test_step_is_in_place_and_bumps_version():
    p = nn.Parameter(tc.ones(3))
    data, version = p._data, p._version
    opt = optim.Adam([p])
    p.grad = tc.ones(3)
    opt.step()
    assert p._data is data and p._version == version + 1 and p.is_leaf and p.grad_fn is None


def test_params_without_grad_are_skipped_and_zero_grad():
    a, b = nn.Parameter(tc.ones(2)), nn.Parameter(tc.ones(2))
    opt = optim.SGD([a, b], lr=1.0)
    a.grad = tc.ones(2)
    opt.step()
    np.testing.assert_array_equal(a.numpy(), [0, 0])
    np.testing.assert_array_equal(b.numpy(), [1, 1])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0, 0])
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(tc.ones(1)), nn.Parameter(tc.ones(1))
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1)
    a.grad = b.grad = tc.ones(1)
    opt.step()
    assert a.item() == pytest.approx(0.5) and b.item() == pytest.approx(0.9)
    opt.add_param_group({"params": nn.Parameter(tc.ones(1)), "lr": 1.0})
    assert len(opt.param_groups) == 3


def test_closure():
    p = nn.Parameter(tc.tensor([2.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 4.0
    assert p.item() == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(optim.OptimizerError):
        optim.SGD([], lr=0.1)
    with pytest.raises(optim.OptimizerError):
        optim.SGD([nn.Parameter(tc.ones(1))], lr=-1)
    with pytest.raises(optim.OptimizerError):
        optim.SGD(nn.Parameter(tc.ones(1)))
    x = tc.ones(2, requires_grad=True)
    with pytest.raises(optim.OptimizerError):
        optim.SGD([x * 2])
    p = nn.Parameter(tc.ones(1))
    with pytest.raises(optim.OptimizerError):
        optim.SGD([p, p])
    with pytest.raises(optim.OptimizerError):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(optim.OptimizerError):
        optim.SGD([p], nesterov=True)


def test_backend_can_replace_the_update(monkeypatch):
    from tensorcore.backends import cpu

    calls = []

    def fused(xp, param, grad, *args, **kw):
        calls.append(kw["step"])
        param -= 1

    monkeypatch.setattr(cpu, "adam_update", fused, raising=False)
    p = nn.Parameter(tc.zeros(2))
    opt = optim.Adam([p])
    p.grad = tc.ones(2)
    opt.step()
    opt.step()
    assert calls == [1, 2] and float(p[0]) == -2


# --- state dicts ---------------------------------------------------------------------------------


def _train(model, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = tc.tensor(rng.standard_normal((8, 4)).astype(np.float32))
        y = tc.tensor(rng.integers(0, 3, 8))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
                                  lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
                                  lambda ps: optim.Adagrad(ps, lr=0.1)])
def test_state_dict_resume_equals_uninterrupted(make, tmp_path):
    tc.manual_seed(0)
    ref = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    start = {k: v.numpy().copy() for k, v in ref.state_dict().items()}
    ref_opt = make(list(ref.parameters()))
    _train(ref, ref_opt, 3, seed=1)
    tc.save({"model": ref.state_dict(), "opt": ref_opt.state_dict()}, tmp_path / "ck.npz")
    _train(ref, ref_opt, 3, seed=2)

    other = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    other.load_state_dict(start)
    ck = tc.load(tmp_path / "ck.npz")
    other.load_state_dict(ck["model"])
    other_opt = make(list(other.parameters()))
    other_opt.load_state_dict(ck["opt"])
    _train(other, other_opt, 3, seed=2)
    for (k, a), b in zip(ref.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_state_dict_is_a_copy_and_keeps_hyperparameters():
    p = nn.Parameter(tc.ones(2))
    opt = optim.Adam([p], lr=0.5, betas=(0.8, 0.9))
    p.grad = tc.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["lr"] == 0.5 and sd["param_groups"][0]["params"] == [0]
    assert sd["state"][0]["step"] == 1 and "_scratch" not in sd["state"][0]
    sd["state"][0]["exp_avg"].data[...] = 99
    assert float(opt.state[p]["exp_avg"][0]) != 99
    opt2 = optim.Adam([nn.Parameter(tc.ones(2))], lr=0.1)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.5 and opt2.param_groups[0]["betas"] == (0.8, 0.9)


def test_load_state_dict_errors_name_the_problem():
    p = nn.Parameter(tc.ones(2))
    opt = optim.Adam([p])
    p.grad = tc.ones(2)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(StateDictError, match="1 parameter groups"):
        optim.Adam([{"params": [nn.Parameter(tc.ones(2))]}, {"params": [nn.Parameter(tc.ones(2))]}]).load_state_dict(sd)
    with pytest.raises(StateDictError, match="exp_avg"):
        optim.Adam([nn.Parameter(tc.ones(3))]).load_state_dict(sd)
    with pytest.raises(StateDictError, match="1 parameters in the state, 2 here"):
        optim.Adam([nn.Parameter(tc.ones(2)), nn.Parameter(tc.ones(2))]).load_state_dict(sd)
    with pytest.raises(StateDictError):
        optim.Adam([nn.Parameter(tc.ones(2))]).load_state_dict({"state": {}})


# --- Adam's flat (foreach) path -------------------------------------------------------------------


def _two_models(seed=0):
    tc.manual_seed(seed)
    a = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    b = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("kw", [{}, {"amsgrad": True, "weight_decay": 0.1}])
@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_flat_adam_equals_per_parameter_loop(cls, kw):
    a, b = _two_models()
    opt_a, opt_b = cls(a.parameters(), lr=0.01, foreach=True, **kw), cls(b.parameters(), lr=0.01, foreach=False, **kw)
    _train(a, opt_a, 20, seed=4)
    _train(b, opt_b, 20, seed=4)
    assert opt_a._flat and not opt_b._flat
    for x, y in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    sa, sb = opt_a.state_dict(), opt_b.state_dict()
    for i in sb["state"]:
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(sa["state"][i][k].numpy(), sb["state"][i][k].numpy())
        assert sa["state"][i]["step"] == sb["state"][i]["step"] == 20


def test_flat_adam_falls_back_and_repacks():
    a, b = _two_models()
    opt_a, opt_b = optim.Adam(a.parameters(), lr=0.01), optim.Adam(b.parameters(), lr=0.01, foreach=False)
    _train(a, opt_a, 3, seed=1)
    _train(b, opt_b, 3, seed=1)
    for model, opt in ((a, opt_a), (b, opt_b)):  # a step where one parameter has no gradient
        opt.zero_grad()
        model(tc.ones((2, 4))).sum().backward()
        model[0].bias.grad = None
        opt.step()
    assert opt_a.state[a[0].bias]["step"] == 3 and opt_a.state[a[0].weight]["step"] == 4
    _train(a, opt_a, 2, seed=2)  # steps differ between parameters: the loop keeps going
    _train(b, opt_b, 2, seed=2)
    for x, y in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    for model, opt in ((a, opt_a), (b, opt_b)):  # equal steps again: a's group is packed again
        opt.zero_grad()
        model(tc.ones((2, 4))).sum().backward()
        model[0].weight.grad = model[0].weight.grad * 0
        opt.step()
    _train(a, opt_a, 1, seed=3)
    w = a[0].weight
    w._data = w._data.copy()  # an array replaced behind the optimizer's back (as model.to does): repacked
    _train(a, opt_a, 2, seed=5)
    _train(b, opt_b, 1, seed=3)
    _train(b, opt_b, 2, seed=5)
    assert opt_a._flat
    for x, y in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_flat_adam_parameters_stay_usable():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    opt = optim.Adam(model.parameters(), lr=0.1)
    w = model[0].weight
    _x = tc.ones((1, 3))
    opt.zero_grad()
    model(_x).sum().backward()
    opt.step()
    assert model[0].weight is w and w._data.base is not None  # now a view into the packed buffer
    model.load_state_dict({k: np.zeros(v.shape) for k, v in model.state_dict().items()})
    assert float(abs(w).max()) == 0  # in-place loading reaches the packed buffer
    sd = opt.state_dict()
    opt2 = optim.Adam(model.parameters(), lr=0.1)
    opt2.load_state_dict(sd)
    opt2.zero_grad()
    model(_x).sum().backward()
    opt2.step()
    assert opt2.state[w]["step"] == 2
