"""The GPU check's CUDA-graph section (bench/gpu_check.py runs it in its own process): a whole MLP
training step (forward, cross-entropy, backward, SGD with momentum) captured once with
``tc.cuda.graph`` and replayed, against the same step in PyTorch CUDA eager and in tensorcore eager,
and the replayed losses checked against eager steps on the same data.

Target (issue 17): the graphed step at most 0.5x PyTorch CUDA eager's time. The simulated device
refuses capture (there is no stream to record), so in the rehearsal this section reports no-gpu.
"""

from __future__ import annotations


def _tc_mlp_step(batch, seed=0):
    import numpy as np

    import tensorcore as tc
    from tensorcore import models, nn, optim

    tc.manual_seed(seed)
    model = models.get_model("mlp").to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)  # host-free step: capturable as is
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.random((batch, 784), dtype=np.float32), device="cuda")
    y = tc.tensor(rng.integers(0, 10, batch), device="cuda")
    out = {}

    def step():
        opt.zero_grad(set_to_none=False)  # gradients stay in the same buffers: what a graph needs
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        out["loss"] = loss
        return loss

    return step, x, y, out


def _torch_mlp_step(batch):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    nnt = torch.nn
    model = nnt.Sequential(nnt.Linear(784, 64), nnt.ReLU(), nnt.Linear(64, 64), nnt.ReLU(), nnt.Linear(64, 10)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.rand(batch, 784, device="cuda"), torch.randint(0, 10, (batch,), device="cuda")

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def graphs(ctx):
    """MLP step (batch 32): tensorcore in a CUDA graph and eager, against PyTorch CUDA eager."""
    if ctx.simulate:
        ctx.emit("unavailable", reason="CUDA graph capture needs a GPU (the simulated device refuses it)")
        return
    import tensorcore as tc

    batch = 32
    torch_step = None
    ref_error = None
    try:
        torch_step = _torch_mlp_step(batch)
    except Exception as e:
        ref_error = f"{type(e).__name__}: {e}"[:500]
    try:
        eager, _, _, _ = _tc_mlp_step(batch)
        ctx.compare(f"mlp batch {batch} step, tensorcore eager", eager, torch_step,
                    ref_name="PyTorch cuda eager", **({"ref_error": ref_error} if ref_error else {}))
    except Exception as e:
        ctx.record(f"mlp batch {batch} step, tensorcore eager", error=f"{type(e).__name__}: {e}"[:500])
    name = f"mlp batch {batch} step, tensorcore CUDA graph replay"
    try:
        step, x, y, out = _tc_mlp_step(batch)
        twin, tx, ty, tout = _tc_mlp_step(batch)
        for _ in range(3):  # warm-up: JIT, momentum buffers, gradient buffers
            step()
            twin()
        g = tc.cuda.CUDAGraph()
        with tc.cuda.graph(g):
            step()
        static_loss = out["loss"]

        def check():  # three replays on new data against the eager twin on the same data: loss rel. error
            import numpy as np

            worst = 0.0
            for seed in (1, 2, 3):
                rng = np.random.default_rng(seed)
                xs = rng.random((batch, 784), dtype=np.float32)
                ys = rng.integers(0, 10, batch)
                x.copy_(tc.tensor(xs, device="cuda"))
                y.copy_(tc.tensor(ys, device="cuda"))
                tx.copy_(tc.tensor(xs, device="cuda"))
                ty.copy_(tc.tensor(ys, device="cuda"))
                g.replay()
                want = float(twin().item())
                got = float(static_loss.item())
                worst = max(worst, abs(got - want) / max(abs(want), 1e-30))
            return worst

        worst = check()  # before the timing, which runs thousands of replays the twin does not
        rec = ctx.compare(name, g.replay, torch_step, ref_name="PyTorch cuda eager", check=lambda: worst,
                          note="target: ms <= 0.5 x ref_ms", **({"ref_error": ref_error} if ref_error else {}))
        if rec.get("ms") and rec.get("ref_ms"):
            ctx.emit("info", graph_vs_torch_eager=rec["ms"] / rec["ref_ms"])
    except Exception as e:
        ctx.record(name, error=f"{type(e).__name__}: {e}"[:500])
