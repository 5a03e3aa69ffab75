"""The audio front end: 16-bit PCM to integer log-mel features, one row of ``bands`` uint8 values per frame.

Specification (also in ``docs/fixed-point.md``, section "Audio front end")::

    x[n]       int16 samples, zero-padded / truncated to  L = (frames - 1) * hop + frame_length
    frame t    x_t[n] = x[t * hop + n],  n = 0 .. N-1          (N = frame_length)
    window     w_t[n] = (x_t[n] * HANN[n]) >> 15                HANN[n] = round(32767 * sin^2(pi n / N))
    DFT        RE[k] = (sum_n w_t[n] * COS[k, n]) >> dft_shift, IM likewise with SIN   (k = 0 .. N/2)
               COS[k, n] = round(2^14 cos(2 pi k n / N)), SIN[k, n] = round(2^14 sin(2 pi k n / N))
    power      P[k] = RE[k]^2 + IM[k]^2
    mel        E[b] = sum_k MEL[b, k] * P[k]                    MEL: triangles on the HTK mel scale, Q8
    log        L[b] = ilog2(E[b] + 1):  e = bit position of the leading one,
               L = e * 2^F + (the F bits below the leading one)  (F = log_frac_bits; e < F: shifted left)
    normalize  feature[t, b] = clamp(L[t, b] - peak + 255, 0, 255),  peak = max(255, max_{t', b'} L[t', b'])

so one feature LSB is 2^-F octave of power (F = 4: 0.19 dB) and 0..255 spans the 255 / 2^F octaves below
the utterance's loudest band (F = 4: 48 dB); the per-utterance maximum removes the recording gain (the
floor of 255 maps digital silence and zero padding, L = 0, to 0).
Every intermediate is an exact integer: |w| < 2^15, |sum| < 2^15 * 2^14 * N < 2^53 (exact in float64,
which is how numpy computes it), P < 2^(2 * (37 + log2(N/256) - dft_shift) + 1), E fits int64 (checked).

On chip (not built: the host computes the features), per frame: N multiplies for the window, a real
N-point DFT of N/2 + 1 bins (as an FFT: (N/2) log2 N butterflies, 4 real multiplies each), N/2 + 1
squares-and-adds, the mel sums (each bin feeds at most two bands: 2 * (N/2 + 1) multiply-adds), and
``bands`` leading-one detectors; the normalization needs the whole utterance (frames x bands bytes).
"""

from __future__ import annotations

import math
import wave
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DatasetError

HANN_BITS = 15
TRIG_BITS = 14
MEL_BITS = 8
FEATURE_MAX = 255


def read_wav(path: str | Path, sample_rate: int) -> np.ndarray:
    """The int16 samples of a mono 16-bit PCM WAV file recorded at ``sample_rate`` Hz."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate, count = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
            data = f.readframes(count)
    except (wave.Error, EOFError, OSError, RuntimeError) as exc:   # RuntimeError: a chunk cut short
        raise DatasetError(f"{path} is not a readable WAV file: {exc}") from None
    if channels != 1 or width != 2:
        raise DatasetError(f"{path}: expected mono 16-bit PCM, got {channels} channel(s) of {8 * width} bits")
    if rate != sample_rate:
        raise DatasetError(f"{path}: sample rate {rate} Hz, the front end expects {sample_rate} Hz")
    if len(data) != 2 * count:
        raise DatasetError(f"{path}: truncated WAV data ({len(data)} bytes for {count} samples)")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def hz_to_mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: float) -> float:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@dataclass(frozen=True)
class LogMelFrontEnd:
    """Integer log-mel front end (the module docstring is the specification).

    ``sample_rate`` Hz; ``frame_length`` and ``hop`` in samples (``frame_length`` a power of two, the
    DFT size); ``frames`` per utterance (the network's steps); ``bands`` mel bands between ``f_min`` and
    ``f_max`` Hz; ``dft_shift``: right shift of the DFT sums; ``log_frac_bits``: F, the fraction bits of
    the integer log2.
    """

    sample_rate: int = 8000
    frame_length: int = 256
    hop: int = 128
    frames: int = 50
    bands: int = 32
    f_min: int = 0
    f_max: int = 4000
    dft_shift: int = 16
    log_frac_bits: int = 4

    def __post_init__(self) -> None:
        for f in ("sample_rate", "frame_length", "hop", "frames", "bands", "f_min", "f_max", "dft_shift",
                  "log_frac_bits"):
            value = getattr(self, f)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ConfigError(f"front end {f} must be an integer, got {value!r}")
            object.__setattr__(self, f, int(value))
        n = self.frame_length
        if not 16 <= n <= 4096 or n & (n - 1):
            raise ConfigError(f"frame_length must be a power of two in 16..4096, got {n}")
        if not 1 <= self.hop <= n:
            raise ConfigError(f"hop must be in 1..frame_length ({n}), got {self.hop}")
        if not 1 <= self.frames <= 4096 or not 1 <= self.bands <= n // 2:
            raise ConfigError(f"need 1 <= frames <= 4096 and 1 <= bands <= {n // 2}")
        if not 1000 <= self.sample_rate <= 96000:
            raise ConfigError(f"sample_rate must be in 1000..96000 Hz, got {self.sample_rate}")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate // 2:
            raise ConfigError(f"need 0 <= f_min < f_max <= {self.sample_rate // 2} Hz")
        if not 0 <= self.dft_shift <= 40 or not 1 <= self.log_frac_bits <= 8:
            raise ConfigError("need 0 <= dft_shift <= 40 and 1 <= log_frac_bits <= 8")
        if self.energy_bits > 62:
            raise ConfigError(f"mel energies would need {self.energy_bits} bits (> 62): raise dft_shift")

    @property
    def samples(self) -> int:
        """Samples per utterance after padding / truncation (``L`` in the specification)."""
        return (self.frames - 1) * self.hop + self.frame_length

    @property
    def bins(self) -> int:
        return self.frame_length // 2 + 1

    @property
    def energy_bits(self) -> int:
        """Unsigned width bounding every mel energy ``E``."""
        dft_max = ((1 << HANN_BITS) * (1 << TRIG_BITS) * self.frame_length) >> self.dft_shift
        return (2 * dft_max * dft_max * int(self.mel_table.sum(axis=1).max())).bit_length()

    @cached_property
    def hann(self) -> np.ndarray:
        """HANN, ``(frame_length,)`` int64 in Q15."""
        n = np.arange(self.frame_length)
        return np.rint(32767 * np.sin(np.pi * n / self.frame_length) ** 2).astype(np.int64)

    @cached_property
    def trig(self) -> np.ndarray:
        """``(frame_length, 2 * bins)`` int64: COS then SIN columns in Q14."""
        n = np.arange(self.frame_length)[:, None]
        k = np.arange(self.bins)[None, :]
        phase = 2 * np.pi * ((n * k) % self.frame_length) / self.frame_length
        scale = 1 << TRIG_BITS
        return np.concatenate([np.rint(scale * np.cos(phase)), np.rint(scale * np.sin(phase))], 1).astype(np.int64)

    @cached_property
    def mel_table(self) -> np.ndarray:
        """MEL, ``(bands, bins)`` int64 in Q8: triangles spaced evenly on the mel scale; a band narrower
        than one bin gets weight 256 on its nearest bin (so that no band is silent)."""
        edges = [mel_to_hz(m) for m in np.linspace(hz_to_mel(self.f_min), hz_to_mel(self.f_max), self.bands + 2)]
        freqs = np.arange(self.bins) * self.sample_rate / self.frame_length
        table = np.zeros((self.bands, self.bins), np.int64)
        for b in range(self.bands):
            lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
            up = (freqs - lo) / (mid - lo)
            down = (hi - freqs) / (hi - mid)
            table[b] = np.rint((1 << MEL_BITS) * np.clip(np.minimum(up, down), 0.0, 1.0))
            if not table[b].any():
                table[b, int(np.argmin(np.abs(freqs - mid)))] = 1 << MEL_BITS
        return table

    def to_dict(self) -> dict:
        return asdict(self)

    def fit(self, samples: np.ndarray) -> np.ndarray:
        """One utterance of int16 ``samples`` zero-padded or truncated to :attr:`samples` (int64)."""
        out = np.zeros(self.samples, np.int64)
        count = min(len(samples), self.samples)
        out[:count] = samples[:count]
        return out

    def energies(self, utterances: np.ndarray) -> np.ndarray:
        """Mel energies ``E``: ``(batch, frames, bands)`` int64 for ``(batch, samples)`` fitted utterances."""
        x = np.asarray(utterances, np.int64)
        if x.ndim != 2 or x.shape[1] != self.samples:
            raise ConfigError(f"utterances must be (batch, {self.samples}) samples, got {x.shape}")
        index = np.arange(self.frames)[:, None] * self.hop + np.arange(self.frame_length)[None, :]
        windowed = (x[:, index] * self.hann) >> HANN_BITS
        # exact: every product and partial sum is an integer below 2^53 (float64 BLAS is exact there)
        flat = windowed.reshape(-1, self.frame_length).astype(np.float64)
        dft = np.rint(flat @ self.trig.astype(np.float64)).astype(np.int64) >> self.dft_shift
        power = dft[:, :self.bins] ** 2 + dft[:, self.bins:] ** 2
        return (power @ self.mel_table.T).reshape(len(x), self.frames, self.bands)

    def log2(self, energies: np.ndarray) -> np.ndarray:
        """``ilog2(E + 1)`` with ``log_frac_bits`` fraction bits (int64, same shape)."""
        f = self.log_frac_bits
        v = np.asarray(energies, np.int64) + 1
        e = np.zeros(v.shape, np.int64)
        for bit in range(1, 63):              # position of the leading one
            e += (v >> bit) > 0
        mant = np.where(e >= f, v >> np.maximum(e - f, 0), v << np.maximum(f - e, 0)) & ((1 << f) - 1)
        return (e << f) + mant

    def features(self, utterances: list[np.ndarray]) -> np.ndarray:
        """The front end's output for int16 ``utterances`` (any lengths): ``(batch, frames, bands)`` uint8."""
        level = self.log2(self.energies(np.stack([self.fit(u) for u in utterances]) if len(utterances) else
                                        np.zeros((0, self.samples), np.int64)))
        peak = np.maximum(level.max(axis=(1, 2), keepdims=True), FEATURE_MAX) if len(level) else FEATURE_MAX
        return np.clip(level - peak + FEATURE_MAX, 0, FEATURE_MAX).astype(np.uint8)
