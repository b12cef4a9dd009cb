"""Text for language models: the fortunes corpus, char- and byte-level tokenizers, block windows.

The default corpus is the Debian package `fortunes` (/usr/share/games/fortunes, `apt-get install
fortunes`): every plain text file there (not the .dat indexes, not the .u8 links), in name order,
joined. The train / validation split is by position: the first (1 - val_fraction) of the tokens
train, the rest validate, so no window of one is in the other.

Example:
    train, val, tok = tc.data.fortunes(block_size=64)
    x, y = train[0]            # int64 (64,) each; y is x shifted by one token
"""

import os
from pathlib import Path

import numpy as np

from .errors import DataError, DatasetNotFoundError
from .loader import Dataset

FORTUNES_DIR = Path("/usr/share/games/fortunes")
MAX_CORPUS_BYTES = 256 * 1024 * 1024


class CharTokenizer:
    """One id per distinct character of the text it was built from, in sorted order."""

    kind = "char"

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(text)

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """str -> int64 ids; a character outside the vocabulary raises DataError naming it."""
        try:
            return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise DataError(f"CharTokenizer: character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def to_dict(self):
        return {"kind": "char", "chars": "".join(self.chars)}


class ByteTokenizer:
    """The UTF-8 bytes of the text: 256 ids, any text encodes."""

    kind = "byte"
    vocab_size = 256

    def encode(self, text):
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(self, ids):
        return bytes(np.asarray(ids, dtype=np.uint8).reshape(-1).tolist()).decode("utf-8", errors="replace")

    def to_dict(self):
        return {"kind": "byte"}


def tokenizer_from_dict(d):
    """The tokenizer a checkpoint saved with to_dict()."""
    if d.get("kind") == "char":
        return CharTokenizer(d["chars"])
    if d.get("kind") == "byte":
        return ByteTokenizer()
    raise DataError(f"unknown tokenizer {d!r} (expected kind 'char' or 'byte')")


def read_text_files(root):
    """Every plain text file directly in `root` (no .dat, no links), sorted by name, joined; UTF-8."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"text corpus: {root} is not a folder (for the default corpus: "
                                   "sudo apt-get install fortunes)")
    parts, total = [], 0
    for path in sorted(root.iterdir()):
        if path.is_symlink() or not path.is_file() or path.suffix == ".dat":
            continue
        total += path.stat().st_size
        if total > MAX_CORPUS_BYTES:
            raise DataError(f"text corpus: {root} holds more than {MAX_CORPUS_BYTES} bytes")
        parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    if not parts:
        raise DatasetNotFoundError(f"text corpus: no text files in {root}")
    return "".join(parts)


def fortunes_text(root=None):
    """The fortunes corpus as one string ($TENSORCORE_FORTUNES, else /usr/share/games/fortunes)."""
    return read_text_files(root or os.environ.get("TENSORCORE_FORTUNES", FORTUNES_DIR))


class TextDataset(Dataset):
    """Windows of a token array: item i is (tokens[i : i + block_size], tokens[i + 1 : i + block_size + 1])."""

    def __init__(self, tokens, block_size):
        self.tokens = np.asarray(tokens, dtype=np.int64)
        self.block_size = int(block_size)
        if self.block_size < 1 or len(self.tokens) <= self.block_size:
            raise DataError(f"TextDataset: {len(self.tokens)} tokens are too few for block_size {block_size}")

    def __len__(self):
        return len(self.tokens) - self.block_size

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"TextDataset: index {i} out of range for {len(self)} windows")
        i %= len(self)
        return self.tokens[i:i + self.block_size], self.tokens[i + 1:i + self.block_size + 1]

    def batch(self, starts):
        """(x, y) int64 arrays (B, block_size) for the windows starting at `starts`."""
        starts = np.asarray(starts, dtype=np.int64)
        offsets = starts[:, None] + np.arange(self.block_size)
        return self.tokens[offsets], self.tokens[offsets + 1]

    def random_batch(self, batch_size, rng):
        """A batch of windows at uniform random starts drawn from the NumPy generator `rng`."""
        return self.batch(rng.integers(0, len(self), size=batch_size))


def text_splits(text, tokenizer, block_size, val_fraction=0.1):
    """(train, val) TextDatasets of text's tokens, split by position."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"text_splits: val_fraction must be in (0, 1), got {val_fraction}")
    tokens = tokenizer.encode(text)
    cut = int(len(tokens) * (1.0 - val_fraction))
    return TextDataset(tokens[:cut], block_size), TextDataset(tokens[cut:], block_size)


def make_tokenizer(kind, text):
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "byte":
        return ByteTokenizer()
    raise DataError(f"tokenizer must be 'char' or 'byte', got {kind!r}")


def fortunes(block_size=64, tokenizer="char", val_fraction=0.1, root=None):
    """(train, val, tokenizer) for the fortunes corpus; tokenizer 'char' (its characters) or 'byte'."""
    text = fortunes_text(root)
    tok = make_tokenizer(tokenizer, text)
    train, val = text_splits(text, tok, block_size, val_fraction)
    return train, val, tok
