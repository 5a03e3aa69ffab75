"""``srcfpga prove``: the SMT proof that each layer's update datapath equals the golden step.

The default run proves small SRC, BMRU, CMRU, alphaCMRU, recurrent LIF and CubaLIF layers, shows seeded HDL
mutations refuted with a counterexample that the golden model and the datapath confirm, and runs the command
line; the slow run proves the reference model, the demo models, layers with piecewise-linear tables, every LIF
kind in every reset mode, and refutes every mutant of the list.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from srcfpga.cells.lif import neuron as lif_neuron
from srcfpga.cells.lif.testing import random_lif_model
from srcfpga.cells.mru import alpha_engine, cmru_engine
from srcfpga.cells.mru import engine as bmru_engine
from srcfpga.cells.src import neuron as src_neuron
from srcfpga.cli import main
from srcfpga.errors import ToolNotFoundError
from srcfpga.hdl import pwl
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_hardware_model, random_mru_net, with_random_tables
from srcfpga.verify import prove_layer, prove_model
from srcfpga.verify.prove import find_tools

# (module, old, new, cell): one constant or comparison of a datapath, as in tests/test_hdl_mutants.py
MUTANTS = {
    "current saturation hi - 1": (src_neuron, "lo, hi = q.current_range",
                                  "lo, hi = q.current_range[0], q.current_range[1] - 1", "src"),
    "table saturation lo + 1": (pwl, "t.lo, t.hi))", "t.lo + 1, t.hi))", "src"),
    "decay shift + 1": (src_neuron, ">> q.decay_shift)", ">> (q.decay_shift + 1))", "src"),
    "gate threshold >= -> >": (src_neuron, "Mux(h >= threshold,", "Mux(h > threshold,", "src"),
    "gate shift + 1": (src_neuron, "const_mul(diff, above) >> q.gate_shift",
                       "const_mul(diff, above) >> (q.gate_shift + 1)", "src"),
    "recurrent weight rs + 1": (src_neuron, "const_mul(hs, q.rs)", "const_mul(hs, q.rs + 1)", "src"),
    "partial sum register 1 bit narrower": (src_neuron, "return signed(bound.bit_length() + 1)",
                                            "return signed(bound.bit_length())", "src"),
    "bmru comparator > -> >=": (bmru_engine, "return x > mag,", "return x >= mag,", "bmru"),
    "bmru frac shift on beta": (bmru_engine, "beta = (syn_b << k) + p[", "beta = (syn_b << (k + 1)) + p[", "bmru"),
    "cmru saturation - 1": (cmru_engine, "-limit, limit)", "-limit, limit - 1)", "cmru"),
    "lif spike comparator > -> >=": (lif_neuron, "return words, v > mid.threshold", "return words, v >= mid.threshold",
                                     "lif"),
    "lif reset comparator > -> >=": (lif_neuron, "r = old.v > params.threshold", "r = old.v >= params.threshold",
                                     "lif"),
    "lif leak shift + 1": (lif_neuron, "return value - (product >> shift)", "return value - (product >> (shift + 1))",
                           "lif"),
    "cubalif current saturation hi - 1": (lif_neuron, '"syn_decay", params) + drive, *q.current_range)',
                                          '"syn_decay", params) + drive, q.current_range[0], q.current_range[1] - 1)',
                                          "cubalif"),
    "alphacmru leak shift + 1": (alpha_engine, "leaked = q - (q >> r)", "leaked = q - (q >> (r + 1))", "alphacmru"),
    "alphacmru saturation - 1": (alpha_engine, "clamp(leaked, -limit, limit)", "clamp(leaked, -limit, limit - 1)",
                                 "alphacmru"),
}
FAST_MUTANTS = ("current saturation hi - 1", "bmru comparator > -> >=", "cmru saturation - 1",
                "lif spike comparator > -> >=", "cubalif current saturation hi - 1", "alphacmru leak shift + 1")
LIF_KINDS = ("if", "lif", "cubalif")


@pytest.fixture(scope="module", autouse=True)
def tools():
    try:
        find_tools()
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


def small_model(cell: str):
    """A small model of each kind: SRC 4-bit 6 -> 5; gated BMRU, 3-bit CMRU, 4-bit alphaCMRU (relax shift 2) 5-bit
    7 -> 6 -> 5; LIF recurrent with subtract reset, IF recurrent with zero reset, CubaLIF with zero-after reset,
    4-bit 8 -> 6 -> 5."""
    if cell == "src":
        return random_hardware_model(0, (6, 5), 4, n_classes=3)
    if cell in LIF_KINDS:
        recurrent, reset = {"if": (True, "zero"), "lif": (True, "subtract"), "cubalif": (False, "zero_after")}[cell]
        return random_lif_model(0, cell, (8, 6, 5), 4, recurrent=recurrent, reset=reset)
    count_bits = 4 if cell == "alphacmru" else 3
    return quantize_net(random_mru_net(1, cell, sizes=(7, 6, 5), count_bits=count_bits), QuantConfig(weight_bits=5))


def small_layer(cell: str):
    """The first layer of :func:`small_model`."""
    return small_model(cell).layers[0]


def test_src_layer_is_proved():
    proof = prove_layer(small_layer("src"))
    assert proof.status == "proved", proof.describe()
    assert [step[0] for step in proof.steps] == ["cut compression input", "cut compression output",
                                                 "cut activation input", "cut activation output", "outputs"]
    assert "i in [" in proof.statement and "syn in [-42, 42]" in proof.statement


def test_gated_bmru_model_is_proved():
    model = quantize_net(random_mru_net(1, "bmru", sizes=(7, 6)), QuantConfig(weight_bits=5))
    report = prove_model(model)
    assert report.passed, report.summary()
    assert [(layer.status, [step[0] for step in layer.steps]) for layer in report.layers] == [("proved", ["outputs"])]


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["bmru", "cmru"])
def test_mru_models_are_proved(cell):
    model = quantize_net(random_mru_net(1, cell, sizes=(7, 6, 5), count_bits=3), QuantConfig(weight_bits=5))
    assert prove_model(model).passed


@pytest.mark.parametrize("cell", ["lif", "cubalif", "alphacmru"])
def test_lif_and_alphacmru_models_are_proved(cell):
    """A recurrent LIF (subtract reset), a CubaLIF (current, zero-after reset), an alphaCMRU: every layer."""
    report = prove_model(small_model(cell))
    assert report.passed, report.summary()
    statement = report.layers[0].statement
    assert {"lif": "v in [", "cubalif": "i in [", "alphacmru": "q in [-7, 7]"}[cell] in statement
    assert "spike" in statement or cell == "alphacmru"


@pytest.mark.slow
@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("reset", ["subtract", "zero", "zero_after"])
@pytest.mark.parametrize("cell", LIF_KINDS)
def test_every_lif_kind_and_reset_is_proved(cell, reset, recurrent):
    model = random_lif_model(0, cell, (8, 6, 5), 4, recurrent=recurrent, reset=reset)
    assert prove_model(model).passed


def test_lif_layer_with_uniform_leaks_is_proved():
    """Leaks common to every neuron are constant shift-adds of the circuit (not parameter memory words)."""
    from dataclasses import replace

    layer = small_layer("cubalif")
    layer = replace(layer, decay_num=np.full(layer.n_out, 3), syn_decay_num=np.full(layer.n_out, 1))
    proof = prove_layer(layer)
    assert proof.status == "proved", proof.describe()


def test_constant_threshold_bmru_is_proved():
    model = quantize_net(random_mru_net(1, "bmru", variant="first", sizes=(7, 6)), QuantConfig(weight_bits=4))
    assert prove_model(model).passed


def refute(name, mutate):
    module, old, new, cell = MUTANTS[name]
    mutate(module, old, new)
    layer = small_layer(cell)
    proof = prove_layer(layer)
    assert proof.status == "refuted", proof.describe()
    found = proof.counterexample
    assert found.failed and found.layer == 0 and found.kind == cell
    for output in found.failed:
        if output in found.expected:
            assert found.got[output] != found.expected[output]
    assert 0 <= found.inputs["neuron"] < layer.n_out
    return proof


def test_current_saturation_mutant_is_refuted_at_the_bound(mutate):
    """The mutant of the audit (``hi -> hi - 1``, invisible in the spikes) differs only where the new current
    saturates at ``hi``: the counterexample shows exactly that."""
    proof = refute("current saturation hi - 1", mutate)
    found = proof.counterexample
    assert found.failed == ["i"]
    hi = small_layer("src").current_range[1]
    assert found.expected["i"] == hi and found.got["i"] == hi - 1
    assert "layer 0 (src): datapath != specification at neuron=" in proof.describe()


@pytest.mark.parametrize("name", ["bmru comparator > -> >=", "cmru saturation - 1", "alphacmru leak shift + 1"])
def test_mru_mutant_is_refuted(name, mutate):
    refute(name, mutate)


def test_lif_spike_comparator_mutant_is_refuted_at_the_threshold(mutate):
    """``v' > threshold`` -> ``>=``: only the spike differs, where ``v'`` equals the neuron's threshold."""
    found = refute("lif spike comparator > -> >=", mutate).counterexample
    assert found.failed == ["spike"] and (found.expected["spike"], found.got["spike"]) == (0, 1)
    assert found.expected["v"] == small_layer("lif").threshold[found.inputs["neuron"]]


def test_cubalif_current_saturation_mutant_is_refuted_at_the_bound(mutate):
    found = refute("cubalif current saturation hi - 1", mutate).counterexample
    hi = small_layer("cubalif").current_range[1]
    assert "i" in found.failed and found.expected["i"] == hi and found.got["i"] == hi - 1


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(MUTANTS) - set(FAST_MUTANTS)))
def test_every_mutant_is_refuted(name, mutate):
    refute(name, mutate)


def test_initial_state_outside_the_range_is_not_proven():
    layer = small_layer("bmru")
    init = layer.init.copy()
    object.__setattr__(layer, "init", init)
    init[2] = 5          # past validation: the prover checks the base case itself
    proof = prove_layer(layer)
    assert proof.status == "unproven" and "initial q of neuron 2 = 5" in proof.reason


def test_kind_without_prove_part_is_unproven(monkeypatch):
    from dataclasses import replace

    from srcfpga.cells import CELLS

    monkeypatch.setitem(CELLS._kinds, "bmru", replace(CELLS["bmru"], prove=None))
    report = prove_model(quantize_net(random_mru_net(1, "bmru", sizes=(7, 6)), QuantConfig(weight_bits=5)))
    assert not report.passed and report.layers[0].status == "unproven"
    assert "has no prove part" in report.summary()


def test_cli_proves_a_cmru_model(tmp_path: Path, capsys):
    model = quantize_net(random_mru_net(1, "cmru", sizes=(7, 6), count_bits=3), QuantConfig(weight_bits=5))
    path = model.save(tmp_path / "cmru.hw")
    assert main(["prove", str(path), "--json", "--keep", str(tmp_path / "runs")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["layers"][0]["status"] == "proved"
    assert "q in [-3, 3]" in data["layers"][0]["statement"]
    assert (tmp_path / "runs" / "layer0" / "outputs" / "obligation.sby").is_file()


def test_cli_prove_refuted_exits_1(tmp_path: Path, mutate, capsys):
    module, old, new, _ = MUTANTS["cmru saturation - 1"]
    mutate(module, old, new)
    model = quantize_net(random_mru_net(1, "cmru", sizes=(7, 6), count_bits=3), QuantConfig(weight_bits=5))
    path = model.save(tmp_path / "cmru.hw")
    assert main(["prove", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not data["passed"]
    found = data["layers"][0]["counterexample"]
    assert found["failed"] == ["q"] and found["expected"]["q"] == 3 and found["got"]["q"] != 3


@pytest.mark.slow
@pytest.mark.parametrize("segments", [4, 16])
def test_src_layer_with_tables_is_proved(segments):
    layer = with_random_tables(small_layer("src"), 3, segments, 8)
    proof = prove_layer(layer)
    assert proof.status == "proved", proof.describe()


@pytest.mark.slow
@pytest.mark.parametrize("bits,segments", [(4, 1), (5, 1), (8, 1), (4, 16)])
def test_reference_model_is_proved(reference_dir: Path, tmp_path: Path, bits, segments):
    main(["import", str(reference_dir), "-o", str(tmp_path / "ref.pt")])
    main(["quantize", str(tmp_path / "ref.pt"), "--weight-bits", str(bits), "--segments", str(segments),
          "-o", str(tmp_path / "ref.hw")])
    assert main(["prove", str(tmp_path / "ref.hw")]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("bits", [4, 5, 6, 7, 8])
def test_demo_model_is_proved(tmp_path: Path, bits):
    from srcfpga.demo import CHECKPOINT

    main(["quantize", str(CHECKPOINT), "--weight-bits", str(bits), "-o", str(tmp_path / "demo.hw")])
    assert main(["prove", str(tmp_path / "demo.hw")]) == 0


def test_witness_reader(tmp_path: Path):
    from amaranth import Signal, signed

    from srcfpga.verify.prove import read_witness

    a, b = Signal(8, name="a"), Signal(signed(6), name="b")
    trace = {"format": "Yosys Witness Trace", "clocks": [], "steps": [{"bits": "111101" + "00000111"}],
             "signals": [{"path": ["\\a"], "width": 8, "offset": 0, "init_only": False},
                         {"path": ["\\b"], "width": 6, "offset": 0, "init_only": False}]}
    (tmp_path / "t.yw").write_text(json.dumps(trace))
    assert read_witness(tmp_path / "t.yw", {"a": a, "b": b}) == {"a": 7, "b": -3}

