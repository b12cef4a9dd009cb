"""Asynchronous against synchronous data parallelism with one rank slowed 3x (a sleep), on this machine.

    python bench/bench_async.py [--ranks 2] [--seconds 5] [--repeats 3] [--out bench/results]

Launches itself under mpirun (`--ranks 4` adds --oversubscribe on 2 cores). Every rank trains the
Fashion-MNIST MLP (784-64-64-10, float32, SGD lr 0.05 momentum 0.9, 32 samples per rank per step) on its
shard for a fixed wall-clock time; the last rank sleeps twice its median compute time (measured on 30
local steps first) after every step: 3x slower. Schemes, interleaved over the repeats:
  * sync          DistributedDataParallel: every step all-reduces the gradients (everyone waits for the slowest)
  * local-sgd     AsyncModelAverager(period=8): non-blocking model averaging, a fast rank keeps stepping
  * local-sgd-blocking   PeriodicModelAverager(period=8): a blocking average every 8 steps (for reference)
  * param-server  ParameterServerOptimizer: MPI one-sided fetch-and-add into rank 0's window, no waiting
Reported per scheme: samples per second summed over the ranks, each rank's steps, and the test accuracy
of the final model (after finish(): the averaged or the server's parameters) after the fixed time;
medians over the repeats. Writes bench/results/async_training.json and .md.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

SCHEMES = ("sync", "local-sgd", "local-sgd-blocking", "param-server")


def worker(args):
    import tensorcore as tc
    import tensorcore.distributed as dist
    from tensorcore import models
    from tensorcore.distributed import async_training as at
    from tensorcore.nn import functional as F
    from tensorcore.nn.parallel import DistributedDataParallel
    from tensorcore.train import evaluate, load_data

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    slow = rank == world - 1
    (x_train, y_train), _, (x_test, y_test) = load_data("fashion-mnist", (784,), args.limit, 0.0)
    x_mine, y_mine = x_train[rank::world], y_train[rank::world]
    # The slow rank's sleep: twice the median of 30 local steps of a throwaway model (no communication).
    tc.manual_seed(0)
    probe = models.get_model("mlp")
    probe_opt = tc.optim.SGD(probe.parameters(), lr=0.05, momentum=0.9)
    times = []
    for i in range(30):
        t0 = time.perf_counter()
        probe_opt.zero_grad()
        rows = slice(i * args.batch, (i + 1) * args.batch)
        F.cross_entropy(probe(tc.tensor(x_mine[rows])), tc.tensor(y_mine[rows])).backward()
        probe_opt.step()
        times.append(time.perf_counter() - t0)
    sleep_s = 2 * float(np.median(times)) if slow else 0.0
    sleeps = dist.all_gather_object(sleep_s)
    results = []
    for repeat in range(args.repeats):
        for scheme in SCHEMES:
            tc.manual_seed(0)
            net = models.get_model("mlp")
            model = DistributedDataParallel(net) if scheme == "sync" else net
            opt = tc.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
            if scheme == "local-sgd":
                opt = at.PostLocalSGDOptimizer(opt, at.AsyncModelAverager(period=8))
            elif scheme == "local-sgd-blocking":
                opt = at.PostLocalSGDOptimizer(opt, at.PeriodicModelAverager(period=8))
            elif scheme == "param-server":
                opt = at.ParameterServerOptimizer(opt)
            rng = np.random.default_rng(repeat * 100 + rank)
            order = rng.permutation(len(x_mine))
            steps, compute, position = 0, 0.0, 0
            flag = tc.zeros(1)
            dist.barrier()
            start = time.perf_counter()
            while True:
                if scheme == "sync":  # stop together: DDP's collectives need every rank in every step
                    flag._data[0] = float(time.perf_counter() - start >= args.seconds)
                    dist.all_reduce(flag, op="max")
                    if flag.item():
                        break
                elif time.perf_counter() - start >= args.seconds:
                    break
                if position + args.batch > len(order):
                    order, position = rng.permutation(len(x_mine)), 0
                rows = order[position : position + args.batch]
                position += args.batch
                t0 = time.perf_counter()
                opt.zero_grad()
                F.cross_entropy(model(tc.tensor(x_mine[rows])), tc.tensor(y_mine[rows])).backward()
                opt.step()
                compute += time.perf_counter() - t0
                if slow:
                    time.sleep(sleep_s)
                steps += 1
            elapsed = time.perf_counter() - start
            if scheme != "sync":
                opt.finish()
            if scheme == "param-server":
                opt.close()
            loss, acc = evaluate(net, x_test, y_test, tc.device("cpu"))
            everyone = dist.all_gather_object({"steps": steps, "seconds": elapsed, "compute_s": compute})
            if rank == 0:
                samples = sum(e["steps"] for e in everyone) * args.batch
                row = {"scheme": scheme, "repeat": repeat, "samples_per_s": samples / args.seconds,
                       "steps_per_rank": [e["steps"] for e in everyone],
                       "ms_per_step_per_rank": [1e3 * e["seconds"] / max(e["steps"], 1) for e in everyone],
                       "test_accuracy": acc, "test_loss": loss, "sleep_ms_per_step": 1e3 * max(sleeps)}
                results.append(row)
                print(json.dumps(row), flush=True)
    if rank == 0:
        with open(args.json_out, "w") as f:
            json.dump(results, f)
    dist.destroy_process_group()


def median(rows, key):
    return float(np.median([r[key] for r in rows]))


def write_report(args, results, command):
    os.makedirs(args.out, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.release()}"
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = []
    for scheme in SCHEMES:
        rows = [r for r in results if r["scheme"] == scheme]
        steps = np.median(np.array([r["steps_per_rank"] for r in rows]), axis=0).astype(int).tolist()
        summary.append({"scheme": scheme, "samples_per_s": median(rows, "samples_per_s"),
                        "test_accuracy": median(rows, "test_accuracy"), "steps_per_rank": steps})
    sync = summary[0]["samples_per_s"]
    lines = [
        "# Asynchronous vs synchronous data parallelism, one rank slowed 3x (bench/bench_async.py)",
        "",
        f"Machine: {machine}; load average {load:.1f} at the end (the cores are shared). Date: {today}.",
        f"Command: `{command}`",
        "",
        f"{args.ranks} ranks (mpirun, 1 BLAS thread each); the last rank sleeps 2x its median compute time after each "
        f"step ({np.median([r['sleep_ms_per_step'] for r in results]):.1f} ms): 3x slower.",
        f"MLP 784-64-64-10 float32 on {args.limit} Fashion-MNIST training samples (sharded), SGD lr 0.05 momentum "
        f"0.9, {args.batch} samples per rank per step; {args.seconds:g} s of training per run; medians of "
        f"{args.repeats} interleaved repeats. Accuracy: the final model on the 10,000 test images.",
        "",
        "| scheme | samples / s (all ranks) | vs sync | steps per rank (median) | test accuracy after "
        f"{args.seconds:g} s |",
        "|:---|---:|---:|:---|---:|",
    ]
    for s in summary:
        lines.append(f"| {s['scheme']} | {s['samples_per_s']:.0f} | {s['samples_per_s'] / sync:.2f}x | "
                     f"{', '.join(map(str, s['steps_per_rank']))} | {s['test_accuracy']:.4f} |")
    lines += ["", "Every run: bench/results/async_training.json."]
    with open(os.path.join(args.out, "async_training.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "async_training.json"), "w") as f:
        json.dump({"machine": machine, "date": today, "command": command, "load_average": load,
                   "summary": summary, "runs": results}, f, indent=1)
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--limit", type=int, default=12000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    from tensorcore.distributed.launch import mpirun_argv

    json_out = os.path.join(args.out, ".async_runs.tmp.json")
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OMPI_MCA_osc="^ucx")  # Open MPI's UCX one-sided component only prints an error on this machine
    cmd = mpirun_argv(args.ranks) + [sys.executable, os.path.abspath(__file__), "--worker", "--seconds",
                                     str(args.seconds), "--repeats", str(args.repeats), "--batch", str(args.batch),
                                     "--limit", str(args.limit), "--json-out", json_out]
    code = subprocess.call(cmd, env=env)
    if code:
        return code
    with open(json_out) as f:
        results = json.load(f)
    os.remove(json_out)
    command = "python bench/bench_async.py " + " ".join(sys.argv[1:])
    write_report(args, results, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
