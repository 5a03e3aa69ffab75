"""Accuracy of float models (torch) and hardware models (golden) on a dataset, same encoder for both.

Both paths draw input spikes from the model's deterministic rate encoder, with sample ``n`` of the
evaluated set seeded ``(seed + n) mod 2^31``; so float and golden see identical spike trains and
their accuracy difference is the quantization cost alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from .data import Dataset
from .data.encoder import SEED_BITS
from .errors import ConfigError, DatasetError, ModelFileError
from .golden import run_golden, simulate
from .nn import Net, load_model
from .quant import HardwareModel
from .quant.hwmodel import check_steps
from .threads import thread_limit


@dataclass(frozen=True)
class EvalResult:
    accuracy: float
    samples: int
    steps: int
    blank: int
    path: str                 # "float" or "golden"
    mean_input_spikes_per_step: float

    def to_dict(self) -> dict:
        return asdict(self)


def sample_seeds(seed: int, start: int, count: int) -> np.ndarray:
    return (seed + start + np.arange(count, dtype=np.int64)) % (1 << SEED_BITS)


def _batches(dataset: Dataset, batch_size: int, progress: bool, label: str):
    return _progress(range(0, len(dataset), batch_size), progress, label)


def _progress(batches, progress: bool, label: str, total: int | None = None):
    return tqdm(batches, desc=label, unit="batch", total=total, disable=None if progress else True, leave=False)


def check_inputs(dataset: Dataset, input_size: int) -> None:
    """Raise :class:`DatasetError` unless the dataset's images have ``input_size`` pixels."""
    if dataset.n_pixels != input_size:
        raise DatasetError(f"dataset {dataset.name!r} has {dataset.n_pixels} pixels per image, "
                           f"the model expects {input_size} inputs")


class FrameCache:
    """Input spike frames encoded once and kept bit-packed (one bit per spike), for several HardwareModels
    with the same encoder on the same images: the widths of a sweep share each step setting's encoding.

    Entries are keyed by encoder, images (the array itself is held, so its identity stays valid), batch,
    step setting and seed; the least recently used go when the packed frames exceed ``max_bytes``
    (MNIST: 5,000 images x 220 steps take 108 MB).
    """

    def __init__(self, max_bytes: int = 512 << 20):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()

    def frames(self, encoder, images: np.ndarray, start: int, stop: int, seeds: np.ndarray, steps: int,
               blank: int) -> Iterator[np.ndarray]:
        """The frames ``(batch, n)`` bool of ``encoder.frames(images[start:stop], steps, blank, seeds)``."""
        key = (encoder, id(images), start, stop, steps, blank, seeds.tobytes())
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            packed, n = [], 0
            for frame in encoder.frames(images[start:stop], steps, blank, seeds):
                packed.append(np.packbits(frame, axis=1))
                n = frame.shape[1]
            entry = (images, np.stack(packed), n)
            with self._lock:
                self._entries[key] = entry
                while sum(e[1].nbytes for e in self._entries.values()) > self.max_bytes and len(self._entries) > 1:
                    self._entries.popitem(last=False)
        _, packed, n = entry
        return (np.unpackbits(frame, axis=1, count=n).view(bool) for frame in packed)


def evaluate_hardware(model: HardwareModel, dataset: Dataset, steps: int | None = None, blank: int | None = None,
                      seed: int = 0, batch_size: int = 1000, progress: bool = False, workers: int = 1,
                      cache: FrameCache | None = None) -> EvalResult:
    """Golden-model accuracy of ``model`` on ``dataset``; ``workers`` threads simulate batches at once (numpy
    and torch release the GIL in the per-step array work: 2 threads on 2 idle cores take about half the time).
    ``cache``: take the input spikes from (and add them to) this :class:`FrameCache` (pixel images only)."""
    check_inputs(dataset, model.image_pixels)
    steps = model.steps if steps is None else steps
    blank = model.blank if blank is None else blank
    check_steps(steps, blank)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")

    def run(start: int) -> tuple[int, int]:
        images = dataset.images[start:start + batch_size]
        seeds = sample_seeds(seed, start, len(images))
        if cache is None:
            result = run_golden(model, pixels=images, steps=steps, blank=blank, seeds=seeds)
        else:
            result = simulate(model, cache.frames(model.encoder, dataset.images, start, start + len(images), seeds,
                                                  steps, blank), len(images))
        return int((result.predictions == dataset.labels[start:start + batch_size]).sum()), \
            int(result.input_spikes.sum())

    correct = spikes = 0
    with thread_limit(1), ThreadPoolExecutor(workers) as pool:
        starts = range(0, len(dataset), batch_size)
        for batch_correct, batch_spikes in _progress(pool.map(run, starts), progress, "golden", len(starts)):
            correct += batch_correct
            spikes += batch_spikes
    n = len(dataset)
    return EvalResult(correct / n, n, steps, blank, "golden", spikes / (n * (steps + blank)))


def float_encoder(net: Net, generators: int = 32):
    """The encoder that turns images into ``net``'s input frames (its config's: rows or rate). Raises
    :class:`ConfigError` for a network that takes frames only."""
    encoder = net.encoder(generators)
    if encoder is None:
        raise ConfigError("this network takes spike frames (encoding 'frames'), not images")
    return encoder


@torch.no_grad()
def evaluate_float(net: Net, dataset: Dataset, steps: int | None = None, blank: int | None = None,
                   seed: int = 0, batch_size: int = 500, generators: int = 32,
                   progress: bool = False) -> EvalResult:
    """Float accuracy of ``net`` on ``dataset`` with the deterministic rate encoder."""
    cfg = net.config
    encoder = float_encoder(net, generators)
    check_inputs(dataset, getattr(encoder, "n_pixels", cfg.input_size))
    steps = cfg.steps if steps is None else steps
    blank = cfg.blank if blank is None else blank
    check_steps(steps, blank)
    net.eval()
    correct = spikes = 0
    for start in _batches(dataset, batch_size, progress, "float"):
        images = dataset.images[start:start + batch_size]
        frames = encoder.encode(images, steps, blank, sample_seeds(seed, start, len(images)))
        logits = net(torch.from_numpy(frames).float())
        correct += int((logits.argmax(1).numpy() == dataset.labels[start:start + batch_size]).sum())
        spikes += int(frames.sum())
    n = len(dataset)
    return EvalResult(correct / n, n, steps, blank, "float", spikes / (n * (steps + blank)))


def load_any(path: str | Path) -> Net | HardwareModel:
    """A ``.hw`` file as a HardwareModel, anything else as a float model file."""
    path = Path(path)
    if path.suffix == ".hw":
        return HardwareModel.load(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    return load_model(path)[0]


def evaluate(model: Net | HardwareModel, dataset: Dataset, **kwargs) -> EvalResult:
    run: Callable = evaluate_hardware if isinstance(model, HardwareModel) else evaluate_float
    return run(model, dataset, **kwargs)
