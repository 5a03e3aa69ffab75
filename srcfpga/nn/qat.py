"""Quantization-aware forward pass of every cell kind, equal to the golden model bit for bit.

Every forward quantizes the current float weights with :func:`srcfpga.quant.network.quantize_net` (the exported
HardwareModel is exactly what this forward computed with) and runs each layer through its kind's ``qat``
part: the golden model's own integer operations on float64 tensors holding integers (exact below 2^53),
with straight-through gradients (:mod:`srcfpga.nn.ste`) to the folded real parameters (:meth:`srcfpga.nn.Net.fold`).
The readout accumulates as :class:`srcfpga.quant.ReadoutQ` states, here once for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..cells import CELLS
from ..golden.readout import readout_step
from ..quant.hwmodel import HardwareModel, ReadoutQ
from ..quant.network import quantize_net
from ..quant.ptq import QuantConfig
from .checkpoint import quantize_model
from .network import Net
from .ste import TorchOps, ste


@dataclass
class QATTrace:
    """Per layer the ``(batch, T, n)`` integer outputs and the kind's named states; the readout after each step."""

    spikes: list[torch.Tensor]
    states: list[dict[str, torch.Tensor]]
    readout: torch.Tensor


def readout(x: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor | None,
            ro: ReadoutQ) -> tuple[torch.Tensor, torch.Tensor]:
    """The readout of ``ro`` on the last layer's integer outputs ``x`` ``(batch, T, n)``, weights and bias
    straight through from their real values: ``(logits, accumulators after each step)``; logits =
    accumulators * :meth:`~srcfpga.quant.ReadoutQ.logit_scale` (scale over the window length, or over the
    leaky readout's geometric gain)."""
    weights = ste(weights, ro.weights, ro.scale)
    bias = None if ro.bias is None else ste(bias, ro.bias, ro.scale)
    batch, steps, _ = x.shape
    acc = torch.zeros(batch, ro.n_classes, dtype=torch.float64)
    after = []
    for t in range(steps):
        if ro.counted(t, steps):
            acc = readout_step(TorchOps, ro, acc, x[:, t] @ weights.T, 0 if bias is None else bias)
        after.append(acc)
    return acc * ro.logit_scale(steps), torch.stack(after, dim=1)


class QATNet(nn.Module):
    """Wraps a float :class:`~srcfpga.nn.Net`; forward runs the hardware arithmetic of ``quant``."""

    def __init__(self, net: Net, quant: QuantConfig):
        super().__init__()
        self.net = net
        self.quant = quant

    @property
    def config(self):
        return self.net.config

    def encoder(self, generators: int = 32):
        return self.net.encoder(generators)

    def hardware_model(self) -> HardwareModel:
        """The HardwareModel this forward pass computes with (PTQ of the current weights)."""
        return quantize_net(self.net, self.quant)

    def export(self) -> HardwareModel:
        """The HardwareModel to write: :meth:`hardware_model` with the float model's hash as its source, the
        model that ``srcfpga quantize`` makes of the saved float weights at the same options."""
        return quantize_model(self.net, self.quant)

    def clamp_parameters(self) -> None:
        self.net.clamp_parameters()

    def forward(self, frames: torch.Tensor, trace: bool = False):
        """``frames``: ``(batch, T, n_in)`` binary; returns logits (and a :class:`QATTrace` if ``trace``);
        their argmax is the hardware's class."""
        hw = self.hardware_model()
        folded, weights, bias = self.net.fold()
        layer_forward = CELLS[self.config.cell].part("qat")
        x = frames.double()
        spikes, states = [], []
        for layer_f, q in zip(folded, hw.layers):
            x, named = layer_forward(layer_f, q, x, self.config)
            spikes.append(x)
            states.append(named)
        logits, after = readout(x, weights, bias, hw.readout)
        if not trace:
            return logits
        return logits, QATTrace([s.detach() for s in spikes],
                                [{name: v.detach() for name, v in named.items()} for named in states],
                                after.detach())


def with_bits(qat: QATNet, weight_bits: int) -> QATNet:
    return QATNet(qat.net, replace(qat.quant, weight_bits=weight_bits))
