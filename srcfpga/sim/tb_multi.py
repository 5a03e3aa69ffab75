"""cocotb testbench of :class:`srcfpga.sim.multi.MultiHarness` (driven by :func:`srcfpga.sim.multi.run_multi`).

Python touches the design only before and after the run: it writes every network's input words through
the shared load bus (``params["loads"]``, one list per network, one word per cycle), pulses ``go``, waits
for ``done`` (at most ``params["timeout"]`` cycles; the simulator runs free meanwhile) and reads each
network's ``params["samples"]`` records. Results: the records per network, the cycles from ``go`` to
``done`` and, on a timeout, ``error``.
"""

from __future__ import annotations

import cocotb
from cocotb.utils import get_sim_time

from .build import CLOCK_PERIOD_NS, load_params, save_results
from .tb_steps import falling_edge, load_and_go, read_records, start_in_reset, wait_done


@cocotb.test()
async def multi(dut):
    params = load_params()
    await start_in_reset(dut, 4, go=0, load_en=0)
    tick = falling_edge(dut)
    await load_and_go(dut, params["loads"], tick, select=True)
    start = get_sim_time(unit="ns")
    done = await wait_done(dut, params["timeout"])
    await tick()
    cycles = int(get_sim_time(unit="ns") - start) // CLOCK_PERIOD_NS
    records = []
    for sel, samples in enumerate(params["samples"]):
        dut.sel.value = sel
        records.append(await read_records(dut, samples, tick))
    save_results({"records": records, "cycles": cycles,
                  "error": None if done else f"not done after {params['timeout']} cycles"})
