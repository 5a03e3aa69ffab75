"""Random LIF-family layers and networks for tests (integer HardwareModels, no float model involved)."""

from __future__ import annotations

import numpy as np

from ...data.encoder import RateEncoder
from ...quant.hwmodel import HardwareModel, ReadoutQ, signed_bits
from .. import CELLS
from .layer import CubaLIFLayerQ, IFLayerQ, LIFLayerQ


def random_lif_layer(rng: np.random.Generator, kind: str, n_in: int, n_out: int, weight_bits: int,
                     recurrent: bool = False, reset: str = "subtract", threshold_bits: int = 6,
                     v_range: float = 4.0) -> IFLayerQ:
    """A random layer whose neurons fire at moderate rates for input densities of ~0.2-0.5: thresholds near
    ``2^threshold_bits``, weights uniform in the ``weight_bits`` range, so that a few maximal weights cross the
    threshold; ``v`` (and ``i``) saturate at about ``v_range`` thresholds (reached by dense inputs)."""
    wmax = (1 << (weight_bits - 1)) - 1
    theta = 1 << threshold_bits
    shift = max(0, threshold_bits - (wmax.bit_length()) - 1 + int(rng.integers(0, 3)))
    bits = signed_bits(-int(v_range * theta), int(v_range * theta))
    params = dict(
        weights=rng.integers(-wmax, wmax + 1, (n_out, n_in)) * (rng.random((n_out, n_in)) < 0.8),
        bias=rng.integers(-theta // 8, theta // 8 + 1, n_out),
        threshold=rng.integers(theta // 2, theta + 1, n_out),
        weight_bits=weight_bits, weight_shift=shift, unit=1.0 / theta, v_bits=bits, reset=reset,
        recurrent=rng.integers(-wmax, wmax + 1, (n_out, n_out)) if recurrent else None)
    layer_type = CELLS[kind].part("layer")
    if issubclass(layer_type, LIFLayerQ):
        shift_v = int(rng.integers(2, 6))
        params |= dict(decay_num=rng.integers(0, (1 << shift_v) // 2 + 1, n_out), decay_shift=shift_v)
    if issubclass(layer_type, CubaLIFLayerQ):
        shift_i = int(rng.integers(1, 5))
        params |= dict(syn_decay_num=rng.integers(0, (1 << shift_i) + 1, n_out), syn_decay_shift=shift_i,
                       current_bits=max(2, bits - int(rng.integers(0, 2))))
    return layer_type(**params)


def random_lif_model(seed: int, kind: str, sizes: tuple[int, ...], weight_bits: int, n_classes: int = 3,
                     recurrent: bool = False, reset: str = "subtract", generators: int = 4,
                     steps: int = 8, blank: int = 0) -> HardwareModel:
    """A network ``sizes[0] -> ... -> sizes[-1] -> n_classes`` of random ``kind`` layers and a random readout."""
    rng = np.random.default_rng(seed)
    layers = tuple(random_lif_layer(rng, kind, n_in, n_out, weight_bits, recurrent, reset)
                   for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    readout = ReadoutQ(rng.integers(-7, 8, (n_classes, sizes[-1])), 4, 1.0, 16)
    return HardwareModel(input_size=sizes[0], encoder=RateEncoder(0.25, generators), layers=layers,
                         readout=readout, steps=steps, blank=blank)


def random_model(rng: np.random.Generator, kind: str, sizes: tuple[int, ...], weight_bits: int, segments: int):
    """:func:`random_lif_model` with drawn options: recurrent layers or not, the reset, the encoder's generator
    count; the kinds have no nonlinearity tables (``segments`` is not used)."""
    from .layer import RESETS

    options = {"recurrent": bool(rng.random() < 0.4), "reset": str(rng.choice(RESETS)),
               "generators": int(rng.choice([1, 2, 4, 8])), "n_classes": int(rng.integers(2, 5))}
    return random_lif_model(int(rng.integers(2**31)), kind, sizes, weight_bits, **options), options
