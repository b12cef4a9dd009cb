"""Asynchronous against synchronous data parallelism with one rank slowed 3x (a sleep), on this machine.

    python bench/bench_async.py [--ranks 2] [--seconds 5] [--repeats 3] [--out bench/results]

Launches itself under mpirun (`--ranks 4` adds --oversubscribe on 2 cores). Every rank trains the
Fashion-MNIST MLP (784-64-64-10, float32, SGD lr 0.05 momentum 0.9, 32 samples per rank per step) on its
shard for a fixed wall-clock time; after every step the last rank sleeps twice its compute time (the median of
its last 16 forward times x the step/forward time ratio of 40 local steps without communication,
measured before each repeat): 3x slower, whatever the load of the shared cores, waits excluded.
Schemes, interleaved over the repeats:
  * sync          DistributedDataParallel: every step all-reduces the gradients (everyone waits for the slowest)
  * local-sgd     AsyncModelAverager(period=8): non-blocking model averaging, a fast rank keeps stepping
  * local-sgd-blocking   PeriodicModelAverager(period=8): a blocking average every 8 steps (for reference)
  * param-server  ParameterServerOptimizer: MPI one-sided fetch-and-add into rank 0's window, no waiting
  * sync-no-slow-rank   sync without the sleep: what the shared machine gives synchronous training anyway
Reported per scheme: samples per second summed over the ranks, each rank's steps, and the test accuracy
of the final model (after finish(): the averaged or the server's parameters) after the fixed time;
medians over the repeats. Writes bench/results/async_training.json and .md.
"""

import argparse
import collections
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

SCHEMES = ("sync", "local-sgd", "local-sgd-blocking", "param-server", "sync-no-slow-rank")


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
    results = []
    for repeat in range(args.repeats):
        step_per_forward = calibrate(args, x_mine, y_mine)
        for scheme in SCHEMES:
            tc.manual_seed(0)
            net = models.get_model("mlp")
            model = DistributedDataParallel(net) if scheme.startswith("sync") else net
            opt = tc.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
            if scheme == "local-sgd":
                opt = at.PostLocalSGDOptimizer(opt, at.AsyncModelAverager(period=8))
            elif scheme == "local-sgd-blocking":
                opt = at.PostLocalSGDOptimizer(opt, at.PeriodicModelAverager(period=8))
            elif scheme == "param-server":
                opt = at.ParameterServerOptimizer(opt)
            rng = np.random.default_rng(repeat * 100 + rank)
            order = rng.permutation(len(x_mine))
            steps, position, forwards, slept = 0, 0, collections.deque(maxlen=16), []
            flag = tc.zeros(1)

            def one_step(rows, model=model, opt=opt):
                """The forward's time (no communication in it, for any scheme)."""
                t0 = time.perf_counter()
                opt.zero_grad()
                loss = F.cross_entropy(model(tc.tensor(x_mine[rows])), tc.tensor(y_mine[rows]))
                forward = time.perf_counter() - t0
                loss.backward()
                opt.step()
                return forward

            for i in range(3):  # warm-up, the same count on every rank
                forwards.append(one_step(order[i * args.batch : (i + 1) * args.batch]))
            dist.barrier()
            start = time.perf_counter()
            while True:
                # Stop together where the scheme has collectives the ranks must match: every step (sync),
                # every averaging period (blocking local SGD); the asynchronous schemes stop on their own clock.
                if scheme.startswith("sync") or (scheme == "local-sgd-blocking" and steps % 8 == 0):
                    flag._data[0] = float(time.perf_counter() - start >= args.seconds)
                    dist.all_reduce(flag, op="max")
                    if flag.item():
                        break
                elif scheme in ("local-sgd", "param-server") and time.perf_counter() - start >= args.seconds:
                    break
                if position + args.batch > len(order):
                    order, position = rng.permutation(len(x_mine)), 0
                forwards.append(one_step(order[position : position + args.batch]))
                position += args.batch
                if slow and scheme != "sync-no-slow-rank":
                    # NOTE: 2x this rank's compute: its recent forward times x the step/forward ratio measured
                    # without communication; so the slowdown follows the shared cores' load and excludes waits.
                    pause = 2 * step_per_forward * float(np.median(forwards))
                    time.sleep(pause)
                    slept.append(pause)
                steps += 1
            elapsed = time.perf_counter() - start
            if not scheme.startswith("sync"):
                opt.finish()
            if scheme == "param-server":
                opt.close()
            loss, acc = evaluate(net, x_test, y_test, tc.device("cpu"))
            sleep_ms = 1e3 * float(np.median(slept)) if slept else 0.0
            everyone = dist.all_gather_object({"steps": steps, "seconds": elapsed, "sleep_ms": sleep_ms})
            if rank == 0:
                samples = sum(e["steps"] for e in everyone) * args.batch
                row = {"scheme": scheme, "repeat": repeat, "samples_per_s": samples / args.seconds,
                       "steps_per_rank": [e["steps"] for e in everyone],
                       "ms_per_step_per_rank": [1e3 * e["seconds"] / max(e["steps"], 1) for e in everyone],
                       "test_accuracy": acc, "test_loss": loss,
                       "sleep_ms_per_step": max(e["sleep_ms"] for e in everyone)}
                results.append(row)
                print(json.dumps(row), flush=True)
    if rank == 0:
        with open(args.json_out, "w") as f:
            json.dump(results, f)
    dist.destroy_process_group()


def calibrate(args, x, y, steps=40):
    """median step time / median forward time of local training steps (fresh model, no communication)."""
    import tensorcore as tc
    from tensorcore import models
    from tensorcore.nn import functional as F

    tc.manual_seed(1)
    net = models.get_model("mlp")
    opt = tc.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rows = np.random.default_rng(0).permutation(len(x))
    times, forwards = [], []
    for i in range(steps):
        batch = rows[i * args.batch : (i + 1) * args.batch]
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(net(tc.tensor(x[batch])), tc.tensor(y[batch]))
        forwards.append(time.perf_counter() - t0)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) / np.median(forwards))


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
        f"{args.ranks} ranks (mpirun, 1 BLAS thread each); after each step the last rank sleeps 2x its compute time "
        "(its recent forward times x the step/forward ratio measured without communication; median sleep "
        f"{np.median([r['sleep_ms_per_step'] for r in results if r['sleep_ms_per_step']]):.2f} ms): 3x slower.",
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
