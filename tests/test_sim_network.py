"""RTL vs golden: the cocotb network testbench (srcfpga.sim.tb_network) through srcfpga.sim.regression.

Default suite: the packing / decoding / comparison logic on synthetic stream beats (no simulator) and
ONE small real Verilator regression. ``-m slow``: a sweep of random models, HDL configurations and
inputs (see ``SWEEP``), each model built once and run on several input sets.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.hdl.layouts import (
    field_at,
    input_beats,
    input_values,
    read_field,
    readout_layout,
    result_layout,
    start_beat,
    trace_layout,
)
from srcfpga.sim import regression as reg
from srcfpga.testing import random_hardware_model, random_spikes

# ---- synthetic beats: what a correct RTL would send -------------------------------------------------------

def _manifest(model, lanes: int, width: int) -> dict:
    ports = {f"trace__{index}__valid": {"dir": "out", "width": 1} for index in range(len(model.layers))}
    return {"top": "srcfpga_net", "ports": ports, "config": {"lanes": lanes},
            "layout": {"mask_width": width, "lanes": lanes, "n_in": model.input_size,
                       "layer_sizes": [layer.n_out for layer in model.layers],
                       "n_classes": model.readout.n_classes, "acc_bits": model.readout.acc_bits}}


def _beats_from_golden(model, golden, lanes: int, rtl_results_of) -> dict:
    """Results of tb_network for an RTL that equals ``golden`` (one inference after the other)."""
    total = golden.readout_trace.shape[1]
    return rtl_results_of(model, golden, lanes, cycles=10 * total + np.arange(len(golden.predictions)))


SIM_KEYS = {"samples", "agreement", "mismatches", "accuracy", "cycles_per_step", "cycles_per_inference",
            "sim_cycles_per_s", "latency_model_cycles", "latency_model_exact"}


@pytest.fixture(scope="module")
def synthetic(rtl_results_of):
    model = random_hardware_model(3, (10, 7, 5), 6, n_classes=3)
    spikes = random_spikes(4, 3, 6, 10, 0.4)
    golden = run_golden(model, spikes=spikes, trace=True)
    lanes = 2
    return model, golden, _beats_from_golden(model, golden, lanes, rtl_results_of), _manifest(model, lanes, 16), lanes


def _decode(model, res, manifest, lanes, total=6, batch=3):
    run = reg._decode(model, res, manifest, batch, total, lanes, reg.Backpressure())
    run.steps, run.blank = total, 0
    return run


def test_packing_bit_layout():
    """The port bit map of docs/hardware.md, as the layouts of srcfpga.hdl.layouts pack and decode it."""
    image = np.arange(1, 20, dtype=np.uint8)
    beats = input_beats("pixels", 8, image)
    assert len(beats) == 3 and beats[0] & 0xFF == 1 and (beats[0] >> 8) & 0xFF == 2 and beats[2] >> 24 == 0
    assert (beats[2] >> 8) & 0xFF == 18 and beats[2] & 0xFF == 17
    frame = np.zeros(10, bool)
    frame[[0, 3, 9]] = True
    assert input_beats("frames", 4, frame) == [0b1001, 0, 0b10]
    assert input_values("pixels", 8, beats, 19).tolist() == image.tolist()
    assert input_values("frames", 4, [0b1001, 0, 0b10], 10).tolist() == frame.astype(int).tolist()
    assert start_beat(0x7FFFFFFF, 3, 200) == 0x7FFFFFFF | 3 << 32 | 200 << 48
    assert [field_at(trace_layout(8), name)[0] for name in ("layer", "step", "group", "spikes")] == [0, 4, 20, 36]
    assert field_at(readout_layout(3, 24), "counts", 2)[0] == 16 + 2 * 24
    result = result_layout(3, 24)
    assert [field_at(result, *path)[0] for path in (("cycles",), ("label",), ("counts", 1))] == [0, 32, 40 + 24]
    assert read_field(5 << 40 | ((1 << 24) - 2) << 64, result, "counts", 1) == -2


def test_synthetic_rtl_agrees(synthetic):
    model, golden, res, manifest, lanes = synthetic
    run = _decode(model, res, manifest, lanes)
    assert not any(run.problems)
    report = reg.compare_with_golden(model, run, golden, labels=golden.predictions)
    assert report.agreement == 1.0 and report.mismatches == 0 and report.accuracy == 1.0
    assert report.first_mismatch is None
    assert set(report.to_dict()) == SIM_KEYS


def test_cycle_model_divergence_fails_the_report(synthetic):
    """A sample whose measured cycles differ from the cycle model's by one fails the report, like a spike."""
    model, golden, res, manifest, lanes = synthetic
    run = _decode(model, res, manifest, lanes)
    spikes = random_spikes(4, 3, 6, 10, 0.4)
    report = reg.compare_with_golden(model, run, golden)
    reg.check_latency(model, run, golden, report, spikes=spikes)
    run.cycles = np.array(report.latency_model_per_sample)
    run.cycles[1] += 1
    reg.check_latency(model, run, golden, report, spikes=spikes)
    assert report.mismatches == 0 and report.latency_model_diverged == [1] and not report.passed
    assert report.to_dict()["latency_model_exact"] == pytest.approx(2 / 3)
    assert "cycle model: 2/3 samples exact" in report.summary()
    run.cycles[1] -= 1
    reg.check_latency(model, run, golden, report, spikes=spikes)
    assert report.passed and report.to_dict()["latency_model_exact"] == 1.0


def test_cli_sim_passes_the_design_options(tmp_path, monkeypatch):
    """``srcfpga sim --lanes --spikes-per-cycle --pack-masks`` simulates that HdlConfig (the RTL run is replaced)."""
    from srcfpga.cli import main

    hw = tmp_path / "m.hw"
    random_hardware_model(1, (64, 8), 4).save(hw)
    seen = []

    def fake_regress(model, config, **kwargs):
        seen.append(config)
        raise ConfigError("stop here")

    monkeypatch.setattr(reg, "regress", fake_regress)
    main(["sim", str(hw), "--dataset", "digits", "--limit", "1", "--lanes", "4", "--spikes-per-cycle", "4",
          "--pack-masks"])
    assert (seen[0].lanes, seen[0].spikes_per_cycle, seen[0].pack_masks) == (4, 4, True)


@pytest.mark.parametrize("diverged, code", [([], 0), ([2], 1)])
def test_cli_sim_fails_on_a_cycle_model_divergence(synthetic, tmp_path, capsys, monkeypatch, diverged, code):
    """``srcfpga sim`` reports the cycle model check in its JSON and exits 1 on a divergence (the RTL run is
    replaced by a report; the real run is ``test_cli_sim_digits``)."""
    import json

    from srcfpga.cli import main

    model, golden, res, manifest, lanes = synthetic
    hw = tmp_path / "m.hw"
    random_hardware_model(1, (64, 6), 5).save(hw)

    def fake_regress(*args, **kwargs):
        report = reg.compare_with_golden(model, _decode(model, res, manifest, lanes), golden)
        report.latency_model_cycles, report.latency_model_exact = 100.0, 1.0 - len(diverged) / 3
        report.latency_model_diverged = diverged
        return report, None

    monkeypatch.setattr(reg, "regress", fake_regress)
    assert main(["sim", str(hw), "--dataset", "digits", "--limit", "3", "--json"]) == code
    data = json.loads(capsys.readouterr().out)
    assert set(data) == SIM_KEYS and data["mismatches"] == 0
    assert data["latency_model_exact"] == 1.0 - len(diverged) / 3


def test_flipped_spike_is_located(synthetic):
    model, golden, res, manifest, lanes = synthetic
    trace = [list(beat) for beat in res["trace"]]
    # sample 1, layer 1, step 4, group 1, lane 0 -> neuron 2
    layout = trace_layout(lanes)
    for beat in trace:
        fields = [read_field(beat[3], layout, name) for name in ("layer", "step", "group")]
        if beat[1] == 1 and fields == [1, 4, 1]:
            beat[3] ^= 1 << field_at(layout, "spikes")[0]
    run = _decode(model, dict(res, trace=trace), manifest, lanes)
    report = reg.compare_with_golden(model, run, golden)
    first = report.first_mismatch
    assert report.mismatches == 1 and report.mismatched_samples == [1] and report.agreement == pytest.approx(2 / 3)
    assert (first.sample, first.kind, first.layer, first.neuron, first.step) == (1, "spikes", 1, 2, 4)
    assert "layer 1, neuron 2, step 4" in first.describe()


def test_readout_difference_is_located(synthetic):
    model, golden, res, manifest, lanes = synthetic
    readout = [list(beat) for beat in res["readout"]]
    readout[2 * 6 + 5][2] += 1 << field_at(readout_layout(3, model.readout.acc_bits), "counts", 0)[0]   # off by one
    report = reg.compare_with_golden(model, _decode(model, dict(res, readout=readout), manifest, lanes), golden)
    first = report.first_mismatch
    assert (first.sample, first.kind, first.neuron, first.step) == (2, "readout", 0, 5)


def test_missing_and_stray_beats_are_protocol_errors(synthetic):
    model, golden, res, manifest, lanes = synthetic
    trace = [beat for beat in res["trace"] if not (beat[1] == 0 and read_field(beat[3], trace_layout(lanes), "step") == 5)]
    report = reg.compare_with_golden(model, _decode(model, dict(res, trace=trace), manifest, lanes), golden)
    assert report.mismatched_samples == [0]
    trace = res["trace"] + [res["trace"][-1]]   # a duplicated beat
    run = _decode(model, dict(res, trace=trace), manifest, lanes)
    assert any("2 trace beats" in text for text in run.problems[2])
    results = res["results"][:2]                # the last result never came
    report = reg.compare_with_golden(model, _decode(model, dict(res, results=results), manifest, lanes), golden)
    assert report.mismatched_samples == [2] and report.first_mismatch.detail == "no result"


def test_run_rtl_rejects_bad_inputs():
    model = random_hardware_model(1, (16, 12), 5)
    with pytest.raises(ConfigError):
        reg.run_rtl(model)
    with pytest.raises(ConfigError):
        reg.run_rtl(model, spikes=np.zeros((2, 5, 15), bool))
    with pytest.raises(ConfigError, match="blank"):
        reg.run_rtl(model, spikes=np.ones((2, 5, 16), bool), blank=2)


def test_cli_sim_errors(tmp_path, capsys):
    from srcfpga.cli import main

    assert main(["sim", str(tmp_path / "missing.hw"), "--dataset", "digits"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sim", str(tmp_path / "missing.hw"), "--dataset", "digits", "--gaps", "1.5"]) == 2
    assert "--gaps" in capsys.readouterr().err
    assert main(["sim", str(tmp_path / "missing.hw"), "--dataset", "digits", "--simulator", "modelsim"]) == 2


# ---- real simulations -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("segments", [1, 4])
def test_rtl_equals_golden_verilator(segments, regress):
    """A random 16 -> 12 -> 4 model (5-bit; K = 1, and K = 4 tables), on-chip encoder, random stream gaps,
    state trace: identical states and outputs at every step; a changed state word is reported by layer,
    neuron, step and name."""
    from srcfpga.hdl import HdlConfig

    model = random_hardware_model(11, (16, 12), 5, n_classes=4, encoder_generators=8, segments=segments)
    pixels = np.random.default_rng(5).integers(0, 256, (4, 16), dtype=np.uint8)
    seeds = np.arange(4) + 100
    report, rtl = regress(model, HdlConfig(input="pixels", lanes=4, trace_states=True), pixels=pixels, seeds=seeds,
                          steps=12, blank=2, backpressure=reg.Backpressure(0.6, 0.6), labels=np.zeros(4, int))
    assert report.agreement == 1.0, report.summary()
    assert not rtl.errors and not any(rtl.problems)
    assert sum(int(s.sum()) for s in rtl.spikes) > 0        # the test is not vacuous
    assert report.cycles_per_inference > 0 and rtl.sim_cycles > 4 * 14
    assert sorted(rtl.states[0]) == ["h", "hs", "i"] and rtl.states[0]["i"].any()
    rtl.states[0]["hs"][2, 9, 7] += 1
    golden = run_golden(model, pixels=pixels, seeds=seeds, steps=12, blank=2, trace=True)
    report = reg.compare_with_golden(model, rtl, golden)
    assert report.mismatched_samples == [2]
    assert report.first_mismatch.describe().startswith("state hs mismatch at sample 2, layer 0, neuron 7, step 9")


# ---- slow sweep ---------------------------------------------------------------------------------------------

def _structure(seed: int):
    """A random model + HDL config (one build), drawn from ``seed``."""
    from srcfpga.hdl import HdlConfig

    rng = np.random.default_rng(1000 + seed)
    weight_bits = 4 + seed % 5
    n_hidden = 1 + (seed // 5) % 2
    n_in = int(rng.integers(3, 70))
    hidden = tuple(int(rng.integers(2, 40)) for _ in range(n_hidden))
    n_classes = int(rng.integers(2, 11))
    kind = ("pixels", "frames")[(seed // 10) % 2]
    generators = int(rng.choice([1, 2, 4, 8, 16, 32]))
    quant = {"encoder_generators": generators, "state_frac_bits": int(rng.integers(6, 11)),
             "readout_bits": int(rng.integers(3, 9)), "readout_acc_bits": int(rng.choice([10, 12, 16, 24])),
             "segments": int(rng.choice([1, 1, 2, 4, 8, 16]))}
    model = random_hardware_model(seed, (n_in, *hidden), weight_bits, n_classes=n_classes, **quant)
    widest = max(hidden)
    lanes = None if seed % 4 == 0 else int(rng.integers(1, widest + 1))
    cfg = HdlConfig(lanes=lanes, input=kind, spikes_per_cycle=int(rng.choice([1, 2])), trace_states=True)
    return model, cfg


VARIANTS = 6       # input sets per build
STRUCTURES = 52    # builds: 52 * 6 = 312 configurations
GAPS = [reg.NO_GAPS, reg.Backpressure(0.7, 0.7), reg.Backpressure(0.4, 0.3, overlap=True), reg.Backpressure(1.0, 0.2)]


def _variant(model, cfg, structure: int, variant: int, rng: np.random.Generator) -> dict:
    """Inputs of one configuration: batch, blank/steps, spike density or pixel intensity, stream gaps."""
    batch = int(rng.integers(1, 5))
    blank, steps = int(rng.integers(0, 4)), int(rng.integers(1, 20))
    density = float(rng.choice([0.0, 0.05, 0.2, 0.5, 0.9]))
    kwargs = {"backpressure": GAPS[variant % len(GAPS)], "seed": variant}
    if cfg.input == "frames":
        frames = random_spikes(structure * 100 + variant, batch, blank + steps, model.input_size, density)
        frames[:, :blank] = False
        return kwargs | {"spikes": frames, "blank": blank}
    scale = int(255 * min(1.0, 2 * density))
    pixels = rng.integers(0, scale + 1, (batch, model.input_size)).astype(np.uint8)
    return kwargs | {"pixels": pixels, "seeds": rng.integers(0, 1 << 31, batch), "steps": steps, "blank": blank}


@pytest.mark.slow
@pytest.mark.parametrize("structure", range(STRUCTURES))
def test_sweep_rtl_equals_golden(structure, regress):
    """Every spike, readout accumulator and result of the RTL equals golden (reproduce with _structure/_variant)."""
    model, cfg = _structure(structure)
    rng = np.random.default_rng(structure)
    failures, started = [], time.perf_counter()
    for variant in range(VARIANTS):
        report, rtl = regress(model, cfg, **_variant(model, cfg, structure, variant, rng))
        if report.agreement != 1.0 or rtl.errors:
            failures.append(f"structure {structure} variant {variant}: {report.summary()} {rtl.errors[:1]}")
    print(f"structure {structure}: {model.sizes} -> {model.readout.n_classes}, {model.layers[0].weight_bits}-bit, "
          f"{cfg}, {VARIANTS} input sets in {time.perf_counter() - started:.1f} s")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("structure", [0, 1, 10, 11, 20, 31])
def test_latency_model_equals_measured_cycles(structure, regress):
    """Gap-free runs: the result's cycle counter equals srcfpga.hdl.LatencyModel fed with the golden spikes."""
    model, cfg = _structure(structure)
    rng = np.random.default_rng(structure)
    deviations = []
    for variant in range(VARIANTS):
        kwargs = _variant(model, cfg, structure, variant, rng) | {"backpressure": reg.NO_GAPS}
        report, rtl = regress(model, cfg, **kwargs)
        assert report.agreement == 1.0, report.summary()
        if report.latency_model_exact != 1.0:
            deviations.append(f"variant {variant}: measured {rtl.cycles.tolist()} model "
                              f"{report.latency_model_per_sample}")
    assert not deviations, f"structure {structure} {model.sizes} {cfg}: " + "; ".join(deviations)


@pytest.mark.slow
def test_rtl_equals_golden_icarus(icarus, regress):
    from srcfpga.hdl import HdlConfig

    model = random_hardware_model(11, (16, 12), 5, n_classes=4, encoder_generators=8)
    pixels = np.random.default_rng(5).integers(0, 256, (3, 16), dtype=np.uint8)
    report, rtl = regress(model, HdlConfig(input="pixels", lanes=4), pixels=pixels, seeds=np.arange(3) + 100,
                          steps=12, blank=2, simulator="icarus", backpressure=reg.Backpressure(0.6, 0.6))
    assert report.agreement == 1.0 and rtl.simulator == "icarus", report.summary()


@pytest.mark.slow
def test_reference_mnist_100_images(reference_dir, mnist_dir, tmp_path, regress):
    """Issue 4's must-show: the reference 784 -> 100 model, 5-bit, 100 MNIST test images, 20 + 200 steps."""
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import sample_seeds
    from srcfpga.hdl import HdlConfig
    from srcfpga.nn import import_ulg
    from srcfpga.quant import QuantConfig, quantize_net

    model = quantize_net(import_ulg(reference_dir), QuantConfig(weight_bits=5))
    data = load_dataset("mnist", "test", mnist_dir, 100)
    report, rtl = regress(model, HdlConfig(), pixels=data.images, seeds=sample_seeds(0, 0, 100), steps=200,
                          blank=20, labels=data.labels, backpressure=reg.NO_GAPS)
    print(report.summary())
    assert report.samples == 100 and report.agreement == 1.0, report.summary()


@pytest.mark.slow
def test_cli_sim_digits(tmp_path, capsys):
    import json

    from srcfpga.cli import main

    hw = tmp_path / "digits5.hw"
    assert main(["quantize", str(__import__("srcfpga").__path__[0] + "/checkpoints/digits_src.pt"),
                 "--weight-bits", "5", "-o", str(hw)]) == 0
    capsys.readouterr()
    assert main(["sim", str(hw), "--dataset", "digits", "--limit", "3", "--steps", "8", "--blank", "1",
                 "--gaps", "0.3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == SIM_KEYS and data["latency_model_exact"] is None          # gaps: not checked
    assert data["samples"] == 3 and data["agreement"] == 1.0 and data["mismatches"] == 0
    assert main(["sim", str(hw), "--dataset", "digits", "--limit", "3", "--steps", "8", "--blank", "1",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mismatches"] == 0 and data["latency_model_exact"] == 1.0


@pytest.mark.slow
def test_cli_sim_waves(tmp_path, capsys):
    """``srcfpga sim --waves DIR`` keeps an FST waveform, or where Verilator cannot write FST here a VCD
    one with one warning line saying why and how to get FST."""
    from srcfpga.cli import main
    from srcfpga.sim import simulators

    hw = tmp_path / "digits5.hw"
    assert main(["quantize", str(__import__("srcfpga").__path__[0] + "/checkpoints/digits_src.pt"),
                 "--weight-bits", "5", "-o", str(hw)]) == 0
    capsys.readouterr()
    code = main(["sim", str(hw), "--dataset", "digits", "--limit", "1", "--steps", "4", "--blank", "1",
                 "--waves", str(tmp_path / "waves")])
    out, err = capsys.readouterr()
    assert code == 0, err
    fmt, why = simulators.find_simulator("verilator").waves_format()
    assert err.splitlines() == ([f"srcfpga: warning: {why}"] if why else [])
    assert f"waveform: {tmp_path / 'waves' / f'waves.{fmt}'}" in out


@pytest.mark.slow
def test_src_on_fsdd_rtl_equals_golden_verilator(fsdd_dir, regress):
    """An SRC network on real spoken digits: theo's test takes through the integer log-mel front end and
    the 4-level row encoder (128 inputs, 50 steps), 128 -> 12 -> 10 at 4 bits, in Verilator with stream gaps:
    every spike, readout accumulator and class equals golden."""
    import torch

    from srcfpga.data import load_dataset
    from srcfpga.hdl import HdlConfig
    from srcfpga.nn.network import net_for_dataset
    from srcfpga.quant import QuantConfig, quantize_net

    test = load_dataset("fsdd", "test", fsdd_dir, speakers=("theo",))
    torch.manual_seed(0)
    net = net_for_dataset(test, "src", (12,), encoding="rows", row_levels=(96, 144, 192, 240))
    model = quantize_net(net, QuantConfig(weight_bits=4))
    assert model.encoder.front_end is not None and model.steps == 50
    frames = model.encoder.encode(test.images[:4], model.steps, model.blank)
    report, rtl = regress(model, HdlConfig(input="frames", lanes=4), spikes=frames, labels=test.labels[:4],
                          backpressure=reg.Backpressure(0.7, 0.7))
    assert report.agreement == 1.0, report.summary()
    assert not rtl.errors and rtl.spikes[0].any()
