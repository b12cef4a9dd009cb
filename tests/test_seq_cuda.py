"""An LSTM LM training step on the cuda device (real, or the simulator) matches the CPU (the GPT step is checked in
tests/test_backend_sequence.py)."""

import numpy as np
import pytest

import tensorcore as tc

from .conftest import require_cuda

pytestmark = pytest.mark.cuda


# The same step of the tiny GPT (vocab 11, block 8, 1 layer, 2 heads, n_embd 8, batch 2) is checked, with its kernels
# counted, by tests/test_backend_sequence.py::test_gpt_training_step_on_cuda_runs_our_kernels_and_matches_cpu.
@pytest.mark.parametrize("name,kw", [("char_lstm", {"embedding_dim": 4, "hidden_size": 6, "num_layers": 1})])
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
