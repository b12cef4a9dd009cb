"""pytorch/examples time_sequence_prediction (LSTMCell, float64, LBFGS) and regression (polynomial fit with
smooth_l1_loss, Tensor.__format__) under `import tensorcore as torch`, against PyTorch."""

import pytest

from tests.programs_s8.harness import both, close, copy_weights, feed_noise, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_time_sequence_prediction_lbfgs_matches_torch():
    ours, theirs = both("time_sequence_prediction")
    data = ours.generate_sine_wave()
    torch.manual_seed(0)
    th_seq, tc_seq = theirs.Sequence().double(), ours.Sequence().double()
    copy_weights(th_seq, tc_seq, ours.torch)
    assert tc_seq.linear.weight.dtype == ours.torch.float64
    got, want = ours.main(tc_seq, data), theirs.main(th_seq, data)
    assert len(got["losses"]) == len(want["losses"]) > 10  # LBFGS evaluates the closure max_iter times a step
    close(got["losses"], want["losses"], rtol=1e-7, atol=1e-10, what="closure losses")
    close(got["test_losses"], want["test_losses"], rtol=1e-7, atol=1e-10)
    assert got["y"].shape == (3, 23 + 6)
    close(got["y"], want["y"], rtol=1e-6, atol=1e-9)
    assert got["losses"][-1] < got["losses"][0] / 2


def test_regression_polynomial_fit_matches_torch(monkeypatch):
    ours, theirs = both("regression")
    torch.manual_seed(3)
    init = state_arrays(torch.nn.Linear(4, 1))
    feed_noise(monkeypatch, ours.torch, 11)
    got = ours.main(max_batches=60, init=init)
    feed_noise(monkeypatch, theirs.torch, 11)
    want = theirs.main(max_batches=60, init=init)
    assert got["actual"] == want["actual"]
    assert len(got["losses"]) == len(want["losses"])
    close(got["losses"], want["losses"], rtol=1e-3, atol=1e-5)
    assert got["learned"] == want["learned"]
    assert got["learned"].startswith("y = ") and got["learned"].count("x^") == 4
