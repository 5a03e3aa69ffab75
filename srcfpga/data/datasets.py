"""Classification datasets as uint8 pixel arrays (images, or audio feature images).

Every dataset is returned as a :class:`Dataset` with ``images`` of shape ``(n, pixels)`` and dtype
``uint8`` (intensity 0..255) and integer ``labels``; the rate encoder turns pixels into spikes.

* ``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, shipped inside scikit-learn),
  values 0..16 rescaled to 0..255; a fixed split (seed 0) of 1,438 train / 359 test images.
* ``mnist`` and ``fashion-mnist``: 28x28 IDX files (``train-*``/``t10k-*``, raw or gzip) in a
  directory given by the caller.
* ``fsdd``: the Free Spoken Digit Dataset's WAV files (``srcfpga.data.fsdd``), each recording turned into
  a ``frames x bands`` image of integer log-mel features by ``srcfpga.data.audio``; splits ``train``,
  ``test`` and ``all``, optionally restricted to some speakers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .audio import LogMelFrontEnd
from .idx import find_idx, read_idx

DATASETS = ("digits", "mnist", "fashion-mnist", "fsdd")
SPLITS = ("train", "test")
_IDX_PREFIX = {"train": "train", "test": "t10k"}


@dataclass(frozen=True)
class Dataset:
    """Images as flat uint8 pixel rows, with labels."""

    name: str
    split: str
    images: np.ndarray  # (n, height * width) uint8
    labels: np.ndarray  # (n,) int64
    image_shape: tuple[int, int]
    n_classes: int
    front_end: LogMelFrontEnd | None = None   # audio: the front end that made the feature images
    groups: tuple[str, ...] = ()               # audio: the speaker of each sample (empty for images)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_pixels(self) -> int:
        return self.images.shape[1]

    def head(self, limit: int | None) -> "Dataset":
        """The first ``limit`` samples (all when ``limit`` is None)."""
        if limit is None:
            return self
        if limit < 1:
            raise DatasetError(f"--limit must be at least 1, got {limit}")
        return Dataset(self.name, self.split, self.images[:limit], self.labels[:limit],
                       self.image_shape, self.n_classes, self.front_end, self.groups[:limit])


def load_dataset(name: str, split: str = "test", data_dir: str | Path | None = None,
                 limit: int | None = None, speakers: tuple[str, ...] | None = None) -> Dataset:
    """Load dataset ``name`` (one of :data:`DATASETS`), split ``train`` or ``test`` (fsdd: also ``all``);
    ``speakers`` restricts fsdd to those speakers."""
    if name == "fsdd":
        from .fsdd import load_fsdd

        return load_fsdd(data_dir, split, speakers).head(limit)
    if speakers is not None:
        raise DatasetError(f"--speakers applies to the fsdd dataset only, not {name!r}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if name == "digits":
        dataset = _load_digits(split)
    elif name in ("mnist", "fashion-mnist"):
        if data_dir is None:
            raise DatasetError(f"dataset {name!r} needs a data directory (--data-dir DIR with "
                               f"{_IDX_PREFIX[split]}-images-idx3-ubyte[.gz] and labels)")
        dataset = _load_idx_dataset(name, split, Path(data_dir))
    else:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return dataset.head(limit)


def _load_digits(split: str) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.data * (255.0 / 16.0)).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    n_train = int(round(0.8 * len(labels)))
    chosen = order[:n_train] if split == "train" else order[n_train:]
    return Dataset("digits", split, images[chosen], labels[chosen], (8, 8), 10)


def _load_idx_dataset(name: str, split: str, directory: Path) -> Dataset:
    if not directory.is_dir():
        raise DatasetError(f"data directory {directory} does not exist")
    prefix = _IDX_PREFIX[split]
    images = read_idx(find_idx(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_idx(directory, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{directory}: images must be a uint8 (n, rows, cols) IDX array")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DatasetError(f"{directory}: {len(labels)} labels for {len(images)} images")
    n, rows, cols = images.shape
    return Dataset(name, split, images.reshape(n, rows * cols), labels.astype(np.int64),
                   (rows, cols), 10)
