"""Benchmark: LeNet-5's training step and AlexNet's forward+backward, tensorcore against PyTorch on the CPU.

A thin caller of `tensorcore bench train --model lenet5,alexnet` (tensorcore/bench/suites/train.py),
run twice: with each library's default threads and with one thread (--threads 1), which is far
less noisy on a machine shared with other jobs. Same process, same weights and inputs, a gate on
the first losses, alternating rounds. Writes bench/results/lenet5_train_cpu.{json,md,png} and
lenet5_train_cpu-threads1.{json,md,png}.

    python bench/bench_lenet_train.py [--rounds 41] [--no-alexnet] [--out bench/results]

Workloads: LeNet-5 (1x28x28, batch 64, SGD lr 0.01 momentum 0.9: zero_grad, forward, cross-entropy,
backward, step) and the paper's AlexNet (3x227x227, batch 8, LRN and grouped convolutions:
forward + backward, no optimizer step).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tensorcore.cli import main as tensorcore_main  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds per model (default: the suite's)")
    p.add_argument("--no-alexnet", action="store_true", help="LeNet-5 only")
    p.add_argument("--quick", action="store_true", help="fewer rounds")
    p.add_argument("--out", default=RESULTS, help="folder for the results")
    args = p.parse_args(argv)
    status = 0
    for threads, suffix in ((None, ""), (1, "-threads1")):
        base = os.path.join(args.out, f"lenet5_train_cpu{suffix}")
        cmd = ["bench", "train", "--model", "lenet5" if args.no_alexnet else "lenet5,alexnet", "--device", "cpu",
               "--json", base + ".json", "--md", base + ".md", "--plot", base + ".png"]
        cmd += ["--threads", str(threads)] if threads else []
        cmd += ["--rounds", str(args.rounds)] if args.rounds else []
        cmd += ["--quick"] if args.quick else []
        status = max(status, tensorcore_main(cmd))
    return status


if __name__ == "__main__":
    sys.exit(main())
