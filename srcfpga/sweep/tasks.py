"""The work a sweep hands to its executor: plain picklable jobs and the top-level functions that run them.

Jobs carry the float model as its config and weights (a few hundred kB, no file needed on the worker)
and name the dataset (loaded once per worker process and cached). Each job runs under
:func:`srcfpga.threads.thread_limit`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ..data import Dataset, load_dataset
from ..evaluate import FrameCache, evaluate_float, evaluate_hardware
from ..nn import Net
from ..nn.checkpoint import quantize_model, weights_hash
from ..nn.network import build_net
from ..quant import HardwareModel
from ..threads import thread_limit
from .config import SweepPoint
from .rows import FloatReference, SweepRow


@dataclass(frozen=True)
class ModelPayload:
    """A float network (SRC, BMRU or CMRU) as plain data: its config and weights (numpy)."""

    config: dict
    weights: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_net(cls, net: Net, meta: dict | None = None) -> "ModelPayload":
        weights = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        return cls(net.config.to_dict(), weights, dict(meta or {}))

    def net(self) -> Net:
        net = build_net(self.config)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()})
        return net.eval()

    @property
    def content_hash(self) -> str:
        """:func:`srcfpga.nn.checkpoint.weights_hash` of the config and the weights."""
        return weights_hash(self.config, self.weights)


@dataclass(frozen=True)
class DataRef:
    """A dataset by name; workers load it themselves (cached per process)."""

    name: str
    data_dir: str | None
    limit: int | None = None
    split: str = "test"

    def load(self) -> Dataset:
        return _load(self.name, self.split, self.data_dir, self.limit)


# The input spikes of each step setting, encoded once per worker process and shared by the widths it scores
# (the encoding is about a third of a golden run; a width does not change the spike stream).
FRAMES = FrameCache()


@lru_cache(maxsize=4)
def _load(name: str, split: str, data_dir: str | None, limit: int | None) -> Dataset:
    return load_dataset(name, split, data_dir, limit)


@dataclass(frozen=True)
class FloatJob:
    model: ModelPayload
    data: DataRef
    point: SweepPoint
    seed: int
    key: str
    threads: int | None = 1


def run_float(job: FloatJob) -> FloatReference:
    """Float accuracy at one step setting."""
    with thread_limit(job.threads):
        started = time.perf_counter()
        result = evaluate_float(job.model.net(), job.data.load(), steps=job.point.stimulus, blank=job.point.blank,
                                seed=job.seed)
        return FloatReference(job.key, job.point.stimulus, job.point.blank, result.accuracy, result.samples,
                              round(time.perf_counter() - started, 2))


@dataclass(frozen=True)
class WidthJob:
    """Evaluate one weight width with ``segments``-piece tables at some step settings (``points`` with their
    row keys).

    ``hardware``: a HardwareModel computed before (resumed QAT); otherwise PTQ, then ``qat_epochs`` of
    QAT on ``train_data`` when asked for.
    """

    model: ModelPayload
    data: DataRef
    weight_bits: int
    quant: dict
    points: tuple[tuple[SweepPoint, str], ...]
    seed: int
    qat_epochs: int = 0
    train_data: DataRef | None = None
    hardware: HardwareModel | None = None
    lanes: int | None = None
    latency_samples: int = 0
    sim_samples: int = 0
    simulator: str = "verilator"
    board: str | None = None
    threads: int | None = 1
    segments: int = 1


@dataclass
class WidthResult:
    weight_bits: int
    segments: int
    hardware: HardwareModel
    rows: list[SweepRow]
    qat_seconds: float | None = None
    qat_history: list[dict] | None = None


def _quant_config(job: WidthJob):
    from ..quant import QuantConfig

    return QuantConfig(weight_bits=job.weight_bits, segments=job.segments, **job.quant)


def _qat(job: WidthJob, net: Net) -> tuple[HardwareModel, float, list[dict]]:
    from ..nn.train import TrainConfig, train

    result = train(net, job.train_data.load(), TrainConfig(epochs=0, qat_epochs=job.qat_epochs,
                                                           weight_bits=job.weight_bits, seed=job.seed),
                   quant=_quant_config(job), progress=False)
    hw = result.model.hardware_model()
    return hw, result.seconds, result.history


def run_width(job: WidthJob) -> WidthResult:
    """Quantize (and fine-tune) one width, then score it at each of the job's step settings."""
    from .estimates import board_figures, cycle_figures, rtl_figures, weight_memory_bits

    with thread_limit(job.threads):
        data = job.data.load()
        ptq = quantize_model(job.model.net(), _quant_config(job))
        hw, qat_seconds, history = ptq, None, None
        if job.qat_epochs:
            if job.hardware is not None:
                hw = job.hardware
            else:
                hw, qat_seconds, history = _qat(job, job.model.net().train())
                hw = hw.replace(source={**ptq.source, "qat_epochs": job.qat_epochs})
        rows = []
        for point, key in job.points:
            started = time.perf_counter()
            golden = evaluate_hardware(hw, data, steps=point.stimulus, blank=point.blank, seed=job.seed, cache=FRAMES)
            ptq_acc = golden.accuracy if hw is ptq else \
                evaluate_hardware(ptq, data, steps=point.stimulus, blank=point.blank, seed=job.seed,
                                  cache=FRAMES).accuracy
            extra: dict[str, Any] = {}
            if job.latency_samples:
                extra.update(cycle_figures(hw, data, point, job.seed, job.lanes, job.latency_samples))
            if job.board is not None:
                board = board_figures(hw, job.board, job.data.name, job.data.data_dir, point, job.seed, job.lanes,
                                      job.latency_samples)
                if "cycles_per_inference" in extra:      # same cycle model and samples: keep the traced figure
                    del board["cycles_per_inference"]
                extra.update(board)
            if job.sim_samples:
                extra.update(rtl_figures(hw, data, point, job.seed, job.lanes, job.sim_samples, job.simulator))
            rows.append(SweepRow(
                key=key, weight_bits=job.weight_bits, segments=job.segments, steps=point.stimulus, blank=point.blank,
                total_steps=point.total, qat_epochs=job.qat_epochs, dataset=data.name, samples=golden.samples,
                accuracy=golden.accuracy, ptq_accuracy=ptq_acc, float_accuracy=None,
                mean_input_spikes_per_step=golden.mean_input_spikes_per_step, hw_hash=hw.content_hash,
                weight_memory_bits=weight_memory_bits(hw), qat_seconds=qat_seconds,
                eval_seconds=round(time.perf_counter() - started, 2), **extra))
        return WidthResult(job.weight_bits, job.segments, hw, rows, qat_seconds, history)

