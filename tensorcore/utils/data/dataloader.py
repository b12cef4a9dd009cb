"""DataLoader: torch.utils.data.DataLoader's arguments, defaults and semantics, with real worker processes."""

import multiprocessing
import numbers
import queue

from ... import _validate as check
from ...data.errors import DataError
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import _Exhausted, _Failure, fetch, worker_loop

_POLL_S = 1.0  # how often a waiting main process checks that its workers are alive


class _InfiniteSampler(Sampler):
    """For an iterable dataset: None forever (each worker reads its own iterator)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Batches of a dataset: sampler -> batch_sampler -> dataset[i] -> collate_fn, optionally in num_workers
    processes (batches come back in the sampler's order).

    Example:
        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, num_workers=2)
        for xb, yb in loader: ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        op = "DataLoader"
        self.num_workers = check.integer(num_workers, "num_workers", op, 0, error=DataError)
        self.timeout = check.number(timeout, "timeout", op, low=0, error=DataError)
        if self.num_workers == 0 and prefetch_factor is not None:
            raise DataError("DataLoader: prefetch_factor option could only be specified in multiprocessing; let "
                            "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        self.prefetch_factor = 2 if prefetch_factor is None and self.num_workers > 0 else prefetch_factor
        if self.prefetch_factor is not None:
            check.integer(self.prefetch_factor, "prefetch_factor", op, 0, error=DataError)
        self.persistent_workers = check.flag(persistent_workers, "persistent_workers", op, error=DataError)
        if self.persistent_workers and self.num_workers == 0:
            raise DataError("DataLoader: persistent_workers option needs num_workers > 0")
        check.flag(drop_last, "drop_last", op, error=DataError)
        self.pin_memory = check.flag(pin_memory, "pin_memory", op, error=DataError)  # host memory: nothing to do
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.iterable = isinstance(dataset, IterableDataset)
        if self.iterable:
            if shuffle not in (None, False):
                raise DataError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                f"shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise DataError("DataLoader with IterableDataset: expected unspecified sampler and batch_sampler")
        if sampler is not None and shuffle:
            raise DataError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise DataError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise DataError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                                "exclusive with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise DataError(f"DataLoader: batch_size should be a positive integer value, got {batch_size!r:.40}")
        if sampler is None:
            if self.iterable:
                sampler = _InfiniteSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise DataError(f"DataLoader: worker_init_fn must be a function, got {type(worker_init_fn).__name__}")
        if isinstance(multiprocessing_context, str):
            multiprocessing_context = multiprocessing.get_context(multiprocessing_context)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, bool(drop_last)
        self.sampler, self.batch_sampler, self.collate_fn = sampler, batch_sampler, collate_fn
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.multiprocessing_context = multiprocessing_context
        self._workers = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self.iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def _base_seed(self):
        from ...random import _gen

        return int(_gen(self.generator).integers(2**63))

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process()
        if self.persistent_workers and self._workers is not None:
            self._workers.new_epoch()
            return self._workers.batches()
        workers = _WorkerPool(self, self._base_seed())
        if self.persistent_workers:
            self._workers = workers
        return workers.batches()

    def _single_process(self):
        iterator = iter(self.dataset) if self.iterable else None
        for indices in self._index_sampler:
            data = fetch(self.dataset, indices, iterator, self.collate_fn, self._auto_collation, self.batch_size,
                         self.drop_last)
            if data is None and self.iterable:
                return
            yield data

    def __del__(self):
        if getattr(self, "_workers", None) is not None:
            self._workers.shutdown()


class _WorkerPool:
    """num_workers processes, batches dealt round-robin, results yielded in the order they were asked for."""

    def __init__(self, loader, seed):
        self.loader = loader
        ctx = loader.multiprocessing_context or _default_context()
        self.result_queue = ctx.Queue()
        self.index_queues, self.processes = [], []
        n = loader.num_workers
        for wid in range(n):
            index_queue = ctx.Queue()
            proc = ctx.Process(target=worker_loop, daemon=True,
                               args=(loader.dataset, loader.iterable, index_queue, self.result_queue,
                                     loader.collate_fn, loader._auto_collation, loader.batch_size, loader.drop_last,
                                     seed, loader.worker_init_fn, wid, n))
            proc.start()
            self.index_queues.append(index_queue)
            self.processes.append(proc)
        self.closed = False

    def new_epoch(self):
        for q in self.index_queues:
            q.put(("epoch", None))

    def batches(self):
        loader = self.loader
        sampler = iter(loader._index_sampler)
        active = list(range(len(self.processes)))  # workers that still have data (iterable datasets)
        pending, ready, sent, wanted, turn = {}, {}, 0, 0, 0
        outstanding = loader.prefetch_factor * len(self.processes) if loader.prefetch_factor else len(self.processes)
        try:
            while True:
                while active and sent - wanted < max(outstanding, 1):
                    indices = next(sampler, StopIteration)
                    if indices is StopIteration:
                        break
                    wid = active[turn % len(active)]
                    turn += 1
                    self.index_queues[wid].put((sent, indices))
                    pending[sent] = wid
                    sent += 1
                if wanted == sent:
                    return
                while wanted not in ready:
                    number, data = self._get()
                    ready[number] = data
                data = ready.pop(wanted)
                wid = pending.pop(wanted)
                wanted += 1
                if isinstance(data, _Failure):
                    raise DataError(f"DataLoader worker {data.worker_id} raised {data.type_name}:\n{data.text}")
                if isinstance(data, _Exhausted):
                    if wid in active:
                        active.remove(wid)
                    continue
                yield data
        finally:
            if not loader.persistent_workers:
                self.shutdown()

    def _get(self):
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
                dead = [p for p in self.processes if not p.is_alive()]
                if dead:
                    raise DataError(f"DataLoader worker (pid {dead[0].pid}) exited unexpectedly with exit code "
                                    f"{dead[0].exitcode}") from None
                if self.loader.timeout and waited >= self.loader.timeout:
                    raise DataError(f"DataLoader timed out after {self.loader.timeout} seconds") from None

    def shutdown(self):
        if self.closed:
            return
        self.closed = True
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.processes:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=1)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()


def _default_context():
    """fork where the platform has it (as PyTorch on Linux: the dataset need not be picklable), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
