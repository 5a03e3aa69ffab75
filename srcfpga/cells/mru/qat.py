"""Quantization-aware BMRU / CMRU / alphaCMRU layer (the ``qat`` part of the three kinds), equal to the golden model bit for bit.

Runs the golden model's own :func:`~srcfpga.cells.mru.golden.mru_compare` and
:func:`~srcfpga.cells.mru.golden.mru_update` on float64 tensors holding integers (exact: every value stays
below 2^30). Gradients: weights and biases straight through their rounding (to the folded real values of
:meth:`srcfpga.cells.mru.quantize.MRUQuantizer.fold`), the comparators through the surrogate
``a / (1 + (pi a v)^2)`` of the real-valued difference, the state update as written. Nothing is detached
in time.
"""

from __future__ import annotations

import math

import torch

from ...nn.ste import Constants, TorchOps, as_tensor, ste
from .golden import mru_compare, mru_update


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


class TorchMRUOps(TorchOps):
    """float64 integer arithmetic (straight-through floor shifts: the alphaCMRU leak stays differentiable); the
    steps have the float cell's surrogate, measured in real units."""

    def __init__(self, surrogate: float, unit: float):
        self.width = (surrogate, unit)

    def step(self, value):
        return _SurrogateStep.apply(value, self.width, False)

    def step0(self, value):
        return _SurrogateStep.apply(value, self.width, True)

    abs = staticmethod(torch.abs)


def forward(folded, q, x: torch.Tensor, config) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Integer outputs ``(batch, T, n_out)`` of the BMRU / CMRU layer ``q`` for integer inputs ``x``, weights
    and biases straight through from the :class:`~srcfpga.cells.mru.quantize.FoldedLayer` ``folded``;
    states ``q`` (the outputs), ``c``, ``beta``."""
    scale = q.unit * (1 << q.frac_bits)
    wc = ste(folded.weight_c, q.weights_c, scale)
    wb = None if q.weights_b is None else ste(folded.weight_b, q.weights_b, scale)
    consts = Constants(q, bias_c=ste(folded.bias_c, q.bias_c, q.unit), bias_b=ste(folded.bias_b, q.bias_b, q.unit),
                       weights_b=wb)
    ops = TorchMRUOps(config.cell_config.surrogate, q.unit)
    c, beta, z, up = mru_compare(ops, consts, x @ wc.T, None if wb is None else x @ wb.T)
    state = as_tensor(q.init).expand(x.shape[0], -1)
    outputs = []
    for t in range(x.shape[1]):
        state = mru_update(ops, consts, state, z[:, t], up[:, t])
        outputs.append(state)
    q_all = torch.stack(outputs, dim=1)
    return q_all, {"q": q_all, "c": c, "beta": beta}
