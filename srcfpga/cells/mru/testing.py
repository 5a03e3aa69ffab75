"""Random BMRU / CMRU / alphaCMRU networks for randomized checks (the ``testing`` part of these kinds)."""

from __future__ import annotations

import numpy as np

from .config import MAX_RELAX_SHIFT


def random_model(rng: np.random.Generator, kind: str, sizes: tuple[int, ...], weight_bits: int, segments: int):
    """PTQ of :func:`srcfpga.testing.random_mru_net` with drawn cell options: the variant (``"first"`` for the
    BMRU only), the readout window, ``count_bits`` in 2..6 and, for the alphaCMRU, ``relax_shift`` below
    ``count_bits - 1``; the kinds have no nonlinearity tables (``segments`` is not used)."""
    from ...quant import QuantConfig, quantize_net
    from ...testing import random_mru_net

    options = {"variant": "first" if kind == "bmru" and rng.random() < 0.3 else "full",
               "window": int(rng.choice([0, 0, 1, 3])), "count_bits": int(rng.integers(2, 7)),
               "drive": round(float(rng.uniform(1.0, 3.0)), 2)}
    if kind == "alphacmru":
        options["count_bits"] = max(3, options["count_bits"])
        options["relax_shift"] = int(rng.integers(0, min(MAX_RELAX_SHIFT, options["count_bits"] - 2) + 1))
    net = random_mru_net(int(rng.integers(2**31)), kind, sizes=sizes, **options)
    return quantize_net(net, QuantConfig(weight_bits=weight_bits)), options
