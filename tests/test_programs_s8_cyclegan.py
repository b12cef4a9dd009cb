"""PyTorch-GAN's cyclegan under `import tensorcore as torch` (ReflectionPad2d, InstanceNorm2d, Upsample, ZeroPad2d,
itertools.chain in Adam, LambdaLR with a class's step, ReplayBuffer), step by step against PyTorch."""

import pytest

from tests.programs_s8.harness import both, close, copy_weights, images, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_cyclegan_matches_torch():
    ours, theirs = both("cyclegan")
    a, _ = images(8, 2, 32, 0, noise=0.1)  # (32x32: the critic's last InstanceNorm sees 2x2, torch refuses 1x1)
    b, _ = images(8, 2, 32, 1, noise=0.1)
    a, b = (a * 2 - 1).repeat(3, axis=1), ((1 - b) * 2 - 1).repeat(3, axis=1)  # RGB, as ReflectionPad2d(3) needs
    th_nets, tc_nets = theirs.build(), ours.build()
    for th, tc_ in zip(th_nets, tc_nets):
        copy_weights(th, tc_, ours.torch)
    got, want = ours.main(*tc_nets, a, b), theirs.main(*th_nets, a, b)
    assert len(got[0]) == len(want[0]) == 6
    close(got[0], want[0], rtol=2e-4, atol=2e-5, what="(loss_D, loss_G, GAN, cycle, identity) per step")
    close(got[1], want[1], rtol=1e-6)  # LambdaLR decaying after decay_epoch: 0.0002 * (1 - 2/2)
    for th, tc_ in zip(th_nets, tc_nets):
        for k, v in state_arrays(th).items():
            if k in normalized_biases(th):
                continue  # a conv bias right before an InstanceNorm: its gradient is 0 up to rounding, Adam's +-lr
            close(state_arrays(tc_)[k], v, rtol=2e-3, atol=1e-4, what=k)  # (Adam: rounding moves a step by ~lr)


def normalized_biases(net):
    """Names of the conv biases an InstanceNorm follows in a Sequential (the norm removes any per-channel shift)."""
    out = set()
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.Sequential):
            for i in range(len(m) - 1):
                if isinstance(m[i], torch.nn.Conv2d) and isinstance(m[i + 1], torch.nn.InstanceNorm2d):
                    out.add(f"{name}.{i}.bias".lstrip("."))
    return out
