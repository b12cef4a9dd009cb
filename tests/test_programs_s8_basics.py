"""The "Learn the Basics" tutorials (Tensors, Autograd, Quickstart) under `import tensorcore as torch`: what
they compute and print equals PyTorch's."""

import pytest

from tests.programs_s8.harness import both, close, copy_weights, images

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_tensors_tutorial():
    ours, theirs = both("basics")
    got, want = ours.tensors(), theirs.tensors()
    assert sorted(got) == sorted(want)
    for key in got:
        if key == "attributes":
            assert got[key][0] == want[key][0] and got[key][1] == want[key][1].replace("torch.", "")
            assert got[key][2] == want[key][2]
        elif key == "bridge_back":
            assert got[key][0] == want[key][0] and got[key][1] == want[key][1].replace("torch.", "")
        else:
            assert got[key] == want[key], key


def test_autograd_tutorial():
    ours, theirs = both("basics")
    got, want = ours.autograd_tutorial(), theirs.autograd_tutorial()
    assert got["grad_fn"] == want["grad_fn"] and got["requires_grad"] == want["requires_grad"]
    close(got["grads"][0], want["grads"][0], rtol=1e-6)
    close(got["grads"][1], want["grads"][1], rtol=1e-6)
    assert got["jvp"] == want["jvp"]


def test_quickstart(tmp_path):
    ours, theirs = both("basics")
    x, y = images(96, 10, 12, 0)
    tx, ty = images(32, 10, 12, 1)
    torch.manual_seed(0)
    th_model, tc_model = theirs.NeuralNetwork(), ours.NeuralNetwork()
    copy_weights(th_model, tc_model, ours.torch)
    runs = []
    for mod, model in ((ours, tc_model), (theirs, th_model)):
        train = mod.torch.utils.data.TensorDataset(mod.torch.tensor(x), mod.torch.tensor(y))
        test = mod.torch.utils.data.TensorDataset(mod.torch.tensor(tx), mod.torch.tensor(ty))
        runs.append(mod.quickstart(model, train, test, str(tmp_path / f"{id(mod)}.pth")))
    (got_h, got_r, got_p), (want_h, want_r, want_p) = runs
    close(got_h, want_h, rtol=1e-4, atol=1e-6, what="training losses")
    close(got_r, want_r, rtol=1e-4, atol=1e-6, what="(test loss, accuracy)")
    assert got_p == want_p
