"""pytorch/examples gat under `import tensorcore as torch` (dense adjacency), against PyTorch from the same weights."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, no_dropout

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def graph(n=48, f=20, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    feats = (rng.random((n, f)) < 0.2).astype(np.int64)
    feats[np.arange(n), labels] = 1
    feats[5] = 0  # a node without features: 1 / 0 = inf, set to 0 by the program
    edges = np.array([(i, j) for i in range(n) for j in range(n)
                      if i != j and labels[i] == labels[j] and rng.random() < 0.15], dtype=np.int32)
    return feats.astype(str), np.array([f"c{c}" for c in labels]), edges


@pytest.mark.parametrize("concat", [False, True])
def test_gat_matches_torch(concat):
    ours, theirs = both("gat")
    g = graph()
    idx = np.random.default_rng(1).permutation(48)
    torch.manual_seed(0)
    th_net = theirs.GAT(in_features=20, n_hidden=8, n_heads=2, num_classes=3, concat=concat)
    tc_net = ours.GAT(in_features=20, n_hidden=8, n_heads=2, num_classes=3, concat=concat)
    copy_weights(th_net, tc_net, ours.torch)
    for net in (th_net, tc_net):
        no_dropout(net)
    got, want = ours.main(tc_net, g, idx), theirs.main(th_net, g, idx)
    close(got[0], want[0], rtol=1e-4, atol=1e-6, what="(loss, acc) on train and val per epoch")
    close(got[1], want[1], rtol=1e-4, atol=1e-6)
    assert got[2] == want[2]  # eye(V) + an int64 adjacency is float32
