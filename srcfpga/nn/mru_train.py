"""Training of BMRU / CMRU networks: float epochs with eps annealing (BMRU), then QAT epochs.

Two entry points: :func:`train_mru` on an image :class:`~srcfpga.data.Dataset` (frames from the
network's encoder; called by :func:`srcfpga.nn.train.train` for ``--cell bmru|cmru``) and
:func:`train_on_batches` on any stream of ``(frames, labels)`` batches (the recall task).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

import torch
from torch import nn
from tqdm import tqdm

from ..data import Dataset
from ..errors import ConfigError
from .mru import MRUNet, images_to_frames
from .train import TrainConfig, TrainResult

GRAD_CLIP = 1.0

Batches = Callable[[int, torch.Generator], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def eps_schedule(net: MRUNet, progress: float) -> float:
    """BMRU: eps goes linearly from ``eps_start`` to 0 over the first ``anneal`` fraction of the float
    epochs; CMRU: always 1."""
    cfg = net.config.mru
    if net.config.cell != "bmru":
        return 1.0
    if cfg.anneal <= 0.0:
        return 0.0
    return cfg.eps_start * max(0.0, 1.0 - progress / cfg.anneal)


def _run_epoch(model: nn.Module, batches: Iterable, optimizer, label: str, progress: bool,
               on_batch: Callable[[int], None] | None = None) -> dict:
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    total = correct = 0
    loss_sum = 0.0
    bar = tqdm(batches, desc=label, unit="batch", disable=None if progress else True, leave=False)
    for index, (frames, labels) in enumerate(bar):
        if on_batch is not None:
            on_batch(index)
        logits = model(frames)
        loss = loss_fn(logits.float(), labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], GRAD_CLIP)
        optimizer.step()
        model.clamp_parameters()
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        total += len(labels)
        bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
    return {"phase": label, "loss": loss_sum / max(total, 1), "train_accuracy": correct / max(total, 1)}


def train_on_batches(net: MRUNet, batches: Batches, n_batches: int, cfg: TrainConfig, quant=None,
                     progress: bool = True) -> TrainResult:
    """Train ``net`` in place; ``batches(epoch, generator)`` yields ``n_batches`` ``(frames, labels)`` per epoch.

    Float epochs anneal the BMRU's eps (per batch) and end with eps at its final value (0 for BMRU,
    1 for CMRU); QAT epochs (``cfg.qat_epochs``, at ``quant`` or ``cfg.weight_bits``) run the
    hardware arithmetic (:class:`srcfpga.nn.mru_qat.MRUQATNet`).
    """
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    started = time.perf_counter()
    history = []
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    total_batches = max(1, cfg.epochs * n_batches)
    for epoch in range(cfg.epochs):
        def anneal(index: int, epoch=epoch) -> None:
            net.set_eps(eps_schedule(net, (epoch * n_batches + index) / total_batches))
        history.append(_run_epoch(net, batches(epoch, generator), optimizer, f"float {epoch + 1}/{cfg.epochs}",
                                  progress, anneal))
        history[-1]["eps_end"] = float(net.eps)
    net.set_eps(net.config.eps_final)
    model: nn.Module = net
    if cfg.qat_epochs:
        from ..quant.ptq import QuantConfig
        from .mru_qat import MRUQATNet

        quant = quant or QuantConfig(weight_bits=cfg.weight_bits)
        model = MRUQATNet(net, quant)
        optimizer = torch.optim.Adam(params, lr=cfg.qat_lr)
        for epoch in range(cfg.qat_epochs):
            history.append(_run_epoch(model, batches(cfg.epochs + epoch, generator), optimizer,
                                      f"qat{quant.weight_bits} {epoch + 1}/{cfg.qat_epochs}", progress))
    net.eval()
    return TrainResult(model, history, time.perf_counter() - started)


def dataset_batches(net: MRUNet, data: Dataset, batch_size: int) -> Batches:
    """Shuffled mini-batches of ``data`` encoded by the network's encoder (rows: encoded once)."""
    cached = None
    if net.config.encoding == "rows":
        cached = images_to_frames(net, data.images)

    def batches(epoch: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(data), generator=generator).numpy()
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            frames = cached[index] if cached is not None else images_to_frames(net, data.images[index], generator)
            yield frames, torch.from_numpy(data.labels[index])
    return batches


def train_mru(net: MRUNet, data: Dataset, cfg: TrainConfig, quant=None, progress: bool = True) -> TrainResult:
    """Train a BMRU / CMRU network on an image dataset (``srcfpga train --cell bmru|cmru``)."""
    encoder = net.encoder()
    pixels = getattr(encoder, "n_pixels", net.config.input_size)
    if encoder is None:
        raise ConfigError("a network with encoding 'frames' cannot be trained on an image dataset")
    if data.n_pixels != pixels:
        raise ConfigError(f"dataset has {data.n_pixels} pixels per image, the network expects {pixels}")
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
