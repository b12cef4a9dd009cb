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


@pytest.mark.slow
def test_lenet5_full_ten_epochs_reaches_089(capsys):
    # tensorcore train --model lenet5 (Adam 1e-3, batch 32, 10 epochs, seed 0) reached 0.8950 test
    # accuracy on 2026-11-28 (PyTorch's LeNet-5 with Adam 1e-3: 0.897).
    out, val, test, losses = _train(capsys, "--model", "lenet5", "--epochs", "10")
    assert test >= 0.89, out


@pytest.mark.slow
def test_small_zfnet_trains_without_nan_and_beats_the_mlp(capsys):
    # 18000 training images, 5 epochs, seed 0 (2026-11-28): ZFNet (28x28 variant, 1,025,082 parameters)
    # 0.8733 test accuracy, MLP 784-64-64-10 0.8528. After 2 epochs the ZFNet (dropout 0.5) still trails:
    # 0.8393 against 0.8470. About 50 s per ZFNet epoch on 2 cores.
    args = ("--epochs", "5", "--limit", "20000")
    _, _, zf_test, zf_losses = _train(capsys, "--model", "zfnet", *args)
    _, _, mlp_test, _ = _train(capsys, "--model", "mlp", *args)
    assert all(loss == loss for loss in zf_losses)  # no NaN
    assert zf_test > mlp_test, (zf_test, mlp_test)
