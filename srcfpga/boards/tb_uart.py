"""cocotb testbench of the UART board top ``srcfpga_uart`` (driven by :mod:`srcfpga.boards.uart_sim`).

A bit-level UART model: requests (byte strings) are sent on ``rx`` as 8N1 frames of ``divisor``
clock cycles per bit (start bit, 8 data bits LSB first, stop bit, ``gap`` idle bits between bytes);
``tx`` is decoded by sampling each bit in its middle. After each request the testbench waits for
``expect[i]`` response bytes before sending the next request. Results: the received bytes per
request, the ``label`` output after each response, and the cycle counts. The first request goes out
``wait`` cycles after the reset (the top waits for a quiet line before it listens).
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from ..sim.build import load_params, save_results


@cocotb.test()
async def uart_exchange(dut):
    params = load_params()
    requests: list[list[int]] = params["requests"]
    expect: list[int] = params["expect"]
    divisor, gap = int(params["divisor"]), int(params.get("gap", 1))
    max_cycles = int(params.get("max_cycles", 2_000_000))

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.rx.value = 1
    await ClockCycles(dut.clk, 4)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await ClockCycles(dut.clk, int(params.get("wait", 0)))     # the top first waits for a quiet line

    def frames(data: list[int]) -> list[int]:
        levels = []
        for byte in data:
            bits = [0] + [(byte >> i) & 1 for i in range(8)] + [1] + [1] * gap
            for bit in bits:
                levels += [bit] * divisor
        return levels

    responses: list[list[int]] = []
    labels: list[int] = []
    errors: list[str] = []
    received: list[int] = []    # bytes decoded from tx since the last response
    bits: list[int] = []
    half = divisor // 2
    tx_prev, start_at = 1, None
    cycle, sending = 0, 0       # index of the request being sent
    rx_level = frames(requests[0]) if requests else []
    pos = 0
    falling, readonly = FallingEdge(dut.clk), ReadOnly()
    while sending < len(requests):
        await falling
        dut.rx.value = rx_level[pos] if pos < len(rx_level) else 1
        pos += 1
        await readonly
        tx = int(dut.tx.value)
        if start_at is None:
            if tx_prev == 1 and tx == 0:
                start_at = cycle                        # falling edge: a start bit begins
        else:
            offset = cycle - start_at
            if offset == half and tx != 0:
                start_at = None                         # a glitch, not a start bit
            elif offset > half and (offset - half) % divisor == 0:
                k = (offset - half) // divisor          # 1..8: data bits (LSB first), 9: stop bit
                if k <= 8:
                    bits.append(tx)
                else:
                    if tx != 1:
                        errors.append(f"cycle {cycle}: framing error on tx")
                    received.append(sum(bit << i for i, bit in enumerate(bits)))
                    bits, start_at = [], None
        tx_prev = tx
        cycle += 1
        if len(received) >= expect[sending] and pos >= len(rx_level):
            responses.append(received)
            labels.append(int(dut.label.value))
            received = []
            sending += 1
            if sending < len(requests):
                rx_level, pos = frames(requests[sending]), 0
        if cycle >= max_cycles:
            errors.append(f"timeout after {cycle} cycles waiting for response {sending} "
                          f"({len(received)}/{expect[sending]} bytes)")
            break
    save_results({"responses": responses, "labels": labels, "cycles": cycle, "errors": errors})
    assert not errors, errors[0]
