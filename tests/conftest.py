"""Shared fixtures: the read-only data and reference models in ``../shared`` (never copied here).

``SRCFPGA_SHARED`` overrides the location of the shared directory; every fixture skips its test
cleanly when the data it names is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _shared_root() -> Path:
    env = os.environ.get("SRCFPGA_SHARED")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "shared"


def _existing(path: Path, what: str) -> Path:
    if not path.is_dir():
        pytest.skip(f"{what} not available at {path}")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data directory (``../shared`` beside the repository, or ``$SRCFPGA_SHARED``)."""
    return _existing(_shared_root(), "shared directory")


@pytest.fixture(scope="session")
def mnist_dir(shared_dir: Path) -> Path:
    """MNIST test images 5001-10000 (``t10k-*`` IDX files, gzip)."""
    return _existing(shared_dir / "data" / "mnist-test-b", "MNIST test subset")


@pytest.fixture(scope="session")
def fashion_dir(shared_dir: Path) -> Path:
    """Complete Fashion-MNIST (train and t10k IDX files, gzip)."""
    return _existing(shared_dir / "data" / "fashion-mnist", "Fashion-MNIST")


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    """The reference lab's trained 784 -> 100 SRC export (``arrays.npz`` + ``config.json``)."""
    path = _existing(shared_dir / "reference" / "ulg-src-mnist", "reference SRC export")
    if not (path / "arrays.npz").is_file() or not (path / "config.json").is_file():
        pytest.skip(f"reference export at {path} is incomplete")
    return path


@pytest.fixture(scope="session")
def calibration_dir(shared_dir: Path) -> Path:
    """Real Vivado reports of other Artix-7 designs (``<design>/reports*/``), for the report parsers."""
    return _existing(shared_dir / "calibration", "Vivado calibration reports")
