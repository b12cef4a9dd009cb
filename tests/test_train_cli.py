"""`tensorcore train`: a short run, checkpoints, exact resume, the plot, and one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.cli import main

DATA = Path("/usr/share/datasets/fashion-mnist")


def _have_data():
    try:
        tc.data.find_files("fashion-mnist")
        return True
    except tc.TensorcoreError:
        return False


needs_data = pytest.mark.skipif(not _have_data(),
                                reason=f"Fashion-MNIST not found (install dataset-fashion-mnist: {DATA})")

QUICK = ["train", "--limit", "600", "--batch-size", "32", "--quiet", "--seed", "3"]


@needs_data
def test_short_run_prints_metrics_and_writes_plot_and_checkpoint(tmp_path, capsys):
    ck, png = tmp_path / "ck.npz", tmp_path / "curves.png"
    assert main(QUICK + ["--epochs", "2", "--save", str(ck), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "val loss" in out and "test accuracy" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = tc.load(ck)
    assert state["epoch"] == 2 and state["model_name"] == "mlp"
    assert set(state["history"]) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert len(state["history"]["val_acc"]) == 2
    assert {"model", "optimizer", "rng_state", "scheduler"} <= set(state)


@needs_data
@pytest.mark.parametrize("extra", [[], ["--optimizer", "sgd", "--schedule", "onecycle"]])
def test_resume_equals_uninterrupted(tmp_path, capsys, monkeypatch, extra):
    from tensorcore import train

    full, part, resumed = tmp_path / "full.npz", tmp_path / "part.npz", tmp_path / "resumed.npz"
    assert main(QUICK + extra + ["--epochs", "3", "--save", str(full)]) == 0
    # The same command, interrupted (Ctrl-C) during its second epoch: the checkpoint holds epoch 1.
    real_epoch, calls = train.train_epoch, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train, "train_epoch", interrupted)
    assert main(QUICK + extra + ["--epochs", "3", "--save", str(part)]) == 130
    monkeypatch.setattr(train, "train_epoch", real_epoch)
    assert tc.load(part)["epoch"] == 1
    assert main(QUICK + extra + ["--epochs", "3", "--resume", str(part), "--save", str(resumed)]) == 0
    assert "resumed from" in capsys.readouterr().out
    a, b = tc.load(full), tc.load(resumed)
    for key in a["model"]:
        np.testing.assert_array_equal(a["model"][key].numpy(), b["model"][key].numpy(), err_msg=key)
    for idx, st in a["optimizer"]["state"].items():
        for name, value in st.items():
            other = b["optimizer"]["state"][idx][name]
            if isinstance(value, tc.Tensor):
                np.testing.assert_array_equal(value.numpy(), other.numpy())
            else:
                assert value == other
    assert a["history"] == b["history"]
    assert a["rng_state"] == b["rng_state"]


@needs_data
def test_other_models_train_through_the_registry(tmp_path, capsys):
    assert main(QUICK + ["--epochs", "1", "--model", "mlp", "--optimizer", "rmsprop", "--schedule", "cosine",
                         "--val-split", "0"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[0].startswith("tensorcore train: error:")
    return err[0]


def test_unknown_model(capsys):
    assert main(["train", "--model", "resnet999", "--quiet"]) == 2
    line = _error_line(capsys)
    assert "resnet999" in line and "mlp" in line


def test_bad_device(capsys):
    assert main(["train", "--device", "tpu:0", "--quiet"]) == 2
    assert "tpu" in _error_line(capsys)


def test_unknown_dataset_and_bad_numbers(capsys):
    assert main(["train", "--dataset", "cifar10"]) == 2
    assert "cifar10" in _error_line(capsys)
    assert main(["train", "--epochs", "0"]) == 2
    assert "--epochs" in _error_line(capsys)


def test_missing_dataset(monkeypatch, tmp_path, capsys):
    from tensorcore.data import datasets

    monkeypatch.setattr(datasets, "SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TENSORCORE_DATA", raising=False)
    assert main(["train", "--quiet", "--limit", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tensorcore train: error:") and "not found" in err and "\n" not in err


@needs_data
def test_unreadable_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    assert main(QUICK + ["--resume", str(bad)]) == 2
    assert "bad.npz" in _error_line(capsys)
    other = tmp_path / "other.npz"
    tc.save({"weights": tc.zeros(3)}, other)
    assert main(QUICK + ["--resume", str(other)]) == 2
    assert "not a training checkpoint" in _error_line(capsys)
    assert main(QUICK + ["--resume", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz" in _error_line(capsys)


def test_python_dash_m_reports_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-m", "tensorcore", "train", "--model", "nope"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "nope" in proc.stderr
    assert "Traceback" not in proc.stderr
