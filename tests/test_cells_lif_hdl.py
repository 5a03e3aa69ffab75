"""The Amaranth LIF-family layers (IF, LIF, CubaLIF; recurrent or not; every reset) equal the golden model bit for
bit, and the cycle model equals the simulated cycles (Amaranth's simulator, small models)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srcfpga.cells.lif.layer import RESETS
from srcfpga.cells.lif.testing import random_lif_model
from srcfpga.errors import ToolNotFoundError
from srcfpga.hdl import HdlConfig, LatencyModel, generate_verilog, lint

KINDS = ("if", "lif", "cubalif")


@settings(max_examples=10)
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
