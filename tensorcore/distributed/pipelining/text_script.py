"""`tensorcore train --model gpt --pipeline-parallel N`: the GPT language model, pipelined (as text_train.py).

    mpirun -n 2 tensorcore train --model gpt --dataset fortunes --pipeline-parallel 2 --microbatches 4 --steps 200

The GPT is cut with split_gpt (its blocks spread over the stages; embeddings on the first, ln_f and
the tied head on the last). Every rank draws the same training windows (the --seed generator); stage
0 takes the tokens, the last stage the next tokens. Every --eval-every steps rank 0 prints the
training loss (mean over those steps) and the validation loss, as text_train does; --save writes
text_train's checkpoint (the whole model, gathered), which `tensorcore generate` reads.
"""

import os

import numpy as np

from ...errors import TensorcoreError


def run_text_pipeline(args):
    """Train the GPT over args.pipeline_parallel stages; prints on rank 0; returns 0."""
    import tensorcore as tc

    from ... import models, text_train
    from ...data.text import make_tokenizer, read_text_files, text_splits
    from ...nn.utils import blas_threads, small_model_threads
    from ...train import build_optimizer, check_output_path
    from .. import process_group as pg
    from . import PipelineStage, Schedule1F1B, ScheduleGPipe, gather_state_dict, split_gpt
    from .train_script import check_pipeline_flags, start

    if args.model != "gpt":
        raise TensorcoreError(f"--pipeline-parallel trains --model gpt among the language models; not yet "
                              f"--model {args.model}")
    text_train._check(args)
    check_pipeline_flags(args, allow_save=True)  # --save: the whole model is gathered
    for flag in ("save", "plot"):
        if getattr(args, flag, None):
            check_output_path(getattr(args, flag), f"--{flag}")
    device, rank, n = start(args)
    say = print if rank == 0 else (lambda *a, **k: None)
    text = read_text_files(args.text_dir or os.environ.get("TENSORCORE_FORTUNES", "/usr/share/games/fortunes"))
    tok = make_tokenizer(args.tokenizer, text)
    train, val = text_splits(text, tok, args.block_size, args.val_split or 0.1)
    tc.manual_seed(args.seed)
    model = models.get_model("gpt", vocab_size=tok.vocab_size, block_size=args.block_size).to(device)
    stage = PipelineStage(split_gpt(model, n)[rank], rank, n, device)

    def loss_fn(logits, y):
        return tc.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    schedule = (ScheduleGPipe if args.pipeline_schedule == "gpipe" else Schedule1F1B)(stage, args.microbatches,
                                                                                       loss_fn=loss_fn)
    evaluate = ScheduleGPipe(stage, args.microbatches, loss_fn=None)
    opt = build_optimizer(args, list(stage.submod.parameters()))
    rng, val_rng = np.random.default_rng(args.seed), np.random.default_rng(args.seed + 1)
    val_batches = [val.random_batch(args.batch_size, val_rng) for _ in range(args.val_batches)]
    say(f"gpt ({model.num_parameters():,} parameters) on {args.text_dir or args.dataset}, {n} pipeline stages "
        f"({args.pipeline_schedule}, {args.microbatches} micro-batches); parameters per stage "
        f"{pg.all_gather_object(sum(int(p.numel()) for p in stage.submod.parameters()))}", flush=True)
    last = stage.stage_ranks[-1]
    history, recent = {"step": [], "train_loss": [], "val_loss": []}, []
    with blas_threads(args.threads if args.threads is not None else small_model_threads(stage.submod)):
        for step in range(1, args.steps + 1):
            x, y = train.random_batch(args.batch_size, rng)
            x, y = tc.tensor(x, device=device), tc.tensor(y, device=device)
            opt.zero_grad()
            losses = []
            schedule.step(x) if stage.is_first else schedule.step(target=y, losses=losses) if stage.is_last \
                else schedule.step()
            opt.step()
            if stage.is_last:
                recent.append(float(np.mean([float(v) for v in losses])))
            if step % args.eval_every == 0 or step == args.steps:
                val_loss = _validate(stage, evaluate, val_batches, loss_fn, device)
                train_loss, val_loss = pg.broadcast_object((float(np.mean(recent or [np.nan])), val_loss), src=last)
                recent = []
                for key, v in zip(history, (step, train_loss, val_loss)):
                    history[key].append(v)
                say(f"step {step}/{args.steps}: train loss {train_loss:.4f} (perplexity "
                    f"{text_train._perplexity(train_loss):.2f})  val loss {val_loss:.4f} (perplexity "
                    f"{text_train._perplexity(val_loss):.2f})", flush=True)
                if args.save:
                    state = gather_state_dict(stage)  # every rank takes part
                    if rank == 0:
                        model.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
                        text_train.save_checkpoint(args.save, "gpt", model, tok, step, history)
    if args.plot and rank == 0:
        text_train.plot_curves(history, args.plot, f"gpt on {args.text_dir or args.dataset}, {n} pipeline stages")
        print(f"wrote {args.plot}")
    if args.save:
        say(f"wrote {args.save}")
    return 0


def _validate(stage, schedule, batches, loss_fn, device):
    """The mean validation loss on the last stage (None elsewhere): the pipeline forward only, in eval mode."""
    import tensorcore as tc

    stage.submod.eval()
    losses = []
    try:
        with tc.no_grad():
            for x, y in batches:
                out = schedule.step(tc.tensor(x, device=device)) if stage.is_first else schedule.step()
                if stage.is_last:
                    losses.append(float(loss_fn(out, tc.tensor(y, device=device))))
    finally:
        stage.submod.train()
    return float(np.mean(losses)) if losses else None
