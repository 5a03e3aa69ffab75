"""One CMRU layer: the BMRU datapath with a saturating up/down counter as the state.

Everything up to the comparator pair is :class:`srcfpga.cells.mru.engine.BMRUNeuronDatapath` (same
synaptic sums, same stages, same :class:`srcfpga.hdl.layer_engine.LayerEngine`); stage 2 counts
instead of setting (docs/fixed-point.md, section 6; ``V = count_bits``, ``S = 2^(V-1) - 1``)::

    q' = clamp(q + (1 if set else -1 if reset else 0), -S, S)        set = c > |beta|, reset = c < -|beta|

``q`` is a ``V``-bit two's-complement word per unit in the state memory. The counts leave as bit
planes (:mod:`srcfpga.hdl.planes`): one mask of ``V * lanes`` bits per lane group, bit ``p * lanes + b``
= bit ``p`` of lane ``b``'s ``q'``; the consumer's weight ROM holds one pre-scaled column per plane.
A count of 0 sends no event; a step costs the consumer ``sum over groups of ceil(popcount / k)``
cycles, where the popcount counts the ones of the two's-complement counts (``-1`` has ``V`` of them).
"""

from __future__ import annotations

from amaranth import Mux, Value, signed
from amaranth.lib import data

from ...hdl.arith import clamp
from ...hdl.layer_engine import LayerEngine
from .engine import BMRUNeuronDatapath
from .layer import CMRULayerQ


class CMRUNeuronDatapath(BMRUNeuronDatapath):
    """The arithmetic of one CMRU layer's unit: the BMRU's, with the count as the state and the output."""

    @classmethod
    def lane_state(cls, layer) -> data.StructLayout:
        """One unit's state word ``q``: the ``count_bits``-bit two's-complement count."""
        return data.StructLayout({"q": signed(layer.count_bits)})

    def next_state(self, q: Value, set_: Value, reset: Value) -> Value:
        """``clamp(q + step, -S, S)``, ``step`` in {-1, 0, +1}, computed one bit wider than ``q``."""
        limit = self.layer.count_max
        return clamp(q + Mux(set_, 1, Mux(reset, -1, 0)), -limit, limit)


class CMRULayerEngine(LayerEngine):
    """A time-multiplexed CMRU layer (:class:`LayerEngine` with :class:`CMRUNeuronDatapath`)."""

    datapath_type, layer_types = CMRUNeuronDatapath, (CMRULayerQ,)
