"""Language-model training for `tensorcore train --model gpt|char_lstm --dataset fortunes`, and
`tensorcore generate`, which samples text from the checkpoint it writes.

Training draws --batch-size windows of --block-size tokens at random starts (a NumPy generator
seeded by --seed) for --steps optimizer steps; every --eval-every steps it prints the training
loss (mean over those steps), the validation loss on fixed validation windows, and both
perplexities (exp of the loss). --plot writes the curves; --save writes a checkpoint holding the
weights, the model's configuration and the tokenizer, which is all `generate` needs.

    tensorcore train --model gpt --dataset fortunes --steps 2000 --save gpt.npz --plot gpt.png
    tensorcore generate --checkpoint gpt.npz --prompt "The " --max-new-tokens 200 --temperature 0.8 --top-k 20
"""

import math
import os

import numpy as np

from .errors import TensorcoreError

TEXT_MODELS = ("gpt", "char_lstm")
TEXT_DATASETS = ("fortunes",)
CHECKPOINT_KIND = "tensorcore-text-lm"


def add_text_arguments(parser):
    """The language-model options of `tensorcore train` (used with --model gpt|char_lstm)."""
    g = parser.add_argument_group("language models (--model gpt|char_lstm, --dataset fortunes)")
    g.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    g.add_argument("--block-size", type=int, default=64, help="tokens per training window (the context)")
    g.add_argument("--tokenizer", default="char", choices=("char", "byte"), help="characters or UTF-8 bytes")
    g.add_argument("--eval-every", type=int, default=200, help="steps between validation reports")
    g.add_argument("--val-batches", type=int, default=20, help="fixed validation batches per report")
    g.add_argument("--text-dir", default=None, help="a folder of text files instead of /usr/share/games/fortunes")


def is_text_run(args):
    return args.model in TEXT_MODELS or args.dataset in TEXT_DATASETS


def _check(args):
    if args.model not in TEXT_MODELS:
        raise TensorcoreError(f"--dataset {args.dataset} trains a language model: --model must be one of "
                              f"{', '.join(TEXT_MODELS)}, got {args.model!r}")
    if args.dataset not in TEXT_DATASETS and args.text_dir is None:
        raise TensorcoreError(f"--model {args.model} is a language model: --dataset must be one of "
                              f"{', '.join(TEXT_DATASETS)} (or give --text-dir), got {args.dataset!r}")
    for flag, value in (("--steps", args.steps), ("--block-size", args.block_size), ("--batch-size", args.batch_size),
                        ("--eval-every", args.eval_every), ("--val-batches", args.val_batches)):
        if value < 1:
            raise TensorcoreError(f"{flag} must be >= 1, got {value}")


def _loss(model, x, y):
    from .nn import functional as F
    from .tensor import tensor

    logits = model(tensor(x))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tensor(y.reshape(-1)))


def _validate(model, batches):
    import tensorcore as tc

    model.eval()
    with tc.no_grad():
        loss = float(np.mean([_loss(model, x, y).item() for x, y in batches]))
    model.train()
    return loss


def _perplexity(loss):
    return math.exp(min(loss, 700.0))


def run_text(args):
    """Train a language model as the module docstring says; returns 0."""
    import tensorcore as tc

    from . import models
    from .data.text import make_tokenizer, read_text_files, text_splits
    from .train import build_optimizer, check_output_path

    _check(args)
    for flag in ("save", "plot"):
        if getattr(args, flag, None):
            check_output_path(getattr(args, flag), f"--{flag}")
    text = read_text_files(args.text_dir or os.environ.get("TENSORCORE_FORTUNES", "/usr/share/games/fortunes"))
    tok = make_tokenizer(args.tokenizer, text)
    train, val = text_splits(text, tok, args.block_size, args.val_split or 0.1)
    tc.manual_seed(args.seed)
    model = models.get_model(args.model, vocab_size=tok.vocab_size, block_size=args.block_size)
    from .distributed.tensor_parallel.train_script import text_parallel_script  # --tensor-parallel, --zero

    parallel = text_parallel_script(args)
    if parallel:
        model = parallel.shard_model(model)
    opt = build_optimizer(args, list(model.parameters()))
    if parallel:
        opt = parallel.wrap_optimizer(opt)
    rng = np.random.default_rng(args.seed + (parallel.dp_group.rank if parallel else 0))
    val_rng = np.random.default_rng(args.seed + 1)
    val_batches = [val.random_batch(args.batch_size, val_rng) for _ in range(args.val_batches)]
    print(f"{args.model} ({model.num_parameters():,} parameters) on {args.text_dir or args.dataset}: "
          f"{len(train.tokens):,} training and {len(val.tokens):,} validation tokens, vocabulary {tok.vocab_size} "
          f"({args.tokenizer}), block {args.block_size}, batch {args.batch_size}, {args.steps} steps", flush=True)
    from .nn.utils import blas_threads, small_model_threads

    # the same thread policy as tensorcore train: one thread for models under a million parameters
    with blas_threads(args.threads if args.threads is not None else small_model_threads(model)):
        history, progress = _train_steps(args, model, opt, train, val_batches, tok, rng)
    if progress:
        progress.close()
    if args.plot:
        plot_curves(history, args.plot, f"{args.model} on {args.text_dir or args.dataset}")
        print(f"wrote {args.plot}")
    if args.save:
        print(f"wrote {args.save}")
    return 0


def _train_steps(args, model, opt, train, val_batches, tok, rng):
    """The loop: --steps Adam steps, a report (and a checkpoint) every --eval-every steps."""
    history = {"step": [], "train_loss": [], "val_loss": []}
    progress = None
    if not args.quiet:
        from .loop import Progress

        progress = Progress(args.steps, "train", lambda logs: f"loss {logs['loss']:.4f}")
    recent = []
    for step in range(1, args.steps + 1):
        x, y = train.random_batch(args.batch_size, rng)
        loss = _loss(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        recent.append(loss.item())
        if progress:
            progress.update(lambda window=recent: {"loss": float(np.mean(window))})
        if step % args.eval_every == 0 or step == args.steps:
            train_loss, val_loss = float(np.mean(recent)), _validate(model, val_batches)
            recent = []
            history["step"].append(step)
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            line = (f"step {step}/{args.steps}: train loss {train_loss:.4f} (perplexity {_perplexity(train_loss):.2f})"
                    f"  val loss {val_loss:.4f} (perplexity {_perplexity(val_loss):.2f})")
            if progress:
                progress.bar.write(line)
            else:
                print(line, flush=True)
            if args.save:
                save_checkpoint(args.save, args.model, model, tok, step, history)
    return history, progress


def save_checkpoint(path, model_name, model, tokenizer, step, history):
    import tensorcore as tc

    tc.save({"kind": CHECKPOINT_KIND, "model": model_name, "config": dict(model.config), "state": model.state_dict(),
             "tokenizer": tokenizer.to_dict(), "step": step, "history": history}, path)


def load_checkpoint(path):
    """(model in eval mode, tokenizer) from a checkpoint written by `tensorcore train --model gpt|char_lstm`."""
    import tensorcore as tc

    from . import models
    from .data.text import tokenizer_from_dict

    ckpt = tc.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != CHECKPOINT_KIND or ckpt.get("model") not in TEXT_MODELS:
        raise TensorcoreError(f"{path} is not a language-model checkpoint of `tensorcore train --model "
                              f"{'|'.join(TEXT_MODELS)}`")
    model = models.get_model(ckpt["model"], **ckpt["config"])
    model.load_state_dict(ckpt["state"])
    model.eval()
    return model, tokenizer_from_dict(ckpt["tokenizer"])


def plot_curves(history, path, title):
    from .figures import pyplot, save

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["step"], history["train_loss"], label="train")
    ax.plot(history["step"], history["val_loss"], label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title(title)
    ax.legend()
    save(fig, path)


# --- `tensorcore generate` ------------------------------------------------------------------------------


def add_arguments(parser):
    parser.add_argument("--checkpoint", required=True, help="a checkpoint from tensorcore train --model gpt|char_lstm")
    parser.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    parser.add_argument("--max-new-tokens", type=int, default=200, help="tokens to sample")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (0: greedy)")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens only")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampling")


def run(args):
    import tensorcore as tc

    from .train import check_input_path

    check_input_path(args.checkpoint, "--checkpoint")
    if args.max_new_tokens < 0:
        raise TensorcoreError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise TensorcoreError(f"--temperature must be a finite number >= 0, got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        raise TensorcoreError(f"--top-k must be >= 1, got {args.top_k}")
    if not args.prompt:
        raise TensorcoreError("--prompt must not be empty")
    model, tok = load_checkpoint(args.checkpoint)
    idx = tok.encode(args.prompt)[None, :]
    out = model.generate(idx, args.max_new_tokens, args.temperature, args.top_k, tc.Generator(args.seed))
    print(tok.decode(out[0]))
    return 0
