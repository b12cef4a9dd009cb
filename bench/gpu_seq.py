"""The GPU check's sequence-model sections: fused attention, layer_norm and embedding against PyTorch.

Each function is one section of bench/gpu_check.py (``SECTIONS`` rows ``"gpu_seq:attention"``,
``"gpu_seq:layer_norm"``, ``"gpu_seq:embedding"``), run in its own process with a ``ctx``
(bench/gpu_sections.Context). Each figure is a ``ctx.compare``: our kernels, PyTorch on the GPU
(SDPA, F.layer_norm, embedding and their backwards; TF32 off) when it is there, else the CuPy path
the backend switch ``tc.backends.cuda.attention = "cupy"`` selects, and a relative error against
that reference.

FLOPs are the useful ones (as FlashAttention counts them): attention forward ``4 BH L S D``,
backward ``10 BH L S D`` (2.5x the forward; ours computes 13, since the scores and ``dp`` are
recomputed in both backward kernels), halved when causal. Bytes are the fewest a kernel must move.
"""

from __future__ import annotations


def _k(family):
    import importlib

    return importlib.import_module(f"tensorcore.kernels.{family}")


def _torch(ctx):
    if ctx.simulate:
        return None
    from gpu_kernels import _torch_cuda  # bench/ is on sys.path in the section's process

    return _torch_cuda()


def attention(ctx):
    """Forward and backward at GPT-like and long-sequence sizes, causal and not, against PyTorch's SDPA."""
    cases = ctx.size(
        [(16, 4, 64, 32, True), (8, 16, 1024, 64, True), (8, 16, 1024, 64, False), (4, 16, 2048, 128, True)],
        [(16, 4, 64, 32, True), (4, 16, 1024, 64, True)],
        [(1, 2, 7, 5, True)],
    )
    torch = _torch(ctx)
    for case in cases:
        _attention_case(ctx, torch, *case)


def _attention_case(ctx, torch, B, H, L, D, causal):
    a = _k("attention")
    from tensorcore.backends.cpu_attention import attention_backward_xp, attention_forward_xp

    xp = ctx.xp
    BH = B * H
    q, k, v, g = (ctx.randn((BH, L, D), seed=s) for s in range(4))
    out, lse = a.attention_forward(q, k, v, None, causal)
    want_out = attention_forward_xp(xp, q, k, v, None, causal, None)[0]
    want_dq = attention_backward_xp(xp, q, k, v, out, lse, g, None, causal, None)[0]
    if torch is not None:
        sdpa = torch.nn.functional.scaled_dot_product_attention
        tq, tk, tv, tg = (torch.as_tensor(t, device="cuda").view(B, H, L, D) for t in (q, k, v, g))
        rq, rk, rv = (t.detach().clone().requires_grad_() for t in (tq, tk, tv))
        rout = sdpa(rq, rk, rv, is_causal=causal)

        def ref():
            return sdpa(tq, tk, tv, is_causal=causal)

        def ref_backward():
            return torch.autograd.grad(rout, (rq, rk, rv), tg, retain_graph=True)

        ref_name = "PyTorch SDPA"
    else:

        def ref():
            return attention_forward_xp(xp, q, k, v, None, causal, None)

        def ref_backward():
            return attention_backward_xp(xp, q, k, v, out, lse, g, None, causal, None)

        ref_name = "CuPy ops"

    def ours():
        return a.attention_forward(q, k, v, None, causal, out=out, lse_out=lse)

    def ours_backward():
        return a.attention_backward(q, k, v, out, lse, g, None, causal)

    name = f"attention B={B} H={H} L={L} D={D}{' causal' if causal else ''}"
    half = 0.5 if causal else 1.0
    ctx.compare(name + " fwd", ours, ref, ref_name=ref_name, check=lambda: ctx.rel_err(out, want_out),
                flops=half * 4 * BH * L * L * D, bytes=4 * BH * L * (4 * D + 1))
    ctx.compare(name + " bwd", ours_backward, ref_backward, ref_name=ref_name,
                check=lambda: ctx.rel_err(ours_backward()[0], want_dq),
                flops=half * 10 * BH * L * L * D, bytes=4 * BH * L * (7 * D + 1))


def layer_norm(ctx):
    """Forward and backward (dx, dweight, dbias) against F.layer_norm and its autograd backward."""
    torch = _torch(ctx)
    for R, C in ctx.size([(16384, 768), (4096, 4096)], [(8192, 768)], [(7, 13)]):
        _layer_norm_case(ctx, torch, R, C)


def _layer_norm_case(ctx, torch, R, C):
    ln = _k("layernorm")
    from tensorcore.backends.cpu_attention import layer_norm_backward_xp, layer_norm_forward_xp

    xp = ctx.xp
    x, dy = ctx.randn((R, C)), ctx.randn((R, C), seed=1)
    w, b = ctx.randn((C,), seed=2), ctx.randn((C,), seed=3)
    y, mean, rstd = ln.layer_norm_forward(x, w, b)
    want_y = layer_norm_forward_xp(xp, x, w, b, 1e-5)[0]
    want_dx = layer_norm_backward_xp(xp, dy, x, w, mean, rstd)[0]
    if torch is not None:
        F = torch.nn.functional
        tx, tw, tb, tdy = (torch.as_tensor(t, device="cuda") for t in (x, w, b, dy))
        gx, gw, gb = (t.detach().clone().requires_grad_() for t in (tx, tw, tb))
        gy = F.layer_norm(gx, (C,), gw, gb)

        def ref():
            return F.layer_norm(tx, (C,), tw, tb)

        def ref_backward():
            return torch.autograd.grad(gy, (gx, gw, gb), tdy, retain_graph=True)

        ref_name = "PyTorch F.layer_norm"
    else:

        def ref():
            return layer_norm_forward_xp(xp, x, w, b, 1e-5)

        def ref_backward():
            return layer_norm_backward_xp(xp, dy, x, w, mean, rstd)

        ref_name = "CuPy ops"

    def ours_backward():
        return ln.layer_norm_backward(dy, x, w, mean, rstd)

    ctx.compare(f"layer_norm fwd {R}x{C}", lambda: ln.layer_norm_forward(x, w, b, out=y), ref, ref_name=ref_name,
                check=lambda: ctx.rel_err(y, want_y), bytes=8 * R * C)
    ctx.compare(f"layer_norm bwd {R}x{C}", ours_backward, ref_backward, ref_name=ref_name,
                check=lambda: ctx.rel_err(ours_backward()[0], want_dx), bytes=12 * R * C)


def embedding(ctx):
    """Gather forward and the deterministic sorted-key backward against PyTorch's embedding (and its backward)."""
    em = _k("embedding")
    torch = _torch(ctx)
    xp = ctx.xp
    V, E, N = ctx.size((50257, 768, 16384), (50257, 768, 8192), (11, 5, 13))
    w, g = ctx.randn((V, E)), ctx.randn((N, E), seed=1)
    idx = (xp.arange(N, dtype=xp.int64) * 7919 % V).astype(xp.int64)
    idx[: N // 4] = 3  # a frequent token (a long run for one owner warp)
    out = em.embedding_forward(w, idx)
    if torch is not None:
        tw, ti, tg = (torch.as_tensor(t, device="cuda") for t in (w, idx, g))

        def ref():
            return torch.nn.functional.embedding(ti, tw)

        def ref_backward():
            return torch.ops.aten.embedding_dense_backward(tg, ti, V, 0, False)

        ref_name = "PyTorch embedding"
    else:

        def ref():
            return w[idx]

        ref_backward, ref_name = None, "CuPy take"
    ctx.compare(f"embedding fwd V={V} E={E} N={N}", lambda: em.embedding_forward(w, idx, out=out), ref,
                ref_name=ref_name, check=lambda: ctx.rel_err(out, w[idx]), bytes=8 * N * E)
    def ours_backward():
        return em.embedding_backward(g, idx, V, 0)

    check = None if ref_backward is None else (lambda: ctx.rel_err(ours_backward(), xp.asarray(ref_backward())))
    ctx.compare(f"embedding bwd V={V} E={E} N={N} padding_idx=0", ours_backward, ref_backward, ref_name=ref_name,
                check=check, bytes=4 * N * E + 4 * V * E + 8 * N)
