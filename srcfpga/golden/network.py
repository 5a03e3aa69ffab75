"""Batched, bit-exact integer simulation of a HardwareModel (the golden model).

Inputs are either uint8 pixels (encoded on the fly by the model's rate encoder, with one 31-bit seed
per sample) or precomputed spike frames ``(batch, T, n_in)`` bool. Per timestep ``t``, layer ``l``
consumes the spikes layer ``l - 1`` emitted at the same ``t``; the readout accumulates the last
layer's spikes; the class is the first index of the maximal accumulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..cells import CELLS
from ..errors import ConfigError
from ..quant.hwmodel import HardwareModel
from ..threads import thread_limit
from .arith import NumpyOps
from .readout import readout_step


@dataclass
class GoldenResult:
    predictions: np.ndarray          # (batch,) int64
    readout: np.ndarray              # (batch, n_classes) int64, final accumulators
    spike_counts: list[np.ndarray]   # per layer, (batch, n_out) spikes summed over time
    input_spikes: np.ndarray         # (batch,) input spikes summed over time and inputs
    traces: list | None = None               # per layer, the cell kind's trace (spikes and states)
    readout_trace: np.ndarray | None = None  # (batch, T, n_classes) accumulators after each step


@dataclass(frozen=True)
class StateMismatch:
    """The earliest differing state word of a hardware run (steps count blank steps, from 0)."""

    sample: int
    layer: int
    neuron: int
    step: int
    state: str          # "i", "h", "hs" (SRC) or "q" (BMRU / CMRU)
    hardware: int
    golden: int

    def describe(self) -> str:
        return (f"state {self.state} mismatch at sample {self.sample}, layer {self.layer}, neuron {self.neuron}, "
                f"step {self.step}: hardware {self.hardware} != golden {self.golden}")


def first_state_mismatch(states: list[dict[str, np.ndarray]], traces: list, sample: int) -> StateMismatch | None:
    """The earliest step (then lowest layer, neuron, state in trace order) at which the hardware's states
    (per layer, name -> ``(batch, T, n_out)``) differ from the golden ``traces`` (``run_golden(trace=True)``)."""
    found = []
    for layer, (hardware, trace) in enumerate(zip(states, traces)):
        golden = trace.states()
        if set(hardware) != set(golden):
            raise ConfigError(f"layer {layer}: hardware states {sorted(hardware)} != golden states {sorted(golden)}")
        for order, (name, expected) in enumerate(golden.items()):
            got = hardware[name][sample]
            diff = np.argwhere(got != expected[sample])
            if len(diff):
                step, neuron = (int(v) for v in diff[0])
                found.append(((step, layer, neuron, order), StateMismatch(
                    sample, layer, neuron, step, name, int(got[step, neuron]), int(expected[sample, step, neuron]))))
    return min(found, key=lambda item: item[0])[1] if found else None


def input_frames(model: HardwareModel, pixels: np.ndarray | None, spikes: np.ndarray | None,
                 steps: int, blank: int, seeds: np.ndarray | None) -> Iterator[np.ndarray]:
    """The input spike frames of one batch, from pixels (rate encoder) or given spike frames."""
    if (pixels is None) == (spikes is None):
        raise ConfigError("give exactly one of pixels or spikes")
    if spikes is not None:
        spikes = np.asarray(spikes)
        if spikes.ndim != 3 or spikes.shape[2] != model.input_size:
            raise ConfigError(f"spike frames must have shape (batch, T, {model.input_size}), got {spikes.shape}")
        return iter(np.moveaxis(spikes.astype(bool), 1, 0))
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.shape[1] != model.image_pixels:
        raise ConfigError(f"images have {pixels.shape[-1]} pixels but the model expects {model.image_pixels}")
    if seeds is None:
        seeds = np.zeros(len(pixels), np.int64)
    return model.encoder.frames(pixels, steps, blank, seeds)


def count_spikes(frame: np.ndarray) -> np.ndarray:
    """Per row of a binary ``(batch, n)`` frame, its number of spikes (int64). A bool is one 0/1 byte, so a
    contiguous bool frame with ``n`` a multiple of 8 is counted as the popcounts of its 8-byte words (3x faster
    than ``count_nonzero`` on MNIST frames)."""
    if frame.dtype == bool and frame.flags.c_contiguous and frame.shape[1] % 8 == 0:
        return np.bitwise_count(frame.view(np.uint64)).sum(axis=1, dtype=np.int64)
    return np.count_nonzero(frame, axis=1)


@thread_limit(1)
def simulate(model: HardwareModel, frames: Iterable[np.ndarray], batch: int, trace: bool = False) -> GoldenResult:
    """Run the network over ``frames`` (an iterable of ``(batch, n_in)`` bool arrays).

    BLAS and torch run on one thread: the per-step products are small, and on a shared machine extra threads
    spin on busy cores (benchmarks/README.md, "Golden speed").

    Each layer steps by its cell kind's golden part (:mod:`srcfpga.cells`).
    The readout steps by :func:`srcfpga.golden.readout.readout_step` at every accumulated step (with a
    ``window``, only the last ``window`` steps).
    """
    cells = [CELLS[layer.kind].part("golden") for layer in model.layers]
    states = [cell.initial_state(layer, batch) for cell, layer in zip(cells, model.layers)]
    counts = [np.zeros((batch, layer.n_out), np.int64) for layer in model.layers]
    ro_weights = model.readout.weights.T.astype(np.float64)   # sums far below 2^53: exact
    acc = np.zeros((batch, model.readout.n_classes), np.int64)
    n_input = np.zeros(batch, np.int64)
    records: list[list[tuple]] = [[] for _ in model.layers]
    readout_records = []
    ro_bias = 0 if model.readout.bias is None else model.readout.bias.astype(np.int64)
    total = None
    if model.readout.window:
        frames = list(frames)
        total = len(frames)
    for t, frame in enumerate(frames):
        n_input += count_spikes(frame)
        spikes = frame
        for index, (cell, layer) in enumerate(zip(cells, model.layers)):
            states[index], spikes, record = cell.step(layer, states[index], spikes)
            counts[index] += spikes != 0
            if trace:
                records[index].append(record)
        if model.readout.counted(t, total):
            acc = readout_step(NumpyOps, model.readout, acc, (spikes.astype(np.float64) @ ro_weights).astype(np.int64),
                               ro_bias)
        if trace:
            readout_records.append(acc)
    result = GoldenResult(np.argmax(acc, axis=1), acc, counts, n_input)
    if trace:
        result.traces = [cell.trace(rec) for cell, rec in zip(cells, records)]
        result.readout_trace = np.stack(readout_records, axis=1)
    return result


def run_golden(model: HardwareModel, pixels: np.ndarray | None = None, spikes: np.ndarray | None = None,
               steps: int | None = None, blank: int | None = None, seeds: np.ndarray | None = None,
               trace: bool = False) -> GoldenResult:
    """Simulate one batch from pixels (with per-sample encoder ``seeds``) or from spike frames."""
    steps = model.steps if steps is None else steps
    blank = model.blank if blank is None else blank
    frames = input_frames(model, pixels, spikes, steps, blank, seeds)
    batch = len(pixels) if pixels is not None else len(spikes)
    return simulate(model, frames, batch, trace)
