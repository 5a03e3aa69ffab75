"""Post-training quantization of float SRC layers (scaling scheme: :mod:`srcfpga.quant.ptq`)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ...errors import ConfigError
from ...quant.hwmodel import signed_bits
from ...quant.ptq import (
    QuantConfig,
    _integer,
    leak_num,
    quantize_symmetric,
    weight_scale,
)
from ...quant.pwl import PiecewiseLinear, fit
from .layer import SRCLayerQ


@lru_cache(maxsize=64)
def fit_tables(segments: int, rho: int, one: int, half: int, gate_hyp_num: int, gate_dep_num: int,
               current_bits: int, gate_slope: float, gate_center: float) -> dict[str, PiecewiseLinear]:
    """The ``segments``-piece tables of an SRC layer, fitted to the paper's functions in the layer's
    integers (``one`` is 1.0, ``rho`` is rho; docs/fixed-point.md, "Piecewise-linear tables")::

        compression(i) ~ rho tanh(i / rho)                      on the current range
        activation(v)  ~ one tanh(v / one)                      (fitted on +-8 one; saturated beyond)
        gate(h)        ~ hyp + (dep - hyp) sigmoid(gate_slope (h / one - gate_center))   on [-one, one]
    """
    i_hi = (1 << (current_bits - 1)) - 1
    return {
        "compression": fit(lambda i: rho * np.tanh(i / rho), -i_hi - 1, i_hi, -rho, rho, segments),
        "activation": fit(lambda v: one * np.tanh(v / one), -8 * one, 8 * one, -one, one, segments),
        "gate": fit(lambda h: gate_hyp_num + (gate_dep_num - gate_hyp_num)
                    / (1.0 + np.exp(-gate_slope * (h / one - gate_center))),
                    -one, one, gate_hyp_num, gate_dep_num, segments),
    }


def quantize_src_layer(weight: np.ndarray, bias: np.ndarray, init: tuple[np.ndarray, np.ndarray, np.ndarray],
                       cell, qc: QuantConfig) -> SRCLayerQ:
    """Quantize one SRC layer; ``cell`` has alpha, rho, r, rs, z_hyp, z_dep (floats)."""
    weight = np.asarray(weight, np.float64)
    scale = weight_scale(weight, qc.weight_bits, qc.clip)
    shift = max(0, round(qc.state_frac_bits + math.log2(scale)))
    unit = scale / (1 << shift)
    one = round(1.0 / unit)
    rho = round(cell.rho / unit)
    init_i, init_h, init_hs = (np.rint(np.asarray(v, np.float64) / unit) for v in init)
    current_bits = signed_bits(-math.ceil(qc.current_range * rho), math.ceil(qc.current_range * rho))
    i_lo, i_hi = -(1 << (current_bits - 1)), (1 << (current_bits - 1)) - 1
    gate_hyp_num, gate_dep_num = leak_num(cell.z_hyp, qc.gate_shift), leak_num(cell.z_dep, qc.gate_shift)
    half = round(0.5 / unit)
    tables = {} if qc.segments == 1 else fit_tables(qc.segments, rho, one, half, gate_hyp_num, gate_dep_num,
                                                    current_bits, cell.gate_slope, cell.gate_center)
    return SRCLayerQ(
        weights=quantize_symmetric(weight, scale, qc.weight_bits),
        bias=np.rint(np.asarray(bias, np.float64) / unit),
        init_i=np.clip(init_i, i_lo, i_hi), init_h=np.clip(init_h, -one, one), init_hs=np.clip(init_hs, -one, one),
        weight_bits=qc.weight_bits, weight_shift=shift, unit=unit, current_bits=current_bits,
        decay_num=leak_num(cell.alpha, qc.decay_shift), decay_shift=qc.decay_shift,
        gate_shift=qc.gate_shift, gate_hyp_num=gate_hyp_num, gate_dep_num=gate_dep_num,
        rho=rho, one=one, half=half, r=_integer("r", cell.r), rs=_integer("rs", cell.rs), **tables)


def src_layer_arrays(layer) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    def arr(t):
        return t.detach().cpu().double().numpy()
    return arr(layer.weight), arr(layer.bias), (arr(layer.init_i), arr(layer.init_h), arr(layer.init_hs))




class SRCQuantizer:
    """The ``quantizer`` part of the SRC kind: an SRC layer reads spikes and writes spikes (fold: identity)."""

    @staticmethod
    def fold(layer, fold_in):
        if fold_in is not None:
            raise ConfigError("an SRC layer reads spikes: it cannot follow a layer with scaled integer outputs")
        return layer, None

    @staticmethod
    def quantize(folded, layer, input_range: tuple[int, int], config, qc: QuantConfig) -> SRCLayerQ:
        return quantize_src_layer(*src_layer_arrays(layer), config.cell_config, qc)

    @staticmethod
    def source(config, qc: QuantConfig) -> dict:
        return {}


QUANTIZER = SRCQuantizer()
