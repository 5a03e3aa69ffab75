"""The integer log-mel front end (srcfpga.data.audio): WAV reading, exact integer pipeline, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srcfpga.data.audio import LogMelFrontEnd, read_wav
from srcfpga.errors import ConfigError, DatasetError

SMALL = LogMelFrontEnd(frame_length=32, hop=16, frames=6, bands=4, dft_shift=12)


def test_read_wav_returns_int16_samples(tmp_path, wav_writer):
    samples = np.array([0, 1, -1, 32767, -32768], np.int16)
    assert np.array_equal(read_wav(wav_writer(tmp_path / "a.wav", samples), 8000), samples)


@pytest.mark.parametrize("kwargs, message", [
    ({"rate": 16000}, "sample rate 16000 Hz"),
    ({"channels": 2}, "expected mono 16-bit"),
    ({"width": 1}, "expected mono 16-bit"),
])
def test_read_wav_rejects_other_formats(tmp_path, wav_writer, kwargs, message):
    path = wav_writer(tmp_path / "x.wav", np.zeros(64, np.int16), **kwargs)
    with pytest.raises(DatasetError, match=message):
        read_wav(path, 8000)


def test_read_wav_rejects_corrupt_and_truncated_files(tmp_path, wav_writer):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF1234WAVEnot a wav file")
    with pytest.raises(DatasetError, match="not a readable WAV"):
        read_wav(garbage, 8000)
    whole = wav_writer(tmp_path / "whole.wav", np.arange(100, dtype=np.int16)).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:-20])
    with pytest.raises(DatasetError, match="truncated|not a readable"):
        read_wav(cut, 8000)


def test_ilog2_is_leading_one_and_fraction_bits():
    fe = LogMelFrontEnd(log_frac_bits=4)
    values = np.array([0, 1, 2, 3, 15, 16, 17, 1000, (1 << 40) + (1 << 37), (1 << 62) - 2])
    got = fe.log2(values)
    for v, g in zip(values, got):
        v = int(v) + 1
        e = v.bit_length() - 1
        mant = (v >> (e - 4)) & 15 if e >= 4 else (v << (4 - e)) & 15
        assert g == 16 * e + mant
        assert abs(g / 16 - math.log2(v)) < 0.09     # the piecewise-linear log2 error bound


def _reference_energies(fe: LogMelFrontEnd, samples: np.ndarray) -> np.ndarray:
    """The specification in Python integers (no float anywhere)."""
    x = [int(v) for v in fe.fit(samples)]
    hann, trig, mel = fe.hann.tolist(), fe.trig.tolist(), fe.mel_table.tolist()
    out = []
    for t in range(fe.frames):
        w = [(x[t * fe.hop + n] * hann[n]) >> 15 for n in range(fe.frame_length)]
        sums = [sum(w[n] * trig[n][k] for n in range(fe.frame_length)) >> fe.dft_shift for k in range(2 * fe.bins)]
        power = [sums[k] ** 2 + sums[fe.bins + k] ** 2 for k in range(fe.bins)]
        out.append([sum(m * p for m, p in zip(row, power)) for row in mel])
    return np.array(out, dtype=np.int64)


def test_energies_equal_the_integer_specification():
    rng = np.random.default_rng(1)
    for samples in (rng.integers(-32768, 32768, 200).astype(np.int16), np.full(50, 32767, np.int16),
                    np.full(120, -32768, np.int16)):
        assert np.array_equal(SMALL.energies(SMALL.fit(samples)[None])[0], _reference_energies(SMALL, samples))


def test_energy_width_bound_holds_at_full_scale():
    fe = LogMelFrontEnd()
    loud = np.where(np.arange(fe.samples) % 2, 32767, -32768).astype(np.int16)   # energy at Nyquist
    assert int(fe.energies(loud[None]).max()) < 1 << fe.energy_bits


def test_a_tone_peaks_in_its_band(tone):
    fe = LogMelFrontEnd()
    features = fe.features([tone(1000.0)])[0]
    assert features.shape == (fe.frames, fe.bands) and features.dtype == np.uint8
    centres = [b for b in range(fe.bands) if fe.mel_table[b, round(1000 * fe.frame_length / fe.sample_rate)]]
    assert int(np.argmax(features[10])) in centres
    assert features[10].max() == 255


def test_gain_is_normalized_and_padding_is_silent(tone):
    fe = LogMelFrontEnd()
    quiet, loud = fe.features([tone(700.0, 0.4, 1000), tone(700.0, 0.4, 16000)])
    assert np.abs(quiet.astype(int) - loud.astype(int)).max() <= 2      # rounding only
    last_voiced = (int(0.4 * 8000) - fe.frame_length) // fe.hop
    assert not quiet[last_voiced + 3:].any()                            # zero padding maps to 0
    assert not fe.features([np.zeros(100, np.int16)]).any()             # digital silence too


def test_long_utterances_are_truncated(tone):
    fe = LogMelFrontEnd()
    a, b = fe.features([tone(500.0, 0.9), tone(500.0, 2.0)])
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kwargs", [
    {"frame_length": 100}, {"hop": 0}, {"hop": 512}, {"bands": 0}, {"bands": 200}, {"frames": 0},
    {"f_max": 5000}, {"f_min": 4000}, {"dft_shift": 0}, {"log_frac_bits": 0}, {"frames": 2.5},
])
def test_invalid_front_ends_are_rejected(kwargs):
    with pytest.raises(ConfigError):
        LogMelFrontEnd(**kwargs)


def test_every_band_has_weight():
    for bands in (8, 32, 64):
        assert LogMelFrontEnd(bands=bands).mel_table.sum(axis=1).min() > 0
