"""One SRC layer: event-driven synaptic accumulation, then a lane-parallel neuron update pass."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

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
from ...hdl.update_pass import UpdatePass
from .layer import SRCLayerQ
from .neuron import SRCNeuronDatapath


class SRCLayerEngine(wiring.Component):
    """A time-multiplexed SRC layer of ``n_out`` neurons, ``lanes`` updated per clock cycle.

    Per timestep: the :class:`SynapticAccumulator` sums the weight columns of the inputs on
    ``events`` (in parallel over all neurons); then the update pass visits the
    ``groups = ceil(n_out / lanes)`` lane groups, one per cycle, through the pipelined
    :class:`SRCNeuronDatapath`, reading and writing the neuron state memory (one word per group:
    ``i``, ``h``, ``hs`` of every lane). The first step after ``begin`` reads the initial states
    instead. Each group's spikes leave on ``masks`` (neuron offset ``group * lanes``, ``last`` on
    the final group; empty masks are not sent) and on ``trace``; with ``trace_states`` the group's
    new ``i``, ``h``, ``hs`` (:attr:`state_layout`) leave on ``states`` in the same cycle. The
    accumulation of step ``t + 1`` overlaps the update pass of step ``t``. The pass's sequencing,
    output FIFO and trace are the shared :class:`srcfpga.hdl.update_pass.UpdatePass`; this engine adds
    the memories and the datapath.
    """

    def __init__(self, layer: SRCLayerQ, index: int, lanes: int, count: int, memory: str,
                 trace_states: bool = False):
        self.layer, self.index, self.lanes = layer, index, lanes
        self.groups = lane_groups(layer.n_out, lanes)
        self.mask_width, self.addresses = lanes, layer.n_out     # one spike bit per neuron
        self._count, self._memory = count, memory
        self.state_layout = data.ArrayLayout(self.lane_state(layer), lanes)
        self._trace_states = trace_states
        states = {"states": Out(probe_signature(state_trace_layout(self.state_layout)))} if trace_states else {}
        super().__init__({
            "begin": In(1),
            "events": In(stream.Signature(event_layout(count, index_bits(layer.n_in)))),
            "masks": Out(stream.Signature(mask_layout(lanes, index_bits(layer.n_out)))),
            "trace": Out(probe_signature(trace_layout(lanes))),
            **states,
        })

    @staticmethod
    def lane_state(layer: SRCLayerQ) -> data.StructLayout:
        """One neuron's state words: ``i`` (``current_bits`` signed), ``h`` and ``hs`` (``state_bits`` signed)."""
        neuron = SRCNeuronDatapath(layer)
        return data.StructLayout({"i": neuron.current_shape, "h": neuron.state_shape, "hs": neuron.state_shape})

    def elaborate(self, platform):
        m = Module()
        q, lanes, groups = self.layer, self.lanes, self.groups
        neuron = SRCNeuronDatapath(q)
        padded = groups * lanes

        m.submodules.acc = acc = SynapticAccumulator(q.weights, q.weight_bits, q.syn_bits, index_bits(q.n_in),
                                                     self._count, self._memory, width=padded)
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        state_layout = self.state_layout
        param_layout = data.ArrayLayout(data.StructLayout({"bias": neuron.partial_shape(),
                                                           "state": state_layout.elem_shape}), lanes)

        def lane_values(n):
            if n >= q.n_out:
                return {"bias": 0, "state": {"i": 0, "h": 0, "hs": 0}}
            return {"bias": int(q.bias[n]),
                    "state": {"i": int(q.init_i[n]), "h": int(q.init_h[n]), "hs": int(q.init_hs[n])}}

        params = Memory(shape=param_layout, depth=groups,
                        init=[[lane_values(g * lanes + b) for b in range(lanes)] for g in range(groups)])
        state = Memory(shape=state_layout, depth=groups, init=[])
        m.submodules.params, m.submodules.state = params, state
        params_rd, state_rd, state_wr = params.read_port(), state.read_port(), state.write_port()

        m.submodules.control = control = UpdatePass(self.index, groups, lanes, index_bits(q.n_out), lanes,
                                                    state_layout if self._trace_states else None)
        wiring.connect(m, control.masks, wiring.flipped(self.masks))
        wiring.connect(m, control.trace, wiring.flipped(self.trace))
        if self._trace_states:
            wiring.connect(m, control.states, wiring.flipped(self.states))
            m.d.comb += control.state.eq(state_wr.data)
        m.d.comb += [control.begin.eq(self.begin), control.sums_valid.eq(acc.sums.valid),
                     acc.sums.ready.eq(control.sums_ready),
                     params_rd.addr.eq(control.group), state_rd.addr.eq(control.group)]

        # ---- issue: the group's sums ---------------------------------------------------------------
        sums = data.View(data.ArrayLayout(data.ArrayLayout(acc.sums.payload.shape().elem_shape, lanes), groups),
                         acc.sums.payload.as_value())
        syn1 = Signal.like(sums[0])
        m.d.sync += syn1.eq(sums[control.group])

        # ---- stage 1 -------------------------------------------------------------------------------
        old = Signal(state_layout)
        m.d.comb += old.eq(state_rd.data)
        with m.If(control.fresh):
            m.d.comb += [old[b].eq(params_rd.data[b].state) for b in range(lanes)]
        i2 = Signal(data.ArrayLayout(neuron.current_shape, lanes))
        p2 = Signal(data.ArrayLayout(neuron.partial_shape(), lanes))
        hs2 = Signal(data.ArrayLayout(neuron.state_shape, lanes))
        for b in range(lanes):
            i_next, partial, hs_next = neuron.stage1(m, b, old[b].i, old[b].h, old[b].hs, syn1[b],
                                                     params_rd.data[b].bias)
            m.d.sync += [i2[b].eq(i_next), p2[b].eq(partial), hs2[b].eq(hs_next)]

        # ---- stage 2: new h and spikes ---------------------------------------------------------------
        h3 = Signal(data.ArrayLayout(neuron.state_shape, lanes))
        i3, hs3, spikes3 = Signal.like(i2), Signal.like(hs2), Signal(lanes)
        for b in range(lanes):
            h_next, spike = neuron.stage2(m, b, i2[b], p2[b])
            m.d.sync += [h3[b].eq(h_next), spikes3[b].eq(spike)]
        m.d.sync += [i3.eq(i2), hs3.eq(hs2)]

        # ---- stage 3: write-back, spikes out (from registers only) -------------------------------------
        m.d.comb += [state_wr.addr.eq(control.write_group), state_wr.en.eq(control.write),
                     control.mask.eq(spikes3), control.values.eq(spikes3)]
        for b in range(lanes):
            m.d.comb += [state_wr.data[b].i.eq(i3[b]), state_wr.data[b].h.eq(h3[b]), state_wr.data[b].hs.eq(hs3[b])]
        return m
