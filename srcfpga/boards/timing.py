"""Static timing estimate of a Yosys-mapped Artix-7 netlist: critical path, logic depth, Fmax.

Delay model (all numbers in ns, speed grade -1; docs/energy.md "Timing model" cites them):

* **Cell delays** are the Project X-Ray (prjxray-db, artix7 ``timings/*.sdf``) values that Yosys
  carries in the ``specify`` blocks of ``share/xilinx/cells_sim.v``: LUT input-to-output by pin
  (I5 0.127 ... I0 0.642), CARRY4 pin-to-pin (CI->CO3 0.114, S0->CO3 0.508, ...), MUXF7/F8,
  FDRE clock-to-Q 0.303 and setup (CE 0.109, R 0.404), RAMB36E1 clock-to-DO without output
  register 2.454 and setups (ADDR 0.566, DI 0.737, WE 0.532), LUT-RAM address-to-output as a LUT.
  As Vivado's router does, the latest-arriving signals of a LUT are given its fastest pins.
* **Routing**: every net costs ``ROUTE_BASE + ROUTE_PER_FANOUT_OCTAVE * log2(fanout)`` (0.35 +
  0.12 log2 fo: 0.35 ns for a point-to-point net, 0.71 ns at fanout 8, 1.15 ns at fanout 100),
  except the dedicated in-slice connections (CARRY4 CO3 -> next CI, LUT -> MUXF7 -> MUXF8,
  LUT -> CARRY4 S/DI), which cost 0. This is a placement-free stand-in for routed net delays of
  Vivado timing reports on Artix-7 -1 (typically 0.3-0.6 ns at low fanout, 1-2 ns at high fanout).
* **Clock**: period >= path + setup + ``CLOCK_UNCERTAINTY`` (0.15 ns jitter + skew).
* **Speed grades**: ``-2`` delays x 0.87, ``-3`` x 0.78 (the ratios of DS181's fabric switching
  characteristics); ``-1``/``-1L`` as characterised.

Start points: flip-flop outputs, block-RAM outputs, top-level inputs (assumed registered outside).
End points: flip-flop and RAM inputs, top-level outputs. Accuracy against placed and routed Vivado
results: measured by ``benchmarks/calibration.py`` (docs/energy.md, "Checked against Vivado"); routing
is the unknown.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field

ROUTE_BASE = 0.35
ROUTE_PER_FANOUT_OCTAVE = 0.12
CLOCK_UNCERTAINTY = 0.15
SPEED_SCALE = {"1": 1.0, "1L": 1.0, "2": 0.87, "2L": 0.87, "3": 0.78}
FF_CLK_Q = 0.303
FF_SETUP = {"D": 0.0, "CE": 0.109, "R": 0.404, "S": 0.404, "CLR": 0.404, "PRE": 0.404}
LUT_PIN_DELAYS = (0.127, 0.238, 0.407, 0.472, 0.631, 0.642)   # fastest (I5) .. slowest (I0)
BRAM_CLK_DO = 2.454
BRAM_SETUP = {"ADDR": 0.566, "DI": 0.737, "WE": 0.532, "EN": 0.45, "REGCE": 0.36, "RST": 0.342}
LUTRAM_SETUP = {"DI": 0.453, "D": 0.453, "WE": 0.654, "ADDRD": 0.245, "A": 0.245}
SRL_CLK_Q = 1.3
MUXF = {"MUXF7": {"I0": 0.217, "I1": 0.223, "S": 0.296}, "MUXF8": {"I0": 0.104, "I1": 0.094, "S": 0.273}}
# CARRY4 (input, output) -> ns, prjxray-db artix7 CLBLL_L.sdf via Yosys cells_sim.v
CARRY4 = {
    ("CYINIT", "O0"): 0.482, ("S0", "O0"): 0.223, ("CI", "O0"): 0.222,
    ("CYINIT", "O1"): 0.598, ("DI0", "O1"): 0.407, ("S0", "O1"): 0.400, ("S1", "O1"): 0.205, ("CI", "O1"): 0.334,
    ("CYINIT", "O2"): 0.584, ("DI0", "O2"): 0.556, ("DI1", "O2"): 0.537, ("S0", "O2"): 0.523, ("S1", "O2"): 0.558,
    ("S2", "O2"): 0.226, ("CI", "O2"): 0.239,
    ("CYINIT", "O3"): 0.642, ("DI0", "O3"): 0.615, ("DI1", "O3"): 0.596, ("DI2", "O3"): 0.438, ("S0", "O3"): 0.582,
    ("S1", "O3"): 0.618, ("S2", "O3"): 0.330, ("S3", "O3"): 0.227, ("CI", "O3"): 0.313,
    ("CYINIT", "CO0"): 0.536, ("DI0", "CO0"): 0.379, ("S0", "CO0"): 0.340, ("CI", "CO0"): 0.271,
    ("CYINIT", "CO1"): 0.494, ("DI0", "CO1"): 0.465, ("DI1", "CO1"): 0.445, ("S0", "CO1"): 0.433,
    ("S1", "CO1"): 0.469, ("CI", "CO1"): 0.157,
    ("CYINIT", "CO2"): 0.592, ("DI0", "CO2"): 0.540, ("DI1", "CO2"): 0.520, ("DI2", "CO2"): 0.356,
    ("S0", "CO2"): 0.512, ("S1", "CO2"): 0.548, ("S2", "CO2"): 0.292, ("CI", "CO2"): 0.228,
    ("CYINIT", "CO3"): 0.580, ("DI0", "CO3"): 0.526, ("DI1", "CO3"): 0.507, ("DI2", "CO3"): 0.398,
    ("DI3", "CO3"): 0.385, ("S0", "CO3"): 0.508, ("S1", "CO3"): 0.528, ("S2", "CO3"): 0.378, ("S3", "CO3"): 0.380,
    ("CI", "CO3"): 0.114,
}
UNKNOWN_DELAY = 0.6


@dataclass
class TimingResult:
    """Critical path of the netlist at speed grade -1 (``scale_timing`` derives other grades)."""

    critical_ns: float          # data path delay of the worst path, start clock edge to endpoint
    setup_ns: float             # endpoint setup time of that path
    period_ns: float            # critical + setup + clock uncertainty: the minimum clock period
    fmax_mhz: float
    logic_levels: int           # LUT + MUXF cells on the critical path
    carry4_on_path: int         # CARRY4 cells on the critical path
    route_ns: float             # routing part of ``critical_ns``
    max_lut_levels: int         # deepest LUT chain between registers anywhere in the design
    start: str                  # start point (net name) of the critical path
    end: str                    # end point (cell type.pin of the endpoint and net)
    path: list[str] = field(default_factory=list)   # "TYPE@arrival_ns" of the cells along the path
    speed: str = "1"
    unknown_cells: dict[str, int] = field(default_factory=dict)
    worst_by_register: list = field(default_factory=list)   # [(end register, ns incl. setup)], worst 10

    def to_dict(self) -> dict:
        return asdict(self)


def _route(fanout: int) -> float:
    return ROUTE_BASE + ROUTE_PER_FANOUT_OCTAVE * math.log2(max(1, fanout))


def _kind(cell_type: str) -> str:
    if re.fullmatch(r"LUT[1-6]", cell_type):
        return "lut"
    if re.fullmatch(r"FD[RSCP]E(_1)?", cell_type):
        return "ff"
    if cell_type.startswith("RAMB"):
        return "bram"
    if cell_type in MUXF:
        return "muxf"
    if cell_type == "CARRY4":
        return "carry"
    if cell_type.startswith("RAM"):
        return "lutram"
    if cell_type.startswith("SRL"):
        return "srl"
    if cell_type in ("INV", "BUFG", "IBUF", "OBUF", "BUF", "VCC", "GND"):
        return "wire"
    if cell_type.startswith("DSP48"):
        return "dsp"
    return "unknown"


def _register_name(cell: dict, names: dict[int, str]) -> str:
    """The register (or RAM) a sequential cell belongs to: its output net name without the bit index."""
    for port, bits in cell["connections"].items():
        if cell.get("port_directions", {}).get(port) == "output":
            for bit in bits:
                if isinstance(bit, int) and bit in names:
                    return re.sub(r"\[\d+\]$", "", names[bit])
    return cell["type"]


def _in_pin(cell: dict, bit: int) -> str:
    for port, bits in cell["connections"].items():
        if cell.get("port_directions", {}).get(port) != "output" and bit in bits:
            return f"{port}{bits.index(bit)}" if len(bits) > 1 else port
    return ""


def analyze_netlist(netlist: dict, top: str) -> tuple[dict, dict]:
    """Critical path and logic depth of Yosys ``write_json`` output ``netlist`` (module ``top``).

    Returns ``(timing, extras)``: the -1 speed grade :class:`TimingResult` as a dict and facts the
    power model uses (``bram_always_enabled``: RAMB cells whose read-port enable is constant 1).
    """
    module = netlist["modules"][top]
    cells = module["cells"]
    names: dict[int, str] = {}
    for name, net in module.get("netnames", {}).items():
        hidden = name.startswith("$") or net.get("hide_name")
        for offset, bit in enumerate(net["bits"]):
            if isinstance(bit, int) and (bit not in names or (not hidden and names[bit].startswith("$"))):
                names[bit] = name if len(net["bits"]) == 1 else f"{name}[{offset}]"
    driver: dict[int, tuple[str, str]] = {}
    sinks: dict[int, list[tuple[str, str]]] = defaultdict(list)
    arrival: dict[int, float] = {}
    levels: dict[int, int] = {}
    origin: dict[int, tuple] = {}        # bit -> (cell, driving input bit) for path recovery
    for port in module["ports"].values():
        if port["direction"] == "input":
            for bit in port["bits"]:
                if isinstance(bit, int):
                    arrival[bit], levels[bit] = 0.0, 0
    unknown: dict[str, int] = defaultdict(int)
    bram_always = 0
    for cname, cell in cells.items():
        kind = _kind(cell["type"])
        if kind == "unknown":
            unknown[cell["type"]] += 1
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            for index, bit in enumerate(bits):
                if not isinstance(bit, int):
                    continue
                pin = f"{port}{index}" if len(bits) > 1 else port
                if dirs.get(port) == "output":
                    driver[bit] = (cname, pin)
                else:
                    sinks[bit].append((cname, pin))
        if kind == "bram":
            enables = [b for p, bits in cell["connections"].items() if p in ("ENARDEN", "ENBWREN") for b in bits]
            if enables and all(b == "1" for b in enables):
                bram_always += 1
        # sequential outputs are start points
        if kind in ("ff", "bram", "srl", "dsp"):
            launch = {"ff": FF_CLK_Q, "bram": BRAM_CLK_DO, "srl": SRL_CLK_Q, "dsp": 1.0}[kind]
            for port, bits in cell["connections"].items():
                if dirs.get(port) == "output":
                    for bit in bits:
                        if isinstance(bit, int):
                            arrival[bit], levels[bit] = launch, 0
                            origin[bit] = (cname, None)
    fanout = {bit: len(s) for bit, s in sinks.items()}

    def hop(bit: int, sink_cell: str, sink_pin: str) -> float:
        src = driver.get(bit)
        if src is None:          # top-level input or constant
            return 0.0
        src_type, sink_type = cells[src[0]]["type"], cells[sink_cell]["type"]
        if src_type == "CARRY4" and src[1] == "CO3" and sink_type == "CARRY4" and sink_pin == "CI":
            return 0.0
        if _kind(src_type) == "lut" and (sink_type == "MUXF7" and sink_pin in ("I0", "I1")
                                          or sink_type == "CARRY4" and sink_pin[:2] in ("S0", "S1", "S2", "S3", "DI")):
            return 0.0
        if src_type == "MUXF7" and sink_type == "MUXF8" and sink_pin in ("I0", "I1"):
            return 0.0
        if src_type == "INV":
            return 0.0        # absorbed into the next LUT by Vivado
        return _route(fanout.get(bit, 1))

    # combinational cells in topological order
    comb = {c for c, cell in cells.items() if _kind(cell["type"]) in ("lut", "muxf", "carry", "lutram", "wire", "unknown")}
    inputs_of: dict[str, list[tuple[str, int]]] = {}
    waiting: dict[str, int] = {}
    users: dict[int, list[str]] = defaultdict(list)
    for c in comb:
        cell, dirs = cells[c], cells[c].get("port_directions", {})
        ins = []
        for port, bits in cell["connections"].items():
            if dirs.get(port) == "output":
                continue
            for index, bit in enumerate(bits):
                if isinstance(bit, int):
                    ins.append((f"{port}{index}" if len(bits) > 1 else port, bit))
        inputs_of[c] = ins
        pending = {bit for _, bit in ins if bit not in arrival and driver.get(bit, (None,))[0] in comb}
        waiting[c] = len(pending)
        for bit in pending:
            users[bit].append(c)
    queue = deque(c for c in comb if waiting[c] == 0)
    done = 0
    while queue:
        c = queue.popleft()
        done += 1
        cell = cells[c]
        ctype, kind, dirs = cell["type"], _kind(cell["type"]), cell.get("port_directions", {})
        seen = [(pin, bit, arrival.get(bit, 0.0) + hop(bit, c, pin), levels.get(bit, 0)) for pin, bit in inputs_of[c]]
        outs = [(port, index, bit) for port, bits in cell["connections"].items() if dirs.get(port) == "output"
                for index, bit in enumerate(bits) if isinstance(bit, int)]
        for port, index, bit in outs:
            opin = f"{port}{index}" if len([1 for p, _, _ in outs if p == port]) > 1 else port
            best, best_in, best_lv = 0.0, None, 0
            if kind == "lut" or (kind == "lutram" and port.startswith(("DO", "SPO", "DPO", "O"))):
                candidates = [s for s in seen if kind == "lut" or s[0].startswith(("ADDR", "A", "DPRA"))]
                candidates.sort(key=lambda s: s[2])            # latest arrival gets the fastest pin
                for rank, (pin, ibit, t, lv) in enumerate(reversed(candidates)):
                    d = LUT_PIN_DELAYS[min(rank, 5)]
                    if t + d > best or best_in is None:
                        best, best_in, best_lv = t + d, ibit, lv + 1
            elif kind == "muxf":
                for pin, ibit, t, lv in seen:
                    d = MUXF[ctype].get(pin, 0.3)
                    if t + d >= best:
                        best, best_in, best_lv = t + d, ibit, lv + 1
            elif kind == "carry":
                for pin, ibit, t, lv in seen:
                    d = CARRY4.get((pin, opin))
                    if d is not None and t + d >= best:
                        best, best_in, best_lv = t + d, ibit, lv
            else:   # wire / unknown
                extra = 0.0 if kind == "wire" else UNKNOWN_DELAY
                for pin, ibit, t, lv in seen:
                    if t + extra >= best:
                        best, best_in, best_lv = t + extra, ibit, lv + (kind == "unknown")
            arrival[bit], levels[bit] = best, best_lv
            origin[bit] = (c, best_in)
            for user in users.get(bit, ()):
                waiting[user] -= 1
                if waiting[user] == 0:
                    queue.append(user)
    # end points
    worst = (-1.0, 0.0, None, "", 0)
    max_levels = 0
    endpoints = []
    by_register: dict[str, float] = {}
    for c, cell in cells.items():
        kind, dirs = _kind(cell["type"]), cell.get("port_directions", {})
        if kind not in ("ff", "bram", "lutram", "srl", "dsp"):
            continue
        for port, bits in cell["connections"].items():
            if dirs.get(port) == "output" or port in ("C", "CLK", "WCLK", "CLKARDCLK", "CLKBWRCLK"):
                continue
            if kind == "ff":
                setup = FF_SETUP.get(port, 0.0)
            elif kind == "bram":
                setup = next((v for k, v in BRAM_SETUP.items() if port.startswith(k) or k in port), 0.5)
            elif kind == "lutram":
                if port.startswith(("ADDRA", "ADDRB", "ADDRC", "DPRA")):
                    continue
                setup = next((v for k, v in LUTRAM_SETUP.items() if port.startswith(k)), 0.4)
            else:
                setup = 0.5
            for bit in bits:
                if isinstance(bit, int) and bit in arrival:
                    endpoints.append((arrival[bit] + hop(bit, c, port), setup, bit, f"{cell['type']}.{port}",
                                      levels.get(bit, 0)))
                    register = _register_name(cell, names)
                    total = arrival[bit] + hop(bit, c, port) + setup
                    if total > by_register.get(register, -1.0):
                        by_register[register] = total
    for port in module["ports"].values():
        if port["direction"] == "output":
            for bit in port["bits"]:
                if isinstance(bit, int) and bit in arrival:
                    endpoints.append((arrival[bit] + (_route(1) if bit in driver else 0.0), 0.0, bit, "output", levels.get(bit, 0)))
    for t, setup, bit, where, lv in endpoints:
        max_levels = max(max_levels, lv)
        if t + setup > worst[0] + worst[1]:
            worst = (t, setup, bit, where, lv)
    t, setup, bit, where, lv = worst
    path_types, carry, route = [], 0, 0.0
    cursor, steps = bit, 0
    while cursor is not None and cursor in origin and steps < 10_000:
        c, prev = origin[cursor]
        ctype = cells[c]["type"]
        path_types.append(f"{ctype}@{arrival.get(cursor, 0.0):.2f}")
        carry += ctype == "CARRY4"
        if prev is None:
            break
        route += hop(prev, c, _in_pin(cells[c], prev))
        cursor, steps = prev, steps + 1
    path_types.reverse()
    start = names.get(cursor, str(cursor)) if cursor is not None else "input"
    logic = sum(1 for p in path_types if re.match(r"(LUT[1-6]|MUXF[78]|RAM\w*M|RAM\w*X1D)@", p))
    period = max(t, 0.0) + setup + CLOCK_UNCERTAINTY
    result = TimingResult(critical_ns=round(t, 4), setup_ns=setup, period_ns=round(period, 4),
                          fmax_mhz=round(1000.0 / period, 2) if period > 0 else 0.0, logic_levels=logic,
                          carry4_on_path=carry, route_ns=round(route, 4), max_lut_levels=max_levels, start=start,
                          end=f"{where} {names.get(bit, bit)}", path=path_types, speed="1",
                          unknown_cells=dict(unknown),
                          worst_by_register=[(name, round(ns, 3)) for name, ns in
                                             sorted(by_register.items(), key=lambda kv: -kv[1])[:10]])
    return result.to_dict(), {"bram_always_enabled": bram_always, "combinational_cells": len(comb),
                              "levelized": done}


def scale_timing(timing: dict, speed: str) -> dict:
    """``timing`` (speed grade -1) rescaled to grade ``speed`` ("1", "1L", "2", "3")."""
    scale = SPEED_SCALE.get(str(speed), 1.0)
    out = dict(timing)
    out["critical_ns"] = round(timing["critical_ns"] * scale, 4)
    out["route_ns"] = round(timing["route_ns"] * scale, 4)
    out["setup_ns"] = round(timing["setup_ns"] * scale, 4)
    period = out["critical_ns"] + out["setup_ns"] + CLOCK_UNCERTAINTY
    out["period_ns"] = round(period, 4)
    out["fmax_mhz"] = round(1000.0 / period, 2) if period > 0 else 0.0
    out["speed"] = str(speed)
    return out
