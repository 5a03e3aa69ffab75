"""Datasets (digits, MNIST, Fashion-MNIST) and the deterministic rate encoder."""

from .datasets import DATASETS, Dataset, load_dataset
from .encoder import RateEncoder
from .idx import read_idx

__all__ = ["DATASETS", "Dataset", "RateEncoder", "load_dataset", "read_idx"]
