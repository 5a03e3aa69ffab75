"""Board registry, devices, the Nexys Video platform, ``srcfpga boards``."""

from __future__ import annotations

import json

import pytest

from srcfpga.boards import BOARDS, get_board
from srcfpga.boards.registry import TARGET_MHZ
from srcfpga.cli import main
from srcfpga.errors import ConfigError

EXPECTED_PARTS = {"arty-a7-35": "xc7a35ticsg324-1L", "arty-a7-100": "xc7a100ticsg324-1L",
                  "nexys-a7-100": "xc7a100tcsg324-1", "cmod-a7-35": "xc7a35tcpg236-1",
                  "nexys-video": "xc7a200tsbg484-1"}


def test_boards_and_parts():
    assert {name: board.device.part for name, board in BOARDS.items()} == EXPECTED_PARTS
    big = get_board("nexys-video").device
    assert (big.lut, big.ff, big.bram36, big.dsp) == (134_600, 269_200, 365, 740)
    small = get_board("arty").device
    assert (small.lut, small.ff, small.bram36, small.dsp) == (20_800, 41_600, 50, 90)
    for board in BOARDS.values():
        dev = board.device
        assert dev.lut == 4 * dev.carry4 and dev.ff == 2 * dev.lut and 0 < dev.static_w < 0.5


@pytest.mark.parametrize("alias,name", [("ARTY", "arty-a7-35"), ("nexys4ddr", "nexys-a7-100"),
                                        ("cmod", "cmod-a7-35"), ("xc7a200t", "nexys-video"), (" Nexys-Video ", "nexys-video")])
def test_aliases(alias, name):
    assert get_board(alias).name == name


def test_unknown_board_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        get_board("zedboard")
    for name in BOARDS:
        assert name in str(info.value)


def test_platforms_construct_and_clock():
    for board in BOARDS.values():
        platform = board.platform()
        assert platform.device.startswith(board.device.device)
        assert platform.package == board.device.package
        assert platform.default_clk_frequency == pytest.approx(board.clock_mhz * 1e6)
        assert board.needs_mmcm == (board.clock_mhz != TARGET_MHZ)
        platform.lookup("uart", 0)
        for i in range(board.leds):
            platform.lookup("led", i)


def test_nexys_video_pins():
    platform = get_board("nexys-video").platform()
    assert platform.lookup("clk100", 0).ios[0].names == ["R4"]
    uart = platform.lookup("uart", 0)
    pins = {sub.name: sub.ios[0].names for sub in uart.ios}
    assert pins == {"rx": ["V18"], "tx": ["AA19"]}
    assert [platform.lookup("led", i).ios[0].names[0] for i in range(8)] == "T14 T15 T16 U16 V15 W16 W15 Y13".split()


def test_cli_boards(capsys):
    assert main(["boards", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in data["boards"]] == list(BOARDS)
    assert main(["boards"]) == 0
    assert "nexys-video" in capsys.readouterr().out


def test_cli_unknown_board_one_line(capsys, tmp_path):
    assert main(["estimate", str(tmp_path / "none.hw"), "--board", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "valid boards: arty-a7-35" in err[0]
