"""Random SRC networks for randomized checks (the ``testing`` part of the SRC kind)."""

from __future__ import annotations

import numpy as np


def random_model(rng: np.random.Generator, kind: str, sizes: tuple[int, ...], weight_bits: int, segments: int):
    """PTQ of a random float SRC network (:func:`srcfpga.testing.random_net`, drive drawn in [0.5, 2]) with
    ``segments`` pieces per nonlinearity table and 2-4 readout classes."""
    from ...quant import QuantConfig, quantize_net
    from ...testing import random_net

    options = {"drive": round(float(rng.uniform(0.5, 2.0)), 2), "n_classes": int(rng.integers(2, 5))}
    net = random_net(int(rng.integers(2**31)), sizes, options["n_classes"], options["drive"])
    return quantize_net(net, QuantConfig(weight_bits=weight_bits, segments=segments)), options
