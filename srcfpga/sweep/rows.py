"""The sweep table: one :class:`SweepRow` per (weight width, table pieces, step setting), and the float references.

Accuracies are fractions in [0, 1]. Figures that a sweep did not ask for (no board, no RTL check)
are ``None`` (empty cells in the CSV, ``null`` in the JSON). ``steps`` are stimulus steps, after
``blank`` blank steps, as everywhere in srcfpga (files of version 1 stored the total: :func:`upgrade_v1`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from typing import Any


class _Record:
    """A dataclass stored as a dict: :meth:`to_dict`, and :meth:`from_dict` ignoring keys it has no field for
    (files written by later versions)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class FloatReference(_Record):
    """Accuracy of the float model (torch, same input spikes as golden) at one step setting."""

    key: str
    steps: int                      # stimulus timesteps (after the blank ones)
    blank: int
    accuracy: float
    samples: int
    seconds: float


@dataclass
class SweepRow(_Record):
    key: str                        # identifies everything the row depends on (resumability)
    weight_bits: int
    steps: int                      # stimulus timesteps per inference (after the blank ones)
    blank: int
    total_steps: int                # blank + stimulus
    qat_epochs: int
    dataset: str
    samples: int
    accuracy: float                 # golden (bit-exact hardware) accuracy of the final HardwareModel
    ptq_accuracy: float             # golden accuracy of plain PTQ (equals accuracy without QAT)
    float_accuracy: float | None    # float model at the same steps, same input spikes
    mean_input_spikes_per_step: float
    hw_hash: str                    # content hash of the HardwareModel that was evaluated
    weight_memory_bits: int         # hidden + readout weight storage
    lanes: int | None = None
    cycles_per_step: float | None = None        # cycle model (srcfpga.hdl.LatencyModel) on golden traces
    cycles_per_inference: float | None = None
    latency_us: float | None = None             # at the board's / the 100 MHz target clock
    board: str | None = None
    lut: int | None = None
    ff: int | None = None
    bram36: float | None = None
    dsp: int | None = None
    fmax_mhz: float | None = None
    power_w: float | None = None
    energy_uj: float | None = None
    fits: bool | None = None
    estimate: dict | None = None                # the estimator's full answer (JSON only)
    rtl_samples: int | None = None
    rtl_agreement: float | None = None
    rtl_mismatches: int | None = None
    rtl_cycles_per_inference: float | None = None
    rtl_cycle_model_exact: float | None = None  # share of RTL samples whose cycles equal the cycle model
    eval_seconds: float = 0.0
    qat_seconds: float | None = None
    segments: int = 1                           # K, pieces of each nonlinearity table (rows before tables: 1)

    @property
    def float_gap(self) -> float | None:
        """Points of accuracy lost against float (positive: golden trails float)."""
        return None if self.float_accuracy is None else self.float_accuracy - self.accuracy


def upgrade_v1(entry: dict) -> dict:
    """A row or float reference of a version-1 results file (``steps`` = total) in today's terms."""
    total = entry["steps"]
    upgraded = {k: v for k, v in entry.items() if k != "stimulus_steps"}
    return upgraded | {"steps": total - entry["blank"], "total_steps": total}


CSV_SKIP = ("estimate",)


def csv_columns() -> list[str]:
    """Row fields in order, with ``segments`` beside ``weight_bits``."""
    names = [f.name for f in fields(SweepRow) if f.name not in CSV_SKIP and f.name != "segments"]
    names.insert(names.index("weight_bits") + 1, "segments")
    return names


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def rows_to_csv(rows: list[SweepRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = csv_columns()
    writer.writerow(columns)
    for row in rows:
        data = row.to_dict()
        writer.writerow([_cell(data[c]) for c in columns])
    return out.getvalue()


FITS = {True: "yes", False: "NO"}


def format_table(rows: list[SweepRow]) -> str:
    """A plain-text table of the rows (accuracies in percent; ``fits``: the board estimate's verdict)."""
    energy = any(r.energy_uj is not None for r in rows)
    cycles = any(r.cycles_per_inference is not None for r in rows)
    rtl = any(r.rtl_agreement is not None for r in rows)
    tables = any(r.segments != 1 for r in rows)
    head = f"{'bits':>4}" + (f" {'K':>2}" if tables else "") \
        + f" {'blank+steps':>11} {'golden %':>9} {'PTQ %':>7} {'float %':>8}"
    head += f" {'cycles/inf':>10}" if cycles else ""
    head += f" {'LUT':>7} {'energy uJ':>9} {'fits':>4}" if energy else ""
    head += f" {'RTL agree':>9}" if rtl else ""
    lines = [head]
    for r in rows:
        flt = f"{100 * r.float_accuracy:8.2f}" if r.float_accuracy is not None else f"{'-':>8}"
        line = f"{r.weight_bits:>4}" + (f" {r.segments:>2}" if tables else "") + f" {f'{r.blank}+{r.steps}':>11}" \
               f" {100 * r.accuracy:9.2f} {100 * r.ptq_accuracy:7.2f} {flt}"
        if cycles:
            line += f" {r.cycles_per_inference:10.0f}" if r.cycles_per_inference is not None else f" {'-':>10}"
        if energy:
            line += f" {r.lut if r.lut is not None else '-':>7}"
            line += f" {r.energy_uj:9.3f}" if r.energy_uj is not None else f" {'-':>9}"
            line += f" {FITS.get(r.fits, '-'):>4}"
        if rtl:
            line += f" {r.rtl_agreement:9.3f}" if r.rtl_agreement is not None else f" {'-':>9}"
        lines.append(line)
    return "\n".join(lines)
