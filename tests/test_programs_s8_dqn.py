"""The DQN tutorial under `import tensorcore as torch` (replay memory, gather, masked assignment of max(1).values,
SmoothL1Loss, clip_grad_value_, AdamW(amsgrad=True), the soft update through state_dict arithmetic), against
PyTorch from the same weights on the same episodes."""

import pytest

from tests.programs_s8.cartpole import CartPole
from tests.programs_s8.harness import both, close, copy_weights, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def test_dqn_matches_torch():
    ours, theirs = both("dqn")
    torch.manual_seed(0)
    th_policy, th_target = theirs.DQN(4, 2), theirs.DQN(4, 2)
    tc_policy, tc_target = ours.DQN(4, 2), ours.DQN(4, 2)
    copy_weights(th_policy, tc_policy, ours.torch)
    got = ours.main(tc_policy, tc_target, CartPole(max_steps=25))
    want = theirs.main(th_policy, th_target, CartPole(max_steps=25))
    assert got[0] == want[0]  # the same episodes: the greedy actions agreed
    assert len(got[1]) == len(want[1]) > 20
    close(got[1], want[1], rtol=2e-4, atol=1e-6, what="Huber losses")
    for net, ref in ((tc_policy, th_policy), (tc_target, th_target)):
        for k, v in state_arrays(ref).items():
            close(state_arrays(net)[k], v, rtol=2e-3, atol=1e-4, what=k)  # (Adam: rounding moves a step by ~lr)
