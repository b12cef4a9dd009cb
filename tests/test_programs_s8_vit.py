"""pytorch/examples vision_transformer under `import tensorcore as torch`, step by step against PyTorch from the
same weights (Parameter(...).to(device) registers the class token as torch does; MultiheadAttention's weights)."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, no_dropout, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_patch_extractor_matches_torch():
    ours, theirs = both("vision_transformer")
    x = np.random.default_rng(0).normal(size=(2, 3, 8, 8)).astype(np.float32)
    got = ours.PatchExtractor(4)(ours.torch.tensor(x)).numpy()
    want = theirs.PatchExtractor(4)(torch.tensor(x)).numpy()
    assert got.shape == want.shape == (2, 4, 48)
    np.testing.assert_array_equal(got, want)


def test_vision_transformer_matches_torch(tmp_path):
    ours, theirs = both("vision_transformer")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 32)
    x = rng.normal(0, 1, (32, 3, 8, 8)).astype(np.float32)
    x[np.arange(32), 0, y % 8, :] += 1.5
    train_xy, val_xy = (x[:16], y[:16]), (x[16:], y[16:])
    torch.manual_seed(0)
    th_model = theirs.ViT(theirs.make_args())
    tc_model = ours.ViT(ours.make_args())
    assert sorted(state_arrays(tc_model)) == sorted(state_arrays(th_model))
    assert "embedding.class_token" in state_arrays(tc_model)
    copy_weights(th_model, tc_model, ours.torch)
    no_dropout(th_model), no_dropout(tc_model)
    for m in list(th_model.modules()) + list(tc_model.modules()):
        if type(m).__name__ == "MultiheadAttention":
            m.dropout = 0.0
    got = ours.main(ours.make_args(save=str(tmp_path / "ours.pt")), tc_model, train_xy, val_xy)
    want = theirs.main(theirs.make_args(save=str(tmp_path / "theirs.pt")), th_model, train_xy, val_xy)
    close(got, want, rtol=1e-4, atol=1e-5, what="(train loss, valid loss) per epoch")
    for k, v in state_arrays(th_model).items():
        g = state_arrays(tc_model)[k]
        if k.endswith("in_proj_bias"):  # the key bias's gradient is 0 up to rounding (softmax ignores a shift):
            g, v = np.delete(g, np.s_[16:32]), np.delete(v, np.s_[16:32])  # Adam turns the rounding into +-lr
        close(g, v, rtol=1e-3, atol=1e-4, what=k)  # (Adam)
    saved = ours.torch.load(tmp_path / "ours.pt")
    assert sorted(saved) == sorted(state_arrays(th_model))
