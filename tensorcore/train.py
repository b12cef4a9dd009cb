"""`tensorcore train`: train a registered model on Fashion-MNIST (or MNIST), with checkpoints and curves.

    tensorcore train --model mlp --dataset fashion-mnist --epochs 10 --batch-size 32 \\
        --optimizer adam --lr 0.001 --seed 0 --save mlp.npz --plot curves.png

Each epoch prints the training loss and accuracy and the validation loss and accuracy (the last
--val-split of the training set); the end prints the test accuracy. A checkpoint (--save) holds
the model, the optimizer (and schedule) state, the finished epoch count, the RNG state and the
history, written atomically after every epoch; --resume (with the same other arguments) continues
from one exactly as if the run had not stopped: the data order depends only on the seed and the
epoch number, and the schedule, optimizer and RNG states come from the checkpoint.
"""

import argparse
import inspect
import math
import time

import numpy as np

from .errors import DeviceError, TensorcoreError
from .paths import check_image_format, check_input_path, check_output_path  # noqa: F401  (text_train uses them)

DATASETS = ("fashion-mnist", "mnist")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("none", "step", "cosine", "onecycle")
CHECKPOINT_FORMAT = "tensorcore-train-checkpoint"
CHECKPOINT_KEYS = ("model_name", "epoch", "model", "optimizer", "rng_state", "history")
# Arguments a --resume must repeat (the model, the optimizer and its schedule, the data and its order).
RESUME_MUST_MATCH = ("model", "dataset", "optimizer", "lr", "momentum", "weight_decay", "schedule", "batch_size",
                     "seed", "val_split", "limit")


def add_arguments(parser):
    parser.add_argument("--model", default="mlp", help="registered model name (mlp, lenet5, alexnet, zfnet)")
    parser.add_argument("--dataset", default="fashion-mnist", help=f"one of {', '.join(DATASETS)}")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per optimizer step")
    parser.add_argument("--optimizer", default="adam", help=f"one of {', '.join(OPTIMIZERS)}")
    parser.add_argument("--lr", type=float, default=0.001, help="learning rate")
    parser.add_argument("--momentum", type=float, default=0.9,
                        help="momentum for sgd (rmsprop and the others take none)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty (decoupled for adamw)")
    parser.add_argument("--schedule", default="none",
                        help=f"learning-rate schedule, one of {', '.join(SCHEDULES)} (step: x0.1 every epochs/3; "
                             "cosine: to 0 over the epochs; onecycle: up then down, per batch)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the weights, the data order and dropout")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--val-split", type=float, default=0.1,
                        help="fraction of the training set held out for validation (the last samples)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training and test samples (quick runs; default: all)")
    parser.add_argument("--save", metavar="PATH", help="write a checkpoint here after every epoch")
    parser.add_argument("--resume", metavar="PATH", help="continue from this checkpoint")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of the loss and accuracy curves per epoch")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: 1 for models under a million parameters, whose small "
                             "matrix products are fastest on one thread; else the library's default)")
    parser.add_argument("--distributed", action="store_true",
                        help="data parallel over the ranks of an MPI job: mpirun -n 4 tensorcore train --distributed "
                             "(--batch-size is per rank; rank 0 prints and writes the checkpoint)")
    parser.add_argument("--amp", choices=("fp16", "bf16"), default=None,
                        help="mixed precision: matmul/conv under tc.autocast in float16 (with a GradScaler) or "
                             "bfloat16 (cpu only: CuPy has no bfloat16), losses in float32")
    parser.add_argument("--checkpoint-activations", action="store_true",
                        help="recompute activations in backward (checkpoint_sequential, sqrt(layers) segments)")
    from .distributed.tensor_parallel.train_script import add_parallel_arguments  # --tensor-parallel --zero --async

    add_parallel_arguments(parser)
    from .distributed.pipelining.train_script import add_pipeline_arguments  # --pipeline-parallel --microbatches

    add_pipeline_arguments(parser)
    from .text_train import add_text_arguments  # --model gpt|char_lstm --dataset fortunes: tensorcore/text_train.py

    add_text_arguments(parser)


def _check_args(args):
    if args.dataset not in DATASETS:
        raise TensorcoreError(f"unknown dataset {args.dataset!r}; available: {', '.join(DATASETS)}")
    if args.optimizer not in OPTIMIZERS:
        raise TensorcoreError(f"unknown optimizer {args.optimizer!r}; available: {', '.join(OPTIMIZERS)}")
    if args.schedule not in SCHEDULES:
        raise TensorcoreError(f"unknown schedule {args.schedule!r}; available: {', '.join(SCHEDULES)}")
    if args.epochs < 1 or args.batch_size < 1:
        raise TensorcoreError(f"--epochs ({args.epochs}) and --batch-size ({args.batch_size}) must be >= 1")
    if not 0 <= args.val_split < 1:
        raise TensorcoreError(f"--val-split must be in [0, 1), got {args.val_split}")
    if args.limit is not None and args.limit < 1:
        raise TensorcoreError(f"--limit must be >= 1, got {args.limit}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise TensorcoreError(f"--lr must be a finite number > 0, got {args.lr}")
    for flag, value in (("--momentum", args.momentum), ("--weight-decay", args.weight_decay)):
        if not (math.isfinite(value) and value >= 0):
            raise TensorcoreError(f"{flag} must be a finite number >= 0, got {value}")
    if not 0 <= args.seed < 2**63:
        raise TensorcoreError(f"--seed must be in [0, 2**63), got {args.seed}")
    if args.threads is not None and args.threads < 1:
        raise TensorcoreError(f"--threads must be >= 1, got {args.threads}")
    if args.resume:
        check_input_path(args.resume, "--resume")
    if args.save:
        check_output_path(args.save, "--save")
    if args.plot:
        check_output_path(args.plot, "--plot")
        check_image_format(args.plot, "--plot")


def _device(spec):
    import tensorcore as tc

    dev = tc.device(spec)  # DeviceError for a malformed name
    try:
        dev.backend  # noqa: B018  (imports and checks the backend)
    except TensorcoreError:
        raise
    except Exception as e:  # a missing CuPy / CUDA driver
        raise DeviceError(f"device {spec!r} is not available ({type(e).__name__}: {e})") from None
    return dev


def load_data(name, input_shape, limit=None, val_split=0.1):
    """(train, val, test) pairs of (float32 images in `input_shape`, int64 labels).

    Pixels are scaled to [0, 1], then standardized with the mean and standard deviation of the
    training split (the part not held out for validation), which the test set shares.
    """
    from . import data

    try:
        (x_train, y_train), (x_test, y_test) = data.fashion_mnist() if name == "fashion-mnist" else data.mnist()
    except data.DatasetNotFoundError as e:  # the CLI prints one line: the first, which says how to get the files
        raise data.DatasetNotFoundError(str(e).splitlines()[0]) from None
    if limit is not None:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]

    def prep(x):
        x = x.astype(np.float32) / 255.0
        size = int(np.prod(input_shape))
        if x[0].size != size:
            raise TensorcoreError(f"the model expects inputs of shape {input_shape}; {name} images are {x.shape[1:]}")
        return x.reshape((len(x),) + tuple(input_shape))

    x_train, x_test = prep(x_train), prep(x_test)
    n_val = int(round(len(x_train) * val_split))
    cut = len(x_train) - n_val
    if cut < 1:
        raise TensorcoreError(f"--val-split {val_split} of {len(x_train)} samples leaves no training data")
    mean, std = float(x_train[:cut].mean()), float(x_train[:cut].std()) or 1.0
    for x in (x_train, x_test):
        x -= mean
        x /= std
    return ((x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:]), (x_test, y_test))


def build_model(name, num_classes, input_shape):
    from . import models

    factory = models.get_model_factory(name)
    params = inspect.signature(factory).parameters
    kwargs = {}
    if "num_classes" in params:
        kwargs["num_classes"] = num_classes
    if len(input_shape) == 3:
        if "in_channels" in params:
            kwargs["in_channels"] = input_shape[0]
        if "input_size" in params:
            kwargs["input_size"] = input_shape[-1]
    return factory(**kwargs)


def build_optimizer(args, params):
    from . import optim

    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    if args.optimizer == "adam":
        return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    if args.optimizer == "adamw":
        return optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    if args.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=args.lr, momentum=0.0, weight_decay=args.weight_decay)
    return optim.Adagrad(params, lr=args.lr, weight_decay=args.weight_decay)


def build_schedule(args, opt, steps_per_epoch):
    """(scheduler or None, whether it steps per batch)."""
    from .optim import lr_scheduler

    if args.schedule == "step":
        return lr_scheduler.StepLR(opt, step_size=max(1, args.epochs // 3), gamma=0.1), False
    if args.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs), False
    if args.schedule == "onecycle":
        return lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch), True
    return None, False


def evaluate(model, x, y, device, batch_size=1000):
    """(mean cross-entropy, accuracy) of model on arrays x, y, in eval mode without recording."""
    import tensorcore as tc
    from tensorcore.nn import functional as F

    from . import loop

    def step(xb, yb):
        logits = model(xb)
        return F.cross_entropy(logits, yb), logits

    batches = loop.array_batches((x, y), batch_size, to_tensor=lambda a, rows: tc.tensor(a[rows], device=device))
    model.eval()
    try:
        logs = loop.evaluate(batches, step, loop.Accuracy())
    finally:
        model.train()
    return logs["loss"], logs["acc"]


def train_epoch(model, opt, loader, device, scheduler=None, per_batch=False, progress=None, amp=None, forward=None):
    """One pass over loader (tensorcore.loop.run_epoch): (mean loss, accuracy) of the training batches.
    amp: a tensorcore.amp.training.MixedPrecision (--amp); forward: the model's checkpointed call."""
    from tensorcore.nn import functional as F

    from . import loop
    from .amp.training import MixedPrecision

    amp = amp or MixedPrecision(None, device)

    def step(xb, yb):
        with amp.autocast():
            logits = (forward or model)(xb)
            loss = F.cross_entropy(logits, yb)
        value = loss.item()
        if not math.isfinite(value):
            raise TensorcoreError(f"the training loss became {value} (diverged; try a smaller --lr); "
                                  "the last checkpoint is kept")
        amp.backward_step(loss, opt)
        if scheduler is not None and per_batch:
            scheduler.step()
        return loss, logits

    model.train()
    batches = ((xb.to(device), yb.to(device)) for xb, yb in loader)  # .to is free on the same device
    logs = loop.run_epoch(batches, step, loop.Accuracy(), progress)
    return logs["loss"], logs["acc"]


def _format_progress(logs):
    return f"loss {logs['loss']:.4f} acc {logs['acc']:.4f}"


def save_checkpoint(path, args, model, opt, scheduler, epoch, history):
    import tensorcore as tc

    tc.save({
        "format": CHECKPOINT_FORMAT,
        "model_name": args.model,
        "dataset": args.dataset,
        "seed": args.seed,
        "args": {key: getattr(args, key) for key in RESUME_MUST_MATCH},
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng_state": tc.get_rng_state(),
        "history": history,
    }, path)


def load_checkpoint(path, args, model, opt, scheduler):
    """Restore a checkpoint into model/opt/scheduler; returns (finished epochs, history)."""
    import tensorcore as tc
    from tensorcore.serialization import CheckpointError

    state = tc.load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a training checkpoint written by `tensorcore train --save`")
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path}: incomplete training checkpoint: it lacks {', '.join(missing)}")
    if state["model_name"] != args.model:
        raise CheckpointError(f"{path}: checkpoint of model {state['model_name']!r}, but --model is {args.model!r}")
    saved_args = state.get("args") if isinstance(state.get("args"), dict) else {}
    for key in RESUME_MUST_MATCH:
        if key in saved_args and saved_args[key] != getattr(args, key):
            flag = "--" + key.replace("_", "-")
            raise CheckpointError(f"{path}: the checkpoint was trained with {flag} {saved_args[key]!r}, this run has "
                                  f"{flag} {getattr(args, key)!r}; resume with the same arguments")
    if not isinstance(state["epoch"], int) or state["epoch"] < 0 or not isinstance(state["history"], dict):
        raise CheckpointError(f"{path}: corrupt training checkpoint: bad epoch or history")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state.get("scheduler") is None:
            raise CheckpointError(f"{path}: the checkpoint has no learning-rate schedule state, but --schedule is "
                                  f"{args.schedule!r}")
        scheduler.load_state_dict(state["scheduler"])
    tc.set_rng_state(state["rng_state"])
    return int(state["epoch"]), {k: list(v) for k, v in state["history"].items()}


def plot_history(history, path, title="tensorcore train"):
    """Loss and accuracy per epoch (train and validation), two panels, written as a PNG."""
    from .figures import integer_ticks, pyplot, save

    plt = pyplot()
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, label in ((ax_loss, "loss", "cross-entropy loss (mean per sample)"),
                           (ax_acc, "acc", "accuracy (fraction correct)")):
        ax.plot(epochs, history[f"train_{key}"], "o-", label="train (running, during the epoch)")
        if history.get(f"val_{key}") and not all(v != v for v in history[f"val_{key}"]):  # v != v: NaN
            ax.plot(epochs, history[f"val_{key}"], "s-", label="validation (after the epoch)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_xlim(0.5, len(epochs) + 0.5)
        integer_ticks(ax.xaxis)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax_loss.set_title("loss")
    ax_acc.set_title("accuracy")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save(fig, path, dpi=90)


def plot_title(args):
    """The curves' title: model, data, optimizer and the learning-rate schedule."""
    schedule = "constant lr" if args.schedule == "none" else f"{args.schedule} schedule"
    return (f"tensorcore train: {args.model} on {args.dataset}, {args.optimizer} lr {args.lr} ({schedule}), "
            f"batch {args.batch_size}")


def run(args):
    import tensorcore as tc

    from . import models
    from .data import DataLoader, TensorDataset
    from .distributed.tensor_parallel.train_script import check_parallel_flags, uses_parallel_flags
    from .text_train import is_text_run, run_text

    check_parallel_flags(args, text_run=is_text_run(args))
    from .distributed.pipelining.train_script import run_pipeline, uses_pipeline

    if uses_pipeline(args):  # --pipeline-parallel: tensorcore/distributed/pipelining/train_script.py
        return run_pipeline(args)
    if is_text_run(args):  # language models: tensorcore/text_train.py
        return run_text(args)
    _check_args(args)
    device = _device(args.device)
    dp = None
    parallel = uses_parallel_flags(args)  # --tensor-parallel, --zero, --async: tensor_parallel/train_script.py
    if args.distributed or parallel:  # the data-parallel parts live in tensorcore/distributed/training.py
        from .distributed.tensor_parallel.train_script import ParallelTrainScript
        from .distributed.training import TrainScript

        dp = (ParallelTrainScript if parallel else TrainScript)(args, device)
    input_shape = models.input_shape(args.model)  # UnknownModelError before any data is read
    tc.manual_seed(args.seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_data(args.dataset, input_shape, args.limit,
                                                                     args.val_split)
    model = build_model(args.model, 10, input_shape).to(device)
    if parallel:
        model = dp.shard_model(model)
    from .amp.training import MixedPrecision, checkpoint_activations

    amp = MixedPrecision(args.amp, device)
    forward = checkpoint_activations(model) if args.checkpoint_activations else None
    opt = build_optimizer(args, list(model.parameters()))
    if parallel:
        opt = dp.wrap_optimizer(opt)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True, seed=args.seed)
    if dp:
        loader = dp.shard_loader(loader)
    scheduler, per_batch = build_schedule(args, opt, len(loader))
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    start_epoch = 0
    if args.resume:
        start_epoch, history = load_checkpoint(args.resume, args, model, opt, scheduler)
        print(f"resumed from {args.resume} after epoch {start_epoch}")
    if dp:
        model = dp.wrap(model)  # every rank starts from rank 0's weights
    print(f"{args.model} ({model.num_parameters():,} parameters) on {args.dataset}: {len(x_train)} training, "
          f"{len(x_val)} validation, {len(x_test)} test samples; {args.optimizer} lr {args.lr}, batch "
          f"{args.batch_size}, device {device}")
    from . import loop
    from .nn.utils import blas_threads, small_model_threads

    # NumPy's overflow warnings would add lines to stderr; a diverging loss stops the run with one line instead.
    with blas_threads(args.threads if args.threads is not None else small_model_threads(model)), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        def one_epoch(epoch):
            loader.set_epoch(epoch)
            bar = None
            if not args.quiet:
                bar = loop.Progress(len(loader), f"epoch {epoch + 1}/{args.epochs}", _format_progress, unit="batch",
                                    leave=False)
            t0 = time.perf_counter()
            train_loss, train_acc = train_epoch(model, opt, loader, device, scheduler, per_batch, bar, amp, forward)
            if dp:
                train_loss, train_acc = dp.average(train_loss, train_acc)
            if bar is not None:
                bar.close()
            if scheduler is not None and not per_batch:
                scheduler.step()
            val_loss, val_acc = evaluate(model, x_val, y_val, device) if len(x_val) else (float("nan"), float("nan"))
            return {"train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc,
                    "seconds": time.perf_counter() - t0}

        def epoch_end(epoch, logs):
            for key in history:
                history[key].append(logs[key])
            print(f"epoch {epoch + 1}/{args.epochs}  train loss {logs['train_loss']:.4f} acc {logs['train_acc']:.4f}  "
                  f"val loss {logs['val_loss']:.4f} acc {logs['val_acc']:.4f}  ({logs['seconds']:.1f} s)", flush=True)
            if args.save and (dp is None or dp.is_main):
                save_checkpoint(args.save, args, dp.unwrap(model) if dp else model, opt, scheduler, epoch + 1, history)

        loop.fit(one_epoch, args.epochs, start_epoch, callbacks=[loop.EpochEnd(epoch_end)])
        test_loss, test_acc = evaluate(model, x_test, y_test, device)
    print(f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f}")
    if args.save:
        print(f"checkpoint: {args.save}")
    if args.plot and history["train_loss"] and (dp is None or dp.is_main):
        plot_history(history, args.plot, plot_title(args))
        print(f"training curves: {args.plot}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tensorcore train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
