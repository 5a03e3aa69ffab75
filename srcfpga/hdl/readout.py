"""Readout: per-step saturating accumulation of the last layer's spikes, then argmax."""

from __future__ import annotations

from amaranth import Array, Module, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..quant.hwmodel import ReadoutQ, signed_bits
from .accumulator import SynapticAccumulator
from .arith import clamp, const_mul
from .layouts import (
    LABEL_BITS,
    STEP_BITS,
    event_layout,
    index_bits,
    probe_signature,
    readout_layout,
)
from .planes import PlaneCode


class ReadoutEngine(wiring.Component):
    """``acc[c] = sat(acc[c] - leak + sum_j W_ro[c, j] s_j + bias[c], acc_bits)`` once per counted timestep
    (:func:`srcfpga.golden.readout.readout_step`), then the class.

    The step's exact sum comes from a :class:`SynapticAccumulator` (event-driven over the last
    layer's spikes) and is added in one cycle with saturation, exactly as the golden model does.
    After ``total_steps`` steps a sequential scan (``n_classes - 1`` cycles, strict ``>`` so ties
    keep the first index) finds the label; ``done`` offers label and accumulators until accepted.
    ``begin`` clears the accumulators for the next inference. ``code`` says how the last layer's
    outputs arrive (one bit per unit, or the bit planes of CMRU counters, :mod:`srcfpga.hdl.planes`).
    """

    def __init__(self, readout: ReadoutQ, n_last: int, count: int, memory: str, code: PlaneCode | None = None):
        self.readout, self.n_last = readout, n_last
        self.code = PlaneCode(1) if code is None else code
        self._count, self._memory = count, memory
        n_classes, acc_bits = readout.n_classes, readout.acc_bits
        super().__init__({
            "begin": In(1),
            "total_steps": In(STEP_BITS),
            "events": In(stream.Signature(event_layout(count, index_bits(self.code.addresses(n_last))))),
            "trace": Out(probe_signature(readout_layout(n_classes, acc_bits))),
            "done": Out(stream.Signature(data.StructLayout({
                "label": unsigned(LABEL_BITS), "counts": data.ArrayLayout(signed(acc_bits), n_classes)}))),
        })

    def leaked(self, count: Value) -> Value:
        """``count - ((decay_num * count) >> decay_shift)`` for a leaky readout (shift-add, no multiplier),
        else ``count``: the leak of :func:`srcfpga.golden.readout.readout_step`."""
        ro = self.readout
        if not ro.leaky:
            return count
        return count - (const_mul(count, ro.decay_num) >> ro.decay_shift)

    def elaborate(self, platform):
        m = Module()
        ro = self.readout
        n_classes = ro.n_classes
        code = self.code
        bound = ((1 << (ro.weight_bits - 1)) - 1) * self.n_last * code.reach
        m.submodules.acc = acc = SynapticAccumulator(code.columns(ro.weights), code.weight_bits(ro.weight_bits),
                                                     signed_bits(-bound, bound), index_bits(code.addresses(self.n_last)),
                                                     self._count, self._memory)
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        counts = self.done.payload.counts
        step = Signal(STEP_BITS)
        scanning = Signal()
        lo, hi = ro.acc_range
        m.d.comb += acc.sums.ready.eq(~scanning & ~self.done.valid)
        m.d.sync += self.trace.valid.eq(0)
        bias = [0] * n_classes if ro.bias is None else [int(b) for b in ro.bias]     # optional (BMRU models)
        counted = Value.cast(ro.counted(step, self.total_steps))                      # readout window
        with m.If(acc.sums.valid & acc.sums.ready & counted):
            m.d.sync += [counts[c].eq(clamp(self.leaked(counts[c]) + acc.sums.payload[c] + bias[c], lo, hi))
                         for c in range(n_classes)]
        with m.If(acc.sums.valid & acc.sums.ready):
            m.d.sync += [step.eq(step + 1), self.trace.valid.eq(1), self.trace.payload.step.eq(step)]
            with m.If(step == self.total_steps - 1):
                m.d.sync += scanning.eq(1)
        m.d.comb += self.trace.payload.counts.eq(counts)

        candidate = Signal(range(max(2, n_classes)))
        best = Signal(signed(ro.acc_bits))
        values = Array(counts[c] for c in range(n_classes))
        with m.If(scanning):
            with m.If(candidate == 0):
                m.d.sync += [best.eq(values[0]), self.done.payload.label.eq(0)]
            with m.Elif(values[candidate] > best):
                m.d.sync += [best.eq(values[candidate]), self.done.payload.label.eq(candidate)]
            m.d.sync += candidate.eq(candidate + 1)
            with m.If(candidate == n_classes - 1):
                m.d.sync += [scanning.eq(0), candidate.eq(0), self.done.valid.eq(1)]
        with m.If(self.done.valid & self.done.ready):
            m.d.sync += self.done.valid.eq(0)
        with m.If(self.begin):
            m.d.sync += [step.eq(0)] + [counts[c].eq(0) for c in range(n_classes)]
        return m
