"""Event-driven synaptic accumulator: adds the weight column of every input that spiked."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Mux, Signal, signed, unsigned
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


class SynapticAccumulator(wiring.Component):
    """``sum[n] = sum over spiking inputs j of W[n, j]`` for all ``n_out`` neurons in parallel.

    Consumes ``events`` (up to ``count`` spiking input addresses per cycle; one read port of the
    weight ROM each - ``ceil(count / PORTS_PER_ROM)`` identical copies of the ROM, two ports each -
    one cycle read latency, a port enabled only in cycles that accept an event with a spike in its slot,
    so an idle accumulator reads no block RAM and a beat reads one port per spike) and, at the end of
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

        total = [acc[n] for n in range(self.width)]
        for k in range(self.count):
            port = roms[k // PORTS_PER_ROM].read_port()
            # reads only for a slot that carries a spike (a beat's empty slot would be read and then dropped)
            m.d.comb += [port.addr.eq(events.payload.index[k]), port.en.eq(accept & events.payload.spike[k])]
            words = data.View(column, port.data)
            for n in range(self._weights.shape[0]):
                total[n] = total[n] + Mux(pending_spike[k], words[n], 0)

        with m.If(sums.valid & sums.ready):
            m.d.sync += sums.valid.eq(0)
        with m.If(pending):
            with m.If(pending_last):
                m.d.sync += [sums.valid.eq(1), acc.eq(0)]
                m.d.sync += [sums.payload[n].eq(total[n]) for n in range(self.width)]
            with m.Else():
                m.d.sync += [acc[n].eq(total[n]) for n in range(self.width)]
        return m
