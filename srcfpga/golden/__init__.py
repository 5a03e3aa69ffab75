"""The golden model: bit-exact integer semantics of a HardwareModel (docs/fixed-point.md)."""

from .network import (GoldenResult, LayerTrace, StateMismatch, first_state_mismatch, run_golden, simulate,
                      synaptic_sum)
from .src_cell import NumpyOps, src_update

__all__ = ["GoldenResult", "LayerTrace", "NumpyOps", "StateMismatch", "first_state_mismatch", "run_golden", "simulate",
           "src_update", "synaptic_sum"]
