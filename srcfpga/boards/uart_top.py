"""The network behind a UART host link (:mod:`srcfpga.boards.protocol`): ``rx``/``tx`` pins, class on ``label``.

:class:`UartNetwork` is board independent (the cocotb test simulates it as it is);
:class:`srcfpga.boards.top.BoardTop` wires it to a board's UART pins and LEDs. Flow per request:
``SYNC`` -> ``HEADER`` (kind, seed, blank, steps) -> ``START`` (one ``start`` beat to the network) ->
``DATA`` (bytes packed into ``W``-wide pixel or frame beats and offered to the network) ->
``RESULT`` (wait for and latch ``result``) -> ``SEND`` (the response bytes) -> ``SYNC``.

Errors on the line: a wrong kind byte, a UART framing error (a corrupted byte: its stop bit is 0)
while a request is being received, or a request that stops arriving (no byte for ``idle_bits`` bit
times in ``HEADER`` / ``DATA``) send the link to ``DRAIN``: it takes and drops bytes until the line
has been quiet for ``idle_bits`` bit times, then answers the single byte ``NAK`` (the host reports
the request as rejected) and waits for the next ``SYNC``. The network is held in reset while the link
drains, so a half-received image leaves nothing behind. After a reset the link also starts in
``DRAIN`` (without the ``NAK`` unless bytes arrived): a reset in the middle of a request drops its
rest instead of reading a request out of pixel bytes. ``idle_bits`` (default :data:`IDLE_BITS`, about
87 ms at 115200 baud) must exceed the longest pause a host leaves inside one request.

The response's ``cycles`` leaves out the serial transfer: the network's counter runs from ``start``,
so the top subtracts the cycles until the last input beat (pixels: and adds back the image load of a
host without gaps), giving :meth:`srcfpga.hdl.LatencyModel.link_bound_cycles`.
"""

from amaranth import Array, Cat, Const, Module, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hdl import HdlConfig, LatencyModel, NetworkTop
from ..hdl.layouts import CYCLE_BITS, LABEL_BITS, STEP_BITS, start_layout
from ..quant.hwmodel import HardwareModel
from . import protocol
from .uart import UARTReceiver, UARTTransmitter

UART_TOP_NAME = "srcfpga_uart"
IDLE_BITS = 10_000      # bit times of silence that end a broken request (DRAIN) and that a reset waits for


class UartNetwork(wiring.Component):
    """``NetworkTop`` with a UART host link. ``divisor``: clock cycles per UART bit; ``idle_bits``: bit
    times of silence that end a broken request (see the module doc)."""

    rx: In(1)
    tx: Out(1)
    label: Out(LABEL_BITS)
    busy: Out(1)

    def __init__(self, model: HardwareModel, config: HdlConfig = HdlConfig(), divisor: int = 868,
                 idle_bits: int = IDLE_BITS):
        if model.readout.acc_bits > 32:
            from ..errors import ConfigError
            raise ConfigError(f"the UART response carries 32-bit counts; readout acc_bits={model.readout.acc_bits}")
        self.model = model
        self.network = NetworkTop(model, config)
        self.config = self.network.config
        self.divisor = divisor
        if idle_bits < 20:
            from ..errors import ConfigError
            raise ConfigError(f"idle_bits must be at least 20 (two bytes), got {idle_bits}")
        self.idle_bits = idle_bits
        self.width = self.network.mask_width
        self.beats = self.network.beats_per_image
        self.kind = protocol.KIND_PIXELS if self.config.input == "pixels" else protocol.KIND_FRAMES
        self.beat_bytes = protocol.beat_bytes(self.config.input, self.width)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        net = self.network
        abort = Signal()            # hold the network in reset (while the link drains)
        m.submodules.network = ResetInserter({"sync": abort})(net)
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

        # cycles since the last byte (or framing error) while waiting for the host, saturating at the timeout
        timeout = self.idle_bits * self.divisor
        idle = Signal(range(timeout + 1))
        waiting = Signal()          # in a state that waits for host bytes: HEADER, DATA, DRAIN
        dropped = Signal()          # DRAIN ends with a NAK: a request was broken or bytes were dropped
        with m.If(~waiting | got | rx.framing_error):
            m.d.sync += idle.eq(0)
        with m.Elif(idle != timeout):
            m.d.sync += idle.eq(idle + 1)

        def fail_on_line_errors(timed_out=0):
            with m.If(rx.framing_error | timed_out):
                m.d.sync += dropped.eq(1)
                m.next = "DRAIN"

        with m.FSM():
            with m.State("DRAIN"):      # the reset state, too: wait for a quiet line
                m.d.comb += [rx.data.ready.eq(1), waiting.eq(1), abort.eq(1)]
                with m.If(got | rx.framing_error):
                    m.d.sync += dropped.eq(1)
                with m.Elif(idle == timeout):
                    m.d.sync += dropped.eq(0)
                    with m.If(dropped):
                        m.next = "NAK"
                    with m.Else():
                        m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += rx.data.ready.eq(1)
                with m.If(got & (byte == protocol.SYNC)):
                    m.next = "KIND"
                fail_on_line_errors()
            with m.State("KIND"):
                m.d.comb += rx.data.ready.eq(1)
                with m.If(got):
                    m.d.sync += count.eq(0)
                    with m.If(byte == self.kind):
                        m.next = "HEADER"
                    with m.Else():
                        m.d.sync += dropped.eq(1)
                        m.next = "DRAIN"
                fail_on_line_errors()
            with m.State("NAK"):
                m.d.comb += [tx.data.valid.eq(1), tx.data.payload.eq(protocol.NAK)]
                with m.If(tx.data.ready):
                    m.next = "SYNC"
            with m.State("HEADER"):
                m.d.comb += [rx.data.ready.eq(1), self.busy.eq(1), waiting.eq(1)]
                with m.If(got):
                    m.d.sync += [hdr.as_value().eq(Cat(hdr.as_value()[8:], byte)), count.eq(count + 1)]
                    with m.If(count == protocol.HEADER_BYTES - 3):
                        m.next = "START"
                fail_on_line_errors(idle == timeout)
            with m.State("START"):
                m.d.comb += [net.start.valid.eq(1), net.start.payload.eq(hdr), self.busy.eq(1)]
                with m.If(net.start.ready):
                    m.d.sync += [count.eq(0), beats_left.eq(self.beats), link.eq(0),
                                 steps_left.eq(1 if self.config.input == "pixels" else hdr.blank + hdr.steps)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [rx.data.ready.eq(1), self.busy.eq(1), waiting.eq(1)]
                m.d.sync += link.eq(link + 1)
                with m.If(got):
                    m.d.sync += [beat.eq(Cat(beat[8:], byte)), count.eq(count + 1)]
                    with m.If(count == self.beat_bytes - 1):
                        m.next = "BEAT"
                fail_on_line_errors(idle == timeout)
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
