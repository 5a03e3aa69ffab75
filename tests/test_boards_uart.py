"""UART receiver / transmitter in Amaranth's simulator: loopback, glitches, framing errors, divisors."""

from __future__ import annotations

import pytest
from amaranth import Module
from amaranth.sim import Simulator

from srcfpga.boards.uart import UARTReceiver, UARTTransmitter, uart_divisor


def test_divisor():
    assert uart_divisor(100e6, 115200) == 868
    assert uart_divisor(100e6, 921600) == 109
    with pytest.raises(ValueError):
        uart_divisor(100e6, 50_000_000)


@pytest.mark.parametrize("divisor", [4, 7])
def test_loopback(divisor):
    m = Module()
    m.submodules.tx = tx = UARTTransmitter(divisor)
    m.submodules.rx = rx = UARTReceiver(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    data = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80, 0x3C]
    got = []

    async def bench(ctx):
        ctx.set(rx.data.ready, 1)
        sent = 0
        for _ in range(len(data) * 12 * divisor + 50):
            offering = sent < len(data)
            ctx.set(tx.data.valid, offering)
            if offering:
                ctx.set(tx.data.payload, data[sent])
            accepted = offering and ctx.get(tx.data.ready)     # transfer at the coming edge
            await ctx.tick()
            sent += accepted
            if ctx.get(rx.data.valid):
                got.append(ctx.get(rx.data.payload))
        assert ctx.get(rx.overrun) == 0

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == data


def _drive_line(divisor, levels):
    """Receiver fed with ``levels`` (one per clock); returns received bytes and framing-error pulses."""
    rx = UARTReceiver(divisor)
    got, framing = [], []

    async def bench(ctx):
        ctx.set(rx.data.ready, 1)
        for level in levels + [1] * (4 * divisor):
            ctx.set(rx.rx, level)
            await ctx.tick()
            if ctx.get(rx.data.valid):
                got.append(ctx.get(rx.data.payload))
            if ctx.get(rx.framing_error):
                framing.append(True)

    sim = Simulator(rx)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, framing


def _frame(byte, divisor, stop=1):
    bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
    return [b for bit in bits for b in [bit] * divisor]


def test_receiver_ignores_glitch_and_flags_framing():
    d = 8
    got, framing = _drive_line(d, [1] * 10 + [0] * (d // 2 - 2) + [1] * 20 + _frame(0x96, d) + [1] * 5)
    assert got == [0x96] and not framing
    got, framing = _drive_line(d, [1] * 10 + _frame(0x42, d, stop=0) + [0] * d + [1] * 20 + _frame(0x24, d))
    assert got == [0x24] and framing
