"""The cycle model of the generated network: cycles per timestep and per inference.

Blocks hand timesteps over with a ``last`` flag, so they work on different timesteps at once. With
``beats(t)`` the cycles an accumulator needs for step ``t`` (one per ``k = spikes_per_cycle``
spikes of a mask, at least one per step), ``G = ceil(n / lanes)`` update groups, the recurrence is::

    source    Q(t) = Q(t-1) + (1 if blank pixel step else ceil(n_in / 2E))   masks of t produced
    layer l   A(t) = max(A(t-1) + beats(t), Q_in(t) + 2, R(t-1) + 1)  last spike of t accumulated
              S(t) = max(A(t) + 2, R(t-1) + 1 + h)                     update pass starts
                     (h = 3 when G < 4: a state word is written back 3 cycles after it is read)
              R(t) = S(t) + G - 1                                      hold register released
              Q_out(t) = S(t) + G + 2                                  last mask of t leaves
    readout   A(t) = max(A(t-1) + beats(t), Q_in(t) + 2, A(t-1) + 2)
    result    = A(T-1) + 3 + n_classes                                 saturating add, argmax scan

and the inference takes ``load + result`` cycles (``load`` = image beats for pixel input). The model
ignores FIFO back-pressure (layer output FIFOs hold a whole step), see docs/hardware.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..quant.hwmodel import HardwareModel
from .config import HdlConfig

WRITE_BACK_DELAY = 3      # cycles from a state word's read to its write-back
EXTRACT_DELAY = 2         # cycles from a mask in a FIFO to its first event accepted by the accumulator


def step_beats(spikes: np.ndarray, width: int, per_cycle: int) -> np.ndarray:
    """Accumulator beats per step for boolean ``spikes`` ``(..., T, n)`` arriving as ``width``-bit masks."""
    spikes = np.asarray(spikes, bool)
    n = spikes.shape[-1]
    pad = -n % width
    if pad:
        spikes = np.concatenate([spikes, np.zeros(spikes.shape[:-1] + (pad,), bool)], axis=-1)
    popcounts = spikes.reshape(spikes.shape[:-1] + (-1, width)).sum(axis=-1)
    return np.maximum(1, (-(-popcounts // per_cycle)).sum(axis=-1))


@dataclass(frozen=True)
class LatencyModel:
    model: HardwareModel
    config: HdlConfig

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", self.config.resolve(self.model))

    @property
    def mask_width(self) -> int:
        return 2 * self.model.encoder.generators

    @property
    def rounds(self) -> int:
        return self.model.encoder.rounds(self.model.input_size)

    @property
    def groups(self) -> list[int]:
        """Update groups (cycles of the update pass) of each layer."""
        return [-(-layer.n_out // self.config.lanes) for layer in self.model.layers]

    @property
    def load_cycles(self) -> int:
        return self.rounds if self.config.input == "pixels" else 0

    def inference_cycles(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray], blank: int) -> np.ndarray:
        """Cycles from ``start`` accepted to ``result`` valid, per sample for batched ``(B, T, n)`` spikes."""
        k, lanes = self.config.spikes_per_cycle, self.config.lanes
        input_spikes = np.asarray(input_spikes, bool)
        steps = input_spikes.shape[-2]
        blank_cycles = 1 if self.config.input == "pixels" else self.rounds   # frames: the host sends every beat
        source_cycles = np.where(np.arange(steps) < blank, blank_cycles, self.rounds)
        ready = self.load_cycles + np.cumsum(source_cycles) + 1           # Q(t) of the source
        ready = np.broadcast_to(ready, input_spikes.shape[:-1]).astype(np.int64)
        beats = step_beats(input_spikes, self.mask_width, k)
        for spikes, groups in zip(layer_spikes, self.groups):
            hazard = WRITE_BACK_DELAY if groups <= WRITE_BACK_DELAY else 0
            accepted = np.zeros(input_spikes.shape[:-2], np.int64)
            released = np.full_like(accepted, -1)
            out = np.empty_like(ready)
            for t in range(steps):
                accepted = np.maximum.reduce([accepted + beats[..., t], ready[..., t] + EXTRACT_DELAY, released + 1])
                start = np.maximum(accepted + 2, released + 1 + hazard)
                released = start + groups - 1
                out[..., t] = start + groups + 2
            ready, beats = out, step_beats(spikes, lanes, k)
        accepted = np.zeros(input_spikes.shape[:-2], np.int64)
        for t in range(steps):
            accepted = np.maximum.reduce([accepted + beats[..., t], ready[..., t] + EXTRACT_DELAY, accepted + 2 * (t > 0)])
        return accepted + 3 + self.model.readout.n_classes

    def cycles_per_step(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray], blank: int) -> float:
        """Mean cycles per timestep over a batch (the throughput figure; excludes the load)."""
        steps = np.asarray(input_spikes).shape[-2]
        return float(np.mean(self.inference_cycles(input_spikes, layer_spikes, blank) - self.load_cycles) / steps)

    def describe(self) -> dict:
        """The model's constants (written into the Verilog manifest)."""
        return {"mask_width": self.mask_width, "rounds_per_step": self.rounds,
                "spikes_per_cycle": self.config.spikes_per_cycle, "lanes": self.config.lanes,
                "update_groups": self.groups, "load_cycles": self.load_cycles}
