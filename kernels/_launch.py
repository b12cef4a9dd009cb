"""What every kernel family shares: array kinds, checks, allocation, streams, grids, the dtype table,
kernel naming and the kernel cache, and the inline device helpers that decode flat indices.

Three kinds of arrays reach the wrappers:

* ``"cupy"``: a ``cupy.ndarray`` (zero-copy through ``__cuda_array_interface__``); outputs are
  ``cupy.empty`` and kernels launch on CuPy's current stream unless a stream is given.
* ``"numba"``: a Numba device array, or any other object exposing ``__cuda_array_interface__``;
  outputs are ``numba.cuda.device_array``.
* ``"numpy"``: a plain ``numpy.ndarray``, accepted only when Numba runs in its CUDA simulator
  (``NUMBA_ENABLE_CUDASIM=1``), which is how tensorcore's simulated cuda device runs.

Nothing here imports CuPy at module level: it is imported lazily when a CuPy array shows up.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import config as _numba_config
from numba import cuda

#: True when Numba's CUDA simulator is active (it must be switched on before numba is imported).
SIMULATOR = bool(_numba_config.ENABLE_CUDASIM)

#: Threads per block of the one-dimensional (elementwise, grid-stride) kernels.
THREADS_1D = 256
#: Grid-stride kernels launch at most this many blocks per SM (enough to fill an H100/H200).
BLOCKS_PER_SM = 16
#: In the simulator every block runs one after another on Python threads: keep grids small.
SIM_MAX_BLOCKS = 4

if SIMULATOR:
    from . import _sim

    _sim.install()

#: The floating dtypes every kernel family compiles for, and their Numba types.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_NUMBA_TYPES = {np.dtype(np.float32): numba.float32, np.dtype(np.float64): numba.float64}


def numba_type(dtype):
    """The Numba scalar type of ``dtype`` (float32 or float64): ``numba_type("float32") is numba.float32``."""
    return _NUMBA_TYPES[np.dtype(dtype)]


def named(fn, stem: str, dtype):
    """Name kernel ``fn`` ``<stem>_<dtype>`` (what PTX, ptxas and RESOURCES.md call it) and return it."""
    fn.__name__ = fn.__qualname__ = f"{stem}_{np.dtype(dtype).name}"
    return fn


# Index decoding, shared by the kernels that map a flat grid-stride index onto an array's axes.
# `inline=True` makes NVVM inline them, so callers compile to PTX without a GPU (compile_ptx) and
# the machine code is the same as if they were written out in each kernel.
U32, I64 = numba.uint32, numba.int64


@cuda.jit(device=True, inline=True)
def div32(i, n):
    """``i // n`` for ``0 <= i, n < 2^32`` (int64 result)."""
    return I64(U32(i) // U32(n))


@cuda.jit(device=True, inline=True)
def divmod32(i, n):
    """``(i // n, i % n)`` for ``0 <= i, n < 2^32`` (int64 results)."""
    # NOTE: 32-bit unsigned division: a 64-bit one is about 3x the instructions, and index decoding
    # is most of what im2col and pooling do. Wrappers keep sizes < 2^32 (check_index32).
    q = I64(U32(i) // U32(n))
    return q, i - q * n


@cuda.jit(device=True, inline=True)
def unravel4(i, B, C, D):
    """``(a, b, c, d)`` with ``i = ((a B + b) C + c) D + d``: flat index to 4-D (sizes < 2^32)."""
    t, d = divmod32(i, D)
    t, c = divmod32(t, C)
    a, b = divmod32(t, B)
    return a, b, c, d


def cdiv(a: int, b: int) -> int:
    """Ceiling division: the number of size-``b`` tiles that cover ``a`` items."""
    return -(-int(a) // int(b))


def array_kind(x, fn: str = "kernel") -> str:
    """``"cupy"``, ``"numba"`` or ``"numpy"`` for an argument, or TypeError naming ``fn``."""
    module = type(x).__module__
    if module.startswith("cupy"):
        return "cupy"
    if isinstance(x, np.ndarray):
        if SIMULATOR:
            return "numpy"
        raise TypeError(
            f"{fn}: got a numpy.ndarray; pass a device array (CuPy or Numba) exposing "
            "__cuda_array_interface__, or run in Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
        )
    if SIMULATOR and hasattr(x, "copy_to_host"):
        return "numba"
    if hasattr(x, "__cuda_array_interface__"):
        return "numba"
    raise TypeError(f"{fn}: expected a device array exposing __cuda_array_interface__, got {type(x).__name__}")


def is_c_contiguous(x) -> bool:
    flags = getattr(x, "flags", None)
    if flags is not None:
        try:
            return bool(flags["C_CONTIGUOUS"])
        except (KeyError, TypeError):
            pass
    cai = getattr(x, "__cuda_array_interface__", None)
    if cai is not None:
        if cai.get("strides") is None:
            return True
        itemsize = np.dtype(cai["typestr"]).itemsize
        expected = []
        stride = itemsize
        for n in reversed(cai["shape"]):
            expected.append(stride)
            stride *= n
        return tuple(reversed(expected)) == tuple(cai["strides"]) or math.prod(cai["shape"]) <= 1
    return False


_dtype_sets: dict = {}  # a check's dtype argument -> the tuple of np.dtype it allows


def check(fn: str, name: str, x, *, ndim=None, dtype=None, shape=None, contiguous=True):
    """Check one argument of wrapper ``fn``; raise ValueError/TypeError naming the function."""
    if ndim is not None:
        ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in ndims:
            want = " or ".join(str(d) for d in ndims)
            raise ValueError(f"{fn}: {name} must be {want}-D, got shape {tuple(x.shape)}")
    if dtype is not None:
        dtypes = _dtype_sets.get(dtype) if isinstance(dtype, (tuple, type, np.dtype, str)) else None
        if dtypes is None:
            dtypes = (np.dtype(dtype),) if not isinstance(dtype, (tuple, list)) else tuple(map(np.dtype, dtype))
            if isinstance(dtype, (tuple, type, np.dtype, str)):
                _dtype_sets[dtype] = dtypes
        if x.dtype not in dtypes:
            want = " or ".join(str(d) for d in dtypes)
            raise TypeError(f"{fn}: {name} must have dtype {want}, got {np.dtype(x.dtype)}")
    if shape is not None and tuple(x.shape) != tuple(shape):
        raise ValueError(f"{fn}: {name} must have shape {tuple(shape)}, got {tuple(x.shape)}")
    if contiguous and not is_c_contiguous(x):
        raise ValueError(f"{fn}: {name} (shape {tuple(x.shape)}) must be C-contiguous; make a contiguous copy first")


def check_float(fn: str, name: str, x, **kw):
    """Check that ``x`` is float32 or float64 (and the other constraints of :func:`check`)."""
    check(fn, name, x, dtype=(np.float32, np.float64), **kw)


def check_same_kind(fn: str, *arrays) -> str:
    first = None
    for a in arrays:  # the common case, arrays of one type, without building a set
        if a is not None:
            if first is None:
                first = type(a)
            elif type(a) is not first:
                break
    else:
        if first is not None:
            kind = _kinds_of_type.get(first)
            if kind is None:
                kind = array_kind(next(a for a in arrays if a is not None), fn)
                if kind == "cupy":  # only a type that is always one kind is remembered
                    _kinds_of_type[first] = kind
            return kind
    kinds = {array_kind(a, fn) for a in arrays if a is not None}
    if len(kinds) != 1:
        raise TypeError(f"{fn}: all arrays must be of one kind (CuPy, Numba or NumPy), got {sorted(kinds)}")
    return kinds.pop()


_kinds_of_type: dict = {}


def empty(kind: str, shape, dtype):
    """An uninitialised array of ``kind`` (see the module docstring)."""
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    if kind == "cupy":
        import cupy

        return cupy.empty(shape, dtype=dtype)
    if kind == "numpy":
        return np.empty(shape, dtype=dtype)
    return cuda.device_array(shape, dtype=dtype)


def zeros(kind: str, shape, dtype):
    """A zero-filled array of ``kind``."""
    if kind == "cupy":
        import cupy

        return cupy.zeros(tuple(shape), dtype=dtype)
    if kind == "numpy":
        return np.zeros(tuple(shape), dtype=dtype)
    out = cuda.device_array(tuple(shape), dtype=dtype)
    if out.size:
        fill_zero(out)
    return out


def output(fn: str, kind: str, out, shape, dtype, name: str = "out"):
    """Return ``out`` after checking it, or a fresh array when ``out`` is None."""
    if out is None:
        return empty(kind, shape, dtype)
    if array_kind(out, fn) != kind:
        raise TypeError(f"{fn}: {name} must be the same kind of array as the inputs ({kind})")
    check(fn, name, out, dtype=dtype, shape=shape)
    return out


def reshape(x, shape):
    """A view of contiguous ``x`` with a new shape (CuPy, Numba and NumPy arrays alike)."""
    if len(shape) == 1 and type(shape[0]) is int:  # the flat view of the hot paths, no conversion needed
        return x if x.ndim == 1 else x.reshape(shape)
    return x.reshape(tuple(int(s) for s in shape))


def flat(x):
    """A 1-D view of contiguous ``x`` (the generated GEMM kernels index flat arrays)."""
    return x if x.ndim == 1 else x.reshape((x.size,))


_external_streams: dict[int, object] = {}


def stream_for(kind: str, stream=None):
    """The stream to launch on: ``stream`` if given, else CuPy's current stream for CuPy arrays,
    else the default stream (0)."""
    if stream is not None:
        if SIMULATOR:
            return 0
        if isinstance(stream, int):
            return _external(stream) if stream else 0
        ptr = getattr(stream, "ptr", None)  # a cupy.cuda.Stream
        if ptr is not None and not hasattr(stream, "handle"):
            return _external(int(ptr)) if ptr else 0
        return stream
    if SIMULATOR or kind != "cupy":
        return 0
    global _current_stream
    if _current_stream is None:
        import cupy

        _current_stream = cupy.cuda.get_current_stream
    ptr = _current_stream().ptr
    if not ptr:
        return 0
    s = _external_streams.get(ptr)
    return s if s is not None else _external(int(ptr))


_current_stream = None  # cupy.cuda.get_current_stream, looked up once


def _external(ptr: int):
    s = _external_streams.get(ptr)
    if s is None:
        s = cuda.external_stream(ptr)
        _external_streams[ptr] = s
    return s


class Flat:
    """Launch argument: contiguous ``array`` passed as its 1-D view (packed as such by the fast path,
    so no view object is made per launch; the dispatcher path reshapes)."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def kernel_arg(x):
    """What to pass to a kernel for array ``x``: CuPy arrays become zero-copy Numba views (no
    synchronisation: we launch on CuPy's stream), everything else passes through."""
    if type(x) is Flat:
        x = flat(x.array)
    if x is None or SIMULATOR:
        return x
    if type(x).__module__.startswith("cupy"):
        return cuda.as_cuda_array(x, sync=False)
    return x


def launch(kernel, grid, block, stream, *args):
    """Launch ``kernel[grid, block, stream](*args)`` with array arguments converted by :func:`kernel_arg`.

    On a GPU, once a kernel has been launched through Numba with some argument types, later launches
    with the same types go straight to ``cuda.core.launch`` with arguments packed here
    (:func:`_key_and_pack`): no Numba device-array object, typing or launch configuration per call.
    """
    if FAST_LAUNCH:
        types, packed = _key_and_pack(args)
        entry = _fast.get((kernel, types))
        if entry:
            _core_launch(_core_stream(stream), _config(grid, block), entry, *packed)
            return
        if entry is None and types is not None:
            converted = [kernel_arg(a) for a in args]
            kernel[_dims(grid), _dims(block), stream](*converted)
            _fast[(kernel, types)] = _fast_entry(kernel, converted, packed, stream)
            return
    kernel[_dims(grid), _dims(block), stream](*[kernel_arg(a) for a in args])


def _dims(d):
    return tuple(int(g) for g in d) if isinstance(d, tuple) else int(d)


#: Launch compiled kernels through ``cuda.core.launch`` directly (see :func:`launch`); set
#: ``TENSORCORE_FAST_LAUNCH=0`` to send every launch through Numba's dispatcher.
FAST_LAUNCH = not SIMULATOR and os.environ.get("TENSORCORE_FAST_LAUNCH", "1") != "0"
_fast: dict = {}  # (dispatcher, argument types) -> cuda.core kernel, or False where the fast path is refused
_configs: dict = {}
_core_streams: dict = {}


def _ctypes_of():
    import ctypes

    return {
        int: ctypes.c_int64, float: ctypes.c_double, np.float32: ctypes.c_float, np.float64: ctypes.c_double,
        np.int64: ctypes.c_int64, np.int32: ctypes.c_int32, np.uint32: ctypes.c_uint32, np.uint64: ctypes.c_uint64,
    }  # fmt: skip


#: How Numba passes a scalar of each Python/NumPy type to a kernel (typeof: int -> int64, float -> float64).
_SCALAR_CTYPES = _ctypes_of()
_packed_scalars: dict = {}  # (type, value) -> its ctypes value: a hyperparameter is packed once, not per launch


def _key_and_pack(args):
    """``(types, packed)``: what decides the overload Numba picks (each array's dtype, ndim and
    C-contiguity, each scalar's type; None for an argument the fast path does not take) and the
    arguments in Numba's kernel ABI (numba-cuda's ``_Kernel._prepare_args``): an array is
    ``meminfo, parent, size, itemsize, data, *shape, *strides``, a scalar its ctypes value."""
    types, out = [], []
    for a in args:
        t = type(a)
        if t is int:  # an int64 parameter: 8 bytes, as Numba's own size/shape/pointer fields are passed
            types.append(int)
            out.append(a)
            continue
        ctype = _SCALAR_CTYPES.get(t)
        if ctype is not None:
            types.append(t)
            c = _packed_scalars.get((t, a))
            if c is None:
                if len(_packed_scalars) > 512:
                    _packed_scalars.clear()
                c = _packed_scalars[(t, a)] = ctype(a)  # read, never written, by cuda.core.launch
            out.append(c)
        elif t is bool or t is np.bool_:
            types.append(bool)
            out.append(bool(a))
        elif t is Flat:
            x = a.array
            size, itemsize, ptr, _, _, contiguous = _array_fields(x)
            if not contiguous:
                return None, None
            types.append((x.dtype.char, 1, True))
            out += (0, 0, size, itemsize, ptr, size, itemsize)
        elif hasattr(a, "dtype"):
            size, itemsize, ptr, shape, strides, contiguous = _array_fields(a)
            types.append((a.dtype.char, len(shape), contiguous))
            out += (0, 0, size, itemsize, ptr, *shape, *strides)
        else:
            return None, None
    return tuple(types), out


def _array_fields(a):
    """``(size, itemsize, pointer, shape, strides in bytes, C-contiguous)`` of a device array, read
    without building a Numba device array (CuPy: its attributes; others: ``__cuda_array_interface__``)."""
    if type(a).__module__.startswith("cupy"):
        return a.size, a.itemsize, a.data.ptr, a.shape, a.strides, a.flags.c_contiguous
    cai = a.__cuda_array_interface__
    shape = tuple(cai["shape"])
    itemsize = np.dtype(cai["typestr"]).itemsize
    expected, step = [], itemsize
    for n in reversed(shape):
        expected.append(step)
        step *= n
    expected = tuple(reversed(expected))
    strides = cai.get("strides")
    strides = expected if strides is None else tuple(strides)
    size = math.prod(shape)
    return size, itemsize, cai["data"][0], shape, strides, strides == expected or size <= 1


def _fast_entry(dispatcher, converted, packed, stream):
    """The ``cuda.core`` kernel of the overload that just ran, after checking that ``packed`` (from
    :func:`_key_and_pack`) is the very argument list Numba gave it; False (never fast) otherwise."""
    try:
        argtypes = tuple(dispatcher.typeof_pyval(a) for a in converted)
        compiled = dispatcher.overloads.get(argtypes)
        if compiled is None or compiled.extensions or compiled.debug or compiled.cooperative:
            return False
        theirs = []
        for t, v in zip(argtypes, converted):
            compiled._prepare_args(t, v, stream, [], theirs)
        if len(packed) != len(theirs) or not all(map(_same_arg, packed, theirs)):
            return False
        return compiled._codelibrary.get_cufunc().kernel
    except Exception:  # a Numba version with another ABI: stay on the dispatcher
        return False


def _same_arg(ours, numbas):
    """One packed argument equals Numba's: same value and same C type (a Python int is an 8-byte
    integer to ``cuda.core.launch``, as Numba passes its own size and pointer fields)."""
    import ctypes

    if type(ours) is int:
        return (type(numbas) is int or type(numbas) is ctypes.c_int64) and getattr(numbas, "value", numbas) == ours
    return type(ours) is type(numbas) and getattr(ours, "value", ours) == getattr(numbas, "value", numbas)


def _config(grid, block):
    cfg = _configs.get((grid, block))
    if cfg is None:
        from cuda.core import LaunchConfig

        cfg = _configs[(grid, block)] = LaunchConfig(grid=_dims(grid), block=_dims(block), shmem_size=0)
    return cfg


def _core_stream(stream):
    s = _core_streams.get(id(stream))
    if s is None:
        from numba.cuda.cudadrv import driver

        s = _core_streams[id(stream)] = (driver._to_core_stream(stream), stream)  # keeps `stream` alive
    return s[0]


def _core_launch(stream, config, kernel, *args):
    from cuda.core import launch as core_launch

    core_launch(stream, config, kernel, *args)


_sm_count = None


def sm_count() -> int:
    global _sm_count
    if _sm_count is None:
        try:
            _sm_count = int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
        except Exception:  # simulator or no device: any sensible number works
            _sm_count = 132
    return _sm_count


def grid_1d(n: int, threads: int = THREADS_1D) -> int:
    """Blocks for a grid-stride loop over ``n`` items: enough to fill the GPU, never more than needed."""
    blocks = -(-n // threads) or 1
    cap = SIM_MAX_BLOCKS if SIMULATOR else (_sm_count or sm_count()) * BLOCKS_PER_SM
    return blocks if blocks < cap else cap


@cuda.jit
def _fill_zero_kernel(x):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.size:
        x[i] = 0
        i += stride


def fill_zero(x, stream=0):
    flat = reshape(x, (x.size,))
    launch(_fill_zero_kernel, grid_1d(x.size), THREADS_1D, stream, flat)


def cache_enabled() -> bool:
    """Whether compiled kernels go to Numba's disk cache: only when ``NUMBA_CACHE_DIR`` names a folder
    (bench/gpu_check.py sets it, so its sections reuse each other's compiles), never in the simulator."""
    return not SIMULATOR and bool(os.environ.get("NUMBA_CACHE_DIR"))


def jit(fn, launch_bounds=None, cache=True):
    """``numba.cuda.jit`` without signatures: compiles once per argument types, on first launch (no
    GPU needed at import). ``launch_bounds`` is passed on real hardware only (the simulator has none).
    ``cache=False`` for functions Numba cannot disk-cache (generated source has no file)."""
    kw = {}
    if not SIMULATOR and launch_bounds is not None:
        kw["launch_bounds"] = launch_bounds
    if cache and cache_enabled():
        kw["cache"] = True
    return cuda.jit(fn, **kw) if kw else cuda.jit(fn)


_built: dict = {}


def built(make, *args, launch_bounds=None, cache=True):
    """``jit(make(*args))``, built once per ``(make, args)``: every family's kernel cache.

    ``args`` are the maker's compile-time parameters (a dtype, an activation name ...); dtypes are
    normalized so ``np.float32`` and ``np.dtype("float32")`` share one kernel.
    """
    raw = (make, *args)
    k = _built.get(raw)  # the arguments as given: no dtype normalization on the hot path
    if k is None:
        key = (make,) + tuple(np.dtype(a) if isinstance(a, (type, np.dtype)) else a for a in args)
        k = _built.get(key)
        if k is None:
            fn = make(*args)
            k = _built[key] = jit(fn, launch_bounds=launch_bounds(fn) if launch_bounds else None, cache=cache)
        _built[raw] = k
    return k


#: Kernels that decode flat indices with 32-bit unsigned division need every size below this.
INDEX32_LIMIT = 2**32


def check_index32(fn: str, **sizes):
    """ValueError when a size would overflow the 32-bit index arithmetic of conv/pool kernels."""
    for name, n in sizes.items():
        if int(n) >= INDEX32_LIMIT:
            raise ValueError(f"{fn}: {name} has {int(n)} elements; these kernels index with 32 bits (< 2^32)")
