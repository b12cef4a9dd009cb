"""pytorch/examples vae and dcgan under `import tensorcore as torch`, step by step against PyTorch from the same
weights and the same noise (one NumPy stream fed to both frameworks' randn / randn_like)."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, feed_noise, images

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_vae_matches_torch(monkeypatch):
    ours, theirs = both("vae")
    x, _ = images(64, 4, 8, 0)
    tx, _ = images(32, 4, 8, 1)
    torch.manual_seed(0)
    th_model, tc_model = theirs.VAE(), ours.VAE()
    copy_weights(th_model, tc_model, ours.torch)
    feed_noise(monkeypatch, ours.torch, 5)
    got = ours.main(tc_model, x, tx)
    feed_noise(monkeypatch, theirs.torch, 5)
    want = theirs.main(th_model, x, tx)
    close(got["losses"], want["losses"], rtol=1e-4, what="train and test losses per epoch")
    assert got["losses"][1][0] < got["losses"][0][0]
    assert got["comparison"].shape == want["comparison"].shape == (16, 1, 8, 8)
    close(got["comparison"], want["comparison"], rtol=1e-3, atol=1e-5)
    close(got["sample"], want["sample"], rtol=1e-3, atol=1e-5)


def test_dcgan_matches_torch(monkeypatch, tmp_path):
    ours, theirs = both("dcgan")
    x, _ = images(24, 3, 16, 2, noise=0.1)
    th_g, th_d = theirs.build()
    tc_g, tc_d = ours.build()
    # weights_init through .apply drew N(0, 0.02) conv weights and N(1, 0.02) batch-norm scales
    for net in (tc_g, tc_d):
        convs = [m.weight.numpy() for m in net.modules() if "Conv" in type(m).__name__]
        assert all(abs(w.std() - 0.02) < 0.01 and abs(w.mean()) < 0.01 for w in convs)
        norms = [m for m in net.modules() if "BatchNorm" in type(m).__name__]
        assert norms and all(abs(m.weight.numpy().mean() - 1) < 0.02 and not m.bias.numpy().any() for m in norms)
    copy_weights(th_g, tc_g, ours.torch)
    copy_weights(th_d, tc_d, ours.torch)
    feed_noise(monkeypatch, ours.torch, 7)
    got = ours.main(tc_g, tc_d, x, outf=str(tmp_path))
    feed_noise(monkeypatch, theirs.torch, 7)
    want = theirs.main(th_g, th_d, x)
    assert len(got["history"]) == len(want["history"]) == 6
    close(got["history"], want["history"], rtol=1e-3, atol=1e-5, what="Loss_D, Loss_G, D(x), D(G(z)) per step")
    close(got["fake"], want["fake"], rtol=1e-3, atol=1e-5)
    for k, v in th_d.state_dict().items():  # running statistics and num_batches_tracked too
        close(tc_d.state_dict()[k].numpy(), v.numpy(), rtol=1e-3, atol=1e-4, what=k)  # (Adam)
    saved = ours.torch.load(tmp_path / "netG_epoch_1.pth")
    assert sorted(saved) == sorted(th_g.state_dict())
    np.testing.assert_array_equal(saved["main.1.running_mean"].numpy(), tc_g.main[1].running_mean.numpy())
