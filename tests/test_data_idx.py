"""The IDX reader (MNIST / Fashion-MNIST file format), raw and gzip."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from srcfpga.data.idx import find_idx, read_idx
from srcfpga.errors import DatasetError

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX, written independently of the reader."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, TYPE_CODES[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write(path: Path, data: bytes) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_images_round_trip(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    path = write(tmp_path / f"t10k-images-idx3-ubyte{suffix}", idx_bytes(images))
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (5, 4, 3)
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_labels_round_trip(tmp_path, suffix):
    labels = np.arange(10, dtype=np.uint8)
    out = read_idx(write(tmp_path / f"labels{suffix}", idx_bytes(labels)))
    assert out.shape == (10,)
    np.testing.assert_array_equal(out, labels)


@pytest.mark.parametrize("dtype", [np.int8, ">i2", ">i4", ">f4", ">f8"])
def test_other_element_types(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 12).astype(dtype)
    out = read_idx(write(tmp_path / "x.idx", idx_bytes(array)))
    assert out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def test_empty_array(tmp_path):
    out = read_idx(write(tmp_path / "empty.gz", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert out.shape == (0, 28, 28)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("data, message", [
    (b"", "not an IDX file"),
    (b"\x00\x00", "not an IDX file"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX file"),     # bad first byte
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX file"),     # unknown type code
    (b"\x00\x00\x08\x03" + struct.pack(">I", 5), "truncated IDX header"),          # 3 dims, 1 given
    (b"\x00\x00\x08\x02" + struct.pack(">2I", 3, 4) + bytes(11), "header promises 12"),  # short payload
    (b"\x00\x00\x08\x02" + struct.pack(">2I", 3, 4) + bytes(13), "header promises 12"),  # trailing bytes
])
def test_malformed(tmp_path, suffix, data, message):
    path = write(tmp_path / f"bad{suffix}", data)
    with pytest.raises(DatasetError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_file(tmp_path):
    images = np.ones((10, 28, 28), np.uint8)
    data = idx_bytes(images)
    path = write(tmp_path / "images", data[: len(data) - 100])
    with pytest.raises(DatasetError, match="payload is 7740 bytes, header promises 7840"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    full = write(tmp_path / "full.gz", idx_bytes(np.ones((10, 28, 28), np.uint8))).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DatasetError, match="cannot read IDX file"):
        read_idx(path)


def test_gz_suffix_but_not_gzip(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(idx_bytes(np.ones(3, np.uint8)))
    with pytest.raises(DatasetError, match="cannot read IDX file"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="cannot read IDX file"):
        read_idx(tmp_path / "nothing.gz")


def test_find_idx_prefers_gzip_and_accepts_raw(tmp_path):
    stem = "t10k-labels-idx1-ubyte"
    (tmp_path / stem).write_bytes(b"raw")
    assert find_idx(tmp_path, stem) == tmp_path / stem
    (tmp_path / f"{stem}.gz").write_bytes(b"gz")
    assert find_idx(tmp_path, stem) == tmp_path / f"{stem}.gz"


def test_find_idx_missing(tmp_path):
    with pytest.raises(DatasetError, match=r"has no t10k-images-idx3-ubyte\[\.gz\]"):
        find_idx(tmp_path, "t10k-images-idx3-ubyte")


def test_huge_dimensions_do_not_wrap_around(tmp_path):
    # 2^64 elements: a size computed in int64 wraps to 0 and would match the empty payload
    path = write(tmp_path / "huge", b"\x00\x00\x08\x04" + struct.pack(">4I", 65536, 65536, 65536, 65536))
    with pytest.raises(DatasetError, match="header promises"):
        read_idx(path)
