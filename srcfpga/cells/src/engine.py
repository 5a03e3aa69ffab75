"""One SRC layer: the shared :class:`srcfpga.hdl.layer_engine.LayerEngine` with the SRC neuron datapath."""

from __future__ import annotations

from ...hdl.layer_engine import LayerEngine
from .layer import SRCLayerQ
from .neuron import SRCNeuronDatapath


class SRCLayerEngine(LayerEngine):
    """A time-multiplexed SRC layer (:class:`LayerEngine`): the state memory holds ``i``, ``h``, ``hs`` of every
    lane of a group, the parameter memory the biases and initial states; the update is
    :class:`SRCNeuronDatapath` (stage 1: ``i'``, ``p``, ``hs'``; stage 2: ``h'`` and the spike ``h' >= half``)."""

    datapath_type, layer_types = SRCNeuronDatapath, (SRCLayerQ,)
