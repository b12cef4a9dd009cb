"""The character GPT (or LSTM LM) on fortunes: tensorcore against PyTorch, same init, same batches.

Both models start from the same weights (tensorcore's init, copied into PyTorch through its
state_dict), see the same batches in the same order (window starts drawn once from a seeded NumPy
generator), and train with Adam at the same learning rate, one step of each in turn. Every
--eval-every steps, and at the end, both report the mean loss on the same fixed validation
windows. Writes bench/results/<model>_vs_torch.{json,md}: both loss curves, the final validation
losses and their relative gap, the per-step times, and a sample of generated text from each.

    python bench/gpt_vs_torch.py --model gpt --steps 2000          # 4 layers, 4 heads, 128 dims, block 64
    python bench/gpt_vs_torch.py --model char_lstm --steps 2000
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread each: stable on a shared machine
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as tnn  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import tensorcore as tc  # noqa: E402
from tensorcore.bench.machine import describe  # noqa: E402
from tensorcore.models.gpt import sample_next  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


# --- the same networks in PyTorch, with tensorcore's parameter names ---------------------------------------


class TorchBlock(tnn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.n_head = h
        self.ln_1, self.ln_2 = tnn.LayerNorm(c), tnn.LayerNorm(c)
        self.attn = tnn.Module()
        self.attn.c_attn, self.attn.c_proj = tnn.Linear(c, 3 * c), tnn.Linear(c, c)
        self.mlp = tnn.Module()
        self.mlp.c_fc, self.mlp.c_proj = tnn.Linear(c, 4 * c), tnn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        qkv = self.attn.c_attn(self.ln_1(x)).reshape(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        y = TF.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
        x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class TorchGPT(tnn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0):
        super().__init__()
        self.block_size = block_size
        self.wte, self.wpe = tnn.Embedding(vocab_size, n_embd), tnn.Embedding(block_size, n_embd)
        self.h = tnn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = tnn.LayerNorm(n_embd)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return TF.linear(self.ln_f(x), self.wte.weight)


class TorchCharLSTM(tnn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_layers, dropout=0.0, block_size=64):
        super().__init__()
        self.block_size = block_size
        self.embedding = tnn.Embedding(vocab_size, embedding_dim)
        self.lstm = tnn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = tnn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None, return_state=False):
        out, state = self.lstm(self.embedding(idx), state)
        return (self.head(out), state) if return_state else self.head(out)


CONFIGS = {
    "gpt": {"block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.0},
    "char_lstm": {"block_size": 64, "embedding_dim": 64, "hidden_size": 256, "num_layers": 2, "dropout": 0.0},
}


def build(model_name, vocab_size, seed):
    tc.manual_seed(seed)
    ours = tc.models.get_model(model_name, vocab_size=vocab_size, **CONFIGS[model_name])
    cls = TorchGPT if model_name == "gpt" else TorchCharLSTM
    theirs = cls(vocab_size, **CONFIGS[model_name])
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state, strict=True)
    return ours, theirs


def torch_generate(model, idx, steps, temperature, top_k, generator):
    """The models' own generate() in PyTorch: the GPT re-reads its last block, the LSTM carries its state."""
    out = np.asarray(idx, dtype=np.int64)
    with torch.no_grad():
        if isinstance(model, TorchCharLSTM):
            logits, state = model(torch.from_numpy(out), return_state=True)
            for _ in range(steps):
                nxt = sample_next(logits[:, -1, :].numpy(), temperature, top_k, generator)
                out = np.concatenate([out, nxt[:, None]], axis=1)
                logits, state = model(torch.from_numpy(nxt[:, None]), state, return_state=True)
            return out
        for _ in range(steps):
            logits = model(torch.from_numpy(out[:, -model.block_size:]))[:, -1, :].numpy()
            out = np.concatenate([out, sample_next(logits, temperature, top_k, generator)[:, None]], axis=1)
    return out


def evaluate(ours, theirs, val_batches):
    a = b = 0.0
    ours.eval()
    theirs.eval()
    with tc.no_grad(), torch.no_grad():
        for x, y in val_batches:
            lo = ours(tc.tensor(x))
            a += tc.nn.functional.cross_entropy(lo.reshape(-1, lo.shape[-1]), tc.tensor(y.reshape(-1))).item()
            lt = theirs(torch.from_numpy(x))
            b += TF.cross_entropy(lt.reshape(-1, lt.shape[-1]), torch.from_numpy(y.reshape(-1))).item()
    ours.train()
    theirs.train()
    return a / len(val_batches), b / len(val_batches)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=sorted(CONFIGS), default="gpt")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--val-batches", type=int, default=40, help="fixed validation batches of --batch-size windows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    tc.backends.cpu_parallel.enabled = os.environ.get("TC_PARALLEL", "0") == "1"
    # (Numba kernels off by default: their idle spinning threads starve PyTorch in the same process)

    train, val, tok = tc.data.fortunes(block_size=64)
    ours, theirs = build(args.model, tok.vocab_size, args.seed)
    opt_ours = tc.optim.Adam(ours.parameters(), lr=args.lr)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    val_rng = np.random.default_rng(args.seed + 1)
    val_batches = [val.random_batch(args.batch_size, val_rng) for _ in range(args.val_batches)]
    base = os.path.join(args.out, f"{args.model}_vs_torch")
    record = {"model": args.model, "config": CONFIGS[args.model], "vocab_size": tok.vocab_size,
              "steps_planned": args.steps, "batch_size": args.batch_size, "lr": args.lr, "optimizer": "Adam",
              "seed": args.seed, "threads": 1, "machine": describe(" ".join(sys.argv)),
              "train_loss": {"tensorcore": [], "pytorch": []}, "val_loss": []}
    times = {"tensorcore": [], "pytorch": []}
    for step in range(1, args.steps + 1):
        x, y = train.random_batch(args.batch_size, rng)
        t0 = time.perf_counter()
        lo = ours(tc.tensor(x))
        loss_ours = tc.nn.functional.cross_entropy(lo.reshape(-1, lo.shape[-1]), tc.tensor(y.reshape(-1)))
        opt_ours.zero_grad()
        loss_ours.backward()
        opt_ours.step()
        t1 = time.perf_counter()
        lt = theirs(torch.from_numpy(x))
        loss_theirs = TF.cross_entropy(lt.reshape(-1, lt.shape[-1]), torch.from_numpy(y.reshape(-1)))
        opt_theirs.zero_grad()
        loss_theirs.backward()
        opt_theirs.step()
        t2 = time.perf_counter()
        times["tensorcore"].append(t1 - t0)
        times["pytorch"].append(t2 - t1)
        record["train_loss"]["tensorcore"].append(loss_ours.item())
        record["train_loss"]["pytorch"].append(loss_theirs.item())
        if step % args.eval_every == 0 or step == args.steps:
            v_ours, v_theirs = evaluate(ours, theirs, val_batches)
            record["val_loss"].append({"step": step, "tensorcore": v_ours, "pytorch": v_theirs})
            print(f"step {step}: train {loss_ours.item():.4f} / {loss_theirs.item():.4f}  val {v_ours:.4f} / "
                  f"{v_theirs:.4f}  step ms {1e3 * np.median(times['tensorcore'][-50:]):.1f} / "
                  f"{1e3 * np.median(times['pytorch'][-50:]):.1f}", flush=True)
            record["steps_done"] = step
            _finish(record, times, ours, theirs, tok, base, args.seed, with_samples=step == args.steps)
    return 0


def _finish(record, times, ours, theirs, tok, base, seed, with_samples):
    last = record["val_loss"][-1]
    record["final_val_loss"] = {"tensorcore": last["tensorcore"], "pytorch": last["pytorch"]}
    record["relative_gap"] = abs(last["tensorcore"] - last["pytorch"]) / last["pytorch"]
    record["within_2_percent"] = record["relative_gap"] <= 0.02
    record["step_time_median_s"] = {k: float(np.median(v)) for k, v in times.items()}
    record["step_time_ratio"] = record["step_time_median_s"]["tensorcore"] / record["step_time_median_s"]["pytorch"]
    if with_samples:  # at the end only (300 forward passes each)
        prompt = tok.encode("\n")[None, :]
        ours.eval()
        theirs.eval()
        record["sample"] = {
            "tensorcore": tok.decode(ours.generate(prompt, 300, 0.8, 20, tc.Generator(seed))[0]),
            "pytorch": tok.decode(torch_generate(theirs, prompt, 300, 0.8, 20, tc.Generator(seed))[0]),
        }
        ours.train()
        theirs.train()
    tmp = base + ".json.tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, base + ".json")
    lines = [f"# {record['model']} on fortunes: tensorcore vs PyTorch (same init, same batches)", "",
             f"- command: `{record['machine'].get('command', '')}`",
             f"- machine: {record['machine'].get('cpu', '')}, date {record['machine'].get('date', '')}, "
             f"load {record['machine'].get('load_average', '')}, one thread each",
             f"- config: {record['config']}, vocab {record['vocab_size']}, batch {record['batch_size']}, "
             f"Adam lr {record['lr']}",
             f"- steps done: {record['steps_done']} of {record['steps_planned']}", "",
             "| step | val loss tensorcore | val loss PyTorch |", "| --- | --- | --- |"]
    lines += [f"| {v['step']} | {v['tensorcore']:.4f} | {v['pytorch']:.4f} |" for v in record["val_loss"]]
    lines += ["", f"Final relative gap {100 * record['relative_gap']:.2f}% (within 2%: {record['within_2_percent']}); "
              f"median step {1e3 * record['step_time_median_s']['tensorcore']:.1f} ms vs "
              f"{1e3 * record['step_time_median_s']['pytorch']:.1f} ms (ratio {record['step_time_ratio']:.2f}, "
              "interleaved in one process).", "", "## Samples (prompt '\\n', temperature 0.8, top-k 20)", ""]
    for k, v in record.get("sample", {}).items():
        lines += [f"### {k}", "", "```", v, "```", ""]
    with open(base + ".md.tmp", "w") as f:
        f.write("\n".join(lines))
    os.replace(base + ".md.tmp", base + ".md")


if __name__ == "__main__":
    sys.exit(main())
