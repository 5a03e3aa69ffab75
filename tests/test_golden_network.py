"""The golden network: layer composition, traces, batching, readout, the two input paths."""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.cells.src.golden import NumpyOps, src_update
from srcfpga.cells.src.layer import SRCLayerQ
from srcfpga.data import RateEncoder
from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden, simulate
from srcfpga.golden.arith import synaptic_sum
from srcfpga.golden.network import input_frames
from srcfpga.quant import HardwareModel, ReadoutQ
from srcfpga.testing import random_hardware_model, random_spikes


@pytest.fixture(scope="module")
def model() -> HardwareModel:
    return random_hardware_model(11, (20, 12, 6), weight_bits=6, n_classes=4)


@pytest.fixture(scope="module")
def spikes(model) -> np.ndarray:
    return random_spikes(4, batch=5, steps=15, n_in=model.input_size, density=0.3)


def constant_layer(n_in: int, n_out: int, firing: bool) -> SRCLayerQ:
    """Neurons without feedback: h = clamp(x + bias) is ``one`` (spiking) or ``-one`` every step."""
    return SRCLayerQ(weights=np.zeros((n_out, n_in)), bias=np.full(n_out, 256 if firing else -256),
                     init_i=np.zeros(n_out), init_h=np.zeros(n_out), init_hs=np.zeros(n_out), weight_bits=4,
                     weight_shift=0, unit=1 / 256, current_bits=12, decay_num=3, decay_shift=5, gate_shift=5,
                     gate_hyp_num=3, gate_dep_num=32, rho=768, one=256, half=128, r=0, rs=0)


def constant_model(readout: ReadoutQ, firing: bool = True, steps: int = 5) -> HardwareModel:
    n_last = readout.weights.shape[1]
    return HardwareModel(input_size=3, encoder=RateEncoder(0.5, 2), layers=(constant_layer(3, n_last, firing),),
                         readout=readout, steps=steps, blank=0)


def test_shapes_and_types(model, spikes):
    result = run_golden(model, spikes=spikes, trace=True)
    batch, steps = spikes.shape[:2]
    assert result.predictions.shape == (batch,) and result.predictions.dtype == np.int64
    assert result.readout.shape == (batch, 4) and result.readout.dtype == np.int64
    assert [c.shape for c in result.spike_counts] == [(batch, 12), (batch, 6)]
    np.testing.assert_array_equal(result.input_spikes, spikes.sum(axis=(1, 2)))
    assert len(result.traces) == 2
    for trace, n in zip(result.traces, (12, 6)):
        for name in ("spikes", "i", "h", "hs"):
            assert getattr(trace, name).shape == (batch, steps, n)
        assert trace.spikes.dtype == bool
    assert result.readout_trace.shape == (batch, steps, 4)
    assert run_golden(model, spikes=spikes).traces is None


def test_trace_consistent_with_plain_run(model, spikes):
    plain = run_golden(model, spikes=spikes)
    traced = run_golden(model, spikes=spikes, trace=True)
    np.testing.assert_array_equal(plain.predictions, traced.predictions)
    np.testing.assert_array_equal(plain.readout, traced.readout)
    np.testing.assert_array_equal(plain.input_spikes, traced.input_spikes)
    for a, b, trace in zip(plain.spike_counts, traced.spike_counts, traced.traces):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, trace.spikes.sum(axis=1))
    np.testing.assert_array_equal(traced.readout_trace[:, -1], traced.readout)


def test_traces_follow_the_cell_and_the_readout(model, spikes):
    """Layer l at step t consumes layer l-1's spikes of the same step; the readout sums the last layer."""
    result = run_golden(model, spikes=spikes, trace=True)
    ops = NumpyOps()
    batch, steps = spikes.shape[:2]
    inputs = spikes
    for layer, trace in zip(model.layers, result.traces):
        state = tuple(np.broadcast_to(v, (batch, layer.n_out)) for v in (layer.init_i, layer.init_h, layer.init_hs))
        for t in range(steps):
            state = src_update(ops, layer, *state, synaptic_sum(layer, inputs[:, t]))
            for value, name in zip(state, ("i", "h", "hs")):
                np.testing.assert_array_equal(getattr(trace, name)[:, t], value, err_msg=f"{name} at step {t}")
            np.testing.assert_array_equal(trace.spikes[:, t], state[1] >= layer.half)
        inputs = trace.spikes
    increments = inputs.astype(np.int64) @ model.readout.weights.T.astype(np.int64)
    np.testing.assert_array_equal(result.readout_trace, np.cumsum(increments, axis=1))  # far from saturation
    np.testing.assert_array_equal(result.predictions, np.argmax(result.readout, axis=1))
    assert any(c.sum() > 0 for c in result.spike_counts)            # the test network does fire


def test_batch_independence_spikes(model, spikes):
    batch = run_golden(model, spikes=spikes, trace=True)
    for n in range(len(spikes)):
        alone = run_golden(model, spikes=spikes[n:n + 1], trace=True)
        assert alone.predictions[0] == batch.predictions[n]
        np.testing.assert_array_equal(alone.readout[0], batch.readout[n])
        for a, b in zip(alone.traces, batch.traces):
            np.testing.assert_array_equal(a.h[0], b.h[n])
            np.testing.assert_array_equal(a.spikes[0], b.spikes[n])


def test_batch_independence_pixels(model):
    pixels = np.random.default_rng(2).integers(0, 256, (4, model.input_size), dtype=np.uint8)
    seeds = np.array([3, 1, 4, 1])
    batch = run_golden(model, pixels=pixels, seeds=seeds, trace=True)
    for n in range(len(pixels)):
        alone = run_golden(model, pixels=pixels[n:n + 1], seeds=seeds[n:n + 1], trace=True)
        np.testing.assert_array_equal(alone.readout_trace[0], batch.readout_trace[n])
        np.testing.assert_array_equal(alone.traces[-1].spikes[0], batch.traces[-1].spikes[n])
        assert alone.input_spikes[0] == batch.input_spikes[n]


def test_pixel_path_equals_spike_path(model):
    pixels = np.random.default_rng(3).integers(0, 256, (3, model.input_size), dtype=np.uint8)
    seeds = np.array([10, 20, 30])
    frames = model.encoder.encode(pixels, 7, 2, seeds)
    from_pixels = run_golden(model, pixels=pixels, steps=7, blank=2, seeds=seeds, trace=True)
    from_spikes = run_golden(model, spikes=frames, trace=True)
    np.testing.assert_array_equal(from_pixels.readout_trace, from_spikes.readout_trace)
    np.testing.assert_array_equal(from_pixels.input_spikes, from_spikes.input_spikes)
    for a, b in zip(from_pixels.traces, from_spikes.traces):
        np.testing.assert_array_equal(a.spikes, b.spikes)
        np.testing.assert_array_equal(a.hs, b.hs)
    # default steps and blank are the model's; default seeds are 0
    default = run_golden(model, pixels=pixels, trace=True)
    assert default.readout_trace.shape[1] == model.steps + model.blank
    zero_seeds = run_golden(model, pixels=pixels, seeds=np.zeros(3, np.int64), trace=True)
    np.testing.assert_array_equal(default.readout_trace, zero_seeds.readout_trace)


def test_blank_steps_carry_no_input(model):
    pixels = np.full((2, model.input_size), 255, np.uint8)
    result = run_golden(model, pixels=pixels, steps=1, blank=6, trace=True)
    assert result.readout_trace.shape[1] == 7
    with_blank = result.input_spikes
    without = run_golden(model, pixels=pixels, steps=1, blank=0).input_spikes
    np.testing.assert_array_equal(with_blank, without)


def test_readout_saturates():
    readout = ReadoutQ(np.array([[127, 100], [-127, -100], [1, 0]]), weight_bits=8, scale=1.0, acc_bits=9)
    result = run_golden(constant_model(readout), spikes=np.zeros((1, 5, 3), bool), trace=True)
    assert result.spike_counts[0].tolist() == [[5, 5]]
    np.testing.assert_array_equal(result.readout_trace[0, :, 0], [227, 255, 255, 255, 255])
    np.testing.assert_array_equal(result.readout_trace[0, :, 1], [-227, -256, -256, -256, -256])
    np.testing.assert_array_equal(result.readout_trace[0, :, 2], [1, 2, 3, 4, 5])
    assert result.readout.tolist() == [[255, -256, 5]]


def test_readout_saturates_at_every_step():
    """The accumulator is clipped after each step (not once at the end), so it leaves the bound at once."""
    # two neurons that copy their input: a = 0 (decay_num = 2^decay_shift), no feedback, i = s << 8
    mirror = SRCLayerQ(weights=np.eye(2), bias=[-1, -1], init_i=[0, 0], init_h=[0, 0], init_hs=[0, 0],
                       weight_bits=4, weight_shift=8, unit=1 / 256, current_bits=12, decay_num=32, decay_shift=5,
                       gate_shift=5, gate_hyp_num=3, gate_dep_num=32, rho=768, one=256, half=128, r=0, rs=0)
    model = HardwareModel(input_size=2, encoder=RateEncoder(0.5, 1), layers=(mirror,),
                          readout=ReadoutQ(np.array([[100, -100]]), 8, 1.0, acc_bits=9), steps=6, blank=0)
    spikes = np.zeros((1, 6, 2), bool)
    spikes[0, :4, 0] = True
    spikes[0, 4:, 1] = True
    result = run_golden(model, spikes=spikes, trace=True)
    np.testing.assert_array_equal(result.traces[0].spikes, spikes)
    np.testing.assert_array_equal(result.readout_trace[0, :, 0], [100, 200, 255, 255, 155, 55])


@pytest.mark.parametrize("weights, expected", [
    ([[5], [7], [7]], 1),          # tie between classes 1 and 2
    ([[7], [7], [7]], 0),
    ([[-1], [-3], [-1]], 0),
])
def test_argmax_tie_takes_the_first_index(weights, expected):
    readout = ReadoutQ(np.array(weights), weight_bits=8, scale=1.0)
    result = run_golden(constant_model(readout), spikes=np.zeros((2, 5, 3), bool))
    assert result.predictions.tolist() == [expected, expected]


def test_silent_network_predicts_class_zero():
    readout = ReadoutQ(np.array([[1], [2]]), weight_bits=8, scale=1.0)
    result = run_golden(constant_model(readout, firing=False), spikes=np.zeros((1, 5, 3), bool))
    assert result.readout.tolist() == [[0, 0]] and result.predictions.tolist() == [0]


def test_simulate_takes_any_iterable_of_frames(model, spikes):
    frames = (spikes[:, t] for t in range(spikes.shape[1]))
    a = simulate(model, frames, batch=len(spikes))
    b = run_golden(model, spikes=spikes)
    np.testing.assert_array_equal(a.readout, b.readout)


def test_input_errors(model, spikes):
    pixels = np.zeros((2, model.input_size), np.uint8)
    with pytest.raises(ConfigError, match="exactly one of pixels or spikes"):
        run_golden(model, pixels=pixels, spikes=spikes)
    with pytest.raises(ConfigError, match="exactly one of pixels or spikes"):
        run_golden(model)
    with pytest.raises(ConfigError, match="exactly one of pixels or spikes"):
        input_frames(model, None, None, 1, 0, None)
    with pytest.raises(ConfigError, match=r"spike frames must have shape \(batch, T, 20\)"):
        run_golden(model, spikes=spikes[:, :, :-1])
    with pytest.raises(ConfigError, match="spike frames must have shape"):
        run_golden(model, spikes=spikes[0])
    with pytest.raises(ConfigError, match="images have 19 pixels but the model expects 20"):
        run_golden(model, pixels=pixels[:, :-1])
    with pytest.raises(ConfigError, match="uint8"):
        run_golden(model, pixels=pixels.astype(np.float32))
    with pytest.raises(ConfigError, match="seeds: 1 given for 2 samples"):
        run_golden(model, pixels=pixels, seeds=np.array([7]))
