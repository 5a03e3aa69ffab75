"""The rate encoder: deterministic xorshift32 Bernoulli spikes, identical in golden model and hardware."""

from __future__ import annotations

import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.data import RateEncoder
from srcfpga.data.encoder import fmix32, generator_constant
from srcfpga.errors import ConfigError

M32 = 0xFFFFFFFF


def reference_frames(pixels: list[int], rate_gain: float, generators: int, seed: int,
                     steps: int, blank: int) -> list[list[bool]]:
    """Plain-Python transcription of the encoder specification (module docstring), one sample."""
    def mix(h):
        h ^= h >> 16
        h = (h * 0x85EBCA6B) & M32
        h ^= h >> 13
        h = (h * 0xC2B2AE35) & M32
        return h ^ (h >> 16)

    gain_q = round(rate_gain * 65536 / 255)
    thresholds = [p * gain_q for p in pixels]
    states = [seed ^ (mix(g + 1) | 0x80000000) for g in range(generators)]
    frames = [[False] * len(pixels) for _ in range(blank)]
    n, e = len(pixels), generators
    for _ in range(steps):
        u = []
        for _k in range(-(-n // (2 * e))):
            for g in range(e):
                x = states[g]
                x ^= (x << 13) & M32
                x ^= x >> 17
                x ^= (x << 5) & M32
                states[g] = x
                u += [x & 0xFFFF, x >> 16]
        frames.append([u[p] < thresholds[p] for p in range(n)])
    return frames


def test_generator_constants():
    assert fmix32(0) == 0
    for g in range(300):
        k = generator_constant(g)
        assert k >> 31 == 1 and k <= M32
    assert len({generator_constant(g) for g in range(256)}) == 256


@budget(ARITHMETIC)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=70), st.sampled_from([0.05, 0.25, 0.5, 1.0]),
       st.integers(1, 8), st.integers(0, (1 << 31) - 1), st.integers(1, 4), st.integers(0, 2))
def test_matches_the_specification(pixels, rate_gain, generators, seed, steps, blank):
    enc = RateEncoder(rate_gain, generators)
    frames = enc.encode(np.array([pixels], np.uint8), steps, blank, np.array([seed]))
    assert frames.dtype == bool and frames.shape == (1, blank + steps, len(pixels))
    expected = reference_frames(pixels, rate_gain, generators, seed, steps, blank)
    assert frames[0].tolist() == expected


def test_deterministic_and_seed_dependent():
    enc = RateEncoder(0.5, 4)
    pixels = np.random.default_rng(0).integers(0, 256, (3, 50), dtype=np.uint8)
    a = enc.encode(pixels, 10, 2, np.array([1, 2, 3]))
    b = enc.encode(pixels, 10, 2, np.array([1, 2, 3]))
    np.testing.assert_array_equal(a, b)
    c = enc.encode(pixels, 10, 2, np.array([4, 5, 6]))
    assert not np.array_equal(a, c)


def test_samples_are_independent_of_the_batch():
    enc = RateEncoder(0.25)
    pixels = np.random.default_rng(1).integers(0, 256, (4, 64), dtype=np.uint8)
    seeds = np.array([7, 100, 2**31 - 1, 0])
    batch = enc.encode(pixels, 6, 1, seeds)
    for n in range(4):
        alone = enc.encode(pixels[n:n + 1], 6, 1, seeds[n:n + 1])
        np.testing.assert_array_equal(alone[0], batch[n])


def test_blank_steps_are_silent_and_do_not_advance_the_generators():
    enc = RateEncoder(1.0, 2)
    pixels = np.full((2, 9), 255, np.uint8)
    with_blank = enc.encode(pixels, 5, 3, np.array([11, 12]))
    without = enc.encode(pixels, 5, 0, np.array([11, 12]))
    assert not with_blank[:, :3].any()
    np.testing.assert_array_equal(with_blank[:, 3:], without)
    assert without.mean() > 0.99


def test_frames_yields_the_same_as_encode():
    enc = RateEncoder(0.3, 3)
    pixels = np.arange(40, dtype=np.uint8).reshape(2, 20) * 6
    frames = list(enc.frames(pixels, 4, 2, np.array([5, 6])))
    assert len(frames) == 6 and all(f.shape == (2, 20) for f in frames)
    np.testing.assert_array_equal(np.stack(frames, axis=1), enc.encode(pixels, 4, 2, np.array([5, 6])))


@pytest.mark.parametrize("rate_gain", [0.25, 0.5, 1.0])
def test_spike_probability(rate_gain):
    enc = RateEncoder(rate_gain, 8)
    levels = np.array([0, 1, 17, 64, 128, 200, 255], np.uint8)
    pixels = np.tile(levels, 16)[None, :]                       # 16 pixels per level
    steps = 1500
    frames = enc.encode(pixels, steps, 0, np.array([12345]))[0]
    for level in map(int, levels):
        rate = frames[:, pixels[0] == level].mean()
        exact = level * enc.gain_q / 65536
        assert abs(exact - rate_gain * level / 255) <= 0.5 * level / 65536 + 1e-12
        sigma = np.sqrt(max(exact * (1 - exact), 1e-9) / (16 * steps))
        assert abs(rate - exact) < 5 * sigma + 1e-3, (level, rate, exact)


def test_pixel_zero_never_spikes():
    enc = RateEncoder(1.0, 1)
    pixels = np.zeros((3, 30), np.uint8)
    pixels[:, ::2] = 255
    frames = enc.encode(pixels, 300, 0, np.array([0, 1, 2**31 - 1]))
    assert not frames[:, :, 1::2].any()
    assert frames[:, :, ::2].mean() > 0.99


def test_gain_and_rounds():
    assert RateEncoder(0.25).gain_q == 64
    assert RateEncoder(1.0).gain_q == 257                # 255 * 257 = 65535 < 2^16
    assert RateEncoder(1e-6).gain_q == 1
    enc = RateEncoder(0.25, 32)
    assert enc.rounds(784) == 13 and enc.rounds(64) == 1 and enc.rounds(65) == 2


@pytest.mark.parametrize("rate_gain", [0.0, -0.1, 1.01])
def test_bad_rate_gain(rate_gain):
    with pytest.raises(ConfigError, match="rate_gain must be in"):
        RateEncoder(rate_gain)


@pytest.mark.parametrize("generators", [0, 257])
def test_bad_generators(generators):
    with pytest.raises(ConfigError, match="generators must be in 1..256"):
        RateEncoder(0.5, generators)


@pytest.mark.parametrize("pixels", [
    np.zeros(10, np.uint8),                 # 1-D
    np.zeros((2, 3, 4), np.uint8),          # 3-D
    np.zeros((2, 10), np.float32),          # not uint8
    np.zeros((2, 10), np.int64),
])
def test_pixel_shape_errors(pixels):
    with pytest.raises(ConfigError, match=r"pixels must be a \(batch, n_pixels\) uint8 array"):
        RateEncoder(0.5).encode(pixels, 2, 0, np.zeros(len(pixels), np.int64))


@pytest.mark.parametrize("seeds", [
    np.array([-1, 0]), np.array([0, 1 << 31]), np.zeros((2, 1), np.int64),
    np.array([0]), np.array([0, 1, 2]),     # one seed per sample
])
def test_seed_errors(seeds):
    with pytest.raises(ConfigError, match="seeds"):
        RateEncoder(0.5).encode(np.zeros((2, 10), np.uint8), 2, 0, seeds)
