"""`tensorcore train --pipeline-parallel N [--microbatches M] [--pipeline-schedule gpipe|1f1b]`.

    mpirun -n 2 tensorcore train --model mlp --pipeline-parallel 2 --microbatches 4
    python -m tensorcore.distributed.launch -n 4 -- tensorcore train --model mlp --pipeline-parallel 4 \\
        --pipeline-schedule 1f1b --batch-size 64 --microbatches 8

The model (an nn.Sequential: mlp, lenet5, ...) is cut into N stages with pipeline_split, stage i on
rank i. Every rank reads the same batches in the same order; stage 0 takes the images, the last stage
the labels. --batch-size is the whole pipeline's batch and must divide by --microbatches; the last
partial batch of an epoch is dropped. The training figures come from the last stage; rank 0 prints
them. Validation and test run the same pipeline forward only. `--model gpt` goes to text_script.py.
Not yet: --save/--resume (but --save with the GPT), and combining with --distributed,
--tensor-parallel, --zero, --async, --amp or --checkpoint-activations.
"""

import time

import numpy as np

from ...errors import TensorcoreError

PIPELINE_SCHEDULES = ("gpipe", "1f1b")
NOT_WITH_PIPELINE = (("distributed", False, "--distributed"), ("tensor_parallel", 1, "--tensor-parallel"),
                     ("zero", None, "--zero"), ("async_mode", None, "--async"), ("amp", None, "--amp"),
                     ("checkpoint_activations", False, "--checkpoint-activations"), ("save", None, "--save"),
                     ("resume", None, "--resume"))


def add_pipeline_arguments(parser):
    """The flags (train.py's add_arguments calls this)."""
    parser.add_argument("--pipeline-parallel", type=int, default=None, metavar="N",
                        help="cut the model into N pipeline stages, stage i on rank i: mpirun -n N tensorcore train "
                             "--pipeline-parallel N")
    parser.add_argument("--microbatches", type=int, default=4, metavar="M",
                        help="micro-batches per step with --pipeline-parallel (--batch-size must divide by M)")
    parser.add_argument("--pipeline-schedule", choices=PIPELINE_SCHEDULES, default="gpipe",
                        help="gpipe: all forwards then all backwards; 1f1b: one forward, one backward (less "
                             "activation memory, needs M >= N)")


def uses_pipeline(args):
    return getattr(args, "pipeline_parallel", None) is not None


def check_pipeline_flags(args, allow_save=False):
    """Refuse what is not supported, before any work (a TensorcoreError naming the flags)."""
    n, m = args.pipeline_parallel, args.microbatches
    if n < 1 or m < 1:
        raise TensorcoreError(f"--pipeline-parallel ({n}) and --microbatches ({m}) must be >= 1")
    if args.batch_size % m:
        raise TensorcoreError(f"--batch-size {args.batch_size} does not split into --microbatches {m} equal "
                              f"micro-batches")
    if args.pipeline_schedule == "1f1b" and m < n:
        raise TensorcoreError(f"--pipeline-schedule 1f1b needs --microbatches ({m}) >= --pipeline-parallel ({n})")
    for attr, default, flag in NOT_WITH_PIPELINE:
        if allow_save and attr == "save":
            continue
        value = getattr(args, attr, default)
        if value is not None and value != default:
            raise TensorcoreError(f"--pipeline-parallel does not combine with {flag} yet")


def run_pipeline(args):
    """Train args.model on args.dataset, pipelined over the job's ranks; prints on rank 0; returns 0."""
    import tensorcore as tc

    from ... import models, train
    from ...data import DataLoader, TensorDataset
    from ...nn.utils import blas_threads, small_model_threads
    from ...text_train import is_text_run
    from .. import process_group as pg
    from . import PipelineStage, Schedule1F1B, ScheduleGPipe, pipeline_split

    if is_text_run(args):  # the GPT: text_script.py
        from .text_script import run_text_pipeline

        return run_text_pipeline(args)
    check_pipeline_flags(args)
    train._check_args(args)
    device, rank, n = start(args)
    say = print if rank == 0 else (lambda *a, **k: None)
    input_shape = models.input_shape(args.model)
    tc.manual_seed(args.seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train.load_data(args.dataset, input_shape, args.limit,
                                                                           args.val_split)
    model = train.build_model(args.model, 10, input_shape).to(device)
    total = model.num_parameters()
    stage = PipelineStage(pipeline_split(model, n)[rank], rank, n, device)
    schedule_class = ScheduleGPipe if args.pipeline_schedule == "gpipe" else Schedule1F1B
    schedule = schedule_class(stage, args.microbatches, loss_fn=tc.nn.CrossEntropyLoss())
    opt = train.build_optimizer(args, list(stage.submod.parameters()))
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True, seed=args.seed,
                        drop_last=True)
    if len(loader) == 0:
        raise TensorcoreError(f"--batch-size {args.batch_size} is larger than the {len(x_train)} training samples")
    scheduler, per_batch = train.build_schedule(args, opt, len(loader))
    own = sum(int(p.numel()) for p in stage.submod.parameters())
    params = pg.all_gather_object(own)
    say(f"pipeline parallel: {n} stages ({args.pipeline_schedule}, {args.microbatches} micro-batches of "
        f"{args.batch_size // args.microbatches}); parameters per stage {params} of {total:,}")
    last = n - 1
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    with blas_threads(args.threads if args.threads is not None else small_model_threads(stage.submod)), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(args.epochs):
            t0 = time.perf_counter()
            loader.set_epoch(epoch)
            loss_sum = correct = seen = 0.0
            for xb, yb in loader:
                opt.zero_grad()
                losses = []
                out = _step(schedule, stage, xb.to(device), yb.to(device), losses)
                opt.step()
                if scheduler is not None and per_batch:
                    scheduler.step()
                if stage.is_last:
                    loss_sum += float(np.mean([float(v) for v in losses])) * len(yb)
                    correct += float((out.argmax(1) == yb.to(device)).sum())
                    seen += len(yb)
            if scheduler is not None and not per_batch:
                scheduler.step()
            train_loss, train_acc = pg.broadcast_object((loss_sum / max(seen, 1), correct / max(seen, 1)), src=last)
            val_loss, val_acc = evaluate(stage, args, x_val, y_val, device) if len(x_val) else (np.nan, np.nan)
            for key, v in zip(history, (train_loss, train_acc, val_loss, val_acc)):
                history[key].append(v)
            say(f"epoch {epoch + 1}/{args.epochs}  train loss {train_loss:.4f} acc {train_acc:.4f}  val loss "
                f"{val_loss:.4f} acc {val_acc:.4f}  ({time.perf_counter() - t0:.1f} s; last step: "
                f"{schedule.last_step_times})", flush=True)
        test_loss, test_acc = evaluate(stage, args, x_test, y_test, device)
    say(f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f}")
    if args.plot and rank == 0:
        train.plot_history(history, args.plot, train.plot_title(args) + f", {n} pipeline stages")
        print(f"training curves: {args.plot}")
    return 0


def start(args):
    """(device, rank, stages): joins the process group and checks it has one rank per stage."""
    from ... import train
    from .. import process_group as pg
    from ..errors import DistributedError

    device = train._device(args.device)
    if not pg.is_initialized():
        pg.init_process_group("nccl" if device.type == "cuda" else "mpi")
    rank, world, n = pg.get_rank(), pg.get_world_size(), args.pipeline_parallel
    if world != n:
        raise DistributedError(f"--pipeline-parallel {n} runs stage i on rank i: launch {n} ranks (mpirun -n {n}); "
                               f"this job has {world}")
    return device, rank, n


def _step(schedule, stage, x, y, losses):
    if stage.is_first and stage.is_last:
        return schedule.step(x, target=y, losses=losses)
    if stage.is_first:
        return schedule.step(x)
    if stage.is_last:
        return schedule.step(target=y, losses=losses)
    return schedule.step()


def evaluate(stage, args, x, y, device):
    """(mean cross-entropy, accuracy) over arrays x, y: the pipeline forward only, in eval mode, on every rank."""
    import tensorcore as tc
    from tensorcore.nn import functional as F

    from .. import process_group as pg
    from . import ScheduleGPipe

    m, chunk = args.microbatches, max(args.batch_size, 1000 - 1000 % args.microbatches)
    full, one = ScheduleGPipe(stage, m), ScheduleGPipe(stage, 1)
    loss_sum = correct = 0.0
    stage.submod.eval()
    try:
        with tc.no_grad():
            for start in range(0, len(x), chunk):
                xb = tc.tensor(x[start: start + chunk], device=device)
                yb = tc.tensor(y[start: start + chunk], device=device)
                sched = full if len(xb) % m == 0 else one
                out = sched.step(xb) if stage.is_first else sched.step()
                if stage.is_last:
                    loss_sum += float(F.cross_entropy(out, yb, reduction="sum"))
                    correct += float((out.argmax(1) == yb).sum())
    finally:
        stage.submod.train()
    return pg.broadcast_object((loss_sum / len(x), correct / len(x)), src=stage.stage_ranks[-1])
