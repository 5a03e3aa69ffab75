"""Post-training quantization of float LIF-family layers (docs/fixed-point.md, section 7, "From float to integers")."""

from __future__ import annotations

import math

import numpy as np

from ...errors import ConfigError
from ...quant.hwmodel import signed_bits
from ...quant.ptq import QuantConfig, leak_nums, quantize_symmetric, weight_scale
from .. import CELLS
from .layer import CubaLIFLayerQ, IFLayerQ, LIFLayerQ


def _np(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()


def quantize_lif_layer(layer, qc: QuantConfig) -> IFLayerQ:
    """The integer layer of a float :class:`srcfpga.cells.lif.float.LIFLayer`.

    One weight scale ``sc`` for ``[W, W_rec]``; ``k = max(0, round(F + log2(sc / theta_max)))`` so that the largest
    threshold is about ``2^F`` LSBs (``F = state_frac_bits``); ``unit = sc / 2^k``; bias (feed-forward plus
    recurrent), thresholds rounded to the unit; ``v`` (and ``i``) saturate at ``+-current_range * theta_max``;
    leaks ``beta = 1 - n / 2^decay_shift``, ``alpha = 1 - n / 2^gate_shift``.
    """
    weights = _np(layer.fc.weight)
    bias = _np(layer.fc.bias)
    recurrent = None
    if layer.recurrent is not None:
        recurrent = _np(layer.recurrent.weight)
        bias = bias + _np(layer.recurrent.bias)
    columns = weights if recurrent is None else np.concatenate([weights, recurrent], axis=1)
    scale = weight_scale(columns, qc.weight_bits, qc.clip)
    threshold = _np(layer.threshold)
    theta_max = float(threshold.max())
    if not theta_max > 0:
        raise ConfigError("a LIF layer needs a positive threshold")
    shift = max(0, round(qc.state_frac_bits + math.log2(scale / theta_max)))
    unit = scale / (1 << shift)
    reach = math.ceil(qc.current_range * theta_max / unit)
    bits = signed_bits(-reach, reach)
    params = dict(weights=quantize_symmetric(weights, scale, qc.weight_bits),
                  recurrent=None if recurrent is None else quantize_symmetric(recurrent, scale, qc.weight_bits),
                  bias=np.rint(bias / unit), threshold=np.rint(threshold / unit), weight_bits=qc.weight_bits,
                  weight_shift=shift, unit=unit, v_bits=bits, reset=layer.reset)
    layer_type = CELLS[layer.kind].part("layer")
    if issubclass(layer_type, LIFLayerQ):           # a membrane leak (LIF, CubaLIF)
        params |= dict(decay_num=leak_nums(_np(layer.beta), qc.decay_shift), decay_shift=qc.decay_shift)
    if issubclass(layer_type, CubaLIFLayerQ):       # a synaptic current
        params |= dict(syn_decay_num=leak_nums(_np(layer.alpha), qc.gate_shift), syn_decay_shift=qc.gate_shift,
                       current_bits=bits)
    return layer_type(**params)


class LIFQuantizer:
    """The ``quantizer`` part of the LIF-family kinds: a layer reads spikes and writes spikes (fold: identity)."""

    @staticmethod
    def fold(layer, fold_in):
        if fold_in is not None:
            raise ConfigError("a LIF-family layer reads spikes: it cannot follow a layer with scaled integer outputs")
        return layer, None

    @staticmethod
    def quantize(folded, layer, input_range: tuple[int, int], config, qc: QuantConfig) -> IFLayerQ:
        return quantize_lif_layer(layer, qc)

    @staticmethod
    def source(config, qc: QuantConfig) -> dict:
        return {}


QUANTIZER = LIFQuantizer()
