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


CHUNK = 4      # mask bits per chunk of the rank selection: a chunk's 4 bits and a 2-bit rank are one LUT6 per output bit
CHUNK_RANK_BITS = 2


def _chunks(value, width: int) -> list:
    """``value`` in ``ceil(width / CHUNK)`` chunks of ``CHUNK`` bits (the last one zero-padded)."""
    padded = Cat(value, Const(0, -width % CHUNK))
    return [padded[c:c + CHUNK] for c in range(0, len(padded), CHUNK)]


STAGED_SPAN = 4    # pack: the prefix sums' levels of span 1 and 2 come before the ``next`` register, the rest after it


def chunk_counts(value, width: int) -> list:
    """Set bits of ``value`` per chunk of ``CHUNK`` bits: a 4-bit sum each (one LUT per result bit)."""
    return [sum(chunk[b] for b in range(CHUNK)) for chunk in _chunks(value, width)]


def sklansky(sums: list, bits: int, first: int = 1, stop: int | None = None) -> list:
    """Levels of a Sklansky parallel prefix sum over ``sums``, ``bits`` wide, of spans ``first, 2 first, ...``
    below ``stop`` (all when None): at span ``s`` the upper half of every block of ``2 s`` values adds the
    lower half's last. From the chunk counts, all levels give the inclusive prefix sums; the levels below
    ``s`` the inclusive sums inside blocks of ``s`` chunks, which the levels from ``s`` on complete."""
    span = first
    while span < len(sums) and (stop is None or span < stop):
        sums = [(sums[c] + sums[(c // span) * span - 1])[:bits] if (c // span) % 2 else sums[c] for c in range(len(sums))]
        span *= 2
    return sums


def chunk_prefix(value, width: int) -> list:
    """``prefix[c]`` = set bits of ``value`` below chunk ``c`` (bits ``CHUNK * c`` and up), for
    ``c = 0 .. chunks``: ``prefix[0] = 0``, ``prefix[chunks]`` = the popcount; :func:`sklansky` over the
    :func:`chunk_counts` (``log2(chunks)`` adder levels), each value ``bit_length(width)`` bits wide."""
    bits = width.bit_length()
    return [Const(0, bits)] + sklansky([count[:bits] for count in chunk_counts(value, width)], bits)


def select_rank(mask, prefix: list, rank, width: int):
    """Index of the set bit of ``mask`` that has ``rank`` set bits below it (``rank < popcount``; any value
    otherwise). Chunk ``c`` holds it when ``prefix[c] <= rank < prefix[c + 1]``: one comparison per chunk
    boundary; inside the chunk it is the ``(rank - prefix[c]) mod CHUNK``-th set bit (:func:`nth_set_bit`,
    a function of the chunk's bits and two rank bits: one LUT6 per position bit). Index = ``CHUNK * c + position``, an AND-OR tree over the chunks.
    Depth: comparator, one LUT for the chunk's one-hot select, the OR tree; no carry chain over the mask."""
    chunks = _chunks(mask, width)
    reached = [rank >= prefix[c] for c in range(len(chunks))] + [Const(0, 1)]
    chunk_bits = max(1, (len(chunks) - 1).bit_length())
    terms = []
    for c, chunk in enumerate(chunks):
        offset = (rank[:CHUNK_RANK_BITS] - prefix[c][:CHUNK_RANK_BITS])[:CHUNK_RANK_BITS]
        terms.append(Mux(reached[c] & ~reached[c + 1], Cat(nth_set_bit(chunk, offset), Const(c, chunk_bits)), 0))
    return _or_all(terms)


def nth_set_bit(chunk, n):
    """Position of the ``n``-th lowest set bit of the ``CHUNK``-bit ``chunk`` (0 when there is none): bit
    ``i`` is it when set with exactly ``n`` set bits below it; logic, not a lookup table (Yosys would make
    every table a ROM)."""
    below, hits = 0, []
    for i in range(CHUNK):
        hits.append(chunk[i] & (below == n))
        below = below + chunk[i]
    return Cat(*(_or_all([hits[i] for i in range(CHUNK) if i >> j & 1]) for j in range(CHUNK_RANK_BITS)))


class SpikeExtractor(wiring.Component):
    """Reads ``masks`` (``width`` spike bits at neuron offset ``base``) and emits, per clock cycle,
    the addresses of up to ``count`` spiking inputs, lowest first, on ``events``.

    The extractor holds one mask (``held``, ``pending`` spikes left). A beat takes up to ``count``
    spikes of the held mask; when that empties it (``pending <= count``), the beat may also *borrow*
    the mask on offer: its lowest ``count - pending`` spikes fill the free slots and the rest
    becomes the held mask, in the same cycle.

    * ``pack=False``: the mask on offer is the input's. Only an empty end-of-step mask is borrowed (its
      ``last`` flag is merged into the held mask's final beat), and a mask is loaded in a cycle of its
      own. Cycles per step are ``sum over non-empty masks of ceil(popcount / count)``, plus one when the
      step has no spike. The held mask loses its ``count`` lowest spikes per beat (chained lowest-set-bit
      isolations), which are encoded into addresses in the same cycle.
    * ``pack=True``: the input passes two staging registers (:meth:`_staged`): ``next`` takes it as it is,
      with the first levels of its chunk prefix sums (:func:`sklansky` below ``STAGED_SPAN``: set bits per
      chunk, summed inside blocks of 4 chunks), ``offer`` holds the mask with its chunk prefix counts (the
      remaining levels, from ``next``'s register); an empty end-of-step mask in
      ``next`` is folded into a waiting non-final ``offer`` (its ``last`` set, the empty mask dropped: it
      would cost a beat of its own). Every mask of the same step is borrowed (never across an end-of-step
      mask), also when nothing is held, so beats are packed across the masks of a step: about
      ``ceil(spikes of the step / count)`` beats per step when masks arrive in time. The data path works
      by rank: a loaded mask is kept whole with its prefix counts, ``taken`` counts its spikes already
      sent, and a beat only decides, per slot ``k``, which mask and which rank (``taken + k`` in the held
      mask for ``k < held_count``, else ``k - held_count`` in the borrowed one). The slot register keeps
      that choice with the mask and its prefix counts; in the next cycle :func:`select_rank` turns it
      into the address for the event FIFO. Every path starts at a register: no carry chain along the
      mask, no prefix sum after the input's read or in the beat.

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
        ``count`` bits cleared."""
        lowest, rest = [], value
        for k in range(self.count):
            bit = Signal(self.width, name=f"{name}_lowest{k}")
            m.d.comb += bit.eq(rest & (~rest + 1))
            lowest.append(bit)
            rest = rest & ~bit
        return lowest, rest

    def _staged(self, m):
        """``pack``'s staging registers: ``next`` (the input's mask as taken, with its chunk sums inside blocks) and
        ``offer`` (the mask on offer to the beat, with its chunk prefix counts); returns ``offer`` as a stream and its prefix
        counts. Each moves on when the one behind it is free or taken in this cycle (full throughput); a
        waiting ``offer`` that does not end its step absorbs an empty end-of-step mask from ``next``."""
        inp, width = self.masks, self.width
        layout = inp.payload.shape()
        nxt, nxt_valid = Signal(layout, name="next"), Signal(name="next_valid")
        bits = width.bit_length()
        incoming_sums = sklansky([count[:bits] for count in chunk_counts(inp.payload.mask, width)], bits, stop=STAGED_SPAN)
        block_sums = [Signal.like(value, name=f"next_sum{c}") for c, value in enumerate(incoming_sums)]
        offer = stream.Signature(layout).create(path=("offer",))
        sums = [Const(0, bits)] + sklansky(block_sums, bits, first=STAGED_SPAN)
        offer_prefix = [sums[0]] + [Signal.like(value, name=f"offer_prefix{c}") for c, value in enumerate(sums[1:], 1)]
        taken = offer.valid & offer.ready
        fold = nxt_valid & nxt.last & ~nxt.mask.any() & offer.valid & ~offer.ready & ~offer.payload.last
        move = nxt_valid & (~offer.valid | offer.ready)
        m.d.comb += inp.ready.eq(~nxt_valid | move | fold)
        with m.If(taken):
            m.d.sync += offer.valid.eq(0)
        with m.If(fold):
            m.d.sync += offer.payload.last.eq(1)
        with m.If(move):
            m.d.sync += [offer.valid.eq(1), offer.payload.eq(nxt)]
            m.d.sync += [register.eq(value) for register, value in zip(offer_prefix[1:], sums[1:])]
        with m.If(move | fold):
            m.d.sync += nxt_valid.eq(0)
        with m.If(inp.valid & inp.ready):
            m.d.sync += [nxt_valid.eq(1), nxt.eq(inp.payload)] + [r.eq(v) for r, v in zip(block_sums, incoming_sums)]
        return offer, offer_prefix

    def elaborate(self, platform):
        m = Module()
        count, width = self.count, self.width
        layout = self.events.payload.shape()
        m.submodules.fifo = fifo = SyncFIFO(width=layout.size, depth=EVENT_FIFO_DEPTH)
        m.d.comb += [self.events.payload.eq(fifo.r_data), self.events.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(self.events.ready)]
        out = stream.Signature(layout).create()          # the beat: the FIFO's write side (pack: the slot register's)
        held = Signal()
        mask = Signal(width)
        base = Signal.like(self.masks.payload.base)
        last = Signal()
        pending = Signal(range(width + 1))            # spikes left in the held mask

        held_count = Signal(range(count + 1))         # spikes the beat takes from the held mask
        final = Signal()                              # this beat empties the held mask
        borrow = Signal()                             # the beat also takes the mask on offer
        incoming = Signal(range(width + 1))
        if self.pack:
            inp, offer_prefix = self._staged(m)
            m.d.comb += incoming.eq(offer_prefix[-1])
        else:
            inp = self.masks
            m.d.comb += incoming.eq(popcount(inp.payload.mask))
        m.d.comb += [
            final.eq(~held | (pending <= count)),
            held_count.eq(Mux(~held, 0, Mux(final, pending, count))),
        ]
        if self.pack:
            m.d.comb += borrow.eq(inp.valid & final & ~(held & last))
        else:
            m.d.comb += borrow.eq(held & final & ~last & inp.valid & ~inp.payload.mask.any() & inp.payload.last)
        room = count - held_count                      # slots left for the borrowed mask
        m.d.comb += [
            out.valid.eq(held | borrow),
            out.payload.last.eq((held & final & last) | (borrow & (incoming <= room) & inp.payload.last)),
            inp.ready.eq((~held & ~borrow) | (out.ready & final)),
        ]
        with m.If(out.valid & out.ready):
            m.d.sync += pending.eq(pending - count)
            with m.If(final):
                m.d.sync += held.eq(0)
        with m.If(inp.valid & inp.ready):
            with m.If(borrow):
                m.d.sync += [held.eq(incoming > room), pending.eq(incoming - room)]
            with m.Else():
                m.d.sync += [held.eq(inp.payload.mask.any() | inp.payload.last), pending.eq(incoming)]
            m.d.sync += [base.eq(inp.payload.base), last.eq(inp.payload.last)]

        if self.pack:
            self._ranked(m, inp, offer_prefix, out, fifo, mask, base, held_count, borrow, incoming)
        else:
            m.d.comb += [fifo.w_data.eq(out.payload), fifo.w_en.eq(out.valid), out.ready.eq(fifo.w_rdy)]
            lowest, rest = self._lowest(m, mask, "held")
            for k in range(count):
                m.d.comb += [out.payload.index[k].eq(base + one_hot_index(lowest[k], width)),
                             out.payload.spike[k].eq(lowest[k].any())]
            with m.If(out.valid & out.ready):
                m.d.sync += mask.eq(rest)
            with m.If(inp.valid & inp.ready & ~borrow):
                m.d.sync += mask.eq(inp.payload.mask)
        return m

    def _ranked(self, m, inp, in_prefix, out, fifo, mask, base, held_count, borrow, incoming):
        """``pack``'s data path: the held mask with its prefix counts (copied from ``offer`` with the mask) and
        ``taken`` (spikes of it already sent), the slot register (per slot: mask, prefix counts, rank, base,
        spike) and the address encoding (:func:`select_rank` plus the base) in front of the event FIFO. The
        slot register adds one cycle of latency, no loss of throughput; what feeds it is a choice between
        registers (held mask or ``offer``) and a rank (``taken + k`` or ``k - held_count``)."""
        count, width = self.count, self.width
        prefix = [in_prefix[0]] + [Signal.like(value, name=f"held_prefix{c}") for c, value in enumerate(in_prefix[1:-1], 1)]
        taken = Signal(range(width + 1))
        beat = out.valid & out.ready
        with m.If(beat):
            m.d.sync += taken.eq(taken + count)
        with m.If(inp.valid & inp.ready):
            m.d.sync += [mask.eq(inp.payload.mask), taken.eq(Mux(borrow, count - held_count, 0))]
            m.d.sync += [register.eq(value) for register, value in zip(prefix[1:], in_prefix[1:-1])]

        valid, last, spikes = Signal(name="slot_valid"), Signal(name="slot_last"), Signal(count, name="slot_spike")
        encoded = stream.Signature(self.events.payload.shape()).create()
        m.d.comb += [fifo.w_en.eq(valid), fifo.w_data.eq(encoded.payload), out.ready.eq(~valid | fifo.w_rdy),
                     encoded.payload.last.eq(last), encoded.payload.spike.eq(spikes)]
        loads = [last.eq(out.payload.last), spikes.eq(out.payload.spike)]
        for k in range(count):
            own = k < held_count                  # slot k: the held mask's rank taken + k, else the borrowed one's
            slot_mask = Signal(width, name=f"slot_mask{k}")
            slot_prefix = [Signal.like(value, name=f"slot{k}_prefix{c}") for c, value in enumerate(in_prefix)]
            rank = Signal(range(max(width, CHUNK)), name=f"slot_rank{k}")
            offset = Signal.like(base, name=f"slot_base{k}")
            loads += [slot_mask.eq(Mux(own, mask, inp.payload.mask)), rank.eq(Mux(own, taken + k, k - held_count)),
                      offset.eq(Mux(own, base, inp.payload.base))]
            loads += [register.eq(Mux(own, kept, value))
                      for register, kept, value in zip(slot_prefix[1:-1], prefix[1:], in_prefix[1:-1])]
            m.d.comb += [out.payload.spike[k].eq(own | (borrow & (k - held_count < incoming))),
                         encoded.payload.index[k].eq(offset + select_rank(slot_mask, slot_prefix, rank, width))]
        with m.If(out.valid & out.ready):
            m.d.sync += [valid.eq(1)] + loads
        with m.Elif(fifo.w_rdy):
            m.d.sync += valid.eq(0)
