"""The readout (srcfpga.golden.readout.readout_step, ReadoutQ): against a scalar re-implementation of its
equation in Python integers, with and without the optional leak, bias and window; the leak's file format."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.quant import HardwareModel, ReadoutQ
from srcfpga.testing import random_hardware_model, random_spikes


def reference_readout(ro: ReadoutQ, outputs: np.ndarray) -> np.ndarray:
    """Accumulators after each step ``(T, n_classes)`` for one sample's last-layer outputs ``(T, n)``, from the
    equation: ``acc = sat(acc - floor(decay_num * acc / 2^decay_shift) + W s + b)`` over the window."""
    lo, hi = -2 ** (ro.acc_bits - 1), 2 ** (ro.acc_bits - 1) - 1
    total = len(outputs)
    acc = [0] * ro.n_classes
    after = []
    for t, s in enumerate(outputs):
        if not ro.window or t >= total - ro.window:
            for c in range(ro.n_classes):
                leak = (ro.decay_num * acc[c]) // 2 ** ro.decay_shift if ro.decay_shift else 0
                bias = 0 if ro.bias is None else int(ro.bias[c])
                acc[c] = min(max(acc[c] - leak + sum(int(w) * int(x) for w, x in zip(ro.weights[c], s)) + bias, lo), hi)
        after.append(list(acc))
    return np.array(after)


@budget(ARITHMETIC)
@given(st.integers(0, 2 ** 16), st.integers(1, 16), st.integers(0, 1 << 16), st.integers(0, 4),
       st.booleans(), st.integers(10, 20))
def test_readout_matches_reference(seed, shift, num, window, bias, acc_bits):
    model = random_hardware_model(seed % 7, (6, 5), 5, n_classes=3)
    rng = np.random.default_rng(seed)
    ro = replace(model.readout, acc_bits=acc_bits, window=window, decay_num=num % ((1 << shift) + 1),
                 decay_shift=shift, bias=rng.integers(-40, 40, 3) if bias else None)
    model = model.replace(readout=ro)
    spikes = random_spikes(seed, 2, 7, 6, 0.5)
    result = run_golden(model, spikes=spikes, trace=True)
    for sample in range(2):
        np.testing.assert_array_equal(result.readout_trace[sample],
                                      reference_readout(ro, result.traces[-1].spikes[sample]))


def test_window_counts():
    ro = random_hardware_model(1, (6, 5), 5, n_classes=3).readout
    assert [ro.counted(t, 5) for t in range(5)] == [True] * 5 and ro.counted_steps(5) == 5
    windowed = replace(ro, window=2)
    assert [windowed.counted(t, 5) for t in range(5)] == [False, False, False, True, True]
    assert windowed.counted_steps(5) == 2 and windowed.counted_steps(1) == 1


def test_leak_forgets_and_unset_leak_keeps_the_file():
    model = random_hardware_model(1, (6, 5), 5, n_classes=3)
    leaky = model.replace(readout=replace(model.readout, decay_num=1, decay_shift=1))
    assert "decay_num" not in model.to_dict()["readout"]          # unset: omitted, the hash is unchanged
    assert leaky.to_dict()["readout"]["decay_shift"] == 1 and leaky.content_hash != model.content_hash
    assert HardwareModel.from_dict(leaky.to_dict()).content_hash == leaky.content_hash
    spikes = random_spikes(0, 4, 30, 6, 0.6)
    plain, halved = (run_golden(m, spikes=spikes).readout for m in (model, leaky))
    assert np.abs(halved).sum() < np.abs(plain).sum()


@pytest.mark.parametrize("changes, message", [
    ({"decay_num": 1}, "both decay_num and decay_shift"),
    ({"decay_num": 1, "decay_shift": 0}, "decay_shift must be in 1..16"),
    ({"decay_num": 5, "decay_shift": 2}, r"decay_num must be in 0..2\^decay_shift = 4"),
    ({"decay_num": 1.5, "decay_shift": 2}, "decay_num must be an integer"),
])
def test_bad_leak_is_a_clear_error(changes, message):
    model = random_hardware_model(1, (6, 5), 5, n_classes=3)
    with pytest.raises(ConfigError, match=message):
        replace(model.readout, **changes)
