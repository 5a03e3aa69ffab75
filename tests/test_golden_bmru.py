"""Golden BMRU / CMRU: the integer step against a plain transcription of the specification, the
network (readout bias and window), and the HardwareModel contract for the new layer kinds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.mru.layer import BMRULayerQ, CMRULayerQ
from srcfpga.data import RateEncoder
from srcfpga.data.rows import RowEncoder
from srcfpga.errors import ConfigError, ModelFileError
from srcfpga.golden import run_golden
from srcfpga.quant import HardwareModel, ReadoutQ
from srcfpga.testing import random_hardware_model


def random_layer(rng, kind: str, n_in: int, n_out: int, gated: bool = True, bits: int = 5,
                 input_range=(0, 1), count_bits: int = 4, frac_bits: int = 2):
    wmax = (1 << (bits - 1)) - 1
    args = dict(weights_c=rng.integers(-wmax, wmax + 1, (n_out, n_in)),
                bias_c=rng.integers(-40, 41, n_out),
                weights_b=rng.integers(-wmax, wmax + 1, (n_out, n_in)) if gated else None,
                bias_b=rng.integers(-40, 41, n_out), weight_bits=bits, frac_bits=frac_bits, unit=0.01,
                input_min=input_range[0], input_max=input_range[1])
    if kind == "cmru":
        bound = (1 << (count_bits - 1)) - 1
        return CMRULayerQ(**args, init=rng.integers(-bound, bound + 1, n_out), count_bits=count_bits)
    return BMRULayerQ(**args, init=rng.integers(0, 2, n_out))


def random_mru_model(seed: int, kind: str, sizes=(6, 5, 4), gated=True, n_classes=3, window=0,
                     with_bias=True) -> HardwareModel:
    rng = np.random.default_rng(seed)
    layers, values = [], (0, 1)
    for n_in, n_out in zip(sizes, sizes[1:]):
        layer = random_layer(rng, kind, n_in, n_out, gated, input_range=values)
        layers.append(layer)
        values = layer.output_range
    readout = ReadoutQ(rng.integers(-100, 101, (n_classes, sizes[-1])), 8, 0.01,
                       bias=rng.integers(-50, 51, n_classes) if with_bias else None, window=window)
    return HardwareModel(input_size=sizes[0], encoder=RateEncoder(0.5, 2), layers=tuple(layers), readout=readout,
                         steps=9, blank=1)


def reference_step(layer, q: list[int], x: list[int]) -> tuple[list[int], list[int], list[int]]:
    """Plain-Python transcription of docs/fixed-point.md ("BMRU and CMRU"), one sample."""
    new, cs, betas = [], [], []
    for n in range(layer.n_out):
        syn_c = sum(int(layer.weights_c[n, j]) * x[j] for j in range(layer.n_in))
        c = syn_c * 2 ** layer.frac_bits + int(layer.bias_c[n])
        if layer.weights_b is None:
            beta = int(layer.bias_b[n])
        else:
            beta = sum(int(layer.weights_b[n, j]) * x[j] for j in range(layer.n_in)) * 2 ** layer.frac_bits \
                + int(layer.bias_b[n])
        if c > abs(beta):
            move = 1            # set (BMRU) / count up (CMRU)
        elif c < -abs(beta):
            move = -1           # reset / count down
        else:
            move = 0            # hold
        if layer.kind == "bmru":
            new.append(q[n] if move == 0 else (1 if move > 0 else 0))
        else:
            new.append(min(max(q[n] + move, -layer.count_max), layer.count_max))
        cs.append(c)
        betas.append(beta)
    return new, cs, betas


@budget(ARITHMETIC)
@given(seed=st.integers(0, 100_000), kind=st.sampled_from(["bmru", "cmru"]), gated=st.booleans(),
       window=st.sampled_from([0, 1, 4]), density=st.sampled_from([0.1, 0.5, 0.9]))
def test_golden_network_matches_reference(seed, kind, gated, window, density):
    model = random_mru_model(seed, kind, gated=gated, window=window)
    rng = np.random.default_rng(seed + 1)
    spikes = rng.random((2, 10, 6)) < density
    result = run_golden(model, spikes=spikes, trace=True)
    for b in range(2):
        states = [layer.init.tolist() for layer in model.layers]
        acc = np.zeros(model.readout.n_classes, np.int64)
        for t in range(10):
            x = spikes[b, t].astype(int).tolist()
            for index, layer in enumerate(model.layers):
                states[index], c, beta = reference_step(layer, states[index], x)
                trace = result.traces[index]
                assert trace.spikes[b, t].astype(int).tolist() == states[index], (index, t)
                assert trace.c[b, t].tolist() == c and trace.beta[b, t].tolist() == beta
                x = states[index]
            if window == 0 or t >= 10 - window:
                acc = np.clip(acc + model.readout.weights.astype(np.int64) @ np.array(x) + model.readout.bias,
                              *model.readout.acc_range)
            assert result.readout_trace[b, t].tolist() == acc.tolist()
        assert result.predictions[b] == int(np.argmax(acc))


def test_bmru_output_is_boolean_and_cmru_saturates():
    model = random_mru_model(1, "cmru", sizes=(4, 3))
    layer = model.layers[0]
    drive = np.ones((1, 40, 4), bool)
    trace = run_golden(model, spikes=drive, trace=True).traces[0]
    assert trace.spikes.min() >= -layer.count_max and trace.spikes.max() <= layer.count_max
    bmru = random_mru_model(1, "bmru")
    assert run_golden(bmru, spikes=drive[..., :6].repeat(2, axis=2)[..., :6], trace=True).traces[0].spikes.dtype == bool


def test_first_quadrant_thresholds_hold_between_b1_and_b2():
    # c = 4 * (W x) + bias_c with W = [1, 1, 1], bias_c = -6, beta = 3: set iff 4 u > 9 (u >= 3), reset iff 4 u < 3 (u = 0)
    layer = BMRULayerQ(weights_c=np.ones((1, 3)), bias_c=[-6], weights_b=None, bias_b=[3], init=[0], weight_bits=4,
                       frac_bits=2, unit=0.1)
    model = HardwareModel(input_size=3, encoder=RateEncoder(0.5, 2), layers=(layer,),
                          readout=ReadoutQ(np.array([[1], [-1]]), 4, 1.0), steps=8, blank=0)
    counts = [0, 1, 3, 2, 1, 0, 2, 3]
    spikes = np.array([[[j < u for j in range(3)] for u in counts]])
    states = run_golden(model, spikes=spikes, trace=True).traces[0].spikes[0, :, 0].astype(int).tolist()
    assert states == [0, 0, 1, 1, 1, 0, 0, 1]


def test_readout_window_and_bias():
    model = random_mru_model(3, "bmru", window=2)
    spikes = np.random.default_rng(0).random((3, 9, 6)) < 0.5
    result = run_golden(model, spikes=spikes, trace=True)
    last = result.traces[-1].spikes.astype(np.int64)
    w, bias = model.readout.weights.astype(np.int64), model.readout.bias.astype(np.int64)
    expected = (last[:, -2:] @ w.T).sum(axis=1) + 2 * bias
    np.testing.assert_array_equal(result.readout, expected)
    assert np.all(result.readout_trace[:, :-2] == 0)


def test_src_models_unchanged_in_the_file(tmp_path):
    model = random_hardware_model(3, (12, 7), weight_bits=5)
    data = model.to_dict()
    assert "bias" not in data["readout"] and "window" not in data["readout"]
    assert data["encoder"] == {"kind": "rate", "rate_gain": model.encoder.rate_gain,
                               "generators": model.encoder.generators}
    assert HardwareModel.load(model.save(tmp_path / "m.hw")).content_hash == model.content_hash


@pytest.mark.parametrize("kind, gated", [("bmru", True), ("bmru", False), ("cmru", True)])
def test_file_round_trip(tmp_path, kind, gated):
    model = random_mru_model(7, kind, gated=gated, window=3).replace(encoder=RowEncoder(9, 3, (50, 150)))
    path = model.save(tmp_path / "m.hw")
    loaded = HardwareModel.load(path)
    assert loaded.content_hash == model.content_hash and loaded.to_dict() == model.to_dict()
    assert [layer.kind for layer in loaded.layers] == [kind, kind] and loaded.encoder == model.encoder
    assert (loaded.layers[0].weights_b is None) == (not gated)
    assert loaded.readout.window == 3
    np.testing.assert_array_equal(loaded.readout.bias, model.readout.bias)
    spikes = np.random.default_rng(0).random((2, 9, 6)) < 0.4
    np.testing.assert_array_equal(run_golden(loaded, spikes=spikes).readout, run_golden(model, spikes=spikes).readout)
    payload = json.loads(path.read_text())
    payload["model"]["layers"][0]["weights_c"][0][0] = 99
    path.write_text(json.dumps(payload))
    with pytest.raises(ModelFileError, match="malformed"):
        HardwareModel.load(path)


def test_row_encoder_model_evaluates_images():
    model = random_mru_model(2, "bmru", sizes=(6, 5)).replace(encoder=RowEncoder(rows=4, width=3, levels=(10, 200)),
                                                              steps=4, blank=0)
    pixels = np.random.default_rng(0).integers(0, 256, (3, 12), dtype=np.uint8)
    frames = model.encoder.encode(pixels, 4, 0)
    np.testing.assert_array_equal(run_golden(model, pixels=pixels).readout, run_golden(model, spikes=frames).readout)


def test_validation():
    rng = np.random.default_rng(0)
    cmru = random_layer(rng, "cmru", 4, 3)
    src_after = random_hardware_model(0, (3, 2), 5).layers[0]
    readout = ReadoutQ(np.ones((2, 2), int), 4, 1.0)
    with pytest.raises(ConfigError, match=r"takes inputs in \(0, 1\) but receives values in \(-7, 7\)"):
        HardwareModel(input_size=4, encoder=RateEncoder(0.5, 2), layers=(cmru, src_after), readout=readout,
                      steps=3, blank=0)
    with pytest.raises(ConfigError, match="row encoder emits 9 inputs"):
        random_mru_model(0, "bmru").replace(encoder=RowEncoder(2, 3, (10, 20, 30)))
    with pytest.raises(ConfigError, match="weights_c"):
        random_layer(rng, "bmru", 3, 2, bits=4).__class__(**{**_fields(random_layer(rng, "bmru", 3, 2)),
                                                             "weight_bits": 2})
    with pytest.raises(ConfigError, match="count_bits"):
        CMRULayerQ(**{**_fields(cmru), "count_bits": 1})
    with pytest.raises(ConfigError, match="init"):
        BMRULayerQ(**{**_fields(random_layer(rng, "bmru", 3, 2)), "init": [0, 2]})
    with pytest.raises(ConfigError, match="would not fit 30 bits"):
        BMRULayerQ(**{**_fields(random_layer(rng, "bmru", 3, 2)), "frac_bits": 8, "input_max": 1 << 22})
    with pytest.raises(ConfigError, match="readout window"):
        ReadoutQ(np.ones((2, 2), int), 4, 1.0, window=-1)


def _fields(layer) -> dict:
    from dataclasses import fields

    return {f.name: getattr(layer, f.name) for f in fields(layer)}
