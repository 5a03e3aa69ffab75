"""The network behind a UART host link (:mod:`srcfpga.boards.protocol`): ``rx``/``tx`` pins, class on ``label``.

:class:`UartNetwork` is board independent (the cocotb test simulates it as it is);
:class:`srcfpga.boards.top.BoardTop` wires it to a board's UART pins and LEDs. Flow per request:
``SYNC`` -> ``HEADER`` (kind, seed, blank, steps) -> ``START`` (one ``start`` beat to the network) ->
``DATA`` (bytes packed into ``W``-wide pixel or frame beats and offered to the network) ->
``RESULT`` (wait for and latch ``result``) -> ``SEND`` (the response bytes) -> ``SYNC``.

The response's ``cycles`` leaves out the serial transfer: the network's counter runs from ``start``,
so the top subtracts the cycles until the last input beat (pixels: and adds back the image load of a
host without gaps), giving :meth:`srcfpga.hdl.LatencyModel.link_bound_cycles`.
"""

from amaranth import Array, Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hdl import HdlConfig, LatencyModel, NetworkTop
from ..hdl.layouts import CYCLE_BITS, LABEL_BITS, STEP_BITS, start_layout
from ..quant.hwmodel import HardwareModel
from . import protocol
from .uart import UARTReceiver, UARTTransmitter

UART_TOP_NAME = "srcfpga_uart"


class UartNetwork(wiring.Component):
    """``NetworkTop`` with a UART host link. ``divisor``: clock cycles per UART bit."""

    rx: In(1)
    tx: Out(1)
    label: Out(LABEL_BITS)
    busy: Out(1)

    def __init__(self, model: HardwareModel, config: HdlConfig = HdlConfig(), divisor: int = 868):
        if model.readout.acc_bits > 32:
            from ..errors import ConfigError
            raise ConfigError(f"the UART response carries 32-bit counts; readout acc_bits={model.readout.acc_bits}")
        self.model = model
        self.network = NetworkTop(model, config)
        self.config = self.network.config
        self.divisor = divisor
        self.width = self.network.mask_width
        self.beats = self.network.beats_per_image
        self.kind = protocol.KIND_PIXELS if self.config.input == "pixels" else protocol.KIND_FRAMES
        self.beat_bytes = protocol.beat_bytes(self.config.input, self.width)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        net = self.network
        m.submodules.network = net
        m.submodules.uart_rx = rx = UARTReceiver(self.divisor)
        m.submodules.uart_tx = tx = UARTTransmitter(self.divisor)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]

        n_classes = self.model.readout.n_classes
        acc_bits = self.model.readout.acc_bits
        byte = rx.data.payload
        got = rx.data.valid & rx.data.ready
        hdr = Signal(start_layout())                   # the header's seed, blank, steps: the start payload
        count = Signal(range(max(protocol.HEADER_BYTES, self.beat_bytes, protocol.response_length(n_classes)) + 1))
        beat = Signal(8 * self.beat_bytes)
        beats_left = Signal(range(self.beats + 1))
        steps_left = Signal(STEP_BITS + 1)
        port = net.pixels if self.config.input == "pixels" else net.frames

        # response bytes: magic, label, cycles[4], n_classes, counts (sign-extended to 32 bits)
        label = Signal(LABEL_BITS)
        cycles = Signal(CYCLE_BITS)
        link = Signal(CYCLE_BITS)       # cycles from the start beat to the last input beat (the serial transfer)
        on_chip = LatencyModel(self.model, self.config).load_cycles      # the image load of a gap-free host
        counts = [Signal(acc_bits, name=f"count{c}") for c in range(n_classes)]
        fields = [Const(protocol.RESPONSE, 8), label, cycles, Const(n_classes, 8)]
        fields += [Cat(c, *([c[-1]] * (32 - acc_bits))) for c in counts]      # sign-extend to 32 bits
        flat = Cat(*fields)
        out_bytes = Array(flat[8 * i:8 * i + 8] for i in range(protocol.response_length(n_classes)))
        m.d.comb += [self.label.eq(label)]

        with m.FSM():
            with m.State("SYNC"):
                m.d.comb += rx.data.ready.eq(1)
                with m.If(got & (byte == protocol.SYNC)):
                    m.next = "KIND"
            with m.State("KIND"):
                m.d.comb += rx.data.ready.eq(1)
                with m.If(got):
                    m.d.sync += count.eq(0)
                    with m.If(byte == self.kind):
                        m.next = "HEADER"
                    with m.Else():
                        m.next = "NAK"
            with m.State("NAK"):
                m.d.comb += [tx.data.valid.eq(1), tx.data.payload.eq(protocol.NAK)]
                with m.If(tx.data.ready):
                    m.next = "SYNC"
            with m.State("HEADER"):
                m.d.comb += [rx.data.ready.eq(1), self.busy.eq(1)]
                with m.If(got):
                    m.d.sync += [hdr.as_value().eq(Cat(hdr.as_value()[8:], byte)), count.eq(count + 1)]
                    with m.If(count == protocol.HEADER_BYTES - 3):
                        m.next = "START"
            with m.State("START"):
                m.d.comb += [net.start.valid.eq(1), net.start.payload.eq(hdr), self.busy.eq(1)]
                with m.If(net.start.ready):
                    m.d.sync += [count.eq(0), beats_left.eq(self.beats), link.eq(0),
                                 steps_left.eq(1 if self.config.input == "pixels" else hdr.blank + hdr.steps)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [rx.data.ready.eq(1), self.busy.eq(1)]
                m.d.sync += link.eq(link + 1)
                with m.If(got):
                    m.d.sync += [beat.eq(Cat(beat[8:], byte)), count.eq(count + 1)]
                    with m.If(count == self.beat_bytes - 1):
                        m.next = "BEAT"
            with m.State("BEAT"):
                m.d.comb += [port.valid.eq(1), port.payload.eq(beat[:len(port.payload)]), self.busy.eq(1)]
                m.d.sync += link.eq(link + 1)
                with m.If(port.ready):
                    m.d.sync += [count.eq(0), beats_left.eq(beats_left - 1)]
                    m.next = "DATA"
                    with m.If(beats_left == 1):
                        m.d.sync += [beats_left.eq(self.beats), steps_left.eq(steps_left - 1)]
                        with m.If(steps_left == 1):
                            m.next = "RESULT"
            with m.State("RESULT"):
                m.d.comb += [net.result.ready.eq(1), self.busy.eq(1)]
                with m.If(net.result.valid):
                    m.d.sync += [label.eq(net.result.payload.label), count.eq(0),
                                 cycles.eq(net.result.payload.cycles - link + on_chip)]
                    m.d.sync += [counts[c].eq(net.result.payload.counts[c]) for c in range(n_classes)]
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += [tx.data.valid.eq(1), tx.data.payload.eq(out_bytes[count]), self.busy.eq(1)]
                with m.If(tx.data.ready):
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == protocol.response_length(n_classes) - 1):
                        m.next = "SYNC"
        return m
