"""Simulate the UART board top with cocotb (Verilator/Icarus) and a bit-level UART model.

:func:`run_uart` generates ``srcfpga_uart`` (:class:`~srcfpga.boards.uart_top.UartNetwork`) for a
model, builds it with :mod:`srcfpga.sim.build` (content-hash cached) and runs
:mod:`srcfpga.boards.tb_uart`, which sends the requests byte by byte as UART frames and decodes the
answers from the ``tx`` pin. A fast UART (``divisor`` = 4 clock cycles per bit) keeps the test short.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..quant.hwmodel import HardwareModel

TESTBENCH = "srcfpga.boards.tb_uart"


@dataclass
class UartRun:
    responses: list[bytes]      # raw response bytes per request
    labels: list[int]           # the ``label`` port after each response
    sim_cycles: int
    build_cached: bool


def uart_verilog(model: HardwareModel, config, divisor: int) -> tuple[str, object]:
    from amaranth.back import verilog

    from .uart_top import UART_TOP_NAME, UartNetwork

    top = UartNetwork(model, config, divisor)
    return verilog.convert(top, name=UART_TOP_NAME, emit_src=False), top


def run_uart(model: HardwareModel, config, requests: list[bytes], expect: list[int], divisor: int = 4,
             simulator: str = "verilator", max_cycles: int | None = None) -> UartRun:
    """Send ``requests`` to the simulated UART top; wait for ``expect[i]`` bytes after request ``i``."""
    from ..sim import build as simbuild
    from .uart_top import UART_TOP_NAME

    text, top = uart_verilog(model, config, divisor)
    sim_build = simbuild.build(text, UART_TOP_NAME, simulator)
    total_bytes = sum(len(r) for r in requests) + sum(expect)
    if max_cycles is None:
        max_cycles = total_bytes * 11 * divisor + 200_000 * len(requests)
    run = simbuild.run(sim_build, TESTBENCH, {"requests": [list(r) for r in requests], "expect": list(expect),
                                              "divisor": divisor, "max_cycles": max_cycles})
    res = run.results
    return UartRun([bytes(r) for r in res["responses"]], res["labels"], res["cycles"], sim_build.cached)
