"""Data: the IDX reader, MNIST and Fashion-MNIST from local files, Dataset and DataLoader."""

from ..distributed.sampler import DistributedSampler
from .datasets import fashion_mnist, find_files, mnist, search_paths
from .errors import DataError, DatasetNotFoundError
from .idx import read_idx, write_idx
from .loader import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from .text import (
    ByteTokenizer,
    CharTokenizer,
    TextDataset,
    fortunes,
    fortunes_text,
    read_text_files,
    text_splits,
    tokenizer_from_dict,
)

__all__ = [
    "ByteTokenizer",
    "CharTokenizer",
    "TextDataset",
    "fortunes",
    "fortunes_text",
    "read_text_files",
    "text_splits",
    "tokenizer_from_dict",
    "DataError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "Subset",
    "TensorDataset",
    "default_collate",
    "fashion_mnist",
    "find_files",
    "mnist",
    "random_split",
    "read_idx",
    "search_paths",
    "write_idx",
]
