"""cocotb testbench of :class:`srcfpga.sim.batch.BatchHarness` (driven by :func:`srcfpga.sim.batch.run_batch`).

Python touches the design only at the edges of a chunk of the batch (``params["chunks"]``: the input
words, the sample count and the cycle limit of each; ``params["first"]``: the batch index of the first
sample): it writes the words (one per cycle), pulses ``go``, waits for ``done`` - the simulator runs
the whole chunk without calling back into Python, and the clock is generated inside the design
(:func:`srcfpga.sim.batch.clocked_top`, a pulse that cocotb does not see: the testbench counts cycles
with :func:`srcfpga.sim.tb_steps.pulse_tick`), so no clock edge goes through cocotb either - and reads one
record per sample. Results: the records as integers, the harness's cycle count, the wall and CPU time
of the free-running part and, when a chunk is not done within its limit, ``timeout``: its first
sample, sample count and limit (the later chunks are not run).
"""

from __future__ import annotations

import time

import cocotb

from .build import load_params, save_results
from .tb_steps import load_and_go, pulse_tick, read_records, wait_done


@cocotb.test()
async def batch(dut):
    params = load_params()
    dut.go.value = 0            # the clock runs inside the design (batch.clocked_top)
    dut.load_en.value = 0
    await pulse_tick()
    records, cycles, seconds, cpu_seconds, timeout = [], 0, 0.0, 0.0, None
    for words, samples, limit in params["chunks"]:
        dut.words.value = len(words)
        dut.samples.value = samples
        await load_and_go(dut, [words], pulse_tick)
        t0, c0 = time.perf_counter(), time.process_time()
        done = await wait_done(dut, limit)
        seconds, cpu_seconds = seconds + time.perf_counter() - t0, cpu_seconds + time.process_time() - c0
        if not done:
            timeout = (params["first"] + len(records), samples, limit)
            break
        await pulse_tick()
        cycles += int(dut.run_cycles.value)
        records += await read_records(dut, samples, pulse_tick)
    save_results({"records": records, "cycles": cycles, "seconds": seconds, "cpu_seconds": cpu_seconds,
                  "timeout": timeout})
