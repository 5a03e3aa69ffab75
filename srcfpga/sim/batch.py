"""Fast RTL regression: a batch runs inside the simulator without a Python callback per clock cycle.

:class:`BatchHarness` is a testbench-only design (never part of a board build) around
:class:`srcfpga.hdl.NetworkTop`. cocotb (:mod:`srcfpga.sim.tb_batch`) writes the batch's stream beats
into the harness's input memory (one word per cycle), pulses ``go`` and waits for ``done``: the
harness then plays every ``start`` and input beat gap-free from the memory, takes each result at once
and stores, per sample, the result and the *digests* of every trace and readout beat of the inference
in its result memory, which cocotb reads back (one word per cycle). Between ``go`` and ``done``
Verilator runs at full speed: the clock is generated inside the simulated top (:func:`clocked_top`,
Verilator ``--timing``), so no edge goes through cocotb's VPI layer, and the harness has no reset and
latches its sizes at ``go``, so no top input reaches the network's logic combinationally (Verilator
re-evaluates such logic at every eval). :func:`run_batch` runs one simulator process per core, each
on a contiguous part of the batch, all from one cached build.

A digest folds the beats of one port, in order, into 64 bits: ``d' = d * DIGEST_MULTIPLIER +
fold(beat) mod 2^64`` (``fold``: XOR of the payload's 64-bit chunks, from bit 0; ``d = 0`` at
``start``). The trace beats of a layer come in (step, group) order and the readout beats in step
order, so :func:`golden_digests` computes the same digests from the golden model's trace, packing
each beat with the HDL's own layouts (field offsets from ``trace_layout`` / ``readout_layout``).
Equal digests mean every spike (or CMRU count) of every neuron at every step and every readout
accumulator after every step equal golden, up to a 2^-64 collision; a sample whose digests differ is
located (layer, neuron, step) by re-running it through the full trace testbench
(:func:`srcfpga.sim.regression.regress`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from amaranth import ClockDomain, Module, Shape, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..fileio import write_text_atomic
from ..hdl import HdlConfig, NetworkTop
from ..hdl.layouts import (
    field_at,
    input_beats,
    lane_groups,
    readout_layout,
    result_layout,
    start_beat,
    start_layout,
    trace_layout,
)
from ..hdl.planes import layer_value_bits
from ..hdl.top import input_beat_bits
from ..hdl.verilog import hdl_source_hash
from ..quant.hwmodel import HardwareModel
from . import build as simbuild

HARNESS_MODULE = "srcfpga_batch_harness"     # BatchHarness in Verilog
BATCH_TOP = "srcfpga_batch"                   # the simulated top: the harness and its clock (clocked_top)
DIGEST_BITS = 64
DIGEST_MULTIPLIER = 0x9E3779B97F4A7C15       # odd: the multiplication is a bijection mod 2^64
RUN_CYCLE_BITS = 48
# Verilator options for speed: the harness is a closed batch, X values cannot reach it from outside;
# without DFG (Verilator's data-flow-graph optimiser), whose bit-level regularisation of the encoder's
# logic costs more per cycle than it saves (benchmarks/README.md, "Batch harness")
FAST_BUILD_ARGS = ("--timing", "-O3", "--x-assign", "fast", "--x-initial", "fast", "--noassert", "-fno-dfg")
# the C++ of the model's per-cycle code at -O3 and Verilator's runtime (scheduler, VPI) at -O2
# (Verilator's defaults: -Os for both)
FAST_MAKE_VARS = ("OPT_FAST=-O3", "OPT_GLOBAL=-O2")
TIMEOUT_MARGIN = 2      # a chunk may run this many times its cycle bound (sample_cycle_bound) before it times out


def record_layout(model: HardwareModel) -> data.StructLayout:
    """One sample's record in the result memory: the ``result`` payload, one digest per layer's trace
    port and one of the readout port."""
    return data.StructLayout({"result": result_layout(model.readout.n_classes, model.readout.acc_bits),
                              "traces": data.ArrayLayout(DIGEST_BITS, len(model.layers)),
                              "readout": DIGEST_BITS})


def input_layout(model: HardwareModel, config: HdlConfig) -> data.StructLayout:
    """One word of the input memory: a ``start`` payload (``start`` = 1) or an input beat (``start`` = 0)."""
    beat_bits = max(Shape.cast(start_layout()).width, input_beat_bits(model, config.input))
    return data.StructLayout({"beat": beat_bits, "start": 1})


def digest_next(digest, payload):
    """The digest after one more beat (Amaranth values): ``digest * DIGEST_MULTIPLIER + fold(payload)``
    (the low 64 bits), ``fold`` = XOR of the payload's 64-bit chunks from bit 0."""
    bits = payload.as_value()
    folded = bits[:DIGEST_BITS]
    for at in range(DIGEST_BITS, len(bits), DIGEST_BITS):
        folded = folded ^ bits[at:at + DIGEST_BITS]
    return (digest * DIGEST_MULTIPLIER + folded)[:DIGEST_BITS]


def harness_signature(model: HardwareModel, config: HdlConfig, word_capacity: int,
                      sample_capacity: int) -> wiring.Signature:
    """The ports of :class:`BatchHarness` (``config`` resolved for ``model``)."""
    return wiring.Signature({
        "load_en": In(1), "load_addr": In(range(word_capacity)), "load_data": In(input_layout(model, config)),
        "words": In(range(word_capacity + 1)), "samples": In(range(sample_capacity + 1)),
        "go": In(1), "done": Out(1), "run_cycles": Out(RUN_CYCLE_BITS),
        "read_addr": In(range(sample_capacity)), "read_data": Out(record_layout(model)),
    })


class BatchHarness(wiring.Component):
    """``NetworkTop(model, config)`` fed from an input memory, answering into a result memory.

    Ports (testbench only): ``load_en``/``load_addr``/``load_data``: write one input word per cycle
    (``input_layout``: ``start`` tag bit and the beat; a start word carries a ``start`` payload, the
    others an input beat); ``words``: the number of words of the batch; ``go``: start playing (one
    cycle; ``words`` and ``samples`` are latched then); ``done``: every sample's result is stored
    (``samples`` of them); ``run_cycles``: cycles from ``go`` to ``done``; ``read_addr``/``read_data``:
    a sample's :func:`record_layout` record, one cycle after the address. The harness defines its own
    ``sync`` domain, without reset: its only clock port is ``clk``, and every register starts from its
    init value.
    """

    def __init__(self, model: HardwareModel, config: HdlConfig, word_capacity: int, sample_capacity: int,
                 own_domain: bool = True):
        self.network = network = NetworkTop(model, config)
        self.model = model
        self.input_name = network.config.input
        self.input_layout = input_layout(model, network.config)
        self.record = record_layout(model)
        self.word_capacity, self.sample_capacity = word_capacity, sample_capacity
        # own_domain False: a design holding several harnesses supplies their one ``sync`` domain
        self.domain = ClockDomain("sync", reset_less=True) if own_domain else None
        super().__init__(harness_signature(model, network.config, word_capacity, sample_capacity))

    def elaborate(self, platform):
        m = Module()
        # no reset: registers start from their init values (Verilog initialisers). A reset input would
        # feed every register's next-state logic, which Verilator then re-evaluates at every eval as
        # input logic (its "ico" region), about as costly as the clock edge itself.
        if self.domain is not None:
            m.domains.sync = self.domain
        m.submodules.network = net = self.network
        m.submodules.inputs = inputs = Memory(shape=self.input_layout, depth=self.word_capacity, init=[])
        m.submodules.records = records = Memory(shape=self.record, depth=self.sample_capacity, init=[])
        load, feed = inputs.write_port(), inputs.read_port(domain="comb")
        store, fetch = records.write_port(), records.read_port()
        m.d.comb += [load.en.eq(self.load_en), load.addr.eq(self.load_addr), load.data.eq(self.load_data),
                     fetch.addr.eq(self.read_addr), self.read_data.eq(fetch.data)]

        # the batch's sizes are latched at ``go``: no input port reaches the network combinationally
        running, words, samples = Signal(), Signal.like(self.words), Signal.like(self.samples)
        pointer, stored = Signal(range(self.word_capacity + 1)), Signal(range(self.sample_capacity + 1))
        source = getattr(net, self.input_name)
        word = feed.data
        more = running & (pointer < words)
        m.d.comb += [
            feed.addr.eq(pointer),
            net.start.payload.eq(word.beat[:len(net.start.payload.as_value())]),
            source.payload.eq(word.beat[:len(source.payload)]),
            net.start.valid.eq(more & word.start), source.valid.eq(more & ~word.start),
            net.result.ready.eq(1),
        ]
        with m.If((net.start.valid & net.start.ready) | (source.valid & source.ready)):
            m.d.sync += pointer.eq(pointer + 1)

        # ---- digests of the current inference's trace and readout beats --------------------------
        digests = Signal(self.record.members["traces"])
        readout = Signal(DIGEST_BITS)
        begin = net.start.valid & net.start.ready
        for index in range(len(self.model.layers)):
            port = net.trace[index]
            with m.If(begin):
                m.d.sync += digests[index].eq(0)
            with m.Elif(port.valid):
                m.d.sync += digests[index].eq(digest_next(digests[index], port.payload))
        with m.If(begin):
            m.d.sync += readout.eq(0)
        with m.Elif(net.readout.valid):
            m.d.sync += readout.eq(digest_next(readout, net.readout.payload))

        m.d.comb += [store.en.eq(net.result.valid), store.addr.eq(stored), store.data.result.eq(net.result.payload),
                     store.data.traces.eq(digests), store.data.readout.eq(readout)]
        with m.If(net.result.valid):
            m.d.sync += stored.eq(stored + 1)

        done = running & (stored == samples)
        m.d.comb += self.done.eq(done)
        with m.If(running & ~done):
            m.d.sync += self.run_cycles.eq(self.run_cycles + 1)
        with m.If(self.go):
            m.d.sync += [running.eq(1), pointer.eq(0), stored.eq(0), self.run_cycles.eq(0),
                         words.eq(self.words), samples.eq(self.samples)]
        return m


def _field_bits(bits: np.ndarray, field: tuple, values: np.ndarray) -> None:
    """Write integer ``values`` (two's complement, the field's width) into the bit matrices ``bits``
    (``(..., layout size)``) at a layout field (``(offset, shape)`` of :func:`srcfpga.hdl.layouts.field_at`)."""
    offset, shape = field
    for bit in range(shape.width):
        bits[..., offset + bit] = (values >> bit) & 1


def _fold_bits(bits: np.ndarray) -> np.ndarray:
    """``fold`` of bit matrices ``(..., width)``: XOR of their 64-bit chunks, as uint64."""
    width = bits.shape[-1]
    padded = -(-width // DIGEST_BITS) * DIGEST_BITS
    full = np.zeros(bits.shape[:-1] + (padded,), bool)
    full[..., :width] = bits
    words = np.packbits(full, axis=-1, bitorder="little").view("<u8")
    return np.bitwise_xor.reduce(words, axis=-1)


def _digest(beats: np.ndarray) -> np.ndarray:
    """The digest of folded beats ``(batch, n)`` (uint64), in order along axis 1."""
    d = np.zeros(beats.shape[0], np.uint64)
    multiplier = np.uint64(DIGEST_MULTIPLIER)
    with np.errstate(over="ignore"):
        for k in range(beats.shape[1]):
            d = d * multiplier + beats[:, k]
    return d


def golden_digests(model: HardwareModel, config: HdlConfig, golden) -> tuple[np.ndarray, np.ndarray]:
    """``(traces (batch, n_layers), readout (batch,))``, uint64: the digests the harness must store for
    the golden run ``golden`` (``run_golden(..., trace=True)``). Beats are packed with the HDL's layouts:
    ``trace_layout`` (lane ``b`` of a group at bits ``[b V, (b + 1) V)`` of ``spikes``, V = the layer's
    value bits) and ``readout_layout``."""
    lanes = config.resolve(model).lanes
    value_bits = [layer_value_bits(layer) for layer in model.layers]
    width = lanes * max(value_bits)
    tlayout = trace_layout(width)
    traces = []
    for index, trace in enumerate(golden.traces):
        batch, total, n_out = trace.spikes.shape
        groups, bits = lane_groups(n_out, lanes), value_bits[index]
        values = np.zeros((batch, total, groups * lanes), np.int64)
        values[..., :n_out] = trace.spikes.astype(np.int64)
        lane_bits = (values.reshape(batch, total, groups, lanes, 1) >> np.arange(bits)) & 1
        beats = np.zeros((batch, total, groups, tlayout.size), bool)
        at, _ = field_at(tlayout, "spikes")
        beats[..., at:at + lanes * bits] = lane_bits.reshape(batch, total, groups, lanes * bits)
        _field_bits(beats, field_at(tlayout, "layer"), np.int64(index))
        _field_bits(beats, field_at(tlayout, "step"), np.arange(total)[None, :, None])
        _field_bits(beats, field_at(tlayout, "group"), np.arange(groups)[None, None, :])
        traces.append(_digest(_fold_bits(beats).reshape(batch, total * groups)))
    ro = model.readout
    rlayout = readout_layout(ro.n_classes, ro.acc_bits)
    batch, total, n_classes = golden.readout_trace.shape
    beats = np.zeros((batch, total, rlayout.size), bool)
    _field_bits(beats, field_at(rlayout, "step"), np.arange(total)[None, :])
    for c in range(n_classes):
        _field_bits(beats, field_at(rlayout, "counts", c), golden.readout_trace[..., c])
    return np.stack(traces, axis=1), _digest(_fold_bits(beats))


@dataclass
class BatchRun:
    """What :func:`run_batch` measured: per sample the result and the digests, plus the speed."""

    predictions: np.ndarray      # (batch,) int64
    readout: np.ndarray          # (batch, n_classes) int64
    cycles: np.ndarray           # (batch,) the result's cycle counter
    trace_digests: np.ndarray    # (batch, n_layers) uint64
    readout_digests: np.ndarray  # (batch,) uint64
    sim_cycles: int              # cycles from go to done, summed over the chunks and processes
    sim_seconds: float           # wall time of the free-running part (the longest of the processes')
    sim_cpu_seconds: float       # CPU time of the free-running part, summed over the processes
    build_seconds: float
    build_cached: bool
    run_seconds: float           # wall time of the simulator processes (start, load, run, read back)
    processes: int = 1           # simulator processes run at once

    @property
    def sim_cycles_per_s(self) -> float:
        return self.sim_cycles / self.sim_seconds if self.sim_seconds > 0 else 0.0

    def select(self, samples: slice) -> "BatchRun":
        """The per-sample results of ``samples`` (the speed figures stay those of the whole batch)."""
        return replace(self, predictions=self.predictions[samples], readout=self.readout[samples],
                       cycles=self.cycles[samples], trace_digests=self.trace_digests[samples],
                       readout_digests=self.readout_digests[samples])


WORD_CAPACITY = 1 << 14         # input words per chunk (a memory that Verilator holds and initialises)
SAMPLE_CAPACITY = 1 << 10       # samples per chunk
PROCESS_SAMPLES = 100           # run_batch's default: a simulator process per core, at least this many samples each


def word_capacity(words: list[list[int]]) -> int:
    """The input memory's depth for these samples: ``WORD_CAPACITY``, or the next power of two above one
    sample's words when that is more (so that every batch of a design uses the same build)."""
    return max(WORD_CAPACITY, 1 << (max(len(w) for w in words) - 1).bit_length())


def _chunks(words: list[list[int]], capacity: int | None = None) -> tuple[list[tuple[list[int], int]], int]:
    """Split the samples' input words into chunks that fit the memories (``capacity`` words, default
    :func:`word_capacity`); returns the chunks and the capacity."""
    capacity = word_capacity(words) if capacity is None else capacity
    chunks, current, count = [], [], 0
    for sample in words:
        if count == SAMPLE_CAPACITY or len(current) + len(sample) > capacity:
            chunks.append((current, count))
            current, count = [], 0
        current += sample
        count += 1
    chunks.append((current, count))
    return chunks, capacity


def generate_harness(model: HardwareModel, config: HdlConfig, word_capacity: int, sample_capacity: int,
                     cache_dir: Path | None = None) -> str:
    """The Verilog of ``BatchHarness``, cached like :func:`srcfpga.sim.regression.generate` (model hash,
    configuration, capacities, :func:`~srcfpga.hdl.verilog.hdl_source_hash` and this module)."""
    from amaranth.back import verilog as amaranth_verilog

    root = (cache_dir if cache_dir is not None else simbuild.cache_root()) / "verilog-batch"
    key = hashlib.sha256(json.dumps([model.content_hash, config.to_dict(), word_capacity, sample_capacity,
                                     hdl_source_hash(), Path(__file__).read_text()]).encode()).hexdigest()[:24]
    path = root / f"{key}.v"
    if path.is_file():
        return path.read_text()
    harness = BatchHarness(model, config, word_capacity, sample_capacity)
    ports = [Value.cast(getattr(harness, name)) for name in harness.signature.members] + [harness.domain.clk]
    text = amaranth_verilog.convert(harness, name=HARNESS_MODULE, ports=ports, emit_src=False)
    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return text


def clocked_top(signature: wiring.Signature) -> str:
    """Verilog of the simulated top ``BATCH_TOP``: the harness (module ``HARNESS_MODULE``) with its clock
    generated inside (Verilator ``--timing``), so that no clock edge calls into cocotb's VPI layer; the
    harness's ports pass through. The clock is a pulse, one simulator time slot per cycle: every
    ``CLOCK_PERIOD_NS`` ``clk`` rises (blocking) and falls again in the same slot's NBA region (half the
    slots, and the scheduler and VPI work of each, of a ``#5`` toggle). cocotb therefore sees no edge of
    ``clk``: the testbench counts cycles with timers (:func:`srcfpga.sim.tb_steps.pulse_tick`).
    ``signature``: the harness's (:func:`harness_signature`)."""
    names = list(signature.members)
    lines = [f"module {BATCH_TOP}({', '.join(names)});"]
    for name, member in signature.members.items():
        width = Shape.cast(member.shape).width
        lines.append(f"  {'input' if member.flow == In else 'output'} [{width - 1}:0] {name};")
    lines += ["  reg clk = 1'b0;", f"  always #{simbuild.CLOCK_PERIOD_NS} begin clk = 1'b1; clk <= 1'b0; end",
              f"  {HARNESS_MODULE} harness ({', '.join(f'.{n}({n})' for n in ['clk', *names])});", "endmodule", ""]
    return "\n".join(lines)


def batch_words(model: HardwareModel, config: HdlConfig, *, pixels: np.ndarray | None = None,
                spikes: np.ndarray | None = None, seeds: np.ndarray | None = None, steps: int,
                blank: int) -> list[list[int]]:
    """Per sample, the input memory words (:func:`input_layout`): the ``start`` command, then the image's
    ``pixels`` beats or the ``frames`` beats of every step (``blank + steps`` frames given in ``spikes``)."""
    config = config.resolve(model)
    batch = len(pixels) if pixels is not None else len(spikes)
    seeds = np.zeros(batch, np.int64) if seeds is None else np.asarray(seeds, np.int64)
    width, layout = model.encoder.beat_width, input_layout(model, config)
    words = []
    for b in range(batch):
        values = [pixels[b]] if config.input == "pixels" else spikes[b]
        beats = [word for v in values for word in input_beats(config.input, width, v)]
        words.append([layout.const({"beat": start_beat(seeds[b], blank, steps), "start": 1}).as_bits()]
                     + [layout.const({"beat": beat, "start": 0}).as_bits() for beat in beats])
    return words


def decode_records(model: HardwareModel, records: list[int]) -> dict[str, np.ndarray]:
    """The result memory's records (integers of :func:`record_layout`) as arrays: ``predictions``,
    ``readout``, ``cycles``, ``trace_digests``, ``readout_digests``."""
    layout = record_layout(model)
    decoded = [layout.from_bits(value) for value in records]
    n_classes, n_layers = model.readout.n_classes, len(model.layers)
    return {"predictions": np.array([int(r.result.label) for r in decoded], np.int64),
            "readout": np.array([[int(r.result.counts[c]) for c in range(n_classes)] for r in decoded], np.int64),
            "cycles": np.array([int(r.result.cycles) for r in decoded], np.int64),
            "trace_digests": np.array([[int(r.traces[i]) for i in range(n_layers)] for r in decoded], np.uint64),
            "readout_digests": np.array([int(r.readout) for r in decoded], np.uint64)}


def sample_cycle_bound(model: HardwareModel, config: HdlConfig, steps: int) -> int:
    """An upper bound on the cycles of one inference of ``steps`` timesteps (blank ones included): the cycle
    model (:class:`srcfpga.hdl.LatencyModel`) with every input and every unit active at every step (every bit
    of every mask set, no blank step), extrapolated linearly from 2 and 4 such steps (beyond the pipeline's
    fill each costs the same). A sample's masks have fewer bits set, hence no more beats and cycles."""
    from ..hdl import LatencyModel

    latency = LatencyModel(model, config)

    def busy(n: int) -> int:
        inputs = np.ones((1, n, model.input_size), bool)
        layers = [np.full((1, n, layer.n_out), -1, np.int64) for layer in model.layers]  # every bit plane set
        return int(latency.inference_cycles(inputs, layers, 0)[0])

    if steps <= 4:
        return busy(max(steps, 1))
    short, long = busy(2), busy(4)
    return long + (steps - 4) * -(-(long - short) // 2)


def cycle_limit(bound: int, samples: int, margin: float = TIMEOUT_MARGIN) -> int:
    """The cycles a run of ``samples`` samples may take before it times out: ``margin`` times their
    :func:`sample_cycle_bound` ``bound`` each (the rule of both memory harnesses)."""
    return int(np.ceil(margin * bound * samples))


def run_batch(model: HardwareModel, config: HdlConfig, *, pixels: np.ndarray | None = None,
              spikes: np.ndarray | None = None, seeds: np.ndarray | None = None, steps: int, blank: int,
              processes: int | None = None, build_args: tuple[str, ...] = FAST_BUILD_ARGS,
              make_vars: tuple[str, ...] = FAST_MAKE_VARS, cache_dir: Path | None = None,
              timeout_margin: float = TIMEOUT_MARGIN) -> BatchRun:
    """Simulate a batch through :class:`BatchHarness` in Verilator (cocotb only at the chunks' edges).

    The batch is split into ``processes`` contiguous parts, each simulated by its own simulator process
    of the same (cached) build, all at once (default: one per CPU core, at least ``PROCESS_SAMPLES``
    samples each); the results come back in sample order. A chunk not done after ``timeout_margin`` times
    its samples' :func:`sample_cycle_bound` cycles raises :class:`~srcfpga.sim.build.SimulationError`."""
    config = config.resolve(model)
    words = batch_words(model, config, pixels=pixels, spikes=spikes, seeds=seeds, steps=steps, blank=blank)
    capacity = word_capacity(words)
    verilog = (generate_harness(model, config, capacity, SAMPLE_CAPACITY, cache_dir) + "\n"
               + clocked_top(harness_signature(model, config, capacity, SAMPLE_CAPACITY)))
    sim_build = simbuild.build(verilog, BATCH_TOP, "verilator", build_args=build_args, make_vars=make_vars,
                               cache_dir=cache_dir)
    if processes is None:
        processes = min(os.cpu_count() or 1, len(words) // PROCESS_SAMPLES)
    bound = sample_cycle_bound(model, config, blank + steps)
    bounds = np.linspace(0, len(words), max(1, min(processes, len(words))) + 1).round().astype(int)
    parts = [{"first": int(a), "chunks": [(chunk, samples, cycle_limit(bound, samples, timeout_margin))
                                          for chunk, samples in _chunks(words[a:b], capacity)[0]]}
             for a, b in zip(bounds[:-1], bounds[1:])]
    start = time.perf_counter()
    with simbuild.outside_pytest(), ThreadPoolExecutor(len(parts)) as pool:
        runs = list(pool.map(lambda part: simbuild.run(sim_build, "srcfpga.sim.tb_batch", part), parts))
    results = [r.results for r in runs]
    for res in results:
        if res.get("timeout"):
            first, samples, limit = res["timeout"]
            raise simbuild.SimulationError(
                f"batch samples {first}..{first + samples - 1} (one chunk): not done after {limit:,} cycles "
                f"({timeout_margin} x {samples} x {bound:,}, the cycle model's bound per sample of "
                f"{blank + steps} steps)")
    return BatchRun(**decode_records(model, [record for res in results for record in res["records"]]),
                    sim_cycles=sum(int(res["cycles"]) for res in results),
                    sim_seconds=max(float(res["seconds"]) for res in results),
                    sim_cpu_seconds=sum(float(res["cpu_seconds"]) for res in results),
                    build_seconds=sim_build.seconds, build_cached=sim_build.cached,
                    run_seconds=time.perf_counter() - start, processes=len(parts))


@dataclass(frozen=True)
class BatchCheck:
    """:func:`check_batch`'s verdict: samples whose digests, accumulators, class or cycle count differ."""

    samples: int
    mismatched: list[int]        # digests, final accumulators or class differ from golden
    latency_mismatched: list[int]   # the result's cycles differ from srcfpga.hdl.LatencyModel

    @property
    def agreement(self) -> float:
        return 1.0 - len(self.mismatched) / self.samples

    @property
    def latency_exact(self) -> float:
        return 1.0 - len(self.latency_mismatched) / self.samples


def check_batch(model: HardwareModel, config: HdlConfig, run: BatchRun, golden, input_spikes: np.ndarray,
                blank: int) -> BatchCheck:
    """Compare a :class:`BatchRun` with ``golden`` (``run_golden(..., trace=True)`` on the same inputs) and
    its cycle counts with the cycle model fed with ``input_spikes`` and the golden trace."""
    from ..hdl import LatencyModel

    traces, readout = golden_digests(model, config, golden)
    same = ((run.trace_digests == traces).all(axis=1) & (run.readout_digests == readout)
            & (run.readout == golden.readout).all(axis=1) & (run.predictions == golden.predictions))
    predicted = LatencyModel(model, config.resolve(model)).inference_cycles(
        input_spikes, [t.spikes for t in golden.traces], blank)
    return BatchCheck(len(same), [int(s) for s in np.nonzero(~same)[0]],
                      [int(s) for s in np.nonzero(predicted != run.cycles)[0]])
