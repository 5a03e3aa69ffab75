"""Recurrent layers: the layer's own spikes of step ``t - 1`` join its input masks of step ``t``."""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import index_bits, mask_layout


def is_recurrent(layer) -> bool:
    """True when ``layer`` feeds its own spikes of step ``t - 1`` back into step ``t`` (optional layer attribute
    ``is_recurrent``; layers without it are feed-forward)."""
    return bool(getattr(layer, "is_recurrent", False))


class FeedbackMerge(wiring.Component):
    """Merges ``upstream`` masks (input addresses ``0 .. n_in - 1``) and the layer's ``own`` masks (its
    ``feedback`` port, neuron ``n`` at address ``n_in + n``) into one mask stream for the layer's spike extractor.

    A step of the merged stream ends (``last``) when both inputs have ended theirs: the input whose
    end-of-step mask arrives first passes it on without ``last`` and is held until the other's arrives
    (so no mask of the next step slips in). ``begin`` starts an inference: the first step has no own spikes
    to wait for (the layer sends none in the last step of an inference, so nothing is left over). Own masks
    go first when both are offered. Combinational (no register on the data path): ``masks.valid`` follows the
    offered inputs, each input's ``ready`` follows ``masks.ready``.
    """

    def __init__(self, upstream_width: int, upstream_base_bits: int, lanes: int, own_base_bits: int, n_in: int,
                 n_out: int):
        self.width, self.n_in = max(upstream_width, lanes), n_in
        super().__init__({
            "begin": In(1),
            "upstream": In(stream.Signature(mask_layout(upstream_width, upstream_base_bits))),
            "own": In(stream.Signature(mask_layout(lanes, own_base_bits))),
            "masks": Out(stream.Signature(mask_layout(self.width, index_bits(n_in + n_out)))),
        })

    def elaborate(self, platform):
        m = Module()
        up, own, out = self.upstream, self.own, self.masks
        up_done, own_done = Signal(), Signal()        # that input's end-of-step mask of the open step has passed
        pick_own = own.valid & ~own_done
        m.d.comb += [
            out.valid.eq(pick_own | (up.valid & ~up_done)),
            out.payload.mask.eq(Mux(pick_own, own.payload.mask, up.payload.mask)),
            out.payload.base.eq(Mux(pick_own, own.payload.base + self.n_in, up.payload.base)),
            out.payload.last.eq(Mux(pick_own, own.payload.last & up_done, up.payload.last & own_done)),
            own.ready.eq(out.ready & ~own_done),
            up.ready.eq(out.ready & ~up_done & ~pick_own),
        ]
        with m.If(own.valid & own.ready & own.payload.last):
            with m.If(up_done):
                m.d.sync += up_done.eq(0)
            with m.Else():
                m.d.sync += own_done.eq(1)
        with m.If(up.valid & up.ready & up.payload.last):
            with m.If(own_done):
                m.d.sync += own_done.eq(0)
            with m.Else():
                m.d.sync += up_done.eq(1)
        with m.If(self.begin):
            m.d.sync += [own_done.eq(1), up_done.eq(0)]
        return m
