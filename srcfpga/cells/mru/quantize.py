"""Post-training quantization of float BMRU / CMRU layers into :mod:`srcfpga.cells.mru.layer` layers (the
``quantizer`` part of both kinds; the network: :func:`srcfpga.quant.network.quantize_net`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...quant.ptq import quantize_symmetric, weight_scale
from .layer import MRU_FRAC_BITS, BMRULayerQ, CMRULayerQ


@dataclass
class FoldedLayer:
    """Real-valued parameters of one layer acting on the integer outputs ``q`` of the layer below (torch tensors)."""

    weight_c: Any
    bias_c: Any
    weight_b: Any | None
    bias_b: Any


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def initial_q(layer) -> np.ndarray:
    """The hardware state ``q`` of the float layer's initial ``s`` (``s = gain * q + offset``)."""
    gain, offset = layer.output_map()
    return np.rint((_np(layer.init_s) - offset) / gain).astype(np.int64)


@dataclass(frozen=True)
class MRUQuantizer:
    """The ``quantizer`` part of the BMRU and CMRU kinds (``layer_type``: :class:`BMRULayerQ` or
    :class:`CMRULayerQ`, the latter with the config's ``count_bits``)."""

    layer_type: type
    counter: bool

    @staticmethod
    def fold(layer, fold_in):
        """Fold the incoming ``(gain, offset)`` into ``Wc``/``bc`` and ``Wb``/``bb``; this layer's output is
        ``alpha * (gain * q + offset)`` with the float layer's :meth:`~srcfpga.cells.mru.float.MRULayer.output_map`."""
        def fold(weight, bias):
            if fold_in is None:                 # the first layer reads the binary frames as they are
                return weight, bias
            return weight * fold_in[0], bias + weight @ fold_in[1]
        wc, bc = fold(layer.weight_c, layer.bias_c)
        wb, bb = fold(layer.weight_b, layer.bias_b) if layer.weight_b is not None else (None, layer.bias_b)
        gain, offset = layer.output_map()
        return FoldedLayer(wc, bc, wb, bb), (layer.alpha * gain, layer.alpha * offset)

    def quantize(self, folded: FoldedLayer, layer, input_range: tuple[int, int], config, qc):
        """One folded layer -> :attr:`layer_type` (one scale for Wc and Wb)."""
        if qc.segments != 1:
            raise ConfigError(f"segments={qc.segments}: {config.cell.upper()} layers approximate no smooth "
                              "function (comparators and counters only), so they have no tables; use segments 1")
        wc = _np(folded.weight_c)
        wb = None if folded.weight_b is None else _np(folded.weight_b)
        both = wc if wb is None else np.concatenate([wc, wb])
        scale = weight_scale(both, qc.weight_bits, qc.clip)
        unit = scale / (1 << MRU_FRAC_BITS)
        counter = {"count_bits": config.cell_config.count_bits} if self.counter else {}
        return self.layer_type(
            weights_c=quantize_symmetric(wc, scale, qc.weight_bits), bias_c=np.rint(_np(folded.bias_c) / unit),
            weights_b=None if wb is None else quantize_symmetric(wb, scale, qc.weight_bits),
            bias_b=np.rint(_np(folded.bias_b) / unit), init=initial_q(layer), weight_bits=qc.weight_bits,
            frac_bits=MRU_FRAC_BITS, unit=unit, input_min=input_range[0], input_max=input_range[1], **counter)

    @staticmethod
    def source(config, qc) -> dict:
        return {"cell": config.cell, "variant": config.cell_config.variant, "frac_bits": MRU_FRAC_BITS}


BMRU_QUANTIZER = MRUQuantizer(BMRULayerQ, counter=False)
CMRU_QUANTIZER = MRUQuantizer(CMRULayerQ, counter=True)
