"""Recurrent cell kinds as plug-ins: one package per family, one registration line per kind.

``CELLS[name]`` is the :class:`~srcfpga.cells.registry.CellKind` of a kind; an unknown name is a
:class:`~srcfpga.errors.ConfigError` naming the known kinds.
"""

from .registry import CellKind, CellOption, CellRegistry, NetDefaults, cli_option

CELLS = CellRegistry()

_SRC = "srcfpga.cells.src"
_MRU = "srcfpga.cells.mru"
_MRU_NN = dict(config=f"{_MRU}.config:MRUCellConfig", qat=f"{_MRU}.qat:forward", prove=f"{_MRU}.spec:obligation",
               testing=f"{_MRU}.testing:random_model")


def _mru_defaults(**schedule) -> NetDefaults:
    return NetDefaults(config_key="mru", encodings=("rows", "rate", "frames"), steps=28, blank=0,
                       options=("readout_window",), readout_bias=True, grad_clip=1.0, **schedule)


CELLS.register(CellKind("src", "Spiking Recurrent Cell (De Geeter, Ernst, Drion)", layer=f"{_SRC}.layer:SRCLayerQ",
                        golden=f"{_SRC}.golden:SRCGolden", engine=f"{_SRC}.engine:SRCLayerEngine",
                        config=f"{_SRC}.config:SRCCellConfig", float=f"{_SRC}.float:src_layer",
                        quantizer=f"{_SRC}.quantize:QUANTIZER", qat=f"{_SRC}.qat:forward",
                        defaults=NetDefaults(config_key="src", encodings=("rate", "rows"), steps=40, blank=4,
                                             options=("readout_trainable",)),
                        prove=f"{_SRC}.spec:obligation", testing=f"{_SRC}.testing:random_model"))
CELLS.register(CellKind("bmru", "Bistable Memory Recurrent Unit", layer=f"{_MRU}.layer:BMRULayerQ",
                        golden=f"{_MRU}.golden:MRUGolden", engine=f"{_MRU}.engine:BMRULayerEngine", **_MRU_NN,
                        float=f"{_MRU}.float:bmru_layer", quantizer=f"{_MRU}.quantize:BMRU_QUANTIZER",
                        defaults=_mru_defaults(schedule=f"{_MRU}.float:anneal_eps", schedule_state=(("eps", 0.0),))))
CELLS.register(CellKind("cmru", "Cumulative Memory Recurrent Unit", layer=f"{_MRU}.layer:CMRULayerQ",
                        golden=f"{_MRU}.golden:MRUGolden", engine=f"{_MRU}.cmru_engine:CMRULayerEngine", **_MRU_NN,
                        float=f"{_MRU}.float:cmru_layer", quantizer=f"{_MRU}.quantize:CMRU_QUANTIZER",
                        defaults=_mru_defaults(schedule_state=(("eps", 1.0),))))
CELLS.register(CellKind("alphacmru", "Relaxed Cumulative Memory Recurrent Unit (Brandoit et al.)",
                        layer=f"{_MRU}.layer:AlphaCMRULayerQ", golden=f"{_MRU}.golden:MRUGolden",
                        engine=f"{_MRU}.alpha_engine:AlphaCMRULayerEngine", config=f"{_MRU}.config:AlphaCMRUCellConfig",
                        qat=f"{_MRU}.qat:forward", float=f"{_MRU}.float:alphacmru_layer",
                        quantizer=f"{_MRU}.quantize:ALPHACMRU_QUANTIZER", defaults=_mru_defaults(),
                        prove=f"{_MRU}.spec:obligation", testing=f"{_MRU}.testing:random_model"))
_LIF = "srcfpga.cells.lif"
_LIF_PARTS = dict(golden=f"{_LIF}.golden:LIFGolden", engine=f"{_LIF}.engine:LIFLayerEngine",
                  config=f"{_LIF}.config:LIFCellConfig", float=f"{_LIF}.float:lif_layer",
                  quantizer=f"{_LIF}.quantize:QUANTIZER", qat=f"{_LIF}.qat:forward", prove=f"{_LIF}.spec:obligation",
                  testing=f"{_LIF}.testing:random_model",
                  defaults=NetDefaults(config_key="lif", encodings=("rate", "rows", "frames"), steps=25, blank=0,
                                       options=("readout_window", "readout_decay", "readout_bias"), lr=5e-3, grad_clip=1.0))
CELLS.register(CellKind("if", "Integrate-and-fire (LIF without leak)", layer=f"{_LIF}.layer:IFLayerQ", **_LIF_PARTS))
CELLS.register(CellKind("lif", "Leaky integrate-and-fire (snnTorch Leaky, RLeaky)", layer=f"{_LIF}.layer:LIFLayerQ",
                        **_LIF_PARTS))
CELLS.register(CellKind("cubalif", "Current-based LIF (snnTorch Synaptic, RSynaptic)",
                        layer=f"{_LIF}.layer:CubaLIFLayerQ", **_LIF_PARTS))

__all__ = ["CELLS", "CellKind", "CellOption", "CellRegistry", "NetDefaults", "cli_option"]
