"""Atomic file writes: a temp file in the target's folder, flushed and fsync'ed, renamed over the target
with os.replace, then the folder fsync'ed. An interrupted write (an exception, a kill) leaves the
previous file as it was; the next write to the same path removes the stray temp file a kill left.
An existing file's permission bits are kept.

    >>> with atomic_write("weights.npz") as f:
    ...     f.write(data)
"""

import contextlib
import hashlib
import os
import re
import secrets
import stat


def _temp_prefix(path):
    """`.<name>.` for the temp files of a save to `path` (a shortened name plus a hash when it is long)."""
    name = os.path.basename(path)
    if len(os.fsencode(name)) > 200:  # a temp name must stay under NAME_MAX (255 bytes) with the suffix
        name = f"{name[:40]}~{hashlib.sha1(os.fsencode(name)).hexdigest()[:12]}"
    return f".{name}."


def _remove_stray_temps(folder, prefix):
    """Delete the temp files of earlier saves to the same path whose process is gone (killed mid-save)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.[0-9a-f]{8}\.tmp")
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _process_alive(pid):
            continue  # a save in progress (another thread, another process)
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


@contextlib.contextmanager
def atomic_write(path):
    """Open a temp file next to `path` for binary writing; on success it replaces `path` atomically.

    On any exception the temp file is removed and `path` is untouched. After a kill, `path` is
    either the old file or the complete new one; the stray `.<name>.<pid>.<hex>.tmp` file left
    behind is removed by the next save to the same path. An existing file's permission bits are
    kept; a new file gets 0o666 minus the umask.

    >>> with atomic_write("weights.npz") as f:
    ...     f.write(data)
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    _remove_stray_temps(folder, prefix)
    tmp = os.path.join(folder, f"{prefix}{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    # os.open applies the umask to 0o666, so the new file gets the usual permissions.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    # NOTE: makes the rename itself durable; not possible on every platform (Windows), hence optional.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
