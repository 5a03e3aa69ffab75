"""Vivado report parsers (synthetic reports in Vivado's documented text format) and ``srcfpga build``."""

from __future__ import annotations

import json
import shutil

import pytest

from srcfpga.boards import get_board
from srcfpga.boards.estimate import SCHEMA_KEYS
from srcfpga.boards.vivado import (
    TIMING_FAILURE_EXIT,
    TIMING_GATE,
    TimingError,
    VivadoError,
    build_project,
    check_timing,
    ingest_reports,
    parse_path_nets,
    parse_power,
    parse_timing,
    parse_utilization,
    reports_to_estimate,
)
from srcfpga.cli import main
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_net

UTILIZATION = """\
Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
| Design       : top
| Device       : xc7a200tsbg484-1
1. Slice Logic
--------------

+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| Slice LUTs*                | 14021 |     0 |          0 |    134600 | 10.42 |
|   LUT as Logic             | 13621 |     0 |          0 |    134600 | 10.12 |
|   LUT as Memory            |   400 |     0 |          0 |     46200 |  0.87 |
| Slice Registers            |  6901 |     0 |          0 |    269200 |  2.56 |
+----------------------------+-------+-------+------------+-----------+-------+

3. Memory
---------

+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    |  14.5 |     0 |          0 |       365 |  3.97 |
|   RAMB36/FIFO*    |   14 |     0 |          0 |       365 |  3.84 |
|   RAMB18          |    1 |     0 |          0 |       730 |  0.14 |
+-------------------+------+-------+------------+-----------+-------+

4. DSP
------

+-----------+------+-------+------------+-----------+-------+
| Site Type | Used | Fixed | Prohibited | Available | Util% |
+-----------+------+-------+------------+-----------+-------+
| DSPs      |    0 |     0 |          0 |       740 |  0.00 |
+-----------+------+-------+------------+-----------+-------+

8. Primitives
-------------

+----------+------+---------------------+
| Ref Name | Used | Functional Category |
+----------+------+---------------------+
| FDRE     | 6890 |        Flop & Latch |
| LUT2     | 5000 |                 LUT |
| CARRY4   | 1212 |          CarryLogic |
+----------+------+---------------------+
"""

TIMING = """\
------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints
    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------
     {wns}       -3.210                     12                23456        0.041        0.000                      0                23456        4.020        0.000                       0                  7000


------------------------------------------------------------------------------------------------
| Clock Summary
| -------------
------------------------------------------------------------------------------------------------

Clock         Waveform(ns)       Period(ns)      Frequency(MHz)
-----         ------------       ----------      --------------
clk100_0__io  {{0.000 5.000}}      10.000          100.000
"""

POWER = """\
+--------------------------+--------------+
| Total On-Chip Power (W)  | 0.412        |
| Design Power Budget (W)  | Unspecified* |
| Power Budget Margin (W)  | NA           |
| Dynamic (W)              | 0.270        |
| Device Static (W)        | 0.142        |
| Effective TJA (C/W)      | 2.5          |
| Junction Temperature (C) | 26.0         |
| Confidence Level         | Medium       |
+--------------------------+--------------+

1.1 On-Chip Components
| Clocks                   |     0.021 |        3 |       --- |             --- |
| Slice Logic              |    <0.001 |     6473 |       --- |             --- |
"""


def test_parse_utilization():
    util = parse_utilization(UTILIZATION)
    assert util == {"lut": 14021, "ff": 6901, "bram36": 14.5, "dsp": 0, "carry4": 1212, "lut_logic": 13621,
                    "lut_memory": 400, "lut_cells": 5000, "lut_cells_small": 5000}
    with pytest.raises(VivadoError):
        parse_utilization("nothing here")


def test_parse_timing_met_and_failed():
    met = parse_timing(TIMING.format(wns="1.500"))
    assert met["meets_timing"] and met["period_ns"] == 10.0 and met["fmax_mhz"] == pytest.approx(1000 / 8.5)
    failed = parse_timing(TIMING.format(wns="-2.000"))
    assert not failed["meets_timing"] and failed["fmax_mhz"] == pytest.approx(1000 / 12.0)
    with pytest.raises(VivadoError):
        parse_timing("no summary")


def test_check_timing_stops_on_negative_slack():
    check_timing(parse_timing(TIMING.format(wns="0.000")))
    failed = parse_timing(TIMING.format(wns="-0.004"))
    with pytest.raises(TimingError, match=r"worst negative slack -0.004 ns at a 10.000 ns clock"):
        check_timing(failed)
    check_timing(failed, allow_failure=True)


@pytest.mark.parametrize("report, wns, period", [
    ("mdc-ntt/reports_a0e8a90/impl_10p0ns_timing.rpt", -0.110, 10.0),
    ("mdc-ntt/reports_1a5f92f/impl_12ns_timing.rpt", 0.113, 12.0),
    ("rv32i-alpha/reports/top_timing_summary_routed.rpt", 0.165, 10.0),
    ("cordic/reports/post_route_timing_summary.rpt", 3.947, 10.0),
])
def test_check_timing_on_real_vivado_reports(calibration_dir, report, wns, period):
    path = calibration_dir / report
    if not path.is_file():
        pytest.skip(f"{path} not available")
    timing = parse_timing(path.read_text(errors="replace"))
    assert (timing["wns_ns"], timing["period_ns"], timing["meets_timing"]) == (wns, period, wns >= 0)
    if wns < 0:
        with pytest.raises(TimingError):
            check_timing(timing)
    else:
        check_timing(timing)


@pytest.mark.parametrize("allow", [False, True])
def test_generated_script_gates_the_bitstream_on_timing(tiny_hw, tmp_path, allow):
    """The Tcl checks the routed slack right before ``write_bitstream``, unless a timing failure is allowed."""
    hw, _ = tiny_hw
    build_project(hw, get_board("arty"), tmp_path, run=False, allow_timing_failure=allow)
    tcl = (tmp_path / "top.tcl").read_text()
    assert (TIMING_GATE + "\nwrite_bitstream" in tcl) is not allow
    assert ("srcfpga_wns" in tcl) is not allow and f"exit {TIMING_FAILURE_EXIT}" in TIMING_GATE
    assert tcl.index("report_timing_summary -datasheet") < tcl.index("write_bitstream")


def test_parse_power():
    assert parse_power(POWER) == {"power_w": 0.412, "dynamic_w": 0.270, "static_w": 0.142, "junction_c": 26.0,
                                  "confidence": "Medium",
                                  "components": {"clocks": 0.021, "slice_logic": 0.001, "signals": 0.0, "bram": 0.0,
                                                 "dsp": 0.0, "io": 0.0}}
    with pytest.raises(VivadoError, match="Dynamic"):
        parse_power("| Total On-Chip Power (W)  | 0.4 |")


# Every figure the parsers read from the real Vivado reports of the calibration set (README table there)
REAL_UTILIZATION = {
    "cordic/reports/post_route_utilization.rpt": dict(lut=1058, lut_logic=1058, lut_memory=0, ff=749, bram36=0,
                                                      dsp=0, carry4=177, lut_cells=1432, lut_cells_small=1432),
    "cpu-yhc/reports/top_utilization_placed.rpt": dict(lut=87, lut_logic=75, lut_memory=12, ff=106, bram36=0, dsp=0,
                                                       carry4=7, lut_cells=99, lut_cells_small=74),
    "rv32i-alpha/reports/top_utilization_placed.rpt": dict(lut=314, lut_logic=270, lut_memory=44, ff=32, bram36=1,
                                                           dsp=0, carry4=32, lut_cells=342, lut_cells_small=217),
    "mlp-benchmark/reports/mlp_top_utilization_placed.rpt": dict(lut=811, lut_logic=811, lut_memory=0, ff=559,
                                                                 bram36=5.5, dsp=0, carry4=168, lut_cells=1205,
                                                                 lut_cells_small=996),
    "mdc-ntt/reports_1a5f92f/impl_12ns_utilization.rpt": dict(lut=73293, lut_logic=42931, lut_memory=30362, ff=25830,
                                                              bram36=10, dsp=520, carry4=3732, lut_cells=49509,
                                                              lut_cells_small=24765),
    "mdc-ntt/reports_a0e8a90/impl_10p0ns_utilization.rpt": dict(lut=79901, lut_logic=49538, lut_memory=30363,
                                                                ff=30323, bram36=10, dsp=520, carry4=3792,
                                                                lut_cells=57496, lut_cells_small=28810),
}
REAL_TIMING = {   # file: (WNS ns, period ns, routed data-path nets)
    "cordic/reports/post_route_timing_summary.rpt": (3.947, 10.0, 2),
    "cpu-yhc/reports/top_timing_summary_routed.rpt": (4.844, 10.0, 45),
    "rv32i-alpha/reports/top_timing_summary_routed.rpt": (0.165, 10.0, 130),
    "mlp-benchmark/reports/mlp_top_timing_summary_routed.rpt.head": (2.391, 10.0, 10),
    "mdc-ntt/reports_1a5f92f/impl_12ns_timing.rpt": (0.113, 12.0, 9),
    "mdc-ntt/reports_a0e8a90/impl_10p0ns_timing.rpt": (-0.110, 10.0, 28),
}
# file: (total, dynamic, static W, junction degC, confidence; clocks, slice logic, signals, BRAM, DSP, I/O W)
REAL_POWER = {
    "cordic/reports/post_route_power.rpt": (0.100, 0.030, 0.070, 25.5, "Low", 0.003, 0.007, 0.006, 0.0, 0.0, 0.013),
    "rv32i-alpha/reports/top_power_routed.rpt": (0.100, 0.028, 0.072, 25.5, "Medium", 0.001, 0.002, 0.003, 0.002, 0.0,
                                                 0.020),
    "mlp-benchmark/reports/mlp_top_power_routed.rpt": (0.096, 0.025, 0.071, 25.5, "Low", 0.003, 0.003, 0.004, 0.014,
                                                       0.0, 0.002),
    "mdc-ntt/reports_1a5f92f/impl_12ns_power.rpt": (1.892, 1.751, 0.141, 31.3, "Low", 0.139, 0.479, 0.679, 0.039,
                                                    0.364, 0.051),
    "mdc-ntt/reports_a0e8a90/impl_10p0ns_power.rpt": (2.731, 2.584, 0.147, 34.0, "Low", 0.190, 0.751, 1.062, 0.046,
                                                      0.473, 0.061),
}


@pytest.mark.parametrize("name", sorted(REAL_UTILIZATION))
def test_parse_real_utilization(calibration_dir, name):
    assert parse_utilization((calibration_dir / name).read_text(errors="replace")) == REAL_UTILIZATION[name]


@pytest.mark.parametrize("name", sorted(REAL_TIMING))
def test_parse_real_timing(calibration_dir, name):
    text = (calibration_dir / name).read_text(errors="replace")
    wns, period, n_nets = REAL_TIMING[name]
    timing = parse_timing(text)
    assert timing["wns_ns"] == wns and timing["period_ns"] == period and timing["meets_timing"] == (wns >= 0)
    assert timing["fmax_mhz"] == pytest.approx(1000 / (period - wns))
    nets = parse_path_nets(text)
    assert len(nets) == n_nets and all(fo >= 1 and 0 <= ns < 10 for fo, ns in nets)


def test_parse_real_path_nets(calibration_dir):
    """cordic's worst setup path: out_valid (fanout 2, 0.524 ns) into the 750-load clock enable (4.653 ns)."""
    text = (calibration_dir / "cordic/reports/post_route_timing_summary.rpt").read_text(errors="replace")
    assert parse_path_nets(text) == [(2, 0.524), (750, 4.653)]


@pytest.mark.parametrize("name", sorted(REAL_POWER))
def test_parse_real_power(calibration_dir, name):
    total, dynamic, static, junction, confidence, *parts = REAL_POWER[name]
    power = parse_power((calibration_dir / name).read_text(errors="replace"))
    assert (power["power_w"], power["dynamic_w"], power["static_w"]) == (total, dynamic, static)
    assert power["junction_c"] == junction and power["confidence"] == confidence
    assert list(power["components"].values()) == parts


def test_reports_in_the_estimate_schema(tmp_path):
    board = get_board("nexys-video")
    data = reports_to_estimate(board, UTILIZATION, TIMING.format(wns="-2.000"), POWER, 880.0)
    assert set(SCHEMA_KEYS) <= set(data)
    assert data["fits"] and not data["meets_timing"]
    assert data["latency_us"] == pytest.approx(880 / data["clock_mhz"])
    assert data["energy_uj"] == pytest.approx(0.412 * data["latency_us"])
    for name, text in (("top_utilization_place.rpt", UTILIZATION), ("top_timing.rpt", TIMING.format(wns="0.5")),
                       ("top_power.rpt", POWER)):
        (tmp_path / name).write_text(text)
    assert ingest_reports(tmp_path, board, 100.0)["latency_us"] == pytest.approx(1.0)
    (tmp_path / "top_power.rpt").unlink()
    with pytest.raises(VivadoError, match="top_power.rpt"):
        ingest_reports(tmp_path, board, 100.0)
    small = reports_to_estimate(get_board("arty"), UTILIZATION.replace("14021", "24021"), TIMING.format(wns="0"),
                                POWER, 10.0)
    assert not small["fits"]


@pytest.fixture(scope="module")
def tiny_hw(tmp_path_factory):
    hw = quantize_net(random_net(0, (8, 4), 3, drive=6.0), QuantConfig(weight_bits=4, encoder_generators=1))
    path = tmp_path_factory.mktemp("hw") / "tiny.hw"
    hw.save(path)
    return hw, path


@pytest.mark.skipif(shutil.which("vivado") is not None, reason="Vivado present: the build would run it")
@pytest.mark.parametrize("board", ["nexys-video", "cmod-a7-35"])
def test_build_project_without_vivado(tiny_hw, tmp_path, board):
    hw, _ = tiny_hw
    info = build_project(hw, get_board(board), tmp_path)
    assert info["vivado"] is None and info["uart_divisor"] == 868
    assert {"top.v", "top.xdc", "top.tcl", "build_top.sh"} <= set(info["files"])
    xdc, verilog = (tmp_path / "top.xdc").read_text(), (tmp_path / "top.v").read_text()
    if board == "nexys-video":
        assert "R4" in xdc and "AA19" in xdc and "V18" in xdc and "CONFIG_VOLTAGE 3.3" in xdc
    else:
        assert "MMCME2_BASE" in verilog and "62.5" in verilog
    assert get_board(board).device.part in (tmp_path / "top.tcl").read_text()


@pytest.mark.skipif(shutil.which("vivado") is not None, reason="Vivado present: the build would run it")
def test_cli_build(tiny_hw, tmp_path, capsys):
    _, path = tiny_hw
    assert main(["build", str(path), "--board", "arty", "-o", str(tmp_path / "proj"), "--baud", "921600",
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["uart_divisor"] == 109 and (tmp_path / "proj" / "srcfpga_build.json").is_file()
    assert info["fits"] is True                                   # Yosys resource check of the core


def test_cli_build_warns_when_the_design_does_not_fit(tiny_hw, tmp_path, monkeypatch, capsys):
    import importlib

    estimate = importlib.import_module("srcfpga.boards.estimate")     # the module, not the function
    _, path = tiny_hw
    monkeypatch.setattr(estimate, "fit_report", lambda model, board, config: ({"lut": 1.3, "ff": 0.2}, ["lut"]))
    assert main(["build", str(path), "--board", "arty", "-o", str(tmp_path / "proj"), "--no-vivado", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["fits"] is False
    assert captured.err.splitlines() == [
        "srcfpga: warning: the design does not fit the xc7a35ticsg324-1L of arty-a7-35: lut 130 % of the device "
        "(Yosys estimate); Vivado will fail to place it"]


def test_cli_build_runs_vivado_and_ingests_reports(tiny_hw, tmp_path, monkeypatch, capsys):
    """With a (fake) ``vivado`` on PATH, ``srcfpga build`` runs the plan's script and parses its reports."""
    _, path = tiny_hw
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "top_utilization_place.rpt").write_text(UTILIZATION)
    (reports / "top_timing.rpt").write_text(TIMING.format(wns="1.000"))
    (reports / "top_power.rpt").write_text(POWER)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "vivado"
    fake.write_text(f"#!/bin/sh\ntest -f top.tcl || exit 3\ncp {reports}/*.rpt .\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    out = tmp_path / "proj"
    assert main(["build", str(path), "--board", "nexys-video", "-o", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["vivado"] == str(fake)
    report = info["report"]
    assert set(SCHEMA_KEYS) <= set(report) and report["source"] == "vivado"
    assert report["lut"] == 14021 and report["power_w"] == 0.412 and report["meets_timing"]
    fake.write_text("#!/bin/sh\nexit 1\n")
    assert main(["build", str(path), "--board", "nexys-video", "-o", str(tmp_path / "proj2")]) == 2
    assert "Vivado failed" in capsys.readouterr().err


def test_cli_build_stops_when_timing_fails(tiny_hw, tmp_path, monkeypatch, capsys):
    """A (fake) Vivado run whose routed design misses timing: no bitstream and one error line, unless
    ``--allow-timing-failure``; the slack is in the JSON either way. The fake follows the Tcl gate: it exits
    like the gate when the script has one, else writes the bitstream."""
    _, path = tiny_hw
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "top_utilization_place.rpt").write_text(UTILIZATION)
    (reports / "top_timing.rpt").write_text(TIMING.format(wns="-0.250"))
    (reports / "top_power.rpt").write_text(POWER)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "vivado"
    fake.write_text(f"#!/bin/sh\ncp {reports}/*.rpt .\ngrep -q srcfpga_wns top.tcl && exit {TIMING_FAILURE_EXIT}\n"
                    "touch top.bit\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    out = tmp_path / "proj"
    assert main(["build", str(path), "--board", "arty", "-o", str(out), "--json"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("srcfpga: error: timing not met: routed worst negative slack -0.250 ns")
    assert not (out / "top.bit").exists()
    assert json.loads((out / "srcfpga_build.json").read_text())["timing"]["wns_ns"] == -0.25
    assert main(["build", str(path), "--board", "arty", "-o", str(out), "--allow-timing-failure", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (out / "top.bit").exists() and info["timing"]["wns_ns"] == -0.25 and not info["timing"]["meets_timing"]
    assert info["report"]["wns_ns"] == -0.25 and not info["report"]["meets_timing"]
