"""The least-energy configuration above an accuracy floor (``srcfpga sweep --accuracy-floor F --board B``).

Two kinds of axes:

* **accuracy axes**, scored by the golden model: weight bits, table pieces K and stimulus steps (the
  :class:`SweepConfig` grid) and the encoder's generators E (``QuantConfig.encoder_generators``: E decides
  which uniform number each pixel draws, so it changes the spike stream and the accuracy);
* **design axes**, any :class:`srcfpga.hdl.HdlConfig` field by name (``lanes``, ``spikes_per_cycle`` =
  weight-memory read ports, ``pack_masks``, ``memory``, ...): the same results bit for bit, other cycles,
  resources and power. A field added to HdlConfig is searchable at once (:class:`DesignAxes` parses its
  values by the field's type).

:func:`search_sweep` 1) runs one accuracy sweep per E (:func:`srcfpga.sweep.run_sweep`, resumable, into
``out_dir/accuracy-e<E>``), 2) keeps the points whose golden accuracy reaches the floor, 3) estimates
each kept point with every design combination on the board (:func:`srcfpga.boards.estimate.estimate`;
Yosys runs once per distinct design = HardwareModel x HdlConfig, cached; the step counts of a design
share its synthesis), and 4) reports the least energy per inference among the estimates that fit the
device and meet the clock. Points below the floor are never synthesized.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from ..errors import ConfigError
from ..fileio import write_text_atomic
from ..quant import HardwareModel
from .config import SweepConfig, parse_int_list
from .rows import SweepRow

# HdlConfig fields that are no design choice: trace_states is verification only (board builds refuse it).
NOT_DESIGN_AXES = ("trace_states",)
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def design_fields() -> dict[str, str]:
    """Searchable HdlConfig fields and their annotations (e.g. ``{"lanes": "int | None", ...}``)."""
    from ..hdl import HdlConfig

    return {f.name: str(f.type) for f in fields(HdlConfig) if f.name not in NOT_DESIGN_AXES}


def _parse_value(name: str, annotation: str, text: str) -> Any:
    text = text.strip()
    if "bool" in annotation:
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ConfigError(f"design axis {name}: {text!r} is not true/false (or yes/no, 1/0)")
    if "int" in annotation:
        return parse_int_list(text, f"design axis {name}")
    return text


@dataclass(frozen=True)
class DesignAxes:
    """Values of HdlConfig fields to search, ``{field: (value, ...)}``; every combination must be a valid
    HdlConfig (checked against each model when estimated)."""

    values: Mapping[str, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from ..hdl import HdlConfig

        known = design_fields()
        values = {}
        for name, options in dict(self.values).items():
            if name not in known:
                raise ConfigError(f"unknown design axis {name!r}; HdlConfig fields: {', '.join(known)}")
            options = tuple(options) if isinstance(options, (list, tuple)) else (options,)
            if not options or len(set(options)) != len(options):
                raise ConfigError(f"design axis {name}: give distinct values, got {list(options)}")
            for option in options:
                HdlConfig(**{name: option})             # the HDL's own rule for the field
            values[name] = options
        object.__setattr__(self, "values", values)

    @classmethod
    def parse(cls, specs: Sequence[str]) -> "DesignAxes":
        """``["lanes=8,16", "spikes_per_cycle=2,4", "pack_masks=no,yes"]`` (the CLI's ``--hdl``)."""
        known = design_fields()
        values: dict[str, tuple] = {}
        for spec in specs:
            name, sep, text = spec.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or not text.strip():
                raise ConfigError(f"--hdl {spec!r}: write FIELD=VALUE[,VALUE...], e.g. lanes=8,16")
            if name not in known:
                raise ConfigError(f"unknown design axis {name!r}; HdlConfig fields: {', '.join(known)}")
            if name in values:
                raise ConfigError(f"design axis {name} given twice")
            parsed = [_parse_value(name, known[name], part) for part in text.split(",") if part.strip()]
            values[name] = tuple(v for item in parsed for v in (item if isinstance(item, tuple) else (item,)))
        return cls(values)

    def combinations(self, defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every combination of the axes (``defaults`` fill the fields no axis names), in axis order."""
        names = list(self.values)
        base = {k: v for k, v in dict(defaults or {}).items() if k not in self.values}
        return [base | dict(zip(names, combo)) for combo in itertools.product(*self.values.values())]


@dataclass(frozen=True)
class SearchConfig:
    """What :func:`search_sweep` looks for.

    ``accuracy_floor``: the least golden accuracy, a fraction in (0, 1] (0.975 = 97.5 %).
    ``board``: the board whose estimate decides energy and fit (:mod:`srcfpga.boards`).
    ``encoder_generators``: E values to sweep (``None``: the quantization default / the model's).
    ``design``: HdlConfig axes (:class:`DesignAxes`); fields no axis names keep their defaults, except
    ``lanes``, which takes the sweep's ``lanes`` when given.
    """

    accuracy_floor: float
    board: str
    encoder_generators: tuple[int, ...] | None = None
    design: DesignAxes = field(default_factory=DesignAxes)

    def __post_init__(self) -> None:
        floor = self.accuracy_floor
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 < floor <= 1:
            hint = f" (a fraction: {floor / 100:g} for {floor:g} %)" if isinstance(floor, (int, float)) \
                and 1 < floor <= 100 else ""
            raise ConfigError(f"accuracy floor must be a fraction in (0, 1], got {floor!r}{hint}")
        if not isinstance(self.board, str) or not self.board:
            raise ConfigError(f"an accuracy-floor search needs a board, got {self.board!r}")
        if self.encoder_generators is not None:
            from ..data.encoder import RateEncoder

            gens = tuple(self.encoder_generators)
            if not gens or len(set(gens)) != len(gens):
                raise ConfigError(f"encoder generators: give distinct values, got {list(gens)}")
            for g in gens:
                if isinstance(g, bool) or not isinstance(g, int) or g & (g - 1):
                    raise ConfigError(f"encoder generators must be powers of two (the hardware encoder's rule), "
                                      f"got {g!r}")
                RateEncoder(1.0, g)                     # the encoder's range rule
            object.__setattr__(self, "encoder_generators", gens)
        if not isinstance(self.design, DesignAxes):
            object.__setattr__(self, "design", DesignAxes(self.design))

    def to_dict(self) -> dict:
        return {"accuracy_floor": self.accuracy_floor, "board": self.board,
                "encoder_generators": list(self.encoder_generators) if self.encoder_generators else None,
                "design": {k: list(v) for k, v in self.design.values.items()}}


@dataclass
class Candidate:
    """One estimated configuration: an accuracy point above the floor with one design."""

    weight_bits: int
    segments: int
    steps: int
    blank: int
    encoder_generators: int | None  # None: an encoder without generators (row encoders)
    hdl: dict                       # the resolved HdlConfig (lanes filled in)
    accuracy: float
    energy_uj: float
    latency_us: float
    power_w: float
    cycles_per_inference: float
    lut: int
    ff: int
    bram36: float
    dsp: int
    fmax_mhz: float
    fits: bool
    meets_timing: bool
    hw_hash: str
    synthesized: bool               # Yosys ran for this estimate (else its design was cached)

    @property
    def eligible(self) -> bool:
        """Fits the device and meets the target clock."""
        return self.fits and self.meets_timing

    def label(self) -> str:
        design = " ".join(f"{k}={v}" for k, v in self.hdl.items() if k in ("lanes", "spikes_per_cycle", "pack_masks"))
        k = f" K={self.segments}" if self.segments != 1 else ""
        return f"{self.weight_bits}-bit{k} {self.blank}+{self.steps} E={self.encoder_generators} {design}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    config: SearchConfig
    best: Candidate | None                      # least energy among the eligible candidates
    candidates: list[Candidate]                 # every estimate, least energy first
    accuracy_rows: list[SweepRow]               # every accuracy point (all E), above the floor or not
    passing: int                                # accuracy points at or above the floor
    designs: int                                # distinct designs estimated (HardwareModel x HdlConfig)
    synthesized: int                            # of which Yosys synthesized now (the rest were cached)
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"search": self.config.to_dict(), "best": self.best.to_dict() if self.best else None,
                "candidates": [c.to_dict() for c in self.candidates],
                "accuracy_points": len(self.accuracy_rows), "passing": self.passing, "designs": self.designs,
                "synthesized": self.synthesized, "seconds": round(self.seconds, 2),
                "files": {k: str(v) for k, v in self.files.items()}}

    def table(self) -> str:
        head = (f"{'bits':>4} {'K':>2} {'blank+steps':>11} {'E':>3} {'lanes':>5} {'ports':>5} {'pack':>4} "
                f"{'golden %':>8} {'cycles':>8} {'LUT':>6} {'BRAM':>5} {'W':>6} {'energy uJ':>9} {'ok':>3}")
        lines = [head]
        for c in self.candidates:
            mark = " <- least energy" if c is self.best else ""
            lines.append(
                f"{c.weight_bits:>4} {c.segments:>2} {f'{c.blank}+{c.steps}':>11} {c.encoder_generators:>3} "
                f"{c.hdl.get('lanes', '-'):>5} {c.hdl.get('spikes_per_cycle', '-'):>5} "
                f"{'yes' if c.hdl.get('pack_masks') else 'no':>4} {100 * c.accuracy:8.2f} "
                f"{c.cycles_per_inference:8.0f} {c.lut:>6} {c.bram36:5.1f} {c.power_w:6.3f} {c.energy_uj:9.3f} "
                f"{'yes' if c.eligible else 'NO':>3}{mark}")
        return "\n".join(lines)

    def summary(self) -> str:
        floor = f"{100 * self.config.accuracy_floor:.2f} %"
        counts = (f"{self.passing} of {len(self.accuracy_rows)} accuracy points reach {floor}; "
                  f"{len(self.candidates)} estimates of {self.designs} designs on {self.config.board}, "
                  f"{self.synthesized} synthesized now (the rest cached)")
        if self.best is None:
            return f"{counts}\nnone of them fits the device and meets the clock"
        b = self.best
        return (f"{counts}\nleast energy: {b.label()}: {b.energy_uj:.3f} uJ per inference at "
                f"{100 * b.accuracy:.2f} %, {b.latency_us:.2f} us, {b.power_w:.3f} W, {b.lut} LUT")


def _models(directory: Path) -> dict[str, HardwareModel]:
    """The HardwareModels a sweep saved in ``directory/models``, by content hash."""
    models = {}
    for path in sorted((directory / "models").glob("*.hw")):
        model = HardwareModel.load(path)
        models[model.content_hash] = model
    return models


def search_sweep(model: str | Path | torch.nn.Module, config: SweepConfig, search: SearchConfig,
                 out_dir: str | Path, executor: str | cf.Executor | None = None, workers: int | None = None,
                 progress: bool = True, title: str | None = None, meta: dict | None = None) -> SearchResult:
    """The least-energy configuration of ``model`` whose golden accuracy reaches ``search.accuracy_floor``
    (module doc). ``config``: the accuracy grid (its ``board`` and ``latency_samples`` are not used for the
    grid; ``latency_samples`` test images feed each estimate's activity and cycle measurement). Raises
    :class:`ConfigError` when no point reaches the floor, naming the best accuracy reached."""
    from ..hdl import HdlConfig, default_input
    from .estimates import check_board
    from .executor import cores
    from .runner import run_sweep

    started = time.perf_counter()
    out_dir = Path(out_dir)
    board = check_board(search.board)
    generators = search.encoder_generators or (None,)
    rows: list[tuple[int, SweepRow, HardwareModel]] = []
    for gens in generators:
        quant = dict(config.quant) | ({"encoder_generators": gens} if gens is not None else {})
        sub = replace(config, board=None, latency_samples=0, sim_samples=0, quant=quant)
        directory = out_dir / (f"accuracy-e{gens}" if gens is not None else "accuracy")
        result = run_sweep(model, sub, directory, executor=executor, workers=workers, progress=progress,
                           plots=False, meta=meta)
        models = _models(directory)
        for row in result.rows:
            hw = models[row.hw_hash]
            rows.append((getattr(hw.encoder, "generators", None), row, hw))
    passing = [(g, row, hw) for g, row, hw in rows if row.accuracy >= search.accuracy_floor]
    if not passing:
        g, best, _ = max(rows, key=lambda item: item[1].accuracy)
        raise ConfigError(
            f"no configuration reaches the accuracy floor {100 * search.accuracy_floor:.2f} %: the best golden "
            f"accuracy is {100 * best.accuracy:.2f} % ({best.weight_bits}-bit, K={best.segments}, "
            f"{best.blank}+{best.steps} steps, E={g}); lower the floor or add widths / steps")

    defaults = {"lanes": config.lanes} if config.lanes is not None else {}
    tasks = []
    for g, row, hw in passing:
        for combo in search.design.combinations(defaults):
            hdl = HdlConfig(**({"input": default_input(hw)} | combo)).resolve(hw)
            tasks.append((g, row, hw, hdl))

    def run(task) -> Candidate:
        g, row, hw, hdl = task
        from ..boards.estimate import estimate

        est = estimate(hw, board, steps=row.steps, blank=row.blank, dataset=config.dataset,
                       data_dir=str(config.data_dir) if config.data_dir is not None else None,
                       limit=config.latency_samples or None, seed=config.seed, hdl=hdl)
        return Candidate(row.weight_bits, row.segments, row.steps, row.blank, g, hdl.to_dict(), row.accuracy,
                         est.energy_uj, est.latency_us, est.power_w, est.cycles_per_inference, est.lut, est.ff,
                         est.bram36, est.dsp, est.fmax_mhz, est.fits, est.meets_timing, hw.content_hash,
                         not est.synthesis.get("cached", False))

    # Yosys runs in a subprocess and the activity measurement in numpy / torch: threads overlap them
    with cf.ThreadPoolExecutor(workers or cores()) as pool:
        candidates = list(pool.map(run, tasks))
    candidates.sort(key=lambda c: (c.energy_uj, -c.accuracy))
    eligible = [c for c in candidates if c.eligible]
    designs = {(c.hw_hash, json.dumps(c.hdl, sort_keys=True)) for c in candidates}
    result = SearchResult(search, eligible[0] if eligible else None, candidates, [row for _, row, _ in rows],
                          len(passing), len(designs), sum(c.synthesized for c in candidates),
                          time.perf_counter() - started)
    data = {"format": "srcfpga-search", "version": 1, "sweep": config.to_dict(), **result.to_dict()}
    write_text_atomic(out_dir / "search.json", json.dumps(data, indent=1) + "\n")
    result.files["search_json"] = out_dir / "search.json"
    from .plots import plot_search

    result.files["search_energy"] = plot_search(result, out_dir / "search_energy.png", title)
    return result
