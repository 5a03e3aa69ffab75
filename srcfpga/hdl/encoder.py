"""On-chip rate encoder: pixels to spike masks, identical to ``srcfpga.data.encoder.RateEncoder``."""

from __future__ import annotations

import numpy as np
from amaranth import Cat, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..data.encoder import RateEncoder, generator_constant
from ..data.encoder import xorshift32 as reference_xorshift32
from .arith import const_mul
from .layouts import (
    PIXEL_BITS,
    SEED_BITS,
    STEP_BITS,
    index_bits,
    input_layout,
    mask_layout,
)

FIFO_DEPTH = 4


def xorshift32(x):
    """Marsaglia's xorshift32 (13, 17, 5) on a 32-bit value: pure XOR wiring."""
    x = (x ^ (x << 13))[:32]
    x = x ^ (x >> 17)
    return (x ^ (x << 5))[:32]


def advanced_constant(constant: int) -> int:
    """``xorshift32(constant)`` of an integer, by the specification's own step (:mod:`srcfpga.data.encoder`)."""
    x = np.array([constant], np.uint32)
    reference_xorshift32(x, np.empty_like(x))
    return int(x[0])


class RateEncoderEngine(wiring.Component):
    """Stores one image (``2E`` pixels per word) and emits its spike masks, one round per cycle.

    After ``begin`` (which seeds generator ``g`` with ``seed ^ K_g``) it accepts
    ``ceil(n_in / 2E)`` words on ``pixels``, then for each of ``blank`` steps sends an empty
    end-of-step mask and for each of ``steps`` stimulus steps runs ``ceil(n_in / 2E)`` rounds: the
    ``E`` xorshift32 generators step once, and pixel ``p = 2E*k + 2g (+1)`` spikes when the
    low (high) 16 bits of generator ``g`` are below ``pixel * gain_q``. Masks with no spike are
    not sent unless they end a step.

    xorshift32 is linear over GF(2): after ``t`` steps generator ``g`` holds
    ``X^t(seed ^ K_g) = X^t(seed) ^ X^t(K_g)`` (``X`` = xorshift32). So one shared register follows the seed's
    stream ``X^t(seed)`` and each generator's register only the constant's stream ``X^t(K_g)``, which does
    not depend on the seed: ``begin`` reloads it with a constant (a synchronous set/reset of its flip-flops,
    no logic per generator) and a round compares ``shared ^ own`` (one XOR per bit, in the comparator's
    LUT). Both registers hold their stream one step ahead (``X^(t+1)``), so a round compares registers
    only and advances both. Seeding every generator with ``X(seed) ^ X(K_g)`` instead needs a multiplexer
    per bit in front of each generator, and is costly to simulate: Yosys writes a XOR with a constant as
    inversions of scattered bit slices, which Verilator evaluates, E x 32 bits, in every clock cycle
    (benchmarks/README.md, "A design that is cheaper to simulate").
    """

    def __init__(self, encoder: RateEncoder, n_in: int):
        self.encoder, self.n_in = encoder, n_in
        self.width = encoder.beat_width
        self.rounds = encoder.rounds(n_in)
        super().__init__({
            "begin": In(1), "seed": In(SEED_BITS), "blank": In(STEP_BITS), "steps": In(STEP_BITS),
            "pixels": In(stream.Signature(unsigned(input_layout("pixels", self.width).size))),
            "masks": Out(stream.Signature(mask_layout(self.width, index_bits(n_in)))),
        })

    def elaborate(self, platform):
        m = Module()
        gens, width, rounds = self.encoder.generators, self.width, self.rounds
        image = Memory(shape=unsigned(PIXEL_BITS * width), depth=max(2, rounds), init=[])
        m.submodules.image = image
        write, read = image.write_port(), image.read_port()
        m.submodules.fifo = fifo = SyncFIFO(width=len(self.masks.payload.as_value()), depth=FIFO_DEPTH)
        m.d.comb += [self.masks.payload.eq(fifo.r_data), self.masks.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(self.masks.ready)]

        shared = Signal(32, name="seed_stream_ahead")
        states = [Signal(32, name=f"generator{g}_ahead") for g in range(gens)]
        blank, steps = Signal(STEP_BITS), Signal(STEP_BITS)
        step, word = Signal(STEP_BITS), Signal(range(max(2, rounds)))
        in_flight, flight_last = Signal(), Signal()
        room = fifo.level + in_flight < FIFO_DEPTH
        layout = self.masks.payload.shape()

        flight_word = Signal.like(word)
        m.d.sync += in_flight.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.begin):
                    m.d.sync += [blank.eq(self.blank), steps.eq(self.steps), step.eq(0), word.eq(0)]
                    m.d.sync += shared.eq(xorshift32(self.seed))
                    m.d.sync += [state.eq(advanced_constant(generator_constant(g))) for g, state in enumerate(states)]
                    m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += [self.pixels.ready.eq(1), write.addr.eq(word), write.data.eq(self.pixels.payload),
                             write.en.eq(self.pixels.valid)]
                with m.If(self.pixels.valid):
                    m.d.sync += word.eq(word + 1)
                    with m.If(word == rounds - 1):
                        m.d.sync += word.eq(0)
                        m.next = "RUN"
            with m.State("RUN"):
                with m.If(step == blank + steps):
                    m.next = "IDLE"
                with m.Elif(step < blank):
                    m.d.comb += [fifo.w_en.eq(room), fifo.w_data.eq(layout.const({"mask": 0, "base": 0, "last": 1}))]
                    with m.If(room):
                        m.d.sync += step.eq(step + 1)
                with m.Elif(room):
                    m.d.comb += read.addr.eq(word)
                    m.d.sync += [in_flight.eq(1), flight_word.eq(word), flight_last.eq(word == rounds - 1),
                                 word.eq(word + 1)]
                    with m.If(word == rounds - 1):
                        m.d.sync += [word.eq(0), step.eq(step + 1)]

        # the round issued last cycle: advance the generators, compare, push
        with m.If(in_flight):
            mask = Signal(width)
            m.d.sync += shared.eq(xorshift32(shared))
            for g, state in enumerate(states):
                m.d.sync += state.eq(xorshift32(state))
                number = shared ^ state         # generator g's xorshift32 state, one step ahead
                for half in range(2):
                    j = 2 * g + half
                    pixel = read.data[PIXEL_BITS * j:PIXEL_BITS * (j + 1)]
                    m.d.comb += mask[j].eq(number[16 * half:16 * half + 16] < const_mul(pixel, self.encoder.gain_q))
            m.d.comb += [
                fifo.w_data.eq(Cat(mask, const_mul(flight_word, width)[:index_bits(self.n_in)], flight_last)),
                fifo.w_en.eq(mask.any() | flight_last),
            ]
        return m
