"""Gradients in the fused optimizer's flat buffer (tensorcore/optim/adam.py's _FlatGroup): after the first
step each .grad is a view of one buffer, backward accumulates into it in place, and the numbers are those
of the per-parameter loop and of torch.optim.Adam."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim


def _params(device="cpu", dtype=np.float64):
    rng = np.random.default_rng(5)
    return [nn.Parameter(tc.tensor(rng.standard_normal(s).astype(dtype), device=device)) for s in ((3, 4), (4,), (2,))]


def _loss(ps):
    w, b, c = ps
    x = tc.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3).astype(w.numpy().dtype), device=w.device)
    return (((x @ w + b) ** 2).sum() * c.sum()) + (c * c).sum()


def _train(ps, opt, steps, set_to_none):
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        _loss(ps).backward()
        opt.step()
    return [p.numpy() for p in ps]


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_grads_become_views_of_the_flat_buffer_and_stay_there(cls):
    ps = _params()
    opt = cls(ps, lr=0.05, weight_decay=0.1)
    _loss(ps).backward()
    grads = [p.grad for p in ps]
    opt.step()
    flat = opt._flat[id(opt.param_groups[0])]
    assert [p.grad for p in ps] == grads  # the same Tensor objects (as PyTorch: step never replaces .grad)
    assert flat.grads_are_views(ps) and all(p.grad._data.base is flat.grad for p in ps)
    opt.zero_grad(set_to_none=False)
    assert not flat.grad.any()  # one fill of the buffer
    _loss(ps).backward()
    assert flat.grads_are_views(ps)  # backward added into the views in place: the next step copies nothing
    np.testing.assert_array_equal(np.concatenate([p.grad.numpy().ravel() for p in ps]), flat.grad)
    opt.step()


@pytest.mark.parametrize("set_to_none", [False, True])
def test_flat_views_give_the_loops_numbers_and_torchs(set_to_none):
    torch = pytest.importorskip("torch")
    fused = _train(ps := _params(), optim.Adam(ps, lr=0.05, weight_decay=0.1), 4, set_to_none)
    loop = _train(qs := _params(), optim.Adam(qs, lr=0.05, weight_decay=0.1, foreach=False), 4, set_to_none)
    for a, b in zip(fused, loop):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    tp = [torch.tensor(p.numpy(), requires_grad=True) for p in _params()]
    topt = torch.optim.Adam(tp, lr=0.05, weight_decay=0.1)
    x = torch.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3))
    for _ in range(4):
        topt.zero_grad(set_to_none=set_to_none)
        w, b, c = tp
        ((((x @ w + b) ** 2).sum() * c.sum()) + (c * c).sum()).backward()
        topt.step()
    for a, t in zip(fused, tp):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_a_replaced_grad_is_copied_in_once_and_moved_in():
    ps = _params()
    opt = optim.Adam(ps, lr=0.05)
    _loss(ps).backward()
    opt.step()
    flat = opt._flat[id(opt.param_groups[0])]
    ps[1].grad = tc.tensor(np.full(4, 2.0))  # a user's own gradient
    _loss(ps).backward()  # accumulates into it (not into the buffer)
    want = ps[1].grad.numpy().copy()
    opt.step()
    assert flat.grads_are_views(ps)
    np.testing.assert_array_equal(ps[1].grad.numpy(), want)


@pytest.mark.cuda
def test_cuda_fused_adam_over_the_flat_buffer_matches_the_cpu(monkeypatch):
    from tensorcore.kernels import optim as kernel_optim

    from .conftest import require_cuda

    require_cuda()
    cpu = _train(ps := _params(dtype=np.float32), optim.Adam(ps, lr=0.05), 3, False)
    qs = _params("cuda", np.float32)
    opt = optim.Adam(qs, lr=0.05)
    sizes = []
    real = kernel_optim.adam_update
    monkeypatch.setattr(kernel_optim, "adam_update", lambda p, *a, **k: sizes.append(p.size) or real(p, *a, **k))
    got = _train(qs, opt, 3, False)
    assert sizes == [18, 18, 18]  # one launch a step over all 12 + 4 + 2 parameters
    assert opt._flat[id(opt.param_groups[0])].grads_are_views(qs)
    for a, b in zip(got, cpu):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("set_to_none", [False, True])
@pytest.mark.parametrize("kw", [dict(momentum=0.9, nesterov=True, weight_decay=0.1),
                                dict(momentum=0.8, dampening=0.3, maximize=True)])
def test_sgd_momentum_over_the_flat_buffer_matches_torch(set_to_none, kw):
    torch = pytest.importorskip("torch")
    ps = _params()
    opt = optim.SGD(ps, lr=0.01, **kw)
    got = _train(ps, opt, 4, set_to_none)
    assert opt._flat[id(opt.param_groups[0])].grads_are_views(ps)  # (moved in again after set_to_none)
    tp = [torch.tensor(p.numpy(), requires_grad=True) for p in _params()]
    topt = torch.optim.SGD(tp, lr=0.01, **kw)
    x = torch.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3))
    for _ in range(4):
        topt.zero_grad(set_to_none=set_to_none)
        w, b, c = tp
        ((((x @ w + b) ** 2).sum() * c.sum()) + (c * c).sum()).backward()
        topt.step()
    for a, t in zip(got, tp):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    for p, tq in zip(ps, tp):  # the buffers (views of the flat one) are torch's
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"], topt.state[tq]["momentum_buffer"].numpy(),
                                   rtol=1e-12, atol=1e-14)


def test_sgd_flat_state_dict_round_trip_and_no_momentum_keeps_none():
    ps, qs = _params(), _params()
    a = optim.SGD(ps, lr=0.05, momentum=0.9)
    _train(ps, a, 2, False)
    b = optim.SGD(qs, lr=0.05, momentum=0.9)
    _train(qs, b, 2, False)
    b2 = optim.SGD(qs, lr=0.05, momentum=0.9)
    b2.load_state_dict(b.state_dict())
    for x, y in zip(_train(ps, a, 2, False), _train(qs, b2, 2, False)):
        np.testing.assert_array_equal(x, y)
    rs = _params()
    plain = optim.SGD(rs, lr=0.05)
    _train(rs, plain, 2, False)
    assert all(plain.state[p]["momentum_buffer"] is None for p in rs) and not plain._flat  # as PyTorch's state


@pytest.mark.cuda
def test_cuda_sgd_momentum_is_one_launch_a_step(monkeypatch):
    from tensorcore.kernels import optim as kernel_optim

    from .conftest import require_cuda

    require_cuda()
    cpu = _train(ps := _params(dtype=np.float32), optim.SGD(ps, lr=0.05, momentum=0.9), 3, False)
    sizes = []
    real = kernel_optim.sgd_update
    monkeypatch.setattr(kernel_optim, "sgd_update", lambda p, *a, **k: sizes.append(p.size) or real(p, *a, **k))
    qs = _params("cuda", np.float32)
    got = _train(qs, optim.SGD(qs, lr=0.05, momentum=0.9), 3, False)
    assert sizes == [18, 18, 18]
    for a, b in zip(got, cpu):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
