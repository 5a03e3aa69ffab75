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
TRACE_BATCH = 256   # images per cycle-model batch: the model steps the whole batch once per clock cycle


def weight_memory_bits(hw: HardwareModel) -> int:
    """Bits of weight storage: every hidden layer's weights plus the readout's."""
    hidden = sum(layer.weight_count * layer.weight_bits for layer in hw.layers)
    return int(hidden + hw.readout.weights.size * hw.readout.weight_bits)


def layer_spikes(hw: HardwareModel, pixels: np.ndarray, point: SweepPoint, seeds: np.ndarray
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Input spikes ``(B, T, n_in)`` and every layer's spikes ``(B, T, n)`` of the golden model."""
    inputs = hw.encoder.encode(pixels, point.stimulus, point.blank, seeds)     # encoded once, for both
    result = run_golden(hw, spikes=inputs, steps=point.stimulus, blank=point.blank, trace=True)
    return inputs, [trace.spikes for trace in result.traces]


def cycle_figures(hw: HardwareModel, data: Dataset, point: SweepPoint, seed: int, lanes: int | None,
                  samples: int) -> dict[str, Any]:
    """Mean cycles per inference and per step of the cycle model over the first ``samples`` test images."""
    from ..hdl import HdlConfig, LatencyModel, default_input

    model = LatencyModel(hw, HdlConfig(lanes=lanes, input=default_input(hw)))
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
    from ..hdl import HdlConfig, default_input
    from ..sim.regression import NO_GAPS, regress

    n = min(samples, len(data))
    seeds, kind = sample_seeds(seed, 0, n), default_input(hw)
    inputs = {"pixels": data.images[:n]} if kind == "pixels" else \
        {"spikes": hw.encoder.encode(data.images[:n], point.stimulus, point.blank, seeds)}   # host-side encoder
    report, _ = regress(hw, HdlConfig(lanes=lanes, input=kind), **inputs, seeds=seeds, steps=point.stimulus,
                        blank=point.blank, labels=data.labels[:n], simulator=simulator, backpressure=NO_GAPS)
    return {"rtl_samples": report.samples, "rtl_agreement": report.agreement,
            "rtl_mismatches": report.mismatches, "rtl_cycles_per_inference": report.cycles_per_inference,
            "rtl_cycle_model_exact": report.latency_model_exact}


def _boards():
    """The estimator of :mod:`srcfpga.boards` and its board lookup; :class:`ConfigError` when absent."""
    try:
        from ..boards.estimate import estimate
        from ..boards.registry import get_board
    except ImportError as exc:
        raise ConfigError(f"board estimates are not available in this installation (srcfpga.boards: {exc})") from None
    return estimate, get_board


def check_board(board: str) -> str:
    """The canonical name of ``board``; :class:`ConfigError` for an unknown board or without estimator."""
    _, get_board = _boards()
    return get_board(board).name


def board_capacity(board: str) -> dict[str, int]:
    """LUT / FF / BRAM36 / DSP available on the device of ``board`` (the plots' capacity lines)."""
    _, get_board = _boards()
    device = get_board(board).device
    return {name: getattr(device, name) for name in ("lut", "ff", "bram36", "dsp")}


ESTIMATE_FIELDS = ("lut", "ff", "bram36", "dsp", "fmax_mhz", "power_w", "energy_uj", "fits", "latency_us")


def board_figures(hw: HardwareModel, board: str, dataset: str, data_dir: str | None, point: SweepPoint, seed: int,
                  lanes: int | None, samples: int) -> dict[str, Any]:
    """Resources / Fmax / power / energy of ``hw`` on ``board`` (:func:`srcfpga.boards.estimate.estimate`).

    The estimator measures activity on the first ``samples`` test images (its default when 0) at this
    point's step setting; synthesis is cached by Verilog, so the step settings of one width share it.
    The row's ``latency_us`` becomes the estimate's (at the estimated clock when Fmax < 100 MHz).
    """
    estimate, _ = _boards()
    est = estimate(hw, board, lanes=lanes, steps=point.stimulus, blank=point.blank, dataset=dataset,
                   data_dir=data_dir, limit=samples or None, seed=seed)
    figures = {name: getattr(est, name) for name in ESTIMATE_FIELDS}
    figures.update(board=est.board, lanes=est.hdl_config.get("lanes", lanes), estimate=est.to_dict(),
                   cycles_per_inference=est.cycles_per_inference)
    return figures
