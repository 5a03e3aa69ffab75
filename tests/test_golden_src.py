"""The integer SRC update (the executable specification) against a scalar re-implementation.

The reference below is written from the equations in ``srcfpga.cells.src.golden.src_update``'s
docstring with Python integers (unbounded, so any int32 overflow in the golden model shows up as a
mismatch) and floor division for ``>>``; its tables are the scalar ``reference_pwl`` (tests/conftest.py).
Layers carry the default K = 1 tables or random tables of 2..16 pieces.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.src.golden import NumpyOps, SRCGolden, src_update
from srcfpga.cells.src.layer import SRCLayerQ
from srcfpga.golden.arith import synaptic_sum
from srcfpga.quant import signed_bits
from srcfpga.quant.hwmodel import spike_weights_t
from srcfpga.testing import with_random_tables


def reference_step(pwl, c: SRCLayerQ, n: int, i: int, h: int, hs: int, syn: int) -> tuple[int, int, int]:
    """One step of neuron ``n``: ``(i, h, hs)`` from the previous state and the synaptic sum."""
    i_lo, i_hi = -2 ** (c.current_bits - 1), 2 ** (c.current_bits - 1) - 1
    i = min(max(i - (c.decay_num * i) // 2 ** c.decay_shift + syn * 2 ** c.weight_shift, i_lo), i_hi)
    x = pwl(c.tables["compression"], i)
    h_next = pwl(c.tables["activation"], x + c.r * h + c.rs * hs + int(c.bias[n]))
    g = pwl(c.tables["gate"], h)
    hs_next = hs + (g * (h - hs)) // 2 ** c.gate_shift
    return i, h_next, hs_next


@st.composite
def layers(draw) -> SRCLayerQ:
    """Any valid layer with weights of 4..8 bits (constants drawn well beyond the PTQ defaults), with the
    default tables or random ones of 2..16 pieces."""
    bits = draw(st.integers(4, 8))
    wmax = 2 ** (bits - 1) - 1
    n_in, n_out = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    one = draw(st.integers(2, 1 << 14))
    half = draw(st.integers(1, one - 1))
    rho = draw(st.integers(1, 6 * one))
    decay_shift = draw(st.integers(1, 12))
    current_bits = draw(st.integers(signed_bits(-rho, rho), min(24, 30 - decay_shift)))
    gate_shift = draw(st.integers(1, 12))
    ints = lambda lo, hi, n: np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))  # noqa: E731
    i_lo, i_hi = -2 ** (current_bits - 1), 2 ** (current_bits - 1) - 1
    layer = SRCLayerQ(
        weights=ints(-wmax, wmax, n_in * n_out).reshape(n_out, n_in), bias=ints(-8 * one, 2 * one, n_out),
        init_i=ints(i_lo, i_hi, n_out), init_h=ints(-one, one, n_out), init_hs=ints(-one, one, n_out),
        weight_bits=bits, weight_shift=draw(st.integers(0, 10)), unit=1.0 / one, current_bits=current_bits,
        decay_num=draw(st.integers(0, 2 ** decay_shift)), decay_shift=decay_shift, gate_shift=gate_shift,
        gate_hyp_num=draw(st.integers(0, 2 ** gate_shift)), gate_dep_num=draw(st.integers(0, 2 ** gate_shift)),
        rho=rho, one=one, half=half, r=draw(st.integers(-4, 4)), rs=draw(st.integers(-12, 4)))
    segments = draw(st.sampled_from([1, 1, 2, 3, 8, 16]))
    if segments == 1:
        return layer
    return with_random_tables(layer, draw(st.integers(0, 2 ** 32 - 4)), segments, draw(st.integers(0, 12)))


@budget(ARITHMETIC)
@given(layers(), st.data())
def test_one_step_matches_reference(reference_pwl, layer, data):
    batch = data.draw(st.integers(1, 3))
    i_lo, i_hi = layer.current_range
    smax = layer.n_in * (2 ** (layer.weight_bits - 1) - 1)
    shape = (batch, layer.n_out)

    def draw(lo, hi):
        values = data.draw(st.lists(st.integers(lo, hi), min_size=batch * layer.n_out, max_size=batch * layer.n_out))
        return np.array(values, np.int32).reshape(shape)

    i, h, hs = draw(i_lo, i_hi), draw(-layer.one, layer.one), draw(-layer.one, layer.one)
    syn = draw(-smax, smax)
    new = src_update(NumpyOps(), layer, i, h, hs, syn)
    for b in range(batch):
        for n in range(layer.n_out):
            expected = reference_step(reference_pwl, layer, n, int(i[b, n]), int(h[b, n]), int(hs[b, n]),
                                      int(syn[b, n]))
            assert tuple(int(v[b, n]) for v in new) == expected, (b, n)


@budget(ARITHMETIC)
@given(layers(), st.integers(1, 12), st.floats(0.0, 1.0), st.integers(0, 2 ** 32 - 1))
def test_trajectory_matches_reference(reference_pwl, layer, steps, density, seed):
    """Many steps from the layer's initial state, driven by random input spikes through the weights."""
    rng = np.random.default_rng(seed)
    spikes = rng.random((steps, 1, layer.n_in)) < density
    ops = NumpyOps()
    i, h, hs = (v[None, :].copy() for v in (layer.init_i, layer.init_h, layer.init_hs))
    ref = [(int(a), int(b), int(c)) for a, b, c in zip(layer.init_i, layer.init_h, layer.init_hs)]
    for t in range(steps):
        syn = synaptic_sum(layer, spikes[t])
        i, h, hs = src_update(ops, layer, i, h, hs, syn)
        for n in range(layer.n_out):
            s = sum(int(layer.weights[n, k]) for k in range(layer.n_in) if spikes[t, 0, k])
            assert int(syn[0, n]) == s
            ref[n] = reference_step(reference_pwl, layer, n, *ref[n], s)
            assert (int(i[0, n]), int(h[0, n]), int(hs[0, n])) == ref[n], (t, n)
            # the states stay in their documented ranges
            assert -layer.one <= ref[n][1] <= layer.one and -layer.one <= ref[n][2] <= layer.one


def check_boundary_steps(pwl):
    """States exactly at the gate / spike threshold (h == half) and at the clamps, against the scalar reference,
    and the default (K = 1) gate against its definition from the constants: ``gate_dep_num if h >= half else
    gate_hyp_num`` (the reference evaluates the layer's table, so it would share a wrong table)."""
    layer = SRCLayerQ(weights=[[3, -2]], bias=[-600], init_i=[0], init_h=[0], init_hs=[0], weight_bits=4,
                      weight_shift=4, unit=1 / 256, current_bits=12, decay_num=3, decay_shift=5, gate_shift=5,
                      gate_hyp_num=3, gate_dep_num=32, rho=768, one=256, half=128, r=2, rs=-7)
    i_lo, i_hi = layer.current_range
    cases = [(0, 128, 0, 0), (0, 128, -50, 0), (0, 127, 40, 0), (i_hi, 128, 128, 3), (i_lo, -256, 256, -3),
             (700, 256, 0, 3), (0, 0, -81, 0)]
    for i, h, hs, syn in cases:
        new = src_update(NumpyOps(), layer, *(np.array([[v]], np.int32) for v in (i, h, hs, syn)))
        assert tuple(int(v[0, 0]) for v in new) == reference_step(pwl, layer, 0, i, h, hs, syn), (i, h, hs, syn)
        gate = layer.gate_dep_num if h >= layer.half else layer.gate_hyp_num
        assert int(new[2][0, 0]) == hs + (gate * (h - hs)) // 2 ** layer.gate_shift, (h, hs)


def test_boundary_steps_match_reference(reference_pwl):
    check_boundary_steps(reference_pwl)


def test_golden_gate_mutant_is_caught_by_the_definition(mutate, reference_pwl):
    """The K = 1 gate step ``h >= half`` -> ``h > half`` in the golden model (the step table's offset
    ``below + (1 - threshold) m`` -> ``below - threshold m``): QAT runs the same golden code, so QAT == golden
    cannot see it; the RTL takes its gate step from the same table (``PiecewiseLinear.as_step``), so
    RTL == golden cannot either; the gate's definition from the constants at ``h == half`` does."""
    from srcfpga.quant import pwl

    mutate(pwl, "offsets=(below + (1 - threshold) * m,)", "offsets=(below + (0 - threshold) * m,)")
    with pytest.raises(AssertionError):
        check_boundary_steps(reference_pwl)


def check_spike_threshold():
    """The spike threshold from its definition (docs/fixed-point.md): a neuron spikes when ``h' >= half``."""
    layer = SRCLayerQ(weights=[[0]], bias=[0], init_i=[0], init_h=[0], init_hs=[0], weight_bits=4, weight_shift=0,
                      unit=1 / 256, current_bits=12, decay_num=0, decay_shift=5, gate_shift=5, gate_hyp_num=3,
                      gate_dep_num=32, rho=768, one=256, half=128, r=0, rs=0)
    for bias, spikes in ((127, False), (128, True), (129, True)):       # h' = activation(bias) = bias here
        state, out, _ = SRCGolden.step(replace(layer, bias=[bias]), SRCGolden.initial_state(layer, 1),
                                       np.zeros((1, 1), bool))
        assert int(state[1][0, 0]) == bias and bool(out[0, 0]) == spikes, bias


def test_spike_threshold_matches_its_definition():
    check_spike_threshold()


def test_spike_threshold_mutant_is_caught_by_the_definition(mutate):
    """``h >= half`` -> ``h > half`` in :func:`srcfpga.cells.src.golden.spike`: golden, QAT and the HDL neuron all
    use that one definition, so no comparison between them can see the mutant; the definition check does."""
    from srcfpga.cells.src import golden

    mutate(golden, "return h >= half", "return h > half")
    with pytest.raises(AssertionError):
        check_spike_threshold()


def test_floor_shift_rounds_towards_minus_infinity():
    ops = NumpyOps()
    values = np.array([-7, -1, 0, 1, 7], np.int32)
    np.testing.assert_array_equal(ops.floor_shift(values, 2), [-2, -1, 0, 0, 1])


def test_synaptic_sum_int64_path():
    """Rows beyond float32's exact range take the integer path, still exact."""
    n_in = (1 << 24) // 127 + 2
    weights = np.full((2, n_in), 127)
    weights[1] = -127
    layer = SRCLayerQ(weights=weights, bias=[-600, -600], init_i=[0, 0], init_h=[0, 0], init_hs=[0, 0],
                      weight_bits=8, weight_shift=0, unit=1 / 256, current_bits=12, decay_num=3, decay_shift=5,
                      gate_shift=5, gate_hyp_num=3, gate_dep_num=32, rho=768, one=256, half=128, r=2, rs=-7)
    spikes = np.ones((1, n_in), bool)
    spikes[0, 0] = False
    expected = [[127 * (n_in - 1), -127 * (n_in - 1)]]
    assert layer.synaptic_weights_t.dtype == np.int8
    np.testing.assert_array_equal(synaptic_sum(layer, spikes), expected)


@pytest.mark.parametrize("scale, n_in, dtype", [(1, 6000, np.int8), (300, 100, np.float32), (3000, 6000, np.int64)])
def test_synaptic_sum_paths_agree(scale, n_in, dtype):
    """int8 GEMM, float32 BLAS and int64 give the exact sums, whichever the weights select (wider weights,
    e.g. a 16-bit readout's, take the float32 or int64 path); read-only and strided inputs included."""
    rng = np.random.default_rng(scale)
    weights = rng.integers(-127, 128, (7, n_in)) * scale
    weights_t = spike_weights_t(weights)
    assert weights_t.dtype == dtype
    layer = SimpleNamespace(synaptic_weights_t=weights_t, n_out=7)
    spikes = rng.random((5, 2 * n_in)) < 0.3
    view = spikes[:, ::2]
    view.flags.writeable = False
    expected = view.astype(np.int64) @ weights.T.astype(np.int64)
    np.testing.assert_array_equal(synaptic_sum(layer, view, np.int64), expected)
    np.testing.assert_array_equal(synaptic_sum(layer, np.zeros((2, n_in), bool)), np.zeros((2, 7)))
