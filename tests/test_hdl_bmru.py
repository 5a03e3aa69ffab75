"""The Amaranth BMRU network equals the golden model bit for bit (Amaranth's simulator, small models)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from srcfpga.data.rows import RowEncoder
from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, LatencyModel, generate_verilog, lint
from srcfpga.hdl.bmru_layer import BMRULayerEngine
from srcfpga.hdl.pysim import run_amaranth
from srcfpga.hdl.top import LAYER_ENGINES
from srcfpga.quant import QuantConfig, quantize_net

from test_quant_bmru import random_mru_net


def assert_equal_to_golden(model, config, spikes, **options):
    steps = spikes.shape[1]
    hardware = run_amaranth(model, config, spikes=spikes, steps=steps, blank=0, **options)
    golden = run_golden(model, spikes=spikes, trace=True)
    for index, trace in enumerate(golden.traces):
        mismatch = np.argwhere(hardware.spikes[index] != trace.spikes)
        assert not len(mismatch), f"layer {index}: first (sample, step, unit) mismatch {mismatch[0]}"
    np.testing.assert_array_equal(hardware.readout_trace, golden.readout_trace)
    np.testing.assert_array_equal(hardware.predictions, golden.predictions)
    return hardware, golden


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**16), variant=st.sampled_from(["full", "first"]), bits=st.integers(4, 8),
       window=st.sampled_from([0, 1, 4]), lanes=st.sampled_from([1, 2, 5]), per_cycle=st.sampled_from([1, 2]),
       density=st.sampled_from([0.1, 0.5]))
def test_bmru_network_bit_exact(seed, variant, bits, window, lanes, per_cycle, density):
    net = random_mru_net(seed, "bmru", variant, window=window, drive=1.5)
    model = quantize_net(net, QuantConfig(weight_bits=bits))
    spikes = np.random.default_rng(seed).random((2, 10, 7)) < density
    assert_equal_to_golden(model, HdlConfig(lanes=lanes, input="frames", spikes_per_cycle=per_cycle), spikes)


def test_back_pressure_and_latency_model():
    model = quantize_net(random_mru_net(4, "bmru", sizes=(7, 12, 6)), QuantConfig(weight_bits=5))
    spikes = np.random.default_rng(1).random((2, 12, 7)) < 0.4
    config = HdlConfig(lanes=4, input="frames", spikes_per_cycle=1)
    hardware, golden = assert_equal_to_golden(model, config, spikes)
    predicted = LatencyModel(model, config).inference_cycles(spikes, [t.spikes for t in golden.traces], 0)
    # the shared cycle model ignores FIFO back-pressure; BMRU outputs are dense (held states), measured within 7 %
    assert np.all(np.abs(predicted - hardware.cycles) <= 0.12 * hardware.cycles), (predicted, hardware.cycles)
    assert_equal_to_golden(model, config, spikes, stall=0.4)


def test_cmru_and_row_pixels_rejected():
    cmru = quantize_net(random_mru_net(0, "cmru"), QuantConfig(weight_bits=5))
    with pytest.raises(ConfigError, match="no hardware engine for 'cmru'"):
        LAYER_ENGINES["cmru"](cmru.layers[0], 0, 2, 1, "auto")
    with pytest.raises(ConfigError, match="binary inputs only"):
        BMRULayerEngine(cmru.layers[0], 0, 2, 1, "auto")
    rows = quantize_net(random_mru_net(0, "bmru"), QuantConfig(weight_bits=5)).replace(encoder=RowEncoder(16, 7, (128,)))
    with pytest.raises(ConfigError, match="use input='frames'"):
        HdlConfig(lanes=2).resolve(rows)


def test_verilog_and_lint(tmp_path):
    model = quantize_net(random_mru_net(2, "bmru", sizes=(7, 9, 5), window=2), QuantConfig(weight_bits=4))
    manifest = generate_verilog(model, HdlConfig(lanes=3, input="frames"), tmp_path)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert manifest["layout"]["layer_sizes"] == [9, 5]
    lint(tmp_path / "srcfpga_net.v")
