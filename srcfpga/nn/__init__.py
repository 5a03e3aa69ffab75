"""Float and quantization-aware torch models of every cell kind, training and import."""

from .checkpoint import load_model, save_model
from .config import NetConfig
from .importer import import_ulg
from .network import Net

__all__ = ["Net", "NetConfig", "import_ulg", "load_model", "save_model"]
