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
def mnist_train_dir(shared_dir: Path) -> Path:
    """The complete MNIST training set (``train-*`` IDX files, gzip), without test files."""
    return _existing(shared_dir / "data" / "mnist-train", "MNIST training set")


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


@pytest.fixture
def icarus():
    """The Icarus Verilog simulator; skips with the install hint where it is absent."""
    from srcfpga.errors import ToolNotFoundError
    from srcfpga.sim import find_simulator

    try:
        return find_simulator("icarus", activate=False)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def calibration_dir(shared_dir: Path) -> Path:
    """Public Artix-7 designs with their Vivado reports (``calibration/``, README there)."""
    return _existing(shared_dir / "calibration", "Vivado calibration set")


@pytest.fixture
def tiny_verilog(tmp_path: Path) -> Path:
    """A small Verilog design: an 8-bit registered adder with an enable (a few LUTs, 2-3 CARRY4, 10 FFs)."""
    path = tmp_path / "tiny_add.v"
    path.write_text(
        "module tiny_add(input clk, input en, input [7:0] a, input [7:0] b, output reg [8:0] s, output reg v);\n"
        "  always @(posedge clk) begin\n"
        "    v <= en;\n"
        "    if (en) s <= a + b;\n"
        "  end\n"
        "endmodule\n")
    return path


def _reference_pwl(table, v: int) -> int:
    """One input of a :class:`srcfpga.quant.pwl.PiecewiseLinear`, from its definition, in Python integers:
    piece ``j`` = number of breakpoints ``<= v``; ``clamp((offsets[j] + slopes[j] v) // 2^shift, lo, hi)``."""
    j = sum(1 for b in table.breakpoints if b <= v)
    return min(max((table.offsets[j] + table.slopes[j] * v) // 2 ** table.shift, table.lo), table.hi)


@pytest.fixture(scope="session")
def reference_pwl():
    """The scalar reference of a piecewise-linear table (unbounded integers, floor division)."""
    return _reference_pwl


@pytest.fixture(scope="session")
def fsdd_dir(shared_dir: Path) -> Path:
    """The Free Spoken Digit Dataset (``recordings/{digit}_{speaker}_{take}.wav``, 8 kHz mono 16-bit)."""
    return _existing(shared_dir / "data" / "fsdd" / "recordings", "Free Spoken Digit Dataset")


def write_wav(path: Path, samples, rate: int = 8000, channels: int = 1, width: int = 2) -> Path:
    import wave

    import numpy as np

    data = np.asarray(samples)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(data.astype("<i2" if width == 2 else np.uint8).tobytes())
    return path


@pytest.fixture
def wav_writer():
    """``write(path, samples, rate=8000, channels=1, width=2)``: a small synthetic PCM WAV file."""
    return write_wav


@pytest.fixture
def tone():
    """``tone(hz, seconds=0.5, amplitude=8000, rate=8000)``: an int16 sine wave."""
    import numpy as np

    def make(hz: float, seconds: float = 0.5, amplitude: int = 8000, rate: int = 8000):
        n = np.arange(int(seconds * rate))
        return np.rint(amplitude * np.sin(2 * np.pi * hz * n / rate)).astype(np.int16)
    return make


@pytest.fixture
def fake_fsdd(tmp_path: Path, tone):
    """A tiny FSDD-like folder ``tmp/recordings``: speakers ann and bob, digits 0-1, takes 0-5 (tones)."""
    folder = tmp_path / "fsdd" / "recordings"
    folder.mkdir(parents=True)
    for speaker, base in (("ann", 300), ("bob", 600)):
        for digit in range(2):
            for take in range(6):
                write_wav(folder / f"{digit}_{speaker}_{take}.wav", tone(base * (digit + 1), 0.3 + 0.05 * take))
    return folder.parent
