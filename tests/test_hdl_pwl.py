"""The RTL tables and the SRC neuron datapath equal the golden model (Amaranth's simulator).

The table unit is checked on every input of its domain; the neuron (stage 1 then stage 2, without the
pipeline registers) on random states of layers with the default tables and with random tables of 2..16
pieces (the gate then takes the shift-add multiplier path), comparing i', h', hs' and the spike.
"""

from __future__ import annotations

import numpy as np
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator
from budget import MODEL, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.src.golden import NumpyOps, src_update
from srcfpga.cells.src.neuron import SRCNeuronDatapath
from srcfpga.hdl.pwl import PiecewiseLinearUnit
from srcfpga.testing import random_hardware_model, random_table, with_random_tables


def simulate(module, inputs: dict, outputs: dict, vectors: list[dict]) -> list[dict]:
    """Apply each vector (signal name -> value) to the combinational ``module`` and read ``outputs``."""
    results = []

    async def bench(ctx):
        for vector in vectors:
            for name, value in vector.items():
                ctx.set(inputs[name], value)
            results.append({name: ctx.get(signal) for name, signal in outputs.items()})

    sim = Simulator(module)
    sim.add_testbench(bench)
    sim.run()
    return results


@budget(MODEL)
@given(seed=st.integers(0, 2 ** 32 - 1), segments=st.integers(1, 16), shift=st.integers(0, 12),
       in_bits=st.integers(2, 9), out_bits=st.integers(1, 12))
def test_table_unit_equals_golden_on_every_input(seed, segments, shift, in_bits, out_bits):
    v_lo, v_hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    table = random_table(seed, v_lo, v_hi, -(1 << (out_bits - 1)), 1 << (out_bits - 1), segments, shift)
    unit = PiecewiseLinearUnit(table, signed(in_bits))
    v = np.arange(v_lo, v_hi + 1, dtype=np.int32)
    got = [r["y"] for r in simulate(unit, {"x": unit.x}, {"y": unit.y}, [{"x": int(x)} for x in v])]
    want = table.apply(NumpyOps(), v)
    mismatch = np.flatnonzero(np.array(got) != want)
    assert not len(mismatch), f"input {v[mismatch[0]]}: RTL {got[mismatch[0]]} golden {want[mismatch[0]]} ({table})"


def neuron_harness(layer):
    """Stage 1 and stage 2 of one lane, combinational, with every input and output as a signal."""
    m = Module()
    neuron = SRCNeuronDatapath(layer)
    inputs = {"i": Signal(neuron.current_shape), "h": Signal(neuron.state_shape), "hs": Signal(neuron.state_shape),
              "syn": Signal(signed(layer.syn_bits)), "bias": Signal(neuron.partial_shape())}
    i_next, partial, hs_next = neuron.stage1(m, 0, *inputs.values())
    h_next, spike = neuron.stage2(m, 0, i_next, partial)
    outputs = {"i": Signal(neuron.current_shape), "h": Signal(neuron.state_shape), "hs": Signal(neuron.state_shape),
               "spike": Signal()}
    m.d.comb += [outputs["i"].eq(i_next), outputs["h"].eq(h_next), outputs["hs"].eq(hs_next),
                 outputs["spike"].eq(spike)]
    return m, inputs, outputs


@budget(MODEL)
@given(seed=st.integers(0, 2 ** 16), bits=st.integers(4, 8), segments=st.sampled_from([1, 2, 5, 16]),
       fitted=st.booleans(), shift=st.integers(0, 10))
def test_neuron_equals_golden_on_random_states(seed, bits, segments, fitted, shift):
    """Fitted tables come from the quantizer (K = segments); otherwise random tables replace them (K > 1)."""
    layer = random_hardware_model(seed, (6, 5), bits, segments=segments if fitted else 1).layers[0]
    if not fitted and segments > 1:
        layer = with_random_tables(layer, seed, segments, shift)
    rng = np.random.default_rng(seed)
    n = 300
    i_lo, i_hi = layer.current_range
    smax = layer.n_in * ((1 << (bits - 1)) - 1)
    neuron = rng.integers(0, layer.n_out, n)
    state = {"i": rng.integers(i_lo, i_hi + 1, n), "h": rng.integers(-layer.one, layer.one + 1, n),
             "hs": rng.integers(-layer.one, layer.one + 1, n), "syn": rng.integers(-smax, smax + 1, n)}
    state["h"][: n // 3] = rng.integers(layer.half - 3, layer.half + 3, n // 3)   # around the gate's step
    m, inputs, outputs = neuron_harness(layer)
    vectors = [{name: int(values[k]) for name, values in state.items()} | {"bias": int(layer.bias[neuron[k]])}
               for k in range(n)]
    got = simulate(m, inputs, outputs, vectors)
    # golden: each vector as neuron ``neuron[k]`` of a batch of one
    for k in range(n):
        column = (slice(None), slice(neuron[k], neuron[k] + 1))
        full = [np.zeros((1, layer.n_out), np.int32) for _ in range(4)]
        for array, name in zip(full, ("i", "h", "hs", "syn")):
            array[0, neuron[k]] = state[name][k]
        i, h, hs = (v[column].item() for v in src_update(NumpyOps(), layer, *full))
        assert (got[k]["i"], got[k]["h"], got[k]["hs"], got[k]["spike"]) == (i, h, hs, int(h >= layer.half)), \
            (k, vectors[k], got[k], (i, h, hs))


def test_step_gate_keeps_the_constant_products():
    """A K = 1 layer's gate is recognised as a step, so the datapath needs no multiplier."""
    layer = random_hardware_model(0, (6, 5), 5).layers[0]
    assert SRCNeuronDatapath(layer).gate_step == (layer.half, layer.gate_hyp_num, layer.gate_dep_num)
    fitted = random_hardware_model(0, (6, 5), 5, segments=4).layers[0]
    assert SRCNeuronDatapath(fitted).gate_step is None
