"""The supported boards: name, Artix-7 device, Amaranth platform, clock, UART and LEDs.

``srcfpga boards`` lists them. Every board runs the network at 100 MHz: boards with a 100 MHz
oscillator clock the design from it directly, the CMOD A7 (12 MHz oscillator) through an MMCM
(:mod:`srcfpga.boards.top`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..errors import ConfigError
from .devices import Device, artix7

TARGET_MHZ = 100.0


def _arty35():
    from amaranth_boards.arty_a7 import ArtyA7_35Platform
    return ArtyA7_35Platform()


def _arty100():
    from amaranth_boards.arty_a7 import ArtyA7_100Platform
    return ArtyA7_100Platform()


def _nexys4ddr():
    from amaranth_boards.nexys4ddr import Nexys4DDRPlatform
    return Nexys4DDRPlatform()


def _cmod35():
    from amaranth_boards.cmod_a7 import CmodA7_35Platform
    return CmodA7_35Platform()


def _nexys_video():
    from .nexys_video import NexysVideoPlatform
    return NexysVideoPlatform()


@dataclass(frozen=True)
class Board:
    """A board: its device, how to make its Amaranth platform, and its I/O for the board top."""

    name: str                      # registry key, e.g. "arty-a7-35"
    title: str                     # human name
    device: Device
    platform_factory: Callable[[], object] = field(repr=False, compare=False)
    clock_mhz: float               # oscillator frequency (MHz)
    leds: int                      # user LEDs (the class is shown on them, binary)
    aliases: tuple[str, ...] = ()
    notes: str = ""

    @property
    def needs_mmcm(self) -> bool:
        """True when the oscillator is not the 100 MHz design clock (an MMCM makes it)."""
        return abs(self.clock_mhz - TARGET_MHZ) > 1e-9

    def platform(self):
        """A fresh amaranth-boards (or :mod:`srcfpga.boards.nexys_video`) platform instance."""
        return self.platform_factory()

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "aliases": list(self.aliases), "part": self.device.part,
                "clock_mhz": self.clock_mhz, "design_mhz": TARGET_MHZ, "leds": self.leds,
                "resources": {"lut": self.device.lut, "ff": self.device.ff, "lutram": self.device.lutram,
                              "carry4": self.device.carry4, "bram36": self.device.bram36, "dsp": self.device.dsp},
                "static_w": self.device.static_w, "notes": self.notes}


BOARDS: dict[str, Board] = {board.name: board for board in (
    Board("arty-a7-35", "Digilent Arty A7-35T", artix7("xc7a35t", "csg324", "1L", "i"), _arty35, 100.0, 4,
          aliases=("arty", "arty-a7", "arty35")),
    Board("arty-a7-100", "Digilent Arty A7-100T", artix7("xc7a100t", "csg324", "1L", "i"), _arty100, 100.0, 4,
          aliases=("arty100",)),
    Board("nexys-a7-100", "Digilent Nexys A7-100T / Nexys4 DDR", artix7("xc7a100t", "csg324", "1"), _nexys4ddr,
          100.0, 16, aliases=("nexys-a7", "nexys4ddr", "nexys4-ddr")),
    Board("cmod-a7-35", "Digilent CMOD A7-35T", artix7("xc7a35t", "cpg236", "1"), _cmod35, 12.0, 2,
          aliases=("cmod-a7", "cmod"), notes="12 MHz oscillator, 100 MHz from an MMCM"),
    Board("nexys-video", "Digilent Nexys Video (XC7A200T)", artix7("xc7a200t", "sbg484", "1"), _nexys_video,
          100.0, 8, aliases=("nexysvideo", "xc7a200t", "a200t"),
          notes="platform in srcfpga.boards.nexys_video (amaranth-boards has none)"),
)}


def board_names() -> list[str]:
    return list(BOARDS)


def get_board(name: str) -> Board:
    """The board called ``name`` (or one of its aliases, case-insensitive); :class:`ConfigError` otherwise."""
    key = str(name).strip().lower()
    for board in BOARDS.values():
        if key == board.name or key in board.aliases:
            return board
    raise ConfigError(f"unknown board {name!r}; valid boards: {', '.join(BOARDS)}")
