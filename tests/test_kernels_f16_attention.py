"""Fused attention (kernels/attention.py) on float16 q, k, v (float32 arithmetic, float32 lse) against float64
references computed from the same float16 inputs, in the simulator or on a GPU: odd sizes, several query and
key tiles (the small tile), causal and masked."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, requires_cuda, to_device, to_host

pytestmark = pytest.mark.kernels


@requires_cuda
def test_attention_half_small_tile(rng, causal=True, masked=True):
    from tensorcore.kernels import attention as att

    B, H, L, S, DK, DV = 1, 1, 7, 9, 5, 3  # 2 query and 3 key tiles of the 4 x 4 small tile
    q, k = rng.standard_normal((B * H, L, DK)), rng.standard_normal((B * H, S, DK))
    v, g = rng.standard_normal((B * H, S, DV)), rng.standard_normal((B * H, L, DV))
    q, k, v, g = (a.astype(np.float16) for a in (q, k, v, g))
    mask = None
    if masked:
        mask = rng.standard_normal((B, 1, 1, S)).astype(np.float32)
        mask[..., 2] = -np.inf
    dmask = None if mask is None else to_device(mask)
    out, lse = poisoned((B * H, L, DV), np.float16), poisoned((B * H, L), np.float32)
    dev = [to_device(a) for a in (q, k, v)]
    att.attention_forward(*dev, dmask, causal, heads=H, out=out, lse_out=lse, tile=att.SMALL_TILE)
    q64, k64, v64, g64 = (a.astype(np.float64) for a in (q, k, v, g))
    ref_out, ref_lse = att.attention_reference(q64, k64, v64, mask, causal, heads=H)
    assert to_host(out).dtype == np.float16 and to_host(lse).dtype == np.float32
    assert_close(out, ref_out, np.float16, tol=1e-3, what="out")  # float16 rounding: 2^-11 relative
    assert_close(lse, ref_lse, np.float32, tol=1e-6, what="lse (float32 from float32 sums)")
    grads = att.attention_backward(*dev, out, lse, to_device(g), dmask, causal, heads=H, tile=att.SMALL_TILE)
    refs = att.attention_backward_reference(q64, k64, v64, g64, mask, causal, heads=H)
    for name, a, ref in zip(("dq", "dk", "dv"), grads, refs):
        assert to_host(a).dtype == np.float16, name
        # delta = dout . out reads the float16-rounded out: a few float16 ulps more than the stores alone
        assert_close(a, ref, np.float16, tol=3e-3, what=name)


@requires_cuda
def test_attention_half_refuses_mixed_dtypes():
    from tensorcore.kernels import attention as att

    q = to_device(np.ones((1, 3, 4), np.float16))
    with pytest.raises(TypeError, match="k must have dtype float16"):
        att.attention_forward(q, to_device(np.ones((1, 3, 4), np.float32)), q)
