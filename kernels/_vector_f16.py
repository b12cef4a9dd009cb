"""Vector global loads and stores for the memory-bound kernels: 4 float32 (``LDG.E.128``) or 4 float16
(``LDG.E.64``) per instruction, as float32 values in registers.

Numba indexes an array one element at a time (``LDG.E``; a complex64 or record view still gives one
load per field). These intrinsics emit the vector instructions as inline PTX::

    float32: ld.global.v4.f32 {a, b, c, d}, [p]             st.global.v4.f32 [p], {a, b, c, d}
    float16: ld.global.v4.b16 {h0..h3}, [p]; cvt.f32.f16     cvt.rn.f16.f32; st.global.v4.b16 [p], {h0..h3}

so a float16 array is read as float16 and widened to float32 in registers (``HADD2.F32``), and float32
results are rounded to nearest even on the store: float16 storage, float32 arithmetic.

``load4(a, i)`` returns ``(a[i], a[i+1], a[i+2], a[i+3])`` as float32 for a C-contiguous float32 or
float16 array of any rank, ``i`` its flat element index; ``store4(a, i, v0, v1, v2, v3)`` writes them.
``i`` must be a multiple of 4 and the array's data 4-element aligned: wrappers check
:func:`aligned` on the host and launch the scalar kernels otherwise. In the CUDA simulator (no inline
PTX) the same names are plain Python on the flat array, so the kernels around them are tested there;
the instructions themselves are checked in the SASS (kernels/RESOURCES.md, tests/test_kernels_f16*.py).
"""

from __future__ import annotations

import numpy as np

from . import _launch

#: Elements per vector load/store.
VEC = 4
#: Storage dtypes with vector loads (float64 keeps scalar loads).
VECTOR_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))


def data_pointer(a) -> int:
    """The device (or, in the simulator, host) address of ``a``'s first element."""
    if type(a).__module__.startswith("cupy"):
        return a.data.ptr
    if isinstance(a, np.ndarray):
        return a.ctypes.data
    cai = getattr(a, "__cuda_array_interface__", None)
    return cai["data"][0] if cai is not None else a.__array_interface__["data"][0]


def aligned(*arrays, last=None) -> bool:
    """True when every array (None skipped) is float32/float16 with its data aligned to ``VEC`` elements
    and ``last`` (the row length, when the kernel walks rows) a multiple of ``VEC``."""
    if last is not None and last % VEC:
        return False
    for a in arrays:
        if a is None:
            continue
        dt = np.dtype(a.dtype)
        if dt not in VECTOR_DTYPES or data_pointer(a) % (VEC * dt.itemsize):
            return False
    return True


if _launch.SIMULATOR:

    def _flat(a):
        return np.asarray(getattr(a, "_ary", a)).reshape(-1)

    def load4(a, i):
        f = _flat(a)
        return np.float32(f[i]), np.float32(f[i + 1]), np.float32(f[i + 2]), np.float32(f[i + 3])

    def store4(a, i, v0, v1, v2, v3):
        f = _flat(a)
        f[i : i + 4] = np.array([v0, v1, v2, v3], dtype=np.float32).astype(f.dtype)

else:
    from llvmlite import ir
    from numba import types
    from numba.cuda.extending import intrinsic

    _LOAD = {
        "float32": "ld.global.v4.f32 {$0, $1, $2, $3}, [$4];",
        "float16": "{\n.reg .b16 h<4>;\nld.global.v4.b16 {h0, h1, h2, h3}, [$4];\ncvt.f32.f16 $0, h0;\n"
        "cvt.f32.f16 $1, h1;\ncvt.f32.f16 $2, h2;\ncvt.f32.f16 $3, h3;\n}",
    }
    _STORE = {
        "float32": "st.global.v4.f32 [$0], {$1, $2, $3, $4};",
        "float16": "{\n.reg .b16 h<4>;\ncvt.rn.f16.f32 h0, $1;\ncvt.rn.f16.f32 h1, $2;\ncvt.rn.f16.f32 h2, $3;\n"
        "cvt.rn.f16.f32 h3, $4;\nst.global.v4.b16 [$0], {h0, h1, h2, h3};\n}",
    }

    def _address(context, builder, aty, a, ity, i):
        """``a.data + i * itemsize`` as a 64-bit integer."""
        ary = context.make_array(aty)(context, builder, value=a)
        i64 = ir.IntType(64)
        base = builder.ptrtoint(ary.data, i64)
        off = builder.mul(context.cast(builder, i, ity, types.int64), ir.Constant(i64, aty.dtype.bitwidth // 8))
        return builder.add(base, off)

    def _check(aty):
        if not isinstance(aty, types.Array) or str(aty.dtype) not in _LOAD:
            raise TypeError(f"load4/store4 take float32 or float16 arrays, got {aty}")

    @intrinsic
    def load4(typingctx, a, i):
        _check(a)
        sig = types.UniTuple(types.float32, 4)(a, i)

        def codegen(context, builder, sig, args):
            f = ir.FloatType()
            fnty = ir.FunctionType(ir.LiteralStructType([f, f, f, f]), [ir.IntType(64)])
            # side_effect: LLVM takes an asm without it for one that reads no memory and could move it
            # past a store (out may be x); ptxas still schedules the loads together
            asm = ir.InlineAsm(fnty, _LOAD[str(sig.args[0].dtype)], "=f,=f,=f,=f,l", side_effect=True)
            r = builder.call(asm, [_address(context, builder, sig.args[0], args[0], sig.args[1], args[1])])
            return context.make_tuple(builder, sig.return_type, [builder.extract_value(r, k) for k in range(4)])

        return sig, codegen

    @intrinsic
    def store4(typingctx, a, i, v0, v1, v2, v3):
        _check(a)
        sig = types.void(a, i, v0, v1, v2, v3)

        def codegen(context, builder, sig, args):
            f = ir.FloatType()
            fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(64), f, f, f, f])
            asm = ir.InlineAsm(fnty, _STORE[str(sig.args[0].dtype)], "l,f,f,f,f,~{memory}", side_effect=True)
            vals = [context.cast(builder, v, t, types.float32) for v, t in zip(args[2:], sig.args[2:])]
            builder.call(asm, [_address(context, builder, sig.args[0], args[0], sig.args[1], args[1])] + vals)
            return context.get_dummy_value()

        return sig, codegen
