"""Many independent networks in one Verilator build: randomized RTL-vs-golden checking at scale.

A Verilator build costs a minute or more, most of it compiling; a small network then simulates in
milliseconds. :class:`MultiHarness` (testbench only, top ``srcfpga_multi``) puts ``N`` independent
:class:`srcfpga.sim.batch.BatchHarness` instances side by side - each a :class:`srcfpga.hdl.NetworkTop`
of its own model and :class:`srcfpga.hdl.HdlConfig`, built with ``trace_states`` - so that one build
checks ``N`` configurations. Each harness's batch is fixed at elaboration (its word and sample counts
are constants); cocotb (:mod:`srcfpga.sim.tb_multi`) loads every harness's input memory through one
shared bus (``sel``), pulses ``go`` once, waits for ``done`` (every harness finished; the simulator runs
free meanwhile) and reads each harness's records.

Besides the harness's record (result and the digests of the spike and readout traces,
:func:`srcfpga.sim.batch.record_layout`), each harness here stores per sample one digest per layer of
the ``states<l>`` port (every state word of every neuron after every update; lanes past the layer's
last neuron read as 0), folded like the other digests. :func:`golden_state_digests` computes them
from the golden trace with the HDL's ``state_trace_layout``. :func:`run_multi` returns, per network,
the samples whose states, spikes, readout, accumulators, class or cycle count differ; a digest names no
neuron, so each network that differs is replayed with per-step state traces (:func:`locate_difference`)
and its check names the first differing layer, neuron, step and state.

The same harness runs in Amaranth's simulator (``run_multi(..., simulator="amaranth")``): no build, so for
small networks (a few hundred cycles) it costs less CPU than a Verilator build per network; Verilator pays
off for large networks and long runs (benchmarks/README.md, "Random configurations").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from amaranth import Module, Mux, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..hdl import HdlConfig
from ..hdl.layouts import field_at, lane_groups, state_trace_layout
from ..hdl.top import state_layouts
from ..quant.hwmodel import HardwareModel
from . import build as simbuild
from .batch import (
    DIGEST_BITS,
    BatchHarness,
    BatchRun,
    _digest,
    _field_bits,
    _fold_bits,
    batch_words,
    check_batch,
    cycle_limit,
    decode_records,
    digest_next,
    record_layout,
    sample_cycle_bound,
)

MULTI_TOP = "srcfpga_multi"
# Verilator options: the design changes with every batch of random networks, so compile time counts more than
# simulation speed; X values cannot reach the closed harness from outside
MULTI_BUILD_ARGS = ("--x-assign", "fast", "--x-initial", "fast", "--noassert", "-CFLAGS", "-O0")


@dataclass(frozen=True)
class MultiCase:
    """One network to check: the model, its HDL configuration, its batch (``inputs``: ``spikes`` frames
    ``(batch, blank + steps, n_in)``, or ``pixels`` ``(batch, n_in)`` and encoder ``seeds``), ``steps`` and
    ``blank`` per inference; ``summary`` describes how it was made (printed with a mismatch)."""

    model: HardwareModel
    config: HdlConfig
    inputs: dict
    steps: int
    blank: int
    summary: str = ""

    def __str__(self) -> str:
        return self.summary

    @property
    def batch(self) -> int:
        return len(next(iter(self.inputs.values())))

    def words(self) -> list[int]:
        """The harness's input memory words, all samples in order."""
        return [w for sample in batch_words(self.model, self.resolved, steps=self.steps, blank=self.blank,
                                            **self.inputs) for w in sample]

    @property
    def resolved(self) -> HdlConfig:
        return replace(self.config, trace_states=True).resolve(self.model)


def state_record_layout(model: HardwareModel) -> data.ArrayLayout:
    """One sample's state digests: one per layer's ``states<l>`` port."""
    return data.ArrayLayout(DIGEST_BITS, len(model.layers))


def _live_lanes(port, layout: data.StructLayout, lanes: int, n_out: int):
    """The ``states<l>`` payload with the state words of lanes past neuron ``n_out - 1`` (the last group's
    padding lanes, whose registers the golden model does not have) set to 0."""
    payload = port.payload
    last, rest = lane_groups(n_out, lanes) - 1, n_out % lanes
    if not rest:
        return payload, []
    masked = Signal(layout)
    lane_bits = Shape.cast(payload.state.shape().elem_shape).width
    statements = [masked.step.eq(payload.step), masked.group.eq(payload.group)]
    for b in range(lanes):
        word = payload.state[b].as_value()
        live = (payload.group != last) | (b < rest)
        statements.append(masked.state[b].as_value().eq(Mux(live, word, 0)[:lane_bits]))
    return masked, statements


class MultiHarness(wiring.Component):
    """``N`` :class:`~srcfpga.sim.batch.BatchHarness` networks (``cases``), loaded, run and read together.

    Ports (testbench only): ``sel``: the network that ``load_*`` writes to and ``read_data`` shows;
    ``load_en``/``load_addr``/``load_data``: one input word of network ``sel`` per cycle (its
    ``input_layout`` as bits, zero-extended); ``go``: every network starts its batch (one cycle); ``done``:
    every network stored every result; ``read_addr``/``read_data``: sample ``read_addr`` of network ``sel``
    one cycle after the address, its ``record_layout`` record at bit 0 and its :func:`state_record_layout`
    record above it (``record_bits`` of the network).
    """

    def __init__(self, cases: list[MultiCase]):
        self.cases = cases
        self.words = [case.words() for case in cases]
        self.harnesses = [BatchHarness(case.model, case.resolved, max(1, len(words)), case.batch, own_domain=False)
                          for case, words in zip(cases, self.words)]
        self.record_bits = [record_layout(c.model).size for c in cases]
        width = max(bits + state_record_layout(c.model).size for bits, c in zip(self.record_bits, cases))
        load_bits = max(Shape.cast(h.input_layout).width for h in self.harnesses)
        super().__init__({
            "sel": In(range(len(cases))), "load_en": In(1), "load_addr": In(range(max(map(len, self.words)))),
            "load_data": In(load_bits), "go": In(1), "done": Out(1),
            "read_addr": In(range(max(c.batch for c in cases))), "read_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        done = 1
        for k, (case, harness, words) in enumerate(zip(self.cases, self.harnesses, self.words)):
            m.submodules[f"net{k}"] = harness
            net, model, lanes = harness.network, case.model, harness.network.config.lanes
            m.d.comb += [harness.load_en.eq(self.load_en & (self.sel == k)), harness.load_addr.eq(self.load_addr),
                         harness.load_data.as_value().eq(self.load_data), harness.words.eq(len(words)),
                         harness.samples.eq(case.batch), harness.go.eq(self.go), harness.read_addr.eq(self.read_addr)]
            done = done & harness.done

            states = Signal(state_record_layout(model))
            begin = net.start.valid & net.start.ready
            for index, (layer, layout) in enumerate(zip(model.layers, state_layouts(model, lanes))):
                port = getattr(net, f"states{index}")
                payload, statements = _live_lanes(port, state_trace_layout(layout), lanes, layer.n_out)
                m.d.comb += statements
                with m.If(begin):
                    m.d.sync += states[index].eq(0)
                with m.Elif(port.valid):
                    m.d.sync += states[index].eq(digest_next(states[index], payload))
            records = Memory(shape=state_record_layout(model), depth=case.batch, init=[])
            m.submodules[f"states{k}"] = records
            store, fetch = records.write_port(), records.read_port()
            stored = Signal(range(case.batch + 1))
            m.d.comb += [store.en.eq(net.result.valid), store.addr.eq(stored), store.data.eq(states),
                         fetch.addr.eq(self.read_addr)]
            with m.If(net.result.valid):
                m.d.sync += stored.eq(stored + 1)
            with m.If(self.go):
                m.d.sync += stored.eq(0)
            with m.If(self.sel == k):
                m.d.comb += self.read_data.eq(harness.read_data.as_value() | (fetch.data.as_value()
                                                                              << self.record_bits[k]))
        m.d.comb += self.done.eq(done)
        return m


def golden_state_digests(model: HardwareModel, config: HdlConfig, golden) -> np.ndarray:
    """``(batch, n_layers)`` uint64: the state digests :class:`MultiHarness` must store for the golden run
    ``golden`` (``run_golden(..., trace=True)``): per layer, the ``state_trace_layout`` beats in (step,
    group) order, every named state word of each lane in two's complement, padding lanes 0."""
    lanes = config.resolve(model).lanes
    digests = []
    for layer, layout, trace in zip(model.layers, state_layouts(model, lanes), golden.traces):
        beat = state_trace_layout(layout)
        states = trace.states()
        batch, total, n_out = trace.spikes.shape
        groups = lane_groups(n_out, lanes)
        bits = np.zeros((batch, total, groups, beat.size), bool)
        _field_bits(bits, field_at(beat, "step"), np.arange(total)[None, :, None])
        _field_bits(bits, field_at(beat, "group"), np.arange(groups)[None, None, :])
        for name, values in states.items():
            padded = np.zeros((batch, total, groups * lanes), np.int64)
            padded[..., :n_out] = values
            padded = padded.reshape(batch, total, groups, lanes)
            for b in range(lanes):
                _field_bits(bits, field_at(beat, "state", b, name), padded[..., b])
        digests.append(_digest(_fold_bits(bits).reshape(batch, total * groups)))
    return np.stack(digests, axis=1)


@dataclass(frozen=True)
class CaseCheck:
    """One network's verdict: samples whose outputs (spike and readout digests, accumulators, class), cycle
    counts or state digests differ from golden and the cycle model; ``located``: where the first difference
    is (:func:`locate_difference`: layer, neuron, step and state), empty when the digests agree or no replay
    was made."""

    mismatched: list[int]
    latency_mismatched: list[int]
    state_mismatched: list[int]
    located: str = ""

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.latency_mismatched or self.state_mismatched)

    def __str__(self) -> str:
        if self.ok:
            return "equal to golden"
        text = (f"samples whose outputs differ {self.mismatched}, cycle counts {self.latency_mismatched}, "
                f"state digests {self.state_mismatched}")
        return text + (f"; {self.located}" if self.located else "")


@dataclass
class MultiRun:
    """What :func:`run_multi` measured: per network its check; the build and run times."""

    checks: list[CaseCheck]
    sim_cycles: int
    generate_seconds: float
    build_seconds: float
    build_cached: bool
    run_seconds: float


def decode(harness: MultiHarness, k: int, records: list[int]) -> tuple[dict, np.ndarray]:
    """Network ``k``'s records read from ``read_data``: the batch harness's fields
    (:func:`srcfpga.sim.batch.decode_records`) and its state digests ``(batch, n_layers)``."""
    bits, model = harness.record_bits[k], harness.cases[k].model
    decoded = decode_records(model, [r & ((1 << bits) - 1) for r in records])
    layout = state_record_layout(model)
    states = [layout.from_bits(r >> bits) for r in records]
    return decoded, np.array([[int(s[i]) for i in range(len(model.layers))] for s in states], np.uint64)


def check_case(case: MultiCase, decoded: dict, state_digests: np.ndarray) -> CaseCheck:
    """Compare one network's records with the golden model (and the cycle model)."""
    from ..golden import run_golden

    golden = run_golden(case.model, steps=case.steps, blank=case.blank, trace=True, **case.inputs)
    inputs = case.inputs
    input_spikes = inputs["spikes"] if "spikes" in inputs else \
        case.model.encoder.encode(inputs["pixels"], case.steps, case.blank, inputs["seeds"])
    run = BatchRun(**decoded, sim_cycles=0, sim_seconds=0.0, sim_cpu_seconds=0.0, build_seconds=0.0,
                   build_cached=False, run_seconds=0.0)
    verdict = check_batch(case.model, case.resolved, run, golden, input_spikes, case.blank)
    same = (state_digests == golden_state_digests(case.model, case.resolved, golden)).all(axis=1)
    return CaseCheck(verdict.mismatched, verdict.latency_mismatched, [int(s) for s in np.nonzero(~same)[0]])


def locate_difference(case: MultiCase, samples: list[int], simulator: str = "amaranth") -> str:
    """Replay ``case`` with per-step state traces and name the first difference from golden of each of its
    ``samples`` (:func:`srcfpga.sim.regression.first_difference`: layer, neuron, step and state word, or the
    spike, readout, class or protocol difference). ``simulator``: ``"amaranth"`` runs
    :func:`srcfpga.hdl.pysim.run_amaranth` (no build); ``"verilator"`` (or ``"icarus"``) the per-cycle cocotb
    harness (:func:`srcfpga.sim.regression.run_rtl`, a build of its own). A digest difference that the replay
    does not reproduce is reported as such (the multi-network harness or its digests differ, not the network)."""
    from ..golden import run_golden
    from .regression import NO_GAPS, first_difference, run_rtl

    golden = run_golden(case.model, steps=case.steps, blank=case.blank, trace=True, **case.inputs)
    if simulator == "amaranth":
        from ..hdl.pysim import run_amaranth

        run, problems, where = run_amaranth(case.model, case.resolved, steps=case.steps, blank=case.blank,
                                            **case.inputs), [], "Amaranth simulation"
    else:
        run, problems, where = run_rtl(case.model, case.resolved, steps=case.steps, blank=case.blank,
                                       simulator=simulator, backpressure=NO_GAPS, **case.inputs), None, \
            f"per-cycle {simulator} harness"
    found = [first_difference(sample, run, golden, problems) for sample in samples]
    described = [m.describe() for m in found if m is not None]
    if not described:
        return f"the replay ({where}, state traces) equals golden: only the multi-network run differs"
    return f"first differences (replay in the {where} with state traces): " + "; ".join(described)


def _records_amaranth(harness: MultiHarness, timeout_cycles: int) -> tuple[list[list[int]], int]:
    """Run ``harness`` in Amaranth's simulator like :mod:`srcfpga.sim.tb_multi`: per network its records, and
    the cycles from ``go`` to ``done``."""
    from amaranth import ClockDomain
    from amaranth.sim import Simulator

    records, cycles = [], [0]

    async def testbench(ctx):
        ctx.set(harness.load_en, 1)
        for sel, words in enumerate(harness.words):
            ctx.set(harness.sel, sel)
            for address, word in enumerate(words):
                ctx.set(harness.load_addr, address)
                ctx.set(harness.load_data, word)
                await ctx.tick()
        ctx.set(harness.load_en, 0)
        ctx.set(harness.go, 1)
        await ctx.tick()
        ctx.set(harness.go, 0)
        while not ctx.get(harness.done) and cycles[0] < timeout_cycles:
            await ctx.tick()
            cycles[0] += 1
        for sel, case in enumerate(harness.cases):
            ctx.set(harness.sel, sel)
            records.append([])
            for sample in range(case.batch):
                ctx.set(harness.read_addr, sample)
                await ctx.tick()
                records[-1].append(ctx.get(harness.read_data))

    top = Module()
    top.domains.sync = ClockDomain("sync")
    top.submodules.harness = harness
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    if cycles[0] >= timeout_cycles:
        raise simbuild.SimulationError(f"multi-harness run: not done after {timeout_cycles} cycles")
    return records, cycles[0]


def run_multi(cases: list[MultiCase], simulator: str = "verilator", build_args: tuple[str, ...] = MULTI_BUILD_ARGS,
              cache_dir=None, timeout_cycles: int | None = None, locate: bool = True) -> MultiRun:
    """Run ``MultiHarness(cases)`` - in Verilator (one build for all cases; ``simulator="verilator"``) or in
    Amaranth's simulator (``"amaranth"``, no tools, slow) - and check every network against golden.
    ``timeout_cycles``: the run fails when not done after this many cycles (default: the batch harness's rule,
    :func:`srcfpga.sim.batch.cycle_limit` of the slowest network's batch).
    ``locate``: replay each network whose outputs or states differ with state traces in the same simulator
    (:func:`locate_difference`) and name its first difference in the check."""
    import time

    from amaranth.back import verilog as amaranth_verilog

    t0 = time.perf_counter()
    if timeout_cycles is None:
        timeout_cycles = max(cycle_limit(sample_cycle_bound(case.model, case.resolved, case.blank + case.steps),
                                         case.batch) for case in cases)
    harness = MultiHarness(cases)
    generate_seconds = build_seconds = run_seconds = 0.0
    cached = False
    if simulator == "amaranth":
        records, cycles = _records_amaranth(harness, timeout_cycles)
        run_seconds = time.perf_counter() - t0
    else:
        text = amaranth_verilog.convert(harness, name=MULTI_TOP, emit_src=False)
        generate_seconds = time.perf_counter() - t0
        sim_build = simbuild.build(text, MULTI_TOP, simulator, build_args=build_args, cache_dir=cache_dir)
        params = {"loads": harness.words, "samples": [case.batch for case in cases], "timeout": timeout_cycles}
        sim_run = simbuild.run(sim_build, "srcfpga.sim.tb_multi", params)
        res = sim_run.results
        if res.get("error"):
            raise simbuild.SimulationError(f"multi-harness run: {res['error']}")
        records, cycles = res["records"], int(res["cycles"])
        build_seconds, cached, run_seconds = sim_build.seconds, sim_build.cached, sim_run.seconds
    checks = [check_case(case, *decode(harness, k, case_records))
              for k, (case, case_records) in enumerate(zip(cases, records))]
    if locate:
        checks = [replace(check, located=locate_difference(case, sorted({*check.mismatched, *check.state_mismatched}),
                                                           simulator))
                  if check.mismatched or check.state_mismatched else check for case, check in zip(cases, checks)]
    return MultiRun(checks, cycles, generate_seconds, build_seconds, cached, run_seconds)
