"""Float network: rate-coded input -> SRC layers -> readout of summed output spikes."""

from __future__ import annotations

import torch
from torch import nn

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
