"""Float SRC layer in torch (the ``float`` part of the SRC kind), with the paper's equations (De Geeter, Ernst, Drion).

Per step, for input spikes ``s_in`` (any real values; binary from the encoder)::

    i  = alpha * i + W s_in
    x  = rho * tanh(i / rho)
    h' = tanh(x + r h + rs hs + bias)
    zs = z_hyp - (z_hyp - z_dep) * sigmoid(10 (h - 0.5))
    hs = zs hs + (1 - zs) h
    s_out = ReLU(h')     (straight-through gradient; h and hs are detached in time)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import SRCCellConfig


class StraightThroughReLU(torch.autograd.Function):
    """ReLU forward, identity backward."""

    @staticmethod
    def forward(ctx, x):
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def resting_state(cell: SRCCellConfig, bias: float) -> float:
    """Fixed point h* = tanh((r + rs) h* + bias) of an unstimulated cell (h = hs), by bisection."""
    lo, hi = -1.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if math.tanh((cell.r + cell.rs) * mid + bias) - mid > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


class SRCLayer(nn.Module):
    """``n_in -> n_out`` SRC neurons; state is ``(i, h, hs)``, each ``(batch, n_out)``, from the buffers
    ``init_i``, ``init_h``, ``init_hs``."""

    def __init__(self, n_in: int, n_out: int, cell: SRCCellConfig):
        super().__init__()
        self.cell = cell
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        nn.init.normal_(self.weight, 0.0, 2.0 / math.sqrt(n_in))
        self.bias = nn.Parameter(torch.full((n_out,), cell.bias_init))
        rest = resting_state(cell, cell.bias_init)
        self.register_buffer("init_i", torch.zeros(n_out))
        self.register_buffer("init_h", torch.full((n_out,), rest))
        self.register_buffer("init_hs", torch.full((n_out,), rest))

    @property
    def n_in(self) -> int:
        return self.weight.shape[1]

    @property
    def n_out(self) -> int:
        return self.weight.shape[0]

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        return tuple(v.expand(batch, -1) for v in (self.init_i, self.init_h, self.init_hs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Output spikes ``(batch, T, n_out)`` of input spikes ``x`` ``(batch, T, n_in)`` from the initial state."""
        state = self.initial_state(x.shape[0])
        spikes = []
        for t in range(x.shape[1]):
            s, state = self.step(x[:, t], state)
            spikes.append(s)
        return torch.stack(spikes, dim=1)

    def step(self, s_in: torch.Tensor, state: tuple[torch.Tensor, ...]):
        c = self.cell
        i, h, hs = state
        h, hs = h.detach(), hs.detach()
        i = c.alpha * i + s_in @ self.weight.T
        x = c.rho * torch.tanh(i / c.rho)
        h_next = torch.tanh(x + c.r * h + c.rs * hs + self.bias)
        zs = c.z_hyp - (c.z_hyp - c.z_dep) * torch.sigmoid(c.gate_slope * (h - c.gate_center))
        hs = zs * hs + (1.0 - zs) * h
        return StraightThroughReLU.apply(h_next), (i, h_next, hs)

    @torch.no_grad()
    def clamp_parameters(self) -> None:
        self.bias.clamp_(self.cell.bias_min, self.cell.bias_max)


def src_layer(n_in: int, n_out: int, config, index: int) -> SRCLayer:
    """The SRC layer of a network config (:class:`srcfpga.nn.NetConfig` with SRC constants)."""
    return SRCLayer(n_in, n_out, config.cell_config)
