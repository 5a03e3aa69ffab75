"""The LIF-family golden step against a scalar reference written from docs/fixed-point.md (section 7), and the
layer contract (validation, serialization)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells import CELLS
from srcfpga.cells.lif.layer import RESETS
from srcfpga.cells.lif.testing import random_lif_layer, random_lif_model
from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.quant import HardwareModel


def _sat(value: int, bits: int) -> int:
    return min(max(value, -(1 << (bits - 1))), (1 << (bits - 1)) - 1)


def reference_layer(layer, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spikes, v and i ``(T, n_out)`` of one layer for boolean ``frames`` ``(T, n_in)``: Python integers, one
    neuron at a time, the equations of docs/fixed-point.md section 7 read literally."""
    steps, n_out = len(frames), layer.n_out
    v, i, s_prev = [0] * n_out, [0] * n_out, [0] * n_out
    out = np.zeros((3, steps, n_out), np.int64)
    for t in range(steps):
        s_new = [0] * n_out
        for n in range(n_out):
            syn = sum(int(layer.weights[n, j]) for j in range(layer.n_in) if frames[t, j])
            if layer.recurrent is not None:
                syn += sum(int(layer.recurrent[n, m]) for m in range(n_out) if s_prev[m])
            drive = syn * 2 ** layer.weight_shift + int(layer.bias[n])
            if layer.current_decay is not None:
                num, shift = layer.current_decay
                i[n] = _sat(i[n] - (int(num[n]) * i[n]) // 2 ** shift + drive, layer.current_bits)
                drive = i[n]
            theta = int(layer.threshold[n])
            r = v[n] > theta

            def leak(x):
                if layer.membrane_decay is None:
                    return x
                num, shift = layer.membrane_decay
                return x - (int(num[n]) * x) // 2 ** shift
            if layer.reset == "subtract":
                v[n] = _sat(leak(v[n]) + drive - (theta if r else 0), layer.v_bits)
            elif layer.reset == "zero":
                v[n] = _sat(leak(0 if r else v[n]) + drive, layer.v_bits)
            else:
                v[n] = 0 if r else _sat(leak(v[n]) + drive, layer.v_bits)
            s_new[n] = int(v[n] > theta)
            out[:, t, n] = s_new[n], v[n], i[n]
        s_prev = s_new
    return out[0].astype(bool), out[1], out[2]


@budget(ARITHMETIC)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["if", "lif", "cubalif"]), recurrent=st.booleans(),
       reset=st.sampled_from(RESETS), bits=st.integers(4, 8), n_in=st.integers(1, 9), n_out=st.integers(1, 7),
       density=st.sampled_from([0.1, 0.4, 0.8]))
def test_golden_equals_scalar_reference(seed, kind, recurrent, reset, bits, n_in, n_out, density):
    rng = np.random.default_rng(seed)
    layer = random_lif_layer(rng, kind, n_in, n_out, bits, recurrent, reset)
    frames = rng.random((2, 10, n_in)) < density
    golden = CELLS[kind].part("golden")
    state = golden.initial_state(layer, 2)
    records = []
    for t in range(10):
        state, _, record = golden.step(layer, state, frames[:, t])
        records.append(record)
    trace = golden.trace(records)
    for b in range(2):
        spikes, v, i = reference_layer(layer, frames[b])
        np.testing.assert_array_equal(trace.spikes[b], spikes)
        np.testing.assert_array_equal(trace.v[b], v)
        if kind == "cubalif":
            np.testing.assert_array_equal(trace.i[b], i)
    assert set(trace.states()) == ({"v", "i"} if kind == "cubalif" else {"v"})


@pytest.mark.parametrize("kind", ["if", "lif", "cubalif"])
def test_model_file_round_trip(tmp_path, kind):
    model = random_lif_model(2, kind, (6, 5, 4), 6, recurrent=True, reset="zero")
    loaded = HardwareModel.load(model.save(tmp_path / "m.hw"))
    assert loaded.content_hash == model.content_hash
    assert type(loaded.layers[0]) is type(model.layers[0]) and loaded.layers[0].reset == "zero"
    spikes = np.random.default_rng(0).random((2, 6, 6)) < 0.4
    np.testing.assert_array_equal(run_golden(loaded, spikes=spikes).readout, run_golden(model, spikes=spikes).readout)
    feed_forward = random_lif_model(2, kind, (6, 5), 6)
    assert "recurrent" not in feed_forward.to_dict()["layers"][0]


def test_layer_validation():
    layer = random_lif_layer(np.random.default_rng(0), "cubalif", 4, 3, 5, recurrent=True)
    with pytest.raises(ConfigError, match="reset must be one of"):
        replace(layer, reset="hold")
    with pytest.raises(ConfigError, match="recurrent weights has shape"):
        replace(layer, recurrent=np.zeros((3, 4), int))
    with pytest.raises(ConfigError, match="threshold has values"):
        replace(layer, threshold=np.array([-1, 0, 1]))
    with pytest.raises(ConfigError, match="decay_num"):
        replace(layer, decay_num=np.array([0, 1, 1 << 10]))
    with pytest.raises(ConfigError, match="5-bit weights"):
        replace(layer, recurrent=np.full((3, 3), 16))
    with pytest.raises(ConfigError, match="current_bits"):
        replace(layer, current_bits=30)
    with pytest.raises(ConfigError, match="unknown cell kind"):
        CELLS["lif2"]
