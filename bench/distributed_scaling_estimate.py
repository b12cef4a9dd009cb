"""A paper estimate of AlexNet data-parallel scaling: 8 GPUs over NVLink, 64 GPUs over 400 Gb/s InfiniBand.

    python bench/distributed_scaling_estimate.py      # writes bench/results/distributed_scaling_estimate.md

Model: ring all-reduce of the fp32 gradient, time = 2(n-1)/n x bytes / bandwidth + latency, in buckets
started as backward produces them (DistributedDataParallel's overlap). Every number that is an
assumption is a named constant below and printed in the report.
"""

import os

# --- AlexNet (the paper's, 227x227x3, 1000 classes): parameters and forward multiply-adds per layer ------
# name: (parameters, forward MACs per image). MACs = out_channels x (k*k*in_channels/groups) x out_h x out_w.
LAYERS = [  # in forward order; backward produces gradients in the reverse order
    ("conv1 96x11x11x3 /4", 34_944, 96 * 363 * 55 * 55),
    ("conv2 256x5x5x48 g2", 307_456, 256 * 1200 * 27 * 27),
    ("conv3 384x3x3x256", 885_120, 384 * 2304 * 13 * 13),
    ("conv4 384x3x3x192 g2", 663_936, 384 * 1728 * 13 * 13),
    ("conv5 256x3x3x192 g2", 442_624, 256 * 1728 * 13 * 13),
    ("fc6 9216x4096", 37_752_832, 9216 * 4096),
    ("fc7 4096x4096", 16_781_312, 4096 * 4096),
    ("fc8 4096x1000", 4_097_000, 4096 * 1000),
]
GRAD_BYTES_PER_PARAM = 4  # fp32 gradients (DDP all-reduces the parameters' dtype; AMP keeps fp32 masters)
BUCKET_MB = 25  # DistributedDataParallel's default bucket_cap_mb

# --- compute: per-GPU step time for a per-GPU batch (no H200 was available in this session to measure) -----
BATCH_PER_GPU = 128
H200_FP32_TFLOPS = 67.0  # H200 SXM peak, CUDA cores (tensorcore's Numba fp32 kernels)
H200_BF16_TFLOPS = 989.0  # H200 SXM dense tensor-core peak
SCENARIOS = {  # name: (achieved fraction of peak, peak TFLOP/s)
    "A: fp32 CUDA-core kernels (tensorcore today), 40% of 67 TFLOP/s": (0.40, H200_FP32_TFLOPS),
    "B: cuDNN mixed precision, 10% of 989 TFLOP/s (AlexNet is small-kernel/FC bound)": (0.10, H200_BF16_TFLOPS),
}
BACKWARD_OVER_FORWARD = 2.0  # backward = 2x forward FLOPs (grad input + grad weight)

# --- networks ----------------------------------------------------------------------------------------------
NETWORKS = {
    # name: (GPUs, effective ring bandwidth in bytes/s, latency per ring hop in s, hops per all-reduce)
    "8 GPUs, NVLink 4 + NVSwitch (450 GB/s per direction; NCCL ~80% -> 360 GB/s)": (8, 360e9, 2e-6, 2 * 7),
    # One 400 Gb/s NIC per GPU (DGX/HGX rail-optimised): NCCL runs 8 rings in parallel, each crossing
    # a node boundary on its own NIC with 1/8 of the data, so the node's 8 x 50 GB/s is the ring's
    # bandwidth; ~80% of line rate. Latency: hierarchical (7 NVLink + 7 IB hops, each way).
    "64 GPUs = 8 nodes x 8, 8 x 400 Gb/s InfiniBand per node (8 x 50 GB/s x 80% = 320 GB/s)":
        (64, 320e9, 5e-6, 2 * 14),
    # The pessimistic reading: a single 400 Gb/s link per node carries all of the node's traffic.
    "64 GPUs = 8 nodes x 8, one 400 Gb/s InfiniBand link per node (50 GB/s x 80% = 40 GB/s)":
        (64, 40e9, 5e-6, 2 * 14),
}


def step_estimate(n, bandwidth, hop_latency, hops, forward_s, backward_s):
    """(communication s, exposed communication s) for one step, buckets started as gradients appear.

    Buckets fill in backward order (fc8 first). A bucket's all-reduce starts when its last layer's
    gradient is ready (the backward time of the layers after it, in forward order, has passed) and
    when the previous bucket's all-reduce is done (one ring at a time). Exposed = what runs past the
    end of backward.
    """
    macs_total = sum(m for _, _, m in LAYERS)
    clock, comm_total = 0.0, 0.0
    bucket_bytes, cap = 0, BUCKET_MB * 1024 * 1024
    elapsed_backward = 0.0
    for _name, params, macs in reversed(LAYERS):
        elapsed_backward += backward_s * macs / macs_total
        size = params * GRAD_BYTES_PER_PARAM
        # A layer bigger than the cap is split over several buckets of about the cap (as several params would be).
        while size > 0:
            take = min(size, cap - bucket_bytes)
            bucket_bytes += take
            size -= take
            if bucket_bytes >= cap:
                comm = 2 * (n - 1) / n * bucket_bytes / bandwidth + hops * hop_latency
                clock = max(clock, elapsed_backward) + comm
                comm_total += comm
                bucket_bytes = 0
    if bucket_bytes:
        comm = 2 * (n - 1) / n * bucket_bytes / bandwidth + hops * hop_latency
        clock = max(clock, elapsed_backward) + comm
        comm_total += comm
    return comm_total, max(0.0, clock - backward_s)


def report():
    params = sum(p for _, p, _ in LAYERS)
    grad_bytes = params * GRAD_BYTES_PER_PARAM
    fwd_flops = 2 * sum(m for _, _, m in LAYERS)
    step_flops = fwd_flops * (1 + BACKWARD_OVER_FORWARD) * BATCH_PER_GPU
    fc_share = sum(p for name, p, _ in LAYERS if name.startswith("fc")) / params
    conv_flop_share = sum(m for name, _, m in LAYERS if name.startswith("conv")) / sum(m for _, _, m in LAYERS)
    lines = [
        "# AlexNet data-parallel scaling: a paper estimate (bench/distributed_scaling_estimate.py)",
        "",
        "## What is communicated",
        f"AlexNet (paper variant, 227x227x3, 1000 classes): {params:,} parameters, so every step all-reduces "
        f"{grad_bytes / 1e6:.1f} MB of fp32 gradients. {fc_share:.0%} of them are in the three fully connected "
        f"layers, which hold only {1 - conv_flop_share:.0%} of the FLOPs. Backward produces the FC gradients "
        "first (they are last in forward), so their all-reduce overlaps the convolutions' backward.",
        "",
        "Ring all-reduce (NCCL's ring; DistributedDataParallel's buckets of "
        f"{BUCKET_MB} MB): each bucket costs 2(n-1)/n x bytes / bandwidth + hops x latency; buckets go one "
        "after the other, each starting once its gradients exist.",
        "",
        "## Compute per step (assumed: no H200 was available to this session to measure)",
        f"Forward {fwd_flops / 1e9:.2f} GFLOP per image; a training step is ~{1 + BACKWARD_OVER_FORWARD:.0f}x "
        f"forward: {step_flops / 1e12:.2f} TFLOP for a per-GPU batch of {BATCH_PER_GPU}.",
        "",
    ]
    computes = {}
    for name, (eff, peak) in SCENARIOS.items():
        step = step_flops / (eff * peak * 1e12)
        computes[name] = step
        lines.append(f"* {name}: {step * 1e3:.1f} ms per step, {BATCH_PER_GPU / step:,.0f} images/s per GPU")
    lines += [
        "",
        "Replace these with measured H200 step times (tensorcore bench on a GPU) when available; the "
        "conclusions below depend on the ratio of communication to backward time.",
        "",
        "## Result",
        "",
        "| network | compute | all-reduce per step | exposed after backward | step | scaling efficiency "
        "| images/s (all GPUs) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for net_name, (n, bw, lat, hops) in NETWORKS.items():
        for comp_name, step in computes.items():
            fwd = step / (1 + BACKWARD_OVER_FORWARD)
            bwd = step - fwd
            comm, exposed = step_estimate(n, bw, lat, hops, fwd, bwd)
            no_overlap = step + comm
            total = step + exposed
            lines.append(
                f"| {net_name} | {comp_name.split(':')[0]} | {comm * 1e3:.2f} ms | {exposed * 1e3:.2f} ms "
                f"(no overlap: +{comm * 1e3:.2f}) | {total * 1e3:.1f} ms | {step / total:.0%} "
                f"(no overlap {step / no_overlap:.0%}) | {n * BATCH_PER_GPU / total:,.0f} |"
            )
    lines += [
        "",
        "## Reading it",
        "* 8 GPUs on NVLink: the 244 MB all-reduce costs ~1.5 ms (1.2 ms of bandwidth, 0.3 ms of latency over "
        "10 buckets), less than backward even in the fast scenario, and nearly all of it overlaps backward: "
        "~99-100% scaling efficiency (79-93% if it did not overlap). What stays exposed is the last bucket, "
        "the convolutions' 2 M parameters.",
        "* 64 GPUs with one 400 Gb/s NIC per GPU: NCCL's 8 parallel rings give each node 8 x 50 GB/s, so the "
        "all-reduce (~2.9 ms, half of it latency) still hides behind backward: ~97-99% (66-88% without "
        "overlap). A flat 64-GPU ring would pay 2 x 63 hop latencies per bucket; NCCL's hierarchical "
        "and tree algorithms keep that near 2 x 14.",
        "* 64 GPUs behind a single 400 Gb/s link per node: ~13 ms per all-reduce. With fp32 CUDA-core compute "
        "(A) backward (~14 ms) is just long enough to hide it (98%); with fast tensor-core compute (B) most "
        "of it is exposed and efficiency falls to about a third. Remedies: bf16 gradients (half the bytes), "
        "larger per-GPU batches (more compute per byte), more NICs.",
        "* AlexNet is communication-heavy for its FLOPs (96% of the bytes in FC layers): convolution-only "
        "networks of the same FLOPs scale better.",
        "",
        "Assumptions: fp32 gradients; bucket 25 MB; NCCL achieves ~80% of link bandwidth; per-hop latency "
        "2 us (NVLink) and 5 us (InfiniBand); backward = 2x forward FLOPs, spread over layers in "
        "proportion to their forward MACs; the optimizer step and input pipeline are not counted; one "
        "all-reduce at a time per GPU.",
        "",
    ]
    return "\n".join(lines)


def main():
    text = report()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "distributed_scaling_estimate.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
