"""Compile every kernel to sm_90 machine code without a GPU and tabulate its resources.

Each kernel family lists, in ``ptx_signatures()``, every kernel with every signature its wrappers
launch it with. This module compiles each to PTX for compute capability 9.0
(``numba.cuda.compile_ptx``, which needs NVVM but no GPU), assembles the PTX with
``ptxas -arch=sm_90 -v`` into a cubin and records registers, shared memory, stack frame and spill
bytes, then disassembles the cubin (``cuobjdump -sass``) and records the hot loop's instruction mix
and any local-memory traffic (kernels/sass.py).

Regenerate ``kernels/RESOURCES.md`` (the one documented command)::

    python -m tensorcore.kernels.resources --write

``python -m tensorcore.kernels.resources`` prints the table; ``--check`` exits 1 when the file is
stale. tests/test_ptx.py runs the check and fails when a GEMM or convolution kernel spills;
tests/test_sass.py fails when a GEMM, convolution or attention kernel touches local memory.

``ptxas`` must be as new as the NVVM that wrote the PTX (NVVM 13.5 writes ``.version 9.5``, which
CUDA 13.0's ptxas refuses): it is taken from ``$TENSORCORE_PTXAS``, else from the
``nvidia-cuda-nvcc`` wheel (found through ``cuda.pathfinder`` or the ``nvidia`` package), else from
``PATH``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import sass

_HERE = Path(__file__).resolve().parent
#: Modules of kernels/ that hold no kernel family.
_NOT_FAMILIES = {"resources", "sass"}
_ORDER = (
    "gemm", "conv", "conv_implicit", "conv_implicit_grad", "attention", "pool", "activations", "softmax", "layernorm",
    "embedding", "optim",
)


def _families() -> tuple:
    """Every kernel family (each module of kernels/ but the private ones and these tools), in table order."""
    names = {p.stem for p in _HERE.glob("*.py") if not p.stem.startswith("_") and p.stem not in _NOT_FAMILIES}
    return tuple(sorted(names, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n)))


#: The kernel families, in table order.
FAMILIES = _families()
#: Families whose kernels must never spill (the compute-bound ones, the convolution's helpers and the
#: sequence-model kernels, which the issue requires to compile without spills).
NO_SPILL_FAMILIES = ("gemm", "conv", "conv_implicit", "conv_implicit_grad", "attention", "layernorm", "embedding")
#: Families whose kernels must never touch local memory (LDL/STL in their SASS).
NO_LOCAL_FAMILIES = ("gemm", "conv", "conv_implicit", "conv_implicit_grad", "attention")
CC = (9, 0)
ARCH = "sm_90"
TABLE_PATH = Path(__file__).with_name("RESOURCES.md")
COMMAND = "python -m tensorcore.kernels.resources --write"
COLUMNS = (
    "family",
    "kernel",
    "signature",
    "registers",
    "shared (B)",
    "stack (B)",
    "spill stores (B)",
    "spill loads (B)",
    "loop instr",
    "FMA share",
    "LDS/.64/.128",
    "int per FMA",
    "LDL/STL",
)


class PtxasNotFound(RuntimeError):
    pass


def find_ptxas() -> str:
    """Path of a ``ptxas`` new enough for the installed NVVM (see the module docstring)."""
    env = os.environ.get("TENSORCORE_PTXAS")
    if env:
        return env
    candidates = []
    try:
        from cuda import pathfinder

        found = pathfinder.find_nvidia_binary_utility("ptxas")
        if found:
            candidates.append(found)
    except Exception:  # cuda-pathfinder missing or too old
        pass
    try:
        import nvidia

        for base in nvidia.__path__:
            candidates += [os.path.join(base, sub, "bin", "ptxas") for sub in ("cu13", "cuda_nvcc")]
    except ImportError:
        pass
    which = shutil.which("ptxas")
    if which:
        candidates.append(which)
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise PtxasNotFound(
        "ptxas not found: install the dev dependencies (pip install -e '.[dev]' brings the "
        "nvidia-cuda-nvcc wheel matching NVVM 13.5) or set TENSORCORE_PTXAS=/path/to/ptxas"
    )


_PTXAS_PATTERNS = {
    "registers": re.compile(r"Used (\d+) registers"),
    "shared": re.compile(r"(\d+) bytes smem"),
    "stack": re.compile(r"(\d+) bytes stack frame"),
    "spill_stores": re.compile(r"(\d+) bytes spill stores"),
    "spill_loads": re.compile(r"(\d+) bytes spill loads"),
}


def parse_ptxas(text: str) -> dict:
    """Registers, shared memory, stack and spill bytes from ``ptxas -v`` output (one kernel)."""
    out = {}
    for key, pat in _PTXAS_PATTERNS.items():
        m = pat.search(text)
        out[key] = int(m.group(1)) if m else 0
    if not _PTXAS_PATTERNS["registers"].search(text):
        raise RuntimeError(f"could not read ptxas output:\n{text}")
    return out


def _signature_text(sig) -> str:
    """``float32[:, ::1], int64`` style text of a kernel signature's arguments."""
    parts = []
    for t in sig.args:
        if hasattr(t, "ndim") and hasattr(t, "dtype"):
            dims = [":"] * (t.ndim - 1) + (["::1"] if t.layout == "C" else [":"])
            parts.append(f"{t.dtype}[{', '.join(dims)}]")
        else:
            parts.append(str(t))
    return ", ".join(parts)


def _compile_family(family):
    """``[(family, kernel, signature text, ptx text)]`` of one family (runs in a worker process too)."""
    from numba import cuda

    module = importlib.import_module(f"{__package__}.{family}")
    if not hasattr(module, "ptx_signatures"):
        raise RuntimeError(f"kernels/{family}.py has no ptx_signatures(): list its kernels there (see gemm.py)")
    items = []
    for name, fn, sigs, launch_bounds in module.ptx_signatures():
        for sig in sigs:
            kw = {} if launch_bounds is None else {"launch_bounds": launch_bounds}
            ptx, _ = cuda.compile_ptx(fn, sig, cc=CC, **kw)
            items.append((family, name, _signature_text(sig), ptx))
    return items


def compile_all(families=FAMILIES):
    """``[(family, kernel, signature text, ptx text)]`` for every kernel and launched signature.

    NVVM compiles under the GIL, so the families compile in worker processes, one per core (minutes
    instead of many minutes on a small machine); where processes cannot start, they compile here.
    """
    families = tuple(families)
    jobs = min(len(families), os.cpu_count() or 1)
    if jobs > 1 and os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "0":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        try:
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                return [item for items in pool.map(_compile_family, families) for item in items]
        except (OSError, BrokenProcessPool):  # no worker processes here: compile in this one
            pass
    return [item for family in families for item in _compile_family(family)]


def assemble(ptx: str, ptxas: str, cuobjdump=None) -> dict:
    """ptxas's resource figures of one kernel, plus ``"mix"`` (a :class:`sass.Mix`) when
    ``cuobjdump = (path, env)`` is given (see :func:`sass.find_cuobjdump`)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "k.ptx")
        cubin = os.path.join(tmp, "k.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        r = subprocess.run([ptxas, f"-arch={ARCH}", "-v", src, "-o", cubin], capture_output=True, text=True)
        if not r.returncode and cuobjdump is not None:
            mix = sass.analyze(sass.disassemble(cubin, *cuobjdump))
    if r.returncode:
        hint = ""
        if "version" in r.stderr.lower():
            hint = (
                "\nThis ptxas is older than the NVVM that wrote the PTX: install the nvidia-cuda-nvcc wheel "
                "of the same CUDA release (pip install -e '.[dev]') or set TENSORCORE_PTXAS."
            )
        raise RuntimeError(f"ptxas failed ({ptxas}):\n{r.stderr}{hint}")
    stats = parse_ptxas(r.stderr + r.stdout)
    if cuobjdump is not None:
        stats["mix"] = mix
    return stats


def collect(families=FAMILIES):
    """Rows ``(family, kernel, signature, registers, shared, stack, spill stores, spill loads,
    loop instructions, FMA share, LDS widths, int per FMA, LDL/STL)`` (the last five as table cells)."""
    ptxas = find_ptxas()
    cuobjdump = sass.find_cuobjdump()
    items = compile_all(families)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        stats = list(pool.map(lambda it: assemble(it[3], ptxas, cuobjdump), items))
    return [
        (fam, name, sig, s["registers"], s["shared"], s["stack"], s["spill_stores"], s["spill_loads"])
        + s["mix"].cells()
        for (fam, name, sig, _), s in zip(items, stats)
    ]


@functools.cache
def collect_cached(families=FAMILIES):
    """:func:`collect`, once per process (tests/test_ptx.py and tests/test_sass.py share it)."""
    return tuple(collect(families))


def _versions() -> str:
    import numba

    try:
        from importlib.metadata import version

        nc = version("numba-cuda")
    except Exception:
        nc = "?"
    try:
        r = subprocess.run([find_ptxas(), "--version"], capture_output=True, text=True)
        px = r.stdout.strip().splitlines()[-2].split(",")[-1].strip() if r.stdout else "?"
    except Exception:
        px = "?"
    try:
        path, env = sass.find_cuobjdump()
        r = subprocess.run([path, "--version"], capture_output=True, text=True, env=env)
        cu = r.stdout.strip().splitlines()[-2].split(",")[-1].strip() if r.stdout else "?"
    except Exception:
        cu = "?"
    return f"numba {numba.__version__}, numba-cuda {nc}, ptxas {px}, cuobjdump {cu}"


def render(rows) -> str:
    lines = [
        "# Kernel resources on sm_90 (H100/H200)",
        "",
        f"Generated by `{COMMAND}` ({_versions()}); do not edit by hand.",
        "Every kernel with every signature its wrappers launch, compiled with `numba.cuda.compile_ptx` for",
        "compute capability 9.0 and assembled with `ptxas -arch=sm_90 -v`. tests/test_ptx.py fails when this",
        "table is stale or when a GEMM or convolution kernel spills (spill or stack bytes > 0).",
        "",
        "The last five columns read the machine code (`cuobjdump -sass` of the cubin, kernels/sass.py). The",
        "hot loop is the backward branch whose body holds the most FFMA/DFMA (without any, the longest loop;",
        "without a loop, `-` and the whole kernel): its instruction count, the FMA share of it (FFMA, DFMA,",
        "HFMA2 only; tensor-core HMMA and the HFMA2.MMA register moves are listed after it as `+n HMMA`,",
        "`+n HFMA2.MMA`, never in the share), its shared-memory loads by width (LDS / LDS.64 / LDS.128), and",
        "its integer and address instructions (IMAD, IADD3, LEA, SHF, LOP3, ISETP, ...) per FMA or HMMA.",
        "LDL/STL counts local-memory loads and stores in",
        "the whole kernel: tests/test_sass.py fails when a GEMM, convolution or attention kernel has any.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(" --- " for _ in COLUMNS) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(f"`{c}`" if i == 2 else str(c) for i, c in enumerate(row)) + " |")
    return "\n".join(lines) + "\n"


def parse_table(text: str):
    """The rows of a rendered table (as strings), for comparison."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| family"):
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if set(cells) != {"---"}:
            rows.append(tuple(cells))
    return rows


def as_strings(rows):
    return [tuple(str(c) for c in row) for row in rows]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tensorcore.kernels.resources", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help=f"rewrite {TABLE_PATH.name}")
    g.add_argument("--check", action="store_true", help=f"exit 1 if {TABLE_PATH.name} is stale")
    args = p.parse_args(argv)
    rows = collect()
    text = render(rows)
    if args.write:
        TABLE_PATH.write_text(text)
        print(f"wrote {TABLE_PATH} ({len(rows)} kernels)")
    elif args.check:
        current = parse_table(TABLE_PATH.read_text()) if TABLE_PATH.exists() else []
        if current != as_strings(rows):
            print(f"{TABLE_PATH} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        print(f"{TABLE_PATH.name} is current ({len(rows)} kernels)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
