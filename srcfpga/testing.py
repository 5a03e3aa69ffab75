"""Random networks and inputs for tests and randomized regressions (golden vs QAT vs RTL)."""

from __future__ import annotations

import numpy as np
import torch

from .cells.src.config import SRCCellConfig
from .cells.src.layer import SRCLayerQ
from .hdl.config import HdlConfig
from .nn import Net, NetConfig
from .nn.config import cell_constants
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
                   count_bits: int = 4, drive: float = 1.0, **cell_options) -> Net:
    """A float BMRU / CMRU / alphaCMRU network ``sizes[0] -> ... -> sizes[-1] -> 3`` on spike frames with
    random weights (``drive`` scales ``Wc``), biases and output scales; ``cell_options``: further cell
    constants (e.g. ``relax_shift``)."""
    torch.manual_seed(seed)
    net = Net(NetConfig(input_size=sizes[0], hidden=sizes[1:], n_classes=3, cell=cell,
                        cell_config=cell_constants(cell, dict(variant=variant, count_bits=count_bits, **cell_options)),
                        encoding="frames",
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


# scale -> (layer counts, input size range, hidden size range, steps range, probability of a long run)
CASE_SCALES = {
    "tiny": ((1, 1, 2), (2, 24), (1, 12), (1, 6), 0.0),
    "small": ((1, 1, 2, 2, 3), (2, 80), (1, 40), (1, 12), 0.05),
    "large": ((1, 2, 3, 4), (100, 784), (16, 256), (3, 20), 0.25),
}
LONG_STEPS = (100, 300)


def _log_uniform(rng: np.random.Generator, low: int, high: int) -> int:
    return int(np.exp(rng.uniform(np.log(low), np.log(high + 1)))) if high > low else low


def random_case(seed: int, scale: str = "small"):
    """A random valid configuration from ``seed`` (reproducible): the cell kind (every kind of
    :data:`srcfpga.cells.CELLS`), 2-8 bit weights, 1-16 table segments (kinds with tables), layer sizes and
    counts of ``scale`` (:data:`CASE_SCALES`: ``"tiny"`` for Amaranth's simulator; ``"large"`` reaches 784 inputs, 256 neurons and 4 layers, half of
    its cases at those bounds), ``lanes`` up to 32, spikes per cycle, memory style, mask packing, pixel (where the
    model has an on-chip encoder) or frame input, 1-3 samples, steps (a few cases run 100-300 steps) and blank
    steps (empty frames), input density; the kind's own options come from its ``testing`` part."""
    from .cells import CELLS
    from .hdl.config import MEMORY_STYLES, SPIKES_PER_CYCLE, default_input
    from .sim.multi import MultiCase

    counts, (in_lo, in_hi), (hid_lo, hid_hi), (st_lo, st_hi), p_long = CASE_SCALES[scale]
    rng = np.random.default_rng(seed)
    kinds = [kind for kind in CELLS if kind.testing]
    kind = kinds[int(rng.integers(len(kinds)))]
    n_layers = int(rng.choice(counts))
    sizes = [_log_uniform(rng, in_lo, in_hi)] + [int(rng.integers(hid_lo, hid_hi + 1)) for _ in range(n_layers)]
    if scale == "large" and rng.random() < 0.5:
        sizes[0] = in_hi
    if scale == "large" and rng.random() < 0.5:
        sizes[1 + int(rng.integers(n_layers))] = hid_hi
    weight_bits, segments = int(rng.integers(2, 9)), int(rng.choice([1, 1, 2, 3, 8, 16]))
    model, options = kind.part("testing")(rng, kind.name, tuple(sizes), weight_bits, segments)
    widest = max(sizes[1:])
    config = HdlConfig(lanes=min(widest, _log_uniform(rng, 1, 32)), memory=str(rng.choice(MEMORY_STYLES)),
                       input="pixels" if default_input(model) == "pixels" and rng.random() < 0.5 else "frames",
                       spikes_per_cycle=int(rng.choice(SPIKES_PER_CYCLE)), pack_masks=bool(rng.random() < 0.5))
    steps = int(rng.integers(*LONG_STEPS)) if rng.random() < p_long else int(rng.integers(st_lo, st_hi + 1))
    blank, batch = int(rng.integers(0, 4)), int(rng.integers(1, 4))
    density = round(float(rng.uniform(0.02, 0.6)), 3)
    if config.input == "pixels":
        inputs = {"pixels": rng.integers(0, 256, (batch, sizes[0]), dtype=np.uint8),
                  "seeds": rng.integers(0, 2**31, batch)}
    else:
        spikes = rng.random((batch, blank + steps, sizes[0])) < density
        spikes[:, :blank] = False       # blank steps carry no input, as from the encoder (and as run_rtl requires)
        inputs = {"spikes": spikes}
    summary = (f"random_case({seed}, {scale!r}): {kind.name} {'->'.join(map(str, sizes))} {weight_bits}-bit "
               f"segments={segments} {options}; lanes={config.lanes} spikes_per_cycle={config.spikes_per_cycle} "
               f"memory={config.memory} pack_masks={config.pack_masks} input={config.input} "
               f"steps={steps} blank={blank} batch={batch}" + (f" density={density}" if config.input == "frames" else ""))
    return MultiCase(model, config, inputs, steps, blank, summary)


def check_random_cases(jobs: list[tuple[int, str]], simulator: str = "amaranth", workers: int = 1,
                       group: int = 1) -> tuple[int, list[str]]:
    """Check the random cases ``jobs`` (``(seed, scale)`` pairs, :func:`random_case`) against golden, every state
    word included (:func:`srcfpga.sim.multi.run_multi`, ``group`` cases per simulation), on ``workers``
    processes. Returns the number checked and, per mismatching case, its summary and verdict."""
    from concurrent.futures import ProcessPoolExecutor

    groups = [jobs[k:k + group] for k in range(0, len(jobs), group)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_check_group, groups, [simulator] * len(groups)))
    else:
        results = [_check_group(g, simulator) for g in groups]
    return len(jobs), [failure for failures in results for failure in failures]


def _check_group(jobs: list[tuple[int, str]], simulator: str) -> list[str]:
    from .sim.multi import run_multi

    cases = [random_case(seed, scale) for seed, scale in jobs]
    run = run_multi(cases, simulator=simulator)
    return [f"{case.summary}: {check}" for case, check in zip(cases, run.checks) if not check.ok]
