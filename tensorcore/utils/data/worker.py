"""DataLoader worker processes: each fetches and collates the batches the main process sends it.

Protocol (multiprocessing queues): the main process puts (batch_number, indices) on a worker's
index queue ((batch_number, None) for an iterable dataset: "your next batch"), ("epoch", n) to
restart an iterable dataset's iterator, and None to stop. The worker answers on the shared result
queue with (batch_number, data), (batch_number, _Exhausted(worker_id)) or (batch_number, _Failure).
"""

import random
import traceback
from dataclasses import dataclass

import numpy as np

_worker_info = None


@dataclass(frozen=True)
class WorkerInfo:
    """In a worker process: its id (0..num_workers-1), num_workers, seed and its copy of the dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """The WorkerInfo of this DataLoader worker process; None in the main process."""
    return _worker_info


class _Exhausted:
    def __init__(self, worker_id):
        self.worker_id = worker_id


class _Failure:
    """An exception raised in a worker, carried to the main process as text."""

    def __init__(self, worker_id, exc):
        self.worker_id = worker_id
        self.type_name = type(exc).__name__
        self.text = "".join(traceback.format_exception(exc))


def _seed_worker(seed, worker_id):
    from ...random import manual_seed

    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([seed % 2**64, worker_id]).generate_state(4))


def fetch(dataset, indices, iterator, collate_fn, auto_collation, batch_size, drop_last):
    """One batch: from a map-style dataset at `indices`, or the next batch_size samples of `iterator`.

    Returns None when an iterable dataset has no (complete, under drop_last) batch left.
    """
    if iterator is None:
        if auto_collation:
            getitems = getattr(dataset, "__getitems__", None)
            samples = getitems(indices) if callable(getitems) else [dataset[i] for i in indices]
            return collate_fn(samples)
        return collate_fn(dataset[indices])
    if not auto_collation:
        try:
            return collate_fn(next(iterator))
        except StopIteration:
            return None
    samples = []
    for sample in iterator:
        samples.append(sample)
        if len(samples) == batch_size:
            break
    if not samples or (drop_last and len(samples) < batch_size):
        return None
    return collate_fn(samples)


def worker_loop(dataset, iterable, index_queue, result_queue, collate_fn, auto_collation, batch_size, drop_last,
                seed, worker_init_fn, worker_id, num_workers):
    """The body of one worker process."""
    global _worker_info
    seed = seed + worker_id  # as PyTorch: base seed + worker id
    _seed_worker(seed, worker_id)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    init_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as exc:  # reported with the first batch asked for
        init_error = exc
    iterator = None
    exhausted = False
    while True:
        message = index_queue.get()
        if message is None:
            break
        if message[0] == "epoch":
            iterator, exhausted = None, False
            continue
        number, indices = message
        if init_error is not None:
            result_queue.put((number, _Failure(worker_id, init_error)))
            continue
        try:
            if iterable and iterator is None and not exhausted:
                iterator = iter(dataset)
            data = None if exhausted else fetch(dataset, indices, iterator, collate_fn, auto_collation, batch_size,
                                                drop_last)
            if iterable and data is None:
                exhausted = True
                result_queue.put((number, _Exhausted(worker_id)))
            else:
                result_queue.put((number, data))
        except Exception as exc:
            result_queue.put((number, _Failure(worker_id, exc)))
