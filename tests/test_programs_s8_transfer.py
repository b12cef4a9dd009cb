"""The transfer-learning tutorial under `import tensorcore as torch`: finetuning, the fixed feature extractor
(requires_grad = False, only fc in the optimizer) and param groups, against PyTorch from the same weights."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def ants_and_bees(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 3, 12, 12)).astype(np.float32)
    x[y == 1, 0] += 1.0  # the class shows in the first channel
    return x, y.astype(np.int64)


@pytest.mark.parametrize("how", ["finetune", "fixed_feature_extractor"])
def test_transfer_learning_matches_torch(how):
    ours, theirs = both("transfer_learning")
    train_xy, val_xy = ants_and_bees(32, 0), ants_and_bees(16, 1)
    torch.manual_seed(0)
    th_model, tc_model = theirs.SmallResNet(), ours.SmallResNet()
    copy_weights(th_model, tc_model, ours.torch)
    fc = state_arrays(torch.nn.Linear(8, 2))
    got = getattr(ours, how)(tc_model, train_xy, val_xy, fc)
    want = getattr(theirs, how)(th_model, train_xy, val_xy, fc)
    close(got[1], want[1], rtol=1e-4, atol=1e-6, what="(loss, accuracy) per phase")
    close(float(got[2]), float(want[2]))
    for k, v in state_arrays(want[0]).items():  # the best weights, reloaded
        close(state_arrays(got[0])[k], v, rtol=1e-3, atol=1e-6, what=k)
    if how == "fixed_feature_extractor":
        assert not got[0].conv1.weight.requires_grad and got[0].conv1.weight.grad is None
        np.testing.assert_array_equal(got[0].conv1.weight.numpy(), th_model.conv1.weight.detach().numpy())


def test_param_groups_and_requires_grad_(tmp_path):
    ours, theirs = both("transfer_learning")
    train_xy = ants_and_bees(16, 2)
    torch.manual_seed(1)
    th_model, tc_model = theirs.SmallResNet(2), ours.SmallResNet(2)
    copy_weights(th_model, tc_model, ours.torch)
    got, want = ours.param_groups(tc_model, train_xy), theirs.param_groups(th_model, train_xy)
    close(got[0], want[0], rtol=1e-4, atol=1e-6)
    assert got[1] is None and want[1] is None
    assert got[2] == want[2] == [6, 2]
    for k, v in state_arrays(th_model).items():
        close(state_arrays(tc_model)[k], v, rtol=1e-3, atol=1e-6, what=k)
