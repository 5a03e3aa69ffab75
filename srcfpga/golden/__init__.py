"""The golden model: bit-exact integer semantics of a HardwareModel (docs/fixed-point.md)."""

from .network import GoldenResult, LayerTrace, run_golden, simulate, synaptic_sum
from .src_cell import NumpyOps, src_update

__all__ = ["GoldenResult", "LayerTrace", "NumpyOps", "run_golden", "simulate", "src_update", "synaptic_sum"]
