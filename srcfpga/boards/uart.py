"""8N1 UART receiver and transmitter (Amaranth), ``divisor`` clock cycles per bit.

``divisor = round(clock_hz / baud)``: 868 for 115200 baud at 100 MHz (0.01 % rate error). The
receiver synchronises ``rx`` with two flip-flops, waits half a bit after the start edge, checks the
start bit and samples every bit in its middle; a frame whose stop bit is 0 is dropped (framing
error). A byte not taken on ``data`` before the next one completes is lost (``overrun`` pulses).
"""



from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def uart_divisor(clock_hz: float, baud: int) -> int:
    divisor = round(clock_hz / baud)
    if divisor < 4:
        raise ValueError(f"baud {baud} too fast for a {clock_hz / 1e6:g} MHz clock (need >= 4 cycles per bit)")
    return divisor


class _UARTPart(wiring.Component):
    """A component that times bits of ``divisor`` clock cycles (at least 4: half a bit must be 2 cycles)."""

    def __init__(self, divisor: int):
        if divisor < 4:
            raise ValueError("divisor must be at least 4")
        self.divisor = divisor
        super().__init__()


class UARTReceiver(_UARTPart):
    rx: In(1)
    data: Out(stream.Signature(8))
    overrun: Out(1)
    framing_error: Out(1)

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        bits = Signal(range(10))
        shift = Signal(8)
        m.d.sync += [self.overrun.eq(0), self.framing_error.eq(0)]
        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(rx):                      # glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), bits.eq(0)]
                        m.next = "DATA"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), shift.eq(Cat(shift[1:], rx)), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.sync += [self.data.payload.eq(shift), self.data.valid.eq(1)]
                        with m.If(self.data.valid & ~self.data.ready):
                            m.d.sync += self.overrun.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.framing_error.eq(1)
                        m.next = "BREAK"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("BREAK"):                      # wait for the line to return to idle
                with m.If(rx):
                    m.next = "IDLE"
        return m


class UARTTransmitter(_UARTPart):
    data: In(stream.Signature(8))
    tx: Out(1, init=1)

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        frame = Signal(10, init=0x3FF)      # stop(1) data[7:0] start(0), sent LSB first
        left = Signal(range(11))
        m.d.comb += [self.data.ready.eq(left == 0), self.tx.eq(frame[0])]
        with m.If(left == 0):
            with m.If(self.data.valid):
                m.d.sync += [frame.eq(Cat(Const(0, 1), self.data.payload, Const(1, 1))), left.eq(10),
                             timer.eq(self.divisor - 1)]
        with m.Elif(timer == 0):
            m.d.sync += [frame.eq(Cat(frame[1:], Const(1, 1))), left.eq(left - 1), timer.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m
