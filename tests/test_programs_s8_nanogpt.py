"""karpathy/nanoGPT model.py and train.py under `import tensorcore as torch`: both attention paths
(F.scaled_dot_product_attention(is_causal=True) and the masked_fill fallback on a tril buffer), weight tying,
configure_optimizers' AdamW param groups, torch.compile, GradScaler(enabled=False), the cosine lr schedule set
through param_groups, gradient accumulation, clip_grad_norm_, the checkpoint dict and resuming from it,
and generate (topk, multinomial), step by step against PyTorch from the same weights and batches."""

import copy

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, numpy_of, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _cudnn_flags_settable():
    """train.py sets torch.backends.cudnn.allow_tf32 as a plain attribute; PyTorch refuses that once
    torch.testing._internal.common_utils (imported by the OpInfo tests in the same worker) has called
    torch.backends.disable_global_flags(). The flags are made settable for this test, then put back."""
    cudnn = torch.backends.cudnn
    # (torch.backends' private context manager that lifts the freeze; looked up through a function's globals:
    # the module attribute of the same name is not the one flags_frozen() reads)
    unfrozen = torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation"]
    old = cudnn.allow_tf32
    with unfrozen():
        yield
        cudnn.allow_tf32 = old


ARGS = dict(n_layer=2, n_head=2, n_embd=16, block_size=8, bias=True, vocab_size=13, dropout=0.0)


def dataset(seed=0):
    rng = np.random.default_rng(seed)
    text = np.tile(np.arange(13), 30)
    text[rng.random(text.size) < 0.1] = rng.integers(0, 13, (text.size,))[rng.random(text.size) < 0.1][0]
    train, val = text[:300].astype(np.uint16), text[300:].astype(np.uint16)
    batches = {"train": [rng.integers(0, 292, 4).tolist() for _ in range(40)],
               "val": [rng.integers(0, 82, 4).tolist() for _ in range(40)]}
    return {"train": train, "val": val}, batches


@pytest.mark.parametrize("flash", [True, False])
def test_nanogpt_train_resume_generate_matches_torch(flash, tmp_path):
    ours, theirs = both("nanogpt")
    args = dict(ARGS, flash=flash)
    torch.manual_seed(0)
    th_model = theirs.GPT(theirs.GPTConfig(**args))
    init = state_arrays(th_model)
    assert init["lm_head.weight"] is not None and "transformer.wte.weight" in init
    tc_model = ours.GPT(ours.GPTConfig(**args))
    assert sorted(state_arrays(tc_model)) == sorted(init)  # the tril buffer "bias" only without flash
    assert tc_model.get_num_params() == th_model.get_num_params()
    assert tc_model.transformer.wte.weight is tc_model.lm_head.weight
    std = numpy_of(tc_model.transformer.h[0].attn.c_proj.weight).std()
    assert abs(std - 0.02 / np.sqrt(4)) < 0.003  # the scaled init of c_proj.weight, by named_parameters' endswith
    data, batches = dataset()
    runs = {}
    for name, mod in (("ours", ours), ("theirs", theirs)):
        out = tmp_path / name
        out.mkdir()
        state = {k: mod.torch.tensor(v) for k, v in init.items()}
        compile = mod is ours  # (PyTorch's inductor would take a minute: its run is eager)
        first = mod.train(dict(args), state, data, str(out), batches=copy.deepcopy(batches), compile=compile)
        second = mod.train(dict(args), None, data, str(out), max_iters=8, resume=True,
                           batches=copy.deepcopy(batches), compile=compile)
        runs[name] = first, second
    (got, got2), (want, want2) = runs["ours"], runs["theirs"]
    assert len(got["history"]) == len(want["history"]) == 7
    close(got["history"], want["history"], rtol=2e-4, atol=2e-5, what="training losses")
    close(got["evals"], want["evals"], rtol=2e-4, atol=2e-5, what="estimate_loss")
    assert [g["lr"] for g in got["optimizer"].param_groups] == [g["lr"] for g in want["optimizer"].param_groups]
    assert [g["weight_decay"] for g in got["optimizer"].param_groups] == [0.1, 0.0]
    for k, v in state_arrays(want["model"]).items():
        close(state_arrays(got["model"])[k], v, rtol=2e-3, atol=1e-4, what=k)  # (AdamW)
    # resumed from ckpt.pt (model, optimizer state, iter_num, best_val_loss as a 0-d tensor)
    close(float(got2["best_val_loss"]), float(want2["best_val_loss"]), rtol=1e-5)
    assert len(got2["history"]) == len(want2["history"])
    close(got2["history"], want2["history"], rtol=2e-4, atol=2e-5, what="losses after resuming")
    # generate: top_k=1 makes the sampling greedy, so the two frameworks must agree token for token
    idx = [[1, 2, 3]]
    for m in (got2["model"], want2["model"]):
        m.eval()
    ours_tokens = got2["model"].generate(ours.torch.tensor(idx), 10, temperature=0.8, top_k=1)
    theirs_tokens = want2["model"].generate(torch.tensor(idx), 10, temperature=0.8, top_k=1)
    assert ours_tokens.dtype == ours.torch.int64 and tuple(ours_tokens.shape) == (1, 13)
    assert ours_tokens.tolist() == theirs_tokens.tolist()
    sampled = got2["model"].generate(ours.torch.tensor(idx), 4, top_k=5)
    assert sampled.shape == (1, 7) and 0 <= int(sampled.min()) and int(sampled.max()) < 13


def test_nanogpt_with_dropout_and_crop_block_size_runs_as_written(tmp_path):
    ours, _ = both("nanogpt")
    args = dict(ARGS, dropout=0.1)
    ours.torch.manual_seed(0)
    init = {k: ours.torch.tensor(v) for k, v in state_arrays(ours.GPT(ours.GPTConfig(**args))).items()}
    data, _ = dataset(1)
    result = ours.train(dict(args), init, data, str(tmp_path), max_iters=3, batch_size=2, eval_iters=1)
    assert all(np.isfinite(result["history"])) and len(result["history"]) == 4
    model = result["model"]
    model.crop_block_size(4)
    assert tuple(model.transformer.wpe.weight.shape) == (4, 16)
    logits, loss = model(ours.torch.zeros(2, 4, dtype=ours.torch.long))
    assert tuple(logits.shape) == (2, 1, 13) and loss is None
