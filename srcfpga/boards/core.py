"""Synthesis wrapper: the network with only its functional ports (no trace / readout probes).

:class:`srcfpga.hdl.NetworkTop` exposes ``trace`` and ``readout`` observation ports for the cocotb
regression. Left as top-level outputs they keep their payload logic (step and group counters, the
readout accumulator copy) alive in synthesis, which real boards never wire to pins. :class:`NetworkCore`
forwards ``start``, ``pixels``/``frames`` and ``result`` only, so ``synth_xilinx`` counts the
resources a board build would keep.
"""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from ..errors import ConfigError
from ..hdl import HdlConfig, NetworkTop
from ..quant.hwmodel import HardwareModel

CORE_NAME = "srcfpga_core"


class NetworkCore(wiring.Component):
    """``NetworkTop`` with the ``start``, input (``pixels`` or ``frames``) and ``result`` streams only."""

    def __init__(self, model: HardwareModel, config: HdlConfig = HdlConfig()):
        if config.trace_states:
            self._MustUse__silence = True       # refused, never elaborated: no "created but never used" warning
            raise ConfigError("trace_states is a verification option: board builds never carry the state trace")
        self.network = NetworkTop(model, config)
        members = {name: member for name, member in self.network.signature.members.items()
                   if name in ("start", "pixels", "frames", "result")}
        super().__init__(members)

    @property
    def config(self) -> HdlConfig:
        return self.network.config

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = net = self.network
        for name, member in self.signature.members.items():
            if member.flow == In:
                wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(net, name))
            else:
                wiring.connect(m, getattr(net, name), wiring.flipped(getattr(self, name)))
        return m
