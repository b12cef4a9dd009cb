"""tensorcore.distributed in one process: the sampler, world-size-1 semantics, errors, and failure behaviour.

The multi-rank checks live in test_distributed_mpi.py (run under mpirun by tensorcore.distributed.launch_tests).
Here, whatever needs MPI runs in a subprocess with a timeout, so a broken MPI install cannot hang the suite.
"""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.distributed as dist
from tensorcore.data import DataLoader, DistributedSampler, TensorDataset
from tensorcore.distributed.launch import find_mpirun, mpirun_argv

needs_mpi = pytest.mark.skipif(not dist.is_available(), reason="mpi4py is not installed")
needs_mpirun = pytest.mark.skipif(not dist.is_available() or find_mpirun() is None, reason="mpirun is not installed")


# --- DistributedSampler ------------------------------------------------------------------------------------


def shards(n, world, **kw):
    return [DistributedSampler(range(n), num_replicas=world, rank=r, **kw) for r in range(world)]


@pytest.mark.parametrize("n,world", [(12, 3), (100, 4), (7, 1), (64, 8)])
def test_shards_cover_the_data_set_exactly_once_per_epoch(n, world):
    samplers = shards(n, world, seed=3)
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        parts = [list(s) for s in samplers]
        assert all(len(p) == n // world == len(s) for p, s in zip(parts, samplers))
        assert sorted(i for p in parts for i in p) == list(range(n))


def test_reshuffled_every_epoch_with_the_shared_seed():
    a, b = shards(50, 2, seed=11), shards(50, 2, seed=11)  # two "jobs" with the same seed
    orders = []
    for epoch in range(3):
        for s in a + b:
            s.set_epoch(epoch)
        assert [list(s) for s in a] == [list(s) for s in b]
        orders.append(np.concatenate([s.indices() for s in a]))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    other = shards(50, 2, seed=12)
    assert [list(s) for s in other] != [list(s) for s in shards(50, 2, seed=11)]
    assert list(shards(10, 2, shuffle=False)[1]) == [1, 3, 5, 7, 9]


def test_uneven_data_set_is_padded_or_dropped():
    padded = shards(10, 4, seed=0)  # ceil(10 / 4) = 3 each: two samples seen twice
    parts = [list(s) for s in padded]
    assert [len(p) for p in parts] == [3, 3, 3, 3]
    assert set(i for p in parts for i in p) == set(range(10))
    dropped = shards(10, 4, seed=0, drop_last=True)  # 2 each: two samples not seen this epoch
    parts = [list(s) for s in dropped]
    flat = [i for p in parts for i in p]
    assert [len(p) for p in parts] == [2, 2, 2, 2] and len(set(flat)) == 8
    tiny = shards(2, 4, shuffle=False)  # fewer samples than ranks: every rank still gets one
    assert [list(s) for s in tiny] == [[0], [1], [0], [1]]


def test_data_loader_takes_the_sampler_and_sets_its_epoch():
    x = np.arange(20.0).reshape(20, 1)
    ds = TensorDataset(x, np.arange(20))
    samplers = shards(20, 2, seed=5)
    loaders = [DataLoader(ds, batch_size=3, sampler=s) for s in samplers]
    assert [len(loader) for loader in loaders] == [4, 4]
    for epoch in range(2):
        seen = [int(v) for loader in loaders for _, y in loader for v in y.numpy()]
        assert sorted(seen) == list(range(20))
        assert all(s.epoch == epoch for s in samplers)
    assert dist.DistributedSampler is DistributedSampler


def test_sampler_defaults_to_world_size_1_and_checks_its_arguments():
    s = DistributedSampler(range(5), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (1, 0, [0, 1, 2, 3, 4])
    with pytest.raises(dist.DistributedError, match="rank must be in 0..1"):
        DistributedSampler(range(5), num_replicas=2, rank=2)
    with pytest.raises(dist.DistributedError, match="num_replicas"):
        DistributedSampler(range(5), num_replicas=0, rank=0)
    with pytest.raises(dist.DistributedError, match="seed must be an int"):
        DistributedSampler(range(5), seed=None)


# --- without a process group ---------------------------------------------------------------------------------


def test_without_a_process_group(tmp_path):
    assert not dist.is_initialized() and dist.is_main_process()
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(dist.DistributedError, match="init_process_group"):
            fn()
    with pytest.raises(dist.DistributedError, match="not initialized"):
        dist.all_reduce(tc.ones(2))
    with pytest.raises(dist.DistributedError, match="not initialized"):
        tc.nn.parallel.DistributedDataParallel(tc.nn.Linear(2, 2))
    assert dist.average_metrics({"loss": tc.tensor(2.5), "n": 3}) == {"loss": 2.5, "n": 3.0}
    assert dist.save_on_rank0({"w": tc.ones(2)}, tmp_path / "c.npz") is True
    assert tc.load(tmp_path / "c.npz")["w"].tolist() == [1.0, 1.0]
    with pytest.raises(dist.DistributedError, match="unknown backend"):
        dist.init_process_group("gloo")
    with pytest.raises(dist.DistributedError, match="positive number of seconds"):
        dist.init_process_group("mpi", timeout=-1)


# --- world size 1 and failures, in subprocesses -----------------------------------------------------------------


def run_python(code, timeout=60, env=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


@needs_mpi
def test_world_size_1():
    """A plain `python script.py` (no mpirun) is a world of one: collectives are identities, DDP is the model."""
    out = run_python("""
        import numpy as np, tensorcore as tc, tensorcore.distributed as dist
        from tensorcore import nn
        dist.init_process_group("mpi")
        assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
        assert dist.get_timeout() == 12.5                      # from TENSORCORE_DIST_TIMEOUT
        t = tc.tensor([1.0, -2.0]); dist.all_reduce(t, "mean"); assert t.tolist() == [1.0, -2.0]
        dist.broadcast(t, 0); assert [p.tolist() for p in dist.all_gather(t)] == [[1.0, -2.0]]
        assert dist.all_gather_object("x") == ["x"] and dist.broadcast_object(3) == 3
        dist.barrier(); assert dist.all_reduce(t, async_op=True).wait()
        for bad, msg in [(lambda: dist.all_reduce(t, "avg"), "unknown op"),
                         (lambda: dist.broadcast(t, 1), "src must be a rank"),
                         (lambda: dist.all_reduce(tc.tensor([1]), "mean"), "floating"),
                         (lambda: dist.all_reduce(np.ones(2)), "expected a Tensor"),
                         (lambda: dist.init_process_group(), "already initialized")]:
            try:
                bad(); raise SystemExit("no error for " + msg)
            except dist.DistributedError as e:
                assert msg in str(e), (msg, e)
        tc.manual_seed(0); ref = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(tc.float64)
        tc.manual_seed(0); net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(tc.float64)
        model = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=1e-4)
        assert model.bucket_sizes == [3, 1] and list(model.state_dict())[0] == "module.0.weight"
        x = tc.tensor(np.random.default_rng(0).standard_normal((5, 3)))
        for m in (model, ref):
            (m(x) ** 2).mean().backward()
        assert all(np.array_equal(p.grad.numpy(), q.grad.numpy()) for p, q in zip(model.parameters(), ref.parameters()))
        dist.destroy_process_group(); assert not dist.is_initialized()
        dist.init_process_group("mpi", timeout=5); assert dist.get_timeout() == 5.0
        print("ok")
    """, env={"TENSORCORE_DIST_TIMEOUT": "12.5"})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


FAILING_RANK = """
import os, signal, sys, time
import numpy as np, tensorcore as tc, tensorcore.distributed as dist
from tensorcore import nn
dist.init_process_group("mpi", timeout=5)
rank = dist.get_rank()
model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
x = tc.tensor(np.ones((2, 4), dtype=np.float32))
for step in range(5):
    if step == 2 and rank == 1:
        mode = sys.argv[1]
        if mode == "hang":
            time.sleep(600)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "raise":
            raise RuntimeError("rank 1 fails on purpose")
    model(x).sum().backward()
print("rank", rank, "finished", flush=True)
"""


@needs_mpirun
@pytest.mark.parametrize("mode,message", [
    ("hang", "gradient bucket 0 of 1: all_reduce of 49 float32 (196 B) did not complete within 5 s"),
    ("raise", "rank 1 of 2: uncaught RuntimeError"),
    ("kill", "rank 1"),
])
def test_a_failing_rank_stops_the_job_with_a_clear_error(tmp_path, mode, message):
    script = tmp_path / "job.py"
    script.write_text(FAILING_RANK)
    start = time.monotonic()
    out = subprocess.run(mpirun_argv(2) + [sys.executable, str(script), mode], capture_output=True, text=True,
                         timeout=60, start_new_session=True)
    elapsed = time.monotonic() - start
    text = out.stdout + out.stderr
    assert out.returncode != 0, text[-3000:]
    assert message in text, text[-3000:]
    assert "finished" not in text
    assert elapsed < 40, elapsed


FAKE_CUPY = '''
import sys, types
import numpy as np

class DeviceArray(np.ndarray):
    """NumPy memory dressed as a CuPy array: .data.ptr and __cuda_array_interface__."""
    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)
    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ctypes.data, False), "version": 3}
    def get(self):
        return np.array(self)

calls = []
nccl = types.ModuleType("cupy.cuda.nccl")
for i, name in enumerate(["NCCL_INT8", "NCCL_UINT8", "NCCL_INT32", "NCCL_INT64", "NCCL_FLOAT16", "NCCL_FLOAT32",
                          "NCCL_FLOAT64", "NCCL_SUM", "NCCL_PROD", "NCCL_MAX", "NCCL_MIN"]):
    setattr(nccl, name, i)
nccl.get_unique_id = lambda: tuple(range(128))
class NcclCommunicator:
    def __init__(self, ndev, uid, rank):
        assert (ndev, rank, len(uid)) == (1, 0, 128)
    def allReduce(self, send, recv, count, dtype, op, stream):
        calls.append(("allReduce", count, dtype, op))
    def bcast(self, buf, count, dtype, root, stream):
        calls.append(("bcast", count, dtype, root))
    def allGather(self, send, recv, count, dtype, stream):
        calls.append(("allGather", count, dtype))
        import ctypes; ctypes.memmove(recv, send, count * 4)
    def abort(self): pass
    def destroy(self): calls.append(("destroy",))
nccl.NcclCommunicator = NcclCommunicator
class Event:
    def __init__(self, block=False, disable_timing=False): self.done = False
    def record(self): self.done = True
cuda = types.ModuleType("cupy.cuda")
cuda.nccl, cuda.Event = nccl, Event
cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
cuda.Device = lambda i: types.SimpleNamespace(use=lambda: None)
cuda.get_current_stream = lambda: types.SimpleNamespace(ptr=0)
cupy = types.ModuleType("cupy")
cupy.cuda = cuda
cupy.ascontiguousarray = lambda a: np.ascontiguousarray(a).view(DeviceArray)
sys.modules.update({"cupy": cupy, "cupy.cuda": cuda, "cupy.cuda.nccl": nccl})
'''


@needs_mpi
def test_nccl_backend_calls_nccl_for_device_arrays_and_mpi_for_host_arrays():
    """The NCCL path against a stand-in CuPy (no GPU here; nccl_selftest() runs it for real on a GPU)."""
    out = run_python(FAKE_CUPY + """
import tensorcore.distributed as dist
dist.init_process_group("nccl")
assert dist.get_backend() == "nccl"
group = dist.process_group._group
a = np.arange(6, dtype=np.float32).view(DeviceArray)
group.all_reduce(a, "mean").wait()                   # NCCL sum, then / world size on the device
group.all_reduce(a[::2], "max").wait()               # non-contiguous: through a contiguous copy
group.broadcast(np.zeros(3).view(DeviceArray), 0).wait()
out = np.zeros((1, 4), dtype=np.float32).view(DeviceArray)
group.all_gather(np.full(4, 2.0, dtype=np.float32).view(DeviceArray), out).wait()
assert out.tolist() == [[2.0] * 4]
host = np.ones(3)
group.all_reduce(host, "sum").wait()                  # a host array goes through MPI
assert calls == [("allReduce", 6, 5, 7), ("allReduce", 3, 5, 9), ("bcast", 3, 6, 0), ("allGather", 4, 5)], calls
try:
    group.all_reduce(np.ones(2, dtype=np.complex64).view(DeviceArray), "sum")
    raise SystemExit("complex accepted")
except dist.DistributedError as e:
    assert "not supported by NCCL" in str(e)
dist.destroy_process_group()
assert calls[-1] == ("destroy",)
print("ok")
""")
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
