"""Reader for the IDX format of MNIST / Fashion-MNIST (raw or gzip-compressed)."""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from ..errors import DatasetError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into an array of its stored shape and dtype."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read IDX file {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = math.prod(dims) * dtype.itemsize  # exact: np.prod wraps around on huge dims
    if len(data) - header != expected:
        raise DatasetError(f"{path}: IDX payload is {len(data) - header} bytes, header promises {expected}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def find_idx(directory: Path, stem: str) -> Path:
    """Find ``stem`` or ``stem.gz`` in ``directory`` (the standard MNIST file names)."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{directory} has no {stem}[.gz]")
