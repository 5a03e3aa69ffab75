"""What a sweep covers: a typed, validated grid of weight widths x table pieces x step counts, and how to score it.

``steps`` are *stimulus* timesteps, as everywhere in srcfpga (eval, sim, estimate, train); ``blank``
steps come first. The published operating points are quoted as totals (44 = 4 blank + 40 stimulus
steps, 55 = 5 + 50, 220 = 20 + 200). Without an explicit ``blank`` the rule :func:`default_blank` puts
a tenth of the stimulus steps in front as blank steps (``stimulus // 10``): steps 40, 50, 200 give
exactly those three points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import ConfigError
from ..quant.hwmodel import check_weight_bits

# QuantConfig options a sweep may set for every point (weight_bits and segments are swept axes).
QUANT_OPTIONS = ("state_frac_bits", "current_range", "decay_shift", "gate_shift", "readout_bits",
                 "readout_acc_bits", "clip", "encoder_generators")
SIMULATORS = ("verilator", "icarus")


def default_blank(stimulus: int) -> int:
    """Blank steps before ``stimulus`` stimulus steps: a tenth of them (``stimulus // 10``)."""
    return stimulus // 10


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    """``"4,5,6"`` (or ``"4-8"``) -> ``(4, 5, 6)``; one clear :class:`ConfigError` otherwise."""
    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                values.extend(range(lo, hi + 1))
            else:
                values.append(int(part))
        except ValueError:
            raise ConfigError(f"{what}: {part!r} is not an integer or a range like 4-8") from None
    if not values:
        raise ConfigError(f"{what}: empty list")
    return tuple(values)


@dataclass(frozen=True)
class SweepPoint:
    """One step setting of the grid: ``blank`` empty steps, then ``stimulus`` steps; ``total`` in all."""

    stimulus: int
    blank: int

    @property
    def total(self) -> int:
        return self.stimulus + self.blank

    @property
    def label(self) -> str:
        return f"{self.blank}+{self.stimulus}"


def _int_tuple(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        return parse_int_list(value, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ConfigError(f"{name} must be a list of integers, got {value!r}") from None
    if not items:
        raise ConfigError(f"{name} must not be empty")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ConfigError(f"{name} must hold integers, got {item!r}")
    return items


def _check_unique(name: str, values: tuple[int, ...]) -> None:
    if len(set(values)) != len(values):
        raise ConfigError(f"{name} lists a value twice: {', '.join(map(str, values))}")


@dataclass(frozen=True)
class SweepConfig:
    """A bit-width x table-pieces x step-count grid and how each point is scored.

    ``weight_bits``: widths to quantize to (2..8, 4..8 is the product range).
    ``segments``: K, pieces of each SRC nonlinearity table (:class:`srcfpga.quant.QuantConfig`).
    ``steps``: stimulus timesteps per inference; ``blank``: ``None`` for :func:`default_blank`, one
    integer for every step count, or one per step count.
    ``dataset`` / ``data_dir`` / ``limit``: the test set (first ``limit`` samples).
    ``qat_epochs``: 0 for post-training quantization only; otherwise each width is fine-tuned
    quantization-aware (:mod:`srcfpga.nn.train`) for that many epochs on the training split (its first
    ``qat_train_limit`` samples; in ``qat_data_dir`` when the training files are not in ``data_dir``), at
    the model's own step setting, then evaluated at every step count.
    ``board``: an Artix-7 board of :mod:`srcfpga.boards` for resource / power / energy estimates.
    ``seed``: encoder seed of test sample 0 (sample n uses seed + n) and the QAT seed.
    ``lanes``: HDL lanes for the cycle model and estimates (``None``: the HDL's default).
    ``latency_samples``: test samples whose golden traces feed the cycle model (0: no latency).
    ``sim_samples``: test samples run through the generated RTL (cocotb) per point (0: no RTL check).
    ``quant``: further :class:`srcfpga.quant.QuantConfig` options, the same for every point.
    """

    weight_bits: tuple[int, ...] = (4, 5, 6, 7, 8)
    steps: tuple[int, ...] = (40, 50, 200)
    segments: tuple[int, ...] = (1,)
    blank: tuple[int, ...] | int | None = None
    dataset: str = "digits"
    data_dir: Path | None = None
    limit: int | None = None
    qat_epochs: int = 0
    qat_train_limit: int | None = None
    qat_data_dir: Path | None = None
    board: str | None = None
    seed: int = 0
    lanes: int | None = None
    latency_samples: int = 256
    sim_samples: int = 0
    simulator: str = "verilator"
    quant: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from ..data import DATASETS
        from ..hdl import HdlConfig

        bits = _int_tuple("weight_bits", self.weight_bits)
        for b in bits:
            check_weight_bits(b)
        _check_unique("weight_bits", bits)
        object.__setattr__(self, "weight_bits", bits)
        segments = _int_tuple("segments", self.segments)
        _check_unique("segments", segments)
        object.__setattr__(self, "segments", segments)
        steps = _int_tuple("steps", self.steps)
        _check_unique("steps", steps)
        object.__setattr__(self, "steps", steps)
        if self.blank is not None:
            blank = _int_tuple("blank", self.blank)
            if len(blank) == 1 and len(steps) > 1:
                blank = blank * len(steps)
            if len(blank) != len(steps):
                raise ConfigError(f"give one blank count for all step counts or one per step count "
                                  f"({len(steps)}), got {len(blank)}")
            object.__setattr__(self, "blank", blank)
        for point in self.points:
            if point.blank < 0 or point.stimulus < 1:
                raise ConfigError(f"steps must be >= 1 stimulus steps and blank >= 0, got {point.stimulus} "
                                  f"steps with {point.blank} blank")
        if self.dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        if self.dataset != "digits" and self.data_dir is None:
            raise ConfigError(f"dataset {self.dataset!r} needs a data directory (data_dir / --data-dir)")
        for name in ("data_dir", "qat_data_dir"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        for name in ("limit", "qat_train_limit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer (unset: all samples), got {value!r}")
        for name in ("qat_epochs", "latency_samples", "sim_samples", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
        if isinstance(self.lanes, bool):
            raise ConfigError(f"lanes must be an integer, got {self.lanes!r}")
        HdlConfig(lanes=self.lanes)             # the HDL's rule for lanes

        if self.simulator not in SIMULATORS:
            raise ConfigError(f"simulator must be one of {', '.join(SIMULATORS)}, got {self.simulator!r}")
        if self.board is not None and not isinstance(self.board, str):
            raise ConfigError(f"board must be a board name, got {self.board!r}")
        quant = dict(self.quant or {})
        unknown = sorted(set(quant) - set(QUANT_OPTIONS))
        if unknown:
            raise ConfigError(f"unknown quantization option(s) {', '.join(unknown)}; "
                              f"choose from {', '.join(QUANT_OPTIONS)}")
        for k in segments:
            self.quant_config(bits[0], quant, k)      # validates the options
        object.__setattr__(self, "quant", quant)

    @property
    def points(self) -> tuple[SweepPoint, ...]:
        blanks: Iterable[int] = self.blank if self.blank is not None else (default_blank(t) for t in self.steps)
        return tuple(SweepPoint(s, b) for s, b in zip(self.steps, blanks))

    @property
    def grid(self) -> tuple[tuple[int, int, SweepPoint], ...]:
        """Every (weight_bits, segments, point) of the sweep, widths outermost, then table pieces."""
        return tuple((b, k, p) for b in self.weight_bits for k in self.segments for p in self.points)

    def quant_config(self, weight_bits: int, base: Mapping[str, Any] | None = None, segments: int = 1):
        from ..quant import QuantConfig

        options = {k: v for k, v in dict(self.quant if base is None else base).items() if k in QUANT_OPTIONS}
        try:
            return QuantConfig(weight_bits=weight_bits, segments=segments, **options)
        except TypeError as exc:
            raise ConfigError(f"bad quantization options: {exc}") from None

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in ("data_dir", "qat_data_dir"):
            data[name] = str(getattr(self, name)) if getattr(self, name) is not None else None
        data["weight_bits"], data["steps"] = list(self.weight_bits), list(self.steps)
        data["segments"] = list(self.segments)
        data["blank"] = [p.blank for p in self.points]
        data["quant"] = dict(self.quant)
        return data
