"""Every failure of every CLI subcommand is one line on stderr naming the problem, with a non-zero exit,
and train's arguments and paths are checked before any training starts."""

import os
import re
import subprocess
import sys

import pytest

import tensorcore as tc
from tensorcore import train
from tensorcore.cli import main


def _have_data():
    try:
        tc.data.find_files("fashion-mnist")
        return True
    except tc.TensorcoreError:
        return False


needs_data = pytest.mark.skipif(not _have_data(), reason="Fashion-MNIST not found (install dataset-fashion-mnist)")
QUICK = ["train", "--limit", "96", "--batch-size", "32", "--quiet", "--epochs", "1"]


def one_line_error(capsys, argv, code=2):
    """Run the CLI in-process; assert it failed with exactly one stderr line, and return that line."""
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's usage errors
        rc = e.code
    assert rc == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a run gets as far as training."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started although the arguments are wrong")

    monkeypatch.setattr(train, "train_epoch", refuse)
    monkeypatch.setattr(train, "load_data", refuse)


@pytest.mark.parametrize("extra, pattern", [
    (["--seed", "-1"], r"--seed must be in \[0, 2\*\*63\), got -1"),
    (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
    (["--momentum", "nan"], "--momentum must be a finite number >= 0"),
    (["--weight-decay", "-1"], "--weight-decay must be a finite number >= 0"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--val-split", "1.0"], r"--val-split must be in \[0, 1\)"),
    (["--epochs", "zero"], "argument --epochs: invalid int value: 'zero'"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_arguments_are_one_line_before_training(capsys, no_training, extra, pattern):
    line = one_line_error(capsys, QUICK + extra)
    assert re.match(r"tensorcore( train)?: error:", line), line
    assert re.search(pattern, line), line


def test_paths_are_checked_before_training(capsys, no_training, tmp_path):
    assert "--save" in one_line_error(capsys, QUICK + ["--save", str(tmp_path)])
    assert "is a directory" in one_line_error(capsys, QUICK + ["--resume", str(tmp_path)])
    assert "is a directory" in one_line_error(capsys, QUICK + ["--plot", str(tmp_path)])
    line = one_line_error(capsys, QUICK + ["--save", str(tmp_path / "missing" / "c.npz")])
    assert "does not exist" in line
    assert "no such file" in one_line_error(capsys, QUICK + ["--resume", str(tmp_path / "nope.npz")])
    assert "unknown image format 'txt'" in one_line_error(capsys, QUICK + ["--plot", str(tmp_path / "c.txt")])


def test_an_unwritable_folder_is_refused_before_training(capsys, no_training, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # A folder the user may not write into (chmod alone does not stop root, who runs CI): os.access says no.
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(locked) else real_access(path, mode))
    assert "not writable" in one_line_error(capsys, QUICK + ["--save", str(locked / "c.npz")])


def test_a_full_disk_is_refused_before_training(capsys, no_training, tmp_path, monkeypatch):
    class Full:
        f_bavail, f_frsize = 0, 4096

    monkeypatch.setattr(os, "statvfs", lambda folder: Full())
    assert "the disk is full" in one_line_error(capsys, QUICK + ["--save", str(tmp_path / "c.npz")])


@needs_data
def test_a_disk_that_fills_during_training_is_one_line(capsys, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train, "save_checkpoint", full)
    assert "No space left on device" in one_line_error(capsys, QUICK + ["--save", str(tmp_path / "c.npz")])


@needs_data
def test_a_split_leaving_no_training_data_is_refused(capsys):
    line = one_line_error(capsys, ["train", "--val-split", "0.95", "--limit", "10", "--quiet"])
    assert "leaves no training data" in line


@needs_data
def test_a_diverging_loss_stops_training_with_one_line(capsys, tmp_path):
    save = tmp_path / "c.npz"
    line = one_line_error(capsys, QUICK + ["--optimizer", "sgd", "--lr", "1e6", "--save", str(save)])
    assert "the training loss became" in line and ("nan" in line or "inf" in line)
    assert not save.exists()  # the diverged weights were never written


@needs_data
def test_resume_must_match_the_model_and_optimizer_arguments(capsys, tmp_path):
    ckpt = tmp_path / "c.npz"
    assert main(QUICK + ["--optimizer", "sgd", "--lr", "0.05", "--save", str(ckpt)]) == 0
    capsys.readouterr()
    line = one_line_error(capsys, QUICK + ["--epochs", "2", "--optimizer", "adam", "--lr", "0.05",
                                           "--resume", str(ckpt)])
    assert "trained with --optimizer 'sgd', this run has --optimizer 'adam'" in line
    line = one_line_error(capsys, QUICK + ["--epochs", "2", "--optimizer", "sgd", "--lr", "0.1",
                                           "--resume", str(ckpt)])
    assert "--lr 0.05" in line and "--lr 0.1" in line
    line = one_line_error(capsys, QUICK + ["--epochs", "2", "--model", "lenet5", "--optimizer", "sgd", "--lr",
                                           "0.05", "--resume", str(ckpt)])
    assert "model 'mlp'" in line
    # the same arguments (more epochs) resume
    assert main(QUICK + ["--epochs", "2", "--optimizer", "sgd", "--lr", "0.05", "--resume", str(ckpt)]) == 0
    assert "resumed from" in capsys.readouterr().out


@needs_data
def test_a_checkpoint_with_missing_keys_is_refused(capsys, tmp_path):
    ckpt = tmp_path / "c.npz"
    assert main(QUICK + ["--save", str(ckpt)]) == 0
    capsys.readouterr()
    state = tc.load(ckpt)
    del state["optimizer"], state["rng_state"]
    tc.save(state, ckpt)
    line = one_line_error(capsys, QUICK + ["--epochs", "2", "--resume", str(ckpt)])
    assert "incomplete training checkpoint: it lacks optimizer, rng_state" in line
    state = tc.load(ckpt)
    tc.save({"format": "tensorcore-train-checkpoint"}, ckpt)
    assert "it lacks model_name" in one_line_error(capsys, QUICK + ["--epochs", "2", "--resume", str(ckpt)])


def test_gradcheck_with_an_unknown_op_lists_the_known_names(capsys):
    line = one_line_error(capsys, ["gradcheck", "--ops", "ad"])
    assert "unknown op name(s) ad; known:" in line and " add," in line and "matmul" in line


def test_an_unexpected_exception_is_still_one_line(capsys, monkeypatch):
    def bug(args):
        raise KeyError("oops")

    monkeypatch.setattr(train, "run", bug)
    line = one_line_error(capsys, ["train"], code=1)
    assert "internal error: KeyError" in line and "TENSORCORE_DEBUG=1" in line


def test_usage_errors_of_the_top_level_are_one_line():
    for argv in ([], ["frobnicate"]):
        result = subprocess.run([sys.executable, "-m", "tensorcore", *argv], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
