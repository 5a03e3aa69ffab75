"""cocotb testbench: the UART board top ``srcfpga_uart`` behind a TCP socket (started by :mod:`srcfpga.boards.uart_sim`).

The simulated board is a serial line on a socket: bytes a client sends are driven on ``rx`` bit by bit
(8N1, ``divisor`` clock cycles per bit, one idle bit between bytes) and every byte the board sends on
``tx`` goes back to the client. A pyserial ``socket://HOST:PORT`` URL is such a client, so the real host
driver (``srcfpga run --port socket://...``) talks to the board unchanged. Clients are served one after
the other; the board keeps running between them (like a board whose USB cable is unplugged and plugged
in again). ``connections`` > 0 ends the simulation after that many clients have closed.

No Python runs per clock cycle: ``rx`` changes on timers (one per run of equal bits), ``tx`` is watched
by a falling-edge trigger and sampled in its bit middles, and while no byte is pending the simulation
advances in steps of :data:`POLL_CYCLES`, checking the socket between them (a quiet board, ``busy`` low
and ``tx`` idle, waits up to 10 ms of wall time per step instead of spinning), so Verilator runs at its
own speed while the network computes.

Fault injection for tests (``faults``: ``{"BYTE_INDEX": "framing" | "reset"}``, byte index counted over
all bytes received from clients since the start): ``framing`` sends that byte with a stop bit of 0 (a
corrupted byte the UART detects), ``reset`` pulses ``rst`` for 4 cycles just before sending that byte.
"""

from __future__ import annotations

import select
import socket
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from ..sim.build import load_params, save_results

CLOCK_NS = 10           # 100 MHz: the cycles in the answers are those of a 100 MHz board
POLL_CYCLES = 4096      # simulation steps while no byte is pending
QUIET_WAIT_S = 0.01     # wall-time wait for client bytes per step when the board is quiet


@cocotb.test()
async def serve(dut):
    params = load_params()
    divisor = int(params["divisor"])
    faults = {int(k): v for k, v in params.get("faults", {}).items()}
    connections = int(params.get("connections", 0))
    bit_ns = divisor * CLOCK_NS

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((params.get("host", "localhost"), int(params["port"])))
    server.listen(1)

    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rx.value = 1
    dut.rst.value = 1
    await Timer(4 * CLOCK_NS, unit="ns")
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    # from here on every timer is a whole number of clock periods: rx changes on falling clock edges

    stats = {"connections": 0, "bytes_in": 0, "bytes_out": 0, "faults": [], "tx_framing_errors": 0}
    link = {"conn": None, "tx_active": False}

    async def watch_tx():
        while True:
            await FallingEdge(dut.tx)
            link["tx_active"] = True
            await Timer(bit_ns // 2 + CLOCK_NS // 2, unit="ns")      # the middle of the start bit
            if int(dut.tx.value) == 0:
                value = 0
                for i in range(8):
                    await Timer(bit_ns, unit="ns")
                    value |= int(dut.tx.value) << i
                await Timer(bit_ns, unit="ns")
                if int(dut.tx.value) != 1:
                    stats["tx_framing_errors"] += 1
                stats["bytes_out"] += 1
                if link["conn"] is not None:
                    try:
                        link["conn"].sendall(bytes([value]))
                    except OSError:
                        pass                    # the client went away: the byte is lost, as on a cable
            link["tx_active"] = False

    cocotb.start_soon(watch_tx())
    await Timer(int(params.get("settle_cycles", 0)) * CLOCK_NS, unit="ns")  # the top waits for a quiet line
    Path(params["ready_file"]).write_text(str(server.getsockname()[1]))

    pending = bytearray()
    served = 0
    while True:
        if link["conn"] is None:
            if connections and served >= connections:
                break
            conn, _ = server.accept()          # the simulation pauses until a client connects
            conn.setblocking(False)
            link["conn"] = conn
            stats["connections"] += 1
        if not pending:
            quiet = not int(dut.busy.value) and not link["tx_active"]
            readable, _, _ = select.select([link["conn"]], [], [], QUIET_WAIT_S if quiet else 0.001)
            data = b""
            if readable:
                try:
                    data = link["conn"].recv(65536)
                except OSError:
                    data = b""
                if not data:                    # the client closed the connection
                    link["conn"].close()
                    link["conn"] = None
                    served += 1
                    continue
            if not data:
                await Timer(POLL_CYCLES * CLOCK_NS, unit="ns")
                continue
            pending += data
        byte = pending.pop(0)
        fault = faults.get(stats["bytes_in"])
        if fault:
            stats["faults"].append([stats["bytes_in"], fault])
        if fault == "reset":
            dut.rst.value = 1
            await Timer(4 * CLOCK_NS, unit="ns")
            dut.rst.value = 0
        stats["bytes_in"] += 1
        levels = [0] + [(byte >> i) & 1 for i in range(8)] + [0 if fault == "framing" else 1, 1]
        run_start = 0
        for i in range(1, len(levels) + 1):
            if i == len(levels) or levels[i] != levels[run_start]:
                dut.rx.value = levels[run_start]
                await Timer((i - run_start) * bit_ns, unit="ns")
                run_start = i
    server.close()
    save_results(stats)
