"""Mutation harness: one-LSB and one-operator changes of the HDL's constants are each caught.

Each mutant changes one constant or comparison of a neuron datapath (SRC and its tables, BMRU, CMRU,
alphaCMRU, the LIF family on a CubaLIF network; ``mutate`` fixture: a textual mutation of the module, undone
after the test) and runs the state-comparing equivalence check
(``hdl_equals_golden``: every state word and output of every neuron at every step) on the boundary
networks (``boundary_cases``) in Amaranth's simulator; the check must fail. Several of these mutants
leave every spike unchanged (e.g. the current's saturation bound: ``i`` is clamped to ``rho`` before it
reaches ``h``), so only the state comparison sees them.
"""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.cells.lif import neuron as lif_neuron
from srcfpga.cells.mru import alpha_engine, cmru_engine
from srcfpga.cells.mru import engine as bmru_engine
from srcfpga.cells.src import neuron as src_neuron
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, pwl

MUTANTS = {
    "current saturation hi - 1": (src_neuron, "lo, hi = q.current_range",
                                  "lo, hi = q.current_range[0], q.current_range[1] - 1"),
    "current saturation lo + 1": (src_neuron, "lo, hi = q.current_range",
                                  "lo, hi = q.current_range[0] + 1, q.current_range[1]"),
    "table saturation hi - 1 (rho, one)": (pwl, "t.lo, t.hi))", "t.lo, t.hi - 1))"),
    "table saturation lo + 1 (-rho, -one)": (pwl, "t.lo, t.hi))", "t.lo + 1, t.hi))"),
    "decay shift + 1": (src_neuron, ">> q.decay_shift)", ">> (q.decay_shift + 1))"),
    "weight shift + 1": (src_neuron, "(syn << q.weight_shift)", "(syn << (q.weight_shift + 1))"),
    "gate shift + 1": (src_neuron, "const_mul(diff, above) >> q.gate_shift",
                       "const_mul(diff, above) >> (q.gate_shift + 1)"),
    "gate constant below -> above": (src_neuron, "const_mul(diff, below)", "const_mul(diff, above)"),
    "gate threshold >= -> >": (src_neuron, "Mux(h >= threshold,", "Mux(h > threshold,"),
    "recurrent weight rs + 1": (src_neuron, "const_mul(hs, q.rs)", "const_mul(hs, q.rs + 1)"),
    "bmru comparator > -> >=": (bmru_engine, "return x > mag,", "return x >= mag,"),
    "bmru frac shift on beta": (bmru_engine, "beta = (syn_b << k) + p[", "beta = (syn_b << (k + 1)) + p["),
    "cmru saturation - 1": (cmru_engine, "-limit, limit)", "-limit, limit - 1)"),
    "alphacmru leak shift + 1": (alpha_engine, "leaked = q - (q >> r)", "leaked = q - (q >> (r + 1))"),
    "alphacmru saturation lo + 1": (alpha_engine, "clamp(leaked, -limit, limit)", "clamp(leaked, 1 - limit, limit)"),
    "lif spike comparator > -> >=": (lif_neuron, "return words, v > mid.threshold", "return words, v >= mid.threshold"),
    "lif reset comparator > -> >=": (lif_neuron, "r = old.v > params.threshold", "r = old.v >= params.threshold"),
    "lif membrane saturation hi - 1": (lif_neuron, "clamp(mid.lv + mid.drive, *q.v_range)",
                                       "clamp(mid.lv + mid.drive, q.v_range[0], q.v_range[1] - 1)"),
    "cubalif current saturation lo + 1": (lif_neuron, "+ drive, *q.current_range)",
                                          "+ drive, q.current_range[0] + 1, q.current_range[1])"),
    "lif leak shift + 1": (lif_neuron, "return value - (product >> shift)", "return value - (product >> (shift + 1))"),
    "lif weight shift + 1": (lif_neuron, "drive = (syn << q.weight_shift)", "drive = (syn << (q.weight_shift + 1))"),
    "lif subtract reset threshold - 1": (lif_neuron, "Mux(r, params.threshold, 0)", "Mux(r, params.threshold - 1, 0)"),
}
CELL = {src_neuron: "src", pwl: "src", bmru_engine: "bmru", cmru_engine: "cmru", alpha_engine: "alphacmru",
        lif_neuron: "cubalif"}


def run_case(hdl_equals_golden, case):
    model, spikes = case
    config = HdlConfig(lanes=3, input="frames", spikes_per_cycle=2)
    return hdl_equals_golden(model, config, spikes.shape[1], 0, spikes=spikes)


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught(name, mutate, hdl_equals_golden, boundary_cases):
    module, old, new = MUTANTS[name]
    mutate(module, old, new)
    cells = ["bmru", "cmru"] if module is bmru_engine else [CELL[module]]
    for cell in cells:
        with pytest.raises(AssertionError):
            run_case(hdl_equals_golden, boundary_cases[cell])


@pytest.mark.parametrize("cell", ["src", "bmru", "cmru", "alphacmru", "cubalif"])
def test_boundary_cases_pass_unmutated(cell, hdl_equals_golden, boundary_cases):
    run_case(hdl_equals_golden, boundary_cases[cell])


def test_boundary_cases_reach_the_boundaries(boundary_cases):
    """Every mutated boundary is actually visited (else a mutant could survive by luck)."""
    model, spikes = boundary_cases["src"]
    layer, trace = model.layers[0], run_golden(model, spikes=spikes, trace=True).traces[0]
    lo, hi = layer.current_range
    early = trace.h[:, :-1]                  # the gate acts on h of the previous step
    assert (trace.i == hi).any() and (trace.i == lo).any()
    assert (trace.i > layer.rho).any() and (trace.h == layer.one).any() and (early == layer.half).any()
    model, spikes = boundary_cases["bmru"]
    trace = run_golden(model, spikes=spikes, trace=True).traces[0]
    assert (trace.c == np.abs(trace.beta)).any()
    model, spikes = boundary_cases["cmru"]
    layer, trace = model.layers[0], run_golden(model, spikes=spikes, trace=True).traces[0]
    assert (np.abs(trace.spikes) == layer.count_max).any()

    model, spikes = boundary_cases["alphacmru"]
    layer, trace = model.layers[0], run_golden(model, spikes=spikes, trace=True).traces[0]
    assert trace.spikes.min() == -layer.count_max and layer.relax_shift == 2

    model, spikes = boundary_cases["cubalif"]
    layer, trace = model.layers[0], run_golden(model, spikes=spikes, trace=True).traces[0]
    assert layer.reset == "subtract" and len(set(layer.decay_num)) > 1     # per-neuron leaks: the multiplier
    assert trace.v.min() == layer.v_range[0] and trace.v.max() == layer.v_range[1]
    assert trace.i.min() == layer.current_range[0] and trace.i.max() == layer.current_range[1]
    assert (trace.v[:, :-1] == layer.threshold).any()
