"""Quantization-aware BMRU / CMRU forward pass, equal to the golden model bit for bit.

Every forward quantizes the current float weights with :func:`srcfpga.cells.mru.quantize.quantize_mru_net`
(so the exported HardwareModel is exactly what this forward computed with) and runs the golden
model's own :func:`~srcfpga.cells.mru.golden.mru_compare` and :func:`~srcfpga.cells.mru.golden.mru_update`
on float64 tensors holding integers (exact: every value stays below 2^30). Gradients: weights and
biases straight through their rounding (to the folded real values of :func:`srcfpga.cells.mru.quantize.fold_network`),
the comparators through the surrogate ``a / (1 + (pi a v)^2)`` of the real-valued difference, the
state update and the readout saturation as written (``clamp``: hardtanh-like). Nothing is detached
in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..cells.mru.golden import mru_compare, mru_update
from ..cells.mru.quantize import fold_network, quantize_mru_net
from ..quant.hwmodel import HardwareModel
from .mru import MRUNet
from .qat import QATNet, as_tensor, straight_through


class _SurrogateStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, width: float, inclusive: bool):
        ctx.save_for_backward(v)
        ctx.width = width
        return (v >= 0 if inclusive else v > 0).double()

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        a, unit = ctx.width
        return grad * (a * unit / (1.0 + (math.pi * a * unit * v) ** 2)), None, None


class TorchMRUOps:
    """float64 integer arithmetic; the steps have the float cell's surrogate, measured in real units."""

    def __init__(self, surrogate: float, unit: float):
        self.width = (surrogate, unit)

    def step(self, value):
        return _SurrogateStep.apply(value, self.width, False)

    def step0(self, value):
        return _SurrogateStep.apply(value, self.width, True)

    abs = staticmethod(torch.abs)
    clip = staticmethod(torch.clamp)


class _Constants:
    """A quantized layer's constants with tensor-valued weights and biases (straight-through)."""

    def __init__(self, layer, **tensors):
        self._layer = layer
        self.__dict__.update(tensors)

    def __getattr__(self, name):
        return getattr(self._layer, name)


@dataclass
class MRUQATTrace:
    """Per-layer ``(batch, T, n)`` outputs ``q``, ``c``, ``beta``; the readout after each step."""

    spikes: list[torch.Tensor]
    c: list[torch.Tensor]
    beta: list[torch.Tensor]
    readout: torch.Tensor


def _ste(real: torch.Tensor, integers, scale: float) -> torch.Tensor:
    return straight_through(as_tensor(integers), real.double() / scale)


class MRUQATNet(QATNet):
    """Wraps a float :class:`MRUNet`; forward runs the hardware arithmetic of ``quant``."""

    net: MRUNet

    def hardware_model(self) -> HardwareModel:
        return quantize_mru_net(self.net, self.quant)

    def encoder(self, generators: int = 32):
        return self.net.encoder(generators)

    def forward(self, frames: torch.Tensor, trace: bool = False):
        """``frames``: ``(batch, T, n_in)`` binary; logits = readout accumulators * scale / window length."""
        hw = self.hardware_model()
        folded, ro_w, ro_b = fold_network(self.net)
        surrogate = self.net.config.mru.surrogate
        x = frames.double()
        batch, steps, _ = x.shape
        records = []
        for layer_f, q in zip(folded, hw.layers):
            scale = q.unit * (1 << q.frac_bits)
            wc = _ste(layer_f.weight_c, q.weights_c, scale)
            wb = None if q.weights_b is None else _ste(layer_f.weight_b, q.weights_b, scale)
            consts = _Constants(q, bias_c=_ste(layer_f.bias_c, q.bias_c, q.unit),
                                bias_b=_ste(layer_f.bias_b, q.bias_b, q.unit), weights_b=wb)
            ops = TorchMRUOps(surrogate, q.unit)
            c, beta, z, up = mru_compare(ops, consts, x @ wc.T, None if wb is None else x @ wb.T)
            state = as_tensor(q.init).expand(batch, -1)
            outputs = []
            for t in range(steps):
                state = mru_update(ops, consts, state, z[:, t], up[:, t])
                outputs.append(state)
            x = torch.stack(outputs, dim=1)
            records.append((x, c, beta))
        ro = hw.readout
        weights = _ste(ro_w, ro.weights, ro.scale)
        bias = _ste(ro_b, ro.bias, ro.scale)
        lo, hi = ro.acc_range
        first = max(0, steps - ro.window) if ro.window else 0
        acc = torch.zeros(batch, ro.n_classes, dtype=torch.float64)
        readouts = []
        for t in range(steps):
            if t >= first:
                acc = torch.clamp(acc + x[:, t] @ weights.T + bias, lo, hi)
            readouts.append(acc)
        logits = acc * (ro.scale / (steps - first))
        if not trace:
            return logits
        return logits, MRUQATTrace(*([r[k].detach() for r in records] for k in range(3)),
                                   readout=torch.stack(readouts, dim=1).detach())
