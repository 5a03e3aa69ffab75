"""Run a sweep: plan the jobs a results directory still lacks, run them on an executor, write the table.

``run_sweep(model, config, out_dir)`` quantizes the float model at every weight width and table size K
of ``config`` (PTQ, plus QAT fine-tuning when ``config.qat_epochs > 0``), scores every (width, K, step
setting) with the
golden model on the test set, adds the cycle model, board estimates and RTL agreement when asked, and
measures the float model at each step setting as the reference. It writes into ``out_dir``:

* ``results.json``: the config, the float references and one row per point (:class:`SweepRow`);
* ``results.csv``: the same rows as a table;
* ``models/``: the HardwareModel of every width and K (``w5-ptq.hw``, ``w5-k4-ptq.hw``, ``w5-qat1-<key>.hw``);
* PNG plots (:mod:`srcfpga.sweep.plots`).

Resumable: a row (or float reference) already in ``results.json`` whose key matches is reused, not
recomputed; the key covers everything the row depends on (model weights, test data, seed, width, steps,
blank, QAT, quantization options, lanes, board, RTL check). The files are rewritten after every
finished job, so an interrupted sweep keeps what it finished. Rows of earlier runs that the current
grid does not ask for are kept in ``results.json`` under ``other_rows``.

Sweeps may share an output directory, one after the other or at the same time: every write holds a lock
on the directory (``.results.lock``), re-reads ``results.json`` and merges, so no sweep drops the rows
another one finished meanwhile (rows of its own grid that another sweep finished are taken over).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..data import load_dataset
from ..errors import ModelFileError
from ..evaluate import check_inputs, float_encoder
from ..fileio import file_lock, write_text_atomic
from ..nn import load_model
from ..quant import HardwareModel
from .anchors import Anchor
from .config import QUANT_OPTIONS, SweepConfig
from .executor import SerialExecutor, make_executor, terminate
from .rows import FloatReference, SweepRow, format_table, rows_to_csv, upgrade_v1
from .tasks import (
    DataRef,
    FloatJob,
    ModelPayload,
    WidthJob,
    WidthResult,
    run_float,
    run_width,
)

FILE_FORMAT = "srcfpga-sweep"
VERSION = 2                      # 2: steps are stimulus steps (1: total steps; still read, see rows.upgrade_v1)
KEY_VERSION = 1                  # part of every row key: bump when the figures of a row change meaning
LOCK_FILE = ".results.lock"


@dataclass
class SweepResult:
    rows: list[SweepRow]                         # grid order: widths outermost, then K, then step settings
    floats: list[FloatReference]
    config: SweepConfig
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0                         # wall time of this run
    computed: int = 0                            # rows computed by this run
    reused: int = 0                              # rows taken from results.json (earlier or concurrent runs)

    def row(self, weight_bits: int, steps: int, segments: int = 1) -> SweepRow:
        for r in self.rows:
            if r.weight_bits == weight_bits and r.steps == steps and r.segments == segments:
                return r
        raise KeyError((weight_bits, steps, segments))

    def table(self) -> str:
        return format_table(self.rows)

    def to_pandas(self):
        """The rows as a pandas DataFrame (pandas is optional)."""
        import pandas as pd

        return pd.DataFrame([r.to_dict() for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows], "float": [f.to_dict() for f in self.floats],
                "config": self.config.to_dict(), "out_dir": str(self.out_dir),
                "files": {k: str(v) for k, v in self.files.items()}, "seconds": round(self.seconds, 2),
                "computed": self.computed, "reused": self.reused}


def _key(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()[:16]


def _load_model(model: str | Path | torch.nn.Module, meta: dict | None) -> tuple[ModelPayload, str]:
    if isinstance(model, torch.nn.Module):
        return ModelPayload.from_net(model, meta), "<in memory>"
    path = Path(model)
    if path.suffix == ".hw":
        raise ModelFileError(f"{path} is a HardwareModel; a sweep re-quantizes, so give the float model (.pt)")
    net, file_meta = load_model(path)
    return ModelPayload.from_net(net, {**file_meta, **(meta or {})}), str(path)


class _Store:
    """results.json of an output directory: rows and float references by key."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, SweepRow] = {}
        self.floats: dict[str, FloatReference] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                data = {}               # unreadable: start afresh, the file is rewritten
            if isinstance(data, dict) and data.get("format") == FILE_FORMAT and data.get("version") in (1, VERSION):
                upgrade = upgrade_v1 if data["version"] == 1 else dict
                for entry in data.get("rows", []) + data.get("other_rows", []):
                    row = SweepRow.from_dict(upgrade(entry))
                    self.rows[row.key] = row
                for entry in data.get("float", []) + data.get("other_float", []):
                    ref = FloatReference.from_dict(upgrade(entry))
                    self.floats[ref.key] = ref


def run_sweep(model: str | Path | torch.nn.Module, config: SweepConfig, out_dir: str | Path,
              executor: str | cf.Executor | None = None, workers: int | None = None,
              anchors: Sequence[Anchor] = (), progress: bool = True, plots: bool = True,
              title: str | None = None, meta: dict | None = None) -> SweepResult:
    """Run (or resume) the sweep ``config`` of the float ``model`` (a ``.pt`` file or an in-memory
    :class:`~srcfpga.nn.Net` of any cell kind).

    ``executor``: ``None`` / ``"local"`` (process pool, ``workers`` = cores), ``"serial"``,
    ``"dask://host:port"``, or any :class:`concurrent.futures.Executor` (left running).
    ``anchors``: published figures drawn on the accuracy plot. ``meta``: model metadata (its ``quant``
    options are the base of every width's QuantConfig, as for ``srcfpga quantize``).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    payload, model_path = _load_model(model, meta)
    data_dir = str(config.data_dir) if config.data_dir is not None else None
    test = load_dataset(config.dataset, "test", data_dir, config.limit)
    net = payload.net()
    check_inputs(test, getattr(float_encoder(net), "n_pixels", net.config.input_size))
    train_dir = str(config.qat_data_dir) if config.qat_data_dir is not None else data_dir
    if config.qat_epochs:
        load_dataset(config.dataset, "train", train_dir, config.qat_train_limit)   # fail early, clearly
    if config.board is not None:
        from .estimates import check_board

        config = replace(config, board=check_board(config.board))     # canonical name: stable row keys
    quant = {k: v for k, v in dict(payload.meta.get("quant") or {}).items() if k in QUANT_OPTIONS}
    quant.update(config.quant)
    model_hash = payload.content_hash
    common = {"v": KEY_VERSION, "model": model_hash, "data": _fingerprint(test.images, test.labels),
              "samples": len(test), "seed": config.seed}
    row_common = {**common, "quant": quant, "qat": config.qat_epochs, "lanes": config.lanes,
                  "latency": config.latency_samples, "board": config.board, "sim": config.sim_samples}
    if config.qat_epochs:
        row_common["qat_train"] = [config.dataset, train_dir, config.qat_train_limit]
    if config.sim_samples:
        row_common["simulator"] = config.simulator
    # keys hash the total step count, as in version 1, and K only when > 1, so that older rows are reused
    row_keys = {(b, k, p): _key({**row_common, "bits": b, "steps": p.total, "blank": p.blank}
                                | ({"segments": k} if k != 1 else {}))
                for b, k, p in config.grid}
    float_keys = {p: _key({**common, "float": True, "steps": p.total, "blank": p.blank}) for p in config.points}

    store = _Store(out_dir / "results.json")
    done_rows = {k: store.rows[k] for k in row_keys.values() if k in store.rows}
    done_floats = {k: store.floats[k] for k in float_keys.values() if k in store.floats}

    test_ref = DataRef(config.dataset, data_dir, config.limit)
    train_ref = DataRef(config.dataset, train_dir, config.qat_train_limit, "train") if config.qat_epochs else None
    models_dir = out_dir / "models"

    def hw_path(bits: int, segments: int) -> Path:
        tables = f"-k{segments}" if segments != 1 else ""
        if not config.qat_epochs:
            return models_dir / f"w{bits}{tables}-ptq.hw"
        qat_key = _key({"model": model_hash, "bits": bits, "quant": quant, "qat": config.qat_epochs,
                        "train": row_common["qat_train"], "seed": config.seed}
                       | ({"segments": segments} if segments != 1 else {}))[:10]
        return models_dir / f"w{bits}{tables}-qat{config.qat_epochs}-{qat_key}.hw"

    owned = not isinstance(executor, cf.Executor)
    pool = make_executor(executor, workers) if owned else executor
    threads = None if isinstance(pool, SerialExecutor) else 1
    jobs: list[FloatJob | WidthJob] = [
        FloatJob(payload, test_ref, p, config.seed, float_keys[p], threads)
        for p in config.points if float_keys[p] not in done_floats]
    # one job per width when it trains (QAT), synthesizes (board) or builds a simulation (RTL) once for all steps
    group = bool(config.qat_epochs or config.sim_samples or config.board)
    for bits, segments in ((b, k) for b in config.weight_bits for k in config.segments):
        todo = [(p, row_keys[(bits, segments, p)]) for p in config.points
                if row_keys[(bits, segments, p)] not in done_rows]
        if not todo:
            continue
        cached = None
        if config.qat_epochs and hw_path(bits, segments).is_file():
            try:
                cached = HardwareModel.load(hw_path(bits, segments))
            except ModelFileError:
                cached = None
        spec = dict(model=payload, data=test_ref, weight_bits=bits, segments=segments, quant=quant,
                    seed=config.seed, qat_epochs=config.qat_epochs, train_data=train_ref, hardware=cached,
                    lanes=config.lanes, latency_samples=config.latency_samples, sim_samples=config.sim_samples,
                    simulator=config.simulator, board=config.board, threads=threads)
        chunks = [tuple(todo)] if group else [(item,) for item in todo]
        jobs.extend(WidthJob(points=chunk, **spec) for chunk in chunks)
    # longest first (more steps, QAT) so that the last job to start is a short one
    jobs.sort(key=lambda j: -(sum(p.total for p, _ in j.points) * (10 if j.qat_epochs else 1)
                              if isinstance(j, WidthJob) else j.point.total))
    units = sum(len(j.points) if isinstance(j, WidthJob) else 1 for j in jobs)
    computed = 0

    def rows_now() -> list[SweepRow]:
        rows = []
        for b, k, p in config.grid:
            row = done_rows.get(row_keys[(b, k, p)])
            if row is not None:
                ref = done_floats.get(float_keys[p])
                row.float_accuracy = ref.accuracy if ref is not None else None
                rows.append(row)
        return rows

    def floats_now() -> list[FloatReference]:
        return [done_floats[float_keys[p]] for p in config.points if float_keys[p] in done_floats]

    def write(final: bool) -> None:
        with file_lock(out_dir / LOCK_FILE):
            disk = _Store(out_dir / "results.json")      # what other sweeps into this directory wrote meanwhile
            current_rows, current_floats = set(row_keys.values()), set(float_keys.values())
            for key in current_rows - done_rows.keys():
                if key in disk.rows:
                    done_rows[key] = disk.rows[key]
            for key in current_floats - done_floats.keys():
                if key in disk.floats:
                    done_floats[key] = disk.floats[key]
            rows = rows_now()
            data = {"format": FILE_FORMAT, "version": VERSION, "complete": final and len(rows) == len(row_keys),
                    "config": config.to_dict(), "model": {"path": model_path, "hash": model_hash,
                                                         "sizes": [payload.config["input_size"],
                                                                   *payload.config["hidden"]]},
                    "quant": quant, "anchors": [a.to_dict() for a in anchors],
                    "seconds": round(time.perf_counter() - started, 2),
                    "float": [f.to_dict() for f in floats_now()], "rows": [r.to_dict() for r in rows],
                    "other_rows": [r.to_dict() for k, r in {**store.rows, **disk.rows}.items()
                                   if k not in current_rows],
                    "other_float": [f.to_dict() for k, f in {**store.floats, **disk.floats}.items()
                                    if k not in current_floats]}
            write_text_atomic(out_dir / "results.json", json.dumps(data, indent=1) + "\n")
            write_text_atomic(out_dir / "results.csv", rows_to_csv(rows))

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tqdm(total=units, desc="sweep", unit="point", disable=None if progress else True) as bar:
            futures = {pool.submit(run_float if isinstance(j, FloatJob) else run_width, j): j for j in jobs}
            harvested: set = set()

            def harvest(future: cf.Future) -> None:
                nonlocal computed
                harvested.add(future)
                result = future.result()
                if isinstance(result, FloatReference):
                    done_floats[result.key] = result
                    bar.update(1)
                else:
                    assert isinstance(result, WidthResult)
                    result.hardware.save(hw_path(result.weight_bits, result.segments))
                    for row in result.rows:
                        done_rows[row.key] = row
                    computed += len(result.rows)
                    bar.update(len(result.rows))
                write(final=False)

            try:
                pending = set(futures)
                while pending:
                    done, pending = cf.wait(pending, timeout=1.0, return_when=cf.FIRST_COMPLETED)
                    for future in done:
                        harvest(future)
                    bar.refresh()    # the elapsed time moves on a terminal during long jobs (Yosys, QAT)
            except BaseException as exc:
                if owned and isinstance(exc, KeyboardInterrupt):
                    terminate(pool)          # Ctrl-C: do not wait for the running jobs (tens of seconds each)
                for future in futures:       # keep every job that finished before the failure
                    if future not in harvested and future.done() and not future.cancelled() \
                            and future.exception() is None:
                        harvest(future)
                    future.cancel()
                raise
    finally:
        if owned:
            pool.shutdown(wait=True, cancel_futures=True)
    write(final=True)
    rows = rows_now()
    files = {"results_json": out_dir / "results.json", "results_csv": out_dir / "results.csv"}
    if plots and rows:
        from .plots import plot_sweep

        files.update(plot_sweep(rows, out_dir, anchors, title))
    # reused: rows of earlier runs, and rows a concurrent sweep into the same directory finished first
    return SweepResult(rows, floats_now(), config, out_dir, files, time.perf_counter() - started, computed,
                       len(rows) - computed)
