"""Data parallelism for the two training loops tensorcore ships: `tensorcore train` and Keras `fit`.

Each loop calls in here at a few marked points, so the loops stay readable and everything
distributed lives in this package:

* `TrainScript` (tensorcore/train.py, `tensorcore train --distributed`): joins the process group,
  silences the ranks other than 0 (they print nothing and show no progress bar), shards the
  training loader with a DistributedSampler (--batch-size is per rank), wraps the model in
  DistributedDataParallel after any --resume (so every rank starts from rank 0's weights), and
  averages the training loss and accuracy over the ranks. Rank 0 alone writes checkpoints and plots.
  Evaluation needs nothing: all ranks hold the same weights, so each one's validation and test
  figures are the same.
* `KerasFit` (keras Sequential.fit(..., distributed=True)): wraps `model.net` in
  DistributedDataParallel, gives each rank an equal random shard of the training samples (drawn
  once with a seed shared by all ranks; fit then shuffles within the shard every epoch) and a
  strided shard of the validation samples, runs progress output and rank-0-only callbacks
  (ModelCheckpoint, CSVLogger) on rank 0 only, and averages the epoch logs over the ranks before any
  callback sees them, so EarlyStopping and friends decide alike everywhere.
"""

import os
import sys

import numpy as np

from . import process_group as pg
from .helpers import average_metrics
from .sampler import DistributedSampler


def _init(device):
    if not pg.is_initialized():
        pg.init_process_group("nccl" if getattr(device, "type", "cpu") == "cuda" else "mpi")
    return pg.get_rank(), pg.get_world_size()


class TrainScript:
    """The data-parallel parts of `tensorcore train --distributed`; see the module docstring.

    Example (the calls train.py makes):
        dp = TrainScript(args, device)               # first thing in run()
        loader = dp.shard_loader(loader)
        model = dp.wrap(model)                       # after --resume
        loss, acc = dp.average(loss, acc, samples)   # after each epoch
        if dp.is_main: save_checkpoint(...)
    """

    def __init__(self, args, device):
        self.rank, self.world = _init(device)
        self.is_main = self.rank == 0
        if not self.is_main:
            args.quiet = True  # no progress bars
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
        print(f"data parallel: {self.world} ranks ({pg.get_backend()}), batch size per rank {args.batch_size}, "
              f"global batch {args.batch_size * self.world}")

    def shard_loader(self, loader):
        """The same loader over this rank's shard: a DistributedSampler with the loader's seed."""
        seed = loader.seed if isinstance(loader.seed, (int, np.integer)) else 0
        sampler = DistributedSampler(loader.dataset, shuffle=loader.shuffle, seed=int(seed) % 2**63,
                                     drop_last=loader.drop_last)
        from ..data import DataLoader

        return DataLoader(loader.dataset, batch_size=loader.batch_size, drop_last=loader.drop_last,
                          sampler=sampler, collate_fn=loader.collate_fn)

    def wrap(self, model, bucket_cap_mb=25):
        from ..nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)

    def unwrap(self, model):
        """The module inside DistributedDataParallel (what checkpoints hold, so any run can resume them)."""
        return getattr(model, "module", model)

    def average(self, loss, accuracy, samples=1):
        """(loss, accuracy) averaged over the ranks, weighted by each rank's number of samples."""
        m = average_metrics({"loss": loss, "accuracy": accuracy}, weight=samples)
        return m["loss"], m["accuracy"]


# Callbacks that write files: run on rank 0 only (by class name, so later ones need no import here).
RANK_0_CALLBACKS = ("ModelCheckpoint", "CSVLogger", "TensorBoard")


def _rank_0_only(callback):
    return any(c.__name__ in RANK_0_CALLBACKS for c in type(callback).__mro__)


class KerasFit:
    """The data-parallel parts of keras `Sequential.fit(..., distributed=True)`; see the module docstring.

    Example (the calls fit makes):
        dp = KerasFit(self, x, y, xv, yv, verbose, callbacks)
        x, y, xv, yv, verbose, callbacks = dp.x, dp.y, dp.xv, dp.yv, dp.verbose, dp.callbacks
        ...
        logs = dp.average_logs(logs)                 # each epoch, before the callbacks
    """

    def __init__(self, model, x, y, xv, yv, verbose, callbacks):
        from ..nn.parallel import DistributedDataParallel
        from ..random import _gen

        self.rank, self.world = _init(model._device)
        net = model.net
        ddp = net.__dict__.get("_data_parallel")
        if ddp is None:  # kept on the net: the hooks hold only a weak reference, and a second fit reuses it
            ddp = DistributedDataParallel(net)
            object.__setattr__(net, "_data_parallel", ddp)
        else:  # the same wrapper as last fit: make the weights agree again (e.g. after set_weights on rank 0)
            ddp.sync_parameters()
        self.ddp = ddp
        seed = pg.broadcast_object(int(_gen(None).integers(2**62)) if self.rank == 0 else None)
        rows = DistributedSampler(range(len(x)), shuffle=True, seed=seed).indices()
        self.x, self.y = x[rows], y[rows]
        if xv is not None:
            xv, yv = xv[self.rank :: self.world], yv[self.rank :: self.world]
        self.xv, self.yv = xv, yv
        self.verbose = verbose if self.rank == 0 else 0
        callbacks = list(callbacks or [])
        if self.rank != 0:
            callbacks = [cb for cb in callbacks if not _rank_0_only(cb)]
        self.callbacks = callbacks

    def average_logs(self, logs):
        """The epoch's logs averaged over the ranks (validation entries weighted by each shard's size)."""
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k: v for k, v in logs.items() if k.startswith("val_")}
        out = average_metrics(train, weight=len(self.x))
        # A validation shard can be empty on some rank (fewer samples than ranks): then no val_ entries.
        if all(pg.all_gather_object(bool(val))):
            out.update(average_metrics(val, weight=len(self.xv)))
        return {k: out[k] for k in logs if k in out}
