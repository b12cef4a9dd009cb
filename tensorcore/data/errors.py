"""Errors raised by tensorcore.data. Each message names the file or argument at fault."""

from ..errors import TensorcoreError


class DataError(TensorcoreError, ValueError):
    """A data file or a data-loading argument is wrong (corrupt IDX file, bad batch size, ...)."""


class DatasetNotFoundError(DataError):
    """A data set's files are in none of the folders searched; the message says how to get them."""
