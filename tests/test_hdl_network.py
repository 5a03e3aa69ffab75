"""The Amaranth network equals the golden model bit for bit (Amaranth's simulator, small models)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig
from srcfpga.hdl.pysim import run_amaranth
from srcfpga.testing import random_hardware_model, random_spikes


def assert_equal_to_golden(model, config, steps, blank, *, spikes=None, pixels=None, seeds=None, **options):
    inputs = {"spikes": spikes} if spikes is not None else {"pixels": pixels, "seeds": seeds}
    hardware = run_amaranth(model, config, steps=steps, blank=blank, **inputs, **options)
    golden = run_golden(model, steps=steps, blank=blank, trace=True, **inputs)
    for index, trace in enumerate(golden.traces):
        mismatch = np.argwhere(hardware.spikes[index] != trace.spikes)
        assert not len(mismatch), f"layer {index}: first (sample, step, neuron) mismatch {mismatch[0]}"
    np.testing.assert_array_equal(hardware.readout_trace, golden.readout_trace)
    np.testing.assert_array_equal(hardware.readout, golden.readout)
    np.testing.assert_array_equal(hardware.predictions, golden.predictions)
    return hardware, golden


FRAME_CASES = dict(seed=st.integers(0, 2**16), weight_bits=st.integers(4, 8),
                   sizes=st.sampled_from([(12, 7), (20, 16), (9, 5, 6), (70, 10)]),
                   lanes=st.sampled_from([1, 2, 4, 5]), per_cycle=st.sampled_from([1, 2, 4]),
                   density=st.sampled_from([0.05, 0.3, 0.6]), segments=st.sampled_from([1, 1, 3, 8, 16]))
PIXEL_CASES = dict(seed=st.integers(0, 2**16), weight_bits=st.integers(4, 8),
                   sizes=st.sampled_from([(16, 8), (100, 12), (30, 9, 4)]), lanes=st.sampled_from([2, 4, 8]))


def check_spike_frames(seed, weight_bits, sizes, lanes, per_cycle, density, segments):
    model = random_hardware_model(seed, sizes, weight_bits, n_classes=3, segments=segments)
    config = HdlConfig(lanes=lanes, input="frames", spikes_per_cycle=per_cycle)
    assert_equal_to_golden(model, config, steps=5, blank=1, spikes=random_spikes(seed, 2, 6, sizes[0], density))


def check_pixel_encoder(seed, weight_bits, sizes, lanes):
    model = random_hardware_model(seed, sizes, weight_bits, n_classes=4)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (2, sizes[0]), dtype=np.uint8)
    assert_equal_to_golden(model, HdlConfig(lanes=min(lanes, min(sizes[1:]))), steps=4, blank=2, pixels=pixels,
                           seeds=rng.integers(0, 2**31, 2))


test_spike_frames_bit_exact = settings(max_examples=6, deadline=None)(given(**FRAME_CASES)(check_spike_frames))
test_pixel_encoder_bit_exact = settings(max_examples=3, deadline=None)(given(**PIXEL_CASES)(check_pixel_encoder))
test_spike_frames_bit_exact_many = pytest.mark.slow(
    settings(max_examples=100, deadline=None)(given(**FRAME_CASES)(check_spike_frames)))
test_pixel_encoder_bit_exact_many = pytest.mark.slow(
    settings(max_examples=40, deadline=None)(given(**PIXEL_CASES)(check_pixel_encoder)))


def test_four_spikes_per_cycle_bit_exact():
    """k = 4 reads two copies of each weight ROM: a dense 70-input layer, masks of up to 70 spikes."""
    check_spike_frames(seed=11, weight_bits=5, sizes=(70, 10), lanes=4, per_cycle=4, density=0.6, segments=1)


def test_back_pressure_loses_nothing():
    model = random_hardware_model(3, (24, 10), 5)
    spikes = random_spikes(4, 2, 8, 24, 0.3)
    assert_equal_to_golden(model, HdlConfig(lanes=4, input="frames"), steps=6, blank=2, spikes=spikes, stall=0.5)


def test_reset_in_mid_inference_loses_nothing():
    model = random_hardware_model(5, (16, 8), 6)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 16), dtype=np.uint8)
    assert_equal_to_golden(model, HdlConfig(lanes=4), steps=5, blank=1, pixels=pixels, seeds=np.array([1, 2]),
                           reset_after=23)


@pytest.mark.parametrize("options, message", [
    ({"lanes": 0}, "lanes"), ({"memory": "flash"}, "memory style"), ({"input": "audio"}, "input"),
    ({"spikes_per_cycle": 3}, "spikes_per_cycle")])
def test_config_validation(options, message):
    with pytest.raises(ConfigError, match=message):
        HdlConfig(**options)


def test_lanes_wider_than_layers_rejected():
    with pytest.raises(ConfigError, match="exceeds the widest layer"):
        HdlConfig(lanes=64).resolve(random_hardware_model(0, (8, 6), 5))
