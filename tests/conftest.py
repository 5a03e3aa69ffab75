"""Shared fixtures: the read-only data and reference models in ``../shared`` (never copied here).

``SRCFPGA_SHARED`` overrides the location of the shared directory; every fixture skips its test
cleanly when the data it names is absent.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
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


@pytest.fixture
def icarus():
    """The Icarus Verilog simulator; skips with the install hint where it is absent."""
    from srcfpga.errors import ToolNotFoundError
    from srcfpga.sim import find_simulator

    try:
        return find_simulator("icarus", activate=False)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


def hardware_equals_golden(model, config, steps, blank, *, spikes=None, pixels=None, seeds=None, **options):
    """Run ``NetworkTop(model, config)`` in Amaranth's simulator with ``trace_states`` and assert that it
    equals the golden model: every state word (SRC ``i``, ``h``, ``hs``; BMRU / CMRU ``q``) and every
    output of every neuron at every step, the readout after every step, the result and the class.
    The assertion message names sample, layer, neuron, step and state. Returns ``(hardware, golden)``."""
    from srcfpga.golden import first_state_mismatch, run_golden
    from srcfpga.hdl.pysim import run_amaranth

    inputs = {"spikes": spikes} if spikes is not None else {"pixels": pixels, "seeds": seeds}
    hardware = run_amaranth(model, replace(config, trace_states=True), steps=steps, blank=blank, **inputs, **options)
    golden = run_golden(model, steps=steps, blank=blank, trace=True, **inputs)
    for sample in range(len(hardware.predictions)):
        mismatch = first_state_mismatch(hardware.states, golden.traces, sample)
        assert mismatch is None, mismatch.describe()
    for index, trace in enumerate(golden.traces):
        mismatch = np.argwhere(hardware.spikes[index] != trace.spikes)
        assert not len(mismatch), f"layer {index}: first (sample, step, neuron) output mismatch {mismatch[0]}"
    np.testing.assert_array_equal(hardware.readout_trace, golden.readout_trace)
    np.testing.assert_array_equal(hardware.readout, golden.readout)
    np.testing.assert_array_equal(hardware.predictions, golden.predictions)
    return hardware, golden


@pytest.fixture(scope="session")
def hdl_equals_golden():
    """:func:`hardware_equals_golden`: the Amaranth design against the golden model, all states compared."""
    return hardware_equals_golden
