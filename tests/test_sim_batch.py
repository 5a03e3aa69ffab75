"""The fast batch harness (srcfpga.sim.batch): digests, chunks, and the harness itself.

Default suite: the harness in Amaranth's simulator on a small model - its stored digests, accumulators,
classes and cycle counts equal the golden model's digests (computed from the golden trace with the
HDL's layouts) and the cycle model. ``-m slow``: the same in cocotb + Verilator, and a changed input is
seen as a mismatch.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Shape
from amaranth.lib.wiring import In
from amaranth.sim import Simulator

from srcfpga.errors import ToolNotFoundError
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, LatencyModel
from srcfpga.sim import batch
from srcfpga.sim.build import SimulationError
from srcfpga.testing import random_hardware_model, random_spikes

STEPS, BLANK = 9, 2


def small_case(kind: str):
    model = random_hardware_model(11, (16, 12, 6), 4, n_classes=4, encoder_generators=8)
    rng = np.random.default_rng(5)
    if kind == "pixels":
        pixels = rng.integers(0, 256, (3, 16), dtype=np.uint8)
        seeds = np.arange(3) + 100
        spikes = model.encoder.encode(pixels, STEPS, BLANK, seeds)
        return model, HdlConfig(lanes=4), {"pixels": pixels, "seeds": seeds}, spikes
    frames = random_spikes(3, 3, BLANK + STEPS, 16, 0.4)
    frames[:, :BLANK] = False
    return model, HdlConfig(lanes=5, input="frames", spikes_per_cycle=1), {"spikes": frames}, frames


def run_harness_amaranth(model, config, words):
    """The harness in Amaranth's simulator: load, go, wait for done, read the records."""
    chunks, _ = batch._chunks(words)
    assert len(chunks) == 1
    (flat, samples), = chunks
    harness = batch.BatchHarness(model, config, 64, 4)
    records = []

    async def testbench(ctx):
        ctx.set(harness.load_en, 1)
        for address, word in enumerate(flat):
            ctx.set(harness.load_addr, address)
            ctx.set(harness.load_data, harness.input_layout.from_bits(word))
            await ctx.tick()
        ctx.set(harness.load_en, 0)
        ctx.set(harness.words, len(flat))
        ctx.set(harness.samples, samples)
        ctx.set(harness.go, 1)
        await ctx.tick()
        ctx.set(harness.go, 0)
        for _ in range(20_000):
            await ctx.tick()
            if ctx.get(harness.done):
                break
        for sample in range(samples):
            ctx.set(harness.read_addr, sample)
            await ctx.tick()
            records.append(ctx.get(harness.read_data).as_bits())

    sim = Simulator(harness)         # the harness defines its own clock domain (no reset)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert len(records) == samples, "the harness did not finish"
    return batch.decode_records(model, records)


@pytest.mark.parametrize("kind", ["pixels", "frames"])
def test_harness_equals_golden_in_amaranth(kind):
    model, config, inputs, input_spikes = small_case(kind)
    words = batch.batch_words(model, config, steps=STEPS, blank=BLANK, **inputs)
    got = run_harness_amaranth(model, config, words)
    golden = run_golden(model, steps=STEPS, blank=BLANK, trace=True, **inputs)
    assert sum(int(t.spikes.sum()) for t in golden.traces) > 0
    run = batch.BatchRun(**got, sim_cycles=0, sim_seconds=0.0, sim_cpu_seconds=0.0, build_seconds=0.0,
                         build_cached=False, run_seconds=0.0)
    check = batch.check_batch(model, config, run, golden, input_spikes, BLANK)
    assert check.mismatched == [] and check.latency_mismatched == []
    traces, readout = batch.golden_digests(model, config, golden)
    np.testing.assert_array_equal(got["trace_digests"], traces)
    np.testing.assert_array_equal(got["readout_digests"], readout)


@pytest.mark.parametrize("kind", ["pixels", "frames"])
def test_cycle_bound_covers_the_samples_and_the_busiest_input(kind):
    """The timeout's bound per sample is at least every sample's cycles and those of an input that
    makes every input and every unit active at every step."""
    model, config, inputs, input_spikes = small_case(kind)
    config = config.resolve(model)
    golden = run_golden(model, steps=STEPS, blank=BLANK, trace=True, **inputs)
    latency = LatencyModel(model, config)
    cycles = latency.inference_cycles(input_spikes, [t.spikes for t in golden.traces], BLANK)
    total = BLANK + STEPS
    busiest = latency.inference_cycles(np.ones((1, total, model.input_size), bool),
                                       [np.full((1, total, layer.n_out), -1) for layer in model.layers], 0)
    bound = batch.sample_cycle_bound(model, config, total)
    assert cycles.max() < busiest[0] <= bound < 2 * busiest[0]


def test_one_flipped_spike_changes_the_digest():
    model, config, inputs, _ = small_case("frames")
    golden = run_golden(model, steps=STEPS, blank=BLANK, trace=True, **inputs)
    traces, _ = batch.golden_digests(model, config, golden)
    golden.traces[1].spikes[2, 7, 4] ^= True
    changed, _ = batch.golden_digests(model, config, golden)
    assert (changed[:2] == traces[:2]).all() and changed[2, 1] != traces[2, 1] and changed[2, 0] == traces[2, 0]


def test_clocked_top_passes_every_port():
    model, config, _, _ = small_case("pixels")
    signature = batch.harness_signature(model, config.resolve(model), 64, 4)
    text = batch.clocked_top(signature)
    for name, member in signature.members.items():
        direction = "input" if member.flow == In else "output"
        assert f"{direction} [{Shape.cast(member.shape).width - 1}:0] {name};" in text and f".{name}({name})" in text
    assert f"{batch.HARNESS_MODULE} harness (.clk(clk)," in text and "always #10 begin clk = 1'b1; clk <= 1'b0; end" in text


def test_chunks_fit_the_memories():
    words = [[1] * 14 for _ in range(3000)]
    chunks, capacity = batch._chunks(words)
    assert capacity == batch.WORD_CAPACITY
    assert [n for _, n in chunks] == [1024, 1024, 952] and all(len(w) <= capacity for w, _ in chunks)
    chunks, capacity = batch._chunks([[0] * 20000, [0] * 5])
    assert capacity == 1 << 15 and [n for _, n in chunks] == [2]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pixels", "frames"])
def test_batch_in_verilator_equals_golden(kind):
    model, config, inputs, input_spikes = small_case(kind)
    try:        # two simulator processes at once: samples 0-1 and 2
        run = batch.run_batch(model, config, steps=STEPS, blank=BLANK, processes=2, **inputs)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    golden = run_golden(model, steps=STEPS, blank=BLANK, trace=True, **inputs)
    check = batch.check_batch(model, config, run, golden, input_spikes, BLANK)
    assert check.agreement == 1.0 and check.latency_exact == 1.0 and run.processes == 2
    other = {**inputs, **({"seeds": inputs["seeds"] + 1} if kind == "pixels" else {})}
    if kind == "frames":
        other["spikes"] = inputs["spikes"].copy()
        other["spikes"][1, BLANK:, :] ^= True      # (one step's flip changes no spike of this model)
    wrong = run_golden(model, steps=STEPS, blank=BLANK, trace=True, **other)
    assert batch.check_batch(model, config, run, wrong, input_spikes, BLANK).mismatched


@pytest.mark.slow
def test_batch_timeout_names_the_samples():
    model, config, inputs, _ = small_case("pixels")
    try:        # a limit of a fraction of one sample's cycles
        with pytest.raises(SimulationError, match=r"batch samples 0\.\.2 \(one chunk\): not done after \d+ cycles"):
            batch.run_batch(model, config, steps=STEPS, blank=BLANK, processes=1, timeout_margin=0.01, **inputs)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_reference_mnist_1000_images_in_verilator(reference_dir, mnist_dir):
    """The reference 784 -> 100 model, 5-bit, 1,000 mnist-test-b images at 20 + 200 steps through the
    batch harness in two simulator processes: every sample equals golden (digests of every trace and
    readout beat, accumulators, class) and its cycles the cycle model; another run of the same design
    reuses the Verilator build."""
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import sample_seeds
    from srcfpga.nn import import_ulg
    from srcfpga.quant import QuantConfig, quantize_net

    model = quantize_net(import_ulg(reference_dir), QuantConfig(weight_bits=5))
    data = load_dataset("mnist", "test", mnist_dir, 1000)
    pixels, seeds, steps, blank = data.images, sample_seeds(0, 0, 1000), 200, 20
    try:
        run = batch.run_batch(model, HdlConfig(), pixels=pixels, seeds=seeds, steps=steps, blank=blank, processes=2)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    golden = run_golden(model, pixels=pixels, seeds=seeds, steps=steps, blank=blank, trace=True)
    spikes = model.encoder.encode(pixels, steps, blank, seeds)
    check = batch.check_batch(model, HdlConfig(), run, golden, spikes, blank)
    assert check.agreement == 1.0 and check.latency_exact == 1.0 and run.processes == 2
    again = batch.run_batch(model, HdlConfig(), pixels=pixels[:3], seeds=seeds[:3], steps=steps, blank=blank)
    assert again.build_cached and (again.readout == run.readout[:3]).all()
