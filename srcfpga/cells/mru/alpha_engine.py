"""One alphaCMRU layer: the CMRU datapath whose event adds ``+-2^r`` to the leaked state ``q - (q >> r)``.

Everything up to the comparator pair and the bit-plane output is
:class:`srcfpga.cells.mru.cmru_engine.CMRUNeuronDatapath`; stage 2 computes (docs/fixed-point.md, section 6;
``r = relax_shift``, ``S = 2^(count_bits-1) - 1``)::

    q' = clamp(q - (q >> r) + (2^r if set else -2^r), -S, S)   if set or reset,   else q

The relaxation ``1 - 2^-r`` is a constant arithmetic shift and one subtraction per lane: no multiplier.
"""

from __future__ import annotations

from amaranth import Mux, Value

from ...hdl.arith import clamp
from ...hdl.layer_engine import LayerEngine
from .cmru_engine import CMRUNeuronDatapath
from .layer import AlphaCMRULayerQ


class AlphaCMRUNeuronDatapath(CMRUNeuronDatapath):
    """The arithmetic of one alphaCMRU layer's unit: the CMRU's, with the relaxed count."""

    def next_state(self, q: Value, set_: Value, reset: Value) -> Value:
        """The relaxed count, computed two bits wider than ``q`` and saturated back into it."""
        r, limit = self.layer.relax_shift, self.layer.count_max
        leaked = q - (q >> r) + Mux(set_, 1 << r, -(1 << r))
        return Mux(set_ | reset, clamp(leaked, -limit, limit), q)


class AlphaCMRULayerEngine(LayerEngine):
    """A time-multiplexed alphaCMRU layer (:class:`LayerEngine` with :class:`AlphaCMRUNeuronDatapath`)."""

    datapath_type, layer_types = AlphaCMRUNeuronDatapath, (AlphaCMRULayerQ,)
