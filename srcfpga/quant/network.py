"""PTQ of a whole float network of any cell kind: each layer by its kind's ``quantizer`` part, then the readout.

Kept apart from :mod:`srcfpga.quant.ptq` (the scaling rules the kinds' quantizers import), so that no
module imports a kind's quantizer that imports it back.
"""

from __future__ import annotations

import numpy as np

from ..cells import CELLS
from ..data.encoder import RateEncoder
from .hwmodel import HardwareModel
from .ptq import QuantConfig, quantize_readout


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()


def quantize_net(net, qc: QuantConfig, source: dict | None = None) -> HardwareModel:
    """PTQ of a float :class:`srcfpga.nn.Net` into a :class:`HardwareModel`: each layer by its kind's
    ``quantizer`` from the folded parameters (:meth:`srcfpga.nn.Net.fold`), then the readout.

    The result computes the finished cell (its schedule state at the final values, e.g. BMRU's eps = 0),
    whatever the network's schedule state is now.
    """
    cfg = net.config
    quantizer = CELLS[cfg.cell].part("quantizer")
    folded, weights, bias = net.fold()
    layers, input_range = [], (0, 1)
    for layer, layer_f in zip(net.layers, folded):
        layers.append(quantizer.quantize(layer_f, layer, input_range, cfg, qc))
        input_range = layers[-1].output_range
    readout = quantize_readout(_numpy(weights), qc, None if bias is None else _numpy(bias), cfg.readout_window,
                               cfg.readout_decay)
    # spike-frame networks: the encoder is never used, but a HardwareModel names one
    encoder = cfg.encoder(qc.encoder_generators)
    if encoder is None:
        encoder = RateEncoder(cfg.rate_gain, qc.encoder_generators)
    return HardwareModel(input_size=cfg.input_size, encoder=encoder, layers=tuple(layers), readout=readout,
                         steps=cfg.steps, blank=cfg.blank,
                         source={"quant": qc.source(), **quantizer.source(cfg, qc), **(source or {})})
