"""Run the generated network in Amaranth's Python simulator (no external tools) and collect, per
sample, every layer's spikes at every step, the readout trace and the result.

Slow (about 10^4 cycles/s) but dependency-free: the unit tests of ``srcfpga.hdl`` use it on small
models; full-size networks are simulated with Verilator through ``srcfpga.sim``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from amaranth import ClockDomain, Module, Value
from amaranth.sim import Simulator

from ..quant.hwmodel import HardwareModel
from .config import HdlConfig
from .layouts import input_beats, lane_states, lane_values, start_beat, state_fields
from .top import NetworkTop


@dataclass
class HardwareRun:
    """What the hardware produced for a batch (arrays shaped like the golden model's traces)."""

    spikes: list[np.ndarray]            # per layer (batch, T, n_out): bool, int64 counts for CMRU layers
    readout_trace: np.ndarray           # (batch, T, n_classes)
    predictions: np.ndarray             # (batch,)
    readout: np.ndarray                 # (batch, n_classes)
    cycles: np.ndarray                  # (batch,) cycles from start to result
    spike_counts: list[np.ndarray] = field(default_factory=list)
    states: list[dict[str, np.ndarray]] | None = None   # per layer, name -> (batch, T, n_out) int64 (trace_states)


def run_amaranth(model: HardwareModel, config: HdlConfig, *, pixels: np.ndarray | None = None,
                 spikes: np.ndarray | None = None, seeds: np.ndarray | None = None, steps: int | None = None,
                 blank: int | None = None, stall: float = 0.0, rng_seed: int = 0,
                 reset_after: int | None = None, vcd=None) -> HardwareRun:
    """Simulate ``NetworkTop(model, config)`` on a batch, one inference after the other.

    ``stall``: probability that the testbench withholds ``valid`` on an input beat or ``ready`` on
    the result in a given cycle (back-pressure). ``reset_after``: assert reset that many cycles into
    the first inference and then start the batch over (a reset must lose nothing). ``vcd``: write every
    signal's waveform to this file (``benchmarks/register_toggles.py`` counts the registers' toggles in it).
    """
    steps = model.steps if steps is None else steps
    blank = model.blank if blank is None else blank
    top = NetworkTop(model, config)
    cfg = top.config
    total = blank + steps
    batch = len(pixels) if pixels is not None else len(spikes)
    seeds = np.zeros(batch, np.int64) if seeds is None else np.asarray(seeds)
    lanes = cfg.lanes
    layer_spikes = [np.zeros((batch, total, layer.n_out), bool if bits == 1 else np.int64)
                    for layer, bits in zip(model.layers, top.value_bits)]
    readout_trace = np.zeros((batch, total, model.readout.n_classes), np.int64)
    layer_states = [{name: np.zeros((batch, total, layer.n_out), np.int64) for name in state_fields(layout)}
                    for layer, layout in zip(model.layers, top.state_layouts)] if cfg.trace_states else None
    results = []
    rng = random.Random(rng_seed)
    current = {"sample": 0}

    async def wait_random(ctx):
        while stall and rng.random() < stall:
            await ctx.tick()

    async def put(ctx, port, payload: int):
        await wait_random(ctx)
        ctx.set(Value.cast(port.payload), payload)
        ctx.set(port.valid, 1)
        await ctx.tick().until(port.ready)
        ctx.set(port.valid, 0)

    async def run_batch(ctx):
        for sample in range(batch):
            current["sample"] = sample
            await put(ctx, top.start, start_beat(seeds[sample], blank, steps))
            port = getattr(top, cfg.input)
            values = [pixels[sample]] if cfg.input == "pixels" else spikes[sample]
            for word in (word for v in values for word in input_beats(cfg.input, top.mask_width, v)):
                await put(ctx, port, word)
            await wait_random(ctx)
            ctx.set(top.result.ready, 1)
            *_, payload = await ctx.tick().sample(top.result.payload).until(top.result.valid)
            ctx.set(top.result.ready, 0)
            results.append((payload.cycles, payload.label, [payload.counts[c] for c in range(model.readout.n_classes)]))

    async def testbench(ctx):
        if reset_after is not None:
            await put(ctx, top.start, start_beat(seeds[0], blank, steps))
            await ctx.tick().repeat(reset_after)
            ctx.set(domain.rst, 1)
            await ctx.tick()
            ctx.set(domain.rst, 0)
            layer_spikes_reset()
        await run_batch(ctx)

    state_ports = [getattr(top, f"states{index}") for index in range(len(model.layers))] if cfg.trace_states else []

    async def monitor(ctx):
        signals = [top.trace[index].valid for index in range(len(model.layers))]
        payloads = [top.trace[index].payload for index in range(len(model.layers))]
        state_signals = [signal for port in state_ports for signal in (port.valid, port.payload)]
        async for _, _, *values in ctx.tick().sample(*state_signals, *signals, *payloads, top.readout.valid,
                                                     top.readout.payload):
            sample = current["sample"]
            state_values, values = values[:len(state_signals)], values[len(state_signals):]
            for index, (valid, beat) in enumerate(zip(state_values[::2], state_values[1::2])):
                if valid:
                    base = beat.group * lanes
                    for name, words in lane_states(beat).items():
                        words = words[:model.layers[index].n_out - base]
                        layer_states[index][name][sample, beat.step, base:base + len(words)] = words
            for index in range(len(model.layers)):
                if values[index]:
                    beat = values[len(signals) + index]
                    base = beat.group * lanes
                    n_out = model.layers[index].n_out
                    outputs = lane_values(beat.spikes, lanes, top.value_bits[index])[:n_out - base]
                    layer_spikes[index][sample, beat.step, base:base + len(outputs)] = outputs
            if values[-2]:
                beat = values[-1]
                readout_trace[sample, beat.step] = [beat.counts[c] for c in range(model.readout.n_classes)]

    def layer_spikes_reset():
        for array in layer_spikes:
            array[...] = 0
        readout_trace[...] = 0
        for states in layer_states or []:
            for array in states.values():
                array[...] = 0

    wrapper = Module()
    wrapper.domains.sync = domain = ClockDomain("sync")
    wrapper.submodules.top = top
    sim = Simulator(wrapper)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.add_testbench(monitor, background=True)
    deadline = (batch + 1) * (200 + 4 * total * (model.input_size + sum(model.sizes)))
    if vcd is None:
        sim.run_until(deadline * 1e-8)
    else:                       # the waveform ends with the batch: stop when the testbench is done
        with sim.write_vcd(str(vcd)):
            for _ in range(4 * deadline):       # one clock edge or testbench wake-up per call
                if not sim.advance():
                    break
    if len(results) != batch:
        raise RuntimeError(f"the design produced {len(results)} of {batch} results within {deadline} cycles")
    readout = np.array([r[2] for r in results], np.int64).reshape(batch, -1)
    return HardwareRun(spikes=layer_spikes, readout_trace=readout_trace,
                       predictions=np.array([r[1] for r in results], np.int64), readout=readout,
                       cycles=np.array([r[0] for r in results], np.int64),
                       spike_counts=[(s != 0).sum(axis=1) for s in layer_spikes], states=layer_states)
