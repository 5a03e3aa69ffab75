"""One IF / LIF / CubaLIF layer: the shared :class:`srcfpga.hdl.layer_engine.LayerEngine` with the LIF datapath."""

from __future__ import annotations

from ...hdl.layer_engine import LayerEngine
from .layer import CubaLIFLayerQ, IFLayerQ, LIFLayerQ
from .neuron import LIFNeuronDatapath


class LIFLayerEngine(LayerEngine):
    """A time-multiplexed LIF-family layer (:class:`LayerEngine`): the state memory holds ``v`` (CubaLIF: and
    ``i``) of every lane of a group, the parameter memory biases, thresholds and per-neuron leaks; the update is
    :class:`LIFNeuronDatapath`. A recurrent layer's accumulator holds ``[W, W_rec]`` (``n_in + n_out``
    addresses) and its own spikes come back through ``feedback``."""

    datapath_type, layer_types = LIFNeuronDatapath, (IFLayerQ, LIFLayerQ, CubaLIFLayerQ)
