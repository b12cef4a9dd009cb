"""pytorch/examples mnist under `import tensorcore as torch`, step by step against PyTorch from the same weights."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, images, no_dropout, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_mnist_adadelta_steplr_matches_torch_step_by_step(tmp_path):
    ours, theirs = both("mnist")
    train_xy, test_xy = images(192, 10, 12, 0), images(100, 10, 12, 1)
    argv = ["--epochs", "2", "--batch-size", "32", "--test-batch-size", "40", "--log-interval", "3", "--save-model"]
    torch.manual_seed(0)
    th_model = no_dropout(theirs.Net())
    tc_model = no_dropout(ours.Net())
    copy_weights(th_model, tc_model, ours.torch)
    got = ours.main(argv, train_xy, test_xy, model=tc_model, save_path=tmp_path / "ours.pt")
    want = theirs.main(argv, train_xy, test_xy, model=th_model, save_path=tmp_path / "theirs.pt")
    assert len(got["losses"]) == len(want["losses"]) == 12
    close(got["losses"], want["losses"], rtol=1e-3, atol=1e-4, what="training losses")
    close([t[0] for t in got["tests"]], [t[0] for t in want["tests"]], rtol=1e-3, what="test losses")
    assert [t[1] for t in got["tests"]] == [t[1] for t in want["tests"]]
    assert got["lr"] == pytest.approx(want["lr"]) == pytest.approx(0.49)
    # the saved state_dict reloads into a fresh Net and predicts the same
    fresh = ours.Net()
    fresh.load_state_dict(ours.torch.load(tmp_path / "ours.pt"))
    fresh.eval()
    x = ours.torch.from_numpy(test_xy[0][:8])
    with ours.torch.no_grad():
        np.testing.assert_array_equal(fresh(x).numpy(), got["model"](x).numpy())
    for k, v in state_arrays(got["model"]).items():
        close(v, want["model"].state_dict()[k].numpy(), rtol=1e-3, atol=1e-4, what=k)


def test_mnist_with_dropout_and_shuffle_learns_as_torch_does():
    ours, theirs = both("mnist")
    train_xy, test_xy = images(320, 4, 12, 2), images(120, 4, 12, 3)
    argv = ["--epochs", "3", "--batch-size", "32", "--log-interval", "100", "--shuffle"]
    accs = []
    for mod in (ours, theirs):
        net = mod.Net(classes=4)
        accs.append(mod.main(argv, train_xy, test_xy, model=net)["tests"][-1][1] / 120)
    assert accs[1] > 0.8, accs
    assert accs[0] >= accs[1] - 0.1, accs
