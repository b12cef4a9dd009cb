"""The GPU check's float16 section: the float16 variants of the memory-bound kernels (activations, softmax,
log-softmax, cross-entropy with its in-kernel mean, layer norm) and of fused attention, each against PyTorch's
own float16 CUDA op on the same data (bench/gpu_check.py runs it in its own process).

Every record carries the fewest bytes the kernel must move (float16: 2 bytes an element; float32 losses and
statistics at 4), so gpu_report's ``vs_copy`` is the roofline figure: the fraction of the measured
device-to-device copy bandwidth (the ceilings section, same run). Attention records carry FLOPs as well
(float32 CUDA-core arithmetic here, against PyTorch's tensor-core flash kernel). In the simulator (no
PyTorch CUDA) the references are NumPy float32 expressions and only the plumbing is exercised.
"""

from __future__ import annotations

import functools

import numpy as np


def _k(family):
    import importlib

    return importlib.import_module(f"tensorcore.kernels.{family}")


def _torch(ctx):
    if ctx.simulate:
        return None
    from gpu_kernels import _torch_cuda  # bench/ is on sys.path in the section's process

    return _torch_cuda()


def _half(ctx, shape, seed=0):
    return ctx.randn(shape, seed=seed).astype(np.float16)


def _rel(ctx, out, ref):
    return ctx.rel_err(ctx.xp.asarray(out, dtype=np.float32), ctx.xp.asarray(ref, dtype=np.float32))


def half_precision(ctx):
    """float16 activations, softmax family, cross-entropy, layer norm and attention against PyTorch float16."""
    torch = _torch(ctx)
    tt = (lambda a: torch.as_tensor(a, device="cuda")) if torch is not None else None
    _activations(ctx, torch, tt)
    _softmax_family(ctx, torch, tt)
    _layer_norm(ctx, torch, tt)
    _attention(ctx, torch, tt)


def _activations(ctx, torch, tt):
    a = _k("activations")
    xp = ctx.xp
    n = ctx.size(64 * 2**20, 16 * 2**20, 1003)
    x, g = _half(ctx, (n,)), _half(ctx, (n,), 1)
    out = xp.empty_like(x)
    y = a.sigmoid(x)
    cases = [("relu", lambda: a.relu(x, out=out), "relu", 2), ("gelu", lambda: a.gelu(x, out=out), "gelu", 2),
             ("sigmoid", lambda: a.sigmoid(x, out=out), "sigmoid", 2), ("tanh", lambda: a.tanh(x, out=out), "tanh", 2),
             ("gelu_backward", lambda: a.gelu_backward(x, g, out=out), None, 3),
             ("sigmoid_backward (from y)", lambda: a.sigmoid_backward_from_output(y, g, out=out), None, 3)]
    for name, ours, tname, arrays in cases:
        ref = None
        if torch is not None and tname is not None:
            fn, tx = getattr(torch.nn.functional, tname, None) or getattr(torch, tname), tt(x)
            ref = functools.partial(fn, tx)
        ctx.compare(f"f16 {name} {n}", ours, ref, ref_name="PyTorch f16" if ref else None, bytes=arrays * n * 2,
                    vector=bool(_k("_vector_f16").aligned(x, out)))


def _softmax_family(ctx, torch, tt):
    s = _k("softmax")
    xp = ctx.xp
    R, C = ctx.size((8192, 8192), (4096, 4096), (5, 40))
    x, g = _half(ctx, (R, C)), _half(ctx, (R, C), 1)
    out = xp.empty_like(x)
    x32 = x.astype(np.float32)
    e = xp.exp(x32 - x32.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)  # float32 on the device: the check is against float16 rounding
    ref = (lambda: torch.softmax(tt(x), -1)) if torch is not None else None
    ctx.compare(f"f16 softmax {R}x{C}", lambda: s.softmax(x, out=out), ref, ref_name="PyTorch f16" if ref else None,
                check=lambda: _rel(ctx, s.softmax(x), want), bytes=2 * R * C * 2)
    ref = (lambda: torch.log_softmax(tt(x), -1)) if torch is not None else None
    ctx.compare(f"f16 log_softmax {R}x{C}", lambda: s.log_softmax(x, out=out), ref,
                ref_name="PyTorch f16" if ref else None, bytes=2 * R * C * 2)
    p = s.softmax(x)
    ref = None
    if torch is not None:
        ref = functools.partial(torch._softmax_backward_data, tt(g), tt(p), -1, torch.float16)
    ctx.compare(f"f16 softmax_backward {R}x{C}", lambda: s.softmax_backward(p, g, out=out), ref,
                ref_name="PyTorch f16" if ref else None, bytes=3 * R * C * 2)
    Rc, Cc = ctx.size((65536, 1000), (16384, 1000), (7, 12))
    logits = _half(ctx, (Rc, Cc), 2)
    t = (xp.arange(Rc) * 7919 % Cc).astype(xp.int64)
    t[::17] = -100
    ref = None
    if torch is not None:
        tl, tgt = tt(logits).requires_grad_(), tt(t)

        def ref():  # loss (mean over the non-ignored rows) and its gradient, as our one kernel gives
            loss = torch.nn.functional.cross_entropy(tl, tgt)
            return torch.autograd.grad(loss, tl)

    ctx.compare(f"f16 cross_entropy (loss, grad, in-kernel mean) {Rc}x{Cc}",
                lambda: s.softmax_cross_entropy(logits, t, grad_scale=1.0 / Rc, return_stats=True), ref,
                ref_name="PyTorch f16 fwd+bwd" if ref else None, bytes=2 * Rc * Cc * 2 + Rc * (8 + 4))


def _layer_norm(ctx, torch, tt):
    ln = _k("layernorm")
    R, C = ctx.size((16384, 768), (8192, 768), (3, 40))
    x, dy = _half(ctx, (R, C)), _half(ctx, (R, C), 1)
    w, b = _half(ctx, (C,), 2), _half(ctx, (C,), 3)
    y, mean, rstd = ln.layer_norm_forward(x, w, b)
    fwd = bwd = None
    if torch is not None:
        F = torch.nn.functional
        tx, tw, tb, tdy = (tt(a) for a in (x, w, b, dy))
        gx, gw, gb = (t.detach().clone().requires_grad_() for t in (tx, tw, tb))
        gy = F.layer_norm(gx, (C,), gw, gb)

        def fwd():
            return F.layer_norm(tx, (C,), tw, tb)

        def bwd():
            return torch.autograd.grad(gy, (gx, gw, gb), tdy, retain_graph=True)

    ctx.compare(f"f16 layer_norm fwd {R}x{C}", lambda: ln.layer_norm_forward(x, w, b, out=y), fwd,
                ref_name="PyTorch f16" if fwd else None, bytes=2 * R * C * 2 + 8 * R)
    ctx.compare(f"f16 layer_norm bwd {R}x{C}", lambda: ln.layer_norm_backward(dy, x, w, mean, rstd), bwd,
                ref_name="PyTorch f16" if bwd else None, bytes=3 * R * C * 2 + 8 * R)


def _attention(ctx, torch, tt):
    a = _k("attention")
    B, H, L, D = ctx.size((8, 16, 1024, 64), (4, 16, 1024, 64), (1, 2, 7, 5))
    BH = B * H
    q, k, v, g = (_half(ctx, (BH, L, D), s) for s in range(4))
    out, lse = a.attention_forward(q, k, v, None, True)
    fwd = bwd = None
    if torch is not None:
        sdpa = torch.nn.functional.scaled_dot_product_attention
        tq, tk, tv, tg = (tt(t).view(B, H, L, D) for t in (q, k, v, g))
        rq, rk, rv = (t.detach().clone().requires_grad_() for t in (tq, tk, tv))
        rout = sdpa(rq, rk, rv, is_causal=True)

        def fwd():
            return sdpa(tq, tk, tv, is_causal=True)

        def bwd():
            return torch.autograd.grad(rout, (rq, rk, rv), tg, retain_graph=True)

    name = f"f16 attention B={B} H={H} L={L} D={D} causal"
    ctx.compare(name + " fwd", lambda: a.attention_forward(q, k, v, None, True, out=out, lse_out=lse), fwd,
                ref_name="PyTorch SDPA f16 (tensor cores)" if fwd else None, flops=0.5 * 4 * BH * L * L * D,
                bytes=2 * BH * L * 4 * D + 4 * BH * L)
    ctx.compare(name + " bwd", lambda: a.attention_backward(q, k, v, out, lse, g, None, True), bwd,
                ref_name="PyTorch SDPA f16 (tensor cores)" if bwd else None, flops=0.5 * 10 * BH * L * L * D,
                bytes=2 * BH * L * 7 * D + 4 * BH * L)
