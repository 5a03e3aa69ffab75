"""The board top: :class:`~srcfpga.boards.uart_top.UartNetwork` on a board's UART pins, class on its LEDs.

The design clock is 100 MHz. Boards with a 100 MHz oscillator use Amaranth's default ``sync``
domain (the platform's clock pin and reset button); the CMOD A7 (12 MHz) gets an MMCME2_BASE:
VCO = 12 MHz x 62.5 = 750 MHz (inside the 600-1200 MHz range of DS181 for -1), CLKOUT0 = 750 / 7.5
= 100 MHz, with the design held in reset until the MMCM locks. The LEDs show the last class in
binary (LSB on LED 0; boards with fewer LEDs than class bits show the low bits).
"""

from amaranth import ClockDomain, ClockSignal, Elaboratable, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from ..hdl import HdlConfig
from ..quant.hwmodel import HardwareModel
from .registry import TARGET_MHZ, Board
from .uart import uart_divisor
from .uart_top import UartNetwork

DEFAULT_BAUD = 115200


class BoardTop(Elaboratable):
    """The whole FPGA design for ``board`` (needs the board's platform at elaboration)."""

    def __init__(self, model: HardwareModel, board: Board, config: HdlConfig = HdlConfig(),
                 baud: int = DEFAULT_BAUD):
        self.board, self.baud = board, baud
        self.divisor = uart_divisor(TARGET_MHZ * 1e6, baud)
        self.core = UartNetwork(model, config, self.divisor)

    def elaborate(self, platform):
        m = Module()
        if self.board.needs_mmcm:
            clk_in = platform.request(platform.default_clk, dir="-")
            m.domains.sync = ClockDomain("sync")
            feedback, clk_out, clk_buf, locked = Signal(), Signal(), Signal(), Signal()
            period_ns = 1000.0 / self.board.clock_mhz
            m.submodules.mmcm = Instance(
                "MMCME2_BASE",
                p_CLKIN1_PERIOD=round(period_ns, 3), p_CLKFBOUT_MULT_F=62.5, p_DIVCLK_DIVIDE=1,
                p_CLKOUT0_DIVIDE_F=7.5, p_BANDWIDTH="OPTIMIZED",
                i_CLKIN1=clk_in.io, i_CLKFBIN=feedback, o_CLKFBOUT=feedback, o_CLKOUT0=clk_out, o_LOCKED=locked,
                i_RST=0, i_PWRDWN=0)
            m.submodules.bufg = Instance("BUFG", i_I=clk_out, o_O=clk_buf)
            m.d.comb += ClockSignal("sync").eq(clk_buf)
            m.submodules.reset_sync = ResetSynchronizer(~locked, domain="sync")
        m.submodules.core = core = self.core
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx_buffer = tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.rx.eq(rx.i), tx.o.eq(core.tx)]
        for i in range(self.board.leds):
            m.submodules[f"led{i}"] = led = io.Buffer("o", platform.request("led", i, dir="-"))
            if i < len(core.label):
                m.d.comb += led.o.eq(core.label[i])
        return m
