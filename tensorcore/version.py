"""torch.version's fields for tensorcore: __version__, cuda (the CUDA runtime CuPy runs on, as "13.0", or None when
no real GPU can be used), hip (None), debug (False), git_version. `cuda` is looked up on first use (it may import
CuPy), so importing tensorcore stays fast."""

__version__ = "0.1.0"
hip = None
debug = False
git_version = "unknown"


def __getattr__(name):
    if name == "cuda":
        from . import cuda as tc_cuda

        if not tc_cuda.is_available() or tc_cuda.is_simulated():
            return None
        import cupy

        version = int(cupy.cuda.runtime.runtimeGetVersion())
        return f"{version // 1000}.{version % 1000 // 10}"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
