"""The GPU check's kernel sections: each kernel's compile time and empty-launch cost, the same-run
ceilings, then each kernel family against cuBLAS, CuPy or PyTorch/cuDNN (bench/gpu_check.py runs
each function in its own process).

Each figure is one ``ctx.compare``: our time, the reference's time and a relative error, each caught
on its own. FLOP and byte counts go with the record; gpu_report derives TFLOP/s, GB/s and ratios.
"""

from __future__ import annotations


def _k(family):
    import importlib

    return importlib.import_module(f"tensorcore.kernels.{family}")


# ------------------------------------------------------------------------------- compile and empty launch


def _tiny_args(sig, simulate):
    """Size-1 arrays (zeros) and scalars of 1 matching a kernel signature: a launch that does nothing much."""
    import numpy as np
    from numba import cuda, types
    from numba.np.numpy_support import as_dtype

    args = []
    for t in sig.args:
        if isinstance(t, types.Array):
            a = np.zeros((1,) * t.ndim, dtype=as_dtype(t.dtype))
            args.append(a if simulate else cuda.to_device(a))
        elif isinstance(t, types.Boolean):
            args.append(False)
        else:
            args.append(as_dtype(t).type(1))
    return args


#: Seconds the compile section spends compiling (GPU, simulator): its timeout is 240 / 120 s.
COMPILE_BUDGET_S = {False: 180, True: 90}


def compile_and_launch(ctx):
    """Each kernel's compile time (NVVM + ptxas, never from the disk cache, so it is the real cost) and the
    host-side cost of a near-empty launch (one warp, size-1 arrays), for every launched signature."""
    import importlib
    import os
    import time

    from numba import cuda
    from tensorcore.kernels import _launch, resources

    launches = 3 if ctx.simulate else 200
    threads = 1 if ctx.simulate else 32  # one full warp on the GPU (warp shuffles need every lane)
    todo = []
    for family in resources.FAMILIES:
        try:
            entries = importlib.import_module(f"tensorcore.kernels.{family}").ptx_signatures()
        except Exception as e:
            ctx.record(f"{family} (ptx_signatures)", error=f"{type(e).__name__}: {e}"[:500])
            continue
        todo += [(family, name, fn, sig, bounds) for name, fn, sigs, bounds in entries for sig in sigs]
    # float32 first (what the benchmarks launch); past the budget the rest is recorded as not compiled, so
    # the section ends inside its timeout with every figure it has (the generated GEMMs take minutes).
    todo.sort(key=lambda e: "float64" in e[1])
    deadline = time.perf_counter() + COMPILE_BUDGET_S[ctx.simulate]
    for family, name, fn, sig, launch_bounds in todo:
        rec = {"family": family, "signature": resources._signature_text(sig), "threads": threads}
        if time.perf_counter() > deadline:
            ctx.record(name, skipped=f"compile budget of {COMPILE_BUDGET_S[ctx.simulate]} s spent", **rec)
            continue
        try:
            ctx.fault(ctx.section)
            kw = {}
            if launch_bounds is not None and not ctx.simulate:
                kw["launch_bounds"] = launch_bounds
            t0 = time.perf_counter()
            kernel = cuda.jit(sig, **kw)(fn)
            rec["compile_s"] = time.perf_counter() - t0
            args = _tiny_args(sig, ctx.simulate)
            t0 = time.perf_counter()
            kernel[1, threads](*args)
            cuda.synchronize()
            rec["first_launch_ms"] = (time.perf_counter() - t0) * 1e3
            t0 = time.perf_counter()
            for _ in range(launches):
                kernel[1, threads](*args)
            cuda.synchronize()
            rec["ms"] = (time.perf_counter() - t0) * 1e3 / launches
            rec["launch_us"] = rec["ms"] * 1e3
        except Exception as e:
            rec["error"] = f"{type(e).__name__}: {e}"[:500]
        ctx.record(name, **rec)
    # The disk cache the sections share: filled by the correctness tests, read by every later section.
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    files = sum(len(f) for _, _, f in os.walk(cache_dir)) if cache_dir else 0
    ctx.emit("info", numba_cache_dir=cache_dir, kernel_cache=_launch.cache_enabled(), numba_cache_files=files)


def ceilings(ctx):
    """A large device-to-device copy (bytes read + written) and cuBLAS SGEMM with TF32 off."""
    xp = ctx.xp
    n = ctx.size(256 * 2**20, 64 * 2**20, 2**12)  # float32 elements: 1 GiB, 256 MiB
    src = ctx.randn((n,))
    dst = xp.empty_like(src)

    from tensorcore.bench.ceilings import device_copy, fp32_cublas  # the same ceilings as `tensorcore bench`

    def copy():
        if ctx.simulate:
            dst[...] = src
        else:
            device_copy(xp, dst, src)

    ctx.compare("device copy", copy, bytes=2 * src.nbytes, note="memcpy D2D, read + write")
    if not ctx.simulate:
        fp32_cublas(xp)
    m = ctx.size(8192, 4096, 64)
    a, b = ctx.randn((m, m)), ctx.randn((m, m), seed=1)
    ctx.compare(f"cuBLAS SGEMM {m}^3 (TF32 off)", lambda: a @ b, flops=2 * m**3)


#: H200 (GH100, 132 SMs) FP32 non-tensor peak: the GEMM roofline (GPU.md's reference figures).
FP32_PEAK_FLOPS = 67e12


def _roofline(ctx, name, rec, flops):
    """One more record beside a GEMM figure: TFLOP/s, its fraction of the FP32 peak and of cuBLAS."""
    if rec.get("ms"):
        fields = {"tflops": flops / rec["ms"] / 1e9, "of_fp32_peak": flops / rec["ms"] / 1e-3 / FP32_PEAK_FLOPS}
        if rec.get("ref_ms"):
            fields["of_cublas"] = rec["ref_ms"] / rec["ms"]
        ctx.record(f"{name} (roofline)", **fields)


def gemm(ctx):
    """Our GEMM against cuBLAS (CuPy, TF32 off) in the same run: 4096^3 with the tile chosen by shape
    and with each tile forced, the MLP and AlexNet dense-layer shapes (forward with the fused bias +
    ReLU against cuBLAS + a CuPy epilogue, and the weight gradient), and a tiny GEMM whose time is the
    host cost of one launch."""
    k = _k("gemm")
    xp = ctx.xp
    sizes = [(4096, 4096, 4096), (8192, 1024, 4096), (1024, 4096, 9216)]
    sizes = [(33, 17, 9)] if ctx.simulate else sizes[:1] if ctx.quick else sizes
    for M, N, K in sizes:
        name = f"matmul NN {M}x{N}x{K}"
        inputs = ctx.guarded(name, lambda M=M, N=N, K=K: (ctx.randn((M, K)), ctx.randn((K, N), seed=1)))
        if inputs is None:
            continue
        a, b = inputs
        rec = ctx.compare(
            name,
            lambda a=a, b=b: k.matmul(a, b),
            lambda a=a, b=b: a @ b,
            ref_name="cuBLAS (CuPy)",
            check=lambda a=a, b=b: ctx.rel_err(k.matmul(a, b), a @ b),
            flops=2 * M * N * K,
            tile=k.choose_tile(M, N, 1).name,
        )
        _roofline(ctx, name, rec, 2 * M * N * K)
    n = ctx.size(4096, 2048, 40)
    a3, b3 = ctx.randn((1, n, n)), ctx.randn((1, n, n), seed=1)
    c3 = xp.empty_like(a3)
    for tile in k.TILES:
        name = f"matmul NN {n}^3 tile {tile.name}"
        rec = ctx.compare(
            name,
            lambda tile=tile: k.gemm_batched(a3, b3, c3, tile=tile, split_k=1),
            lambda: a3[0] @ b3[0],
            ref_name="cuBLAS (CuPy)",
            check=lambda tile=tile: ctx.rel_err(k.gemm_batched(a3, b3, c3, tile=tile, split_k=1)[0], a3[0] @ b3[0]),
            flops=2 * n**3,
            tile=tile.name,
        )
        _roofline(ctx, name, rec, 2 * n**3)
    # Dense layers (M = batch): the MLP 784-64-64-10 at batch 32, AlexNet fc6-fc8 at batch 128.
    layers = [("MLP fc1", 32, 64, 784), ("MLP fc2", 32, 64, 64), ("AlexNet fc6", 128, 4096, 9216),
              ("AlexNet fc7", 128, 4096, 4096), ("AlexNet fc8", 128, 1000, 4096)]  # fmt: skip
    layers = [("tiny", 19, 23, 11)] if ctx.simulate else layers[:3] if ctx.quick else layers
    for label, M, N, K in layers:
        name = f"linear relu(x w^T + b) {label} {M}x{N}x{K}"
        shapes = ((M, K), (N, K), (N,), (M, N))
        inputs = ctx.guarded(name, lambda shapes=shapes: [ctx.randn(sh, seed=i) for i, sh in enumerate(shapes)])
        if inputs is None:
            continue
        x, w, bias, g = inputs

        def ours(x=x, w=w, bias=bias):
            return k.matmul(x, w, bias=bias, activation="relu", trans_b=True)

        def ref(x=x, w=w, bias=bias):
            return xp.maximum(x @ w.T + bias, 0)

        rec = ctx.compare(name, ours, ref, ref_name="cuBLAS NT + CuPy epilogue",
                          check=lambda ours=ours, ref=ref: ctx.rel_err(ours(), ref()), flops=2 * M * N * K)  # fmt: skip
        _roofline(ctx, name, rec, 2 * M * N * K)
        name = f"weight grad g^T x (TN) {label} {N}x{K}x{M}"
        rec = ctx.compare(
            name,
            lambda g=g, x=x: k.matmul(g, x, trans_a=True),
            lambda g=g, x=x: g.T @ x,
            ref_name="cuBLAS TN",
            check=lambda g=g, x=x: ctx.rel_err(k.matmul(g, x, trans_a=True), g.T @ x),
            flops=2 * M * N * K,
        )
        _roofline(ctx, name, rec, 2 * M * N * K)
    # A GEMM too small to measure anything but the launch: back-to-back calls between CUDA events
    # give the host cost of one launch (wrapper Python + the driver), against CuPy's matmul.
    s, t = ctx.randn((8, 8)), ctx.randn((8, 8), seed=1)
    out = xp.empty((8, 8), dtype=s.dtype)
    ctx.compare(
        "launch cost: matmul 8x8x8 (out given)",
        lambda: k.matmul(s, t, out=out),
        lambda: xp.matmul(s, t, out=out),
        ref_name="CuPy matmul (cuBLAS)",
        note="per call: host-bound; goal <= 10 us of Python per launch",
    )


def elementwise(ctx):
    a = _k("activations")
    xp = ctx.xp
    n = ctx.size(64 * 2**20, 16 * 2**20, 1000)
    x, g = ctx.randn((n,)), ctx.randn((n,), seed=1)
    out = xp.empty_like(x)
    cases = [
        ("relu", lambda: a.relu(x, out=out), lambda: xp.maximum(x, 0, out=out), 2),
        ("relu_backward", lambda: a.relu_backward(x, g, out=out), lambda: xp.multiply(g, x > 0, out=out), 3),
        ("gelu", lambda: a.gelu(x, out=out), None, 2),
        ("gelu_backward", lambda: a.gelu_backward(x, g, out=out), None, 3),
        ("sigmoid", lambda: a.sigmoid(x, out=out), None, 2),
        ("tanh", lambda: a.tanh(x, out=out), lambda: xp.tanh(x, out=out), 2),
    ]
    for name, ours, ref, arrays in cases:
        ctx.compare(f"{name} {n}", ours, ref, ref_name="CuPy" if ref else None, bytes=arrays * n * 4)


def _row_layout(C, arrays, dtype="float32"):
    rows = _k("_rows")
    tpr = rows.choose(C, dtype, arrays)
    return "stream (2 reads)" if tpr is None else f"{rows.name(tpr)} (1 read)"


def softmax(ctx):
    """The softmax family against the copy bandwidth (gpu_report's vs_copy), in each row layout of
    kernels/_rows.py: a block per row (8192 columns), a warp per row (1000), streaming (50257)."""
    s = _k("softmax")
    xp = ctx.xp
    R, C = ctx.size((8192, 8192), (4096, 4096), (5, 40))
    x = ctx.randn((R, C))
    y = xp.empty_like(x)

    def cupy_softmax():
        e = xp.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    ctx.compare(
        f"softmax {R}x{C}",
        lambda: s.softmax(x, out=y),
        cupy_softmax,
        ref_name="CuPy (4 kernels)",
        check=lambda: ctx.rel_err(s.softmax(x), cupy_softmax()),
        bytes=2 * R * C * 4,
        layout=_row_layout(C, 1),
    )
    g = ctx.randn((R, C), seed=1)
    out = xp.empty_like(x)
    p = cupy_softmax()
    ctx.compare(f"softmax_backward {R}x{C}", lambda: s.softmax_backward(p, g, out=out), bytes=3 * R * C * 4,
                layout=_row_layout(C, 2))
    ctx.compare(f"log_softmax {R}x{C}", lambda: s.log_softmax(x, out=out), bytes=2 * R * C * 4,
                layout=_row_layout(C, 1))
    Rc, Cc = ctx.size((65536, 1000), (16384, 1000), (7, 10))
    logits = ctx.randn((Rc, Cc))
    t = (xp.arange(Rc) * 7919 % Cc).astype(xp.int64)
    ctx.compare(
        f"softmax_cross_entropy {Rc}x{Cc}",
        lambda: s.softmax_cross_entropy(logits, t, grad_scale=1.0 / Rc),
        bytes=2 * Rc * Cc * 4 + Rc * 12,
        layout=_row_layout(Cc, 1),
    )
    Rl, Cl = ctx.size((2048, 50257), (1024, 50257), (3, 70))  # a GPT-2 vocabulary: too long for registers
    long_x = ctx.randn((Rl, Cl))
    long_t = (xp.arange(Rl) * 7919 % Cl).astype(xp.int64)
    ctx.compare(f"softmax_cross_entropy {Rl}x{Cl}", lambda: s.softmax_cross_entropy(long_x, long_t),
                bytes=2 * Rl * Cl * 4 + Rl * 12, layout=_row_layout(Cl, 1))


# AlexNet (torchvision) convolutions at batch 128: (Cin, H, Cout, k, stride, pad).
ALEXNET = [
    (3, 224, 64, 11, 4, 2),
    (64, 27, 192, 5, 1, 2),
    (192, 13, 384, 3, 1, 1),
    (384, 13, 256, 3, 1, 1),
    (256, 13, 256, 3, 1, 1),
]


def _torch_cuda():
    try:
        import torch

        if not torch.cuda.is_available():
            return None
    except Exception:  # no PyTorch, or one that cannot load its CUDA runtime here: no cuDNN reference
        return None
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    return torch


def conv(ctx):
    """Forward + input grad + weight grad of each AlexNet layer, against PyTorch/cuDNN (simulator: NumPy):
    ours is the implicit GEMM for all three (kernels/conv_implicit.py, conv_implicit_grad.py: strided input
    gradients by stride phase, the weight gradient split-K); ``im2col_ms`` is the all-im2col path of before,
    timed in the same run; ``fwd_ms``, ``dx_ms``, ``dw_ms`` each pass alone."""
    c = _k("conv")
    ci = _k("conv_implicit")
    cg = _k("conv_implicit_grad")
    batch = ctx.size(128, 32, 2)
    torch = None if ctx.simulate else _torch_cuda()
    for i, (cin, hw, cout, kk, st, pad) in enumerate(ALEXNET if not ctx.simulate else [(3, 9, 4, 3, 2, 1)], 1):
        name = f"AlexNet conv{i} fwd+bwd (N={batch})"
        dy_shape = (batch, cout, c.output_size(hw, kk, st, pad, 1), c.output_size(hw, kk, st, pad, 1))
        shapes = ((batch, cin, hw, hw), (cout, cin, kk, kk), (cout,), dy_shape)
        inputs = ctx.guarded(name, lambda shapes=shapes: [ctx.randn(sh, seed=seed) for seed, sh in enumerate(shapes)])
        if inputs is None:
            continue  # this layer cannot be set up (out of memory ...): the next one may
        x, w, b, dy = inputs

        dx_module = ci if cg.input_grad_is_implicit(cin) else c  # as the cuda backend chooses

        def ours(x=x, w=w, b=b, dy=dy, st=st, pad=pad, dx_module=dx_module):
            ci.conv2d_forward(x, w, b, stride=st, padding=pad)
            dx_module.conv2d_backward_input(dy, w, x.shape, stride=st, padding=pad)
            cg.conv2d_backward_weight(x, dy, w.shape, stride=st, padding=pad)

        def im2col(x=x, w=w, b=b, dy=dy, st=st, pad=pad):
            c.conv2d_forward(x, w, b, stride=st, padding=pad)
            c.conv2d_backward_input(dy, w, x.shape, stride=st, padding=pad)
            c.conv2d_backward_weight(x, dy, w.shape, stride=st, padding=pad)

        ref = check = None
        fields = {}
        try:
            fields["im2col_ms"] = ctx.time(im2col)
            fields["fwd_ms"] = ctx.time(lambda x=x, w=w, b=b, st=st, pad=pad: ci.conv2d_forward(
                x, w, b, stride=st, padding=pad))
            if not ctx.simulate:  # per-pass timings mean nothing in the simulator: the rehearsal stays short
                fields["dx_ms"] = ctx.time(lambda x=x, w=w, dy=dy, st=st, pad=pad: ci.conv2d_backward_input(
                    dy, w, x.shape, stride=st, padding=pad))  # implicit even where the backend takes im2col's
                fields["dx_im2col_ms"] = ctx.time(lambda x=x, w=w, dy=dy, st=st, pad=pad: c.conv2d_backward_input(
                    dy, w, x.shape, stride=st, padding=pad))
                fields["dw_ms"] = ctx.time(lambda x=x, w=w, dy=dy, st=st, pad=pad: cg.conv2d_backward_weight(
                    x, dy, w.shape, stride=st, padding=pad))
        except Exception as e:
            fields["im2col_error"] = f"{type(e).__name__}: {e}"[:500]
        tensors = None
        if torch is not None:
            try:  # PyTorch sharing CuPy's memory: a failure here loses the reference only
                tensors = [torch.as_tensor(a, device="cuda") for a in (x, w, b, dy)]
            except Exception as e:
                fields["ref_error"] = f"PyTorch setup: {type(e).__name__}: {e}"[:500]
        if tensors is not None:
            tx, tw, tb, tdy = tensors
            tx.requires_grad_(True)
            tw.requires_grad_(True)

            def ref(tx=tx, tw=tw, tb=tb, tdy=tdy, st=st, pad=pad):
                out = torch.nn.functional.conv2d(tx, tw, tb, stride=st, padding=pad)
                torch.autograd.grad(out, (tx, tw), tdy)

            def check(x=x, w=w, b=b, dy=dy, tx=tx, tw=tw, tb=tb, tdy=tdy, st=st, pad=pad):  # forward, dx, dw
                out = torch.nn.functional.conv2d(tx, tw, tb, stride=st, padding=pad)
                tdx, tdw = torch.autograd.grad(out, (tx, tw), tdy)
                dx = ci.conv2d_backward_input(dy, w, x.shape, stride=st, padding=pad)
                dw = cg.conv2d_backward_weight(x, dy, w.shape, stride=st, padding=pad)
                y = ci.conv2d_forward(x, w, b, stride=st, padding=pad)
                return max(ctx.rel_err(y, ctx.xp.asarray(out.detach())), ctx.rel_err(dx, ctx.xp.asarray(tdx)),
                           ctx.rel_err(dw, ctx.xp.asarray(tdw)))

            try:
                fields["ref_fwd_ms"] = ctx.time(lambda tx=tx, tw=tw, tb=tb, st=st, pad=pad: torch.nn.functional.conv2d(
                    tx.detach(), tw.detach(), tb, stride=st, padding=pad))
            except Exception as e:
                fields["ref_fwd_error"] = f"{type(e).__name__}: {e}"[:500]
        elif ctx.simulate:  # the NumPy reference (float64) stands in for cuDNN

            def ref(x=x, w=w, b=b, st=st, pad=pad):
                return c.conv2d_forward_reference(x, w, b, stride=st, padding=pad)

            def check(x=x, w=w, b=b, dy=dy, st=st, pad=pad, ref=ref):
                dw = cg.conv2d_backward_weight(x, dy, w.shape, stride=st, padding=pad)
                dx = ci.conv2d_backward_input(dy, w, x.shape, stride=st, padding=pad)
                return max(ctx.rel_err(ci.conv2d_forward(x, w, b, stride=st, padding=pad), ref()),
                           ctx.rel_err(dw, c.conv2d_backward_weight_reference(x, dy, w.shape, stride=st, padding=pad)),
                           ctx.rel_err(dx, c.conv2d_backward_input_reference(dy, w, x.shape, stride=st, padding=pad)))

        flops = 3 * 2 * batch * cout * dy_shape[2] * dy_shape[3] * cin * kk * kk
        ctx.compare(
            name,
            ours,
            ref,
            ref_name="PyTorch/cuDNN" if torch else ("NumPy" if ref else None),
            check=check,
            flops=flops,
            **fields,
        )


def pool(ctx):
    p = _k("pool")
    shape = ctx.size((128, 64, 55, 55), (32, 64, 55, 55), (2, 3, 9, 9))
    x = ctx.randn(shape)
    y, idx = p.max_pool2d_forward(x, 3, 2)
    g = ctx.randn(y.shape, seed=1)
    ctx.compare(f"max_pool 3/2 fwd {shape}", lambda: p.max_pool2d_forward(x, 3, 2), bytes=x.nbytes + y.nbytes * 2)
    ctx.compare(
        f"max_pool 3/2 bwd {shape}", lambda: p.max_pool2d_backward(g, idx, shape, 3, 2), bytes=x.nbytes + y.nbytes * 2
    )
    ctx.compare(f"avg_pool 3/2 fwd {shape}", lambda: p.avg_pool2d_forward(x, 3, 2), bytes=x.nbytes + y.nbytes)


def optim(ctx):
    o = _k("optim")
    xp = ctx.xp
    n = ctx.size(64 * 2**20, 16 * 2**20, 1000)
    p, g = ctx.randn((n,)), ctx.randn((n,), seed=1)
    m, v = xp.zeros_like(p), xp.zeros_like(p)
    ctx.compare(
        f"adamw {n}",
        lambda: o.adam_update(p, g, m, v, 1e-4, weight_decay=0.01, step=1, decoupled=True),
        bytes=7 * n * 4,
        note="reads p, g, m, v; writes p, m, v",
    )
