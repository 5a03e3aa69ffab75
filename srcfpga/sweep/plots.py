"""PNG plots of a sweep (matplotlib, Agg backend; nothing is shown on screen).

* ``accuracy_vs_bits.png``: golden accuracy against weight bits, one line per step count (and table
  size K when several), the float model's accuracy at that step count dashed in the same colour, PTQ
  before QAT dotted (QAT sweeps), and the caller's anchors (published figures) as stars / dotted lines.
* ``accuracy_vs_segments.png`` (sweeps over several K): golden accuracy against K, the pieces of each
  nonlinearity table, one line per weight width and step count, the float model dashed.
* ``accuracy_vs_energy.png`` (with board estimates) or ``accuracy_vs_cycles.png`` (cycle model only):
  every point labelled ``bits/blank+steps`` (``bits/K/blank+steps`` over several K; labels never overlap:
  coinciding points share one), the
  Pareto front (least cost for the accuracy) highlighted; published energies (anchors) on the energy
  plot, on a log axis when the figures span more than a factor 8.
* ``resources_vs_bits.png``: weight memory, and LUT / FF / BRAM36 when a board estimate gave them, with
  the board's capacity as a dashed line; points that do not fit are crossed on the energy plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .anchors import Anchor
from .estimates import board_capacity
from .pareto import pareto_front
from .rows import SweepRow


def _figure(width: float, height: float, columns: int = 1):
    """A figure drawn by the Agg canvas directly (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, columns, squeeze=False)[0]


def _colors() -> list[str]:
    import matplotlib

    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _finish(fig, ax, path: Path, xlabel: str, ylabel: str, title: str, which: str = "major") -> Path:
    """Axis labels, the grid (``which`` ticks), the title and the legend right of the axes; saved to ``path``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3, which=which)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path)


def _by_steps(rows: Sequence[SweepRow]) -> dict[tuple[int, int, int], list[SweepRow]]:
    """Rows by (steps, blank, segments), each group in weight-bits order."""
    groups: dict[tuple[int, int, int], list[SweepRow]] = {}
    for row in sorted(rows, key=lambda r: (r.steps, r.blank, r.segments, r.weight_bits)):
        groups.setdefault((row.steps, row.blank, row.segments), []).append(row)
    return groups


def _several_k(rows: Sequence[SweepRow]) -> bool:
    return len({r.segments for r in rows}) > 1


def plot_accuracy_vs_bits(rows: Sequence[SweepRow], path: Path, anchors: Sequence[Anchor] = (),
                          title: str | None = None) -> Path:
    fig, (ax,) = _figure(7.0, 4.6)
    colors = _colors()
    step_color = {}
    all_bits = sorted({r.weight_bits for r in rows})
    qat = any(r.qat_epochs for r in rows)
    several_k = _several_k(rows)
    for index, ((steps, blank, segments), group) in enumerate(_by_steps(rows).items()):
        color = colors[index % len(colors)]
        step_color.setdefault(steps, color)
        bits = [r.weight_bits for r in group]
        ax.plot(bits, [100 * r.accuracy for r in group], "o-", color=color,
                label=f"{blank}+{steps} steps{f', K = {segments}' if several_k else ''}, "
                      f"{'QAT' if qat else 'PTQ'} golden")
        if qat:
            ax.plot(bits, [100 * r.ptq_accuracy for r in group], ".:", color=color, alpha=0.7,
                    label=f"{blank}+{steps} steps, PTQ before QAT")
        flt = [r.float_accuracy for r in group if r.float_accuracy is not None]
        if flt and segments == min(r.segments for r in rows):          # one float line per step count
            ax.axhline(100 * flt[0], color=color, linestyle="--", linewidth=1.0,
                       label=f"{blank}+{steps} steps, float {100 * flt[0]:.2f} %")
    for anchor in anchors:
        color = step_color.get(anchor.steps, "black")
        if anchor.weight_bits is not None:
            ax.plot([anchor.weight_bits], [anchor.accuracy], marker="*", markersize=13, linestyle="none",
                    color=color, markeredgecolor="black", label=anchor.describe())
        else:
            ax.axhline(anchor.accuracy, color=color, linestyle=":", linewidth=1.6, label=anchor.describe())
    ax.set_xticks(sorted(set(all_bits) | {a.weight_bits for a in anchors if a.weight_bits is not None}))
    return _finish(fig, ax, path, "weight bits", "test accuracy (%)", title or "accuracy versus weight bits")


def plot_accuracy_vs_segments(rows: Sequence[SweepRow], path: Path, title: str | None = None) -> Path:
    """Golden accuracy against K (pieces per nonlinearity table), one line per (weight bits, step setting)."""
    fig, (ax,) = _figure(7.0, 4.6)
    colors = _colors()
    groups: dict[tuple[int, int, int], list[SweepRow]] = {}
    for row in sorted(rows, key=lambda r: (r.steps, r.blank, r.weight_bits, r.segments)):
        groups.setdefault((row.steps, row.blank, row.weight_bits), []).append(row)
    floats: dict[tuple[int, int], float] = {}
    for index, ((steps, blank, bits), group) in enumerate(groups.items()):
        ax.plot([r.segments for r in group], [100 * r.accuracy for r in group], "o-", color=colors[index % len(colors)],
                label=f"{bits} bits, {blank}+{steps} steps")
        for r in group:
            if r.float_accuracy is not None:
                floats[(steps, blank)] = r.float_accuracy
    for (steps, blank), accuracy in floats.items():
        ax.axhline(100 * accuracy, color="grey", linestyle="--", linewidth=1.0,
                   label=f"float, {blank}+{steps} steps: {100 * accuracy:.2f} %")
    ks = sorted({r.segments for r in rows})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    return _finish(fig, ax, path, "K, pieces per nonlinearity table (1: hard clamps and a step gate)",
                   "test accuracy (%)", title or "accuracy versus table pieces K")


def _plain_numbers(ax) -> None:
    """No offset or scientific notation on linear axes (ticks like 1e3 + 0.2 are unreadable)."""
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "linear":
            axis.get_major_formatter().set_useOffset(False)
            axis.get_major_formatter().set_scientific(False)


LABEL_OFFSETS = ((4, 3), (4, -10), (-4, 3), (-4, -10), (4, 12), (-4, 12), (4, -19), (-4, -19))   # points


def _label_points(ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], fontsize: float = 6.5) -> None:
    """Label every point without overlaps: points that coincide on screen share one label, and each label
    takes the first offset around its point whose box is clear of the labels placed before it."""
    ax.autoscale_view()
    screen = ax.transData.transform(list(zip(xs, ys)))
    merged: list[tuple[tuple[float, float], list[str], tuple[float, float]]] = []
    for (x, y), label, (sx, sy) in zip(zip(xs, ys), labels, screen):
        for (mx, my), names, _ in merged:
            if abs(mx - sx) < 4 and abs(my - sy) < 4:
                names.append(label)
                break
        else:
            merged.append(((sx, sy), [label], (x, y)))
    scale = ax.figure.dpi / 72.0                      # display pixels per point
    placed: list[tuple[float, float, float, float]] = []
    for (sx, sy), names, (x, y) in merged:
        text = ", ".join(names)
        width, height = 0.6 * fontsize * len(text) * scale, fontsize * scale
        for dx, dy in LABEL_OFFSETS:
            left = sx + dx * scale - (width if dx < 0 else 0)
            box = (left, sy + dy * scale, left + width, sy + dy * scale + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                    ha="right" if dx < 0 else "left")


def plot_accuracy_vs_cost(rows: Sequence[SweepRow], path: Path, cost: str, title: str | None = None,
                          anchors: Sequence[Anchor] = ()) -> Path:
    """Accuracy against ``cost`` (a row field: ``energy_uj`` or ``cycles_per_inference``), Pareto front marked.
    On the energy plot, anchors with a published energy are drawn as stars (a log axis spans both)."""
    points = [r for r in rows if getattr(r, cost) is not None]
    if not points:
        raise ValueError(f"no row has {cost}")
    costs = [float(getattr(r, cost)) for r in points]
    accs = [100 * r.accuracy for r in points]
    front = pareto_front(costs, accs)
    fig, (ax,) = _figure(7.0, 4.6)
    colors = _colors()
    step_color = {}
    steps_blank = list(dict.fromkeys((steps, blank) for steps, blank, _ in _by_steps(points)))
    for index, (steps, blank) in enumerate(steps_blank):
        chosen = [i for i, r in enumerate(points) if (r.steps, r.blank) == (steps, blank)]
        step_color.setdefault(steps, colors[index % len(colors)])
        ax.scatter([costs[i] for i in chosen], [accs[i] for i in chosen], color=colors[index % len(colors)],
                   s=28, zorder=3, label=f"{blank}+{steps} steps")
    too_big = [i for i, r in enumerate(points) if r.fits is False]
    if too_big:
        ax.scatter([costs[i] for i in too_big], [accs[i] for i in too_big], marker="x", s=90, color="black",
                   zorder=5, label=f"does not fit {points[too_big[0]].board}")
    ax.plot([costs[i] for i in front], [accs[i] for i in front], "-", color="crimson", linewidth=2.2, alpha=0.6,
            zorder=2, label="Pareto front")
    ax.scatter([costs[i] for i in front], [accs[i] for i in front], s=90, facecolors="none",
               edgecolors="crimson", linewidths=1.5, zorder=4)
    drawn = [a for a in anchors if cost == "energy_uj" and a.energy_uj is not None]
    for anchor in drawn:
        ax.plot([anchor.energy_uj], [anchor.accuracy], marker="*", markersize=13, linestyle="none",
                color=step_color.get(anchor.steps, "black"), markeredgecolor="black",
                label=f"{anchor.describe()}, {anchor.energy_uj:g} uJ")
    label = {"energy_uj": "energy per inference (uJ)",
             "cycles_per_inference": "cycles per inference (cycle model)"}.get(cost, cost)
    span = costs + [a.energy_uj for a in drawn]
    if max(span) > 8 * max(min(span), 1e-12):
        ax.set_xscale("log")
    _plain_numbers(ax)
    several_k = _several_k(points)
    _label_points(ax, costs, accs, [f"{r.weight_bits}b/{f'K{r.segments}/' if several_k else ''}{r.blank}+{r.steps}"
                                    for r in points])
    return _finish(fig, ax, path, label, "test accuracy (%)",
                   title or f"accuracy versus {label.split(' (')[0]}", which="both")


RESOURCE_FIELDS = (("lut", "LUT"), ("ff", "FF"), ("bram36", "BRAM36"))


def plot_resources_vs_bits(rows: Sequence[SweepRow], path: Path, title: str | None = None) -> Path:
    """Weight memory (always) and estimated LUT / FF / BRAM36 (when present) against weight bits."""
    per_bits: dict[int, SweepRow] = {}
    for row in sorted(rows, key=lambda r: (r.weight_bits, r.steps)):
        per_bits.setdefault(row.weight_bits, row)   # resources do not depend on the step count
    bits = sorted(per_bits)
    present = [(f, name) for f, name in RESOURCE_FIELDS if any(getattr(per_bits[b], f) is not None for b in bits)]
    fig, axes = _figure(3.6 * (1 + len(present)), 3.6, 1 + len(present))
    axes[0].plot(bits, [per_bits[b].weight_memory_bits / 1024 for b in bits], "o-")
    axes[0].set_ylabel("weight memory (kbit)")
    for ax, (f, name) in zip(axes[1:], present):
        xs = [b for b in bits if getattr(per_bits[b], f) is not None]
        ax.plot(xs, [getattr(per_bits[b], f) for b in xs], "o-")
        board = next((per_bits[b].board for b in xs if per_bits[b].board), "")
        ax.set_ylabel(f"{name} ({board} estimate)" if board else name)
        if board:
            ax.axhline(board_capacity(board)[f], color="crimson", linestyle="--", linewidth=1.2,
                       label=f"{board} capacity")
            ax.set_ylim(bottom=0)
            ax.legend(fontsize=7, loc="best")
    for ax in axes:
        ax.set_xlabel("weight bits")
        ax.set_xticks(bits)
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or "resources versus weight bits", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_sweep(rows: Sequence[SweepRow], out_dir: Path, anchors: Sequence[Anchor] = (),
               title: str | None = None) -> dict[str, Path]:
    """Every plot the rows allow; returns ``{name: path}``."""
    out_dir = Path(out_dir)
    prefix = f"{title}: " if title else ""
    paths = {"accuracy_vs_bits": plot_accuracy_vs_bits(rows, out_dir / "accuracy_vs_bits.png", anchors,
                                                       title=prefix + "accuracy versus weight bits")}
    if _several_k(rows):
        paths["accuracy_vs_segments"] = plot_accuracy_vs_segments(rows, out_dir / "accuracy_vs_segments.png",
                                                                  title=prefix + "accuracy versus table pieces K")
    if any(r.energy_uj is not None for r in rows):
        paths["accuracy_vs_energy"] = plot_accuracy_vs_cost(rows, out_dir / "accuracy_vs_energy.png", "energy_uj",
                                                            title=prefix + "accuracy versus energy", anchors=anchors)
    elif any(r.cycles_per_inference is not None for r in rows):
        paths["accuracy_vs_cycles"] = plot_accuracy_vs_cost(rows, out_dir / "accuracy_vs_cycles.png",
                                                            "cycles_per_inference",
                                                            title=prefix + "accuracy versus cycles per inference")
    paths["resources_vs_bits"] = plot_resources_vs_bits(rows, out_dir / "resources_vs_bits.png",
                                                        title=prefix + "resources versus weight bits")
    return paths


def plot_search(result, path: Path, title: str | None = None) -> Path:
    """The estimates of an accuracy-floor search (:class:`srcfpga.sweep.search.SearchResult`): accuracy
    against energy per inference, one colour per step setting, crossed where the design does not fit or
    misses the clock, the floor dashed, the least-energy configuration starred and labelled."""
    candidates = result.candidates
    fig, (ax,) = _figure(7.0, 4.6)
    colors = _colors()
    settings = list(dict.fromkeys((c.blank, c.steps) for c in candidates))
    for index, (blank, steps) in enumerate(settings):
        chosen = [c for c in candidates if (c.blank, c.steps) == (blank, steps)]
        ax.scatter([c.energy_uj for c in chosen], [100 * c.accuracy for c in chosen], s=26, zorder=3,
                   color=colors[index % len(colors)], label=f"{blank}+{steps} steps")
    rejected = [c for c in candidates if not c.eligible]
    if rejected:
        ax.scatter([c.energy_uj for c in rejected], [100 * c.accuracy for c in rejected], marker="x", s=80,
                   color="black", zorder=4, label="does not fit / misses the clock")
    ax.axhline(100 * result.config.accuracy_floor, color="gray", linestyle="--", linewidth=1.2,
               label=f"floor {100 * result.config.accuracy_floor:.2f} %")
    if result.best is not None:
        best = result.best
        ax.plot([best.energy_uj], [100 * best.accuracy], marker="*", markersize=16, linestyle="none",
                color="crimson", markeredgecolor="black", zorder=5, label=f"least energy: {best.energy_uj:.3f} uJ")
        ax.annotate(best.label(), (best.energy_uj, 100 * best.accuracy), textcoords="offset points",
                    xytext=(6, 6), fontsize=7)
    energies = [c.energy_uj for c in candidates]
    if energies and max(energies) > 8 * max(min(energies), 1e-12):
        ax.set_xscale("log")
    _plain_numbers(ax)
    return _finish(fig, ax, path, f"energy per inference (uJ, {result.config.board} estimate)", "golden accuracy (%)",
                   title or "least energy above the accuracy floor", which="both")
