"""cocotb 2.x testbench for the stream adder of ``tests/test_sim_cocotb_api.py``.

It pins down the value semantics and the stream-sampling discipline that :mod:`srcfpga.sim.tb_network`
relies on:

* multi-bit signals read as :class:`cocotb.types.LogicArray` (``to_unsigned``/``to_signed``), one-bit
  signals as :class:`cocotb.types.Logic`;
* a negative ``int`` written to an unsigned port is accepted and wrapped (two's complement);
* drive on ``FallingEdge``, then sample in ``ReadOnly``: what is seen there (including combinational
  ``ready`` that depends on what we just drove) is what the design sees at the next rising edge, so
  ``valid and ready`` in ReadOnly is exactly a transfer.

DUT (``stream_adder``): ``i`` stream, payload = two signed 8-bit numbers (x = [7:0], y = [15:8]);
``o`` stream, payload signed 10-bit ``x + y + offset.as_signed()`` one register stage later
(``i.ready = ~o.valid | o.ready``); ``mon`` (valid + payload, no ready) pulses on each ``o`` transfer;
``count`` counts ``o`` transfers; ``flag`` is ``count[0]``.
"""

from __future__ import annotations

import random
import time

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, Timer
from cocotb.types import Logic, LogicArray

from .build import load_params, save_results
from .tb_steps import start_in_reset


async def _reset(dut) -> None:
    """The adder idle (no input, no ready, offset 0) through 2 cycles of reset."""
    await start_in_reset(dut, 2, i__valid=0, i__payload=0, o__ready=0, offset=0)


@cocotb.test()
async def value_api(dut):
    """LogicArray / Logic types, signed/unsigned views, negative int assignment, range errors."""
    params = load_params()
    await _reset(dut)
    facts = {}
    dut.offset.value = -3                              # negative int into an unsigned 8-bit port: wraps
    await Timer(1, unit="ns")
    offset = dut.offset.value
    assert isinstance(offset, LogicArray) and len(offset) == 8
    facts["offset_unsigned"] = offset.to_unsigned()
    facts["offset_signed"] = offset.to_signed()
    assert offset.to_unsigned() == 0xFD and offset.to_signed() == -3 and int(offset) == 0xFD
    try:
        dut.offset.value = 256                         # out of range for 8 bits: rejected
        facts["out_of_range"] = "accepted"
    except (ValueError, OverflowError):
        facts["out_of_range"] = "rejected"
    dut.offset.value = LogicArray.from_signed(-3, 8)   # explicit form, same bits
    await Timer(1, unit="ns")
    assert dut.offset.value.to_unsigned() == 0xFD
    assert isinstance(dut.o__valid.value, Logic) and isinstance(dut.flag.value, Logic)
    assert dut.o__valid.value == 0 and int(dut.o__valid.value) == 0 and not bool(dut.o__valid.value)
    facts["payload_width"] = len(dut.o__payload.value)
    facts["payload_is_resolvable"] = dut.o__payload.value.is_resolvable
    # one transfer -120 + -100 + -3 = -223 (fits signed 10 bits) -> read back signed
    await FallingEdge(dut.clk)
    dut.i__payload.value = ((-100 & 0xFF) << 8) | (-120 & 0xFF)
    dut.i__valid.value = 1
    dut.o__ready.value = 1
    await FallingEdge(dut.clk)
    dut.i__valid.value = 0
    await ReadOnly()
    assert dut.o__valid.value == 1
    facts["sum_signed"] = dut.o__payload.value.to_signed()
    facts["sum_unsigned"] = dut.o__payload.value.to_unsigned()
    facts["sum_str"] = str(dut.o__payload.value)
    assert facts["sum_signed"] == -223 and facts["sum_unsigned"] == 1024 - 223
    await FallingEdge(dut.clk)
    assert int(dut.count.value) == 1 and dut.flag.value == 1
    save_results({"facts": facts, "params_echo": params.get("echo")})


@cocotb.test()
async def stream_handshake(dut):
    """Random valid/ready gaps; transfers seen in ReadOnly must match a Python model exactly."""
    params = load_params()
    rng = random.Random(params.get("seed", 1))
    n = params.get("n", 200)
    p_valid, p_ready = params.get("p_valid", 0.7), params.get("p_ready", 0.6)
    offset = params.get("offset", -3)
    await _reset(dut)
    dut.offset.value = offset
    pairs = [(rng.randint(-128, 127), rng.randint(-128, 127)) for _ in range(n)]
    model_offset = params.get("model_offset", offset)  # != offset: a deliberately failing run
    expected = [x + y + model_offset for x, y in pairs]
    sent, got, mon, cycles = 0, [], [], 0
    accept_cycle, out_cycle = [], []
    while len(got) < n:
        await FallingEdge(dut.clk)
        want = sent < n and rng.random() < p_valid
        dut.i__valid.value = int(want)
        if want:
            x, y = pairs[sent]
            dut.i__payload.value = ((y & 0xFF) << 8) | (x & 0xFF)
        dut.o__ready.value = int(rng.random() < p_ready)
        await ReadOnly()
        if dut.i__valid.value == 1 and dut.i__ready.value == 1:   # combinational ready already settled
            sent += 1
            accept_cycle.append(cycles)
        if dut.o__valid.value == 1 and dut.o__ready.value == 1:
            got.append(dut.o__payload.value.to_signed())
            out_cycle.append(cycles)
        if dut.mon__valid.value == 1:
            mon.append(dut.mon__payload.value.to_signed())
        cycles += 1
        assert cycles < 100 * n, "stream stalled"
    await FallingEdge(dut.clk)
    await ReadOnly()
    if dut.mon__valid.value == 1:
        mon.append(dut.mon__payload.value.to_signed())
    assert got == expected, (got[:8], expected[:8])
    # mon pulses in the cycle after each o transfer (registered); so mon == got
    assert mon == got, (mon[:8], got[:8])
    # registered adder: an output is never offered in the cycle its input is accepted
    assert all(o > a for a, o in zip(accept_cycle, out_cycle))
    assert int(dut.count.value) == n
    save_results({"got": got, "expected": expected, "cycles": cycles})


@cocotb.test()
async def cycle_rate(dut):
    """Simulated cycles per wall second of a FallingEdge + ReadOnly loop (the network testbench's cost)."""
    params = load_params()
    n = params.get("rate_cycles", 20000)
    await _reset(dut)
    dut.o__ready.value = 1
    start = time.perf_counter()
    for _ in range(n):
        await FallingEdge(dut.clk)
        dut.i__valid.value = 1
        await ReadOnly()
        if dut.mon__valid.value == 1:
            dut.mon__payload.value.to_unsigned()
    loop = time.perf_counter() - start
    start = time.perf_counter()
    await ClockCycles(dut.clk, n)
    free = time.perf_counter() - start
    save_results({"loop_cycles_per_s": n / loop, "free_cycles_per_s": n / free})
