"""Pipeline parallelism on this machine: the measured bubble against (p - 1) / (m + p - 1), and p2p messages.

    python bench/bench_pipeline.py [--stages 2] [--steps 15] [--out bench/results]

Launches itself under mpirun for each configuration and writes bench/results/pipeline_cpu.json and .md.
  * Bubble: an MLP of `stages` equal blocks (2 x [Linear(d, d), Tanh] each; d 1024, float32, batch 256,
    SGD, mean squared error), GPipe and 1F1B, m = 1, 2, 4, 8, 16 micro-batches. Per stage and step:
    wall (step start to end, after a barrier), busy (forward, loss and backward compute); bubble = idle /
    wall; medians over the steps. Also the same model in one process (no pipeline) for the throughput.
  * Point to point: a ping-pong between 2 ranks (Isend/Irecv through tensorcore.distributed), 8 B to
    16 MB; one-way time = half the median round trip; the latency and bandwidth the README's cost model uses.
Every rank runs with 1 BLAS thread.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

LAYERS_PER_STAGE, BATCH = 2, 256
SIZES = (8, 1024, 65536, 1 << 20, 1 << 24)


def build(stages, width):
    import tensorcore as tc
    from tensorcore import nn

    tc.manual_seed(0)
    layers = [m for _ in range(stages * LAYERS_PER_STAGE) for m in (nn.Linear(width, width), nn.Tanh())]
    return nn.Sequential(*layers)


def mse(out, y):
    return ((out - y) ** 2).mean()


def worker_pipeline(args):
    import tensorcore as tc
    import tensorcore.distributed as dist
    from tensorcore.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe, pipeline_split

    dist.init_process_group("mpi")
    rank, p = dist.get_rank(), dist.get_world_size()
    stage = PipelineStage(pipeline_split(build(p, args.width), p)[rank], rank, p)
    schedule = (ScheduleGPipe if args.schedule == "gpipe" else Schedule1F1B)(stage, args.micro, loss_fn=mse)
    opt = tc.optim.SGD(stage.submod.parameters(), lr=1e-3)
    x, y = tc.randn(BATCH, args.width), tc.randn(BATCH, args.width)
    rows = []
    for i in range(args.steps + 3):
        dist.barrier()
        opt.zero_grad()
        schedule.step(x) if stage.is_first else schedule.step(target=y) if stage.is_last else schedule.step()
        opt.step()
        if i >= 3:
            t = schedule.last_step_times
            rows.append((t.wall_s, t.busy_s, t.bubble, t.busy_cpu_s))
    rows = np.array(rows)
    mine = {"stage": rank, "wall_s": float(np.median(rows[:, 0])), "busy_s": float(np.median(rows[:, 1])),
            "bubble": float(np.median(rows[:, 2])), "busy_cpu_s": float(np.median(rows[:, 3])),
            "expected_bubble": t.expected_bubble}
    everyone = dist.all_gather_object(mine)
    if rank == 0:
        print("RESULT " + json.dumps(everyone), flush=True)
    dist.destroy_process_group()


def worker_single(args):
    import tensorcore as tc

    model = build(args.stages, args.width)
    opt = tc.optim.SGD(model.parameters(), lr=1e-3)
    x, y = tc.randn(BATCH, args.width), tc.randn(BATCH, args.width)
    times = []
    for i in range(args.steps + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        mse(model(x), y).backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    print("RESULT " + json.dumps({"median_step_s": float(np.median(times))}), flush=True)


def worker_p2p(args):
    import tensorcore as tc
    import tensorcore.distributed as dist

    dist.init_process_group("mpi")
    rank = dist.get_rank()
    peer = 1 - rank
    result = []
    for size in SIZES:
        buf = tc.zeros(size // 4)
        times = []
        for i in range(args.repeats + 3):
            dist.barrier()
            t0 = time.perf_counter()
            if rank == 0:
                dist.send(buf, peer)
                dist.recv(buf, peer)
            else:
                dist.recv(buf, peer)
                dist.send(buf, peer)
            if i >= 3:
                times.append(time.perf_counter() - t0)
        one_way = float(np.median(times)) / 2
        result.append({"bytes": size, "one_way_s": one_way, "bandwidth_GBps": size / one_way / 1e9})
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


def launch(ranks, extra, args):
    from tensorcore.distributed.launch import mpirun_argv

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable] if ranks == 0 else mpirun_argv(ranks) + [sys.executable]
    cmd += [os.path.abspath(__file__), "--steps", str(args.steps), "--stages", str(args.stages),
            "--repeats", str(args.repeats), "--width", str(args.width)] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"benchmark run failed: {' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=("pipeline", "single", "p2p"), help=argparse.SUPPRESS)
    p.add_argument("--schedule", default="gpipe", help=argparse.SUPPRESS)
    p.add_argument("--micro", type=int, default=4, help=argparse.SUPPRESS)
    p.add_argument("--stages", type=int, default=2, help="pipeline stages = ranks (default 2: this machine's cores)")
    p.add_argument("--steps", type=int, default=15, help="timed steps per configuration (medians)")
    p.add_argument("--repeats", type=int, default=30, help="ping-pong round trips per message size")
    p.add_argument("--micro-batches", default="1,2,4,8,16")
    p.add_argument("--width", type=int, default=1024, help="the Linear layers' width (the compute per stage)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = p.parse_args()
    if args.worker:
        return {"pipeline": worker_pipeline, "single": worker_single, "p2p": worker_p2p}[args.worker](args)
    load_start = os.getloadavg()[0]
    p2p = launch(2, ["--worker", "p2p"], args)
    single = launch(0, ["--worker", "single"], args)["median_step_s"]
    runs = []
    for m in [int(v) for v in args.micro_batches.split(",")]:
        for schedule in ("gpipe", "1f1b"):
            if schedule == "1f1b" and m < args.stages:
                continue
            stages = launch(args.stages, ["--worker", "pipeline", "--schedule", schedule, "--micro", str(m)], args)
            wall = max(s["wall_s"] for s in stages)
            runs.append({"schedule": schedule, "micro_batches": m, "stages": stages, "step_s": wall,
                         "speedup_vs_one_process": single / wall})
            print(f"{schedule} m={m}: " + "  ".join(f"stage {s['stage']} bubble {s['bubble']:.3f}" for s in stages)
                  + f"  (expected {stages[0]['expected_bubble']:.3f}); step {wall * 1e3:.1f} ms", flush=True)
    write(args, p2p, single, runs, load_start)


def write(args, p2p, single, runs, load_start):
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = f"python bench/bench_pipeline.py --stages {args.stages} --steps {args.steps} --width {args.width}"
    report = {"benchmark": "bench/bench_pipeline.py", "command": command, "date": stamp,
              "model": f"{args.stages} x {LAYERS_PER_STAGE} x [Linear({args.width}, {args.width}), Tanh], float32, "
                       f"batch {BATCH}, SGD, MSE",
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                          "loadavg_at_start": load_start, "loadavg_at_end": os.getloadavg()[0]},
              "one_process_step_s": single, "runs": runs, "p2p": p2p}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "pipeline_cpu.json"), "w") as f:
        json.dump(report, f, indent=1)
    lines = ["# Pipeline parallelism on CPU: the bubble and point-to-point messages (bench/bench_pipeline.py)", "",
             f"`{command}`, {stamp}; {os.cpu_count()} CPU cores, {platform.platform()}, 1 BLAS thread per rank; "
             f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (shared machine).", "",
             f"Model: {report['model']}; one process (no pipeline): {single * 1e3:.1f} ms / step. "
             f"Medians of {args.steps} steps, each after a barrier.", "",
             "| schedule | m | " + " | ".join(f"stage {s} cpu / busy / wall (ms)" for s in range(args.stages))
             + " | measured bubble per stage | (p-1)/(m+p-1) | step (ms) | vs one process |",
             "|---|---:|" + "---:|" * args.stages + "---|---:|---:|---:|"]
    for r in runs:
        st = r["stages"]
        lines.append(f"| {r['schedule']} | {r['micro_batches']} | "
                     + " | ".join(f"{s['busy_cpu_s'] * 1e3:.1f} / {s['busy_s'] * 1e3:.1f} / {s['wall_s'] * 1e3:.1f}"
                                  for s in st)
                     + f" | {', '.join(format(s['bubble'], '.3f') for s in st)} | {st[0]['expected_bubble']:.3f} | "
                     f"{r['step_s'] * 1e3:.1f} | {r['speedup_vs_one_process']:.2f}x |")
    lines += ["", "Point to point between 2 ranks (ping-pong, Open MPI shared memory; one-way = half the median "
              "round trip):", "", "| bytes | one-way (us) | GB/s |", "|---:|---:|---:|"]
    lines += [f"| {r['bytes']:,} | {r['one_way_s'] * 1e6:.1f} | {r['bandwidth_GBps']:.3f} |" for r in p2p]
    lines += ["", "Reading it: busy is the wall time of the stage's own compute (forward, loss, backward), cpu the "
              "CPU time it got meanwhile (less when it waited for a core); bubble = 1 - busy / wall. The rest of "
              "the wall time is the bubble proper plus posting and waiting for messages. The ideal (p-1)/(m+p-1) "
              "assumes equal stages, free messages and a core per rank.", ""]
    with open(os.path.join(args.out, "pipeline_cpu.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
