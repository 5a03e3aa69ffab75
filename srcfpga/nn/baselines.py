"""Float baselines: the SRC cell, an LRU-like linear recurrent cell and a GRU, all with the
same windowed readout as :class:`srcfpga.nn.Net` (logits = readout averaged over the last
``window`` steps, plus a bias).

* :class:`SRCTaskNet`: :class:`srcfpga.cells.src.float.SRCLayer` stack (paper constants, trained weights and
  biases), readout of the output spikes.
* :class:`LinearRecurrentNet`: an LRU-like cell (Orvieto et al. 2023) without any nonlinearity:
  ``h[t] = lambda * h[t-1] + gamma * (B x[t])`` with complex diagonal ``lambda = exp(-exp(nu) + i theta)``,
  ring initialisation ``|lambda|`` in ``[r_min, r_max]``, ``gamma = sqrt(1 - |lambda|^2)``, output
  ``y = Re(C h) + D x`` and the linear readout - the whole model is linear in its input.
* :class:`GRUNet`: a standard GRU layer (spoken-digit baseline, ``benchmarks/kws.py``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..cells.src.config import SRCCellConfig
from ..cells.src.float import SRCLayer


class SRCTaskNet(nn.Module):
    def __init__(self, n_in: int, hidden: tuple[int, ...], n_classes: int, window: int,
                 cell: SRCCellConfig = SRCCellConfig(bias_init=-4.0)):
        super().__init__()
        sizes = (n_in,) + tuple(hidden)
        self.layers = nn.ModuleList(SRCLayer(a, b, cell) for a, b in zip(sizes, sizes[1:]))
        self.readout = nn.Linear(sizes[-1], n_classes)
        self.window = window

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = frames.shape
        states = [layer.initial_state(batch) for layer in self.layers]
        window = steps if self.window == 0 else min(self.window, steps)
        total = 0
        for t in range(steps):
            s = frames[:, t]
            for index, layer in enumerate(self.layers):
                s, states[index] = layer.step(s, states[index])
            if t >= steps - window:
                total = total + s
        return self.readout(total / window)

    def clamp_parameters(self) -> None:
        for layer in self.layers:
            layer.clamp_parameters()


class LinearRecurrentNet(nn.Module):
    def __init__(self, n_in: int, hidden: int, n_classes: int, window: int, r_min: float = 0.99,
                 r_max: float = 0.9999, seed: int | None = None):
        super().__init__()
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        u1, u2 = torch.rand(hidden, generator=g), torch.rand(hidden, generator=g)
        radius = torch.sqrt(u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2)
        self.nu_log = nn.Parameter(torch.log(-torch.log(radius)))
        self.theta_log = nn.Parameter(torch.log(u2 * math.pi * 2 + 1e-4))
        self.b_re = nn.Parameter(torch.randn(hidden, n_in, generator=g) / math.sqrt(2 * n_in))
        self.b_im = nn.Parameter(torch.randn(hidden, n_in, generator=g) / math.sqrt(2 * n_in))
        self.c_re = nn.Parameter(torch.randn(hidden, hidden, generator=g) / math.sqrt(hidden))
        self.c_im = nn.Parameter(torch.randn(hidden, hidden, generator=g) / math.sqrt(hidden))
        self.d = nn.Parameter(torch.randn(hidden, n_in, generator=g) / math.sqrt(n_in))
        self.readout = nn.Linear(hidden, n_classes)
        self.window = window

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``h[t]`` for the window steps in closed form, ``h[t] = sum_k lambda^(t-k) gamma B x[k]``."""
        batch, steps, _ = frames.shape
        window = steps if self.window == 0 else min(self.window, steps)
        log_lambda = torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log))       # (n,)
        gamma = torch.sqrt(1 - torch.exp(2 * log_lambda.real))
        u = torch.complex(frames @ self.b_re.T, frames @ self.b_im.T) * gamma                 # (B, T, n)
        ys = []
        k = torch.arange(steps, dtype=torch.float32)
        for t in range(steps - window, steps):
            powers = torch.exp(log_lambda[None, :] * (t - k[: t + 1, None]))                  # (t+1, n)
            h = (u[:, : t + 1] * powers[None]).sum(dim=1)                                     # (B, n)
            y = (h @ torch.complex(self.c_re, self.c_im).T).real + frames[:, t] @ self.d.T
            ys.append(y)
        return self.readout(torch.stack(ys, 1).mean(1))

    def clamp_parameters(self) -> None:
        pass


class GRUNet(nn.Module):
    """A float GRU baseline (``torch.nn.GRU``, one layer of ``hidden`` units) with the same windowed readout:
    logits = readout of the hidden state averaged over the last ``window`` steps (0: all steps)."""

    def __init__(self, n_in: int, hidden: int, n_classes: int, window: int = 0):
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, n_classes)
        self.window = window

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(frames)
        window = states.shape[1] if self.window == 0 else min(self.window, states.shape[1])
        return self.readout(states[:, -window:].mean(1))

    def clamp_parameters(self) -> None:
        pass
