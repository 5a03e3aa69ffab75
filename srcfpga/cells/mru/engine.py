"""One BMRU layer: event-driven synaptic accumulation, then a lane-parallel comparator-pair update pass.

Same shape and timing as :class:`srcfpga.cells.src.engine.SRCLayerEngine` (the shared
:class:`srcfpga.hdl.update_pass.UpdatePass` sequences both): a :class:`SynapticAccumulator` sums, over
the input bits that are 1 at this step, the weight columns - of ``Wc`` alone (constant thresholds) or
of ``Wc`` and ``Wb`` stacked in one ROM word (gated units) - then the update pass visits
``ceil(n_out / lanes)`` lane groups, one per cycle, through three register stages:

    stage 1   gated:     c = (syn_c << k) + bias_c,  beta = (syn_b << k) + bias_b,  m = |beta|
              constant:  u = syn_c << k            (thresholds hi = |bias_b| - bias_c, lo = -|bias_b| - bias_c)
    stage 2   set   = c > m        (constant: u > hi)       comparator pair
              reset = c < -m       (constant: u < lo)
              q'    = 1 if set else 0 if reset else q      (CMRU: the saturating counter, cmru_layer.py)
    stage 3   write-back of q', the group's mask of q' to the next layer, trace

The next layer and the readout see ``q'`` as spikes: the float model's ``s = 2q - 1`` was folded into
their weights and biases by the quantizer (``W s = 2 W[q = 1] - W 1``), so event-driven accumulation
over ``q = 1`` is exact. Inputs from a CMRU layer (signed counters) arrive as bit planes
(:mod:`srcfpga.hdl.planes`): the accumulator's ROM holds one column per plane. The golden model
(:mod:`srcfpga.cells.mru.golden`) is the specification.
"""

from __future__ import annotations

import numpy as np
from amaranth import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ...errors import ConfigError
from ...hdl.accumulator import SynapticAccumulator
from ...hdl.layouts import (
    event_layout,
    index_bits,
    lane_groups,
    mask_layout,
    probe_signature,
    state_trace_layout,
    trace_layout,
)
from ...hdl.planes import input_code, output_code
from ...hdl.update_pass import UpdatePass
from ...quant.hwmodel import signed_bits
from .layer import BMRULayerQ


def _signed_shape(values) -> signed:
    values = [int(v) for v in values] or [0]
    return signed(signed_bits(min(values + [0]), max(values + [0])))


class BMRULayerEngine(wiring.Component):
    """A time-multiplexed BMRU layer of ``n_out`` units, ``lanes`` updated per clock cycle.

    ``events``: addresses of the input bits that are 1 (``PlaneCode(lanes, input_range)``);
    ``masks``: this layer's output, ``mask_width`` bits per lane group (:attr:`output_code`);
    ``trace``: ``lanes`` values of ``value_bits`` bits per group (two's complement for counters);
    ``states`` (with ``trace_states``): the group's new states ``q`` (:attr:`state_layout`), same cycle.
    """

    layer_type: type = BMRULayerQ       # the layers this engine builds

    def __init__(self, layer: BMRULayerQ, index: int, lanes: int, count: int, memory: str,
                 trace_states: bool = False):
        if type(layer) is not self.layer_type:
            raise ConfigError(f"layer {index}: {type(self).__name__} builds {self.layer_type.__name__} layers, "
                              f"got {type(layer).__name__}")
        self.layer, self.index, self.lanes = layer, index, lanes
        self.groups = lane_groups(layer.n_out, lanes)
        self.input_code, self.output_code = input_code(layer, lanes), output_code(layer, lanes)
        self.mask_width, self.addresses = self.output_code.mask_width, self.output_code.addresses(layer.n_out)
        self.value_bits = self.output_code.bits
        self._count, self._memory = count, memory
        self.state_layout = data.ArrayLayout(self.lane_state(layer), lanes)
        self._trace_states = trace_states
        states = {"states": Out(probe_signature(state_trace_layout(self.state_layout)))} if trace_states else {}
        super().__init__({
            "begin": In(1),
            "events": In(stream.Signature(event_layout(count, index_bits(self.input_code.addresses(layer.n_in))))),
            "masks": Out(stream.Signature(mask_layout(self.mask_width, index_bits(self.addresses)))),
            "trace": Out(probe_signature(trace_layout(lanes * self.value_bits))),
            **states,
        })

    def constants(self) -> dict[str, np.ndarray]:
        """Per-unit constants held in the parameter memory (padded units: never set, never reset)."""
        q = self.layer
        if q.gated:
            return {"bias_c": q.bias_c.astype(np.int64), "bias_b": q.bias_b.astype(np.int64)}
        mag = np.abs(q.bias_b.astype(np.int64))
        return {"hi": mag - q.bias_c, "lo": -mag - q.bias_c}

    def constant_shapes(self) -> dict[str, signed]:
        """The signed width of each field of :meth:`constants` in the parameter memory."""
        return {name: _signed_shape(values) for name, values in self.constants().items()}

    # ---- the update datapath of one unit (stage 1, stage 2; srcfpga.verify.prove proves it) -------

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

    # ---- what differs between BMRU and CMRU: the state and how it leaves --------------------------

    @classmethod
    def lane_state(cls, layer: BMRULayerQ) -> data.StructLayout:
        """One unit's state word ``q`` (BMRU: 1 bit)."""
        return data.StructLayout({"q": unsigned(1)})

    @property
    def state_shape(self):
        """Shape of one unit's state ``q``."""
        return self.lane_state(self.layer).members["q"]

    def next_state(self, q: Value, set_: Value, reset: Value) -> Value:
        """``q'`` from the comparator pair: BMRU ``1 if set else 0 if reset else q``."""
        return Mux(set_, 1, Mux(reset, 0, q))

    def output_mask(self, states: Value) -> Value:
        """The mask the next layer sees for one group's new states (BMRU: the state bits)."""
        return states.as_value()

    # ---- the engine ---------------------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        q, lanes, groups = self.layer, self.lanes, self.groups
        padded = groups * lanes

        columns = self.input_code.columns
        if q.gated:
            weights_c, weights_b = columns(q.weights_c), columns(q.weights_b)
            weights = np.zeros((2 * padded, weights_c.shape[1]), np.int64)
            weights[:q.n_out], weights[padded:padded + q.n_out] = weights_c, weights_b
        else:
            weights = columns(q.weights_c)
        width = 2 * padded if q.gated else padded
        m.submodules.acc = acc = SynapticAccumulator(
            weights, self.input_code.weight_bits(q.weight_bits), q.syn_bits,
            index_bits(self.input_code.addresses(q.n_in)), self._count, self._memory, width=width)
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        consts, shapes = self.constants(), self.constant_shapes()
        param_layout = data.ArrayLayout(data.StructLayout({**shapes, "init": self.state_shape}), lanes)

        def lane_values(n):
            if n >= q.n_out:      # padding: thresholds that never fire (|c| > |beta| impossible) or 0
                return {**{name: 0 for name in consts}, "init": 0}
            return {**{name: int(values[n]) for name, values in consts.items()}, "init": int(q.init[n])}

        state_layout = data.ArrayLayout(self.state_shape, lanes)
        params = Memory(shape=param_layout, depth=groups,
                        init=[[lane_values(g * lanes + b) for b in range(lanes)] for g in range(groups)])
        state = Memory(shape=state_layout, depth=groups, init=[])
        m.submodules.params, m.submodules.state = params, state
        params_rd, state_rd, state_wr = params.read_port(), state.read_port(), state.write_port()

        m.submodules.control = control = UpdatePass(self.index, groups, self.mask_width, index_bits(self.addresses),
                                                    lanes * self.value_bits,
                                                    self.state_layout if self._trace_states else None)
        wiring.connect(m, control.masks, wiring.flipped(self.masks))
        wiring.connect(m, control.trace, wiring.flipped(self.trace))
        if self._trace_states:
            wiring.connect(m, control.states, wiring.flipped(self.states))
        m.d.comb += [control.begin.eq(self.begin), control.sums_valid.eq(acc.sums.valid),
                     acc.sums.ready.eq(control.sums_ready),
                     params_rd.addr.eq(control.group), state_rd.addr.eq(control.group)]

        # ---- issue: the group's sums (Wc, and Wb from the upper half of the stacked word) ----------
        sum_shape = acc.sums.payload.shape().elem_shape
        sums = data.View(data.ArrayLayout(data.ArrayLayout(sum_shape, lanes), width // lanes),
                         acc.sums.payload.as_value())
        syn_c1 = Signal(data.ArrayLayout(sum_shape, lanes))
        syn_b1 = Signal(data.ArrayLayout(sum_shape, lanes))
        m.d.sync += syn_c1.eq(sums[control.group])
        if q.gated:
            m.d.sync += syn_b1.eq(sums[control.group + groups])

        # ---- stage 1: c and |beta| (gated) or the shifted sum and the thresholds (constant) ---------
        old = Signal(state_layout)
        m.d.comb += old.eq(state_rd.data)
        with m.If(control.fresh):
            m.d.comb += [old[b].eq(params_rd.data[b].init) for b in range(lanes)]
        stage2 = {name: Signal(data.ArrayLayout(shape, lanes), name=f"{name}2")
                  for name, shape in self.stage1_shapes().items()}
        old2 = Signal(state_layout)
        for b in range(lanes):
            operands = self.compare_operands(syn_c1[b], syn_b1[b], params_rd.data[b])
            m.d.sync += [stage2[name][b].eq(value) for name, value in operands.items()]
        m.d.sync += old2.eq(old)

        # ---- stage 2: the comparator pair and the new state ----------------------------------------
        q3 = Signal(state_layout)
        for b in range(lanes):
            set_, reset = self.comparators(**{name: register[b] for name, register in stage2.items()})
            m.d.sync += q3[b].eq(self.next_state(old2[b], set_, reset))

        # ---- stage 3: write-back, masks out (from registers only) ----------------------------------
        m.d.comb += [state_wr.addr.eq(control.write_group), state_wr.en.eq(control.write), state_wr.data.eq(q3),
                     control.mask.eq(self.output_mask(q3)), control.values.eq(q3)]
        if self._trace_states:
            m.d.comb += control.state.as_value().eq(q3.as_value())     # one struct {q} per lane: same bits
        return m
