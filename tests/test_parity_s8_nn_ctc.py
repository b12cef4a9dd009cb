"""nn.CTCLoss / F.ctc_loss / torch.ctc_loss against PyTorch: values and gradients (float64 and float32), every
reduction, zero_infinity, blank, padded and concatenated targets, lengths as tensors or tuples; gradcheck."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F
from tensorcore.nn.ctc import torch_ctc_loss

torch = pytest.importorskip("torch")


def _problem(seed, T=8, N=4, C=6, S=4, blank=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, N, C, dtype=torch.float64, generator=g)
    labels = [c for c in range(C) if c != blank]
    tg = torch.tensor(labels)[torch.randint(0, len(labels), (N, S), generator=g)]
    tg[0, 1] = tg[0, 0]  # a repeat: needs a blank between
    il = torch.tensor([T, T - 1, T - 3, 2])[:N]
    tl = torch.tensor([S, S - 1, 2, 0])[:N]
    return x, tg, il, tl


def _run_both(x, tg, il, tl, dtype, concatenated=False, lengths_as="tensor", **kw):
    tdt = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    a = x.to(tdt).log_softmax(2).detach().requires_grad_()
    t_tg = torch.cat([tg[i, :tl[i]] for i in range(len(tl))]) if concatenated else tg
    loss_t = torch.nn.functional.ctc_loss(a, t_tg, il, tl, **kw)
    loss_t.sum().backward()
    b = tc.tensor(a.detach().numpy(), requires_grad=True)
    conv = {"tensor": lambda v: tc.tensor(v.numpy()), "tuple": lambda v: tuple(v.tolist()),
            "list": lambda v: v.tolist()}[lengths_as]
    loss_c = F.ctc_loss(b, tc.tensor(t_tg.numpy()), conv(il), conv(tl), **kw)
    loss_c.sum().backward()
    return loss_t, a.grad, loss_c, b.grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_values_and_grads_match_torch(dtype, reduction, zero_infinity):
    x, tg, il, tl = _problem(1)
    lt, gt, lc, gc = _run_both(x, tg, il, tl, dtype, reduction=reduction, zero_infinity=zero_infinity)
    tol = 1e-10 if dtype is np.float64 else 2e-5
    assert lc.dtype == np.dtype(dtype)
    assert tuple(lc.shape) == tuple(lt.shape)
    np.testing.assert_allclose(lc.detach().numpy(), lt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("lengths_as", ["tensor", "tuple", "list"])
def test_concatenated_targets_and_length_kinds(lengths_as):
    x, tg, il, tl = _problem(2)
    lt, gt, lc, gc = _run_both(x, tg, il, tl, np.float64, concatenated=True, lengths_as=lengths_as,
                               reduction="none")
    np.testing.assert_allclose(lc.detach().numpy(), lt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), atol=1e-10)


def test_nonzero_blank():
    x, tg, il, tl = _problem(3, C=5, blank=4)
    lt, gt, lc, gc = _run_both(x, tg, il, tl, np.float64, blank=4, reduction="sum")
    np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-10)
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), atol=1e-10)


def test_gradient_on_unnormalized_inputs_is_torchs():
    # torch's gradient is exp(lp) - posterior / ... (the logits' gradient), not d/d log_probs: match it anyway
    x, tg, il, tl = _problem(4)
    a = x.clone().requires_grad_()
    torch.nn.functional.ctc_loss(a, tg, il, tl, reduction="sum").backward()
    b = tc.tensor(x.numpy(), requires_grad=True)
    F.ctc_loss(b, tc.tensor(tg.numpy()), tc.tensor(il.numpy()), tc.tensor(tl.numpy()), reduction="sum").backward()
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), atol=1e-10)
    assert np.all(b.grad.numpy()[il[3]:, 3] == 0)  # frames past input_lengths get none


def test_impossible_alignment_inf_nan_and_zero_infinity():
    lp = torch.randn(4, 2, 3, dtype=torch.float64).log_softmax(2)
    tg = torch.tensor([[1, 1, 1], [2, 0, 0]])  # 1,1,1 needs 5 frames
    for zi in (False, True):
        a = lp.clone().requires_grad_()
        lt = torch.nn.functional.ctc_loss(a, tg, [4, 0], [3, 0], reduction="none", zero_infinity=zi)
        lt.sum().backward()
        b = tc.tensor(lp.numpy(), requires_grad=True)
        lc = F.ctc_loss(b, tc.tensor(tg.numpy()), [4, 0], [3, 0], reduction="none", zero_infinity=zi)
        lc.sum().backward()
        np.testing.assert_array_equal(lc.detach().numpy(), lt.detach().numpy())
        np.testing.assert_array_equal(np.isnan(b.grad.numpy()), np.isnan(a.grad.numpy()))
        np.testing.assert_allclose(np.nan_to_num(b.grad.numpy()), np.nan_to_num(a.grad.numpy()))
    assert not zi or np.all(b.grad.numpy() == 0)


def test_unbatched():
    lp = torch.randn(5, 4, dtype=torch.float64).log_softmax(1)
    for red in ("none", "mean", "sum"):
        lt = torch.nn.functional.ctc_loss(lp, torch.tensor([1, 2]), torch.tensor(5), torch.tensor(2), reduction=red)
        lc = F.ctc_loss(tc.tensor(lp.numpy()), tc.tensor([1, 2]), tc.tensor(5), tc.tensor(2), reduction=red)
        assert tuple(lc.shape) == tuple(lt.shape) == ()
        np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-12)


def test_module_and_torch_enum_spelling():
    x, tg, il, tl = _problem(5)
    lp = x.log_softmax(2)
    crit_t = torch.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
    crit_c = nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
    args_c = (tc.tensor(lp.numpy()), tc.tensor(tg.numpy()), tc.tensor(il.numpy()), tc.tensor(tl.numpy()))
    np.testing.assert_allclose(crit_c(*args_c).item(), crit_t(lp, tg, il, tl).item(), rtol=1e-12)
    assert crit_c.state_dict() == {} and repr(crit_c) == repr(crit_t) == "CTCLoss()"
    default = torch.ctc_loss(lp, tg, il, tl)  # torch's binding: 'none' when reduction is left out
    assert tuple(default.shape) == (4,)
    np.testing.assert_allclose(torch_ctc_loss(*args_c).detach().numpy(), default.numpy(), rtol=1e-12)
    for enum, name in ((0, "none"), (1, "mean"), (2, "sum")):
        want = torch.ctc_loss(lp, tg, il, tl, 0, enum, False)
        np.testing.assert_allclose(torch_ctc_loss(*args_c, 0, enum, False).detach().numpy(), want.numpy(),
                                   rtol=1e-12)
        np.testing.assert_allclose(torch_ctc_loss(*args_c, reduction=name).detach().numpy(), want.numpy(),
                                   rtol=1e-12)


def test_gradcheck_through_log_softmax():
    x, tg, il, tl = _problem(6, T=6, N=3, C=4, S=3)
    xt = tc.tensor(x.numpy(), requires_grad=True)
    targets, ilc, tlc = tc.tensor(tg.numpy()), tuple(il.tolist()), tuple(tl.tolist())
    for red in ("none", "mean", "sum"):
        assert tc.gradcheck(lambda v, red=red: F.ctc_loss(tc.log_softmax(v, 2), targets, ilc, tlc, reduction=red),
                            (xt,))


def test_bad_input_raises_naming_the_op():
    lp = tc.randn(5, 2, 4).log_softmax(2)
    tg = tc.tensor([[1, 2], [3, 1]])
    cases = [
        (lambda: F.ctc_loss(lp, tg, [6, 5], [2, 2]), "input_lengths"),  # longer than T
        (lambda: F.ctc_loss(lp, tg, [5], [2, 2]), "input_lengths"),  # one per sample
        (lambda: F.ctc_loss(lp, tg, [5, 5], [3, 2]), "targets"),  # padded targets too short
        (lambda: F.ctc_loss(lp, tc.tensor([[1, 9], [3, 1]]), [5, 5], [2, 2]), "out of range"),
        (lambda: F.ctc_loss(lp, tg, [5, 5], [2, 2], blank=4), "blank"),
        (lambda: F.ctc_loss(lp, tg, [5, 5], [2, 2], reduction="avg"), "reduction"),
        (lambda: F.ctc_loss(lp, tg.to(tc.float32), [5, 5], [2, 2]), "integers"),
        (lambda: F.ctc_loss(lp.to(tc.float16), tg, [5, 5], [2, 2]), "float32 or float64"),
        (lambda: F.ctc_loss(tc.randn(5, 2, 4, 1), tg, [5, 5], [2, 2]), "(T, N, C)"),
        (lambda: nn.CTCLoss(reduction="avg"), "CTCLoss"),
    ]
    for fn, words in cases:
        with pytest.raises(tc.TensorcoreError, match="ctc|CTC") as info:
            fn()
        assert words in str(info.value)
