"""Quantization-aware SRC layer (the ``qat`` part of the SRC kind): :func:`srcfpga.cells.src.golden.src_update`
on float64 tensors holding integers.

Gradients pass straight through the rounding of weights and biases and the floor shifts, through the clamps
as for hardtanh, and through the spike threshold with a triangular surrogate; h and hs are detached in time
as in the float cell.
"""

from __future__ import annotations

import torch

from ...nn.ste import Constants, as_tensor, ste, straight_through
from .golden import src_update


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


def forward(layer, q, x: torch.Tensor, config) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Output spikes ``(batch, T, n_out)`` of the :class:`~srcfpga.cells.src.layer.SRCLayerQ` ``q`` for input
    spikes ``x``, with the float :class:`~srcfpga.cells.src.float.SRCLayer` ``layer`` (the fold is the
    identity) as the straight-through source of weights and bias; states ``i``, ``h``, ``hs``."""
    ops = TorchOps()
    consts = Constants(q, bias=ste(layer.bias, q.bias, q.unit))       # the bias trains like the weights
    weights = ste(layer.weight, q.weights, q.unit * (1 << q.weight_shift))
    batch, steps, _ = x.shape
    i, h, hs = (as_tensor(v).expand(batch, -1) for v in (q.init_i, q.init_h, q.init_hs))
    records = []
    for t in range(steps):
        i, h, hs = src_update(ops, consts, i, h.detach(), hs.detach(), x[:, t] @ weights.T)
        records.append((SpikeFn.apply(h, q.half), i, h, hs))
    spikes, i, h, hs = (torch.stack(column, dim=1) for column in zip(*records))
    return spikes, {"i": i, "h": h, "hs": hs}
