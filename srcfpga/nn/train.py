"""Training of float and quantization-aware SRC networks (Adam, cross-entropy on the readout)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data import Dataset
from ..errors import ConfigError
from ..quant.hwmodel import check_weight_bits
from ..quant.ptq import QuantConfig
from ..threads import thread_limit
from .network import SRCNet
from .qat import QATNet


@dataclass(frozen=True)
class TrainConfig:
    """``epochs`` float epochs, then ``qat_epochs`` quantization-aware epochs at ``weight_bits``.

    ``logit_scale``: the logits are multiplied by it inside the cross-entropy only (the class, an argmax, does
    not change). A model with a fixed readout (the imported reference: +1 / -0.1 on spike rates) has logits
    within about +-1, so its softmax is nearly flat and the loss stays near ln 10; a scale of about 10
    gives it usable gradients.

    ``threads``: torch / BLAS threads while training (``None``: torch's default, one per core). One thread
    is the default because the per-step tensors are small: more threads mostly synchronize, and on a
    loaded machine they wait for each other (benchmarks/README.md, "Training throughput").
    """

    epochs: int = 5
    qat_epochs: int = 0
    weight_bits: int | None = None
    batch_size: int = 64
    lr: float = 1e-2
    qat_lr: float = 1e-3
    seed: int = 0
    threads: int | None = 1
    logit_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.qat_epochs < 0 or self.epochs + self.qat_epochs < 1:
            raise ConfigError(f"need at least one epoch (epochs={self.epochs}, qat_epochs={self.qat_epochs})")
        if self.qat_epochs and self.weight_bits is None:
            raise ConfigError("QAT epochs need weight bits (--weight-bits)")
        if self.weight_bits is not None:
            check_weight_bits(self.weight_bits)  # before the float epochs, not after them
        if self.batch_size < 1 or self.lr <= 0 or self.qat_lr <= 0:
            raise ConfigError("batch_size and learning rates must be positive")
        if not self.logit_scale > 0:
            raise ConfigError(f"logit_scale must be positive, got {self.logit_scale}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")


@dataclass
class TrainResult:
    model: nn.Module                  # SRCNet, or QATNet after QAT epochs
    history: list[dict]
    seconds: float

    @property
    def net(self) -> SRCNet:
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


def rate_spikes(images: np.ndarray, net_config, steps: int, blank: int, generator: torch.Generator) -> torch.Tensor:
    """Random Bernoulli spikes with the hardware encoder's probability ``pixel * gain_q / 2^16``."""
    from ..data.encoder import RateEncoder

    gain_q = RateEncoder(net_config.rate_gain).gain_q
    p = torch.from_numpy(images.astype(np.float32)) * (gain_q / 65536.0)
    stim = (torch.rand((len(images), steps, images.shape[1]), generator=generator) < p[:, None, :]).float()
    return torch.cat([torch.zeros(len(images), blank, images.shape[1]), stim], dim=1)


def _epoch(model: nn.Module, data: Dataset, optimizer, cfg: TrainConfig, generator: torch.Generator,
           label: str, progress: bool) -> dict:
    from .mru import images_to_frames

    model.train()
    started = time.perf_counter()
    order = torch.randperm(len(data), generator=generator).numpy()
    loss_fn = nn.CrossEntropyLoss()
    total = correct = 0
    loss_sum = 0.0
    bar = tqdm(range(0, len(order), cfg.batch_size), desc=label, unit="batch", disable=None if progress else True,
               leave=False)
    for start in bar:
        index = order[start:start + cfg.batch_size]
        spikes = images_to_frames(model, data.images[index], generator)
        labels = torch.from_numpy(data.labels[index])
        logits = model(spikes)
        loss = loss_fn(logits.float() * cfg.logit_scale, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.clamp_parameters()
        loss_sum += loss.item() * len(index)
        correct += int((logits.argmax(1) == labels).sum())
        total += len(index)
        bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
    seconds = time.perf_counter() - started
    return {"phase": label, "loss": loss_sum / total, "train_accuracy": correct / total, "seconds": round(seconds, 1),
            "images_per_second": round(total / seconds, 1)}


def train(net: SRCNet, data: Dataset, cfg: TrainConfig, quant: QuantConfig | None = None,
          progress: bool = True) -> TrainResult:
    """Train ``net`` in place on ``data``: float epochs, then QAT epochs (``quant`` or ``weight_bits``)."""
    with thread_limit(cfg.threads):
        if getattr(net.config, "cell", "src") != "src":   # BMRU / CMRU: srcfpga.nn.mru_train
            from .mru_train import train_mru
            return train_mru(net, data, cfg, quant, progress)
        return _train_src(net, data, cfg, quant, progress)


def _train_src(net: SRCNet, data: Dataset, cfg: TrainConfig, quant: QuantConfig | None, progress: bool) -> TrainResult:
    pixels = getattr(net.encoder(), "n_pixels", net.config.input_size)
    if data.n_pixels != pixels:
        raise ConfigError(f"dataset has {data.n_pixels} inputs, the network expects {pixels}")
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    started = time.perf_counter()
    history = []
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    for epoch in range(cfg.epochs):
        history.append(_epoch(net, data, optimizer, cfg, generator, f"float {epoch + 1}/{cfg.epochs}", progress))
    model: nn.Module = net
    if cfg.qat_epochs:
        quant = quant or QuantConfig(weight_bits=cfg.weight_bits)
        model = QATNet(net, quant)
        optimizer = torch.optim.Adam(params, lr=cfg.qat_lr)
        for epoch in range(cfg.qat_epochs):
            history.append(_epoch(model, data, optimizer, cfg, generator,
                                  f"qat{quant.weight_bits} {epoch + 1}/{cfg.qat_epochs}", progress))
    net.eval()
    return TrainResult(model, history, time.perf_counter() - started)
