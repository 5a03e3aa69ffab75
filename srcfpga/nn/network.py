"""Float network: encoded input (rate-coded pixels or row-encoded frames) -> SRC layers -> readout of summed
output spikes."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .config import NetConfig
from .src import SRCLayer


class SRCNet(nn.Module):
    """Stack of :class:`SRCLayer`; ``forward`` returns logits = readout(spike counts) / T."""

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        sizes = (config.input_size,) + config.hidden
        self.layers = nn.ModuleList(SRCLayer(n_in, n_out, config.src) for n_in, n_out in zip(sizes, sizes[1:]))
        readout = torch.empty(config.n_classes, sizes[-1])
        nn.init.normal_(readout, 0.0, 1.0 / sizes[-1] ** 0.5)
        self.readout = nn.Parameter(readout, requires_grad=config.readout_trainable)

    def encoder(self, generators: int = 32):
        """The input encoder of the config (rate or rows)."""
        return self.config.encoder(generators)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """``spikes``: ``(batch, T, n_in)``; returns ``(batch, n_classes)`` logits."""
        batch, steps, _ = spikes.shape
        states = [layer.initial_state(batch) for layer in self.layers]
        counts = 0
        for t in range(steps):
            s = spikes[:, t]
            for index, layer in enumerate(self.layers):
                s, states[index] = layer.step(s, states[index])
            counts = counts + s
        return (counts / steps) @ self.readout.T

    def clamp_parameters(self) -> None:
        for layer in self.layers:
            layer.clamp_parameters()


def src_net_for_dataset(dataset, hidden: tuple[int, ...], *, encoding: str = "rate",
                        row_levels: tuple[int, ...] = (64, 128, 192), steps: int | None = None,
                        blank: int | None = None, rate_gain: float = 0.25) -> SRCNet:
    """A fresh :class:`SRCNet` for ``dataset``: rate-coded pixels (default 4 blank + 40 steps) or, with
    ``encoding="rows"``, one step per image row (audio: per frame, the front end recorded)."""
    if encoding != "rows":
        return SRCNet(NetConfig(input_size=dataset.n_pixels, hidden=hidden, n_classes=dataset.n_classes,
                                rate_gain=rate_gain, steps=40 if steps is None else steps,
                                blank=4 if blank is None else blank, encoding=encoding))
    rows, width = dataset.image_shape
    if steps is not None and steps != rows:
        raise ConfigError(f"row encoding reads the {rows} rows of a {dataset.name} sample: --steps must be "
                          f"{rows} (or omitted), got {steps}")
    front_end = None if dataset.front_end is None else dataset.front_end.to_dict()
    return SRCNet(NetConfig(input_size=width * len(row_levels), hidden=hidden, n_classes=dataset.n_classes,
                            steps=rows, blank=0 if blank is None else blank, encoding="rows",
                            image_shape=(rows, width), row_levels=row_levels, front_end=front_end))
