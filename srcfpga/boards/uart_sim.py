"""Simulate the UART board top with cocotb (Verilator/Icarus) and a bit-level UART model.

:func:`run_uart` generates ``srcfpga_uart`` (:class:`~srcfpga.boards.uart_top.UartNetwork`) for a
model, builds it with :mod:`srcfpga.sim.build` (content-hash cached) and runs
:mod:`srcfpga.boards.tb_uart`, which sends the requests byte by byte as UART frames and decodes the
answers from the ``tx`` pin. A fast UART (``divisor`` = 4 clock cycles per bit) keeps the test short.

:class:`BoardSim` runs the same top in Verilator behind a TCP socket (:mod:`srcfpga.boards.tb_link`):
the host driver connects with the pyserial URL ``socket://localhost:PORT`` (``srcfpga board-sim`` and
``srcfpga run --port socket://...``), so host driver, protocol and board top run together end to end.
Its UART runs at :data:`SIM_DIVISOR` clock cycles per bit (25 Mbaud at the simulated 100 MHz, the
fastest the receiver takes): the serial transfer of an image costs about 44 cycles per byte instead of
the 9,548 of 115200 baud, and the answers do not depend on the divisor (their ``cycles`` leave the
transfer out).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import SrcFpgaError
from ..quant.hwmodel import HardwareModel
from .uart_top import IDLE_BITS

TESTBENCH = "srcfpga.boards.tb_uart"
LINK_TESTBENCH = "srcfpga.boards.tb_link"
SIM_DIVISOR = 4


@dataclass
class UartRun:
    responses: list[bytes]      # raw response bytes per request
    labels: list[int]           # the ``label`` port after each response
    sim_cycles: int
    build_cached: bool


def uart_verilog(model: HardwareModel, config, divisor: int, idle_bits: int = IDLE_BITS) -> tuple[str, object]:
    from amaranth.back import verilog

    from .uart_top import UART_TOP_NAME, UartNetwork

    top = UartNetwork(model, config, divisor, idle_bits)
    return verilog.convert(top, name=UART_TOP_NAME, emit_src=False), top


def run_uart(model: HardwareModel, config, requests: list[bytes], expect: list[int], divisor: int = 4,
             simulator: str = "verilator", max_cycles: int | None = None, idle_bits: int = 64) -> UartRun:
    """Send ``requests`` to the simulated UART top; wait for ``expect[i]`` bytes after request ``i``.
    ``idle_bits``: the top's quiet-line timeout (short here: this testbench runs Python every cycle)."""
    from ..sim import build as simbuild
    from .uart_top import UART_TOP_NAME

    text, top = uart_verilog(model, config, divisor, idle_bits)
    sim_build = simbuild.build(text, UART_TOP_NAME, simulator)
    total_bytes = sum(len(r) for r in requests) + sum(expect)
    if max_cycles is None:
        max_cycles = total_bytes * 11 * divisor + (200_000 + 2 * idle_bits * divisor) * len(requests)
    run = simbuild.run(sim_build, TESTBENCH, {"requests": [list(r) for r in requests], "expect": list(expect),
                                              "divisor": divisor, "max_cycles": max_cycles,
                                              "wait": (idle_bits + 2) * divisor})
    res = run.results
    return UartRun([bytes(r) for r in res["responses"]], res["labels"], res["cycles"], sim_build.cached)


class BoardSim:
    """The UART board top of ``model`` simulated in Verilator behind ``socket://host:port``.

    :meth:`start` builds (content-hash cached) and starts the simulation in a background thread;
    :meth:`wait_ready` returns the port once the socket listens (``port=0``: one the OS picks);
    :meth:`join` waits for the end (after ``connections`` clients when > 0, else never) and returns the
    testbench's statistics. ``faults``: injected line faults (:mod:`srcfpga.boards.tb_link`).
    """

    def __init__(self, model: HardwareModel, config, port: int = 0, host: str = "localhost",
                 divisor: int = SIM_DIVISOR, idle_bits: int = IDLE_BITS, connections: int = 0,
                 faults: dict[int, str] | None = None):
        bad = {k: v for k, v in (faults or {}).items() if v not in ("framing", "reset")}
        if bad:
            raise SrcFpgaError(f"unknown line faults {bad}: use framing or reset")
        self.model, self.config, self.port, self.host = model, config, port, host
        self.divisor, self.idle_bits, self.connections = divisor, idle_bits, connections
        self.faults = dict(faults or {})
        self.build_seconds = 0.0
        self._dir = Path(tempfile.mkdtemp(prefix="srcfpga-board-sim-"))
        self._thread: threading.Thread | None = None
        self._outcome: dict = {}

    def start(self) -> BoardSim:
        from ..sim import build as simbuild
        from .uart_top import UART_TOP_NAME

        text, _ = uart_verilog(self.model, self.config, self.divisor, self.idle_bits)
        sim_build = simbuild.build(text, UART_TOP_NAME, "verilator")
        self.build_seconds = sim_build.seconds
        params = {"divisor": self.divisor, "host": self.host, "port": self.port, "connections": self.connections,
                  "faults": {str(k): v for k, v in self.faults.items()}, "ready_file": str(self._dir / "port"),
                  "settle_cycles": (self.idle_bits + 2) * self.divisor}

        def run() -> None:
            try:
                self._outcome["run"] = simbuild.run(sim_build, LINK_TESTBENCH, params, run_dir=self._dir / "run")
            except Exception as exc:  # noqa: BLE001 - handed to the caller by wait_ready / join
                self._outcome["error"] = exc

        self._thread = threading.Thread(target=run, name="srcfpga-board-sim", daemon=True)
        self._thread.start()
        return self

    def wait_ready(self, timeout: float = 120.0) -> int:
        """The listening port (waits for the simulator to start; raises if it failed)."""
        deadline = time.monotonic() + timeout
        ready = self._dir / "port"
        while not (ready.is_file() and ready.read_text()):
            if "error" in self._outcome:
                raise self._outcome["error"]
            if time.monotonic() > deadline or self._thread is None or not self._thread.is_alive():
                raise SrcFpgaError(f"the board simulation did not start listening (run directory {self._dir})")
            time.sleep(0.05)
        return int(ready.read_text())

    def join(self, timeout: float | None = None) -> dict:
        """The testbench's statistics (connections, bytes in and out, faults applied)."""
        assert self._thread is not None, "start() first"
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise SrcFpgaError(f"the board simulation is still running after {timeout} s")
        if "error" in self._outcome:
            raise self._outcome["error"]
        shutil.rmtree(self._dir, ignore_errors=True)
        return self._outcome["run"].results
