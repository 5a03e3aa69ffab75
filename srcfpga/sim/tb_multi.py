"""cocotb testbench of :class:`srcfpga.sim.multi.MultiHarness` (driven by :func:`srcfpga.sim.multi.run_multi`).

Python touches the design only before and after the run: it writes every network's input words through
the shared load bus (``params["loads"]``, one list per network, one word per cycle), pulses ``go``, waits
for ``done`` (at most ``params["timeout"]`` cycles; the simulator runs free meanwhile) and reads each
network's ``params["samples"]`` records. Results: the records per network, the cycles from ``go`` to
``done`` and, on a timeout, ``error``.
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge
from cocotb.utils import get_sim_time

from .build import load_params, save_results


@cocotb.test()
async def multi(dut):
    params = load_params()
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.go.value = 0
    dut.load_en.value = 0
    await ClockCycles(dut.clk, 4)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    dut.load_en.value = 1
    for sel, words in enumerate(params["loads"]):
        dut.sel.value = sel
        for address, word in enumerate(words):
            dut.load_addr.value = address
            dut.load_data.value = word
            await FallingEdge(dut.clk)
    dut.load_en.value = 0
    dut.go.value = 1
    await FallingEdge(dut.clk)
    dut.go.value = 0
    start, error = get_sim_time(unit="ns"), None
    if dut.done.value != 1:
        timeout = ClockCycles(dut.clk, params["timeout"])
        if await First(RisingEdge(dut.done), timeout) is timeout:
            error = f"not done after {params['timeout']} cycles"
    await FallingEdge(dut.clk)
    cycles = int(get_sim_time(unit="ns") - start) // 10
    records = []
    for sel, samples in enumerate(params["samples"]):
        dut.sel.value = sel
        records.append([])
        for sample in range(samples):
            dut.read_addr.value = sample
            await FallingEdge(dut.clk)
            records[-1].append(dut.read_data.value.to_unsigned())
    save_results({"records": records, "cycles": cycles, "error": error})
