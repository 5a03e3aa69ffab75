"""The SRC neuron update in integer arithmetic: the executable specification.

Written once against a tiny ``ops`` interface so the QAT forward pass in torch runs the very same
sequence of operations (``srcfpga.cells.src.qat`` supplies float64 ops with straight-through gradients).
All values are integers in the layer unit; ``>>`` is an arithmetic (floor) shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ...golden.arith import NumpyOps, synaptic_sum


class IntOps(Protocol):
    def floor_shift(self, value: Any, shift: int) -> Any: ...
    def clip(self, value: Any, lo: Any, hi: Any) -> Any: ...
    def where(self, cond: Any, a: Any, b: Any) -> Any: ...


def src_update(ops: IntOps, layer: Any, i: Any, h: Any, hs: Any, syn: Any) -> tuple[Any, Any, Any]:
    """One timestep of one SRC layer; returns the new ``(i, h, hs)``. Spikes are :func:`spike` of ``h``.

    ``syn`` is the synaptic sum ``W s_in`` (integer weight units); ``layer`` provides the constants and
    the piecewise-linear ``tables`` of :class:`srcfpga.quant.SRCLayerQ`. Order of operations
    (docs/fixed-point.md, "SRC step")::

        i   = sat(i - ((decay_num * i) >> decay_shift) + syn * 2^weight_shift, current_bits)
        x   = compression(i)                                  rho * tanh(i / rho)
        h'  = activation(x + r*h + rs*hs + bias)              tanh(...)
        g   = gate(h)                                         (1 - zs) 2^gate_shift, the sigmoid gate
        hs' = hs + ((g * (h - hs)) >> gate_shift)             hs = zs hs + (1 - zs) h
    """
    tables = layer.tables
    i_lo, i_hi = layer.current_range
    i = ops.clip(i - ops.floor_shift(layer.decay_num * i, layer.decay_shift)
                 + syn * (1 << layer.weight_shift), i_lo, i_hi)
    x = tables["compression"].apply(ops, i)
    h_next = tables["activation"].apply(ops, x + layer.r * h + layer.rs * hs + layer.bias)
    gate = tables["gate"].apply(ops, h)
    hs_next = hs + ops.floor_shift(gate * (h - hs), layer.gate_shift)
    return i, h_next, hs_next


def spike(h: Any, half: Any) -> Any:
    """The SRC spike threshold, ``s = h >= half``: for numpy arrays and torch tensors (the golden model, QAT's
    forward) as for Amaranth values (the HDL neuron, :mod:`srcfpga.cells.src.neuron`)."""
    return h >= half


@dataclass
class LayerTrace:
    """Per-step record of one layer, arrays of shape ``(batch, T, n_out)``."""

    spikes: np.ndarray   # bool
    i: np.ndarray        # int32
    h: np.ndarray        # int32
    hs: np.ndarray       # int32

    def states(self) -> dict[str, np.ndarray]:
        """The neuron state words after each step, named like the HDL's state trace fields."""
        return {"i": self.i, "h": self.h, "hs": self.hs}

class SRCGolden:
    """The golden part of the SRC kind (:class:`srcfpga.cells.CellKind`): state ``(i, h, hs)``, output
    spikes ``h' >= half``."""

    @staticmethod
    def initial_state(layer, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.broadcast_to(v, (batch, layer.n_out)).copy() for v in (layer.init_i, layer.init_h, layer.init_hs))

    @staticmethod
    def step(layer, state: tuple, x: np.ndarray) -> tuple[tuple, np.ndarray, tuple]:
        """One step of one layer for boolean inputs ``x`` ``(batch, n_in)``: the new state, the spikes and the
        trace record ``(spikes, i, h, hs)``."""
        i, h, hs = src_update(NumpyOps, layer, *state, synaptic_sum(layer, x))
        spikes = spike(h, layer.half)
        return (i, h, hs), spikes, (spikes, i, h, hs)

    @staticmethod
    def trace(records: list[tuple]) -> LayerTrace:
        return LayerTrace(*(np.stack(column, axis=1) for column in zip(*records)))
