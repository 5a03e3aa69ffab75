"""Post-training quantization: weight scales, symmetric rounding, cell constants, whole networks."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from srcfpga.cells.src.quantize import quantize_src_layer
from srcfpga.errors import ConfigError
from srcfpga.quant import (
    HardwareModel,
    QuantConfig,
    quantize_net,
    quantize_readout,
    weight_scale,
)
from srcfpga.quant.ptq import leak_num, quantize_symmetric
from srcfpga.testing import random_net

weights_strategy = hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 9)),
                              elements=st.floats(-50, 50, allow_subnormal=False))


@budget(ARITHMETIC)
@given(weights_strategy, st.integers(2, 8), st.sampled_from(["max", "mse"]))
def test_weights_within_signed_range(w, bits, clip):
    scale = weight_scale(w, bits, clip)
    q = quantize_symmetric(w, scale, bits)
    qmax = (1 << (bits - 1)) - 1
    assert q.dtype == np.int32 and q.shape == w.shape
    assert np.abs(q).max() <= qmax
    assert scale > 0
    if np.abs(w).max() > 0:
        if clip == "max":
            assert math.isclose(scale, np.abs(w).max() / qmax)
            assert np.abs(q).max() == qmax                    # the largest weight uses the full range
            assert np.all(np.abs(q * scale - w) <= scale / 2 * (1 + 1e-9))
        else:
            # mse never does worse than max (its candidates include the max scale)
            max_scale = weight_scale(w, bits, "max")
            err = np.square(q * scale - w).sum()
            err_max = np.square(quantize_symmetric(w, max_scale, bits) * max_scale - w).sum()
            assert err <= err_max * (1 + 1e-9) + 1e-12
            assert 0.3 * max_scale * (1 - 1e-9) <= scale <= max_scale * (1 + 1e-9)


def test_zero_weights():
    assert weight_scale(np.zeros((2, 3)), 4, "mse") == 1.0
    assert not quantize_symmetric(np.zeros((2, 3)), 1.0, 4).any()


def test_symmetric_rounding_and_clipping():
    w = np.array([-10.0, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.49, 10.0])
    np.testing.assert_array_equal(quantize_symmetric(w, 1.0, 3), [-3, -2, -2, 0, 0, 2, 2, 3, 3])
    # -2^(B-1) is never produced: the range is symmetric
    assert quantize_symmetric(np.array([-1000.0]), 1.0, 8)[0] == -127


def test_mse_clips_an_outlier():
    w = np.concatenate([np.linspace(-1, 1, 200), [8.0]])
    max_scale, mse_scale = weight_scale(w, 4, "max"), weight_scale(w, 4, "mse")
    assert mse_scale < max_scale
    assert quantize_symmetric(w, mse_scale, 4)[-1] == 7             # the outlier is clipped


@pytest.mark.parametrize("keep, shift, num", [(0.9, 5, 3), (0.0, 5, 32), (1.0, 5, 0), (0.9, 4, 2),
                                              (1 - 1 / 16 - 1 / 32, 5, 3), (1.5, 3, 0), (-0.5, 3, 8)])
def test_leak_num(keep, shift, num):
    assert leak_num(keep, shift) == num


def paper_cell(**changes):
    cell = dict(alpha=0.9, rho=3.0, r=2.0, rs=-7.0, z_hyp=0.9, z_dep=0.0)
    return SimpleNamespace(**(cell | changes))


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("frac_bits", [6, 8, 10])
def test_layer_constants(bits, frac_bits):
    rng = np.random.default_rng(bits)
    w = rng.normal(0, 0.5, (7, 11))
    bias = rng.uniform(-6, -4, 7)
    init = (rng.normal(0, 1, 7), rng.uniform(-0.9, -0.1, 7), rng.uniform(-0.9, -0.1, 7))
    qc = QuantConfig(weight_bits=bits, state_frac_bits=frac_bits, clip="max")
    layer = quantize_src_layer(w, bias, init, paper_cell(), qc)
    scale = np.abs(w).max() / ((1 << (bits - 1)) - 1)
    assert math.isclose(layer.unit * (1 << layer.weight_shift), scale)
    assert layer.weight_shift == max(0, round(frac_bits + math.log2(scale)))
    if layer.weight_shift > 0:  # 1.0 is about 2^F LSBs (within the half-bit rounding of the shift)
        assert 2 ** (frac_bits - 0.5) - 1 <= layer.one <= 2 ** (frac_bits + 0.5) + 1
    else:                       # small weights: one weight LSB is already finer than 2^-F, unit = scale
        assert layer.one >= 2 ** (frac_bits - 0.5) - 1
    assert layer.one == round(1 / layer.unit)
    assert layer.half == round(0.5 / layer.unit)
    assert layer.rho == round(3.0 / layer.unit)
    assert (layer.r, layer.rs) == (2, -7)
    assert (layer.decay_num, layer.decay_shift) == (3, 5)                       # alpha = 1 - 3/32
    assert (layer.gate_hyp_num, layer.gate_dep_num, layer.gate_shift) == (3, 32, 5)
    np.testing.assert_array_equal(layer.bias, np.rint(bias / layer.unit))
    np.testing.assert_array_equal(layer.init_h, np.rint(init[1] / layer.unit))
    np.testing.assert_array_equal(layer.init_hs, np.rint(init[2] / layer.unit))
    np.testing.assert_array_equal(layer.init_i, np.rint(init[0] / layer.unit))
    lo, hi = layer.current_range
    assert hi >= 4 * layer.rho and lo <= -4 * layer.rho              # current_range = 4 rho by default
    assert np.abs(layer.weights).max() == (1 << (bits - 1)) - 1


def test_state_shift_is_never_negative():
    # tiny weights: the weight scale is finer than 2^-F, so the shift clamps at 0 and unit = scale
    layer = quantize_src_layer(np.full((2, 2), 1e-3), np.full(2, -5.0), (np.zeros(2),) * 3, paper_cell(),
                               QuantConfig(weight_bits=8, state_frac_bits=8, clip="max"))
    assert layer.weight_shift == 0 and math.isclose(layer.unit, 1e-3 / 127)


def test_initial_states_are_clipped_into_range():
    init = (np.array([1e6, -1e6]), np.array([3.0, -3.0]), np.array([-2.0, 2.0]))
    layer = quantize_src_layer(np.eye(2), np.full(2, -5.0), init, paper_cell(), QuantConfig(weight_bits=6))
    lo, hi = layer.current_range
    assert list(layer.init_i) == [hi, lo]
    assert list(layer.init_h) == [layer.one, -layer.one]
    assert list(layer.init_hs) == [-layer.one, layer.one]


def test_non_integer_feedback_is_rejected():
    with pytest.raises(ConfigError, match="r = 2.5 must be an integer"):
        quantize_src_layer(np.eye(2), np.full(2, -5.0), (np.zeros(2),) * 3, paper_cell(r=2.5), QuantConfig())


@pytest.mark.parametrize("bits", [2, 8, 16])
def test_readout(bits):
    w = np.array([[1.0, -0.1, -0.1], [-0.1, 1.0, -0.1]])
    readout = quantize_readout(w, QuantConfig(readout_bits=bits))
    qmax = (1 << (bits - 1)) - 1
    assert readout.weight_bits == bits and readout.acc_bits == 24
    assert math.isclose(readout.scale, 1.0 / qmax)
    np.testing.assert_array_equal(readout.weights, quantize_symmetric(w, 1.0 / qmax, bits))
    assert readout.weights[0, 0] == qmax


@pytest.mark.parametrize("changes, message", [
    (dict(weight_bits=1), "weight bits"), (dict(weight_bits=9), "weight bits"),
    (dict(state_frac_bits=3), "state_frac_bits"), (dict(state_frac_bits=15), "state_frac_bits"),
    (dict(current_range=0.5), "current_range"), (dict(current_range=65.0), "current_range"),
    (dict(decay_shift=0), "decay_shift"), (dict(gate_shift=13), "gate_shift"),
    (dict(readout_bits=1), "readout_bits"), (dict(readout_bits=17), "readout_bits"),
    (dict(clip="percentile"), "clip must be one of max, mse"),
])
def test_quant_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        QuantConfig(**changes)


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_quantize_net(bits):
    net = random_net(5, (9, 6, 4), n_classes=3)
    hw = quantize_net(net, QuantConfig(weight_bits=bits, encoder_generators=8), source={"float_model": "x.pt"})
    assert isinstance(hw, HardwareModel) and hw.sizes == (9, 6, 4) and hw.readout.n_classes == 3
    assert hw.encoder.rate_gain == net.config.rate_gain and hw.encoder.generators == 8
    assert (hw.steps, hw.blank) == (net.config.steps, net.config.blank)
    assert hw.source["float_model"] == "x.pt" and hw.source["quant"]["weight_bits"] == bits
    for layer, q in zip(net.layers, hw.layers):
        assert q.weight_bits == bits and q.weights.shape == tuple(layer.weight.shape)
        assert np.abs(q.weights).max() <= (1 << (bits - 1)) - 1
    # deterministic: the same network quantizes to the same content
    assert quantize_net(net, QuantConfig(weight_bits=bits, encoder_generators=8),
                        source={"float_model": "x.pt"}).content_hash == hw.content_hash


@pytest.fixture(scope="module")
def reference_net(reference_dir):
    from srcfpga.nn import import_ulg

    return import_ulg(reference_dir)


@pytest.mark.parametrize("bits", [4, 5, 6, 7, 8])
def test_reference_model(reference_net, bits, tmp_path):
    hw = quantize_net(reference_net, QuantConfig(weight_bits=bits))
    assert hw.sizes == (784, 100) and hw.readout.weights.shape == (10, 100)
    layer = hw.layers[0]
    assert np.abs(layer.weights).max() <= (1 << (bits - 1)) - 1
    assert (layer.r, layer.rs) == (2, -7)
    # bias -6 and the readout's +1 / -0.1 pattern survive quantization
    assert np.all(layer.bias == round(-6 / layer.unit))
    own = np.arange(100) % 10
    ro = hw.readout.weights
    assert np.all(ro[own, np.arange(100)] == 127)
    assert np.all(ro[ro != 127] == -13)
    assert (hw.steps, hw.blank, hw.encoder.rate_gain) == (200, 20, 0.25)
    assert HardwareModel.load(hw.save(tmp_path / "ref.hw")).content_hash == hw.content_hash


def test_reference_model_accuracy(reference_net, mnist_dir):
    """8-bit PTQ of the reference keeps MNIST accuracy (float: 96.9 % at 5 + 50 steps)."""
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate

    data = load_dataset("mnist", "test", mnist_dir, limit=100)
    result = evaluate(quantize_net(reference_net, QuantConfig(weight_bits=8)), data, steps=40, blank=4)
    assert result.path == "golden" and result.samples == 100
    assert result.accuracy >= 0.9
