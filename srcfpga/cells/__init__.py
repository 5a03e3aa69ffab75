"""Recurrent cell kinds as plug-ins: one package per family, one registration line per kind.

``CELLS[name]`` is the :class:`~srcfpga.cells.registry.CellKind` of a kind; an unknown name is a
:class:`~srcfpga.errors.ConfigError` naming the known kinds.
"""

from .registry import CellKind, CellRegistry

CELLS = CellRegistry()

CELLS.register(CellKind("src", "Spiking Recurrent Cell (De Geeter, Ernst, Drion)", layer="srcfpga.cells.src.layer:SRCLayerQ",
                        golden="srcfpga.cells.src.golden:SRCGolden", engine="srcfpga.cells.src.engine:SRCLayerEngine",
                        prove="srcfpga.cells.src.spec:obligation"))
CELLS.register(CellKind("bmru", "Bistable Memory Recurrent Unit", layer="srcfpga.cells.mru.layer:BMRULayerQ",
                        golden="srcfpga.cells.mru.golden:MRUGolden", engine="srcfpga.cells.mru.engine:BMRULayerEngine",
                        prove="srcfpga.cells.mru.spec:obligation"))
CELLS.register(CellKind("cmru", "Cumulative Memory Recurrent Unit", layer="srcfpga.cells.mru.layer:CMRULayerQ",
                        golden="srcfpga.cells.mru.golden:MRUGolden",
                        engine="srcfpga.cells.mru.cmru_engine:CMRULayerEngine", prove="srcfpga.cells.mru.spec:obligation"))

__all__ = ["CELLS", "CellKind", "CellRegistry"]
