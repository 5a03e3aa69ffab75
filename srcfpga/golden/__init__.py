"""The golden model: bit-exact integer semantics of a HardwareModel (docs/fixed-point.md)."""

from .network import (
    GoldenResult,
    StateMismatch,
    first_state_mismatch,
    run_golden,
    simulate,
)

__all__ = ["GoldenResult", "StateMismatch", "first_state_mismatch", "run_golden", "simulate"]
