"""The .npy members of a checkpoint's zip, read without np.load: only .npy members, each name once, and
each member's declared array size checked against the member's real size before anything is allocated.

A stored member's size must equal its compressed size; a deflated one may claim at most deflate's
maximum expansion (about 1032:1) of its compressed bytes; the .npy header's shape x itemsize must
equal the member's bytes after the header; reading to the member's end checks its CRC. Object,
structured and other dtypes that would need pickle are refused.
"""

import math
import zipfile

import numpy as np

from ._validate import fits_in_memory

ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex: what .npy stores without pickle
_DEFLATE_MAX_RATIO = 1100  # deflate expands at most ~1032:1; a member claiming more is lying about its size


def check_member_size(info, name, fail, what, error):
    """A zip member's declared size checked before anything is read: a stored member's size must equal its
    compressed size, a deflated one may claim at most deflate's maximum expansion, and it must fit in memory."""
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size:
            fail(f"corrupt entry {name!r}: stored member of {info.compress_size} bytes claims {info.file_size} bytes")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        if info.file_size > info.compress_size * _DEFLATE_MAX_RATIO + 1024:
            fail(f"corrupt entry {name!r}: {info.compress_size} compressed bytes cannot hold the "
                 f"{info.file_size} bytes it claims")
    else:
        fail(f"corrupt entry {name!r}: compression method {info.compress_type} (only stored or deflate)")
    fits_in_memory((info.file_size,), np.uint8, what, error=error)


class NpzMembers:
    """The members of a checkpoint's zip: .npy arrays only, each name once, sizes checked before reading."""

    def __init__(self, archive, path, error):
        self.archive, self.path, self.error = archive, path, error
        self.infos = {}
        for info in archive.infolist():
            name = info.filename
            if not name.endswith(".npy"):
                self.fail(f"not a tensorcore checkpoint: member {name!r} is not a .npy array")
            if name[:-4] in self.infos:
                self.fail(f"corrupt checkpoint: member {name!r} appears twice (one copy would shadow the other)")
            self.infos[name[:-4]] = info
        self.files = list(self.infos)

    def fail(self, problem):
        raise self.error(f"load({self.path}): {problem}")

    def read(self, name):
        """The array of member `name`: its declared size is checked against the member's real size first."""
        info = self.infos[name]
        check_member_size(info, name, self.fail, f"load({self.path})", self.error)
        with self.archive.open(info) as f:
            shape, fortran_order, dtype = self.read_npy_header(f, name)
            nbytes = math.prod(shape) * dtype.itemsize
            have = info.file_size - f.tell()
            if nbytes != have:
                self.fail(f"corrupt entry {name!r}: the .npy header declares shape {shape} of {dtype} "
                          f"({nbytes} bytes), the member holds {have} bytes")
            buffer = bytearray(nbytes)
            view, got = memoryview(buffer), 0
            while got < nbytes:
                n = f.readinto(view[got:])
                if not n:
                    self.fail(f"corrupt entry {name!r}: truncated after {got} of {nbytes} bytes")
                got += n
            f.read(1)  # reaches the end of the member: zipfile checks its CRC
        array = np.frombuffer(buffer, dtype=dtype)
        return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)

    def read_npy_header(self, f, name):
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                self.fail(f"corrupt entry {name!r}: .npy format version {version}")
        except ValueError as exc:
            self.fail(f"corrupt entry {name!r}: bad .npy header ({exc})")
        if dtype.hasobject:
            self.fail(f"entry {name!r} holds pickled Python objects; refused (loading them could run code)")
        if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            self.fail(f"corrupt entry {name!r}: dtype {dtype} is not one tensorcore stores")
        return shape, fortran_order, dtype
