"""The kernel suite: single ops across backends, each checked against the NumPy reference, then timed.

Ops and shapes (float32, random normal data, never zeros):
  matmul        square 64..4096, the MLP's layers (batch 32) and AlexNet's dense layers (batch 8)
  conv2d        forward, input gradient and weight gradient of the LeNet-5 (batch 64), AlexNet and
                ZFNet (batch 8) convolution layers
  max_pool2d    LeNet-5's 2/2 pooling and the overlapping 3/2 pooling of AlexNet and ZFNet
  relu          forward and backward on 2^16..2^24 elements
  softmax_cross_entropy   fused loss and gradient, (64, 10) .. (4096, 1000)
  attention     scaled dot-product attention forward and backward (the char GPT's block; BERT-base's)
  layer_norm    forward and backward over (1024, 128) .. (8192, 1024) rows (kernels_seq.py)
Backends: tensorcore-cpu (tensorcore's CPU backend: NumPy + BLAS), torch-cpu; on a GPU
tensorcore-cuda (our Numba kernels, tensorcore.kernels), cupy (cuBLAS and CuPy elementwise),
torch-cuda. A backend that is missing here is reported as unavailable with the reason; an op a
backend lacks likewise; a wrong result is reported as failed and not timed.

Example:
    payload = run_suite(devices=("cpu",), ops=("matmul",), quick=True)
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import ceilings as ceilings_mod
from .. import gate, references
from ..record import make_record
from ..timing import cuda_event_timer, measure
from . import kernels_seq

OPS = ("matmul", "conv2d", "max_pool2d", "relu", "softmax_cross_entropy", "attention", "layer_norm")
OP_ALIASES = {"sdpa": "attention", "scaled_dot_product_attention": "attention", "layernorm": "layer_norm",
              "conv": "conv2d", "pool": "max_pool2d", "maxpool": "max_pool2d", "activations": "relu",
              "softmax": "softmax_cross_entropy", "cross_entropy": "softmax_cross_entropy", "gemm": "matmul"}


class Unsupported(Exception):
    """This backend has no implementation of this op (reported as unavailable, not failed)."""


@dataclass
class Case:
    """One benchmark: an op on given shapes, its inputs, FLOPs and the fewest bytes it must move."""

    op: str  # record name: matmul, conv2d_forward, conv2d_backward_input, ...
    family: str  # --ops name: matmul, conv2d, max_pool2d, relu, softmax_cross_entropy
    label: str  # where the shape comes from: "square", "mlp.fc1", "alexnet.conv2", ...
    shape: tuple
    make_inputs: object  # rng -> tuple of NumPy arrays
    reference: object  # inputs -> float64 output(s)
    flops: float
    nbytes: float
    memory_bound: bool
    params: dict = field(default_factory=dict)


# --- the cases ------------------------------------------------------------------------------------

SQUARE_QUICK = (64, 128, 256, 512, 1024)
SQUARE_FULL = (64, 128, 256, 512, 1024, 2048, 4096)
# (label, M, K, N): x (M, K) @ W^T (K, N)
MATMUL_SHAPES = (("mlp.fc1", 32, 784, 64), ("mlp.fc2", 32, 64, 64), ("mlp.fc3", 32, 64, 10),
                 ("alexnet.fc6", 8, 9216, 4096), ("alexnet.fc7", 8, 4096, 4096), ("alexnet.fc8", 8, 4096, 1000))
# (label, batch, in_channels, height/width, out_channels, kernel, stride, padding, groups)
CONV_LAYERS = (
    ("lenet5.conv1", 64, 1, 28, 6, 5, 1, 2, 1),
    ("lenet5.conv2", 64, 6, 14, 16, 5, 1, 0, 1),
    ("alexnet.conv1", 8, 3, 227, 96, 11, 4, 0, 1),
    ("alexnet.conv2", 8, 96, 27, 256, 5, 1, 2, 2),
    ("alexnet.conv3", 8, 256, 13, 384, 3, 1, 1, 1),
    ("alexnet.conv4", 8, 384, 13, 384, 3, 1, 1, 2),
    ("alexnet.conv5", 8, 384, 13, 256, 3, 1, 1, 2),
    ("zfnet.conv1", 8, 3, 224, 96, 7, 2, 1, 1),
    ("zfnet.conv2", 8, 96, 55, 256, 5, 2, 0, 1),
    ("zfnet.conv3", 8, 256, 13, 384, 3, 1, 1, 1),
    ("zfnet.conv4", 8, 384, 13, 384, 3, 1, 1, 1),
    ("zfnet.conv5", 8, 384, 13, 256, 3, 1, 1, 1),
)
# (label, batch, channels, height/width, kernel, stride, padding)
POOL_LAYERS = (("lenet5.pool1", 64, 6, 28, 2, 2, 0), ("alexnet.pool1", 8, 96, 55, 3, 2, 0),
               ("zfnet.pool1", 8, 96, 110, 3, 2, 1))
RELU_SIZES_QUICK = (1 << 16, 1 << 20)
RELU_SIZES_FULL = (1 << 16, 1 << 20, 1 << 24)
CE_SHAPES_QUICK = ((64, 10), (256, 1000))
CE_SHAPES_FULL = ((64, 10), (256, 1000), (4096, 1000))

F32 = 4
#: matmuls with more multiply-adds than this are checked through random projections (see matmul_case)
PROJECT_ABOVE = 1 << 30


# What the numbers of a record's `shape` are, per op family.
SHAPE_NAMES = {
    "matmul": "M,K,N (M x K @ K x N)",
    "conv2d": "N,C,H,W,out_channels,kernel,stride,padding,groups",
    "max_pool2d": "N,C,H,W,kernel,stride,padding",
    "relu": "elements",
    "softmax_cross_entropy": "rows,classes",
    **kernels_seq.SHAPE_NAMES,
}


def _randn(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def matmul_case(label, m, k, n):
    params = {}
    reference = references.matmul
    if m * k * n > PROJECT_ABOVE:
        # NOTE: a float64 4096^3 reference costs seconds; checking C v against A (B v) for 8 random
        # vectors v checks every entry of C (a wrong entry changes C v almost surely) in O(n^2).
        v = np.random.default_rng(12345).standard_normal((n, 8))
        params["project"] = lambda c: np.asarray(c, np.float64) @ v

        def reference(a, b):
            return np.asarray(a, np.float64) @ (np.asarray(b, np.float64) @ v)

    return Case("matmul", "matmul", label, (m, k, n),
                make_inputs=lambda rng: (_randn(rng, m, k), _randn(rng, k, n)),
                reference=reference, flops=2.0 * m * k * n, nbytes=F32 * (m * k + k * n + m * n),
                memory_bound=False, params=params)


def conv_cases(label, batch, cin, size, cout, kernel, stride, padding, groups):
    p = {"stride": (stride, stride), "padding": (padding, padding), "dilation": (1, 1), "groups": groups}
    x_shape = (batch, cin, size, size)
    w_shape = (cout, cin // groups, kernel, kernel)
    ho = references.conv_output_size(size, kernel, stride, padding, 1)
    y_shape = (batch, cout, ho, ho)
    flops = 2.0 * batch * cout * ho * ho * (cin // groups) * kernel * kernel
    nbytes = F32 * (np.prod(x_shape) + np.prod(w_shape) + np.prod(y_shape))
    shape = (*x_shape, cout, kernel, stride, padding, groups)  # N, C, H, W, O, k, s, p, g
    common = dict(family="conv2d", label=label, shape=shape, flops=flops, nbytes=float(nbytes),
                  memory_bound=False, params=p)
    return [
        Case("conv2d_forward", make_inputs=lambda rng: (_randn(rng, *x_shape), _randn(rng, *w_shape)),
             reference=lambda x, w: references.conv2d_forward(x, w, **p), **common),
        Case("conv2d_backward_input", make_inputs=lambda rng: (_randn(rng, *y_shape), _randn(rng, *w_shape)),
             reference=lambda gy, w: references.conv2d_backward_input(gy, w, x_shape, **p),
             **{**common, "params": {**p, "x_shape": x_shape}}),
        Case("conv2d_backward_weight", make_inputs=lambda rng: (_randn(rng, *x_shape), _randn(rng, *y_shape)),
             reference=lambda x, gy: references.conv2d_backward_weight(x, gy, w_shape, **p),
             **{**common, "params": {**p, "w_shape": w_shape}}),
    ]


def pool_case(label, batch, channels, size, kernel, stride, padding):
    p = {"kernel": (kernel, kernel), "stride": (stride, stride), "padding": (padding, padding)}
    x_shape = (batch, channels, size, size)
    ho = references.conv_output_size(size, kernel, stride, padding, 1)
    nbytes = F32 * (np.prod(x_shape) + batch * channels * ho * ho)
    return Case("max_pool2d", "max_pool2d", label, (*x_shape, kernel, stride, padding),
                make_inputs=lambda rng: (_randn(rng, *x_shape),),
                reference=lambda x: references.max_pool2d(x, **p),
                flops=float(batch * channels * ho * ho * kernel * kernel), nbytes=float(nbytes),
                memory_bound=True, params=p)


def relu_cases(n):
    return [
        Case("relu", "relu", "elementwise", (n,), make_inputs=lambda rng: (_randn(rng, n),),
             reference=references.relu, flops=float(n), nbytes=2.0 * F32 * n, memory_bound=True),
        Case("relu_backward", "relu", "elementwise", (n,), make_inputs=lambda rng: (_randn(rng, n), _randn(rng, n)),
             reference=references.relu_backward, flops=float(n), nbytes=3.0 * F32 * n, memory_bound=True),
    ]


def ce_case(rows, classes):
    def make(rng):
        return _randn(rng, rows, classes), rng.integers(0, classes, size=rows, dtype=np.int64)

    return Case("softmax_cross_entropy", "softmax_cross_entropy", "loss", (rows, classes), make_inputs=make,
                reference=references.softmax_cross_entropy, flops=5.0 * rows * classes,
                nbytes=F32 * (2 * rows * classes + rows) + 8.0 * rows, memory_bound=True)


def build_cases(ops=OPS, quick=False):
    cases = []
    if "matmul" in ops:
        cases += [matmul_case("square", n, n, n) for n in (SQUARE_QUICK if quick else SQUARE_FULL)]
        cases += [matmul_case(*s) for s in MATMUL_SHAPES]
    if "conv2d" in ops:
        layers = [layer for layer in CONV_LAYERS if layer[0].startswith("lenet5")] if quick else CONV_LAYERS
        for layer in layers:
            cases += conv_cases(*layer)
    if "max_pool2d" in ops:
        cases += [pool_case(*layer) for layer in (POOL_LAYERS[:2] if quick else POOL_LAYERS)]
    if "relu" in ops:
        for n in RELU_SIZES_QUICK if quick else RELU_SIZES_FULL:
            cases += relu_cases(n)
    if "softmax_cross_entropy" in ops:
        cases += [ce_case(*s) for s in (CE_SHAPES_QUICK if quick else CE_SHAPES_FULL)]
    return cases + kernels_seq.build_cases(Case, ops, quick)


# --- backends -------------------------------------------------------------------------------------


class Backend:
    """A library that runs the ops. `availability()` is None when usable here, else the reason;
    `bind(case, inputs)` returns a zero-argument callable computing the op on device copies of
    `inputs` (raising Unsupported when this backend lacks the op)."""

    name = "?"
    device = "cpu"
    events = None  # CUDA event API for cuda_event_timer

    def availability(self):
        return None

    def to_device(self, a):
        return a

    def bind(self, case, inputs):
        method = getattr(self, "op_" + case.op, None)
        if method is None:
            raise Unsupported(f"{self.name} has no {case.op}")
        return method(case, *[self.to_device(a) for a in inputs])


def _import_reason(module):
    try:
        importlib.import_module(module)
    except ImportError as e:
        return f"{module} not installed ({e.__class__.__name__}: {e})"
    return None


class NumpyBackend(kernels_seq.CpuSeq, Backend):
    """tensorcore's CPU backend (`tensorcore.backends.cpu`: NumPy + BLAS)."""

    name = "tensorcore-cpu"

    def __init__(self):
        from ...backends import cpu

        self.cpu = cpu

    def _primitive(self, name):
        fn = getattr(self.cpu, name, None)
        if fn is None:  # the convolution family lives in cpu_conv.py while cpu.py is being wired up
            try:
                fn = getattr(importlib.import_module("tensorcore.backends.cpu_conv"), name, None)
            except ImportError:
                fn = None
        if fn is None:
            raise Unsupported(f"tensorcore.backends.cpu has no {name} yet")
        return fn

    def op_matmul(self, case, a, b):
        fn = self._primitive("matmul")
        return lambda: fn(a, b)

    def op_conv2d_forward(self, case, x, w):
        fn, p = self._primitive("conv2d_forward"), case.params
        return lambda: fn(x, w, p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_conv2d_backward_input(self, case, gy, w):
        fn, p = self._primitive("conv2d_backward_input"), case.params
        return lambda: fn(gy, w, p["x_shape"], p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_conv2d_backward_weight(self, case, x, gy):
        fn, p = self._primitive("conv2d_backward_weight"), case.params
        return lambda: fn(gy, x, p["w_shape"], p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_max_pool2d(self, case, x):
        fn, p = self._primitive("max_pool2d_forward"), case.params
        return lambda: _first(fn(x, p["kernel"], p["stride"], p["padding"]))

    def op_relu(self, case, x):
        fn = self._primitive("relu")
        return lambda: fn(x)

    def op_relu_backward(self, case, x, g):
        fn = self._primitive("relu_backward")
        return lambda: fn(x, g)

    def op_softmax_cross_entropy(self, case, logits, targets):
        fn = self._primitive("softmax_cross_entropy")
        return lambda: fn(logits, targets)


def _first(out):
    """Pooling primitives may return (values, argmax indices): the gate checks the values."""
    return out[0] if isinstance(out, tuple) else out


class TorchBackend(kernels_seq.TorchSeq, Backend):
    """PyTorch eager as a peer (CPU or CUDA)."""

    events = "torch"

    def __init__(self, device="cpu"):
        self.device = device
        self.name = f"torch-{device}"

    def availability(self):
        reason = _import_reason("torch")
        if reason:
            return reason
        import torch

        if self.device == "cuda":
            if not torch.cuda.is_available():
                return "torch.cuda.is_available() is False (no CUDA GPU or a CPU-only torch build)"
            # NOTE: PyTorch lets cuDNN convolutions use TF32 by default (about 1e-3 relative error):
            # the FP32 comparison, and the gate, need it off.
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        return None

    def to_device(self, a):
        import torch

        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def op_matmul(self, case, a, b):
        import torch

        return lambda: torch.matmul(a, b)

    def op_conv2d_forward(self, case, x, w):
        import torch.nn.functional as F

        p = case.params
        return lambda: F.conv2d(x, w, None, p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_conv2d_backward_input(self, case, gy, w):
        from torch.nn.grad import conv2d_input

        p = case.params
        return lambda: conv2d_input(p["x_shape"], w, gy, p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_conv2d_backward_weight(self, case, x, gy):
        from torch.nn.grad import conv2d_weight

        p = case.params
        return lambda: conv2d_weight(x, p["w_shape"], gy, p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_max_pool2d(self, case, x):
        import torch.nn.functional as F

        p = case.params
        return lambda: F.max_pool2d(x, p["kernel"], p["stride"], p["padding"])

    def op_relu(self, case, x):
        import torch

        return lambda: torch.relu(x)

    def op_relu_backward(self, case, x, g):
        import torch

        return lambda: torch.ops.aten.threshold_backward(g, x, 0)

    def op_softmax_cross_entropy(self, case, logits, targets):
        import torch

        rows = torch.arange(logits.shape[0], device=logits.device)

        def run():
            logp = torch.log_softmax(logits, 1)
            loss = -logp[rows, targets]
            grad = logp.exp_()
            grad[rows, targets] -= 1
            return loss, grad

        return run


def _cuda_reason():
    """None when a real CUDA GPU is usable through CuPy; else why not."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1: the CUDA simulator is not a GPU to time"
    reason = _import_reason("cupy")
    if reason:
        return reason
    import cupy

    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001  (CUDARuntimeError when there is no driver)
        return f"no CUDA GPU ({e.__class__.__name__}: {e})"
    return None if count > 0 else "no CUDA GPU (0 devices)"


class CupyBackend(kernels_seq.CupySeq, Backend):
    """CuPy: cuBLAS for matmul, CuPy elementwise/reduction kernels for the rest."""

    name = "cupy"
    device = "cuda"
    events = "cupy"

    def availability(self):
        return _cuda_reason()

    def to_device(self, a):
        import cupy

        return cupy.asarray(a)

    def op_matmul(self, case, a, b):
        import cupy

        return lambda: cupy.matmul(a, b)

    def op_relu(self, case, x):
        import cupy

        return lambda: cupy.maximum(x, 0)

    def op_relu_backward(self, case, x, g):
        import cupy

        return lambda: cupy.where(x > 0, g, 0).astype(g.dtype, copy=False)

    def op_softmax_cross_entropy(self, case, logits, targets):
        import cupy

        rows = cupy.arange(logits.shape[0])

        def run():
            z = logits - logits.max(axis=1, keepdims=True)
            logp = z - cupy.log(cupy.exp(z).sum(axis=1, keepdims=True))
            loss = -logp[rows, targets]
            grad = cupy.exp(logp)
            grad[rows, targets] -= 1
            return loss, grad

        return run


class NumbaBackend(kernels_seq.CudaSeq, Backend):
    """Our Numba CUDA kernels (`tensorcore.kernels`), on CuPy arrays and CuPy's stream.

    `simulated=True` runs them on NumPy arrays in Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1
    set before numba is imported): no timing worth quoting, but it checks the suite's wiring to
    every kernel (arguments, outputs, the gate) on a machine without a GPU.
    """

    name = "tensorcore-cuda"
    device = "cuda"
    events = "cupy"

    def __init__(self, simulated=False):
        self.simulated = simulated
        if simulated:
            self.name, self.device, self.events = "tensorcore-cuda-sim", "cuda-sim", None

    def availability(self):
        if self.simulated:
            if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
                return "the simulated backend needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported"
            return _import_reason("numba")
        reason = _import_reason("numba") or _cuda_reason()
        if reason:
            return reason
        from numba import cuda

        if not cuda.is_available():
            return "numba.cuda.is_available() is False"
        return None

    def to_device(self, a):
        if self.simulated:
            return np.ascontiguousarray(a)
        import cupy

        return cupy.asarray(a)

    def _module(self, name):
        try:
            return importlib.import_module(f"tensorcore.kernels.{name}")
        except ImportError as e:
            raise Unsupported(f"tensorcore.kernels.{name} not available ({e})") from e

    def op_matmul(self, case, a, b):
        gemm = self._module("gemm")
        return lambda: gemm.matmul(a, b)

    def op_conv2d_forward(self, case, x, w):
        conv, p = self._module("conv"), case.params
        return lambda: conv.conv2d_forward(x, w, None, p["stride"], p["padding"], p["dilation"], p["groups"])

    def op_conv2d_backward_input(self, case, gy, w):
        conv, p = self._module("conv"), case.params
        return lambda: conv.conv2d_backward_input(gy, w, p["x_shape"], p["stride"], p["padding"], p["dilation"],
                                                  p["groups"])

    def op_conv2d_backward_weight(self, case, x, gy):
        conv, p = self._module("conv"), case.params
        return lambda: conv.conv2d_backward_weight(x, gy, p["w_shape"], p["stride"], p["padding"], p["dilation"],
                                                   p["groups"])

    def op_max_pool2d(self, case, x):
        pool, p = self._module("pool"), case.params
        fn = getattr(pool, "max_pool2d_forward", None) or getattr(pool, "max_pool2d", None)
        if fn is None:
            raise Unsupported("tensorcore.kernels.pool has no max_pool2d_forward")
        return lambda: _first(fn(x, p["kernel"], p["stride"], p["padding"]))

    def op_relu(self, case, x):
        act = self._module("activations")
        return lambda: act.relu(x)

    def op_relu_backward(self, case, x, g):
        act = self._module("activations")
        return lambda: act.relu_backward(x, g)

    def op_softmax_cross_entropy(self, case, logits, targets):
        sm = self._module("softmax")
        return lambda: sm.softmax_cross_entropy(logits, targets)


def all_backends():
    return [NumpyBackend(), TorchBackend("cpu"), NumbaBackend(), CupyBackend(), TorchBackend("cuda")]


# --- running --------------------------------------------------------------------------------------


@dataclass
class Settings:
    """How hard to time: `quick` keeps every op well under a second."""

    warmup: int = 2
    min_runs: int = 5
    max_runs: int = 30
    min_time: float = 0.3
    rotate_below_bytes: int = 8 << 20  # inputs smaller than this are rotated among `buffers` copies
    buffers: int = 4
    pause_s: float = 0.05  # idle BLAS/OpenMP threads of the previous backend stop spinning meanwhile

    @classmethod
    def quick(cls):
        return cls(warmup=1, min_runs=3, max_runs=10, min_time=0.03, pause_s=0.01)


class CaseData:
    """A case's input sets (shared by every backend, so all compute on the same data) and its
    reference, computed once on first use."""

    def __init__(self, case, settings, rng):
        self.case = case
        n_sets = settings.buffers if case.nbytes < settings.rotate_below_bytes else 1
        self.input_sets = [case.make_inputs(rng) for _ in range(n_sets)]
        self._reference = None

    @property
    def reference(self):
        if self._reference is None:
            self._reference = self.case.reference(*self.input_sets[0])
        return self._reference

    def check(self, out, gate_fn):
        project = self.case.params.get("project")
        if project is not None:
            out = project(gate.to_host(out))
        return gate_fn(out, self.reference, gate.RTOL["float32"])


def time_case(backend, case, ceilings, settings, rng=None, gate_fn=gate.check, data=None):
    """One record: bind, check against the reference once, then time (or fail / unavailable)."""
    rec = dict(op=case.op, shape=case.shape, dtype="float32", device=backend.device, backend=backend.name,
               flops=case.flops, nbytes=case.nbytes, memory_bound=case.memory_bound, label=case.label,
               shape_names=SHAPE_NAMES[case.family])
    data = data or CaseData(case, settings, rng)
    input_sets = data.input_sets
    try:
        fns = [backend.bind(case, inputs) for inputs in input_sets]
    except Unsupported as e:
        return make_record(status=f"unavailable: {e}", **rec)
    try:
        out = fns[0]()
        if backend.device == "cuda":
            _synchronize(backend)
        ok, why = data.check(out, gate_fn)
    except Unsupported as e:
        return make_record(status=f"unavailable: {e}", **rec)
    except Exception as e:  # noqa: BLE001  (a crashing kernel fails its benchmark, not the suite)
        ok, why = False, f"raised {e.__class__.__name__}: {e}"
    if not ok:
        return make_record(status=f"failed: {why}", **rec)
    if len(fns) == 1:
        run = fns[0]
    else:
        state = {"i": 0}

        def run():
            state["i"] = (state["i"] + 1) % len(fns)
            return fns[state["i"]]()

    if settings.pause_s:
        time.sleep(settings.pause_s)
    if backend.device == "cuda":
        timing = cuda_event_timer(run, warmup=settings.warmup, min_runs=settings.min_runs,
                                  max_runs=max(settings.max_runs, 20), min_time=settings.min_time,
                                  events=backend.events)
    else:
        timing = measure(run, warmup=settings.warmup, min_runs=settings.min_runs, max_runs=settings.max_runs,
                         min_time=settings.min_time)
    return make_record(timing=timing, ceilings=ceilings.get(backend.device), **rec)


def _synchronize(backend):
    if backend.events == "torch":
        import torch

        torch.cuda.synchronize()
    else:
        import cupy

        cupy.cuda.get_current_stream().synchronize()


def measure_ceilings(devices, quick, available):
    """{"cpu": {...}, "cuda": {...}} for the devices in use; a failure is recorded, not raised."""
    out = {}
    if "cpu" in devices:
        out["cpu"] = (ceilings_mod.cpu_ceilings(gemm_n=1024, copy_mib=64, min_time=0.1) if quick
                      else ceilings_mod.cpu_ceilings(gemm_n=2048, copy_mib=256, min_time=0.5))
    if "cuda" in devices and any(b.device == "cuda" and why is None for b, why in available):
        try:
            out["cuda"] = ceilings_mod.gpu_ceilings(gemm_n=4096 if quick else 8192, copy_mib=256 if quick else 1024)
        except Exception as e:  # noqa: BLE001
            out["cuda"] = {"device": "cuda", "error": f"{e.__class__.__name__}: {e}"}
    return out


def normalize_ops(ops):
    if not ops:
        return OPS
    names = []
    for op in ops:
        op = OP_ALIASES.get(op, op)
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; choose from {', '.join(OPS)}")
        names.append(op)
    return tuple(names)


def run_suite(devices=("cpu", "cuda"), ops=OPS, quick=False, settings=None, backends=None, seed=0,
              progress=None):
    """Run the kernel suite; returns {"ceilings", "backends", "records"} (records follow record.py)."""
    settings = settings or (Settings.quick() if quick else Settings())
    backends = [b for b in (backends if backends is not None else all_backends()) if b.device in devices]
    available = [(b, b.availability()) for b in backends]
    ceilings = measure_ceilings(devices, quick, available)
    cases = build_cases(normalize_ops(ops), quick)
    rng = np.random.default_rng(seed)
    records = []
    for case in cases:
        data = CaseData(case, settings, rng)
        for backend, why in available:
            if why is not None:
                continue  # summarized once in "backends", not once per case
            rec = time_case(backend, case, ceilings, settings, data=data)
            records.append(rec)
            if progress:
                progress(rec)
    roof = ceilings_mod.roofline(ceilings, records)
    ceilings_mod.apply_roofline(records, roof)
    return {
        "ceilings": ceilings,
        "roofline": roof,
        "backends": {b.name: ("ok" if why is None else f"unavailable: {why}") for b, why in available},
        "backend_devices": {b.name: b.device for b, _ in available},
        "records": records,
    }
