"""A GPT and an LSTM LM training step on the cuda device (real, or the simulator) match the CPU."""

import numpy as np
import pytest

import tensorcore as tc

from .conftest import require_cuda

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("name,kw", [("gpt", {"n_layer": 1, "n_head": 2, "n_embd": 8}),
                                     ("char_lstm", {"embedding_dim": 4, "hidden_size": 6, "num_layers": 1})])
def test_language_model_step_matches_cpu(name, kw):
    require_cuda()
    tc.manual_seed(0)
    cpu = tc.models.get_model(name, vocab_size=11, block_size=8, **kw)
    gpu = tc.models.get_model(name, vocab_size=11, block_size=8, **kw)
    gpu.load_state_dict({k: v.numpy() for k, v in cpu.state_dict().items()})
    gpu = gpu.to("cuda")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 11, (2, 8)), rng.integers(0, 11, (2, 8))
    losses = []
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        logits = model(tc.tensor(x, device=dev))
        loss = tc.nn.functional.cross_entropy(logits.reshape(-1, 11), tc.tensor(y.reshape(-1), device=dev))
        loss.backward()
        losses.append(loss.item())
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    for (name_, p), q in zip(cpu.named_parameters(), gpu.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name_)
