"""Float and quantization-aware torch models, training and import."""

from .checkpoint import load_model, save_model
from .config import NetConfig, SRCCellConfig
from .importer import import_ulg
from .network import SRCNet

__all__ = ["NetConfig", "SRCCellConfig", "SRCNet", "import_ulg", "load_model", "save_model"]
