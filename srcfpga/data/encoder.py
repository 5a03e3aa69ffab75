"""The rate encoder: pixels to Bernoulli spike frames, identical in golden model and hardware.

Specification (also in ``docs/fixed-point.md``)::

    gain_q      = round(rate_gain * 65536 / 255)            pixel 255 spikes with p ~= rate_gain
    threshold_p = pixel_p * gain_q                          (pixel in 0..255, threshold < 2^16)
    E generators, generator g seeded with  state_g = seed ^ K_g,  K_g = fmix32(g + 1) | 0x8000_0000
    (seed has 31 bits, so state_g has bit 31 set and is never zero)

    at every stimulus step, for round k = 0 .. ceil(N / 2E) - 1, every generator steps once:
        state_g = xorshift32(state_g)                       x ^= x << 13; x ^= x >> 17; x ^= x << 5
        u[2E*k + 2g]     = state_g & 0xFFFF                 (pixels past N are drawn and dropped)
        u[2E*k + 2g + 1] = state_g >> 16
    spike_p = u_p < threshold_p

Blank steps emit no spikes and do not advance the generators. In hardware, round ``k`` is one clock
cycle that turns 2E pixels into spikes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import ConfigError

SEED_BITS = 31
RANDOM_BITS = 16


def fmix32(value: int) -> int:
    """MurmurHash3's 32-bit finalizer (used only to derive the generator constants)."""
    h = value & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def generator_constant(g: int) -> int:
    """K_g, the constant XORed into the seed of generator ``g``; bit 31 is always set."""
    return fmix32(g + 1) | 0x80000000


def xorshift32(x: np.ndarray, scratch: np.ndarray) -> None:
    """One step of Marsaglia's xorshift32 on a uint32 array, in place (``scratch``: an array of the same shape)."""
    np.left_shift(x, np.uint32(13), out=scratch)
    x ^= scratch
    np.right_shift(x, np.uint32(17), out=scratch)
    x ^= scratch
    np.left_shift(x, np.uint32(5), out=scratch)
    x ^= scratch


# A round's generator states stored little-endian and read as 16-bit halves are the round's uniforms in
# pixel order: half 2g is the low half of generator g, half 2g + 1 its high half.
_STATE = np.dtype("<u4")
_UNIFORM = np.dtype("<u2")


def beat_width(generators: int) -> int:
    """Items of one hardware input beat for an encoder of ``generators`` generators: ``2 * generators``
    pixels (pixel input; each generator draws two 16-bit uniforms per cycle) or spike bits (frame input)."""
    return 2 * generators


@dataclass(frozen=True)
class RateEncoder:
    """Bernoulli rate coding with ``generators`` parallel xorshift32 generators.

    ``rate_gain``: spike probability per step of a full-intensity pixel (0 < rate_gain <= 1).
    ``generators``: E, the number of parallel generators; the hardware encodes 2E pixels per cycle.
    """

    rate_gain: float
    generators: int = 32

    def __post_init__(self) -> None:
        if not 0.0 < self.rate_gain <= 1.0:
            raise ConfigError(f"rate_gain must be in (0, 1], got {self.rate_gain}")
        if not 1 <= self.generators <= 256:
            raise ConfigError(f"encoder generators must be in 1..256, got {self.generators}")

    @property
    def gain_q(self) -> int:
        """Integer gain: threshold = pixel * gain_q, compared with a 16-bit uniform number."""
        return max(1, min(257, round(self.rate_gain * 65536 / 255)))

    @property
    def beat_width(self) -> int:
        """Pixels (or spike bits) per hardware input beat (:func:`beat_width`)."""
        return beat_width(self.generators)

    def rounds(self, n_pixels: int) -> int:
        """Generator rounds (clock cycles in hardware) per stimulus step."""
        return -(-n_pixels // self.beat_width)

    def initial_states(self, seeds: np.ndarray) -> np.ndarray:
        """Generator states ``(batch, E)`` uint32 for per-sample ``seeds`` (31-bit integers)."""
        seeds = np.asarray(seeds, dtype=np.int64)
        if seeds.ndim != 1 or np.any(seeds < 0) or np.any(seeds >= 1 << SEED_BITS):
            raise ConfigError(f"encoder seeds must be a 1-D array of {SEED_BITS}-bit integers")
        constants = np.array([generator_constant(g) for g in range(self.generators)], np.uint32)
        return seeds.astype(np.uint32)[:, None] ^ constants[None, :]

    def uniforms(self, states: np.ndarray, n_pixels: int) -> np.ndarray:
        """Advance ``states`` in place by one stimulus step; return the ``(batch, n_pixels)`` uniforms (uint16)."""
        batch, gens = states.shape
        rounds = self.rounds(n_pixels)
        out = np.empty((batch, rounds, gens), _STATE)
        x = states.astype(_STATE)
        scratch = np.empty_like(x)
        for k in range(rounds):
            xorshift32(x, scratch)
            out[:, k] = x
        states[...] = x
        return out.view(_UNIFORM).reshape(batch, rounds * gens * 2)[:, :n_pixels]

    def frames(self, pixels: np.ndarray, steps: int, blank: int, seeds: np.ndarray) -> Iterator[np.ndarray]:
        """Yield ``blank + steps`` spike frames ``(batch, n_pixels)`` bool for uint8 ``pixels``."""
        pixels = np.asarray(pixels)
        if pixels.ndim != 2 or pixels.dtype != np.uint8:
            raise ConfigError("pixels must be a (batch, n_pixels) uint8 array")
        thresholds = (pixels.astype(np.uint32) * np.uint32(self.gain_q)).astype(_UNIFORM)  # < 2^16
        states = self.initial_states(seeds)
        if len(states) != len(pixels):
            raise ConfigError(f"encoder seeds: {len(states)} given for {len(pixels)} samples (one per sample)")
        silent = np.zeros(pixels.shape, bool)
        for _ in range(blank):
            yield silent
        for _ in range(steps):
            yield self.uniforms(states, pixels.shape[1]) < thresholds

    def encode(self, pixels: np.ndarray, steps: int, blank: int, seeds: np.ndarray) -> np.ndarray:
        """All frames at once: ``(batch, blank + steps, n_pixels)`` bool."""
        return np.stack(list(self.frames(pixels, steps, blank, seeds)), axis=1)
