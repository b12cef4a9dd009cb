"""Fused attention (kernels/attention.py) against float64 NumPy references, in the simulator or on a GPU.

Odd sizes (L=7, S=13, D=5: no multiple of any tile), causal and not, with and without masks. The
small tile (4 queries x 4 keys, 4 lanes) gives several query and key tiles at simulator cost.
"""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, requires_cuda, requires_gpu, to_device, to_host

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def att():
    from tensorcore.kernels import attention

    return attention


def _inputs(rng, BH, L, S, DK, DV):
    q, k = rng.standard_normal((BH, L, DK)), rng.standard_normal((BH, S, DK))
    v, g = rng.standard_normal((BH, S, DV)), rng.standard_normal((BH, L, DV))
    return [a.astype(np.float32) for a in (q, k, v, g)]


def _mask(rng, kind, B, H, L, S):
    if kind is None:
        return None
    shape = {"full": (B, H, L, S), "2d": (1, 1, L, S), "key_padding": (B, 1, 1, S)}[kind]
    m = rng.standard_normal(shape).astype(np.float32)
    m[rng.random(shape) < 0.3] = -np.inf  # dropped keys
    return m


def _assert_lse(lse, ref, what="lse"):
    lse = to_host(lse).astype(np.float64)
    dead = np.isneginf(ref)
    assert (np.isneginf(lse) == dead).all(), f"{what}: -inf (fully masked rows) at the wrong places"
    assert_close(lse[~dead], ref[~dead], np.float32, what=what)


def _check(att, rng, B, H, L, S, DK, DV, causal, mask_kind, tile):
    q, k, v, g = _inputs(rng, B * H, L, S, DK, DV)
    mask = _mask(rng, mask_kind, B, H, L, S)
    dmask = None if mask is None else to_device(mask)
    out, lse = poisoned((B * H, L, DV), np.float32), poisoned((B * H, L), np.float32)
    dq_args = [to_device(a) for a in (q, k, v)]
    r = att.attention_forward(*dq_args, dmask, causal, heads=H, out=out, lse_out=lse, tile=tile)
    assert r[0] is out and r[1] is lse
    ref_out, ref_lse = att.attention_reference(q, k, v, mask, causal, heads=H)
    what = f"L={L} S={S} D={DK}/{DV} causal={causal} mask={mask_kind}"
    assert_close(out, ref_out, np.float32, what=f"out {what}")
    _assert_lse(lse, ref_lse, what=f"lse {what}")
    grads = att.attention_backward(*dq_args, out, lse, to_device(g), dmask, causal, heads=H, tile=tile)
    refs = att.attention_backward_reference(q, k, v, g, mask, causal, heads=H)
    for name, a, ref in zip(("dq", "dk", "dv"), grads, refs):
        assert_close(a, ref, np.float32, what=f"{name} {what}")


@requires_cuda
@pytest.mark.parametrize(
    "causal, mask_kind", [(False, None), (True, None), (False, "full"), (True, "key_padding")]
)
def test_attention_small_tile(att, rng, causal, mask_kind):
    _check(att, rng, 2, 2, 7, 13, 5, 5, causal, mask_kind, att.SMALL_TILE)


@requires_cuda
def test_attention_more_queries_than_keys_and_value_dim(att, rng):
    """L > S (causal rows past the last key), DV != DK, a 2-D mask broadcast over batch and heads."""
    _check(att, rng, 1, 2, 13, 6, 5, 3, True, "2d", att.SMALL_TILE)


@requires_cuda
@pytest.mark.parametrize("L, S, D", [(7, 13, 20), (3, 4, 33), (3, 5, 65)])
def test_attention_production_tiles(att, rng, L, S, D):
    """The d_max = 32, 64 and 128 tiles (2, 4 and 8 lanes of 16 columns), partial query and key tiles."""
    _check(att, rng, 1, 1, L, S, D, D, True, "2d", None)


@requires_cuda
def test_attention_fully_masked_row(att, rng):
    """A row with every key masked: out 0, lse -inf and no gradient (as PyTorch's CPU flash kernel)."""
    q, k, v, g = _inputs(rng, 1, 3, 5, 4, 4)
    mask = np.zeros((1, 1, 3, 5), np.float32)
    mask[0, 0, 1] = -np.inf
    out, lse = att.attention_forward(*(to_device(a) for a in (q, k, v)), to_device(mask), tile=att.SMALL_TILE)
    out, lse = to_host(out), to_host(lse)
    assert (out[0, 1] == 0).all() and np.isneginf(lse[0, 1]) and np.isfinite(out).all()
    dq, dk, dv = att.attention_backward(*(to_device(a) for a in (q, k, v, out, lse, g)), to_device(mask),
                                        tile=att.SMALL_TILE)
    assert (to_host(dq)[0, 1] == 0).all()
    refs = att.attention_backward_reference(q, k, v, g, mask)
    for a, ref in zip((dq, dk, dv), refs):
        assert_close(a, ref, np.float32)


@requires_cuda
def test_attention_argument_errors(att):
    x = to_device(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="head dimension 129 > 128"):
        big = to_device(np.ones((1, 2, 129), np.float32))
        att.attention_forward(big, big, big)
    with pytest.raises(ValueError, match=r"mask of shape \(1, 1, 2, 3\) does not broadcast to \(2, 1, 3, 3\)"):
        att.attention_forward(x, x, x, to_device(np.zeros((1, 1, 2, 3), np.float32)))
    with pytest.raises(ValueError, match="heads=3 does not divide the batch-head dimension 2"):
        att.attention_forward(x, x, x, heads=3)
    with pytest.raises(TypeError, match="q must have dtype float32 or float16, got float64"):
        att.attention_forward(to_device(np.ones((2, 3, 4))), x, x)


def test_references_match_pytorch(att, rng):
    """The float64 references are PyTorch's SDPA: forward and every gradient, causal and masked."""
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the references (pip install torch)")
    F = torch.nn.functional
    B, H, L, S, D = 2, 2, 7, 13, 5
    for causal, mask_kind in ((False, "full"), (True, None), (False, "key_padding")):
        q, k, v, g = (a.astype(np.float64) for a in _inputs(rng, B * H, L, S, D, D))
        mask = _mask(rng, mask_kind, B, H, L, S)
        tq, tk, tv = (torch.tensor(a.reshape(B, H, -1, D), requires_grad=True) for a in (q, k, v))
        tm = None if mask is None else torch.tensor(mask, dtype=torch.float64)
        tout = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, is_causal=causal)
        tout.backward(torch.tensor(g.reshape(B, H, L, D)))
        out, _ = att.attention_reference(q, k, v, mask, causal, heads=H)
        np.testing.assert_allclose(out, tout.detach().numpy().reshape(B * H, L, D), rtol=1e-10, atol=1e-12)
        grads = att.attention_backward_reference(q, k, v, g, mask, causal, heads=H)
        for a, t in zip(grads, (tq, tk, tv)):
            np.testing.assert_allclose(a, t.grad.numpy().reshape(a.shape), rtol=1e-9, atol=1e-11)


@requires_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("D", [32, 64, 128])
def test_attention_large_gpu(att, rng, D):
    B, H, L, S = 2, 3, 301, 257
    for causal, mask_kind in ((True, None), (False, "key_padding")):
        _check(att, rng, B, H, L, S, D, D, causal, mask_kind, None)
