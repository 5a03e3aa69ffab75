"""The Amaranth network equals the golden model bit for bit (Amaranth's simulator, small models)."""

import numpy as np
import pytest
from budget import LONG_SIMULATION, SIMULATION, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.errors import ConfigError
from srcfpga.hdl import HdlConfig
from srcfpga.testing import random_hardware_model, random_spikes

FRAME_CASES = dict(seed=st.integers(0, 2**16), weight_bits=st.integers(2, 8),
                   sizes=st.sampled_from([(12, 7), (20, 16), (9, 5, 6), (70, 10)]),
                   lanes=st.sampled_from([1, 2, 4, 5]), per_cycle=st.sampled_from([1, 2, 4]),
                   density=st.sampled_from([0.05, 0.3, 0.6]), segments=st.sampled_from([1, 1, 3, 8, 16]),
                   memory=st.sampled_from(["auto", "block", "distributed"]), pack=st.booleans())
PIXEL_CASES = dict(seed=st.integers(0, 2**16), weight_bits=st.integers(4, 8),
                   sizes=st.sampled_from([(16, 8), (100, 12), (30, 9, 4)]), lanes=st.sampled_from([2, 4, 8]))


def check_spike_frames(hdl_equals_golden, seed, weight_bits, sizes, lanes, per_cycle, density, segments, memory, pack):
    model = random_hardware_model(seed, sizes, weight_bits, n_classes=3, segments=segments)
    config = HdlConfig(lanes=lanes, input="frames", spikes_per_cycle=per_cycle, memory=memory, pack_masks=pack)
    hdl_equals_golden(model, config, steps=5, blank=1, spikes=random_spikes(seed, 2, 6, sizes[0], density))


def check_pixel_encoder(hdl_equals_golden, seed, weight_bits, sizes, lanes):
    model = random_hardware_model(seed, sizes, weight_bits, n_classes=4)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (2, sizes[0]), dtype=np.uint8)
    hdl_equals_golden(model, HdlConfig(lanes=min(lanes, min(sizes[1:]))), steps=4, blank=2, pixels=pixels,
                      seeds=rng.integers(0, 2**31, 2))


# the same properties in the slow suite, where the slow profile's budget is 8x and its examples random
test_spike_frames_bit_exact = budget(SIMULATION)(given(**FRAME_CASES)(check_spike_frames))
test_pixel_encoder_bit_exact = budget(LONG_SIMULATION)(given(**PIXEL_CASES)(check_pixel_encoder))
test_spike_frames_bit_exact_many = pytest.mark.slow(budget(SIMULATION)(given(**FRAME_CASES)(check_spike_frames)))
test_pixel_encoder_bit_exact_many = pytest.mark.slow(
    budget(LONG_SIMULATION)(given(**PIXEL_CASES)(check_pixel_encoder)))


@pytest.mark.parametrize("pack", [False, True])
def test_four_spikes_per_cycle_bit_exact(hdl_equals_golden, pack):
    """k = 4 reads two copies of each weight ROM: a dense 70-input layer, masks of up to 70 spikes; with
    ``pack_masks`` a beat takes spikes from two masks."""
    check_spike_frames(hdl_equals_golden, seed=11, weight_bits=5, sizes=(70, 10), lanes=4, per_cycle=4, density=0.6,
                       segments=1, memory="auto", pack=pack)


@pytest.mark.parametrize("pack", [False, True])
def test_back_pressure_loses_nothing(hdl_equals_golden, pack):
    model = random_hardware_model(3, (24, 10), 5)
    spikes = random_spikes(4, 2, 8, 24, 0.3)
    hdl_equals_golden(model, HdlConfig(lanes=4, input="frames", pack_masks=pack), steps=6, blank=2, spikes=spikes,
                      stall=0.5)


def test_reset_in_mid_inference_loses_nothing(hdl_equals_golden):
    model = random_hardware_model(5, (16, 8), 6)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 16), dtype=np.uint8)
    hdl_equals_golden(model, HdlConfig(lanes=4), steps=5, blank=1, pixels=pixels, seeds=np.array([1, 2]),
                      reset_after=23)


@pytest.mark.parametrize("options, message", [
    ({"lanes": 0}, "lanes"), ({"memory": "flash"}, "memory style"), ({"input": "audio"}, "input"),
    ({"spikes_per_cycle": 3}, "spikes_per_cycle"), ({"trace_states": 1}, "trace_states"),
    ({"pack_masks": 1}, "pack_masks")])
def test_config_validation(options, message):
    with pytest.raises(ConfigError, match=message):
        HdlConfig(**options)


def test_board_core_refuses_the_state_trace():
    from srcfpga.boards.core import NetworkCore

    with pytest.raises(ConfigError, match="trace_states"):
        NetworkCore(random_hardware_model(0, (8, 6), 5), HdlConfig(trace_states=True))


def test_lanes_wider_than_layers_rejected():
    with pytest.raises(ConfigError, match="exceeds the widest layer"):
        HdlConfig(lanes=64).resolve(random_hardware_model(0, (8, 6), 5))
