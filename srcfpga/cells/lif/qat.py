"""Quantization-aware LIF-family layer (the ``qat`` part of the ``if``, ``lif`` and ``cubalif`` kinds):
:func:`srcfpga.cells.lif.golden.lif_update` on float64 tensors holding integers.

Gradients pass straight through the rounding of weights and biases and the floor shifts, through the clamps as
for hardtanh, and through the spike with snnTorch's arctan surrogate on the real membrane ``(v - threshold) * unit``;
the reset is detached, as in snnTorch.
"""

from __future__ import annotations

import math

import torch

from ...nn.ste import Constants, TorchOps, as_tensor, ste
from .golden import lif_update


class TorchLIFOps(TorchOps):
    """float64 integer arithmetic with straight-through floor shifts and a surrogate spike gradient."""

    def __init__(self, unit: float, slope: float):
        self.unit, self.slope = unit, slope

    def spike(self, value: torch.Tensor) -> torch.Tensor:
        return SpikeFn.apply(value, self.unit, self.slope)

    @staticmethod
    def detach(value: torch.Tensor) -> torch.Tensor:
        return value.detach()


class SpikeFn(torch.autograd.Function):
    """``value > 0`` forward; backward snnTorch's arctan surrogate of the real value ``value * unit``."""

    @staticmethod
    def forward(ctx, value: torch.Tensor, unit: float, slope: float) -> torch.Tensor:
        ctx.save_for_backward(value)
        ctx.unit, ctx.slope = unit, slope
        return (value > 0).double()

    @staticmethod
    def backward(ctx, grad):
        (value,) = ctx.saved_tensors
        x = value * ctx.unit
        return grad * ctx.unit * ctx.slope / 2 / (1 + (math.pi / 2 * ctx.slope * x) ** 2), None, None


def forward(layer, q, x: torch.Tensor, config) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Output spikes ``(batch, T, n_out)`` of the integer layer ``q`` (:class:`~srcfpga.cells.lif.layer.IFLayerQ`)
    for input spikes ``x``, with the float :class:`~srcfpga.cells.lif.float.LIFLayer` ``layer`` as the
    straight-through source of weights and biases; states ``v`` (and ``i``)."""
    ops = TorchLIFOps(q.unit, layer.surrogate)
    lsb = q.unit * (1 << q.weight_shift)
    bias = layer.fc.bias if layer.recurrent is None else layer.fc.bias + layer.recurrent.bias
    decays = {name: None if decay is None else (as_tensor(decay[0]), decay[1])
              for name, decay in (("membrane_decay", q.membrane_decay), ("current_decay", q.current_decay))}
    consts = Constants(q, bias=ste(bias, q.bias, q.unit), threshold=as_tensor(q.threshold), **decays)
    weights = ste(layer.fc.weight, q.weights, lsb)
    recurrent = None if layer.recurrent is None else ste(layer.recurrent.weight, q.recurrent, lsb)
    batch, steps, _ = x.shape
    v = torch.zeros(batch, q.n_out, dtype=torch.float64)
    i = v.clone() if q.current_range is not None else None
    s = v
    records = []
    for t in range(steps):
        syn = x[:, t] @ weights.T
        if recurrent is not None:
            syn = syn + s @ recurrent.T
        v, i, s = lif_update(ops, consts, v, i, syn)
        records.append((s, v, i))
    spikes, v, i = zip(*records)
    states = {"v": torch.stack(v, dim=1)}
    if i[0] is not None:
        states["i"] = torch.stack(i, dim=1)
    return torch.stack(spikes, dim=1), states
