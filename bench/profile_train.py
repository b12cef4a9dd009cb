"""Where a tensorcore training step spends its time: phases timed separately, then a profile.

    python bench/profile_train.py --model mlp [--steps 2000] [--pyinstrument]

Prints the median time of each phase of the step used by `tensorcore bench train` (zero_grad,
forward, loss, backward, optimizer step) for tensorcore and PyTorch on the same model and data,
then (with --pyinstrument, when installed) a call tree of tensorcore's steps, or else the top
functions by own time from cProfile with their microseconds per call.
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import time

from tensorcore.bench.suites import train


def phase_times(model, opt, loss_fn, batches, steps):
    phases = {"zero_grad": [], "forward": [], "loss": [], "backward": [], "step": []}
    for i in range(steps):
        x, y = batches[i % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad()
        t1 = time.perf_counter()
        out = model(x)
        t2 = time.perf_counter()
        loss = loss_fn(out, y)
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        opt.step()
        t5 = time.perf_counter()
        for k, a, b in (("zero_grad", t0, t1), ("forward", t1, t2), ("loss", t2, t3), ("backward", t3, t4),
                        ("step", t4, t5)):
            phases[k].append(b - a)
    return {k: statistics.median(v[steps // 10:]) for k, v in phases.items()}


def build_pair(name):
    import numpy as np
    import torch
    import torch.nn.functional as F

    import tensorcore as tc

    spec = train.SPECS[name]
    tc.manual_seed(0)
    rng = np.random.default_rng(0)
    data = train._batches(spec, rng)
    model, _ = train.tc_model(name, spec["layers"], "cpu")
    opt = train.tc_optimizer(spec["optimizer"][0], model.parameters(), spec["optimizer"][1])
    tmodel = train.torch_model(spec["layers"])
    train._copy_weights(model.parameters(), tmodel.parameters())
    topt = train.torch_optimizer(spec["optimizer"][0], tmodel.parameters(), spec["optimizer"][1])
    tc_batches = [(tc.tensor(x), tc.tensor(y)) for x, y in data]
    t_batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
    return (model, opt, train.tc_cross_entropy(), tc_batches), (tmodel, topt, F.cross_entropy, t_batches)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="mlp", choices=train.MODELS, help="the suite's model to profile")
    p.add_argument("--steps", type=int, default=None, help="steps per phase timing (default: mlp 2000, lenet5 "
                   "200, alexnet 5)")
    p.add_argument("--pyinstrument", action="store_true", help="a call tree from pyinstrument instead of cProfile")
    p.add_argument("--threads", type=int, default=None, help="BLAS and PyTorch threads (default: theirs)")
    args = p.parse_args(argv)
    if args.threads:
        from tensorcore.bench.cli import set_threads

        set_threads(args.threads)
    steps = args.steps or {"mlp": 2000, "lenet5": 200, "alexnet": 5}[args.model]
    tc_side, torch_side = build_pair(args.model)
    for who, side in (("tensorcore", tc_side), ("torch", torch_side), ("tensorcore", tc_side)):
        ph = phase_times(*side, steps)
        total = sum(ph.values())
        parts = "  ".join(f"{k} {v * 1e6:8.1f} us" for k, v in ph.items())
        print(f"{who:<11} {parts}  total {total * 1e6:.1f} us")
    model, opt, loss_fn, batches = tc_side

    def run():
        for i in range(steps):
            x, y = batches[i % len(batches)]
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("pyinstrument not installed; using cProfile", file=sys.stderr)
        else:
            prof = Profiler(interval=0.0002)
            prof.start()
            run()
            prof.stop()
            print(prof.output_text(unicode=False, color=False, show_all=False))
            return 0
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (_cc, nc, tt, ct, _) in stats.stats.items():
        rows.append((tt, ct, nc, f"{file.split('site-packages/')[-1].split('/main/')[-1]}:{line}({fn})"))
    rows.sort(reverse=True)
    print(f"\ncProfile over {steps} steps (cProfile inflates Python-call-heavy code; compare shares, not totals)")
    print(f"{'own us/step':>11} {'cum us/step':>11} {'calls/step':>10} {'us/call':>8}  function")
    for tt, ct, nc, name in rows[:30]:
        print(f"{tt / steps * 1e6:11.1f} {ct / steps * 1e6:11.1f} {nc / steps:10.1f} {tt / nc * 1e6:8.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
