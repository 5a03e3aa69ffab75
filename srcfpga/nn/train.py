"""Training of float and quantization-aware networks of every cell kind (Adam, cross-entropy on the readout).

Two entry points: :func:`train` on an image :class:`~srcfpga.data.Dataset` (frames from the network's
encoder) and :func:`train_on_batches` on any stream of ``(frames, labels)`` batches (the recall task,
benchmarks/kws.py); both run :func:`run_epoch`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterable, Iterator

import torch
from torch import nn
from tqdm import tqdm

from ..cells import CELLS
from ..cells.registry import resolve
from ..data import Dataset
from ..errors import ConfigError
from ..quant.hwmodel import check_weight_bits
from ..quant.ptq import QuantConfig
from ..threads import thread_limit
from .network import Net, images_to_frames
from .qat import QATNet

LR_SCHEDULES = ("constant", "cosine")


def cosine_lr(lr: float, index: int, n: int) -> float:
    """Learning rate of batch ``index`` (0-based) of ``n`` under cosine annealing from ``lr`` towards 0."""
    return 0.5 * lr * (1.0 + math.cos(math.pi * index / n))


@dataclass(frozen=True)
class TrainConfig:
    """``epochs`` float epochs, then ``qat_epochs`` quantization-aware epochs at ``weight_bits``.

    ``lr``: Adam's learning rate of the float epochs (None: the cell kind's default), ``qat_lr`` of the
    QAT epochs.

    ``logit_scale``: the logits are multiplied by it inside the cross-entropy only (the class, an argmax, does
    not change). A model with a fixed readout (the imported reference: +1 / -0.1 on spike rates) has logits
    within about +-1, so its softmax is nearly flat and the loss stays near ln 10; a scale of about 10
    gives it usable gradients.

    ``lr_schedule``: ``"constant"`` keeps each phase's learning rate; ``"cosine"`` anneals it per batch within
    each phase (float epochs, then QAT epochs) as ``lr_k = lr (1 + cos(pi k / n)) / 2`` for batch ``k`` of the
    phase's ``n`` batches (:func:`cosine_lr`): ``lr`` at the first batch, near 0 at the last.

    ``threads``: torch / BLAS threads while training (``None``: torch's default, one per core). One thread
    is the default because the per-step tensors are small: more threads mostly synchronize, and on a
    loaded machine they wait for each other (benchmarks/README.md, "Training throughput").
    """

    epochs: int = 5
    qat_epochs: int = 0
    weight_bits: int | None = None
    batch_size: int = 64
    lr: float | None = None
    qat_lr: float = 1e-3
    seed: int = 0
    threads: int | None = 1
    logit_scale: float = 1.0
    lr_schedule: str = "constant"

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.qat_epochs < 0 or self.epochs + self.qat_epochs < 1:
            raise ConfigError(f"need at least one epoch (epochs={self.epochs}, qat_epochs={self.qat_epochs})")
        if self.qat_epochs and self.weight_bits is None:
            raise ConfigError("QAT epochs need weight bits (--weight-bits)")
        if self.weight_bits is not None:
            check_weight_bits(self.weight_bits)  # before the float epochs, not after them
        if self.batch_size < 1 or (self.lr is not None and self.lr <= 0) or self.qat_lr <= 0:
            raise ConfigError("batch_size and learning rates must be positive")
        if not self.logit_scale > 0:
            raise ConfigError(f"logit_scale must be positive, got {self.logit_scale}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")


@dataclass
class TrainResult:
    model: nn.Module                  # Net, or QATNet after QAT epochs
    history: list[dict]
    seconds: float

    @property
    def net(self) -> Net:
        return self.model.net if isinstance(self.model, QATNet) else self.model

    def meta(self) -> dict:
        meta = {"history": self.history, "train_seconds": round(self.seconds, 1)}
        if isinstance(self.model, QATNet):
            meta["quant"] = asdict(self.model.quant)
        return meta


def with_encoding(net: nn.Module, steps: int | None = None, blank: int | None = None) -> nn.Module:
    """``net`` (in place) with the stimulus ``steps`` and ``blank`` steps of its config replaced where given: a
    model fine-tuned at other steps is trained, quantized and evaluated at those by default."""
    changes = {name: value for name, value in (("steps", steps), ("blank", blank)) if value is not None}
    if changes:
        net.config = replace(net.config, **changes)
    return net


def seed_initialization(seed: int) -> None:
    """Seed torch's global generator, which draws a new network's initial weights: call it before building a
    network that :func:`train` then trains with the same ``seed`` (same seed and data: same weights)."""
    torch.manual_seed(seed)


Batches = Callable[[int, torch.Generator], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def run_epoch(model: nn.Module, batches: Iterable, optimizer, label: str, progress: bool = True, *,
              logit_scale: float = 1.0, grad_clip: float | None = None,
              on_batch: Callable[[int], None] | None = None) -> dict:
    """One epoch of Adam on cross-entropy over ``(frames, labels)`` batches: ``on_batch(index)`` before each
    batch (a schedule), the gradient norm clipped to ``grad_clip`` (None: not clipped), the model's
    parameter clamps after each step. Returns the epoch's history record."""
    model.train()
    started = time.perf_counter()
    loss_fn = nn.CrossEntropyLoss()
    params = [p for p in model.parameters() if p.requires_grad]
    total = correct = 0
    loss_sum = 0.0
    bar = tqdm(batches, desc=label, unit="batch", disable=None if progress else True, leave=False)
    for index, (frames, labels) in enumerate(bar):
        if on_batch is not None:
            on_batch(index)
        logits = model(frames)
        loss = loss_fn(logits.float() * logit_scale, labels)
        optimizer.zero_grad()
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        model.clamp_parameters()
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        total += len(labels)
        bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
    seconds = time.perf_counter() - started
    return {"phase": label, "loss": loss_sum / max(total, 1), "train_accuracy": correct / max(total, 1),
            "seconds": round(seconds, 1), "images_per_second": round(total / max(seconds, 1e-9), 1)}


def schedule_hook(net: Net) -> Callable[[Net, float], None] | None:
    """The kind's per-batch schedule ``hook(net, progress)`` of float training (None: the kind has none)."""
    schedule = CELLS[net.config.cell].defaults.schedule
    return None if schedule is None else resolve(schedule)


def train_on_batches(net: Net, batches: Batches, n_batches: int, cfg: TrainConfig, quant: QuantConfig | None = None,
                     progress: bool = True) -> TrainResult:
    """Train ``net`` in place; ``batches(epoch, generator)`` yields ``n_batches`` ``(frames, labels)`` per epoch.

    Float epochs call the kind's schedule hook before each batch (e.g. BMRU's eps anneal) and end with the
    schedule state at its final values; QAT epochs (``cfg.qat_epochs``, at ``quant`` or ``cfg.weight_bits``)
    run the hardware arithmetic (:class:`srcfpga.nn.qat.QATNet`). Learning rate (``cfg.lr`` None) and
    gradient clipping: the kind's defaults; ``cfg.lr_schedule`` sets each batch's learning rate within a phase.
    """
    defaults = CELLS[net.config.cell].defaults
    hook = schedule_hook(net)
    options = dict(logit_scale=cfg.logit_scale, grad_clip=defaults.grad_clip)
    with thread_limit(cfg.threads):
        torch.manual_seed(cfg.seed)
        generator = torch.Generator().manual_seed(cfg.seed)
        started = time.perf_counter()
        history = []
        params = [p for p in net.parameters() if p.requires_grad]

        def phase(model: nn.Module, lr: float, epochs: int, first_epoch: int, label: str, float_phase: bool) -> None:
            optimizer = torch.optim.Adam(params, lr=lr)
            total_batches = max(1, epochs * n_batches)
            for epoch in range(epochs):
                def before_batch(index: int, epoch=epoch) -> None:
                    k = epoch * n_batches + index
                    if float_phase and hook is not None:
                        hook(net, k / total_batches)
                    if cfg.lr_schedule == "cosine":
                        for group in optimizer.param_groups:
                            group["lr"] = cosine_lr(lr, k, total_batches)
                history.append(run_epoch(model, batches(first_epoch + epoch, generator), optimizer,
                                         f"{label} {epoch + 1}/{epochs}", progress, on_batch=before_batch, **options))
                if float_phase:
                    history[-1].update({f"{name}_end": value for name, value in net.schedule().items()})

        phase(net, defaults.lr if cfg.lr is None else cfg.lr, cfg.epochs, 0, "float", True)
        net.finish_schedule()
        model: nn.Module = net
        if cfg.qat_epochs:
            quant = quant or QuantConfig(weight_bits=cfg.weight_bits)
            model = QATNet(net, quant)
            phase(model, cfg.qat_lr, cfg.qat_epochs, cfg.epochs, f"qat{quant.weight_bits}", False)
        net.eval()
        return TrainResult(model, history, time.perf_counter() - started)


def dataset_batches(net: Net, data: Dataset, batch_size: int) -> Batches:
    """Shuffled mini-batches of ``data`` encoded by the network's encoder (rows: encoded once)."""
    cached = images_to_frames(net, data.images) if net.config.encoding == "rows" else None

    def batches(epoch: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(data), generator=generator).numpy()
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            frames = cached[index] if cached is not None else images_to_frames(net, data.images[index], generator)
            yield frames, torch.from_numpy(data.labels[index])
    return batches


def train(net: Net, data: Dataset, cfg: TrainConfig, quant: QuantConfig | None = None,
          progress: bool = True) -> TrainResult:
    """Train ``net`` in place on an image dataset: float epochs, then QAT epochs (``quant`` or ``weight_bits``)."""
    encoder = net.encoder()
    if encoder is None:
        raise ConfigError("a network with encoding 'frames' cannot be trained on an image dataset")
    pixels = getattr(encoder, "n_pixels", net.config.input_size)
    if data.n_pixels != pixels:
        raise ConfigError(f"dataset has {data.n_pixels} inputs, the network expects {pixels}")
    n_batches = -(-len(data) // cfg.batch_size)
    return train_on_batches(net, dataset_batches(net, data, cfg.batch_size), n_batches, cfg, quant, progress)


def accuracy_on_batches(model: nn.Module, batches: Iterable) -> float:
    """Fraction of correct argmax predictions over ``(frames, labels)`` batches (no gradients)."""
    correct = total = 0
    model.eval()
    with torch.no_grad():
        for frames, labels in batches:
            correct += int((model(frames).argmax(1) == torch.as_tensor(labels)).sum())
            total += len(labels)
    return correct / max(total, 1)
