"""Spike extractor: turns spike masks into the addresses of the inputs that spiked."""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal
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

    The extractor holds one mask (``held``, ``pending`` spikes left). A beat takes up to ``count``
    spikes of the held mask; when that empties it (``pending <= count``), the beat may also *borrow*
    the input mask on offer: its lowest ``count - pending`` spikes fill the free slots and the rest
    becomes the held mask, in the same cycle.

    * ``pack=False``: only an empty end-of-step mask is borrowed (its ``last`` flag is merged into the
      held mask's final beat), and a mask is loaded in a cycle of its own. Cycles per step are
      ``sum over non-empty masks of ceil(popcount / count)``, plus one when the step has no spike.
    * ``pack=True``: every mask of the same step is borrowed (never across an end-of-step mask), also
      when nothing is held, so beats are packed across the masks of a step: about
      ``ceil(spikes of the step / count)`` beats per step when masks arrive in time.

    A beat carries ``last`` when it empties an end-of-step mask. Events leave through a two-entry FIFO:
    one cycle of latency, no loss of throughput, and no combinational path from the consumer's
    ``ready`` back into the bit-scanning logic. Whether a beat empties the held mask comes from a spike
    counter (loaded with the mask's popcount, decremented by ``count`` per beat), so the handshake
    logic does not wait for the bit scan. ``srcfpga.hdl.latency`` replays this control path.
    """

    def __init__(self, width: int, address_bits: int, count: int, pack: bool = False):
        self.width, self.count, self.pack = width, count, pack
        super().__init__({
            "masks": In(stream.Signature(mask_layout(width, address_bits))),
            "events": Out(stream.Signature(event_layout(count, address_bits))),
        })

    def _lowest(self, m, value, name):
        """The ``count`` lowest set bits of ``value`` as one-hot vectors, and ``value`` with the lowest
        ``j`` bits cleared for ``j = 0 .. count``."""
        lowest, rests = [], [value]
        for k in range(self.count):
            bit = Signal(self.width, name=f"{name}_lowest{k}")
            m.d.comb += bit.eq(rests[-1] & (~rests[-1] + 1))
            lowest.append(bit)
            rests.append(rests[-1] & ~bit)
        return lowest, rests

    def _slot_register(self, m, out, slots, fifo):
        """``pack``: the beat's one-hot slots and bases go through a register before the address
        encoding (``base + index``) and the event FIFO: the bit scan and the encoding are in different
        clock cycles (one cycle more latency, no loss of throughput)."""
        valid, last, spikes = Signal(name="slot_valid"), Signal(name="slot_last"), Signal(self.count)
        encoded = stream.Signature(self.events.payload.shape()).create()
        m.d.comb += [fifo.w_en.eq(valid), fifo.w_data.eq(encoded.payload), out.ready.eq(~valid | fifo.w_rdy),
                     encoded.payload.last.eq(last), encoded.payload.spike.eq(spikes)]
        loads = [last.eq(out.payload.last), spikes.eq(out.payload.spike)]
        for k, (one_hot, base) in enumerate(slots):
            vector, offset = Signal(self.width, name=f"slot{k}"), Signal.like(base, name=f"slot_base{k}")
            loads += [vector.eq(one_hot), offset.eq(base)]
            m.d.comb += encoded.payload.index[k].eq(offset + one_hot_index(vector, self.width))
        with m.If(out.valid & out.ready):
            m.d.sync += [valid.eq(1)] + loads
        with m.Elif(fifo.w_rdy):
            m.d.sync += valid.eq(0)

    def elaborate(self, platform):
        m = Module()
        inp, count = self.masks, self.count
        layout = self.events.payload.shape()
        m.submodules.fifo = fifo = SyncFIFO(width=layout.size, depth=EVENT_FIFO_DEPTH)
        m.d.comb += [self.events.payload.eq(fifo.r_data), self.events.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(self.events.ready)]
        out = stream.Signature(layout).create()          # the beat: the FIFO's write side (pack: the slot register's)
        if not self.pack:
            m.d.comb += [fifo.w_data.eq(out.payload), fifo.w_en.eq(out.valid), out.ready.eq(fifo.w_rdy)]
        held = Signal()
        mask = Signal(self.width)
        base = Signal.like(inp.payload.base)
        last = Signal()
        pending = Signal(range(self.width + 1))       # spikes left in the held mask

        held_count = Signal(range(count + 1))         # spikes the beat takes from the held mask
        final = Signal()                              # this beat empties the held mask
        borrow = Signal()                             # the beat also takes the input mask
        incoming = Signal(range(self.width + 1))
        m.d.comb += [
            final.eq(~held | (pending <= count)),
            held_count.eq(Mux(~held, 0, Mux(final, pending, count))),
            incoming.eq(popcount(inp.payload.mask)),
        ]
        if self.pack:
            m.d.comb += borrow.eq(inp.valid & final & ~(held & last))
        else:
            m.d.comb += borrow.eq(held & final & ~last & inp.valid & ~inp.payload.mask.any() & inp.payload.last)

        held_lowest, held_rests = self._lowest(m, mask, "held")
        room = count - held_count                      # slots left for the borrowed mask
        if self.pack:
            in_lowest, in_rests = self._lowest(m, inp.payload.mask, "in")
            borrowed_rest = Array(in_rests[r] for r in range(count + 1))[room]
        else:
            borrowed_rest = 0                          # only an empty mask is borrowed
        slots = []                                     # pack: (one-hot spike, its mask's base) per slot
        for k in range(count):
            own = held_lowest[k].any()
            if self.pack:   # slot k: the held mask's k-th lowest spike, else the borrowed mask's (k - held_count)-th
                from_input = Array(in_lowest[k - c] if c <= k else Const(0, self.width) for c in range(count + 1))
                chosen = Signal(self.width, name=f"in_slot{k}")
                m.d.comb += chosen.eq(Mux(borrow, from_input[held_count], 0))
                slots.append((held_lowest[k] | chosen, Mux(own, base, inp.payload.base)))
                m.d.comb += out.payload.spike[k].eq(own | chosen.any())
            else:
                m.d.comb += [out.payload.index[k].eq(base + one_hot_index(held_lowest[k], self.width)),
                             out.payload.spike[k].eq(own)]
        if self.pack:
            self._slot_register(m, out, slots, fifo)
        m.d.comb += [
            out.valid.eq(held | borrow),
            out.payload.last.eq((held & final & last) | (borrow & (incoming <= room) & inp.payload.last)),
            inp.ready.eq((~held & ~borrow) | (out.ready & final)),
        ]
        with m.If(out.valid & out.ready):
            m.d.sync += [mask.eq(held_rests[count]), pending.eq(pending - count)]
            with m.If(final):
                m.d.sync += held.eq(0)
        with m.If(inp.valid & inp.ready):
            with m.If(borrow):
                m.d.sync += [held.eq(incoming > room), mask.eq(borrowed_rest), pending.eq(incoming - room)]
            with m.Else():
                m.d.sync += [held.eq(inp.payload.mask.any() | inp.payload.last), mask.eq(inp.payload.mask),
                             pending.eq(incoming)]
            m.d.sync += [base.eq(inp.payload.base), last.eq(inp.payload.last)]
        return m
