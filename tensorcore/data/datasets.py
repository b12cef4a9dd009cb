"""MNIST and Fashion-MNIST from IDX files already on disk. Nothing is downloaded.

Search order for a data set called <name> ("fashion-mnist" or "mnist"):
    1. $TENSORCORE_DATA/<name>/, then $TENSORCORE_DATA/ itself
    2. /usr/share/datasets/<name>/    (the Debian package dataset-fashion-mnist installs here)
    3. ~/.cache/tensorcore/<name>/
The first folder holding all four files wins; each file may be gzip-compressed (".gz") or raw.
"""

import os
from pathlib import Path

import numpy as np

from .errors import DataError, DatasetNotFoundError
from .idx import read_idx

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SYSTEM_DIR = Path("/usr/share/datasets")
ENV_VAR = "TENSORCORE_DATA"
_HOW_TO_GET = {
    "fashion-mnist": "sudo apt-get install dataset-fashion-mnist",
    "mnist": None,
}


def fashion_mnist():
    """Fashion-MNIST as ((x_train, y_train), (x_test, y_test)), like keras.datasets.fashion_mnist.

    Images are uint8 arrays (N, 28, 28), labels int64 arrays (N,) with values 0..9; 60,000
    training and 10,000 test examples. See the module docstring for where the files are looked for.

    >>> (x_train, y_train), (x_test, y_test) = tc.data.fashion_mnist()
    >>> x_train.shape, y_train[:3]          # ((60000, 28, 28), array([9, 0, 0]))
    """
    return load_mnist_like("fashion-mnist")


def mnist():
    """MNIST digits as ((x_train, y_train), (x_test, y_test)), like keras.datasets.mnist.

    >>> (x_train, y_train), (x_test, y_test) = tc.data.mnist()
    """
    return load_mnist_like("mnist")


def search_paths(name):
    """The folders searched for data set `name`, in order (whether or not they exist)."""
    paths = []
    env = os.environ.get(ENV_VAR)
    if env:
        paths += [Path(env) / name, Path(env)]
    paths.append(SYSTEM_DIR / name)
    paths.append(Path.home() / ".cache" / "tensorcore" / name)
    return paths


def find_files(name):
    """{"train_images": Path, ...} from the first folder of search_paths(name) holding all four files."""
    partial = []
    for folder in search_paths(name):
        found = {key: _find_file(folder, stem) for key, stem in FILES.items()}
        if all(found.values()):
            return found
        if any(found.values()):
            missing = [FILES[key] for key, path in found.items() if path is None]
            partial.append(f"{folder} (has some files; missing {', '.join(missing)})")
    raise DatasetNotFoundError(_not_found_message(name, partial))


def _find_file(folder, stem):
    # Raw and gzip names; some mirrors write "train-images.idx3-ubyte" with a dot.
    dotted = stem.replace("-idx", ".idx")
    for candidate in (stem + ".gz", stem, dotted + ".gz", dotted):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def _not_found_message(name, partial):
    """First line: the whole fix (a CLI prints just that line). Then where we looked."""
    files = ", ".join(FILES.values())
    how = f"run `{_HOW_TO_GET[name]}`, or " if _HOW_TO_GET.get(name) else ""
    lines = [
        f"{name}: data set not found (nothing is downloaded). To get it, {how}put the four IDX files "
        f"{files} (raw or .gz) in ${ENV_VAR} or ${ENV_VAR}/{name}/ or ~/.cache/tensorcore/{name}/.",
        "Searched, in order:",
        *(f"    {p}" for p in search_paths(name)),
    ]
    if partial:
        lines.append("Incomplete folders: " + "; ".join(partial))
    return "\n".join(lines)


def load_mnist_like(name):
    """Read and check the four IDX files of an MNIST-format data set: ((x, y), (x, y))."""
    paths = find_files(name)
    arrays = {key: read_idx(path) for key, path in paths.items()}
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        image_path, label_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{image_path}: expected uint8 images (N, rows, cols), got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise DataError(f"{label_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}")
        if len(images) != len(labels):
            raise DataError(f"{name}: {len(images)} images in {image_path} but {len(labels)} labels in {label_path}")
        if len(labels) and labels.max() > 9:
            raise DataError(f"{label_path}: label {int(labels.max())} is outside 0..9")
        out.append((images, labels.astype(np.int64)))
    return tuple(out)
