"""PyTorch's own checkpoints (torch.save's zip format) read without unpickling anything.

torch.save writes a zip with `<name>/data.pkl`, a pickle of the saved structure whose tensors point at raw
storages `<name>/data/<key>`. Running that pickle could run any code, so it is never given to `pickle`:
a small interpreter here reads the opcodes a state dict uses (dicts, lists, tuples, strings, numbers,
booleans, None) and builds only what a fixed table of globals names (OrderedDict, tensors and Parameters
rebuilt from storages, dtypes, devices). Anything else - another global, an unknown opcode, a storage
whose size does not match what its tensors claim - is a CheckpointError naming the file and the problem.
This is what torch.load(weights_only=True) accepts, without its Unpickler.
"""

import collections
import math
import struct

import numpy as np

from .npz_members import check_member_size

# torch's legacy storage class names -> the NumPy dtype of their elements
_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_, "BFloat16Storage": "bfloat16",
}
_DTYPES = {"float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
           "float16": np.float16, "half": np.float16, "bfloat16": "bfloat16", "int64": np.int64, "long": np.int64,
           "int32": np.int32, "int": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8,
           "bool": np.bool_}
_MAX_MEMO = 1 << 24  # memo indices beyond this are a corrupt (or hostile) pickle


def is_torch_zip(names):
    """The archive's `<name>/data.pkl` when it is a torch.save zip, else None."""
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    return pickles[0] if len(pickles) == 1 else None


class _Storage:
    """A persistent-id storage reference: its dtype, key and element count, read on first use."""

    def __init__(self, dtype, key, location, numel):
        self.dtype, self.key, self.location, self.numel = dtype, key, location, numel


class _Global:
    """A global the table allows: what calling it (REDUCE) builds."""

    def __init__(self, name, call=None, value=None):
        self.name, self.call, self.value = name, call, value


class TorchZipReader:
    """Reads one torch.save zip: `load()` returns the saved structure with tensors as tc Tensors."""

    def __init__(self, archive, pkl_name, path, error, make_tensor):
        self.archive, self.path, self.error, self.make_tensor = archive, path, error, make_tensor
        self.prefix = pkl_name[: -len("data.pkl")]
        self.pkl_name = pkl_name
        self.arrays = {}  # storage key -> its 1-D array
        order = self.prefix + "byteorder"
        self.byteorder = "little"
        if order in archive.namelist():
            self.byteorder = archive.read(order).decode("ascii", "replace").strip()
            if self.byteorder not in ("little", "big"):
                self.fail(f"corrupt checkpoint: byteorder {self.byteorder!r}")

    def fail(self, problem):
        raise self.error(f"load({self.path}): {problem}")

    # --- the globals a state dict may name ---------------------------------------------------------------

    def _global(self, module, name):
        full = f"{module}.{name}"
        if full == "collections.OrderedDict":
            return _Global(full, call=lambda *a: collections.OrderedDict(*a))
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _Global(full, call=self._rebuild_tensor)
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _Global(full, call=self._rebuild_parameter)
        if full == "torch._tensor._rebuild_from_type_v2":
            return _Global(full, call=self._rebuild_from_type)
        if module == "torch" and name in _STORAGES:
            return _Global(full, value=_STORAGES[name])
        if module == "torch" and name in _DTYPES:
            from .dtypes import as_dtype

            return _Global(full, value=as_dtype(_DTYPES[name]))
        if full == "torch.device":  # torch.device("cuda", 0) or torch.device("cpu")
            from .device import device

            return _Global(full, call=lambda kind, index=None: device(kind if index is None else f"{kind}:{index}"))
        if full in ("torch.Tensor", "torch.nn.parameter.Parameter"):
            return _Global(full, value=full)
        if full == "torch.Size":
            from .tensor import Size

            return _Global(full, call=lambda dims=(): Size(dims))
        self.fail(f"refused: the checkpoint names {full}, which a state dict never needs (only tensors, dtypes, "
                  "devices and plain containers are read; nothing is unpickled)")

    def _named(self, module, name):
        """What GLOBAL pushes: a callable the table allows (a _Global), or the value it names (a dtype)."""
        g = self._global(module, name)
        return g if g.call is not None else g.value

    def _array(self, storage):
        if not isinstance(storage, _Storage):
            self.fail("corrupt checkpoint: a tensor is not built on a storage")
        got = self.arrays.get(storage.key)
        if got is not None:
            return got
        name = f"{self.prefix}data/{storage.key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            self.fail(f"corrupt checkpoint: storage {name!r} is missing")
        dtype = _np_dtype(storage.dtype)
        nbytes = storage.numel * dtype.itemsize
        if info.file_size != nbytes:
            self.fail(f"corrupt checkpoint: storage {name!r} holds {info.file_size} bytes, its header claims "
                      f"{storage.numel} elements of {dtype} ({nbytes} bytes)")
        raw = bytearray(self._read(name))
        if self.byteorder == "little" or dtype.itemsize == 1:
            array = np.frombuffer(raw, dtype=dtype)
        elif dtype.kind in "biuf" and dtype.str[0] in "<>=":  # a big-endian writer: swapped to this machine's order
            array = np.frombuffer(raw, dtype=dtype.newbyteorder(">")).astype(dtype)
        else:
            self.fail(f"storage {name!r}: big-endian {dtype} is not read")
        self.arrays[storage.key] = array
        return array

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
        flat = self._array(storage)
        if not (isinstance(offset, int) and isinstance(size, tuple) and isinstance(stride, tuple)
                and len(size) == len(stride) and all(isinstance(v, int) and v >= 0 for v in (offset, *size, *stride))):
            self.fail(f"corrupt checkpoint: tensor offset {offset!r}, size {size!r}, stride {stride!r}")
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if math.prod(size) else offset - 1
        if last >= flat.size:
            self.fail(f"corrupt checkpoint: a tensor of size {size} and stride {stride} at offset {offset} reaches "
                      f"element {last} of a storage of {flat.size}")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(flat[offset:] if flat.size else flat, shape=size,
                                               strides=tuple(s * item for s in stride), writeable=False)
        return self.make_tensor(np.array(view), storage.location, bool(requires_grad))

    def _rebuild_parameter(self, data, requires_grad, hooks=None, state=None):
        from .nn.module import Parameter

        if not hasattr(data, "_data"):
            self.fail("corrupt checkpoint: a Parameter is not built on a tensor")
        return Parameter(data, requires_grad=bool(requires_grad))

    def _rebuild_from_type(self, func, new_type, args, state):
        out = func(*args) if callable(func) else self.fail("corrupt checkpoint: _rebuild_from_type_v2 of a non-call")
        if new_type == "torch.nn.parameter.Parameter":
            return self._rebuild_parameter(out, True)
        return out

    # --- the opcode interpreter ------------------------------------------------------------------------

    def _read(self, name):
        """A member's bytes, its declared size checked first (zipfile checks its CRC as it reads)."""
        check_member_size(self.archive.getinfo(name), name, self.fail, f"load({self.path})", self.error)
        return self.archive.read(name)

    def load(self):
        data = self._read(self.pkl_name)
        stack, marks, memo = [], [], {}
        pos, n = 0, len(data)

        def take(k):
            nonlocal pos
            if pos + k > n:
                self.fail("corrupt checkpoint: data.pkl ends inside an instruction")
            chunk = data[pos:pos + k]
            pos += k
            return chunk

        def pop_mark():
            if not marks:
                self.fail("corrupt checkpoint: data.pkl pops a mark it never set")
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            return items

        def pop():
            if not stack:
                self.fail("corrupt checkpoint: data.pkl pops an empty stack")
            return stack.pop()

        def put(i):
            if not stack or i > _MAX_MEMO:
                self.fail("corrupt checkpoint: data.pkl memoizes nothing, or too far")
            memo[i] = stack[-1]

        def get(i):
            if i not in memo:
                self.fail(f"corrupt checkpoint: data.pkl reads memo {i} before writing it")
            stack.append(memo[i])

        while True:
            op = take(1)
            if op == b"\x80":  # PROTO
                take(1)
            elif op == b"\x95":  # FRAME
                take(8)
            elif op == b".":  # STOP
                if len(stack) != 1 or marks:
                    self.fail("corrupt checkpoint: data.pkl stops with a malformed stack")
                return stack[0]
            elif op == b"}":
                stack.append({})
            elif op == b"]":
                stack.append([])
            elif op == b")":
                stack.append(())
            elif op == b"(":
                marks.append(len(stack))
            elif op == b"N":
                stack.append(None)
            elif op == b"\x88":
                stack.append(True)
            elif op == b"\x89":
                stack.append(False)
            elif op == b"K":
                stack.append(take(1)[0])
            elif op == b"M":
                stack.append(struct.unpack("<H", take(2))[0])
            elif op == b"J":
                stack.append(struct.unpack("<i", take(4))[0])
            elif op == b"\x8a":  # LONG1
                stack.append(int.from_bytes(take(take(1)[0]), "little", signed=True))
            elif op == b"G":
                stack.append(struct.unpack(">d", take(8))[0])
            elif op in (b"X", b"\x8c", b"\x8d"):  # BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                width = {b"X": 4, b"\x8c": 1, b"\x8d": 8}[op]
                length = int.from_bytes(take(width), "little")
                try:
                    stack.append(take(length).decode("utf-8"))
                except UnicodeDecodeError:
                    self.fail("corrupt checkpoint: data.pkl holds a string that is not UTF-8")
            elif op == b"q":
                put(take(1)[0])
            elif op == b"r":
                put(struct.unpack("<I", take(4))[0])
            elif op == b"\x94":  # MEMOIZE
                put(len(memo))
            elif op == b"h":
                get(take(1)[0])
            elif op == b"j":
                get(struct.unpack("<I", take(4))[0])
            elif op == b"c":  # GLOBAL: "module\nname\n"
                end1 = data.find(b"\n", pos)
                end2 = data.find(b"\n", end1 + 1) if end1 >= 0 else -1
                if end2 < 0:
                    self.fail("corrupt checkpoint: data.pkl ends inside a global's name")
                module, name = data[pos:end1].decode("ascii", "replace"), data[end1 + 1:end2].decode("ascii", "replace")
                pos = end2 + 1
                stack.append(self._named(module, name))
            elif op == b"\x93":  # STACK_GLOBAL
                name, module = pop(), pop()
                if not (isinstance(module, str) and isinstance(name, str)):
                    self.fail("corrupt checkpoint: data.pkl names a global with non-strings")
                stack.append(self._named(module, name))
            elif op == b"t":
                stack.append(tuple(pop_mark()))
            elif op in (b"\x85", b"\x86", b"\x87"):
                k = op[0] - 0x84
                if len(stack) < k:
                    self.fail("corrupt checkpoint: data.pkl builds a tuple from an empty stack")
                items = tuple(stack[-k:])
                del stack[-k:]
                stack.append(items)
            elif op == b"l":
                stack.append(pop_mark())
            elif op == b"a":
                value = pop()
                self._container(stack, list).append(value)
            elif op == b"e":
                items = pop_mark()
                self._container(stack, list).extend(items)
            elif op == b"d":
                items = pop_mark()
                stack.append(self._pairs({}, items))
            elif op == b"s":
                value, key = pop(), pop()
                self._pairs(self._container(stack, dict), [key, value])
            elif op == b"u":
                items = pop_mark()
                self._pairs(self._container(stack, dict), items)
            elif op == b"Q":  # BINPERSID: ('storage', storage type, key, location, numel)
                pid = pop()
                if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                        and isinstance(pid[2], str) and isinstance(pid[4], int) and pid[4] >= 0):
                    self.fail(f"corrupt checkpoint: persistent id {pid!r} is not a storage")
                dtype = pid[1]
                if not any(dtype is t for t in _STORAGES.values()):
                    self.fail(f"corrupt checkpoint: storage of unknown type {pid[1]!r}")
                stack.append(_Storage(dtype, pid[2], str(pid[3]), pid[4]))
            elif op == b"R":  # REDUCE
                args, fn = pop(), pop()
                if not (isinstance(fn, _Global) and fn.call is not None and isinstance(args, tuple)):
                    self.fail(f"corrupt checkpoint: data.pkl calls {getattr(fn, 'name', type(fn).__name__)}, "
                              "which is not a constructor it may call")
                try:
                    stack.append(fn.call(*args))
                except self.error:
                    raise
                except (TypeError, ValueError) as exc:
                    self.fail(f"corrupt checkpoint: {fn.name}{args!r:.80} failed ({exc})")
            elif op == b"b":  # BUILD: an OrderedDict's __dict__ (a state dict's _metadata) is dropped
                pop()
                if not stack:
                    self.fail("corrupt checkpoint: data.pkl builds on an empty stack")
            else:
                self.fail(f"refused: data.pkl uses pickle opcode {op!r} at byte {pos - 1}, which a state dict "
                          "never needs")

    def _container(self, stack, kind):
        if not stack or not isinstance(stack[-1], kind):
            self.fail(f"corrupt checkpoint: data.pkl adds items to something that is not a {kind.__name__}")
        return stack[-1]

    def _pairs(self, target, items):
        if len(items) % 2:
            self.fail("corrupt checkpoint: data.pkl sets a key without a value")
        for key, value in zip(items[::2], items[1::2]):
            try:
                target[key] = value
            except TypeError:
                self.fail(f"corrupt checkpoint: a dict key of type {type(key).__name__}")
        return target


def _np_dtype(dtype):
    if isinstance(dtype, str):  # "bfloat16"
        from .dtypes import as_dtype

        return np.dtype(as_dtype(dtype))
    return np.dtype(dtype)
