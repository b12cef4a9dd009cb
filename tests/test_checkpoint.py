"""tc.utils.checkpoint: the same values and gradients as without it (float64), gradcheck, dropout's RNG replayed,
and a lower measured peak memory on a deep MLP."""

import tracemalloc
import warnings

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn as nn
from tensorcore.utils.checkpoint import checkpoint, checkpoint_sequential


def _mlp(depth=4, width=8, dropout=0.0):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers).to(tc.float64)


def _grads(model, x, run, seed=3):
    for p in model.parameters():
        p.grad = None
    x.grad = None
    tc.manual_seed(seed)
    out = run(model, x)
    (out * out).sum().backward()
    return out.detach().numpy(), [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]


@pytest.mark.parametrize("reentrant", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_same_values_and_gradients_as_without_checkpointing(reentrant, dropout):
    tc.manual_seed(0)
    model = _mlp(dropout=dropout)
    x = tc.randn(5, 8, dtype=tc.float64, requires_grad=True)
    ref_out, ref = _grads(model, x, lambda m, v: m(v))
    out, got = _grads(model, x, lambda m, v: checkpoint(m, v, use_reentrant=reentrant))
    np.testing.assert_array_equal(out, ref_out)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_sequential_matches(reentrant):
    tc.manual_seed(0)
    model = _mlp(depth=5, dropout=0.3)
    x = tc.randn(4, 8, dtype=tc.float64, requires_grad=True)
    _, ref = _grads(model, x, lambda m, v: m(v))
    _, got = _grads(model, x, lambda m, v: checkpoint_sequential(m, 3, v, use_reentrant=reentrant))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_without_the_rng_state_restored_dropout_draws_other_masks():
    tc.manual_seed(0)
    model = _mlp(dropout=0.5)
    x = tc.randn(5, 8, dtype=tc.float64, requires_grad=True)
    _, ref = _grads(model, x, lambda m, v: m(v))
    _, got = _grads(model, x, lambda m, v: checkpoint(m, v, use_reentrant=False, preserve_rng_state=False))
    assert not all(np.allclose(a, b) for a, b in zip(got, ref))  # the restore is what makes them agree


def test_gradcheck_and_gradgradcheck_through_checkpoint():
    rng = np.random.default_rng(0)
    w = tc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = tc.tensor(rng.standard_normal((2, 4)), requires_grad=True)

    def block(a, b):
        return tc.tanh(a @ b.T) * a.sum()

    assert tc.gradcheck(lambda a, b: checkpoint(block, a, b, use_reentrant=False), (x, w))
    assert tc.gradgradcheck(lambda a, b: checkpoint(block, a, b, use_reentrant=False), (x, w))
    # use_reentrant=True refuses tc.autograd.grad (gradcheck's tool), as in PyTorch: the equality tests cover it


def test_non_reentrant_closed_over_parameters_and_grad():
    rng = np.random.default_rng(1)
    w = tc.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    x = tc.tensor(rng.standard_normal((3, 4)), requires_grad=True)

    def f(a):
        return (tc.sin(a @ w), a * 2)  # two outputs, w only read from the closure

    y1, y2 = checkpoint(f, x, use_reentrant=False)
    gx, gw = tc.autograd.grad((y1.sum() + (y2 * y2).sum()), (x, w))
    ref_gx, ref_gw = tc.autograd.grad(tc.sin(x @ w).sum() + ((x * 2) ** 2).sum(), (x, w))
    np.testing.assert_allclose(gx.numpy(), ref_gx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), ref_gw.numpy(), rtol=1e-12)


def test_reentrant_refuses_autograd_grad_and_unspecified_warns():
    w = tc.randn(3, 3, dtype=tc.float64, requires_grad=True)
    x = tc.randn(2, 3, dtype=tc.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        y = checkpoint(lambda a: a @ w, x)
    with pytest.raises(tc.GradientError, match="not compatible with tc.autograd.grad"):
        tc.autograd.grad(y.sum(), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint(lambda a: a @ w, x, use_reentrant=False)


def test_under_no_grad_it_is_a_plain_call_and_bad_arguments_raise():
    x = tc.randn(2, 3)
    with tc.no_grad():
        y = checkpoint(lambda a: a * 2, x, use_reentrant=False)
    assert not y.requires_grad
    with pytest.raises(tc.ArgumentError):
        checkpoint(3, x, use_reentrant=False)
    with pytest.raises(tc.ArgumentError):
        checkpoint_sequential([nn.Tanh()], 0, x, use_reentrant=False)
    with pytest.raises(tc.ArgumentError, match="unexpected keyword"):
        checkpoint(lambda a, b=1: a, x, use_reentrant=True, b=2)


def test_recompute_replays_autocast():
    tc.manual_seed(0)
    lin = nn.Linear(6, 5)
    x = tc.randn(4, 6, requires_grad=True)
    with tc.autocast("cpu", dtype=tc.float16):
        ref = lin(x).float().sum()
    ref.backward()
    ref_grad = lin.weight.grad.numpy().copy()
    lin.weight.grad = None
    with tc.autocast("cpu", dtype=tc.float16):
        out = checkpoint(lin, x, use_reentrant=False)
    assert out.dtype == tc.float16
    out.float().sum().backward()  # recomputed outside the autocast region, in float16 as in forward
    np.testing.assert_array_equal(lin.weight.grad.numpy(), ref_grad)


def _peak_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_deep_mlp_peak_memory_is_lower():
    tc.manual_seed(0)
    depth, width, batch = 32, 128, 256
    model = nn.Sequential(*[m for _ in range(depth) for m in (nn.Linear(width, width), nn.ReLU())])
    x = tc.randn(batch, width, requires_grad=True)  # reentrant checkpoints need an input that requires grad

    def step(run):
        def go():
            model.zero_grad()
            run(x).sum().backward()
        return go

    plain = _peak_bytes(step(model))
    ckpt = _peak_bytes(step(lambda v: checkpoint_sequential(model, 8, v, use_reentrant=False)))
    reent = _peak_bytes(step(lambda v: checkpoint_sequential(model, 8, v, use_reentrant=True)))
    activation = batch * width * 4
    print(f"\ndeep MLP {depth}x(Linear({width},{width})+ReLU), batch {batch}: peak traced memory "
          f"plain {plain / 2**20:.1f} MiB, checkpoint_sequential(8 segments) {ckpt / 2**20:.1f} MiB "
          f"(reentrant {reent / 2**20:.1f} MiB); one activation {activation / 2**20:.2f} MiB")
    assert ckpt < 0.6 * plain
    assert reent < 0.6 * plain


def test_nested_checkpoints():
    tc.manual_seed(0)
    model = _mlp(depth=4, dropout=0.2)
    x = tc.randn(3, 8, dtype=tc.float64, requires_grad=True)
    inner = lambda v: checkpoint(model[3:], v, use_reentrant=False)  # noqa: E731
    _, ref = _grads(model, x, lambda m, v: m(v))
    _, got = _grads(model, x, lambda m, v: checkpoint(lambda u: inner(m[:3](u)), v, use_reentrant=False))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
