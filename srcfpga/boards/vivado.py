"""``srcfpga build``: the Vivado project of a board top via Amaranth's build plan, and Vivado's reports.

:func:`build_project` elaborates :class:`~srcfpga.boards.top.BoardTop` for a board and extracts the
build plan (``top.v``, ``top.xdc``, ``top.tcl``, ``build_top.sh``) into a directory without
Vivado. When ``vivado`` is on ``PATH`` (and ``run`` is set) it runs the plan's script and ingests
the reports that Amaranth's TCL writes (``top_utilization_place.rpt``, ``top_timing.rpt``,
``top_power.rpt``) into the estimate JSON schema (:func:`reports_to_estimate`).

The script stops before ``write_bitstream`` when the routed design's worst setup slack is negative
(:data:`TIMING_GATE`, exit status :data:`TIMING_FAILURE_EXIT`), unless the build allows a timing
failure; :func:`check_timing` turns the timing report into that decision on the Python side.

Report formats parsed (Vivado 2018-2024 text output):
* ``report_utilization``: table rows ``| Slice LUTs | used | fixed | ... | available | util% |``,
  ``LUT as Logic``, ``LUT as Memory``, ``Slice Registers``, ``Block RAM Tile`` (in BRAM36 units),
  ``DSPs``, and the Primitives table (``| CARRY4 | used | ... |``, ``LUT1`` .. ``LUT6`` cells);
* ``report_timing_summary``: the Design Timing Summary row ``WNS(ns) TNS(ns) ...`` (first numeric
  row after the ``WNS(ns)`` header) and the clock table ``clk  {0.000 5.000}  10.000  100.000``;
  :func:`parse_path_nets`: the routed nets (fanout, delay) of the setup paths' data paths;
* ``report_power``: ``| Total On-Chip Power (W) | x |``, ``| Dynamic (W) | x |``,
  ``| Device Static (W) | x |``, ``| Junction Temperature (C) | x |``, ``| Confidence Level | x |``
  and the On-Chip Components rows (``| Clocks | x | ...``; Vivado prints ``<0.001`` as 0.001).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import SrcFpgaError, ToolNotFoundError
from .registry import TARGET_MHZ, Board

TOP = "top"
TIMING_FAILURE_EXIT = 3         # exit status of the Vivado script when the routed design misses timing

# Tcl inserted before the script's write_bitstream (after the board's own script_before_bitstream override):
# the worst setup slack (ns) of the routed design; a negative (or missing) slack ends the run without a bitstream.
TIMING_GATE = f"""\
# srcfpga: no bitstream from a design that misses timing (srcfpga build --allow-timing-failure omits this)
set srcfpga_wns [get_property SLACK [get_timing_paths -delay_type max -max_paths 1 -nworst 1]]
if {{$srcfpga_wns eq "" || $srcfpga_wns < 0}} {{
    puts "srcfpga: timing not met: routed worst negative slack '$srcfpga_wns' ns, no bitstream written"
    exit {TIMING_FAILURE_EXIT}
}}"""


class VivadoError(SrcFpgaError):
    """Vivado failed, or its reports are missing or unreadable."""


class TimingError(VivadoError):
    """The routed design misses timing (negative worst slack) and the build does not allow it."""


def _number(text: str) -> float:
    return float(text.replace("<", "").strip())


def parse_utilization(text: str) -> dict:
    """LUT, FF, BRAM36 (tiles), DSP and CARRY4 counts from a ``report_utilization`` text."""

    def row(label: str) -> float | None:
        match = re.search(rf"^\|\s*{re.escape(label)}\*?\s*\|\s*([\d.]+)\s*\|", text, re.M)
        return float(match.group(1)) if match else None

    lut = row("Slice LUTs") if row("Slice LUTs") is not None else row("CLB LUTs")
    ff = row("Slice Registers") if row("Slice Registers") is not None else row("CLB Registers")
    cells = {f"LUT{k}": row(f"LUT{k}") or 0 for k in range(1, 7)}
    out = {"lut": lut, "ff": ff, "bram36": row("Block RAM Tile"), "dsp": row("DSPs"), "carry4": row("CARRY4"),
           "lut_logic": row("LUT as Logic"), "lut_memory": row("LUT as Memory"),
           "lut_cells": sum(cells.values()), "lut_cells_small": sum(cells.values()) - cells["LUT6"]}
    if out["lut"] is None or out["ff"] is None:
        raise VivadoError("utilization report: no 'Slice LUTs' / 'Slice Registers' rows")
    return {k: (int(v) if v is not None and k not in ("bram36",) and float(v).is_integer() else v)
            for k, v in out.items()}


def parse_timing(text: str, period_ns: float | None = None) -> dict:
    """Worst negative slack and the clock period from ``report_timing_summary``; Fmax = 1 / (period - WNS)."""
    match = re.search(r"WNS\(ns\)\s+TNS\(ns\).*?\n\s*-+.*?\n\s*(-?[\d.]+)\s+(-?[\d.]+)", text, re.S)
    if not match:
        raise VivadoError("timing report: no Design Timing Summary (WNS) table")
    wns = float(match.group(1))
    if period_ns is None:
        clock = re.search(r"^\S+\s+\{[\d.\s]+\}\s+([\d.]+)\s+([\d.]+)\s*$", text, re.M)
        period_ns = float(clock.group(1)) if clock else 1000.0 / TARGET_MHZ
    return {"wns_ns": wns, "period_ns": period_ns, "fmax_mhz": 1000.0 / (period_ns - wns),
            "meets_timing": wns >= 0}


def check_timing(timing: dict, allow_failure: bool = False) -> None:
    """Raise :class:`TimingError` for a :func:`parse_timing` result with negative worst slack, unless
    ``allow_failure``."""
    if timing["meets_timing"] or allow_failure:
        return
    raise TimingError(f"timing not met: routed worst negative slack {timing['wns_ns']:.3f} ns at a "
                      f"{timing['period_ns']:.3f} ns clock (Fmax {timing['fmax_mhz']:.1f} MHz); no bitstream "
                      f"written (--allow-timing-failure writes it anyway)")


def gate_bitstream(tcl: str) -> str:
    """Amaranth's Vivado script ``tcl`` with :data:`TIMING_GATE` right before its ``write_bitstream``."""
    command = "\nwrite_bitstream "
    if tcl.count(command) != 1:
        raise VivadoError(f"the Vivado script has {tcl.count(command)} write_bitstream commands, expected one")
    return tcl.replace(command, f"\n{TIMING_GATE}{command}")


def parse_power(text: str) -> dict:
    """Total, dynamic and device static power (W) from ``report_power``."""

    def row(label: str) -> float:
        match = re.search(rf"\|\s*{re.escape(label)}\s*\|\s*(<?[\d.]+)", text)
        if not match:
            raise VivadoError(f"power report: no '{label}' row")
        return _number(match.group(1))

    components = {}
    for label, key in (("Clocks", "clocks"), ("Slice Logic", "slice_logic"), ("Signals", "signals"),
                       ("Block RAM", "bram"), ("DSPs", "dsp"), ("I/O", "io")):
        match = re.search(rf"^\|\s*{re.escape(label)}\s*\|\s*(<?[\d.]+)\s*\|", text, re.M)
        components[key] = _number(match.group(1)) if match else 0.0
    confidence = re.search(r"\|\s*Confidence Level\s*\|\s*(\w+)", text)
    return {"power_w": row("Total On-Chip Power (W)"), "dynamic_w": row("Dynamic (W)"),
            "static_w": row("Device Static (W)"), "junction_c": row("Junction Temperature (C)"),
            "confidence": confidence.group(1) if confidence else None, "components": components}


def parse_path_nets(text: str) -> list[tuple[int, float]]:
    """(fanout, routed delay ns) of every routed net inside the data paths of a ``report_timing_summary``'s
    setup paths (the clock paths and the nets of I/O buffers left out)."""
    nets = []
    for block in re.split(r"\n(?=Slack)", text):
        if not re.search(r"Path Type:\s+Setup", block) or "Location" not in block:
            continue
        sections = re.split(r"\n\s*-{20,}[^\n]*", block.split("Location", 1)[1])
        if len(sections) < 3:
            continue
        driver = ""
        for line in sections[2].splitlines():
            cell = re.match(r"\s+\S+\s+([A-Z][A-Z0-9_]+)\s+\(", line)
            if cell:
                driver = cell.group(1)
            net = re.search(r"net \(fo=(\d+), routed\)\s+([\d.]+)", line)
            if net and driver not in ("IBUF", "OBUF", "BUFG"):
                nets.append((int(net.group(1)), float(net.group(2))))
    return nets


def reports_to_estimate(board: Board, utilization: str, timing: str, power: str, cycles_per_inference: float) -> dict:
    """The estimate schema filled from Vivado's report texts (latency from the cycle model)."""
    util, tim, pwr = parse_utilization(utilization), parse_timing(timing), parse_power(power)
    dev = board.device
    clock = TARGET_MHZ if tim["meets_timing"] else tim["fmax_mhz"]
    latency_us = cycles_per_inference / clock
    over = [k for k, cap in (("lut", dev.lut), ("ff", dev.ff), ("bram36", dev.bram36), ("dsp", dev.dsp))
            if util.get(k) is not None and util[k] > cap]
    return {"board": board.name, "part": dev.part, **{k: util[k] for k in ("lut", "ff", "bram36", "dsp")},
            "carry4": util.get("carry4"), "fmax_mhz": tim["fmax_mhz"], "cycles_per_inference": cycles_per_inference,
            "latency_us": latency_us, "static_w": pwr["static_w"], "dynamic_w": pwr["dynamic_w"],
            "power_w": pwr["power_w"], "energy_uj": pwr["power_w"] * latency_us, "fits": not over,
            "clock_mhz": clock, "meets_timing": tim["meets_timing"], "wns_ns": tim["wns_ns"], "source": "vivado"}


def build_project(model, board: Board, out_dir: str | Path, config=None, baud: int = 115200,
                  run: bool = True, allow_timing_failure: bool = False) -> dict:
    """Write the Vivado project of ``model`` on ``board`` into ``out_dir``; run Vivado if present and ``run``.

    The script writes no bitstream when the routed design misses timing, unless ``allow_timing_failure``;
    after a run, ``info["timing"]`` holds the routed slack (:func:`parse_timing`) and a timing failure
    that is not allowed raises :class:`TimingError` (``srcfpga_build.json`` is written first)."""
    from ..hdl import HdlConfig
    from .top import BoardTop

    config = HdlConfig() if config is None else config
    top = BoardTop(model, board, config, baud)
    platform = board.platform()
    plan = platform.build(top, name=TOP, do_build=False)
    if not allow_timing_failure:
        plan.files[f"{TOP}.tcl"] = gate_bitstream(plan.files[f"{TOP}.tcl"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan.extract(str(out))
    files = sorted(p.name for p in out.iterdir())
    info = {"board": board.name, "part": board.device.part, "dir": str(out), "files": files, "baud": baud,
            "uart_divisor": top.divisor, "hdl_config": top.core.config.to_dict(), "vivado": None,
            "allow_timing_failure": allow_timing_failure, "timing": None}
    vivado = shutil.which("vivado")
    if vivado and run:
        timing_report = out / f"{TOP}_timing.rpt"
        timing_report.unlink(missing_ok=True)             # a report of an earlier run says nothing about this one
        script = out / f"build_{TOP}.sh"
        result = subprocess.run(["bash", script.name], cwd=out, capture_output=True, text=True)
        (out / "vivado_stdout.log").write_text(result.stdout + result.stderr)
        info["vivado"] = vivado
        info["timing"] = parse_timing(timing_report.read_text(errors="replace")) if timing_report.is_file() else None
        (out / "srcfpga_build.json").write_text(json.dumps(info, indent=2) + "\n")
        if info["timing"] is not None:
            check_timing(info["timing"], allow_timing_failure)
        if result.returncode:
            raise VivadoError(f"Vivado failed (exit {result.returncode}); log {out / 'vivado_stdout.log'}")
        return info
    (out / "srcfpga_build.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def ingest_reports(out_dir: str | Path, board: Board, cycles_per_inference: float) -> dict:
    """Parse the reports a Vivado run left in ``out_dir`` into the estimate schema."""
    out = Path(out_dir)
    names = [f"{TOP}_utilization_place.rpt", f"{TOP}_timing.rpt", f"{TOP}_power.rpt"]
    missing = [n for n in names if not (out / n).is_file()]
    if missing:
        raise VivadoError(f"Vivado reports missing in {out}: {', '.join(missing)}")
    texts = [(out / n).read_text(errors="replace") for n in names]
    return reports_to_estimate(board, *texts, cycles_per_inference)


def require_vivado() -> str:
    path = shutil.which("vivado")
    if path is None:
        raise ToolNotFoundError("vivado is not on PATH (the project files were written; run build_top.sh "
                                "where Vivado is installed)")
    return path
