"""One BMRU layer: event-driven synaptic accumulation, then a lane-parallel comparator-pair update pass.

Same shape and timing as :class:`srcfpga.hdl.src_layer.SRCLayerEngine` (so the cycle model of
:mod:`srcfpga.hdl.latency` applies unchanged): a :class:`SynapticAccumulator` sums, over the inputs that
are 1 at this step, the weight columns - of ``Wc`` alone (constant thresholds) or of ``Wc`` and ``Wb``
stacked in one ROM word (gated units) - then the update pass visits ``ceil(n_out / lanes)`` lane
groups, one per cycle, through three register stages:

    stage 1   gated:     c = (syn_c << k) + bias_c,  beta = (syn_b << k) + bias_b,  m = |beta|
              constant:  u = syn_c << k            (thresholds hi = |bias_b| - bias_c, lo = -|bias_b| - bias_c)
    stage 2   set   = c > m        (constant: u > hi)       comparator pair
              reset = c < -m       (constant: u < lo)
              q'    = 1 if set else 0 if reset else q
    stage 3   write-back of q', the group's mask of q' to the next layer, trace

The next layer and the readout see ``q'`` as spikes: the float model's ``s = 2q - 1`` was folded into
their weights and biases by the quantizer (``W s = 2 W[q = 1] - W 1``), so event-driven accumulation
over ``q = 1`` is exact. The golden model (:mod:`srcfpga.golden.mru_cell`) is the specification.

CMRU layers are not built: their counter output is multi-bit and the event-driven accumulators take
one bit per input (a bit-serial accumulation over the counter's bit planes would be the extension,
see docs/hardware.md).
"""

from __future__ import annotations

import numpy as np
from amaranth import C, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..quant.hwmodel import signed_bits
from ..quant.mru import BMRULayerQ
from .accumulator import SynapticAccumulator
from .arith import const_mul
from .latency import WRITE_BACK_DELAY
from .layouts import STEP_BITS, event_layout, index_bits, mask_layout, probe_signature, trace_layout


def _signed_shape(values) -> signed:
    values = [int(v) for v in values] or [0]
    return signed(signed_bits(min(values + [0]), max(values + [0])))


class BMRULayerEngine(wiring.Component):
    """A time-multiplexed BMRU layer of ``n_out`` units, ``lanes`` updated per clock cycle."""

    def __init__(self, layer: BMRULayerQ, index: int, lanes: int, count: int, memory: str):
        if layer.kind != "bmru" or layer.input_range != (0, 1):
            raise ConfigError(f"layer {index}: the hardware builds BMRU layers with binary inputs only "
                              f"(got {layer.kind} with inputs in {layer.input_range}; CMRU counters are multi-bit)")
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

    def constants(self) -> dict[str, np.ndarray]:
        """Per-unit constants held in the parameter memory (padded units: never set, never reset)."""
        q = self.layer
        if q.gated:
            return {"bias_c": q.bias_c.astype(np.int64), "bias_b": q.bias_b.astype(np.int64)}
        mag = np.abs(q.bias_b.astype(np.int64))
        return {"hi": mag - q.bias_c, "lo": -mag - q.bias_c}

    def elaborate(self, platform):
        m = Module()
        q, lanes, groups = self.layer, self.lanes, self.groups
        padded = groups * lanes
        k = q.frac_bits

        if q.gated:
            weights = np.zeros((2 * padded, q.n_in), np.int64)
            weights[:q.n_out], weights[padded:padded + q.n_out] = q.weights_c, q.weights_b
        else:
            weights = q.weights_c
        width = 2 * padded if q.gated else padded
        m.submodules.acc = acc = SynapticAccumulator(weights, q.weight_bits, q.syn_bits, index_bits(q.n_in),
                                                     self._count, self._memory, width=width)
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        consts = self.constants()
        shapes = {name: _signed_shape(values) for name, values in consts.items()}
        param_layout = data.ArrayLayout(data.StructLayout({**shapes, "init": unsigned(1)}), lanes)

        def lane_values(n):
            if n >= q.n_out:      # padding: thresholds that never fire (|c| > |beta| impossible) or 0
                return {**{name: 0 for name in consts}, "init": 0}
            return {**{name: int(values[n]) for name, values in consts.items()}, "init": int(q.init[n])}

        params = Memory(shape=param_layout, depth=groups,
                        init=[[lane_values(g * lanes + b) for b in range(lanes)] for g in range(groups)])
        state = Memory(shape=unsigned(lanes), depth=groups, init=[])
        m.submodules.params, m.submodules.state = params, state
        params_rd, state_rd, state_wr = params.read_port(), state.read_port(), state.write_port()

        m.submodules.fifo = fifo = SyncFIFO(width=len(self.masks.payload.as_value()), depth=self.fifo_depth)
        m.d.comb += [
            self.masks.payload.eq(fifo.r_data), self.masks.valid.eq(fifo.r_rdy), fifo.r_en.eq(self.masks.ready),
        ]

        # ---- issue: one lane group per cycle (as in SRCLayerEngine) --------------------------------
        sum_shape = acc.sums.payload.shape().elem_shape
        sums = data.View(data.ArrayLayout(data.ArrayLayout(sum_shape, lanes), width // lanes),
                         acc.sums.payload.as_value())
        running, group, step, fresh = Signal(), Signal(range(groups)), Signal(STEP_BITS), Signal()
        valid1, valid2, valid3 = Signal(), Signal(), Signal()
        in_flight = valid1 + valid2 + valid3
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

        syn_c1 = Signal(data.ArrayLayout(sum_shape, lanes))
        syn_b1 = Signal(data.ArrayLayout(sum_shape, lanes))
        group1, step1, fresh1, last1 = Signal.like(group), Signal.like(step), Signal(), Signal()
        m.d.sync += [valid1.eq(issue), syn_c1.eq(sums[group]), group1.eq(group), step1.eq(step),
                     fresh1.eq(fresh), last1.eq(last_group)]
        if q.gated:
            m.d.sync += syn_b1.eq(sums[group + groups])

        # ---- stage 1: c and |beta| (gated) or the shifted sum (constant thresholds) ----------------
        old = Signal(lanes)
        m.d.comb += old.eq(state_rd.data)
        with m.If(fresh1):
            m.d.comb += [old[b].eq(params_rd.data[b].init) for b in range(lanes)]
        compare = signed(q.compare_bits + 1)
        x2 = Signal(data.ArrayLayout(compare, lanes))       # c (gated) or u = syn << k (constant)
        mag2 = Signal(data.ArrayLayout(compare, lanes))     # |beta| (gated only)
        hi2 = Signal(data.ArrayLayout(shapes.get("hi", signed(1)), lanes))
        lo2 = Signal(data.ArrayLayout(shapes.get("lo", signed(1)), lanes))
        old2 = Signal(lanes)
        group2, step2, last2 = Signal.like(group), Signal.like(step), Signal()
        for b in range(lanes):
            p = params_rd.data[b]
            if q.gated:
                beta = (syn_b1[b] << k) + p.bias_b
                m.d.sync += [x2[b].eq((syn_c1[b] << k) + p.bias_c), mag2[b].eq(Mux(beta < 0, -beta, beta))]
            else:
                m.d.sync += [x2[b].eq(syn_c1[b] << k), hi2[b].eq(p.hi), lo2[b].eq(p.lo)]
        m.d.sync += [old2.eq(old), valid2.eq(valid1), group2.eq(group1), step2.eq(step1), last2.eq(last1)]

        # ---- stage 2: the comparator pair ----------------------------------------------------------
        q3 = Signal(lanes)
        group3, step3, last3 = Signal.like(group), Signal.like(step), Signal()
        for b in range(lanes):
            if q.gated:
                set_, reset = x2[b] > mag2[b], x2[b] < -mag2[b]
            else:
                set_, reset = x2[b] > hi2[b], x2[b] < lo2[b]
            m.d.sync += q3[b].eq(Mux(set_, 1, Mux(reset, 0, old2[b])))
        m.d.sync += [valid3.eq(valid2), group3.eq(group2), step3.eq(step2), last3.eq(last2)]

        # ---- stage 3: write-back, masks out (from registers only) ----------------------------------
        m.d.comb += [state_wr.addr.eq(group3), state_wr.en.eq(valid3), state_wr.data.eq(q3)]
        out = data.View(self.masks.payload.shape(), fifo.w_data)
        m.d.comb += [
            out.mask.eq(q3), out.base.eq(const_mul(group3, lanes)), out.last.eq(last3),
            fifo.w_en.eq(valid3 & (q3.any() | last3)),
            self.trace.valid.eq(valid3),
            self.trace.payload.layer.eq(self.index), self.trace.payload.step.eq(step3),
            self.trace.payload.group.eq(group3), self.trace.payload.spikes.eq(q3),
        ]
        return m
