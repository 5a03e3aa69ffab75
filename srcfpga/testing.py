"""Random networks and inputs for tests and randomized regressions (golden vs QAT vs RTL)."""

from __future__ import annotations

import numpy as np
import torch

from .cells.mru.config import MRUCellConfig
from .cells.src.config import SRCCellConfig
from .cells.src.layer import SRCLayerQ
from .nn import Net, NetConfig
from .quant import HardwareModel, QuantConfig, quantize_net
from .quant.pwl import INTERMEDIATE_LIMIT, MAX_SLOPE, PiecewiseLinear


def random_net(seed: int, sizes: tuple[int, ...], n_classes: int = 4, drive: float = 1.0) -> Net:
    """A float SRC network ``sizes[0] -> ... -> sizes[-1] -> n_classes`` with random weights.

    Weights are drawn so that neurons fire at moderate rates for inputs of spike density ~0.2
    (``drive`` scales them); biases are drawn in [-6, -4], initial states around rest.
    """
    generator = torch.Generator().manual_seed(seed)
    cell = SRCCellConfig(bias_init=-4.0)
    net = Net(NetConfig(input_size=sizes[0], hidden=tuple(sizes[1:]), n_classes=n_classes, cell_config=cell,
                        steps=8, blank=1))
    with torch.no_grad():
        for layer in net.layers:
            n_in = layer.n_in
            layer.weight.copy_((torch.randn(layer.weight.shape, generator=generator) * 2.5 + 0.8) * drive
                               * (3.0 / max(1.0, 0.2 * n_in) ** 0.5))
            layer.bias.copy_(-6.0 + 2.0 * torch.rand(layer.n_out, generator=generator))
            layer.init_h.copy_(-0.9 + 0.8 * torch.rand(layer.n_out, generator=generator))
            layer.init_hs.copy_(-0.9 + 0.8 * torch.rand(layer.n_out, generator=generator))
            layer.init_i.copy_(torch.randn(layer.n_out, generator=generator))
        net.readout.copy_(torch.randn(net.readout.shape, generator=generator))
    return net.eval()


def random_mru_net(seed: int, cell: str, variant: str = "full", sizes=(7, 6, 5), window: int = 0,
                   count_bits: int = 4, drive: float = 1.0) -> Net:
    """A float BMRU / CMRU network ``sizes[0] -> ... -> sizes[-1] -> 3`` on spike frames with random
    weights (``drive`` scales ``Wc``), biases and output scales."""
    torch.manual_seed(seed)
    net = Net(NetConfig(input_size=sizes[0], hidden=sizes[1:], n_classes=3, cell=cell,
                        cell_config=MRUCellConfig(variant=variant, count_bits=count_bits), encoding="frames",
                        steps=16, readout_window=window))
    with torch.no_grad():
        for layer in net.layers:
            layer.weight_c.mul_(drive)
            layer.bias_c.copy_(0.3 * torch.randn(layer.n_out))
            layer.bias_b.copy_(0.2 + 0.4 * torch.rand(layer.n_out))
            layer.alpha.copy_(0.5 + torch.rand(layer.n_out))
        net.readout_bias.copy_(torch.randn(3))
    return net


def random_hardware_model(seed: int, sizes: tuple[int, ...], weight_bits: int, n_classes: int = 4,
                          **quant_options) -> HardwareModel:
    """PTQ of :func:`random_net` at ``weight_bits``."""
    return quantize_net(random_net(seed, sizes, n_classes), QuantConfig(weight_bits=weight_bits, **quant_options))


def random_spikes(seed: int, batch: int, steps: int, n_in: int, density: float = 0.2) -> np.ndarray:
    """Boolean input frames ``(batch, steps, n_in)``."""
    return np.random.default_rng(seed).random((batch, steps, n_in)) < density


def random_table(seed: int, v_lo: int, v_hi: int, y_lo: int, y_hi: int, segments: int, shift: int) -> PiecewiseLinear:
    """A valid random :class:`PiecewiseLinear` of ``segments`` pieces for inputs in ``[v_lo, v_hi]``: distinct
    breakpoints in that range, two-digit slopes of either sign, saturation inside ``[y_lo, y_hi]`` and offsets
    that put every piece's line across that range (so pieces, floor and clamp all matter)."""
    rng = np.random.default_rng(seed)
    segments = min(segments, v_hi - v_lo + 1)
    breakpoints = np.sort(rng.choice(np.arange(v_lo + 1, v_hi + 1), segments - 1, replace=False)) \
        if segments > 1 else np.array([], int)
    reach = max(abs(v_lo), abs(v_hi), 1)
    top = max(0, min(16, (INTERMEDIATE_LIMIT // (16 * reach)).bit_length() - 1))   # keeps |m v| <= 2^27
    slopes = []
    for _ in range(segments):
        a, b = rng.integers(0, top + 1, 2)
        slope = int(rng.choice([-1, 1]) * (1 << a) + rng.choice([-1, 0, 1]) * (1 << b))
        slopes.append(slope if abs(slope) <= MAX_SLOPE else 0)
    lo, hi = sorted(int(v) for v in rng.integers(y_lo, y_hi + 1, 2))
    centre = (lo + hi) // 2 << shift
    edges = [v_lo, *breakpoints, v_hi]
    offsets = [int(centre - m * int(rng.integers(edges[j], edges[j + 1] + 1)) + rng.integers(-(1 << shift), 1 << shift))
               for j, m in enumerate(slopes)]
    return PiecewiseLinear(breakpoints=tuple(int(b) for b in breakpoints), slopes=tuple(slopes),
                           offsets=tuple(offsets), shift=shift, lo=lo, hi=hi)


def with_random_tables(layer: SRCLayerQ, seed: int, segments: int, shift: int) -> SRCLayerQ:
    """``layer`` with random compression, activation and gate tables (:func:`random_table`) on its domains."""
    from dataclasses import replace

    tables = {name: random_table(seed + k, *layer.table_domains[name], *layer.table_ranges[name], segments, shift)
              for k, name in enumerate(("compression", "activation", "gate"))}
    return replace(layer, **tables)
