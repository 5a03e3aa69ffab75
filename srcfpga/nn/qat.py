"""Quantization-aware forward pass whose values equal the golden model bit for bit.

Every forward derives the integer parameters with the very functions of :mod:`srcfpga.quant.ptq`
(the exported HardwareModel is exactly what this forward computed with) and runs
:func:`srcfpga.golden.src_update` on float64 tensors holding integers (exact below 2^53).
Gradients pass straight through the rounding of weights and biases and the floor shifts, through the clamps
as for hardtanh, and through the spike threshold with a triangular surrogate; h and hs are detached
in time as in the float cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..cells.src.golden import src_update
from ..cells.src.layer import SRCLayerQ
from ..quant.hwmodel import HardwareModel
from ..quant.ptq import QuantConfig, quantize_net
from .checkpoint import quantize_model
from .network import SRCNet


def as_tensor(array) -> torch.Tensor:
    """A float64 copy of an integer numpy array."""
    return torch.tensor(array, dtype=torch.float64)


def straight_through(exact: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """Value of ``exact``, gradient of ``surrogate``."""
    return surrogate + (exact - surrogate).detach()


class TorchOps:
    """float64 integer arithmetic with straight-through floor shifts."""

    @staticmethod
    def floor_shift(value: torch.Tensor, shift: int) -> torch.Tensor:
        scaled = value / (1 << shift)
        return straight_through(torch.floor(scaled), scaled)

    clip = staticmethod(torch.clamp)

    @staticmethod
    def where(cond: torch.Tensor, a: torch.Tensor | int, b: torch.Tensor | int) -> torch.Tensor:
        return torch.where(cond, torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64))


class SpikeFn(torch.autograd.Function):
    """``h >= half`` forward; gradient ``max(0, 1 - |h - half| / half) / half``."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, half: int) -> torch.Tensor:
        ctx.save_for_backward(h)
        ctx.half = half
        return (h >= half).double()

    @staticmethod
    def backward(ctx, grad):
        (h,) = ctx.saved_tensors
        surrogate = torch.clamp(1.0 - (h - ctx.half).abs() / ctx.half, min=0.0) / ctx.half
        return grad * surrogate, None


@dataclass
class QATTrace:
    """Per-layer ``(batch, T, n)`` tensors of spikes and states, and the readout after each step."""

    spikes: list[torch.Tensor]
    i: list[torch.Tensor]
    h: list[torch.Tensor]
    hs: list[torch.Tensor]
    readout: torch.Tensor


class _TorchLayerConstants:
    """The constants of an :class:`SRCLayerQ`, with the per-neuron bias as a float64 tensor."""

    def __init__(self, layer: SRCLayerQ, bias: torch.Tensor):
        self._layer = layer
        self.bias = bias

    def __getattr__(self, name):
        return getattr(self._layer, name)


def _ste_weights(weight: torch.Tensor, integers, scale: float) -> torch.Tensor:
    """Integer weights in value, ``weight / scale`` in gradient."""
    return straight_through(as_tensor(integers), weight.double() / scale)


class QATNet(nn.Module):
    """Wraps a float :class:`SRCNet`; forward runs the hardware arithmetic of ``quant``."""

    def __init__(self, net: SRCNet, quant: QuantConfig):
        super().__init__()
        self.net = net
        self.quant = quant

    @property
    def config(self):
        return self.net.config

    def hardware_model(self) -> HardwareModel:
        """The HardwareModel this forward pass computes with (PTQ of the current weights)."""
        return quantize_net(self.net, self.quant)

    def export(self) -> HardwareModel:
        """The HardwareModel to write: :meth:`hardware_model` with the float model's hash as its source, the
        model that ``srcfpga quantize`` makes of the saved float weights at the same options."""
        return quantize_model(self.net, self.quant)

    def clamp_parameters(self) -> None:
        self.net.clamp_parameters()

    def forward(self, spikes: torch.Tensor, trace: bool = False):
        """``spikes``: ``(batch, T, n_in)`` binary; returns logits (and a :class:`QATTrace` if ``trace``).

        logits = readout accumulators * readout scale / T; their argmax is the hardware's class.
        """
        hw = self.hardware_model()
        ops = TorchOps()
        batch, steps, _ = spikes.shape
        consts = [_TorchLayerConstants(q, _ste_weights(layer.bias, q.bias, q.unit))  # bias trains like weights
                  for layer, q in zip(self.net.layers, hw.layers)]
        weights = [_ste_weights(layer.weight, q.weights, q.unit * (1 << q.weight_shift))
                   for layer, q in zip(self.net.layers, hw.layers)]
        readout = _ste_weights(self.net.readout, hw.readout.weights, hw.readout.scale)
        states = [tuple(as_tensor(v).expand(batch, -1) for v in (q.init_i, q.init_h, q.init_hs))
                  for q in hw.layers]
        acc_lo, acc_hi = hw.readout.acc_range
        acc = torch.zeros(batch, hw.readout.n_classes, dtype=torch.float64)
        records = [[] for _ in hw.layers]
        readouts = []
        inputs = spikes.double()
        for t in range(steps):
            s = inputs[:, t]
            for index, (c, w) in enumerate(zip(consts, weights)):
                i, h, hs = states[index]
                i, h_next, hs_next = src_update(ops, c, i, h.detach(), hs.detach(), s @ w.T)
                states[index] = (i, h_next, hs_next)
                s = SpikeFn.apply(h_next, c.half)
                if trace:
                    records[index].append((s, i, h_next, hs_next))
            acc = torch.clamp(acc + s @ readout.T, acc_lo, acc_hi)
            if trace:
                readouts.append(acc)
        logits = acc * (hw.readout.scale / steps)
        if not trace:
            return logits
        columns = [[torch.stack(col, dim=1).detach() for col in zip(*rec)] for rec in records]
        return logits, QATTrace(*(list(c) for c in zip(*columns)), readout=torch.stack(readouts, dim=1).detach())


def with_bits(qat: QATNet, weight_bits: int) -> QATNet:
    return QATNet(qat.net, replace(qat.quant, weight_bits=weight_bits))
