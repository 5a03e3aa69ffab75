"""Hardware figures of one sweep point: cycle model, board estimates, RTL agreement.

* Cycles: :class:`srcfpga.hdl.LatencyModel` fed with the golden model's spikes (trace mode) on the
  first ``samples`` test images; latency at the 100 MHz target clock unless a board estimate says
  otherwise.
* Board: resources, Fmax, power and energy per inference from :mod:`srcfpga.boards` (when a board is
  asked for).
* RTL: the generated Verilog simulated with cocotb on a few images and compared bit for bit with the
  golden model (:func:`srcfpga.sim.regression.regress`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Dataset
from ..errors import ConfigError
from ..evaluate import sample_seeds
from ..golden import run_golden
from ..quant import HardwareModel
from .config import SweepPoint

TARGET_MHZ = 100.0
TRACE_BATCH = 128


def weight_memory_bits(hw: HardwareModel) -> int:
    """Bits of weight storage: every hidden layer's weights plus the readout's."""
    hidden = sum(layer.weights.size * layer.weight_bits for layer in hw.layers)
    return int(hidden + hw.readout.weights.size * hw.readout.weight_bits)


def layer_spikes(hw: HardwareModel, pixels: np.ndarray, point: SweepPoint, seeds: np.ndarray
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Input spikes ``(B, T, n_in)`` and every layer's spikes ``(B, T, n)`` of the golden model."""
    result = run_golden(hw, pixels=pixels, steps=point.stimulus, blank=point.blank, seeds=seeds, trace=True)
    inputs = hw.encoder.encode(pixels, point.stimulus, point.blank, seeds)
    return inputs, [trace.spikes for trace in result.traces]


def cycle_figures(hw: HardwareModel, data: Dataset, point: SweepPoint, seed: int, lanes: int | None,
                  samples: int) -> dict[str, Any]:
    """Mean cycles per inference and per step of the cycle model over the first ``samples`` test images."""
    from ..hdl import HdlConfig, LatencyModel

    model = LatencyModel(hw, HdlConfig(lanes=lanes))
    n = min(samples, len(data))
    cycles = []
    for start in range(0, n, TRACE_BATCH):
        pixels = data.images[start:min(n, start + TRACE_BATCH)]
        inputs, spikes = layer_spikes(hw, pixels, point, sample_seeds(seed, start, len(pixels)))
        cycles.append(model.inference_cycles(inputs, spikes, point.blank))
    cycles = np.concatenate(cycles)
    per_inference = float(cycles.mean())
    return {"lanes": model.config.lanes, "cycles_per_inference": per_inference,
            "cycles_per_step": float((cycles - model.load_cycles).mean() / point.total),
            "latency_us": per_inference / TARGET_MHZ}


def rtl_figures(hw: HardwareModel, data: Dataset, point: SweepPoint, seed: int, lanes: int | None,
                samples: int, simulator: str) -> dict[str, Any]:
    """Agreement of the generated RTL with the golden model on the first ``samples`` test images."""
    from ..hdl import HdlConfig
    from ..sim.regression import NO_GAPS, regress

    n = min(samples, len(data))
    report, _ = regress(hw, HdlConfig(lanes=lanes), pixels=data.images[:n], seeds=sample_seeds(seed, 0, n),
                        steps=point.stimulus, blank=point.blank, labels=data.labels[:n], simulator=simulator,
                        backpressure=NO_GAPS)
    return {"rtl_samples": report.samples, "rtl_agreement": report.agreement,
            "rtl_mismatches": report.mismatches, "rtl_cycles_per_inference": report.cycles_per_inference}


def board_figures(hw: HardwareModel, board: str, data: Dataset, point: SweepPoint, seed: int,
                  lanes: int | None, samples: int) -> dict[str, Any]:
    """Resources / Fmax / power / energy of ``hw`` on ``board`` from :mod:`srcfpga.boards`."""
    raise ConfigError(f"board estimates for {board!r} are not available: srcfpga.boards offers no "
                      f"estimate API in this installation")


def check_board(board: str) -> None:
    """Raise :class:`ConfigError` unless :mod:`srcfpga.boards` can estimate ``board``."""
    raise ConfigError(f"board estimates for {board!r} are not available: srcfpga.boards offers no "
                      f"estimate API in this installation")
