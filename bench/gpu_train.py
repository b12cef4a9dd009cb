"""The GPU check's training sections: tensorcore training steps (MLP, LeNet-5, AlexNet) on cuda
against tensorcore on the CPU and PyTorch on the same GPU, and NCCL, last (bench/gpu_check.py runs
each in its own process). In the simulator: the simulated cuda device and toy sizes (plumbing only).
"""

from __future__ import annotations

import time


def _tc_step(model_name, batch, device, dry):
    """A closure running one tensorcore training step (forward, backward, optimizer) on `device`."""
    import numpy as np

    import tensorcore as tc
    from tensorcore import models, nn, optim

    tc.manual_seed(0)
    if model_name == "mlp":
        model = models.get_model("mlp", **({"in_features": 16} if dry else {}))
        x = np.random.default_rng(0).random((batch, 16 if dry else 784), dtype=np.float32)
        opt_cls, kw = optim.Adam, {"lr": 1e-3}
    elif model_name == "lenet5":
        model = models.get_model("lenet5")
        x = np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)
        opt_cls, kw = optim.SGD, {"lr": 0.01, "momentum": 0.9}
    else:
        model = models.get_model("alexnet", num_classes=1000)
        x = np.random.default_rng(0).random((batch, 3, 227, 227), dtype=np.float32)
        opt_cls, kw = optim.SGD, {"lr": 0.01, "momentum": 0.9}
    model.to(device)
    opt = opt_cls(model.parameters(), **kw)
    classes = 1000 if model_name == "alexnet" else 10
    xt = tc.tensor(x, device=device)
    yt = tc.tensor(np.random.default_rng(1).integers(0, classes, batch), device=device)

    def step():
        opt.zero_grad(set_to_none=False)  # gradients stay in Adam's flat buffer: one launch, no gather copy
        loss = nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()

    return step


def _torch_step(model_name, batch):
    """The same step in PyTorch on the GPU, or None when PyTorch has no CUDA here."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    nnt = torch.nn
    if model_name == "mlp":
        model = nnt.Sequential(nnt.Linear(784, 64), nnt.ReLU(), nnt.Linear(64, 64), nnt.ReLU(), nnt.Linear(64, 10))
        x = torch.rand(batch, 784)
        make_opt = lambda p: torch.optim.Adam(p, lr=1e-3)  # noqa: E731
    elif model_name == "lenet5":
        model = nnt.Sequential(
            nnt.Conv2d(1, 6, 5, padding=2),
            nnt.ReLU(),
            nnt.MaxPool2d(2),
            nnt.Conv2d(6, 16, 5),
            nnt.ReLU(),
            nnt.MaxPool2d(2),
            nnt.Flatten(),
            nnt.Linear(400, 120),
            nnt.ReLU(),
            nnt.Linear(120, 84),
            nnt.ReLU(),
            nnt.Linear(84, 10),
        )
        x = torch.rand(batch, 1, 28, 28)
        make_opt = lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)  # noqa: E731
    else:
        return None  # AlexNet's peer: torchvision may be absent; the paper net differs anyway
    model = model.cuda()
    opt = make_opt(model.parameters())
    x = x.cuda()
    y = torch.randint(0, 10, (batch,)).cuda()

    def step():
        opt.zero_grad(set_to_none=False)  # as tensorcore's step: the same gradient buffers every step
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def train_steps(ctx):
    """Median ms per training step: tensorcore cuda vs PyTorch cuda (vs_ref > 1: faster than PyTorch)."""
    runs = (
        [("mlp", 4)]
        if ctx.simulate
        else [("mlp", 32), ("mlp", 1024), ("lenet5", 64), ("alexnet", ctx.size(128, 32, 2))]
    )
    for model_name, batch in runs:
        name = f"{model_name} batch {batch}"
        ours = ref = None
        rec = {}
        try:  # building the model is part of our figure: a failure there must not lose PyTorch's
            ours = _tc_step(model_name, batch, "cuda", ctx.simulate)
        except Exception as e:
            rec["error"] = f"tensorcore cuda: {type(e).__name__}: {e}"[:500]
        try:
            ref = None if ctx.simulate else _torch_step(model_name, batch)
        except Exception as e:
            rec["ref_error"] = f"{type(e).__name__}: {e}"[:500]
        if model_name in ("mlp", "lenet5") and not ctx.simulate:
            try:
                step = _tc_step(model_name, batch, "cpu", False)
                step()
                reps = 20 if model_name == "mlp" else 3
                t = time.perf_counter()
                for _ in range(reps):
                    step()
                rec["cpu_ms"] = (time.perf_counter() - t) / reps * 1e3
            except Exception as e:
                rec["cpu_error"] = f"{type(e).__name__}: {e}"[:500]
        if ours is None:
            ctx.record(name, **rec)
            continue
        ctx.compare(name, ours, ref, ref_name="PyTorch cuda" if ref else None, **rec)


def nccl(ctx):
    """A world of size 1 through NCCL (tensorcore.distributed.nccl_selftest); needs a GPU."""
    if ctx.simulate:
        ctx.emit("unavailable", reason="not run in the simulator: NCCL needs a GPU")
        return
    t = time.perf_counter()
    try:
        ctx.fault(ctx.section)
        from tensorcore.distributed import nccl_selftest

        result = nccl_selftest()
        ctx.record("all_reduce world of 1", ms=(time.perf_counter() - t) * 1e3, note=str(result)[:500])
    except Exception as e:
        ctx.record("all_reduce world of 1", error=f"{type(e).__name__}: {e}"[:500])
