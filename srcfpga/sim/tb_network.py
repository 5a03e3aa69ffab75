"""cocotb testbench of the generated network top ``srcfpga_net`` (driven by :mod:`srcfpga.sim.regression`).

One simulation runs a batch of inferences. The Python driver precomputes every stream payload (one
``start`` command and the ``pixels`` or ``frames`` beats per sample) and passes them in the params
JSON; this module only moves beats and records what comes out, as raw integers with the clock cycle:

* sources (``start``, ``pixels``/``frames``): an idle source starts offering a beat with probability
  ``p_valid`` per cycle and then holds ``valid`` and the payload until the transfer (stream rules);
  while not valid, the payload carries random garbage (``garbage``) so that a design reading the
  payload without ``valid`` is caught; the next ``start`` is offered only after every input beat of
  the previous sample has been sent and (unless ``overlap``) its result received;
* sink (``result``): ``ready`` is high with probability ``p_ready`` per cycle;
* monitors (the ``trace_ports``, e.g. ``trace__0`` .. per layer, the ``state_ports`` of a
  ``trace_states`` build, ``states0`` .., and ``readout``: no ready): every cycle with ``valid`` high
  is one beat.

Discipline (checked by ``tests/test_sim_cocotb_api.py``): inputs change only on the falling clock
edge; signals are sampled in the ``ReadOnly`` phase after it, which is what the next rising edge sees,
so ``valid & ready`` there is a transfer. ``p_valid = p_ready = 1`` gives a gap-free run for speed
and latency measurements. After the last result, ``drain`` more cycles are watched for stray beats.
"""

from __future__ import annotations

import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from .build import load_params, save_results


def _handle(dut, name):
    try:
        return getattr(dut, name)
    except AttributeError:
        return None


def _value(handle, what: str, cycle: int, errors: list) -> int:
    value = handle.value
    if not value.is_resolvable:
        errors.append(f"cycle {cycle}: {what} is not 0/1 ({value})")
        return 0
    return value.to_unsigned()


@cocotb.test()
async def network(dut):
    params = load_params()
    starts: list[int] = params["starts"]
    beats: list[list[int]] = params["beats"]
    kind = params.get("input", "pixels")
    p_valid, p_ready = float(params.get("p_valid", 1.0)), float(params.get("p_ready", 1.0))
    garbage, overlap = bool(params.get("garbage", True)), bool(params.get("overlap", False))
    max_cycles, drain = int(params.get("max_cycles", 10_000_000)), int(params.get("drain", 32))
    rng = random.Random(params.get("seed", 0))
    n = len(starts)

    start_valid, start_ready, start_payload = dut.start__valid, dut.start__ready, dut.start__payload
    in_valid, in_ready, in_payload = (getattr(dut, f"{kind}__{s}") for s in ("valid", "ready", "payload"))
    res_valid, res_ready, res_payload = dut.result__valid, dut.result__ready, dut.result__payload
    traces = [(getattr(dut, f"{name}__valid"), getattr(dut, f"{name}__payload"))
              for name in params.get("trace_ports", ["trace"])]
    state_ports = [(getattr(dut, f"{name}__valid"), getattr(dut, f"{name}__payload"))
                   for name in params.get("state_ports", [])]
    ro_valid, ro_payload = _handle(dut, "readout__valid"), _handle(dut, "readout__payload")
    start_bits, in_bits = len(start_payload.value), len(in_payload.value)

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    start_valid.value = 0
    in_valid.value = 0
    res_ready.value = 0
    start_payload.value = 0
    in_payload.value = 0
    await ClockCycles(dut.clk, int(params.get("reset_cycles", 4)))
    await FallingEdge(dut.clk)
    dut.rst.value = 0

    errors: list[str] = []
    start_cycles, input_done, results, trace, readout, states = [], [], [], [], [], []
    next_start = 0          # index of the next start command to offer
    started = 0             # start commands accepted
    queue: list[int] = []   # input beats of the latest accepted sample still to send
    queue_pos = 0
    start_on = in_on = start_driven = in_driven = False
    ready_on = False
    done_cycle = None
    cycle = 0
    falling, readonly = FallingEdge(dut.clk), ReadOnly()
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        await falling
        # ---- drive (falling edge) ------------------------------------------------------------------
        if not start_on and next_start < n and queue_pos >= len(queue) and \
                (overlap or len(results) >= next_start) and (p_valid >= 1.0 or rng.random() < p_valid):
            start_on = True
            start_payload.value = starts[next_start]
        if start_on != start_driven:
            start_driven = start_on
            start_valid.value = int(start_on)
        if not start_on and garbage and rng.random() < 0.25:
            start_payload.value = rng.getrandbits(start_bits)
        if not in_on and queue_pos < len(queue) and (p_valid >= 1.0 or rng.random() < p_valid):
            in_on = True
            in_payload.value = queue[queue_pos]
        if in_on != in_driven:
            in_driven = in_on
            in_valid.value = int(in_on)
        if not in_on and garbage and rng.random() < 0.25:
            in_payload.value = rng.getrandbits(in_bits)
        want_ready = p_ready >= 1.0 or rng.random() < p_ready
        if want_ready != ready_on:
            ready_on = want_ready
            res_ready.value = int(want_ready)
        # ---- sample (settled values, as seen by the next rising edge) ---------------------------
        await readonly
        if start_on and start_ready.value == 1:
            start_on = False
            start_cycles.append(cycle)
            queue, queue_pos = beats[started], 0
            started += 1
            next_start += 1
            if not queue:
                input_done.append(cycle)
        if in_on and in_ready.value == 1:
            in_on = False
            queue_pos += 1
            if queue_pos == len(queue):
                input_done.append(cycle)
        if ready_on and res_valid.value == 1:
            results.append([cycle, _value(res_payload, "result payload", cycle, errors)])
            if len(results) == n:
                done_cycle = cycle
        for port, (tr_valid, tr_payload) in enumerate(traces):
            if tr_valid.value == 1:
                trace.append([cycle, started - 1, port, _value(tr_payload, "trace payload", cycle, errors)])
        for port, (st_valid, st_payload) in enumerate(state_ports):
            if st_valid.value == 1:
                states.append([cycle, started - 1, port, _value(st_payload, "state payload", cycle, errors)])
        if ro_valid is not None and ro_valid.value == 1:
            readout.append([cycle, started - 1, _value(ro_payload, "readout payload", cycle, errors)])
        cycle += 1
        if done_cycle is not None and cycle > done_cycle + drain:
            break
        if cycle >= max_cycles:
            errors.append(f"timeout after {cycle} cycles: {started}/{n} starts accepted, "
                          f"{len(results)} results, {len(trace)} trace beats")
            break
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    save_results({"start_cycles": start_cycles, "input_done": input_done, "results": results, "trace": trace,
                  "states": states, "readout": readout, "cycles": cycle, "seconds": seconds,
                  "cpu_seconds": cpu_seconds, "errors": errors})
    assert not errors, errors[0]
