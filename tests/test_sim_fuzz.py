"""Randomized RTL-vs-golden checking at scale: random valid configurations (``srcfpga.testing.random_case``: every
cell kind, 2-8 bit weights, table segments, sizes, layers, lanes, spikes per cycle, memory styles, mask packing,
input kinds, steps) compared with the golden model in every state word, spike, readout accumulator, class and
cycle count (``srcfpga.sim.multi``: many networks per simulation, digests of every trace port).

Default suite: the generator's coverage and reproducibility, a derandomized handful of tiny cases in Amaranth's
simulator, and the state digests catching a mutant that leaves every spike unchanged. ``-m slow``: >= 1,000
configurations (tiny and small ones in Amaranth's simulator on two processes, large ones - up to 784 inputs,
256 neurons, 4 layers, long runs - in one Verilator build of a multi-network harness); the seeds are fixed
under the derandomized ``ci`` hypothesis profile and new in every run under the ``slow`` one (printed with any
mismatch, with each case's summary: ``random_case(seed, scale)`` rebuilds it).
"""

from __future__ import annotations

import os
import random
import re

import pytest
from budget import LONG_SIMULATION, budget
from hypothesis import given, settings
from hypothesis import strategies as st

from srcfpga.cells import CELLS
from srcfpga.errors import ToolNotFoundError
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig
from srcfpga.sim import multi
from srcfpga.testing import check_random_cases, random_case

SLOW_CASES = int(os.environ.get("SRCFPGA_FUZZ_CASES", "1000"))     # Amaranth cases of the slow run
LARGE_CASES = int(os.environ.get("SRCFPGA_FUZZ_LARGE", "6"))      # Verilator cases of the slow run


def base_seed() -> int:
    """0 under a derandomized hypothesis profile (``ci``), else a new seed each run (``slow``)."""
    return 0 if settings().derandomize else random.SystemRandom().randrange(2**31)


def test_random_cases_are_reproducible_and_cover_the_kinds():
    summaries = [random_case(seed, "tiny").summary for seed in range(25)]
    assert summaries == [random_case(seed, "tiny").summary for seed in range(25)]
    assert {s.split(": ")[1].split()[0] for s in summaries} == {kind.name for kind in CELLS}
    for needle in ("input=pixels", "input=frames", "memory=block", "memory=distributed", "pack_masks=True",
                   "spikes_per_cycle=4", "2-bit", "8-bit"):
        assert any(needle in s for s in summaries), needle


def test_large_cases_reach_the_bounds():
    """Large cases reach 784 inputs, 256 neurons and 4 layers."""
    sizes = [case.model.sizes for case in (random_case(seed, "large") for seed in range(6))]
    assert max(s[0] for s in sizes) == 784 and max(max(s[1:]) for s in sizes) == 256
    assert max(len(s) for s in sizes) >= 4


@budget(LONG_SIMULATION)
@given(seed=st.integers(0, 2**31 - 1))
def test_tiny_random_cases_equal_golden(seed):
    case = random_case(seed, "tiny")
    check, = multi.run_multi([case], simulator="amaranth").checks
    assert check.ok, f"{case.summary}: {check}"


def test_state_digests_catch_a_mutant_that_spikes_miss(mutate, boundary_cases):
    """The SRC current's saturation bound ``hi - 1`` leaves every spike and readout unchanged on the boundary
    network; only the state digests differ, and the check names the first differing layer, neuron, step and
    state (the replay with state traces): a neuron's current ``i``, hardware one below the golden bound."""
    from srcfpga.cells.src import neuron

    model, spikes = boundary_cases["src"]
    case = multi.MultiCase(model, HdlConfig(lanes=3, input="frames", spikes_per_cycle=2), {"spikes": spikes},
                           spikes.shape[1], 0, "src boundary")
    check, = multi.run_multi([case], simulator="amaranth").checks
    assert check.ok
    mutate(neuron, "lo, hi = q.current_range", "lo, hi = q.current_range[0], q.current_range[1] - 1")
    check, = multi.run_multi([case], simulator="amaranth").checks
    assert check.state_mismatched and not check.mismatched
    match = re.search(r"state i mismatch at sample (\d+), layer (\d+), neuron \d+, step \d+: rtl (-?\d+) != golden "
                      r"(-?\d+)", str(check))
    assert match, str(check)
    sample, layer, rtl, golden = map(int, match.groups())
    assert sample in check.state_mismatched and rtl == golden - 1 == model.layers[layer].current_range[1] - 1


def test_golden_state_digest_sees_one_state_word():
    case = random_case(3, "tiny")
    golden = run_golden(case.model, steps=case.steps, blank=case.blank, trace=True, **case.inputs)
    before = multi.golden_state_digests(case.model, case.resolved, golden)
    name = next(iter(golden.traces[0].states()))
    getattr(golden.traces[0], name)[0, -1, -1] += 1
    after = multi.golden_state_digests(case.model, case.resolved, golden)
    assert after[0, 0] != before[0, 0] and (after[1:] == before[1:]).all()


@pytest.mark.slow
def test_many_random_configurations_in_amaranth():
    """``SLOW_CASES`` tiny and small configurations (one in five small), two processes."""
    base = base_seed()
    jobs = [(base + k, "small" if k % 5 == 4 else "tiny") for k in range(SLOW_CASES)]
    checked, failures = check_random_cases(jobs, workers=2)
    assert checked == SLOW_CASES
    assert not failures, f"base seed {base}: {len(failures)} mismatching cases\n" + "\n".join(failures)


@pytest.mark.slow
def test_large_random_configurations_in_verilator():
    """``LARGE_CASES`` large configurations (up to 784 inputs, 256 neurons, 4 layers, long runs) in one build."""
    base = base_seed()
    cases = [random_case(base + k, "large") for k in range(LARGE_CASES)]
    try:
        run = multi.run_multi(cases)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    failures = [f"{case.summary}: {check}" for case, check in zip(cases, run.checks) if not check.ok]
    assert not failures, f"base seed {base}:\n" + "\n".join(failures)


@pytest.mark.slow
def test_verilator_replay_names_the_first_state_difference(monkeypatch):
    """The per-cycle cocotb replay of :func:`multi.locate_difference` (Verilator runs) decodes the state traces:
    against a golden trace with one state word changed, it names that word's layer, neuron, step and state."""
    import srcfpga.golden

    case = random_case(3, "tiny")
    real = srcfpga.golden.run_golden

    def tampered(*args, **kwargs):
        golden = real(*args, **kwargs)
        name = next(iter(golden.traces[0].states()))
        getattr(golden.traces[0], name)[0, -1, 0] += 1
        return golden

    monkeypatch.setattr(srcfpga.golden, "run_golden", tampered)
    try:
        located = multi.locate_difference(case, [0], simulator="verilator")
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    name = next(iter(real(case.model, steps=case.steps, blank=case.blank, trace=True, **case.inputs)
                     .traces[0].states()))
    step = case.blank + case.steps - 1
    assert "per-cycle verilator harness" in located
    assert f"state {name} mismatch at sample 0, layer 0, neuron 0, step {step}: rtl" in located, located
