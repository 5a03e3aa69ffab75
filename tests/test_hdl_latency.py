"""The cycle model (srcfpga.hdl.LatencyModel) equals the Amaranth simulation's cycle counter exactly."""

import numpy as np
import pytest
from budget import LONG_SIMULATION, SIMULATION, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, LatencyModel
from srcfpga.hdl.latency import mask_popcounts, step_beats
from srcfpga.hdl.pysim import run_amaranth
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_hardware_model, random_mru_net


def assert_model_exact(model, config, steps, blank, frames, **inputs):
    hardware = run_amaranth(model, config, steps=steps, blank=blank, **inputs)
    golden = run_golden(model, steps=steps, blank=blank, trace=True, **inputs)
    predicted = LatencyModel(model, config).inference_cycles(frames, [t.spikes for t in golden.traces], blank)
    np.testing.assert_array_equal(predicted, hardware.cycles)


@budget(LONG_SIMULATION)
@given(seed=st.integers(0, 2**16), sizes=st.sampled_from([(40, 24), (70, 20, 10), (20, 3), (9, 5, 6, 4)]),
       lanes=st.sampled_from([1, 2, 4, 8]), per_cycle=st.sampled_from([1, 2, 4]), generators=st.sampled_from([2, 4, 16]),
       steps=st.integers(1, 10), blank=st.integers(0, 3), pack=st.booleans())
def test_pixel_input(seed, sizes, lanes, per_cycle, generators, steps, blank, pack):
    model = random_hardware_model(seed, sizes, 5, n_classes=3, encoder_generators=generators)
    config = HdlConfig(lanes=min(lanes, max(sizes[1:])), spikes_per_cycle=per_cycle, pack_masks=pack)
    rng = np.random.default_rng(seed)
    pixels, seeds = rng.integers(0, 256, (2, sizes[0]), dtype=np.uint8), np.array([seed, seed + 1])
    frames = model.encoder.encode(pixels, steps, blank, seeds)
    assert_model_exact(model, config, steps, blank, frames, pixels=pixels, seeds=seeds)


@budget(SIMULATION)
@given(seed=st.integers(0, 2**16), cell=st.sampled_from(["src", "bmru", "cmru", "alphacmru"]),
       sizes=st.sampled_from([(12, 7), (30, 6, 5), (7, 12, 6)]), lanes=st.sampled_from([1, 2, 4]),
       per_cycle=st.sampled_from([1, 2, 4]), density=st.sampled_from([0.02, 0.3, 0.7]), steps=st.integers(1, 8),
       pack=st.booleans())
def test_frame_input(seed, cell, sizes, lanes, per_cycle, density, steps, pack):
    if cell == "src":
        model = random_hardware_model(seed, sizes, 6, n_classes=3)
    else:
        model = quantize_net(random_mru_net(seed, cell, sizes=sizes), QuantConfig(weight_bits=5))
    config = HdlConfig(lanes=lanes, input="frames", spikes_per_cycle=per_cycle, pack_masks=pack)
    frames = np.random.default_rng(seed).random((2, steps, sizes[0])) < density
    assert_model_exact(model, config, steps, 0, frames, spikes=frames)


def test_popcounts_and_beats():
    spikes = np.zeros((1, 2, 10), bool)
    spikes[0, 0, [0, 1, 2, 9]] = True
    np.testing.assert_array_equal(mask_popcounts(spikes, 4), [[[3, 0, 1], [0, 0, 0]]])
    np.testing.assert_array_equal(step_beats(mask_popcounts(spikes, 4), 2), [[3, 1]])        # 2 + 1 beats, one empty beat
    np.testing.assert_array_equal(step_beats(mask_popcounts(spikes, 4), 2, pack=True), [[2, 1]])   # 4 spikes packed


def test_silent_input_costs_the_source_rounds():
    """Without spikes the encoder's R rounds set the pace: every further step costs exactly R cycles."""
    model = random_hardware_model(0, (64, 8), 5, encoder_generators=4)
    latency = LatencyModel(model, HdlConfig(lanes=8, spikes_per_cycle=1))

    def silent(steps):
        return latency.inference_cycles(np.zeros((1, steps, 64), bool), [np.zeros((1, steps, 8), bool)], 0)[0]

    assert latency.rounds == 8
    assert silent(100) - silent(50) == 50 * latency.rounds


@pytest.mark.parametrize("pack", [False, True])
@pytest.mark.parametrize("input_kind", ["pixels", "frames"])
def test_four_spikes_per_cycle(input_kind, pack):
    """k = 4 (two copies of each weight ROM): the cycle model equals the simulation."""
    model = random_hardware_model(7, (70, 20, 10), 5, n_classes=3, encoder_generators=4)
    rng = np.random.default_rng(7)
    pixels, seeds = rng.integers(0, 256, (2, 70), dtype=np.uint8), np.array([3, 4])
    frames = model.encoder.encode(pixels, 6, 1, seeds)
    inputs = {"pixels": pixels, "seeds": seeds} if input_kind == "pixels" else {"spikes": frames}
    config = HdlConfig(lanes=4, input=input_kind, spikes_per_cycle=4, pack_masks=pack)
    assert_model_exact(model, config, 6, 1, frames, **inputs)
