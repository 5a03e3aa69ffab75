"""cocotb testbench of :class:`srcfpga.sim.batch.BatchHarness` (driven by :func:`srcfpga.sim.batch.run_batch`).

Python touches the design only at the edges of a chunk of the batch (``params["chunks"]``: the input
words and the sample count of each): it writes the words (one per cycle), pulses ``go``, waits for
``done`` - the simulator runs the whole chunk without calling back into Python, and the clock is
generated inside the design (:func:`srcfpga.sim.batch.clocked_top`), so no clock edge goes through
cocotb either - and reads one record per sample. Results: the records as
integers, the harness's cycle count and the wall and CPU time of the free-running part.
"""

from __future__ import annotations

import time

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from .build import load_params, save_results


@cocotb.test()
async def batch(dut):
    params = load_params()
    dut.go.value = 0            # the clock runs inside the design (batch.clocked_top)
    dut.load_en.value = 0
    await FallingEdge(dut.clk)
    records, cycles, seconds, cpu_seconds = [], 0, 0.0, 0.0
    for words, samples in params["chunks"]:
        dut.words.value = len(words)
        dut.samples.value = samples
        dut.load_en.value = 1
        for address, word in enumerate(words):
            dut.load_addr.value = address
            dut.load_data.value = word
            await FallingEdge(dut.clk)
        dut.load_en.value = 0
        dut.go.value = 1
        await FallingEdge(dut.clk)
        dut.go.value = 0
        t0, c0 = time.perf_counter(), time.process_time()
        if dut.done.value != 1:
            await RisingEdge(dut.done)
        seconds, cpu_seconds = seconds + time.perf_counter() - t0, cpu_seconds + time.process_time() - c0
        await FallingEdge(dut.clk)
        cycles += int(dut.run_cycles.value)
        for sample in range(samples):
            dut.read_addr.value = sample
            await FallingEdge(dut.clk)
            records.append(dut.read_data.value.to_unsigned())
    save_results({"records": records, "cycles": cycles, "seconds": seconds, "cpu_seconds": cpu_seconds})
