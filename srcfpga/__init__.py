"""srcfpga: spiking / bistable recurrent cells from PyTorch to verified Artix-7 hardware.

Pipeline: ``nn`` (float and QAT torch models) -> ``quant`` (the HardwareModel contract) ->
``golden`` (bit-exact integer reference) -> ``hdl`` (Amaranth) -> ``sim`` (cocotb) -> ``boards``.
"""

from .errors import SrcFpgaError

__version__ = "0.1.0"
__all__ = ["SrcFpgaError", "__version__"]
