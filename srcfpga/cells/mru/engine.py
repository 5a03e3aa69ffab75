"""One BMRU layer: the shared :class:`srcfpga.hdl.layer_engine.LayerEngine` with a comparator-pair datapath.

:class:`BMRUNeuronDatapath` is the unit update of the engine's update pass (the engine registers the
group's synaptic sums of ``Wc`` - and of ``Wb`` for gated units, a second column set - before stage 1)::

    stage 1   gated:     c = (syn_c << k) + bias_c,  beta = (syn_b << k) + bias_b,  m = |beta|
              constant:  u = syn_c << k            (thresholds hi = |bias_b| - bias_c, lo = -|bias_b| - bias_c)
    stage 2   set   = c > m        (constant: u > hi)       comparator pair
              reset = c < -m       (constant: u < lo)
              q'    = 1 if set else 0 if reset else q      (CMRU: the saturating counter, cmru_engine.py)
    stage 3   write-back of q', the group's mask of q' to the next layer, trace

The next layer and the readout see ``q'`` as spikes: the float model's ``s = 2q - 1`` was folded into
their weights and biases by the quantizer (``W s = 2 W[q = 1] - W 1``), so event-driven accumulation
over ``q = 1`` is exact. Inputs from a CMRU layer (signed counters) arrive as bit planes
(:mod:`srcfpga.hdl.planes`): the engine expands the weights into one column per plane. The golden model
(:mod:`srcfpga.cells.mru.golden`) is the specification.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from amaranth import Module, Mux, Value, signed, unsigned
from amaranth.lib import data

from ...hdl.layer_engine import LayerEngine
from ...quant.hwmodel import signed_bits
from .layer import BMRULayerQ


def _signed_shape(values) -> signed:
    values = [int(v) for v in values] or [0]
    return signed(signed_bits(min(values + [0]), max(values + [0])))


class BMRUNeuronDatapath:
    """The arithmetic of one BMRU layer's unit (a :class:`srcfpga.hdl.layer_engine.NeuronDatapath`: state ``q``;
    constants :meth:`constants` and the initial state ``init``; synaptic sums ``c`` (``Wc``) and, gated, ``b``
    (``Wb``); stage 1 hands :meth:`stage1_shapes` and the old ``q`` to stage 2; the output is ``q'``)."""

    def __init__(self, layer: BMRULayerQ):
        self.layer = q = layer
        self.state_shape = self.lane_state(layer).members["q"]
        self.state_layout = data.StructLayout({"q": self.state_shape})
        self.param_layout = data.StructLayout({**self.constant_shapes(), "init": self.state_layout})
        self.mid_layout = data.StructLayout({**self.stage1_shapes(), "q": self.state_shape})
        self.columns = {"c": q.weights_c} | ({"b": q.weights_b} if q.gated else {})
        self.weight_bits, self.syn_bits = q.weight_bits, q.syn_bits

    @classmethod
    def lane_state(cls, layer: BMRULayerQ) -> data.StructLayout:
        """One unit's state word ``q`` (BMRU: 1 bit)."""
        return data.StructLayout({"q": unsigned(1)})

    def constants(self) -> dict[str, np.ndarray]:
        """Per-unit constants held in the parameter memory."""
        q = self.layer
        if q.gated:
            return {"bias_c": q.bias_c.astype(np.int64), "bias_b": q.bias_b.astype(np.int64)}
        mag = np.abs(q.bias_b.astype(np.int64))
        return {"hi": mag - q.bias_c, "lo": -mag - q.bias_c}

    def constant_shapes(self) -> dict[str, signed]:
        """The signed width of each field of :meth:`constants` in the parameter memory."""
        return {name: _signed_shape(values) for name, values in self.constants().items()}

    def lane_params(self, n: int) -> dict[str, Any]:
        """Constants and initial state of unit ``n``; a padding unit has all 0: never set, never reset
        (``|c| > |beta|`` is impossible at 0)."""
        if n >= self.layer.n_out:
            return {**{name: 0 for name in self.param_layout.members if name != "init"}, "init": {"q": 0}}
        return {**{name: int(values[n]) for name, values in self.constants().items()},
                "init": {"q": int(self.layer.init[n])}}

    def stage1_shapes(self) -> dict[str, signed]:
        """Stage 1's registers of one unit: ``x`` (``c``, or ``syn_c << k``) and ``mag`` (``|beta|``) when gated,
        else ``x`` and the thresholds ``hi``, ``lo``."""
        compare = signed(self.layer.compare_bits + 1)
        if self.layer.gated:
            return {"x": compare, "mag": compare}
        shapes = self.constant_shapes()
        return {"x": compare, "hi": shapes["hi"], "lo": shapes["lo"]}

    def compare_operands(self, syn_c: Value, syn_b: Value | None, p) -> dict[str, Value]:
        """Stage 1 of one unit from its synaptic sums and its constants ``p[name]`` (:meth:`constants`), by
        register name (:meth:`stage1_shapes`)."""
        k = self.layer.frac_bits
        if self.layer.gated:
            beta = (syn_b << k) + p["bias_b"]
            return {"x": (syn_c << k) + p["bias_c"], "mag": Mux(beta < 0, -beta, beta)}
        return {"x": syn_c << k, "hi": p["hi"], "lo": p["lo"]}

    def comparators(self, x: Value, mag: Value | None = None, hi: Value | None = None,
                    lo: Value | None = None) -> tuple[Value, Value]:
        """Stage 2's comparator pair ``(set, reset)`` from stage 1's registers: ``c > |beta|``, ``c < -|beta|``
        (constant thresholds: ``u > hi``, ``u < lo``)."""
        if self.layer.gated:
            return x > mag, x < -mag
        return x > hi, x < lo

    def next_state(self, q: Value, set_: Value, reset: Value) -> Value:
        """``q'`` from the comparator pair: BMRU ``1 if set else 0 if reset else q``."""
        return Mux(set_, 1, Mux(reset, 0, q))

    def update1(self, m: Module, lane: int, old: Value, sums: Value, params: Value) -> dict[str, Value]:
        syn_b = sums.b if self.layer.gated else None
        return self.compare_operands(sums.c, syn_b, params) | {"q": old.q}

    def update2(self, m: Module, lane: int, mid: Value) -> tuple[dict[str, Value], Value]:
        set_, reset = self.comparators(**{name: mid[name] for name in self.stage1_shapes()})
        q_next = self.next_state(mid.q, set_, reset)
        return {"q": q_next}, q_next


class BMRULayerEngine(LayerEngine):
    """A time-multiplexed BMRU layer (:class:`LayerEngine` with :class:`BMRUNeuronDatapath`)."""

    datapath_type, layer_types = BMRUNeuronDatapath, (BMRULayerQ,)
