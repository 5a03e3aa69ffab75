"""One SRC layer: event-driven synaptic accumulation, then a lane-parallel neuron update pass."""

from __future__ import annotations

from amaranth import C, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..quant.hwmodel import SRCLayerQ
from .accumulator import SynapticAccumulator
from .arith import const_mul
from .latency import WRITE_BACK_DELAY
from .layouts import STEP_BITS, event_layout, index_bits, mask_layout, probe_signature, trace_layout
from .src_neuron import SRCNeuronDatapath


class SRCLayerEngine(wiring.Component):
    """A time-multiplexed SRC layer of ``n_out`` neurons, ``lanes`` updated per clock cycle.

    Per timestep: the :class:`SynapticAccumulator` sums the weight columns of the inputs on
    ``events`` (in parallel over all neurons); then the update pass visits the
    ``groups = ceil(n_out / lanes)`` lane groups, one per cycle, through the pipelined
    :class:`SRCNeuronDatapath`, reading and writing the neuron state memory (one word per group:
    ``i``, ``h``, ``hs`` of every lane). The first step after ``begin`` reads the initial states
    instead. Each group's spikes leave on ``masks`` (neuron offset ``group * lanes``, ``last`` on
    the final group; empty masks are not sent) and on ``trace``. The accumulation of step ``t + 1``
    overlaps the update pass of step ``t``.
    """

    def __init__(self, layer: SRCLayerQ, index: int, lanes: int, count: int, memory: str):
        self.layer, self.index, self.lanes = layer, index, lanes
        self.groups = -(-layer.n_out // lanes)
        self.fifo_depth = self.groups + 4
        self._count, self._memory = count, memory
        super().__init__({
            "begin": In(1),
            "events": In(stream.Signature(event_layout(count, index_bits(layer.n_in)))),
            "masks": Out(stream.Signature(mask_layout(lanes, index_bits(layer.n_out)))),
            "trace": Out(probe_signature(trace_layout(lanes))),
        })

    def elaborate(self, platform):
        m = Module()
        q, lanes, groups = self.layer, self.lanes, self.groups
        neuron = SRCNeuronDatapath(q)
        padded = groups * lanes

        m.submodules.acc = acc = SynapticAccumulator(q.weights, q.weight_bits, q.syn_bits, index_bits(q.n_in),
                                                     self._count, self._memory, width=padded)
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        state_layout = data.ArrayLayout(data.StructLayout({
            "i": neuron.current_shape, "h": neuron.state_shape, "hs": neuron.state_shape}), lanes)
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

        m.submodules.fifo = fifo = SyncFIFO(width=len(self.masks.payload.as_value()), depth=self.fifo_depth)
        m.d.comb += [
            self.masks.payload.eq(fifo.r_data), self.masks.valid.eq(fifo.r_rdy), fifo.r_en.eq(self.masks.ready),
        ]

        # ---- issue: one lane group per cycle -----------------------------------------------------
        sums = data.View(data.ArrayLayout(data.ArrayLayout(acc.sums.payload.shape().elem_shape, lanes), groups),
                         acc.sums.payload.as_value())
        running, group, step, fresh = Signal(), Signal(range(groups)), Signal(STEP_BITS), Signal()
        valid1, valid2, valid3 = Signal(), Signal(), Signal()
        in_flight = valid1 + valid2 + valid3
        # a group's state is written 3 cycles after its read: passes of fewer groups must wait for it
        hazard = (valid1 | valid2 | valid3) if groups <= WRITE_BACK_DELAY else C(0)
        room = fifo.level + in_flight <= self.fifo_depth - groups
        start = acc.sums.valid & ~running & room & ~hazard
        issue = running | start
        last_group = group == groups - 1
        with m.If(start):
            m.d.sync += running.eq(1)
        with m.If(issue):
            m.d.sync += group.eq(group + 1)
            with m.If(last_group):
                m.d.sync += [running.eq(0), group.eq(0), step.eq(step + 1), fresh.eq(0)]
        m.d.comb += [acc.sums.ready.eq(issue & last_group), params_rd.addr.eq(group), state_rd.addr.eq(group)]
        with m.If(self.begin):
            m.d.sync += [step.eq(0), fresh.eq(1)]

        syn1 = Signal.like(sums[0])
        group1, step1, fresh1, last1 = Signal.like(group), Signal.like(step), Signal(), Signal()
        m.d.sync += [valid1.eq(issue), syn1.eq(sums[group]), group1.eq(group), step1.eq(step),
                     fresh1.eq(fresh), last1.eq(last_group)]

        # ---- stage 1 -------------------------------------------------------------------------------
        old = Signal(state_layout)
        m.d.comb += old.eq(state_rd.data)
        with m.If(fresh1):
            m.d.comb += [old[b].eq(params_rd.data[b].state) for b in range(lanes)]
        i2 = Signal(data.ArrayLayout(neuron.current_shape, lanes))
        p2 = Signal(data.ArrayLayout(neuron.partial_shape(), lanes))
        hs2 = Signal(data.ArrayLayout(neuron.state_shape, lanes))
        group2, step2, last2 = Signal.like(group), Signal.like(step), Signal()
        for b in range(lanes):
            i_next, partial, hs_next = neuron.stage1(old[b].i, old[b].h, old[b].hs, syn1[b], params_rd.data[b].bias)
            m.d.sync += [i2[b].eq(i_next), p2[b].eq(partial), hs2[b].eq(hs_next)]
        m.d.sync += [valid2.eq(valid1), group2.eq(group1), step2.eq(step1), last2.eq(last1)]

        # ---- stage 2: new h and spikes ---------------------------------------------------------------
        h3 = Signal(data.ArrayLayout(neuron.state_shape, lanes))
        i3, hs3, spikes3 = Signal.like(i2), Signal.like(hs2), Signal(lanes)
        group3, step3, last3 = Signal.like(group), Signal.like(step), Signal()
        for b in range(lanes):
            h_next, spike = neuron.stage2(i2[b], p2[b])
            m.d.sync += [h3[b].eq(h_next), spikes3[b].eq(spike)]
        m.d.sync += [i3.eq(i2), hs3.eq(hs2), valid3.eq(valid2), group3.eq(group2), step3.eq(step2), last3.eq(last2)]

        # ---- stage 3: write-back, spikes out (from registers only) -------------------------------------
        m.d.comb += [state_wr.addr.eq(group3), state_wr.en.eq(valid3)]
        for b in range(lanes):
            m.d.comb += [state_wr.data[b].i.eq(i3[b]), state_wr.data[b].h.eq(h3[b]), state_wr.data[b].hs.eq(hs3[b])]
        out = data.View(self.masks.payload.shape(), fifo.w_data)
        m.d.comb += [
            out.mask.eq(spikes3), out.base.eq(const_mul(group3, lanes)), out.last.eq(last3),
            fifo.w_en.eq(valid3 & (spikes3.any() | last3)),
            self.trace.valid.eq(valid3),
            self.trace.payload.layer.eq(self.index), self.trace.payload.step.eq(step3),
            self.trace.payload.group.eq(group3), self.trace.payload.spikes.eq(spikes3),
        ]
        return m
