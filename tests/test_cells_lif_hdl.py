"""The Amaranth LIF-family layers (IF, LIF, CubaLIF; recurrent or not; every reset) equal the golden model bit for
bit, and the cycle model equals the simulated cycles (Amaranth's simulator, small models)."""

from __future__ import annotations

import numpy as np
import pytest
from budget import SIMULATION, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.lif.layer import RESETS
from srcfpga.cells.lif.testing import random_lif_model
from srcfpga.errors import ToolNotFoundError
from srcfpga.hdl import HdlConfig, LatencyModel, generate_verilog, lint

KINDS = ("if", "lif", "cubalif")


@budget(SIMULATION)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(KINDS), recurrent=st.booleans(),
       reset=st.sampled_from(RESETS), bits=st.integers(4, 8), sizes=st.sampled_from([(9, 7, 5), (6, 4), (5, 11, 3)]),
       lanes=st.sampled_from([1, 2, 3]), per_cycle=st.sampled_from([1, 2, 4]), density=st.sampled_from([0.2, 0.6]))
def test_lif_network_bit_exact(hdl_equals_golden, seed, kind, recurrent, reset, bits, sizes, lanes, per_cycle,
                               density):
    """Every state word (``v``, ``i``), spike, readout accumulator and class; and the cycle model's cycles."""
    model = random_lif_model(seed, kind, sizes, bits, recurrent=recurrent, reset=reset)
    spikes = np.random.default_rng(seed).random((2, 8, sizes[0])) < density
    config = HdlConfig(lanes=min(lanes, *sizes[1:]), input="frames", spikes_per_cycle=per_cycle)
    hardware, golden = hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes)
    predicted = LatencyModel(model, config).inference_cycles(spikes, [t.spikes for t in golden.traces], 0)
    np.testing.assert_array_equal(predicted, hardware.cycles)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_pixels_back_pressure_and_saturation(hdl_equals_golden, kind):
    """A recurrent layer behind the on-chip encoder, with blank steps and stream gaps; the membrane saturates."""
    model = random_lif_model(7, kind, (12, 6, 4), 6, recurrent=True, generators=2)
    pixels = np.random.default_rng(2).integers(0, 256, (2, 12), dtype=np.uint8)
    hardware, golden = hdl_equals_golden(model, HdlConfig(lanes=4, input="pixels"), 10, 2, pixels=pixels,
                                        seeds=np.array([3, 4]), stall=0.3)
    v = golden.traces[0].v
    assert golden.traces[0].spikes.any() and golden.traces[0].spikes[:, 2:].mean() < 1
    assert v.min() == model.layers[0].v_range[0] or v.max() == model.layers[0].v_range[1]


@pytest.mark.parametrize("steps", [1, 2])
def test_short_inferences_and_mixed_recurrence(hdl_equals_golden, steps):
    """One- and two-step inferences, one after the other (no own spikes left over from the previous inference),
    a feed-forward layer below a recurrent one; cycle model exact."""
    model = random_lif_model(4, "lif", (8, 6, 5), 6, recurrent=True)
    model = model.replace(layers=(random_lif_model(4, "lif", (8, 6), 6).layers[0], model.layers[1]))
    spikes = np.random.default_rng(steps).random((3, steps, 8)) < 0.6
    config = HdlConfig(lanes=2, input="frames", spikes_per_cycle=1)
    hardware, golden = hdl_equals_golden(model, config, steps, 0, spikes=spikes)
    assert golden.traces[1].spikes.any()
    predicted = LatencyModel(model, config).inference_cycles(spikes, [t.spikes for t in golden.traces], 0)
    np.testing.assert_array_equal(predicted, hardware.cycles)


@pytest.mark.parametrize("pack_masks", [False, True])
@pytest.mark.parametrize("kind", ["lif", "cubalif"])
def test_recurrent_layers_with_mask_packing(hdl_equals_golden, kind, pack_masks):
    """Two recurrent layers, lanes not dividing the layer sizes, the extractors packing a step's spikes across
    masks (``pack_masks``) or not: every state word equals golden and the cycle model is exact; dense inputs so
    that beats take spikes from several masks, and the own spikes come back every step."""
    model = random_lif_model(3, kind, (9, 7, 5), 5, recurrent=True)
    spikes = np.random.default_rng(3).random((2, 6, 9)) < 0.7
    config = HdlConfig(lanes=2, input="frames", spikes_per_cycle=2, pack_masks=pack_masks)
    hardware, golden = hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes)
    assert all(trace.spikes[:, :-1].any() for trace in golden.traces)
    predicted = LatencyModel(model, config).inference_cycles(spikes, [t.spikes for t in golden.traces], 0)
    np.testing.assert_array_equal(predicted, hardware.cycles)


def test_recurrence_matters():
    """The recurrent weights change the spikes (so the equality above is not vacuous for them)."""
    from dataclasses import replace

    from srcfpga.golden import run_golden

    model = random_lif_model(5, "lif", (8, 6), 6, recurrent=True)
    spikes = np.random.default_rng(0).random((4, 12, 8)) < 0.4
    layer = model.layers[0]
    silent = model.replace(layers=(replace(layer, recurrent=np.zeros_like(layer.recurrent)),))
    assert (run_golden(model, spikes=spikes, trace=True).traces[0].spikes
            != run_golden(silent, spikes=spikes, trace=True).traces[0].spikes).any()


def test_lif_verilog_and_lint(tmp_path):
    """A recurrent CubaLIF network converts to Verilog that Verilator lints clean."""
    model = random_lif_model(1, "cubalif", (10, 6, 3), 5, recurrent=True)
    manifest = generate_verilog(model, HdlConfig(lanes=2, input="frames", trace_states=True), tmp_path)
    assert manifest["top"] == "srcfpga_net"
    try:
        lint(tmp_path / "srcfpga_net.v")
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


# ---- mutants: each boundary of the LIF arithmetic is visited and checked -------------------------------------

def _boundary_case():
    """A recurrent 9 -> 6 -> 4 CubaLIF network (6-bit) on dense frames: ``v`` and ``i`` saturate at both ends, and
    one neuron's threshold is moved onto a value its membrane reaches as a running maximum (its trajectory up to
    there is unchanged), so ``v == threshold`` occurs: strict and inclusive comparisons differ."""
    from dataclasses import replace

    from srcfpga.golden import run_golden

    model = random_lif_model(0, "cubalif", (9, 6, 4), 6, recurrent=True, reset="subtract")
    spikes = np.random.default_rng(0).random((2, 12, 9)) < 0.6
    layer = model.layers[0]
    v = run_golden(model, spikes=spikes, trace=True).traces[0].v[0]
    neuron, step = next((n, t) for n in range(layer.n_out) for t in range(len(v))
                        if 0 < v[t, n] < layer.v_range[1] and v[t, n] == v[:t + 1, n].max())
    threshold = layer.threshold.copy()
    threshold[neuron] = v[step, neuron]
    return model.replace(layers=(replace(layer, threshold=threshold), *model.layers[1:])), spikes


def test_boundary_case_reaches_the_boundaries():
    from srcfpga.golden import run_golden

    model, spikes = _boundary_case()
    layer, trace = model.layers[0], run_golden(model, spikes=spikes, trace=True).traces[0]
    assert (trace.v == layer.v_range[0]).any() and (trace.v == layer.v_range[1]).any()
    assert (trace.i == layer.current_range[0]).any() and (trace.i == layer.current_range[1]).any()
    assert (trace.v == layer.threshold).any()


MUTANTS = {
    "spike > -> >=": ("neuron", "return words, v > mid.threshold", "return words, v >= mid.threshold"),
    "reset > -> >=": ("neuron", "r = old.v > params.threshold", "r = old.v >= params.threshold"),
    "v saturation hi - 1": ("neuron", "v = clamp(mid.lv + mid.drive, *q.v_range)",
                            "v = clamp(mid.lv + mid.drive, q.v_range[0], q.v_range[1] - 1)"),
    "i saturation lo + 1": ("neuron", "drive, *q.current_range)", "drive, q.current_range[0] + 1, q.current_range[1])"),
    "leak shift + 1": ("neuron", "return value - (product >> shift)", "return value - (product >> (shift + 1))"),
    "weight shift + 1": ("neuron", "drive = (syn << q.weight_shift)", "drive = (syn << (q.weight_shift + 1))"),
    "feedback address offset": ("feedback", "own.payload.base + self.n_in", "own.payload.base + self.n_in - 1"),
    "feedback in the last step": ("update_pass", "(tag3.step != self.steps - 1)", "(tag3.step != self.steps)"),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught(name, mutate, hdl_equals_golden):
    from srcfpga.cells.lif import neuron
    from srcfpga.hdl import feedback, update_pass

    module, old, new = MUTANTS[name]
    mutate({"neuron": neuron, "feedback": feedback, "update_pass": update_pass}[module], old, new)
    model, spikes = _boundary_case()
    with pytest.raises(AssertionError):
        hdl_equals_golden(model, HdlConfig(lanes=4, input="frames", spikes_per_cycle=2), spikes.shape[1], 0,
                          spikes=spikes)


def test_boundary_case_passes_unmutated(hdl_equals_golden):
    model, spikes = _boundary_case()
    hdl_equals_golden(model, HdlConfig(lanes=4, input="frames", spikes_per_cycle=2), spikes.shape[1], 0, spikes=spikes)
