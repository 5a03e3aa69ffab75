"""The network top: start command, input stream, layers, readout, result and trace streams."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..cells import CELLS
from ..quant.hwmodel import HardwareModel
from .config import HdlConfig
from .encoder import PIXEL_BITS, RateEncoderEngine
from .extractor import SpikeExtractor
from .feedback import FeedbackMerge
from .frames import FrameInput
from .layouts import (
    CYCLE_BITS,
    index_bits,
    probe_signature,
    readout_layout,
    result_layout,
    start_layout,
    state_trace_layout,
    trace_layout,
)
from .planes import PlaneCode, layer_value_bits
from .readout import ReadoutEngine


def input_beat_bits(model: HardwareModel, kind: str) -> int:
    """Width of one ``pixels`` beat (``2E`` pixels of ``PIXEL_BITS``) or ``frames`` beat (``2E`` spike bits)."""
    width = 2 * model.encoder.generators
    return PIXEL_BITS * width if kind == "pixels" else width


def state_layouts(model: HardwareModel, lanes: int) -> list[data.ArrayLayout]:
    """Per layer, the state words of one lane group (``lanes`` structs of the engine's ``lane_state``): the
    ``state`` field of the ``states<l>`` ports of a ``trace_states`` build."""
    return [data.ArrayLayout(CELLS[layer.kind].part("engine").lane_state(layer), lanes) for layer in model.layers]


class NetworkTop(wiring.Component):
    """A HardwareModel as hardware (docs/hardware.md has the port bit map and the protocol).

    Protocol: one ``start`` beat (seed, blank, steps) per inference; then either the image on
    ``pixels`` (``ceil(n_in / 2E)`` beats of ``2E`` pixels) or ``blank + steps`` spike frames on
    ``frames``; the answer arrives on ``result`` (cycles since ``start``, label, accumulators).
    ``trace[l]`` shows layer ``l``'s outputs per lane group and step (``lanes`` values of
    ``value_bits[l]`` bits each, from bit 0; the port is as wide as the widest layer's), ``readout`` the
    accumulators after each step. A new ``start`` is accepted once the previous result has been taken.
    With ``config.trace_states`` (verification builds only), ``states<l>`` shows layer ``l``'s new
    state words per lane group and step (``state_trace_layout(state_layouts[l])``).
    """

    def __init__(self, model: HardwareModel, config: HdlConfig = HdlConfig()):
        self.model = model
        self.config = config = config.resolve(model)
        self.mask_width = 2 * model.encoder.generators
        n_in, ro = model.input_size, model.readout
        ports = {"start": In(stream.Signature(start_layout())),
                 config.input: In(stream.Signature(input_beat_bits(model, config.input)))}
        ports["result"] = Out(stream.Signature(result_layout(ro.n_classes, ro.acc_bits)))
        self.value_bits = [layer_value_bits(layer) for layer in model.layers]
        ports["trace"] = Out(probe_signature(trace_layout(config.lanes * max(self.value_bits)))).array(len(model.layers))
        ports["readout"] = Out(probe_signature(readout_layout(ro.n_classes, ro.acc_bits)))
        self.state_layouts = state_layouts(model, config.lanes)
        if config.trace_states:
            for index, layout in enumerate(self.state_layouts):
                ports[f"states{index}"] = Out(probe_signature(state_trace_layout(layout)))
        super().__init__(ports)
        self.beats_per_image = -(-n_in // self.mask_width)

    def elaborate(self, platform):
        m = Module()
        model, cfg = self.model, self.config
        count = cfg.spikes_per_cycle
        busy = Signal()
        begin = self.start.valid & self.start.ready
        command = self.start.payload
        m.d.comb += self.start.ready.eq(~busy)

        if cfg.input == "pixels":
            m.submodules.source = source = RateEncoderEngine(model.encoder, model.input_size)
            m.d.comb += source.seed.eq(command.seed)
            wiring.connect(m, wiring.flipped(self.pixels), source.pixels)
        else:
            m.submodules.source = source = FrameInput(self.mask_width, model.input_size)
            wiring.connect(m, wiring.flipped(self.frames), source.frames)
        m.d.comb += [source.begin.eq(begin), source.blank.eq(command.blank), source.steps.eq(command.steps)]

        total = Signal.like(command.steps)
        with m.If(begin):
            m.d.sync += total.eq(command.blank + command.steps)

        masks, width, n_prev = source.masks, self.mask_width, model.input_size
        for index, layer in enumerate(model.layers):
            engine = CELLS[layer.kind].part("engine")(layer, index, cfg.lanes, count, cfg.memory, cfg.trace_states)
            if "feedback" in engine.signature.members:      # recurrent: own spikes of step t - 1 join step t
                merge = FeedbackMerge(width, index_bits(n_prev), cfg.lanes, index_bits(layer.n_out), n_prev,
                                      layer.n_out)
                m.submodules[f"feedback{index}"] = merge
                wiring.connect(m, masks, merge.upstream)
                wiring.connect(m, engine.feedback, merge.own)
                m.d.comb += [merge.begin.eq(begin), engine.steps.eq(total)]
                masks, width, n_prev = merge.masks, merge.width, n_prev + layer.n_out
            extractor = SpikeExtractor(width, index_bits(n_prev), count)
            m.submodules[f"extract{index}"], m.submodules[f"layer{index}"] = extractor, engine
            wiring.connect(m, masks, extractor.masks)
            wiring.connect(m, extractor.events, engine.events)
            m.d.comb += [self.trace[index].valid.eq(engine.trace.valid),
                         self.trace[index].payload.eq(engine.trace.payload)]     # spikes zero-extended
            m.d.comb += engine.begin.eq(begin)
            if cfg.trace_states:
                wiring.connect(m, engine.states, wiring.flipped(getattr(self, f"states{index}")))
            masks, width, n_prev = engine.masks, engine.mask_width, engine.addresses

        last = model.layers[-1]
        m.submodules.extract_readout = extractor = SpikeExtractor(width, index_bits(n_prev), count)
        m.submodules.readout = readout = ReadoutEngine(model.readout, last.n_out, count, cfg.memory,
                                                       PlaneCode(cfg.lanes, last.output_range))
        wiring.connect(m, masks, extractor.masks)
        wiring.connect(m, extractor.events, readout.events)
        wiring.connect(m, readout.trace, wiring.flipped(self.readout))
        m.d.comb += [readout.begin.eq(begin), readout.total_steps.eq(total)]

        cycles = Signal(CYCLE_BITS)
        m.d.comb += [
            self.result.valid.eq(readout.done.valid), readout.done.ready.eq(self.result.ready),
            self.result.payload.cycles.eq(cycles), self.result.payload.label.eq(readout.done.payload.label),
            self.result.payload.counts.eq(readout.done.payload.counts),
        ]
        with m.If(busy & ~readout.done.valid):
            m.d.sync += cycles.eq(cycles + 1)
        with m.If(begin):
            m.d.sync += [busy.eq(1), cycles.eq(0)]
        with m.If(self.result.valid & self.result.ready):
            m.d.sync += busy.eq(0)
        return m
