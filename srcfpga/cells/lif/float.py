"""Float LIF-family layer in torch (the ``float`` part of the ``if``, ``lif`` and ``cubalif`` kinds).

It computes what snnTorch 1.0 computes, operation for operation in float32, so that a network trained there (or
imported from its NIR export) gives the same spikes here. Per step, for the input ``x`` (spikes)::

    I     = fc(x)                                       nn.Linear: W x + b
    R     = recurrent(s_prev)                           recurrent layers: nn.Linear (with bias) on the previous spikes
    r     = H(v - threshold), detached                  the previous step's spike (snnTorch's reset_delay)
    LIF:      subtract:    v = ((beta v + I) + R) - r threshold              snnTorch Leaky / RLeaky
              zero:        v = (beta ((1 - r) v) + I) + R                     snnTorch Leaky
              zero_after:  u = (beta v + I) + R;  v = u - r u                 snnTorch RLeaky
    CubaLIF:  i = (alpha i + I) + R; then as LIF with I = i, R = 0           snnTorch Synaptic / RSynaptic
              (zero_after: snnTorch Synaptic / RSynaptic "zero"; the current keeps its value)
    IF:       LIF with beta = 1
    s     = H(v - threshold)                            strict (v > threshold), arctan surrogate gradient

``beta``, ``alpha`` and ``threshold`` are per-neuron buffers (snnTorch clamps beta and alpha to [0, 1]; so does
this layer). States start at 0. The quantizer (:mod:`srcfpga.cells.lif.quantize`) turns this into the integer step
of docs/fixed-point.md, section 7.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ...errors import ConfigError
from .layer import RESETS

KINDS = ("if", "lif", "cubalif")


class ATanSpike(torch.autograd.Function):
    """snnTorch's ``surrogate.atan``: ``x > 0`` forward, ``a / 2 / (1 + (pi a x / 2)^2)`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.slope / 2 / (1 + (math.pi / 2 * ctx.slope * x) ** 2), None


def _add(value: torch.Tensor, feedback: torch.Tensor | None) -> torch.Tensor:
    """``value + feedback`` (snnTorch adds the recurrent term last: float addition is not associative)."""
    return value if feedback is None else value + feedback


def _per_neuron(name: str, value: float | Sequence[float] | torch.Tensor, n_out: int) -> torch.Tensor:
    tensor = torch.as_tensor(value, dtype=torch.float32).flatten()
    if tensor.numel() == 1:
        tensor = tensor.expand(n_out)
    if tensor.numel() != n_out:
        raise ConfigError(f"{name} needs 1 or {n_out} values, got {tensor.numel()}")
    return tensor.clone()


class LIFLayer(nn.Module):
    """``n_in -> n_out`` neurons of kind ``kind`` (``"if"``, ``"lif"``, ``"cubalif"``).

    Parameters: ``fc`` (``nn.Linear(n_in, n_out)``) and, with ``recurrent``, ``recurrent``
    (``nn.Linear(n_out, n_out)``); buffers ``beta`` (1 for IF), ``alpha`` (CubaLIF) and ``threshold``, one value per
    neuron (a scalar is broadcast). ``reset``: ``"subtract"``, ``"zero"`` or ``"zero_after"`` (module docstring).
    ``surrogate``: the arctan slope. Copy trained weights into ``fc.weight``, ``fc.bias``, ``recurrent.weight``,
    ``recurrent.bias`` (snnTorch: the ``nn.Linear`` before the neuron, and ``RLeaky.recurrent``).
    """

    def __init__(self, n_in: int, n_out: int, kind: str = "lif", *, beta=0.9, alpha=0.8, threshold=1.0,
                 reset: str = "subtract", recurrent: bool = False, surrogate: float = 2.0):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"LIF-family kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if reset not in RESETS:
            raise ConfigError(f"reset must be one of {', '.join(RESETS)}, got {reset!r}")
        self.kind, self.reset, self.surrogate = kind, reset, surrogate
        self.fc = nn.Linear(n_in, n_out)
        self.recurrent = nn.Linear(n_out, n_out) if recurrent else None
        self.register_buffer("beta", _per_neuron("beta", 1.0 if kind == "if" else beta, n_out))
        self.register_buffer("alpha", _per_neuron("alpha", alpha, n_out) if kind == "cubalif" else None)
        self.register_buffer("threshold", _per_neuron("threshold", threshold, n_out))

    @property
    def n_in(self) -> int:
        return self.fc.in_features

    @property
    def n_out(self) -> int:
        return self.fc.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Output spikes ``(batch, T, n_out)`` of inputs ``x`` ``(batch, T, n_in)``, from zero states."""
        return self.run(x)[0]

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Spikes and the states after each step (``v``; CubaLIF also ``i``), each ``(batch, T, n_out)``."""
        batch, steps, _ = x.shape
        zeros = x.new_zeros(batch, self.n_out)
        v, i, s = zeros, zeros, zeros
        beta = self.beta.clamp(0, 1)
        alpha = None if self.alpha is None else self.alpha.clamp(0, 1)
        records = []
        for t in range(steps):
            drive = self.fc(x[:, t])
            feedback = None if self.recurrent is None else self.recurrent(s)
            if alpha is not None:
                i = _add(alpha * i + drive, feedback)
                drive, feedback = i, None
            r = ATanSpike.apply(v - self.threshold, self.surrogate).detach()
            if self.reset == "zero":
                v = _add(beta * ((1 - r) * v) + drive, feedback)
            else:
                base = _add(beta * v + drive, feedback)
                v = base - r * self.threshold if self.reset == "subtract" else base - r * base
            s = ATanSpike.apply(v - self.threshold, self.surrogate)
            records.append((s, v, i))
        spikes, v, i = (torch.stack(column, dim=1) for column in zip(*records))
        return spikes, {"v": v} if alpha is None else {"v": v, "i": i}

    @torch.no_grad()
    def clamp_parameters(self) -> None:
        """Nothing to clamp: beta, alpha and threshold are buffers (snnTorch clamps beta and alpha when used)."""


def lif_layer(n_in: int, n_out: int, config, index: int) -> LIFLayer:
    """Layer ``index`` of a network config (:class:`srcfpga.nn.NetConfig` with :class:`LIFCellConfig` constants)."""
    c = config.cell_config
    return LIFLayer(n_in, n_out, config.cell, beta=c.beta, alpha=c.alpha, threshold=c.threshold, reset=c.reset,
                    recurrent=c.layer_recurrent(index), surrogate=c.surrogate)
