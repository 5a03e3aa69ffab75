"""RTL vs golden for the LIF family: the cocotb network testbench under Verilator (srcfpga.sim.regression).

Default suite: ONE recurrent CubaLIF network with random stream gaps and the state trace. ``-m slow``: every kind,
recurrent or not, each reset, gap-free runs whose measured cycles must equal the cycle model.
"""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.cells.lif.layer import RESETS
from srcfpga.cells.lif.testing import random_lif_model
from srcfpga.hdl import HdlConfig
from srcfpga.sim import regression as reg
from srcfpga.testing import random_spikes


def test_recurrent_cubalif_rtl_equals_golden_verilator(regress):
    """A recurrent 16 -> 12 -> 6 -> 4 CubaLIF network (5-bit), on-chip encoder, blank steps, random stream gaps,
    state trace: identical states (``v``, ``i``) and spikes at every step, same readout and class."""
    model = random_lif_model(11, "cubalif", (16, 12, 6), 5, n_classes=4, recurrent=True, generators=4)
    pixels = np.random.default_rng(5).integers(0, 256, (4, 16), dtype=np.uint8)
    report, rtl = regress(model, HdlConfig(input="pixels", lanes=4, trace_states=True), pixels=pixels,
                          seeds=np.arange(4) + 7, steps=12, blank=2, backpressure=reg.Backpressure(0.6, 0.6),
                          labels=np.zeros(4, int))
    assert report.agreement == 1.0, report.summary()
    assert not rtl.errors and not any(rtl.problems)
    assert all(s.any() for s in rtl.spikes)                  # not vacuous
    assert sorted(rtl.states[0]) == ["i", "v"] and rtl.states[0]["i"].any()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["if", "lif", "cubalif"])
@pytest.mark.parametrize("recurrent", [False, True])
def test_lif_rtl_equals_golden_and_cycle_model(kind, recurrent, regress):
    """Gap-free runs of every reset: identical at every step, and the measured cycles equal the cycle model."""
    for index, reset in enumerate(RESETS):
        model = random_lif_model(20 + index, kind, (14, 10, 5), 4 + 2 * index, recurrent=recurrent, reset=reset)
        spikes = random_spikes(index, 3, 16, 14, 0.4)
        report, rtl = regress(model, HdlConfig(input="frames", lanes=3, spikes_per_cycle=2), spikes=spikes,
                              backpressure=reg.NO_GAPS, labels=np.zeros(3, int))
        assert report.agreement == 1.0, f"{reset}: {report.summary()}"
        assert report.latency_model_exact == 1.0, (reset, rtl.cycles.tolist(), report.latency_model_per_sample)
