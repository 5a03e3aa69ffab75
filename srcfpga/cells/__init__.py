"""Recurrent cell kinds as plug-ins: one package per family, one registration line per kind.

``CELLS[name]`` is the :class:`~srcfpga.cells.registry.CellKind` of a kind; an unknown name is a
:class:`~srcfpga.errors.ConfigError` naming the known kinds.
"""

from .registry import CellKind, CellRegistry

CELLS = CellRegistry()

CELLS.register(CellKind("src", "Spiking Recurrent Cell (De Geeter, Ernst, Drion)", layer="srcfpga.cells.src.layer:SRCLayerQ",
                        golden="srcfpga.cells.src.golden:SRCGolden", engine="srcfpga.cells.src.engine:SRCLayerEngine"))
CELLS.register(CellKind("bmru", "Bistable Memory Recurrent Unit", layer="srcfpga.cells.mru.layer:BMRULayerQ",
                        golden="srcfpga.cells.mru.golden:MRUGolden", engine="srcfpga.cells.mru.engine:BMRULayerEngine"))
CELLS.register(CellKind("cmru", "Cumulative Memory Recurrent Unit", layer="srcfpga.cells.mru.layer:CMRULayerQ",
                        golden="srcfpga.cells.mru.golden:MRUGolden",
                        engine="srcfpga.cells.mru.cmru_engine:CMRULayerEngine"))
CELLS.register(CellKind("if", "Integrate-and-fire (LIF without leak)", layer="srcfpga.cells.lif.layer:IFLayerQ",
                        golden="srcfpga.cells.lif.golden:LIFGolden", engine="srcfpga.cells.lif.engine:LIFLayerEngine"))
CELLS.register(CellKind("lif", "Leaky integrate-and-fire (snnTorch Leaky / RLeaky)", layer="srcfpga.cells.lif.layer:LIFLayerQ",
                        golden="srcfpga.cells.lif.golden:LIFGolden", engine="srcfpga.cells.lif.engine:LIFLayerEngine"))
CELLS.register(CellKind("cubalif", "Current-based LIF (snnTorch Synaptic / RSynaptic)",
                        layer="srcfpga.cells.lif.layer:CubaLIFLayerQ", golden="srcfpga.cells.lif.golden:LIFGolden",
                        engine="srcfpga.cells.lif.engine:LIFLayerEngine"))

__all__ = ["CELLS", "CellKind", "CellRegistry"]
