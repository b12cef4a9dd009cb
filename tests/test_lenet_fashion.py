"""LeNet-5 on real Fashion-MNIST through `tensorcore train`: a quick subset run, the full 10 epochs (slow),
and a small ZFNet-style net against the MLP (slow)."""

import os
import re

import pytest

from tensorcore.cli import main

DATA = "/usr/share/datasets/fashion-mnist"

pytestmark = pytest.mark.skipif(
    not os.path.isdir(DATA) and not os.environ.get("TENSORCORE_DATA"),
    reason=f"Fashion-MNIST not found at {DATA}: install the Debian package dataset-fashion-mnist or set "
           "TENSORCORE_DATA")


def _train(capsys, *args):
    assert main(["train", "--quiet", *args]) == 0
    out = capsys.readouterr().out
    epochs = [float(v) for v in re.findall(r"val loss \S+ acc (\S+)", out)]
    test = float(re.search(r"test accuracy (\S+)", out).group(1))
    losses = [float(v) for v in re.findall(r"train loss (\S+)", out)]
    return out, epochs, test, losses


def test_lenet5_subset_learns(capsys):
    # 6000 training images (5400 after the validation split), 2 epochs: about 340 Adam steps.
    out, val, test, losses = _train(capsys, "--model", "lenet5", "--epochs", "2", "--limit", "6000",
                                    "--batch-size", "32")
    assert "lenet5 (61,706 parameters)" in out
    assert losses[1] < losses[0]
    assert test >= 0.70, out


# The CPU step's two longest units on one xdist worker, the rest on the other: this run (about 5.5 min on 2 quiet
# cores) shares the worker of the PTX compile (tests/test_ptx.py, about 7 min), so neither it nor the ZFNet below
# starts late or after the other (2026-12-02, a loaded fresh clone: both on one worker, 744 s + 562 s, the last 22 min).
@pytest.mark.slow
@pytest.mark.xdist_group("compiled_kernels")
def test_lenet5_full_ten_epochs_reaches_089(capsys):
    # Issue 4's bar: >= 0.89 test accuracy within 10 epochs. tensorcore train --model lenet5 (Adam 1e-3, batch 32,
    # seed 0) reached 0.8950 on 2026-11-28 (PyTorch's LeNet-5 with Adam 1e-3: 0.897); after 2 epochs 0.8599.
    out, val, test, losses = _train(capsys, "--model", "lenet5", "--epochs", "10")
    assert "54000 training, 6000 validation, 10000 test" in out
    assert losses[-1] < losses[0], out
    assert test >= 0.89, out


@pytest.mark.slow
def test_small_zfnet_trains_without_nan_and_beats_the_mlp(capsys):
    # 18000 training images, seed 0: ZFNet (28x28 variant, 1,025,082 parameters) against MLP 784-64-64-10, test
    # accuracy after 3 epochs (2026-12-02) 0.8628 against 0.8444; after 5 (2026-11-28) 0.8733 against 0.8528.
    # After 2 epochs the ZFNet (dropout 0.5) still trails: 0.8393 against 0.8470. About 45 s per ZFNet epoch on
    # 2 cores: 3 epochs keep CI within its budget.
    args = ("--epochs", "3", "--limit", "20000")
    _, _, zf_test, zf_losses = _train(capsys, "--model", "zfnet", *args)
    _, _, mlp_test, _ = _train(capsys, "--model", "mlp", *args)
    assert all(loss == loss for loss in zf_losses)  # no NaN
    assert zf_test > mlp_test, (zf_test, mlp_test)
