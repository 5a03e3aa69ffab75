"""Spike-frame input: precomputed input spikes, ``width`` inputs per beat, to spike masks."""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import const_mul
from .layouts import STEP_BITS, index_bits, input_layout, mask_layout


class FrameInput(wiring.Component):
    """After ``begin``, accepts ``blank + steps`` frames of ``ceil(n_in / width)`` beats each on
    ``frames`` (bit ``j`` of beat ``k`` is input ``k * width + j``) and forwards them as masks,
    dropping empty beats that do not end a step. Combinational: no latency, no storage.
    """

    def __init__(self, width: int, n_in: int):
        self.width, self.n_in = width, n_in
        self.beats = -(-n_in // width)
        super().__init__({
            "begin": In(1), "blank": In(STEP_BITS), "steps": In(STEP_BITS),
            "frames": In(stream.Signature(unsigned(input_layout("frames", width).size))),
            "masks": Out(stream.Signature(mask_layout(width, index_bits(n_in)))),
        })

    def elaborate(self, platform):
        m = Module()
        frames, masks = self.frames, self.masks
        remaining = Signal(STEP_BITS + 1)
        beat = Signal(range(max(2, self.beats)))
        last = beat == self.beats - 1
        send = frames.payload.any() | last
        m.d.comb += [
            masks.payload.mask.eq(frames.payload),
            masks.payload.base.eq(const_mul(beat, self.width)),
            masks.payload.last.eq(last),
            masks.valid.eq(frames.valid & (remaining != 0) & send),
            frames.ready.eq((remaining != 0) & (masks.ready | ~send)),
        ]
        with m.If(frames.valid & frames.ready):
            m.d.sync += beat.eq(beat + 1)
            with m.If(last):
                m.d.sync += [beat.eq(0), remaining.eq(remaining - 1)]
        with m.If(self.begin):
            m.d.sync += [beat.eq(0), remaining.eq(self.blank + self.steps)]
        return m
