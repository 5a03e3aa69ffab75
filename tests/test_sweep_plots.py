"""Pareto front and the plots, on hand-made rows (energy / board figures included)."""

from __future__ import annotations

import pytest

from srcfpga.sweep import Anchor, SweepRow, pareto_front, plot_sweep
from srcfpga.sweep.plots import plot_accuracy_vs_cost


def test_pareto_front():
    costs = [5.0, 1.0, 3.0, 2.0, 4.0, 2.0]
    accs = [0.99, 0.80, 0.95, 0.85, 0.90, 0.85]
    assert pareto_front(costs, accs) == [1, 3, 2, 0]     # 4 is dominated by 2; 5 duplicates 3
    assert pareto_front([], []) == []
    assert pareto_front([1.0, 1.0], [0.5, 0.7]) == [1]
    with pytest.raises(ValueError):
        pareto_front([1.0], [])


def make_rows(energy: bool) -> list[SweepRow]:
    rows = []
    for bits in (4, 5, 6):
        for steps, blank in ((40, 4), (200, 20)):
            rows.append(SweepRow(
                key=f"{bits}-{steps}", weight_bits=bits, steps=steps, blank=blank, total_steps=steps + blank,
                qat_epochs=1, dataset="mnist", samples=100, accuracy=0.90 + 0.01 * bits + steps / 10000,
                ptq_accuracy=0.88 + 0.01 * bits, float_accuracy=0.97 + steps / 20000, mean_input_spikes_per_step=30.0,
                hw_hash="0" * 64, weight_memory_bits=78400 * bits, lanes=16, cycles_per_step=20.0,
                cycles_per_inference=20.0 * steps, latency_us=0.2 * steps,
                board="arty-a7-35" if energy else None, lut=4000 * bits if energy else None,
                fits=bits < 6 if energy else None,
                ff=800 * bits if energy else None, bram36=2.5 * bits if energy else None,
                energy_uj=0.01 * steps * (1 + bits / 10) if energy else None))
    return rows


def is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_plots_with_energy(tmp_path):
    anchors = (Anchor(93.32, 50, 5), Anchor(92.89, 40, 4), Anchor(96.31, 200))
    files = plot_sweep(make_rows(energy=True), tmp_path, anchors, title="test")
    assert set(files) == {"accuracy_vs_bits", "accuracy_vs_energy", "resources_vs_bits"}
    assert all(is_png(path) for path in files.values())


def test_plots_without_estimates_fall_back_to_cycles(tmp_path):
    files = plot_sweep(make_rows(energy=False), tmp_path)
    assert set(files) == {"accuracy_vs_bits", "accuracy_vs_cycles", "resources_vs_bits"}
    assert all(is_png(path) for path in files.values())


def test_cost_plot_needs_the_cost(tmp_path):
    with pytest.raises(ValueError, match="energy_uj"):
        plot_accuracy_vs_cost(make_rows(energy=False), tmp_path / "x.png", "energy_uj")


def test_plotting_leaves_pyplot_alone(tmp_path):
    import sys

    plot_sweep(make_rows(energy=True), tmp_path)
    if "matplotlib.pyplot" in sys.modules:          # imported by something else: no figures left open by us
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


def test_table_and_plots_show_whether_the_design_fits(tmp_path):
    from srcfpga.sweep import format_table

    rows = make_rows(energy=True)
    lines = format_table(rows).splitlines()
    assert lines[0].split()[-1] == "fits"
    assert [line.split()[-1] for line in lines[1:]] == ["yes", "yes", "yes", "yes", "NO", "NO"]
    assert "fits" not in format_table(make_rows(energy=False))
    files = plot_sweep(rows, tmp_path)
    assert is_png(files["resources_vs_bits"]) and is_png(files["accuracy_vs_energy"])


def test_cost_axes_without_offset_notation_and_labels_without_overlap():
    from srcfpga.sweep.plots import _figure, _label_points, _plain_numbers

    fig, (ax,) = _figure(7.0, 4.6)
    xs, ys = [1000.08, 1000.08, 1000.082, 1000.11, 1000.11], [50.0, 50.0, 51.0, 50.0, 50.001]
    ax.scatter(xs, ys)
    _plain_numbers(ax)
    _label_points(ax, xs, ys, ["4b", "5b", "6b", "7b", "8b"])
    fig.canvas.draw()
    assert ax.xaxis.get_major_formatter().get_offset() == "" and ax.yaxis.get_major_formatter().get_offset() == ""
    texts = [t for t in ax.texts]
    assert sorted(t.get_text() for t in texts) == ["4b, 5b", "6b", "7b, 8b"]     # coinciding points share a label
    boxes = [t.get_window_extent() for t in texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_energy_plot_draws_published_energies_on_a_log_axis(tmp_path, monkeypatch):
    from srcfpga.sweep import plots

    axes, real_figure = [], plots._figure

    def figure(*args):
        fig, fig_axes = real_figure(*args)
        axes.extend(fig_axes)
        return fig, fig_axes

    monkeypatch.setattr(plots, "_figure", figure)
    anchors = (Anchor(93.32, 40, 4, energy_uj=450.0),)
    plots.plot_accuracy_vs_cost(make_rows(energy=True), tmp_path / "e.png", "energy_uj", anchors=anchors)
    (ax,) = axes
    assert ax.get_xscale() == "log" and ax.get_xlim()[1] > 450
