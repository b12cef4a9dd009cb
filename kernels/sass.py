"""Read a kernel's sm_90 machine code (SASS) without a GPU: the hot loop's instruction mix.

``cuobjdump -sass k.cubin`` (the ``nvidia-cuda-cuobjdump`` wheel; it runs ``nvdisasm`` from the
``nvidia-cuda-nvdisasm`` wheel) lists one instruction per line with its address. :func:`analyze`
finds the hot loop, a backward branch (``BRA`` to a lower address) whose body holds the most
fused multiply-adds, and counts its instructions by opcode:

* ``fma_share``: FFMA (or DFMA, or packed-half HFMA2) over all instructions of the loop body. Fast
  SGEMMs run above 80%. ``HFMA2.MMA`` is not counted: ptxas emits it on the tensor pipe as a register
  move or constant load (``HFMA2.MMA R2, -RZ, RZ, 0, 0``), no arithmetic of the kernel's.
* ``mma`` and ``hfma2_mma``: tensor-core ``HMMA`` and ``HFMA2.MMA`` instructions in the body, counted
  apart from the FMAs (the hot loop is chosen by FMA + HMMA).
* ``lds``: shared-memory loads by width, ``(LDS, LDS.64, LDS.128)`` (wider is fewer instructions).
* ``int_per_fma``: integer and address instructions (IMAD, IADD3, LEA, SHF, LOP3, ISETP, ...) per FMA.
* ``local``: local-memory loads and stores (LDL, STL) in the whole kernel: a register spill or a
  dynamically indexed ``cuda.local.array``. GEMM, convolution and attention kernels must have none.

Kernels without a loop (or without FMAs) are measured over their largest loop, or the whole body.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

#: Integer and address arithmetic (base opcodes, also in their uniform-datapath ``U`` forms).
INT_OPCODES = frozenset(
    "IMAD IADD3 IADD IABS IMNMX ISETP ISCADD LEA SHF SHL SHR LOP3 LOP SEL PRMT SGXT BMSK POPC FLO".split()
)
FMA_OPCODES = frozenset({"FFMA", "DFMA", "HFMA2"})
#: Tensor-core matrix multiply-accumulate (base opcodes).
MMA_OPCODES = frozenset({"HMMA", "IMMA", "DMMA", "HGMMA"})

_LINE = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
_BRANCH_TARGET = re.compile(r"0x([0-9a-f]+)")


class CuobjdumpNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class Instruction:
    address: int
    opcode: str  # full opcode with modifiers, e.g. "LDS.128", "IMAD.WIDE.U32"
    operands: str

    @property
    def base(self) -> str:
        """The opcode without modifiers or the uniform-datapath prefix: ``UIADD3`` -> ``IADD3``."""
        base = self.opcode.split(".")[0]
        return base[1:] if base.startswith("U") and base[1:] in INT_OPCODES else base


@dataclass(frozen=True)
class Mix:
    """The hot loop's instruction mix (see the module docstring)."""

    loop_instructions: int  # instructions in the hot loop's body (0: no loop, whole kernel measured)
    fma_share: float
    lds: tuple  # (LDS, LDS.64, LDS.128) in the measured body
    int_per_fma: float | None  # None when the body has no FMA (nor HMMA)
    local_loads: int  # LDL in the whole kernel
    local_stores: int  # STL in the whole kernel
    mma: int = 0  # HMMA (tensor-core) in the measured body
    hfma2_mma: int = 0  # HFMA2.MMA (moves on the tensor pipe) in the measured body

    def cells(self) -> tuple:
        """The RESOURCES.md cells: loop instructions, FMA %, LDS widths, int per FMA, LDL/STL."""
        return (
            str(self.loop_instructions) if self.loop_instructions else "-",
            f"{100 * self.fma_share:.0f}%" + (f" +{self.mma} HMMA" if self.mma else "")
            + (f" +{self.hfma2_mma} HFMA2.MMA" if self.hfma2_mma else ""),
            "/".join(str(n) for n in self.lds),
            "-" if self.int_per_fma is None else f"{self.int_per_fma:.2f}",
            f"{self.local_loads}/{self.local_stores}",
        )


def parse(sass: str) -> list[Instruction]:
    """The instructions of ``cuobjdump -sass`` output (one kernel), predicates dropped."""
    out = []
    for line in sass.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        text = m.group(2).strip()
        if text.startswith("@"):
            text = text.split(None, 1)[1] if " " in text else ""
        if not text:
            continue
        opcode, _, operands = text.partition(" ")
        out.append(Instruction(int(m.group(1), 16), opcode, operands.strip()))
    return out


def loops(instructions: list[Instruction]) -> list[tuple[int, int]]:
    """``(first, last)`` instruction indices of each backward branch's body (``last`` is the branch)."""
    index = {ins.address: i for i, ins in enumerate(instructions)}
    found = []
    for i, ins in enumerate(instructions):
        if ins.opcode.split(".")[0] != "BRA":
            continue
        m = _BRANCH_TARGET.search(ins.operands)
        if m is None:
            continue
        target = int(m.group(1), 16)
        if target < ins.address and target in index:  # a self-branch (target == address) is the end-of-kernel trap
            found.append((index[target], i))
    return found


def _is_fma(ins) -> bool:
    return ins.base in FMA_OPCODES and not ins.opcode.startswith("HFMA2.MMA")


def _fma_count(body) -> int:
    """FFMA/DFMA/HFMA2 plus tensor-core HMMA: the loop's math (HFMA2.MMA moves excluded)."""
    return sum(_is_fma(ins) or ins.base in MMA_OPCODES for ins in body)


def hot_loop(instructions: list[Instruction]) -> tuple[int, int] | None:
    """The loop with the most FMAs (the shortest of equals); without FMAs, the longest loop; or None."""
    spans = loops(instructions)
    if not spans:
        return None
    return max(spans, key=lambda s: (_fma_count(instructions[s[0] : s[1] + 1]), -(s[1] - s[0])))


def analyze(sass: str) -> Mix:
    """The :class:`Mix` of one kernel's ``cuobjdump -sass`` output."""
    instructions = parse(sass)
    if not instructions:
        raise ValueError("no SASS instructions found (is this cuobjdump -sass output?)")
    span = hot_loop(instructions)
    if span is not None and _fma_count(instructions[span[0] : span[1] + 1]) == 0:
        longest = max(loops(instructions), key=lambda s: s[1] - s[0])
        span = longest
    body = instructions if span is None else instructions[span[0] : span[1] + 1]
    fma = sum(_is_fma(ins) for ins in body)
    mma = sum(ins.base in MMA_OPCODES for ins in body)
    ints = sum(ins.base in INT_OPCODES for ins in body)
    lds = tuple(sum(ins.opcode == op for ins in body) for op in ("LDS", "LDS.64", "LDS.128"))
    return Mix(
        loop_instructions=0 if span is None else len(body),
        fma_share=fma / len(body),
        lds=lds,
        int_per_fma=ints / (fma + mma) if fma + mma else None,
        local_loads=sum(ins.opcode.split(".")[0] == "LDL" for ins in instructions),
        local_stores=sum(ins.opcode.split(".")[0] == "STL" for ins in instructions),
        mma=mma,
        hfma2_mma=sum(ins.opcode.startswith("HFMA2.MMA") for ins in body),
    )


def _wheel_binary(name: str) -> str | None:
    try:
        from cuda import pathfinder

        found = pathfinder.find_nvidia_binary_utility(name)
        if found:
            return found
    except Exception:  # cuda-pathfinder missing or too old
        pass
    try:
        import nvidia

        for base in nvidia.__path__:
            path = os.path.join(base, "cu13", "bin", name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    except ImportError:
        pass
    return shutil.which(name)


def find_cuobjdump() -> tuple[str, dict]:
    """``(cuobjdump path, environment)`` with ``nvdisasm`` reachable; ``$TENSORCORE_CUOBJDUMP`` wins."""
    cuobjdump = os.environ.get("TENSORCORE_CUOBJDUMP") or _wheel_binary("cuobjdump")
    nvdisasm = _wheel_binary("nvdisasm")
    if not cuobjdump or not nvdisasm:
        missing = " and ".join(n for n, p in (("cuobjdump", cuobjdump), ("nvdisasm", nvdisasm)) if not p)
        raise CuobjdumpNotFound(
            f"{missing} not found: install the dev dependencies (pip install -e '.[dev]' brings the "
            "nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm wheels) or set TENSORCORE_CUOBJDUMP"
        )
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(nvdisasm) + os.pathsep + env.get("PATH", "")
    return cuobjdump, env


def disassemble(cubin_path: str, cuobjdump: str, env: dict) -> str:
    """``cuobjdump -sass`` of one cubin."""
    r = subprocess.run([cuobjdump, "-sass", cubin_path], capture_output=True, text=True, env=env)
    if r.returncode or "Function" not in r.stdout:
        raise RuntimeError(f"cuobjdump -sass failed ({cuobjdump}):\n{r.stderr or r.stdout}")
    return r.stdout
