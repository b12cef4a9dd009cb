"""pytorch/examples siamese_network, super_resolution, fast_neural_style and reinforcement_learning
(reinforce, actor_critic) under `import tensorcore as torch`, step by step against PyTorch from the same weights."""

import numpy as np
import pytest

from tests.programs_s8.cartpole import CartPole
from tests.programs_s8.harness import both, close, copy_weights, feed_categorical, images, no_dropout, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def pairs(labels, n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):  # half the pairs of the same class, as APP_MATCHER draws them
        i = int(rng.integers(len(labels)))
        same = np.flatnonzero(labels == labels[i]) if k % 2 == 0 else np.flatnonzero(labels != labels[i])
        out.append((i, int(rng.choice(same))))
    return out


def test_siamese_network_matches_torch():
    ours, theirs = both("siamese_network")
    x, y = images(48, 3, 16, 0)
    tx, ty = images(24, 3, 16, 1)
    train_data, test_data = (x, y, pairs(y, 48, 2)), (tx, ty, pairs(ty, 24, 3))
    torch.manual_seed(0)
    th_model, tc_model = theirs.SiameseNetwork(), ours.SiameseNetwork()
    assert [type(m).__name__ for m in tc_model.resnet] == [type(m).__name__ for m in th_model.resnet]
    assert tc_model.fc[0].bias.numpy().tolist() == [pytest.approx(0.01)] * 16
    copy_weights(th_model, tc_model, ours.torch)
    got, want = ours.main(tc_model, train_data, test_data), theirs.main(th_model, train_data, test_data)
    close(got["losses"], want["losses"], rtol=1e-3, atol=1e-5, what="training losses")
    close([t[0] for t in got["tests"]], [t[0] for t in want["tests"]], rtol=1e-3, atol=1e-6)
    assert [t[1] for t in got["tests"]] == [t[1] for t in want["tests"]]
    for k, v in th_model.state_dict().items():
        close(tc_model.state_dict()[k].numpy(), v.numpy(), rtol=2e-3, atol=1e-5, what=k)


def test_super_resolution_matches_torch():
    ours, theirs = both("super_resolution")
    hr, _ = images(8, 2, 12, 4, noise=0.2)
    torch.manual_seed(0)
    th_model, tc_model = theirs.Net(2), ours.Net(2)
    w = tc_model.conv2.weight.detach().numpy().reshape(8, -1)  # orthogonal_ with gain sqrt(2): W W^T = 2 I
    np.testing.assert_allclose(w @ w.T, 2 * np.eye(8), atol=1e-5)
    copy_weights(th_model, tc_model, ours.torch)
    got, want = ours.main(tc_model, hr), theirs.main(th_model, hr)
    assert got["shape"] == want["shape"] == (4, 1, 12, 12)
    close(got["losses"], want["losses"], rtol=1e-3, atol=1e-6)
    close(got["psnr"], want["psnr"], rtol=1e-4)


def test_fast_neural_style_matches_torch(tmp_path):
    ours, theirs = both("fast_neural_style")
    rng = np.random.default_rng(5)
    content = (rng.random((6, 3, 16, 16)) * 255).astype(np.float32)
    style = (rng.random((1, 3, 16, 16)) * 255).astype(np.float32)
    torch.manual_seed(0)
    th_net, th_vgg = theirs.TransformerNet(), theirs.Features(requires_grad=False)
    tc_net, tc_vgg = ours.TransformerNet(), ours.Features(requires_grad=False)
    copy_weights(th_net, tc_net, ours.torch)
    copy_weights(th_vgg, tc_vgg, ours.torch)
    assert not any(p.requires_grad for p in tc_vgg.parameters())
    got = ours.train(tc_net, tc_vgg, content.copy(), style.copy())
    want = theirs.train(th_net, th_vgg, content.copy(), style.copy())
    close(got, want, rtol=2e-3, atol=1e-3, what="(content loss, style loss) per step")
    # stylize: a checkpoint with the deprecated InstanceNorm running_* keys loads once they are removed
    state = {k: ours.torch.tensor(v) for k, v in state_arrays(tc_net).items()}
    state["in1.running_mean"], state["in1.running_var"] = ours.torch.zeros(4), ours.torch.ones(4)
    ours.torch.save(state, tmp_path / "style.pth")
    img = ours.stylize(ours.TransformerNet(), ours.torch.load(tmp_path / "style.pth"), content[:1])
    th_state = {k: torch.tensor(v) for k, v in state_arrays(th_net).items()}
    ref = theirs.stylize(theirs.TransformerNet(), th_state, content[:1])
    assert img.shape == ref.shape == (16, 16, 3) and img.dtype == ref.dtype == np.uint8
    assert np.abs(img.astype(int) - ref.astype(int)).max() <= 1


@pytest.mark.parametrize("name", ["reinforce", "actor_critic"])
def test_reinforcement_learning_matches_torch(name, monkeypatch):
    ours, theirs = both(name)
    torch.manual_seed(0)
    th_policy, tc_policy = theirs.Policy(), ours.Policy()
    copy_weights(th_policy, tc_policy, ours.torch)
    no_dropout(th_policy), no_dropout(tc_policy)
    feed_categorical(monkeypatch, ours.torch, 1)
    got = ours.main(tc_policy, CartPole())
    feed_categorical(monkeypatch, theirs.torch, 1)
    want = theirs.main(th_policy, CartPole())
    assert [h[3] for h in got] == [h[3] for h in want]  # the same actions, so the same episodes
    close([h[:3] for h in got], [h[:3] for h in want], rtol=1e-4, atol=1e-5, what="reward, running, loss")
    for k, v in th_policy.state_dict().items():
        close(tc_policy.state_dict()[k].numpy(), v.numpy(), rtol=1e-3, atol=1e-4, what=k)  # (Adam)


@pytest.mark.parametrize("name", ["reinforce", "actor_critic"])
def test_reinforcement_learning_runs_as_written(name):
    ours, _ = both(name)
    ours.torch.manual_seed(543)
    history = ours.main(ours.Policy(), CartPole(max_steps=40), episodes=2)
    assert len(history) == 2 and all(set(h[3]) <= {0, 1} and len(h[3]) == h[0] for h in history)
