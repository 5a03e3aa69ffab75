"""Spike extractor: turns spike masks into the addresses of the inputs that spiked."""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from .layouts import event_layout, mask_layout

EVENT_FIFO_DEPTH = 2       # events waiting for the accumulator


def one_hot_index(one_hot, width: int):
    """Binary index of the single set bit of ``one_hot`` (an OR tree per output bit)."""
    bits = max(1, (width - 1).bit_length())
    return Cat(*(_or_all([one_hot[b] for b in range(width) if b >> j & 1]) for j in range(bits)))


def _or_all(values):
    result = 0
    for value in values:
        result = result | value
    return result


def popcount(value):
    """Number of set bits of ``value``: a 6-input lookup per 6-bit chunk (one LUT6 per result bit on
    Artix-7), then a balanced adder tree over the chunk counts (depth ``log2(ceil(len / 6))``)."""
    chunk_counts = Array(Const(bin(v).count("1"), 3) for v in range(64))
    terms = [chunk_counts[value[i:i + 6]] for i in range(0, len(value), 6)]
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


class SpikeExtractor(wiring.Component):
    """Reads ``masks`` (``width`` spike bits at neuron offset ``base``) and emits, per clock cycle,
    the addresses of up to ``count`` spiking inputs, lowest first, on ``events``.

    Empty masks cost no cycle: they are dropped, except a mask flagged ``last`` (end of timestep),
    which becomes an event beat with no spike - unless it directly follows a non-final mask's last
    spikes, in which case the ``last`` flag is merged into that beat. Cycles per step are therefore
    ``sum over non-empty masks of ceil(popcount / count)``, plus one when the step has no spike.
    Events leave through a two-entry FIFO: one cycle of latency, no loss of throughput, and no
    combinational path from the consumer's ``ready`` back into the bit-scanning logic. Whether a beat
    empties the held mask comes from a spike counter (loaded with the mask's popcount, decremented by
    ``count`` per beat), so the handshake logic does not wait for the bit scan.
    """

    def __init__(self, width: int, address_bits: int, count: int):
        self.width, self.count = width, count
        super().__init__({
            "masks": In(stream.Signature(mask_layout(width, address_bits))),
            "events": Out(stream.Signature(event_layout(count, address_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        inp = self.masks
        layout = self.events.payload.shape()
        m.submodules.fifo = fifo = SyncFIFO(width=layout.size, depth=EVENT_FIFO_DEPTH)
        m.d.comb += [self.events.payload.eq(fifo.r_data), self.events.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(self.events.ready)]
        out = stream.Signature(layout).create()          # the FIFO's write side
        m.d.comb += [fifo.w_data.eq(out.payload), fifo.w_en.eq(out.valid), out.ready.eq(fifo.w_rdy)]
        held = Signal()
        mask = Signal(self.width)
        base = Signal.like(inp.payload.base)
        last = Signal()
        pending = Signal(range(self.width + 1))       # spikes left in the held mask

        remaining = mask
        for k in range(self.count):
            lowest = Signal(self.width, name=f"lowest{k}")
            m.d.comb += [
                lowest.eq(remaining & (~remaining + 1)),
                out.payload.index[k].eq(base + one_hot_index(lowest, self.width)),
                out.payload.spike[k].eq(lowest.any()),
            ]
            remaining = remaining & ~lowest
        rest = Signal(self.width)
        m.d.comb += rest.eq(remaining)

        final = Signal()               # this beat empties the held mask
        merge = Signal()               # fold the next (empty, end-of-step) mask into this beat
        m.d.comb += [
            final.eq(pending <= self.count),
            merge.eq(held & final & ~last & inp.valid & ~inp.payload.mask.any() & inp.payload.last),
            out.valid.eq(held),
            out.payload.last.eq(final & (last | merge)),
            inp.ready.eq(~held | (out.ready & final)),
        ]
        with m.If(out.valid & out.ready):
            m.d.sync += [mask.eq(rest), pending.eq(pending - self.count)]
            with m.If(final):
                m.d.sync += held.eq(0)
        with m.If(inp.valid & inp.ready & ~merge):
            m.d.sync += [
                held.eq(inp.payload.mask.any() | inp.payload.last),
                mask.eq(inp.payload.mask),
                pending.eq(popcount(inp.payload.mask)),
                base.eq(inp.payload.base),
                last.eq(inp.payload.last),
            ]
        return m
