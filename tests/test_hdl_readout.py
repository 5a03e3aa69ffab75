"""The HDL readout (srcfpga.hdl.readout.ReadoutEngine) with the optional leak equals the golden readout
(Amaranth simulation, every accumulator after every step), and the leak leaves the cycle model unchanged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from srcfpga.hdl import HdlConfig, LatencyModel
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_hardware_model, random_mru_net, random_spikes


@pytest.mark.parametrize("cell, window, decay_num, decay_shift", [("src", 0, 3, 3), ("cmru", 4, 1, 1)])
def test_leaky_readout_hdl_equals_golden(hdl_equals_golden, cell, window, decay_num, decay_shift):
    if cell == "src":
        model = random_hardware_model(2, (9, 6), 5, n_classes=3)
    else:    # signed counts in, negative accumulators: the floor shift of negative values
        model = quantize_net(random_mru_net(7, "cmru", sizes=(9, 6), count_bits=3, drive=3.0), QuantConfig(weight_bits=5))
    model = model.replace(readout=replace(model.readout, window=window, decay_num=decay_num, decay_shift=decay_shift))
    spikes = random_spikes(3, 2, 8, 9, 0.5)
    config = HdlConfig(lanes=4, input="frames", spikes_per_cycle=2)
    hardware, golden = hdl_equals_golden(model, config, 8, 0, spikes=spikes)
    assert (golden.readout_trace != 0).any()
    if cell == "cmru":
        assert (golden.readout_trace < 0).any()
    spikes_out = [trace.spikes for trace in golden.traces]
    latency = LatencyModel(model, config)
    np.testing.assert_array_equal(hardware.cycles, latency.inference_cycles(spikes, spikes_out, 0))
