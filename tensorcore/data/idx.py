"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzip or raw.

Layout (all integers big-endian):

    bytes 0-1   0x00 0x00                       magic
    byte  2     type code                       0x08 uint8, 0x09 int8, 0x0B int16,
                                                0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim
    4 * ndim    the dimensions, uint32 each
    the rest    prod(dims) elements in C order, big-endian

`read_idx` detects gzip by its magic bytes (0x1f 0x8b), not by the file name, and checks the
magic, the type code, ndim (1 to MAX_NDIM), that the announced array fits in memory, and that the
file holds exactly the bytes the header announces (read in chunks: nothing is allocated up front).
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

from .errors import DataError

# type code -> big-endian NumPy dtype of the stored elements
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_DTYPE = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
MAX_NDIM = 32  # NumPy's limit on every supported version
_CHUNK = 1 << 22


def read_idx(path):
    """Read an IDX file (gzip-compressed or raw) into a NumPy array of native byte order.

    Raises DataError naming the file when the magic number, the type code or the length is wrong
    (truncated data or trailing bytes), with the expected and the actual sizes.

    >>> images = read_idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    >>> images.shape, images.dtype          # ((60000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        what = "decompressed size" if compressed else "file size"
        file_size = None if compressed else os.fstat(raw.fileno()).st_size
        try:
            return _read_stream(stream, path, what, file_size)
        except (EOFError, OSError, zlib.error) as exc:
            if not compressed or isinstance(exc, FileNotFoundError):
                raise
            raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


def _read_stream(stream, path, what, file_size=None):
    head = _read_upto(stream, 4)
    if len(head) < 4:
        raise DataError(f"{path}: not an IDX file: {len(head)} bytes, shorter than the 4-byte header")
    zero0, zero1, code, ndim = head
    if zero0 != 0 or zero1 != 0:
        raise DataError(f"{path}: not an IDX file: magic bytes are {head[:2].hex(' ')}, expected 00 00")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {d.name}" for c, d in IDX_DTYPES.items())
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= MAX_NDIM:
        raise DataError(f"{path}: corrupt IDX header: ndim is {ndim}, expected 1 to {MAX_NDIM}")
    dims_bytes = _read_upto(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(
            f"{path}: truncated header: {ndim} dimensions need {4 + 4 * ndim} bytes, "
            f"{what} is {4 + len(dims_bytes)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    dtype = IDX_DTYPES[code]
    header_bytes = 4 + 4 * ndim
    data_bytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a corrupt header
    expected = header_bytes + data_bytes
    from .._validate import memory_limit

    if file_size is not None and file_size != expected:  # a raw file: its size is known before reading
        _size_error(path, shape, dtype, expected, file_size, what)
    if data_bytes > memory_limit():
        raise DataError(f"{path}: corrupt IDX header: shape {shape} of {dtype.name} needs {data_bytes} bytes, "
                        f"more than this machine's memory")
    # Read in chunks so a corrupt header announcing terabytes fails on the length check instead of
    # allocating; a bytearray keeps the result writable without another copy.
    data = _read_upto(stream, data_bytes)
    trailing = _count_rest(stream)
    if len(data) < data_bytes or trailing:
        _size_error(path, shape, dtype, expected, header_bytes + len(data) + trailing, what)
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def _size_error(path, shape, dtype, expected, actual, what):
    problem = "truncated" if actual < expected else f"{actual - expected} trailing bytes"
    raise DataError(
        f"{path}: {problem}: the header announces shape {shape} of {dtype.name}, "
        f"{expected} bytes in total, but the {what} is {actual} bytes"
    )


def _read_upto(stream, nbytes):
    """Up to nbytes from stream (fewer only at end of file), as a bytearray."""
    out = bytearray()
    while len(out) < nbytes:
        chunk = stream.read(min(_CHUNK, nbytes - len(out)))
        if not chunk:
            break
        out += chunk
    return out


def _count_rest(stream):
    count = 0
    while chunk := stream.read(_CHUNK):
        count += len(chunk)
    return count


def write_idx(path, array, compress=None):
    """Write an array as an IDX file, atomically (a temp file in the same folder, then rename).

    compress: True for gzip, False for raw; None chooses gzip when the name ends in ".gz".
    Supported dtypes: uint8, int8, int16, int32, float32, float64.

    >>> write_idx("labels-idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8))
    >>> read_idx("labels-idx1-ubyte.gz")    # array([3, 1, 4], dtype=uint8)
    """
    from ..serialization import atomic_write

    path = os.fspath(path)
    array = np.asarray(array)
    code = _CODE_OF_DTYPE.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(d.name for d in IDX_DTYPES.values())
        raise DataError(f"write_idx({path}): dtype {array.dtype} has no IDX type code (supported: {names})")
    if array.ndim > 255 or any(n >= 2**32 for n in array.shape):
        raise DataError(f"write_idx({path}): shape {array.shape} does not fit the IDX header")
    if compress is None:
        compress = path.endswith(".gz")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    with atomic_write(path) as f:
        if compress:
            # mtime=0: the same array always gives the same bytes.
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            f.write(header)
            f.write(payload)
