"""Steps shared by the cocotb testbenches (run inside the simulator's Python, imported by the ``tb_*`` modules).

* :func:`start_in_reset`: cocotb's clock on ``dut.clk`` and a reset held for some cycles (designs with a
  ``rst`` port: :mod:`srcfpga.sim.tb_api`, :mod:`srcfpga.sim.tb_multi`);
* :func:`load_and_go`, :func:`wait_done`, :func:`read_records`: the memory harnesses' sequence
  (:class:`srcfpga.sim.batch.BatchHarness`, :class:`srcfpga.sim.multi.MultiHarness`): write the input
  words through the load bus, pulse ``go``, let the simulator run free until ``done`` (or a cycle
  limit), read the records back.

Inputs change between two rising edges and are read there (the discipline of :mod:`srcfpga.sim.tb_network`):
a ``tick`` awaits the next such point, one clock period (:data:`srcfpga.sim.build.CLOCK_PERIOD_NS`) later:
:func:`falling_edge` for a clock that cocotb can see, :func:`pulse_tick` for the batch harness's pulse
clock (:func:`srcfpga.sim.batch.clocked_top`), which rises and falls within one time slot.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Sequence

from cocotb.clock import Clock
from cocotb.triggers import (
    ClockCycles,
    FallingEdge,
    First,
    ReadWrite,
    RisingEdge,
    Timer,
)

from .build import CLOCK_PERIOD_NS

Tick = Callable[[], Awaitable]


def falling_edge(dut) -> Tick:
    """Ticks at the falling edges of ``dut.clk``."""
    return lambda: FallingEdge(dut.clk)


async def pulse_tick() -> None:
    """The next tick of a pulse clock: one period later, after that time slot's rising edge has been
    evaluated (cocotb's ReadWrite phase: what is written now is seen by the next rising edge)."""
    await Timer(CLOCK_PERIOD_NS, unit="ns")
    await ReadWrite()


async def start_in_reset(dut, cycles: int, **idle: int) -> None:
    """Start cocotb's clock on ``dut.clk``, drive the inputs ``idle`` (port name -> value) and hold
    ``dut.rst`` high for ``cycles`` cycles; returns at the falling edge where ``rst`` goes low."""
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    for name, value in idle.items():
        getattr(dut, name).value = value
    await ClockCycles(dut.clk, cycles)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def load_and_go(dut, loads: Sequence[Sequence[int]], tick: Tick, select: bool = False) -> None:
    """Write each list of ``loads`` into the input memory from address 0, one word per cycle
    (``load_en``/``load_addr``/``load_data``; with ``select``, ``dut.sel`` = the list's index picks the
    memory), then pulse ``go`` for one cycle. Starts and returns at a tick."""
    dut.load_en.value = 1
    for index, words in enumerate(loads):
        if select:
            dut.sel.value = index
        for address, word in enumerate(words):
            dut.load_addr.value = address
            dut.load_data.value = word
            await tick()
    dut.load_en.value = 0
    dut.go.value = 1
    await tick()
    dut.go.value = 0


async def wait_done(dut, limit_cycles: int) -> bool:
    """Wait until ``dut.done`` is high, at most ``limit_cycles`` clock cycles; whether it is. Nothing but
    the value change of ``done`` and one timer calls back into Python meanwhile. Returns between ticks:
    await the next tick before driving or reading."""
    if dut.done.value == 1:
        return True
    limit = Timer(limit_cycles * CLOCK_PERIOD_NS, unit="ns")
    return await First(RisingEdge(dut.done), limit) is not limit


async def read_records(dut, count: int, tick: Tick) -> list[int]:
    """The records at ``read_addr`` 0 .. ``count - 1`` (``read_data``, one cycle after its address), as
    integers. Starts at a tick."""
    records = []
    for address in range(count):
        dut.read_addr.value = address
        await tick()
        records.append(dut.read_data.value.to_unsigned())
    return records
