"""pytorch/examples mnist_rnn and mnist_forward_forward under `import tensorcore as torch`, against PyTorch from
the same weights."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, images, no_dropout

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_mnist_rnn_matches_torch():
    ours, theirs = both("mnist_rnn")
    train_xy, test_xy = images(64, 10, 12, 0), images(32, 10, 12, 1)
    torch.manual_seed(0)
    th_model, tc_model = no_dropout(theirs.Net()), no_dropout(ours.Net())
    copy_weights(th_model, tc_model, ours.torch)
    got, want = ours.rnn_main(tc_model, train_xy, test_xy), theirs.rnn_main(th_model, train_xy, test_xy)
    assert [isinstance(h, tuple) for h in got] == [isinstance(h, tuple) for h in want]
    close([h for h in got if not isinstance(h, tuple)], [h for h in want if not isinstance(h, tuple)],
          rtol=1e-4, atol=1e-6, what="training losses")
    tests = [(g, w) for g, w in zip(got, want) if isinstance(g, tuple)]
    close([g[0] for g, _ in tests], [w[0] for _, w in tests], rtol=1e-4)
    assert [g[1] for g, _ in tests] == [w[1] for _, w in tests]


def test_overlay_y_on_x_as_torch():
    ours, theirs = both("mnist_rnn")
    x = np.random.default_rng(0).random((5, 20)).astype(np.float32)
    y = np.array([3, 0, 9, 3, 1])
    got = ours.overlay_y_on_x(ours.torch.tensor(x), ours.torch.tensor(y)).numpy()
    np.testing.assert_array_equal(got, theirs.overlay_y_on_x(torch.tensor(x), torch.tensor(y)).numpy())
    got = ours.overlay_y_on_x(ours.torch.tensor(x), 4).numpy()
    np.testing.assert_array_equal(got, theirs.overlay_y_on_x(torch.tensor(x), 4).numpy())


def test_mnist_forward_forward_matches_torch():
    ours, theirs = both("mnist_rnn")
    x, y = images(64, 10, 8, 2)
    tx, ty = images(32, 10, 8, 3)
    x, tx = x.reshape(64, 64), tx.reshape(32, 64)
    rnd = np.random.default_rng(4).permutation(64)
    torch.manual_seed(0)
    th_net, tc_net = theirs.FFNet([64, 32, 32], num_epochs=15), ours.FFNet([64, 32, 32], num_epochs=15)
    copy_weights(th_net, tc_net, ours.torch)
    got, want = ours.ff_main(tc_net, x, y, tx, ty, rnd), theirs.ff_main(th_net, x, y, tx, ty, rnd)
    close(got[0], want[0], rtol=1e-4, atol=1e-6, what="each layer's last loss")
    assert got[1:] == pytest.approx(want[1:], abs=1e-6)
