"""The Amaranth BMRU, CMRU and alphaCMRU networks equal the golden model bit for bit (Amaranth's simulator, small models)."""

from __future__ import annotations

import dataclasses
import gc
import json

import numpy as np
import pytest
from budget import SIMULATION, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.mru.engine import BMRULayerEngine
from srcfpga.cells.mru.layer import BMRULayerQ
from srcfpga.data.rows import RowEncoder
from srcfpga.errors import ConfigError
from srcfpga.hdl import HdlConfig, LatencyModel, generate_verilog, lint
from srcfpga.hdl.planes import PlaneCode
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_mru_net


@budget(SIMULATION)
@given(seed=st.integers(0, 2**16), variant=st.sampled_from(["full", "first"]), bits=st.integers(4, 8),
       window=st.sampled_from([0, 1, 4]), lanes=st.sampled_from([1, 2, 5]), per_cycle=st.sampled_from([1, 2, 4]),
       density=st.sampled_from([0.1, 0.5]))
def test_bmru_network_bit_exact(hdl_equals_golden, seed, variant, bits, window, lanes, per_cycle, density):
    net = random_mru_net(seed, "bmru", variant, window=window, drive=1.5)
    model = quantize_net(net, QuantConfig(weight_bits=bits))
    spikes = np.random.default_rng(seed).random((2, 10, 7)) < density
    hdl_equals_golden(model, HdlConfig(lanes=lanes, input="frames", spikes_per_cycle=per_cycle), spikes.shape[1], 0,
                      spikes=spikes)


def test_back_pressure_and_latency_model(hdl_equals_golden):
    model = quantize_net(random_mru_net(4, "bmru", sizes=(7, 12, 6)), QuantConfig(weight_bits=5))
    spikes = np.random.default_rng(1).random((2, 12, 7)) < 0.4
    config = HdlConfig(lanes=4, input="frames", spikes_per_cycle=1)
    hardware, golden = hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes)
    predicted = LatencyModel(model, config).inference_cycles(spikes, [t.spikes for t in golden.traces], 0)
    np.testing.assert_array_equal(predicted, hardware.cycles)
    hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes, stall=0.4)


@budget(SIMULATION)
@given(seed=st.integers(0, 2**16), bits=st.integers(4, 8), count_bits=st.integers(2, 6),
       sizes=st.sampled_from([(7, 6, 5), (9, 4), (5, 11, 3)]), window=st.sampled_from([0, 1, 3]),
       lanes=st.sampled_from([1, 2, 3]), per_cycle=st.sampled_from([1, 2, 4]), density=st.sampled_from([0.2, 0.6]))
def test_cmru_network_bit_exact(hdl_equals_golden, seed, bits, count_bits, sizes, window, lanes, per_cycle, density):
    net = random_mru_net(seed, "cmru", sizes=sizes, window=window, count_bits=count_bits, drive=1.5)
    model = quantize_net(net, QuantConfig(weight_bits=bits))
    spikes = np.random.default_rng(seed).random((2, 12, sizes[0])) < density
    config = HdlConfig(lanes=min(lanes, *sizes[1:]), input="frames", spikes_per_cycle=per_cycle)
    hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes)


@budget(SIMULATION)
@given(seed=st.integers(0, 2**16), bits=st.integers(4, 8), shape=st.sampled_from([(3, 0), (4, 2), (6, 2), (6, 4)]),
       sizes=st.sampled_from([(7, 6, 5), (9, 4)]), lanes=st.sampled_from([1, 2, 3]), per_cycle=st.sampled_from([1, 2, 4]),
       density=st.sampled_from([0.2, 0.6]))
def test_alphacmru_network_bit_exact(hdl_equals_golden, seed, bits, shape, sizes, lanes, per_cycle, density):
    """``shape`` = (count_bits, relax_shift): from the BMRU-like ``relax = 0`` to a 4-bit leak in 6-bit states."""
    count_bits, relax_shift = shape
    net = random_mru_net(seed, "alphacmru", sizes=sizes, count_bits=count_bits, relax_shift=relax_shift, drive=2.0)
    model = quantize_net(net, QuantConfig(weight_bits=bits))
    spikes = np.random.default_rng(seed).random((2, 12, sizes[0])) < density
    config = HdlConfig(lanes=min(lanes, *sizes[1:]), input="frames", spikes_per_cycle=per_cycle)
    hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes)


def test_cmru_counts_saturate_and_feed_a_bmru_layer(hdl_equals_golden):
    """A 3-bit counter driven hard reaches +-3 and holds there; a BMRU layer reads the counts' bit planes."""
    cmru = quantize_net(random_mru_net(3, "cmru", sizes=(6, 5, 4), count_bits=3, drive=3.0), QuantConfig(weight_bits=6))
    top = cmru.layers[1]
    bmru = BMRULayerQ(**{f.name: getattr(top, f.name) for f in dataclasses.fields(BMRULayerQ)} | {"init": top.init * 0})
    model = cmru.replace(layers=(cmru.layers[0], bmru))
    spikes = np.random.default_rng(3).random((2, 24, 6)) < 0.7
    hardware, golden = hdl_equals_golden(model, HdlConfig(lanes=2, input="frames"), spikes.shape[1], 0, spikes=spikes,
                                        stall=0.3)
    assert {-3, 3} <= set(np.unique(golden.traces[0].spikes))


def test_plane_code_columns_reproduce_the_product():
    rng = np.random.default_rng(0)
    code = PlaneCode(lanes=3, value_range=(-7, 7))
    weights, values = rng.integers(-7, 8, (4, 8)), rng.integers(-7, 8, (5, 8))
    assert (code.mask_width, code.addresses(8), code.weight_bits(4)) == (12, 35, 7)
    np.testing.assert_array_equal(code.planes(values).astype(np.int64) @ code.columns(weights).T, values @ weights.T)
    binary = PlaneCode(lanes=3)
    np.testing.assert_array_equal(binary.columns(weights), weights)
    assert (binary.mask_width, binary.addresses(8)) == (3, 8)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")     # the rejected engine is never built
def test_wrong_kind_and_row_pixels_rejected():
    cmru = quantize_net(random_mru_net(0, "cmru"), QuantConfig(weight_bits=5))
    with pytest.raises(ConfigError, match="BMRULayerEngine builds BMRULayerQ layers, got CMRULayerQ"):
        BMRULayerEngine(cmru.layers[0], 0, 2, 1, "auto")
    gc.collect()            # release the half-built engine here, inside this test's warning filter
    rows = quantize_net(random_mru_net(0, "bmru"), QuantConfig(weight_bits=5)).replace(encoder=RowEncoder(16, 7, (128,)))
    with pytest.raises(ConfigError, match="use input='frames'"):
        HdlConfig(lanes=2).resolve(rows)


@pytest.mark.parametrize("cell", ["bmru", "cmru", "alphacmru"])
def test_verilog_and_lint(tmp_path, cell):
    model = quantize_net(random_mru_net(2, cell, sizes=(7, 9, 5), window=2), QuantConfig(weight_bits=4))
    manifest = generate_verilog(model, HdlConfig(lanes=3, input="frames"), tmp_path)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert manifest["layout"]["layer_sizes"] == [9, 5]
    assert manifest["layout"]["value_bits"] == ([1, 1] if cell == "bmru" else [4, 4])
    lint(tmp_path / "srcfpga_net.v")
