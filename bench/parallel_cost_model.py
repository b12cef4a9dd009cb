"""The cost model of tensorcore/distributed/README.md ("At internet scale, on paper"), computed from measurements.

    python bench/parallel_cost_model.py [--out bench/results]

Reads bench/results/pipeline_cpu.json (p2p latency and bandwidth, bench/bench_pipeline.py) and
bench/results/distributed_cpu.json (the MLP's one-rank step time and a 2-rank all-reduce,
bench/bench_distributed.py), and writes bench/results/parallel_cost_model.md: for each scheme the bytes
each rank sends per step and the number of ranks it reaches before the network bounds it (communication
that cannot hide behind compute exceeds the compute), for two workloads on three networks.

Symbols: P parameters, b = 4 bytes per value (fp32), B samples per rank per step (sequences of s tokens
for the transformer), h hidden width, L layers, F FLOP/s, alpha one-way latency, beta bandwidth (bytes/s).
Training compute per step: T = 6 P B s / F (s = 1 for the MLP); backward is 2/3 of it.
"""

import argparse
import json
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
BYTES = 4


def workloads(distributed):
    """The MLP as measured here, and a GPT-2-small-shaped transformer on an assumed GPU."""
    run = distributed["runs"][0]  # 1 rank x 1 thread, no DDP
    p_mlp = run["gradient_bytes"] // BYTES
    batch = run["per_rank_batch"]
    t_mlp = run["min_step_s"]
    return [
        {"name": f"MLP 784-512-512-10 ({p_mlp / 1e6:.2f} M params), batch {batch} per rank, CPU core as measured "
                 f"({6 * p_mlp * batch / t_mlp / 1e9:.0f} GFLOP/s: {t_mlp * 1e3:.1f} ms / step)",
         "P": p_mlp, "B": batch, "s": 1, "h": 512, "L": 2, "T": t_mlp},
        {"name": "GPT-2 small shape (124 M params, L 12, h 768, s 1024), batch 8 sequences per rank, assumed GPU "
                 "at 400 TFLOP/s", "P": 124e6, "B": 8, "s": 1024, "h": 768, "L": 12,
         "T": 6 * 124e6 * 8 * 1024 / 400e12},
    ]


def networks(p2p):
    small, large = p2p[0], p2p[-1]
    return [
        {"name": f"this machine, measured (shared memory: {small['one_way_s'] * 1e6:.0f} us, "
                 f"{large['bandwidth_GBps']:.1f} GB/s)", "alpha": small["one_way_s"],
         "beta": large["bandwidth_GBps"] * 1e9},
        {"name": "datacenter, assumed (100 Gb/s, 5 us)", "alpha": 5e-6, "beta": 12.5e9},
        {"name": "internet, assumed (1 Gb/s, 20 ms)", "alpha": 20e-3, "beta": 125e6},
    ]


def largest(fits, limit=1 << 20):
    """The largest n in 2..limit with fits(n) (fits is monotone: true, then false); 1 if fits(2) is false."""
    if not fits(2):
        return 1
    lo, hi = 2, 2
    while hi < limit and fits(hi * 2):
        hi *= 2
    lo, hi = hi, min(hi * 2, limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def ring_all_reduce(n, nbytes, net):
    """Ring all-reduce: 2 (n - 1) steps, each one message of nbytes / n."""
    return 2 * (n - 1) * net["alpha"] + 2 * (n - 1) / n * nbytes / net["beta"]


def schemes():
    """(name, bytes per rank per step (text), bubble (text), fits(n, w, net)) for each scheme."""
    def dp(n, w, net):  # the all-reduce overlaps backward (DistributedDataParallel's buckets)
        return ring_all_reduce(n, w["P"] * BYTES, net) <= 2 / 3 * w["T"]

    def local_sgd(period):  # one non-blocking average every `period` steps, hidden behind them
        return lambda n, w, net: ring_all_reduce(n, w["P"] * BYTES, net) <= period * w["T"]

    def param_server(n, w, net, servers=4):  # each of n workers pushes and pulls P b per step; servers shard it
        return 2 * w["P"] * BYTES / net["beta"] <= w["T"] and n * 2 * w["P"] * BYTES / servers / net["beta"] <= w["T"]

    def tensor_parallel(t, w, net):  # 4 all-reduces of B s h per layer per step, on the critical path
        act = w["B"] * w["s"] * w["h"] * BYTES
        return w["L"] * 4 * ring_all_reduce(t, act, net) <= w["T"] / t

    def pipeline(p, w, net):  # m = 4p micro-batches (bubble 20%); a message must hide behind a micro-batch
        m = 4 * p
        message = net["alpha"] + w["B"] * w["s"] * w["h"] * BYTES / m / net["beta"]
        return message <= w["T"] / (p * m)

    return [
        ("data parallel (ring all-reduce, overlapped with backward)", "2 (N-1)/N P b", "none", dp),
        ("ZeRO-1 / ZeRO-2 (reduce-scatter + all-gather)", "2 (N-1)/N P b (as DP); memory 16P -> 8P + 8P/N (1), "
         "4P + 12P/N (2) with Adam", "none", dp),
        ("local SGD, average every H = 8 steps", "2 (N-1)/N P b / H", "none", local_sgd(8)),
        ("local SGD, H = 1000 (DiLoCo-like)", "2 (N-1)/N P b / H", "none", local_sgd(1000)),
        ("parameter server, 4 server shards, asynchronous", "2 P b per worker; N 2 P b / S per server", "none (stale "
         "gradients instead)", param_server),
        ("tensor parallel, Megatron (degree t)", "8 L (t-1)/t B s h b (4 all-reduces per layer), not overlapped",
         "none", tensor_parallel),
        ("pipeline, m = 4p micro-batches", "2 B s h b per stage boundary (2m messages)", "(p-1)/(m+p-1), under 20% "
         "at m = 4p", pipeline),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args()
    with open(os.path.join(RESULTS, "pipeline_cpu.json")) as f:
        pipeline_report = json.load(f)
    with open(os.path.join(RESULTS, "distributed_cpu.json")) as f:
        distributed = json.load(f)
    ws, nets = workloads(distributed), networks(pipeline_report["p2p"])
    lines = ["# Parallel training at scale, on paper (bench/parallel_cost_model.py)", "",
             f"Inputs: p2p latency and bandwidth from bench/results/pipeline_cpu.json ({pipeline_report['date']}); "
             "the MLP's one-rank step from bench/results/distributed_cpu.json. The number in each cell is the "
             "largest number of ranks (N; t for tensor parallel, p for pipeline) before communication that cannot "
             "hide behind compute exceeds it; 1 means the network bounds it already at 2.", ""]
    for w in ws:
        act = w["B"] * w["s"] * w["h"] * BYTES
        lines += [f"## {w['name']}", "",
                  f"compute per step T = {w['T'] * 1e3:.2f} ms; gradient {w['P'] * BYTES / 1e6:.1f} MB; "
                  f"activation per stage boundary {act / 1e6:.2f} MB", "",
                  "| scheme | bytes per rank per step | bubble | " + " | ".join(n["name"] for n in nets) + " |",
                  "|---|---|---|" + "---:|" * len(nets)]
        for name, nbytes, bubble, fits in schemes():
            cells = [largest(lambda n, fits=fits, net=net, w=w: fits(n, w, net)) for net in nets]
            lines.append(f"| {name} | {nbytes} | {bubble} | " + " | ".join(f"{c:,}" if c < 1 << 20 else ">1M"
                                                                           for c in cells) + " |")
        lines.append("")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "parallel_cost_model.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
