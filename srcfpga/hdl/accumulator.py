"""Event-driven synaptic accumulator: adds the weight column of every input that spiked."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .layouts import event_layout

# Yosys reads ram_style ("logic": LUTs; its "distributed" means LUT RAM, which a ROM cannot map to), Vivado rom_style
MEMORY_ATTRS = {"block": {"ram_style": "block", "rom_style": "block"},
                "distributed": {"ram_style": "logic", "rom_style": "distributed"}}
LUT_ROM_MAX_WORDS = 64     # memory "auto": up to 64 words a ROM bit is one LUT6, deeper ROMs go to block RAM
PORTS_PER_ROM = 2          # read ports of one weight ROM copy: the two ports of a dual-port block RAM


def column_rom(weights: np.ndarray, weight_bits: int, depth: int, memory: str) -> Memory:
    """Weight ROM, one word per input: word ``j`` packs ``weights[:, j]`` (neuron ``n`` at bits
    ``[n * weight_bits, (n + 1) * weight_bits)``, two's complement). Rows past ``weights`` are zero.

    ``memory="auto"`` puts ROMs of at most ``LUT_ROM_MAX_WORDS`` inputs in LUTs (one LUT6 level per bit)
    and deeper ones in block RAM: a deeper LUT ROM needs a multiplexer tree per bit behind an address
    that fans out to every bit of every read port (the trained 84 -> 64 BMRU model of benchmarks/README.md:
    97 MHz by the estimate with the ROM in LUTs, 123 MHz and 4.5 k fewer LUTs in block RAM)."""
    n_out, n_in = weights.shape
    style = memory if memory != "auto" else "distributed" if n_in <= LUT_ROM_MAX_WORDS else "block"
    mask = (1 << weight_bits) - 1
    words = [sum((int(weights[n, j]) & mask) << (n * weight_bits) for n in range(n_out)) for j in range(n_in)]
    return Memory(shape=unsigned(n_out * weight_bits), depth=max(depth, 2), init=words + [0] * (depth - n_in),
                  attrs=MEMORY_ATTRS[style])


def beat_sum(m: Module, terms: list, name: str) -> Value:
    """The exact sum of ``terms`` (signed weights), added in pairs: a binary tree whose level ``l`` is
    ``weight_bits + l`` wide (exact, Amaranth's widths), so the accumulator adds one narrow sum to its wide
    register. Each inner sum is a ``keep`` signal: without it Yosys's ``alumacc`` merges the whole chain, the
    accumulator's add included, into one ``$macc`` cell, mapped as a carry-save tree of sign-extended full
    adders in LUTs (k = 4, 5-bit weights, 15-bit sums: 88 LUT cells per neuron, against 57 for the tree on
    carry chains; benchmarks/README.md, "Fitting k = 4 on the XC7A35T")."""
    level = 0
    while len(terms) > 1:
        sums = []
        for i in range(0, len(terms) - 1, 2):
            pair = terms[i] + terms[i + 1]
            kept = Signal(pair.shape(), name=f"{name}_l{level}_{i // 2}", attrs={"keep": 1})
            m.d.comb += kept.eq(pair)
            sums.append(kept)
        terms, level = sums + terms[len(terms) - len(terms) % 2:], level + 1
    return terms[0]


class SynapticAccumulator(wiring.Component):
    """``sum[n] = sum over spiking inputs j of W[n, j]`` for all ``n_out`` neurons in parallel.

    Consumes ``events`` (up to ``count`` spiking input addresses per cycle; one read port of the
    weight ROM each - ``ceil(count / PORTS_PER_ROM)`` identical copies of the ROM, two ports each -
    one cycle read latency, a port enabled only in cycles that accept an event with a spike in its slot,
    so an idle accumulator reads no block RAM and a beat reads one port per spike; when the ROM has a
    row past the inputs, a port also reads that zero row for the first empty slot after a spike, so an
    empty slot's word is 0 without a gate per weight bit) and, at the end of
    each timestep (``last``), moves the exact sums (``sum_bits`` wide, signed) into the hold register
    offered on ``sums``. The consumer may read ``sums.payload`` while ``valid`` and accepts with ``ready`` when done with it; the next step's
    ``last`` waits until then, the next step's other spikes do not.
    """

    def __init__(self, weights: np.ndarray, weight_bits: int, sum_bits: int, address_bits: int,
                 count: int, memory: str, width: int | None = None):
        self._weights, self._weight_bits, self._memory, self.count = weights, weight_bits, memory, count
        self.width = weights.shape[0] if width is None else width
        super().__init__({
            "events": In(stream.Signature(event_layout(count, address_bits))),
            "sums": Out(stream.Signature(data.ArrayLayout(signed(sum_bits), self.width))),
        })
        self._depth = 1 << address_bits

    def elaborate(self, platform):
        m = Module()
        events, sums = self.events, self.sums
        roms = [column_rom(self._weights, self._weight_bits, self._depth, self._memory)
                for _ in range(-(-self.count // PORTS_PER_ROM))]
        for copy, rom in enumerate(roms):
            m.submodules[f"rom{copy}" if copy else "rom"] = rom
        column = data.ArrayLayout(signed(self._weight_bits), self._weights.shape[0])

        acc = Signal.like(sums.payload)
        pending, pending_spike, pending_last = Signal(), Signal(self.count), Signal()
        blocked = events.payload.last & (sums.valid | (pending & pending_last))
        accept = events.valid & events.ready
        m.d.comb += events.ready.eq(~blocked)
        m.d.sync += [pending.eq(accept), pending_spike.eq(events.payload.spike), pending_last.eq(events.payload.last)]

        n_out, n_in = self._weights.shape
        slots = [[] for _ in range(n_out)]      # per neuron, the beat's weights (0: empty slot)
        for k in range(self.count):
            port = roms[k // PORTS_PER_ROM].read_port()
            spike = events.payload.spike[k]
            words = data.View(column, port.data)
            if n_in < self._depth:
                # an empty slot reads the zero row n_in (once: the port holds its word until the next read),
                # so the sums need no gate per weight bit
                zeroed = Signal(name=f"zeroed{k}")      # the port's word is the zero row's
                m.d.comb += [port.addr.eq(Mux(spike, events.payload.index[k], n_in)),
                             port.en.eq(accept & (spike | ~zeroed))]
                with m.If(accept):
                    m.d.sync += zeroed.eq(~spike)
                for n, terms in enumerate(slots):
                    terms.append(words[n])
            else:
                # no zero row: read only for a slot that carries a spike, drop an empty slot's word
                m.d.comb += [port.addr.eq(events.payload.index[k]), port.en.eq(accept & spike)]
                for n, terms in enumerate(slots):
                    terms.append(Mux(pending_spike[k], words[n], 0))
        total = [acc[n] for n in range(self.width)]
        for n, terms in enumerate(slots):
            total[n] = total[n] + beat_sum(m, terms, f"beat{n}")

        with m.If(sums.valid & sums.ready):
            m.d.sync += sums.valid.eq(0)
        # the clear of ``acc`` outside its enable: Yosys maps it to the flip-flops' synchronous reset (which the
        # Xilinx FDRE applies over its clock enable) instead of a LUT per bit in front of each D input
        with m.If(pending & pending_last):
            m.d.sync += [sums.valid.eq(1), acc.eq(0)]
            m.d.sync += [sums.payload[n].eq(total[n]) for n in range(self.width)]
        with m.Elif(pending):
            m.d.sync += [acc[n].eq(total[n]) for n in range(self.width)]
        return m
