"""Benchmark: the 784-64-64-10 MLP's training step (batch 32, Adam lr 1e-3), tensorcore vs PyTorch and the NumPy floor.

A thin caller of `tensorcore bench train --model mlp` (tensorcore/bench/suites/train.py): the same
model and initial weights in tensorcore, PyTorch and the hand-written NumPy step
(tensorcore/bench/suites/numpy_floor.py), the same batches, alternating rounds, then one real
Fashion-MNIST epoch of tensorcore and PyTorch (unless --quick). Writes
bench/results/mlp_train_cpu.json, .md and .png.

    python bench/bench_mlp_train.py                       # one BLAS / PyTorch thread, as on a shared machine
    python bench/bench_mlp_train.py --threads 0           # each library's default thread count
    python bench/bench_mlp_train.py --quick --out /tmp    # a short run

A step is: zero_grad; loss = cross_entropy(model(x), y); loss.backward(); optimizer.step().
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
    p.add_argument("--threads", type=int, default=1, help="threads for PyTorch and NumPy's BLAS (0: their defaults)")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (default: the suite's)")
    p.add_argument("--quick", action="store_true", help="fewer rounds, no Fashion-MNIST epoch")
    p.add_argument("--out", default=RESULTS, help="folder for mlp_train_cpu.json, .md and .png")
    args = p.parse_args(argv)
    base = os.path.join(args.out, "mlp_train_cpu")
    cmd = ["bench", "train", "--model", "mlp", "--device", "cpu", "--json", base + ".json", "--md", base + ".md",
           "--plot", base + ".png"]
    cmd += ["--threads", str(args.threads)] if args.threads else []
    cmd += ["--rounds", str(args.rounds)] if args.rounds else []
    cmd += ["--quick"] if args.quick else []
    return tensorcore_main(cmd)


if __name__ == "__main__":
    sys.exit(main())
