"""Digilent Nexys Video (XC7A200T-1SBG484C): the amaranth-boards style platform amaranth-boards lacks.

Pins and I/O standards from Digilent's Nexys Video master XDC (Rev. A): 100 MHz ``sysclk`` on R4
(LVCMOS33, bank 34), ``cpu_resetn`` on G4 (LVCMOS15, active low), 8 LEDs T14 T15 T16 U16 V15 W16 W15
Y13 (LVCMOS25, bank 13 at VADJ 2.5 V), USB-UART bridge: FPGA input ``uart_tx_in`` V18, FPGA output
``uart_rx_out`` AA19 (LVCMOS33), buttons C/D/L/R/U on B22 D22 C22 D14 F15 and switches E22 F21 G21 G22
H17 J16 K13 M17 (LVCMOS12 at the default VADJ 1.2 V jumper setting). Only what the board top needs.
"""

from __future__ import annotations

from amaranth.build import Attrs, Clock, Pins, PinsN, Resource
from amaranth.vendor import XilinxPlatform
from amaranth_boards.resources import (
    ButtonResources,
    LEDResources,
    SwitchResources,
    UARTResource,
)

__all__ = ["NexysVideoPlatform"]


class NexysVideoPlatform(XilinxPlatform):
    device = "xc7a200t"
    package = "sbg484"
    speed = "1"
    default_clk = "clk100"
    default_rst = "rst"
    resources = [
        Resource("clk100", 0, Pins("R4", dir="i"), Clock(100e6), Attrs(IOSTANDARD="LVCMOS33")),
        Resource("rst", 0, PinsN("G4", dir="i"), Attrs(IOSTANDARD="LVCMOS15")),
        *LEDResources(pins="T14 T15 T16 U16 V15 W16 W15 Y13", attrs=Attrs(IOSTANDARD="LVCMOS25")),
        *ButtonResources(pins="B22 D22 C22 D14 F15", attrs=Attrs(IOSTANDARD="LVCMOS12")),
        *SwitchResources(pins="E22 F21 G21 G22 H17 J16 K13 M17", attrs=Attrs(IOSTANDARD="LVCMOS12")),
        UARTResource(0, rx="V18", tx="AA19", attrs=Attrs(IOSTANDARD="LVCMOS33")),
    ]
    connectors = []

    @property
    def file_templates(self):
        # the configuration bank voltage settings of Digilent's master XDC
        templates = dict(super().file_templates)
        templates["{{name}}.xdc"] += "\nset_property CONFIG_VOLTAGE 3.3 [current_design]\n" \
                                     "set_property CFGBVS VCCO [current_design]\n"
        return templates
