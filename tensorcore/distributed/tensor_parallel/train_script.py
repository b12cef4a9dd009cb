"""`tensorcore train --tensor-parallel N --zero 1|2 --async local-sgd|param-server`: the parts train.py calls.

    mpirun -n 2 tensorcore train --model mlp --tensor-parallel 2            # the MLP split over 2 ranks
    mpirun -n 4 tensorcore train --model mlp --tensor-parallel 2            # 2 tensor x 2 data parallel
    mpirun -n 2 tensorcore train --model mlp --distributed --zero 2         # ZeRO: sharded state and gradients
    mpirun -n 2 tensorcore train --model mlp --distributed --async local-sgd

ParallelTrainScript is TrainScript (tensorcore/distributed/training.py: rank 0 prints, averaged
metrics) with the world split into tensor-parallel groups of N consecutive ranks and data-parallel
groups across them: the ranks of one tensor-parallel group train on the same batches (the loader is
sharded over the data-parallel group), the model is split with tensor_parallel.parallelize, and the
gradients are averaged over the data-parallel group (DistributedDataParallel when N = 1, else here).
--zero wraps the optimizer in ZeroRedundancyOptimizer over the data-parallel group; --async replaces
the gradient averaging by AsyncModelAverager (local SGD) or ParameterServerOptimizer, and every epoch
ends with the ranks' models made identical.
"""

from ...errors import TensorcoreError
from ..async_training import _Wrapper
from ..training import TrainScript

ASYNC_MODES = ("local-sgd", "param-server")


def add_parallel_arguments(parser):
    """The flags (train.py's add_arguments calls this)."""
    parser.add_argument("--tensor-parallel", type=int, default=1, metavar="N",
                        help="split the model's layers over groups of N ranks (Megatron-LM tensor parallelism; "
                             "the world size must be a multiple of N); implies --distributed")
    parser.add_argument("--zero", type=int, choices=(1, 2), default=None,
                        help="ZeRO stage: 1 shards the optimizer state over the data-parallel ranks, 2 also the "
                             "gradients (reduce-scatter); implies --distributed")
    parser.add_argument("--async", dest="async_mode", choices=ASYNC_MODES, default=None,
                        help="asynchronous data parallelism: local-sgd (non-blocking model averaging every "
                             "--async-period steps) or param-server (MPI one-sided updates); implies --distributed")
    parser.add_argument("--async-period", type=int, default=8, help="local steps between model averages (local-sgd)")


def uses_parallel_flags(args):
    """True when any of --tensor-parallel > 1, --zero, --async is given."""
    return getattr(args, "tensor_parallel", 1) != 1 or getattr(args, "zero", None) is not None \
        or getattr(args, "async_mode", None) is not None


def check_parallel_flags(args, text_run=False):
    """Refuse what is not supported, before any work (a TensorcoreError naming the flags)."""
    if not uses_parallel_flags(args):
        return
    if text_run and args.async_mode:
        raise TensorcoreError(f"--async trains the Fashion-MNIST models (mlp, ...); not yet the language models "
                              f"(--model {args.model}); --tensor-parallel and --zero do")
    if args.tensor_parallel < 1:
        raise TensorcoreError(f"--tensor-parallel must be >= 1, got {args.tensor_parallel}")
    if args.async_mode and (args.zero or args.tensor_parallel > 1):
        raise TensorcoreError("--async does not combine with --zero or --tensor-parallel")
    if args.async_period < 1:
        raise TensorcoreError(f"--async-period must be >= 1, got {args.async_period}")
    if (args.tensor_parallel > 1 or args.zero) and (args.save or args.resume):
        raise TensorcoreError("--save and --resume are not supported with --tensor-parallel or --zero yet (the "
                              "checkpoint would need the weights and optimizer state gathered from every rank)")


class ParallelTrainScript(TrainScript):
    """TrainScript with tensor-parallel and data-parallel groups, ZeRO and asynchronous optimizers.

    with_ddp=False (the language models' loop, which has no DistributedDataParallel): gradients are
    averaged over the data-parallel group here (or reduce-scattered by ZeRO stage 2).
    """

    def __init__(self, args, device, with_ddp=True):
        from . import comm

        super().__init__(args, device)
        self.args = args
        self.with_ddp = with_ddp
        comm.initialize_model_parallel(args.tensor_parallel)  # DistributedError unless it divides the world
        self.tp_group = comm.get_tensor_parallel_group()
        self.dp_group = comm.get_data_parallel_group()
        self.optimizer = None
        print(f"model parallel: {self.tp_group.size} tensor-parallel x {self.dp_group.size} data-parallel ranks"
              + (f", ZeRO stage {args.zero}" if args.zero else "")
              + (f", asynchronous {args.async_mode}" if args.async_mode else ""))

    def shard_loader(self, loader):
        """The loader over this data-parallel rank's shard (the ranks of one tensor-parallel group share it)."""
        from ...data import DataLoader
        from ..sampler import DistributedSampler

        seed = int(loader.seed) % 2**63 if isinstance(loader.seed, int) else 0
        sampler = DistributedSampler(loader.dataset, num_replicas=self.dp_group.size, rank=self.dp_group.rank,
                                     shuffle=loader.shuffle, seed=seed, drop_last=loader.drop_last)
        return DataLoader(loader.dataset, batch_size=loader.batch_size, drop_last=loader.drop_last,
                          sampler=sampler, collate_fn=loader.collate_fn)

    def shard_model(self, model):
        """The tensor-parallel model (--tensor-parallel > 1), else the model itself."""
        if self.tp_group.size == 1:
            return model
        from .blocks import parallelize

        return parallelize(model, self.tp_group)

    def wrap_optimizer(self, opt):
        """ZeroRedundancyOptimizer, PostLocalSGDOptimizer or ParameterServerOptimizer around opt, or gradient
        averaging over the data-parallel group (tensor-parallel runs); unchanged where DDP averages."""
        from .. import async_training as at
        from ..optim.zero import ZeroRedundancyOptimizer

        args = self.args
        if args.zero:
            groups = [dict(g) for g in opt.param_groups]
            opt = ZeroRedundancyOptimizer(groups, optimizer_class=type(opt), process_group=self.dp_group,
                                          zero_stage=args.zero, **opt.defaults)
        if args.async_mode == "local-sgd":
            opt = at.PostLocalSGDOptimizer(opt, at.AsyncModelAverager(args.async_period, self.dp_group))
        elif args.async_mode == "param-server":
            opt = at.ParameterServerOptimizer(opt, self.dp_group)
        elif self.dp_group.size > 1 and not self._uses_ddp() and args.zero != 2:
            opt = GradientAveraging(opt, self.dp_group)
        self.optimizer = opt
        return opt

    def _uses_ddp(self):
        return self.with_ddp and self.tp_group.size == 1 and self.args.zero != 2 and not self.args.async_mode

    def wrap(self, model, bucket_cap_mb=25):
        """DistributedDataParallel only for plain data parallelism (and ZeRO stage 1) without tensor parallelism."""
        return super().wrap(model, bucket_cap_mb) if self._uses_ddp() else model

    def average(self, loss, accuracy, samples=1):
        """The epoch's metrics over the ranks; asynchronous runs first make the ranks' models identical."""
        if hasattr(self.optimizer, "finish"):
            self.optimizer.finish()
        zero = self.optimizer.optim if isinstance(self.optimizer, GradientAveraging) else self.optimizer
        if hasattr(zero, "memory_bytes") and not getattr(self, "_memory_printed", False):
            self._memory_printed = True
            mem = zero.memory_bytes()
            print(f"ZeRO stage {self.args.zero} on rank {self.rank}: optimizer state {mem['optimizer_state']:,} B "
                  f"and a parameter shard of {mem['parameter_shard']:,} B (1/{self.dp_group.size} each); full "
                  f"parameters {mem['parameters']:,} B; gradients held after the step {mem['gradients']:,} B")
        return super().average(loss, accuracy, samples)


def text_parallel_script(args):
    """For `tensorcore train --model gpt|char_lstm` (tensorcore/text_train.py): a ParallelTrainScript with
    --tensor-parallel / --zero, else None. Each data-parallel rank then draws its own batches
    (seed + data-parallel rank); the ranks of a tensor-parallel group draw the same ones."""
    if not uses_parallel_flags(args):
        return None
    from ...device import device

    return ParallelTrainScript(args, device("cpu"), with_ddp=False)


class GradientAveraging(_Wrapper):
    """opt.step() after averaging every gradient over `group` (data parallelism beside tensor parallelism)."""

    def __init__(self, optim, group):
        self.optim, self.group = optim, group

    def step(self, closure=None):
        for g in self.optim.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    self.group.all_reduce(p.grad._data, "mean").wait()
        return self.optim.step(closure)
