"""Formal verification of the generated hardware: :mod:`srcfpga.verify.prove` (``srcfpga prove``)."""

from .prove import (
    Counterexample,
    LayerProof,
    Obligation,
    ProofReport,
    SymbolicOps,
    prove_layer,
    prove_model,
)

__all__ = ["Counterexample", "LayerProof", "Obligation", "ProofReport", "SymbolicOps", "prove_layer", "prove_model"]
