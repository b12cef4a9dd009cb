"""Session 7 parity with PyTorch: the optimizers' implementation flags (foreach, fused, capturable,
differentiable), Adam's decoupled_weight_decay, param-group keys, and state_dict round trips."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

W0 = np.random.default_rng(0).standard_normal((3, 4))
B0 = np.random.default_rng(1).standard_normal(3)
X0 = np.random.default_rng(2).standard_normal((5, 4))


def _model(lib):
    lin = lib.nn.Linear(4, 3).double()
    lin.load_state_dict({"weight": lib.tensor(W0), "bias": lib.tensor(B0)})
    return lin


def _train(lib, lin, opt, n):
    for _ in range(n):
        opt.zero_grad()
        (lin(lib.tensor(X0)) ** 2).mean().backward()
        opt.step()
    return [p.detach().numpy().copy() for p in lin.parameters()]


CONFIGS = [
    ("SGD", dict(lr=0.1, momentum=0.9, foreach=True)), ("SGD", dict(lr=0.1, fused=False, maximize=True)),
    ("Adam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.3)),
    ("Adam", dict(lr=0.01, fused=False, capturable=False, amsgrad=True)),
    ("AdamW", dict(lr=0.01, foreach=False, fused=False)), ("RMSprop", dict(lr=0.01, centered=True, foreach=False)),
    ("Adagrad", dict(lr=0.1, foreach=False, fused=False)),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_flags_accepted_same_steps_and_group_keys_as_torch(name, kwargs):
    results = []
    for lib in (torch, tc):
        lin = _model(lib)
        opt = getattr(lib.optim, name)(lin.parameters(), **kwargs)
        params = _train(lib, lin, opt, 2)
        state = opt.state_dict()
        lin2 = _model(lib)
        lin2.load_state_dict(lin.state_dict())
        opt2 = getattr(lib.optim, name)(lin2.parameters(), **kwargs)
        opt2.load_state_dict(state)
        results.append((params, _train(lib, lin2, opt2, 2), sorted(opt.param_groups[0])))
    (p_t, q_t, keys_t), (p_c, q_c, keys_c) = results
    assert keys_c == keys_t
    for a, b in zip(p_c + q_c, p_t + q_t):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_differentiable_step_is_refused_by_name():
    lin = _model(tc)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        with pytest.raises(tc.TensorcoreError, match="differentiable"):
            getattr(tc.optim, name)(lin.parameters(), lr=0.1, differentiable=True)


def test_float_step_size_and_t_max_as_torch():
    """The torchtext tutorial's StepLR(optimizer, 1.0, gamma=0.1): torch takes float step_size and T_max."""
    results = []
    for lib in (torch, tc):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=1.0)
        step = lib.optim.lr_scheduler.StepLR(opt, 1.5, gamma=0.5)
        opt2 = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=1.0)
        cosine = lib.optim.lr_scheduler.CosineAnnealingLR(opt2, 4.5)
        unit = lib.optim.lr_scheduler.StepLR(lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=5.0), 1.0, gamma=0.1)
        lrs = []
        for _ in range(6):
            opt.step()
            opt2.step()
            unit.optimizer.step()
            step.step()
            cosine.step()
            unit.step()
            lrs.append((step.get_last_lr()[0], cosine.get_last_lr()[0], unit.get_last_lr()[0]))
        results.append(lrs)
    np.testing.assert_allclose(np.array(results[1]), np.array(results[0]), rtol=1e-12)


def test_swa_utils_average_ema_swalr_update_bn_as_torch():
    from importlib import import_module

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 1))
    results, state = [], {}
    for lib in (torch, tc):
        swa = import_module(lib.__name__ + ".optim.swa_utils")
        nn = lib.nn
        m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1)).double()
        if lib is torch:
            state.update({k: v.detach().numpy().copy() for k, v in m.state_dict().items()})
        else:
            m.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
        averages = [swa.AveragedModel(m), swa.AveragedModel(m, multi_avg_fn=swa.get_ema_multi_avg_fn(0.9)),
                    swa.AveragedModel(m, avg_fn=swa.get_ema_avg_fn(0.8), use_buffers=True)]
        opt = lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        sched = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="cos")
        out = []
        for _ in range(6):
            opt.zero_grad()
            loss = ((m(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
            for a in averages:
                a.update_parameters(m)
            sched.step()
            out += [loss.item(), sched.get_last_lr()[0]]
        loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=4)
        swa.update_bn(loader, averages[0])
        for a in averages:
            a.eval()
            out += a(lib.tensor(x)).flatten().tolist()
        out += [int(averages[0].n_averaged)] + averages[0].module[1].running_mean.tolist()
        results.append((out, sorted(averages[0].state_dict())))
    assert results[1][1] == results[0][1]
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [
    ("Rprop", dict(lr=0.01)), ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1), maximize=True)),
    ("ASGD", dict(lr=0.05)), ("ASGD", dict(lr=0.05, t0=2, lambd=0.01, weight_decay=0.1)),
])
def test_rprop_and_asgd_steps_and_state_round_trip_as_torch(name, kwargs):
    results = []
    for lib in (torch, tc):
        lin = _model(lib)
        opt = getattr(lib.optim, name)(lin.parameters(), **kwargs)
        first = _train(lib, lin, opt, 5)
        lin2 = _model(lib)
        lin2.load_state_dict(lin.state_dict())
        opt2 = getattr(lib.optim, name)(lin2.parameters(), **kwargs)
        opt2.load_state_dict(opt.state_dict())
        results.append(first + _train(lib, lin2, opt2, 2))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
