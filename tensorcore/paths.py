"""Checks of the CLI's file arguments, made before any work starts: each failure is a TensorcoreError
naming the flag, the path and the problem (a folder given, a missing or unwritable folder, a full disk)."""

import os

from .errors import TensorcoreError


def check_input_path(path, flag):
    """A readable file (not a folder), else TensorcoreError naming the flag and the path."""
    if not os.path.exists(path):
        raise TensorcoreError(f"{flag} {path}: no such file")
    if os.path.isdir(path):
        raise TensorcoreError(f"{flag} {path}: is a directory, expected a checkpoint file")
    if not os.access(path, os.R_OK):
        raise TensorcoreError(f"{flag} {path}: not readable (permission denied)")


def check_output_path(path, flag, min_free=1 << 20):
    """A file path we can write: not a folder, in an existing writable folder with at least min_free bytes free."""
    if os.path.isdir(path):
        raise TensorcoreError(f"{flag} {path}: is a directory, expected a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TensorcoreError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise TensorcoreError(f"{flag} {path}: not writable (permission denied)")
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return
    if st.f_bavail * st.f_frsize < min_free:
        raise TensorcoreError(f"{flag} {path}: the disk is full ({st.f_bavail * st.f_frsize} bytes free in {folder})")


def check_image_format(path, flag):
    """An image file name matplotlib can write (.png, .pdf, .svg, ...; no extension means PNG)."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext and ext not in ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp"):
        raise TensorcoreError(f"{flag} {path}: unknown image format {ext!r} (use .png, .pdf or .svg)")
