"""Verilog generation: one file, a manifest, and a clean Verilator lint (a real Verilator run)."""

import json

from srcfpga.hdl import HdlConfig, generate_verilog, lint
from srcfpga.testing import random_hardware_model


def test_verilog_manifest_and_lint(tmp_path):
    model = random_hardware_model(2, (20, 12, 6), 5)
    manifest = generate_verilog(model, HdlConfig(lanes=4), tmp_path)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert manifest["model_hash"] == model.content_hash
    assert manifest["config"] == {"lanes": 4, "memory": "auto", "input": "pixels", "spikes_per_cycle": 2,
                                  "trace_states": False, "pack_masks": False}
    assert not any(name.startswith("states") for name in manifest["ports"])
    ports = manifest["ports"]
    assert ports["pixels__payload"] == {"dir": "in", "width": 8 * 64}
    assert ports["trace__1__payload"]["width"] == 36 + 4
    assert ports["result__payload"]["width"] == 32 + 8 + 4 * 24     # cycles, label, 4 accumulators
    assert "module srcfpga_net" in (tmp_path / "srcfpga_net.v").read_text()
    lint(tmp_path / "srcfpga_net.v")


def test_frame_input_ports(tmp_path):
    manifest = generate_verilog(random_hardware_model(1, (70, 10), 4), HdlConfig(input="frames"), tmp_path)
    assert manifest["ports"]["frames__payload"]["width"] == 64
    assert "pixels__payload" not in manifest["ports"]
    assert manifest["layout"]["beats_per_step"] == 2


def test_hdl_source_hash_covers_the_cells_datapaths(monkeypatch):
    """A cell's engine and neuron are HDL too: an edit under srcfpga/cells changes the key of every cache of
    generated Verilog (simulation builds and the estimate's synthesis)."""
    from pathlib import Path

    import srcfpga.cells
    from srcfpga.hdl.verilog import hdl_source_hash

    before = hdl_source_hash()
    neuron = Path(srcfpga.cells.__file__).parent / "src" / "neuron.py"
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read_bytes(path) + (b"#" if path == neuron else b""))
    assert hdl_source_hash() != before
