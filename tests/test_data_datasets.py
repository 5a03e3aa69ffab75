"""Datasets: scikit-learn digits (fixed split), MNIST / Fashion-MNIST from IDX directories."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from srcfpga.data import DATASETS, load_dataset
from srcfpga.errors import DatasetError


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_dataset_names():
    assert DATASETS == ("digits", "mnist", "fashion-mnist", "fsdd")


def test_digits_split():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert (len(train), len(test)) == (1438, 359)
    for ds in (train, test):
        assert ds.images.dtype == np.uint8 and ds.images.shape == (len(ds), 64)
        assert ds.labels.dtype == np.int64 and ds.labels.shape == (len(ds),)
        assert ds.image_shape == (8, 8) and ds.n_pixels == 64 and ds.n_classes == 10
        assert set(np.unique(ds.labels)) == set(range(10))
    assert train.images.max() == 255 and min(train.images.min(), test.images.min()) == 0
    # together the two splits are exactly the 1797 scikit-learn images, each once
    from sklearn.datasets import load_digits

    full = np.rint(load_digits().data * (255 / 16)).astype(np.uint8)
    both = np.concatenate([train.images, test.images])
    rows = lambda a: sorted(map(bytes, a))  # noqa: E731
    assert rows(both) == rows(full)


def test_digits_deterministic():
    a, b = load_dataset("digits", "test"), load_dataset("digits", "test")
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_limit_takes_the_first_samples():
    full = load_dataset("digits", "train")
    head = load_dataset("digits", "train", limit=7)
    assert len(head) == 7
    np.testing.assert_array_equal(head.images, full.images[:7])
    np.testing.assert_array_equal(head.labels, full.labels[:7])
    assert len(load_dataset("digits", "test", limit=10_000)) == 359


@pytest.mark.parametrize("limit", [0, -3])
def test_bad_limit(limit):
    with pytest.raises(DatasetError, match="--limit must be at least 1"):
        load_dataset("digits", "test", limit=limit)


def test_unknown_dataset_and_split():
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'; choose one of digits, mnist, fashion-mnist"):
        load_dataset("cifar")
    with pytest.raises(DatasetError, match="unknown split 'valid'"):
        load_dataset("digits", "valid")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_dataset_needs_a_directory(name):
    with pytest.raises(DatasetError, match="needs a data directory"):
        load_dataset(name, "test")


def test_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match=f"data directory {missing} does not exist"):
        load_dataset("mnist", "test", missing)


def test_directory_without_files(tmp_path):
    with pytest.raises(DatasetError, match=r"has no train-images-idx3-ubyte\[\.gz\]"):
        load_dataset("fashion-mnist", "train", tmp_path)


def test_synthetic_idx_directory(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(6) % 10)
    ds = load_dataset("mnist", "test", tmp_path, limit=4)
    assert ds.image_shape == (5, 4) and ds.images.shape == (4, 20) and ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images, images[:4].reshape(4, 20))
    np.testing.assert_array_equal(ds.labels, [0, 1, 2, 3])


def test_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((6, 2, 2)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(5))
    with pytest.raises(DatasetError, match="5 labels for 6 images"):
        load_dataset("mnist", "test", tmp_path)


def test_images_must_be_three_dimensional(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((6, 4)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(6))
    with pytest.raises(DatasetError, match=r"uint8 \(n, rows, cols\)"):
        load_dataset("mnist", "test", tmp_path)


def test_mnist_from_shared(mnist_dir):
    ds = load_dataset("mnist", "test", mnist_dir, limit=50)
    assert (ds.name, ds.split, len(ds)) == ("mnist", "test", 50)
    assert ds.images.dtype == np.uint8 and ds.images.shape == (50, 784) and ds.image_shape == (28, 28)
    assert ds.labels.min() >= 0 and ds.labels.max() <= 9
    assert ds.images.max() == 255 and (ds.images == 0).mean() > 0.5  # MNIST: mostly black background
    full = load_dataset("mnist", "test", mnist_dir)
    assert len(full) == 5000 and set(np.unique(full.labels)) == set(range(10))
    np.testing.assert_array_equal(full.images[:50], ds.images)


def test_mnist_subset_has_no_training_split(mnist_dir):
    with pytest.raises(DatasetError, match="has no train-images"):
        load_dataset("mnist", "train", mnist_dir)


@pytest.mark.parametrize("split, size", [("train", 60_000), ("test", 10_000)])
def test_fashion_from_shared(fashion_dir, split, size):
    ds = load_dataset("fashion-mnist", split, fashion_dir, limit=20)
    assert len(ds) == 20 and ds.images.shape == (20, 784) and ds.n_classes == 10
    assert ds.labels.min() >= 0 and ds.labels.max() <= 9
    if split == "test":
        assert len(load_dataset("fashion-mnist", split, fashion_dir)) == size
