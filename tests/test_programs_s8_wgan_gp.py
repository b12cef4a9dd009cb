"""PyTorch-GAN's wgan_gp under `import tensorcore as torch`: the gradient penalty's double backward through
Linear / LeakyReLU(inplace) / BatchNorm1d, Variable and torch.FloatTensor(ndarray), against PyTorch."""

import pytest

from tests.programs_s8.harness import both, close, copy_weights, images, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_wgan_gp_matches_torch():
    ours, theirs = both("wgan_gp")
    x, _ = images(32, 3, 8, 0, noise=0.1)
    x = x * 2 - 1
    torch.manual_seed(0)
    th_g, th_d, tc_g, tc_d = theirs.Generator(), theirs.Discriminator(), ours.Generator(), ours.Discriminator()
    copy_weights(th_g, tc_g, ours.torch)
    copy_weights(th_d, tc_d, ours.torch)
    got, want = ours.main(tc_g, tc_d, x), theirs.main(th_g, th_d, x)
    assert len(got) == len(want) == 4
    close(got, want, rtol=1e-4, atol=1e-5, what="(d_loss, g_loss, gradient penalty) per generator step")
    for net, ref in ((tc_g, th_g), (tc_d, th_d)):
        for k, v in state_arrays(ref).items():
            close(state_arrays(net)[k], v, rtol=1e-3, atol=1e-4, what=k)  # (Adam: rounding moves a step by ~lr)
