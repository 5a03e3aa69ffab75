"""The least-energy search of ``srcfpga sweep --accuracy-floor``: typed axes, clear errors, and (slow) the real
board estimator on a tiny network over the digits data."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from srcfpga.cli import main
from srcfpga.errors import ConfigError
from srcfpga.sweep import DesignAxes, SearchConfig, SweepConfig, run_sweep, search_sweep
from srcfpga.testing import random_net

LIMIT = 24


def tiny_net(seed: int = 0):
    return random_net(seed, (64, 8), n_classes=10)


def grid(**changes) -> SweepConfig:
    options = dict(weight_bits=(4,), steps=(6,), dataset="digits", limit=LIMIT, latency_samples=4)
    return SweepConfig(**(options | changes))


def test_design_axes_parse_any_hdl_config_field():
    axes = DesignAxes.parse(["lanes=4,8", "spikes-per-cycle=2,4", "pack_masks=no,yes", "memory=auto"])
    assert axes.values == {"lanes": (4, 8), "spikes_per_cycle": (2, 4), "pack_masks": (False, True),
                           "memory": ("auto",)}
    combos = axes.combinations({"lanes": 16, "input": "frames"})
    assert len(combos) == 8 and combos[0] == {"input": "frames", "lanes": 4, "spikes_per_cycle": 2,
                                              "pack_masks": False, "memory": "auto"}
    assert DesignAxes().combinations({"lanes": 16}) == [{"lanes": 16}]
    assert DesignAxes.parse(["lanes=4-6"]).values == {"lanes": (4, 5, 6)}


@pytest.mark.parametrize("specs, message", [
    (["lane=4"], "unknown design axis 'lane'; HdlConfig fields: lanes, memory"),
    (["trace_states=yes"], "unknown design axis 'trace_states'"),
    (["lanes"], "write FIELD=VALUE"),
    (["pack_masks=maybe"], "'maybe' is not true/false"),
    (["spikes_per_cycle=3"], "spikes_per_cycle must be one of 1, 2, 4"),
    (["lanes=4,4"], "distinct values"),
    (["lanes=4", "lanes=8"], "given twice"),
    (["memory=flash"], "memory style must be one of"),
])
def test_design_axes_errors(specs, message):
    with pytest.raises(ConfigError, match=message):
        DesignAxes.parse(specs)


@pytest.mark.parametrize("options, message", [
    (dict(accuracy_floor=97.5), r"fraction in \(0, 1\], got 97.5 \(a fraction: 0.975 for 97.5 %\)"),
    (dict(accuracy_floor=0), "fraction"),
    (dict(board=""), "needs a board"),
    (dict(encoder_generators=(24,)), "powers of two"),
    (dict(encoder_generators=(512,)), "1..256"),
    (dict(encoder_generators=(8, 8)), "distinct"),
])
def test_search_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        SearchConfig(**(dict(accuracy_floor=0.9, board="arty") | options))


def test_floor_never_met_names_the_best_accuracy(tmp_path):
    """The accuracy grid runs (resumable), nothing is synthesized, and the error says how far it got."""
    search = SearchConfig(accuracy_floor=1.0, board="arty", encoder_generators=(4, 8))
    with pytest.raises(ConfigError, match=r"no configuration reaches the accuracy floor 100.00 %: the best golden "
                                          r"accuracy is \d+\.\d\d % \(4-bit, K=1, 0\+6 steps, E=(4|8)\)"):
        search_sweep(tiny_net(), grid(), search, tmp_path, executor="serial", progress=False)
    assert (tmp_path / "accuracy-e4" / "results.json").is_file() and (tmp_path / "accuracy-e8" / "models").is_dir()
    rows = json.loads((tmp_path / "accuracy-e8" / "results.json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["board"] is None


def test_cli_search_axes_need_floor_and_board(tmp_path, capsys):
    model = tmp_path / "m.pt"
    assert main(["sweep", str(model), "--dataset", "digits", "--hdl", "lanes=4", "-o", str(tmp_path / "out")]) != 0
    assert "give --accuracy-floor FRACTION and --board BOARD" in capsys.readouterr().err


@pytest.mark.slow
def test_search_with_the_real_estimator(tmp_path, monkeypatch):
    """Two widths, one above the floor: only its designs are synthesized (2 ports settings = 2 Yosys runs), the
    least-energy fitting one is reported and marked; a second search synthesizes nothing."""
    monkeypatch.setenv("SRCFPGA_CACHE", str(tmp_path / "cache"))
    net = tiny_net(1)
    config = grid(weight_bits=(2, 6))
    # the accuracy grid first, to place the floor between the two widths
    rows = run_sweep(net, replace(config, latency_samples=0), tmp_path / "probe", executor="serial",
                     progress=False, plots=False).rows
    low, high = sorted(r.accuracy for r in rows)
    if low == high:
        pytest.skip("both widths score the same on this tiny net")
    floor = (low + high) / 2
    search = SearchConfig(accuracy_floor=floor, board="arty", design=DesignAxes.parse(["spikes_per_cycle=1,2"]))
    result = search_sweep(net, config, search, tmp_path / "out", executor="serial", progress=False)
    assert result.passing == 1 and len(result.candidates) == 2 and result.designs == 2 and result.synthesized == 2
    assert {c.hdl["spikes_per_cycle"] for c in result.candidates} == {1, 2}
    assert result.best is result.candidates[0] and result.best.accuracy >= floor and result.best.eligible
    assert result.best.energy_uj == min(c.energy_uj for c in result.candidates if c.eligible)
    assert "<- least energy" in result.table() and "2 synthesized now" in result.summary()
    data = json.loads((tmp_path / "out" / "search.json").read_text())
    assert data["best"]["energy_uj"] == result.best.energy_uj and (tmp_path / "out" / "search_energy.png").is_file()
    again = search_sweep(net, config, search, tmp_path / "out", executor="serial", progress=False)
    assert again.synthesized == 0 and again.best.energy_uj == result.best.energy_uj
