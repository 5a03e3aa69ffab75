"""Post-training quantization of float BMRU / CMRU networks into :mod:`srcfpga.cells.mru.layer` layers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from ...quant.hwmodel import HardwareModel, ReadoutQ
from .layer import MRU_FRAC_BITS, BMRULayerQ, CMRULayerQ

# ---- from the float network: folding (torch, shared with QAT) and quantization --------------------

@dataclass
class FoldedLayer:
    """Real-valued parameters of one layer acting on the integer outputs ``q`` of the layer below."""

    weight_c: "torch.Tensor"
    bias_c: "torch.Tensor"
    weight_b: "torch.Tensor | None"
    bias_b: "torch.Tensor"


def fold_network(net) -> tuple[list[FoldedLayer], "torch.Tensor", "torch.Tensor"]:
    """Fold each layer's ``alpha * (gain * q + offset)`` output into the next layer and the readout.

    Differentiable (QAT uses it for the straight-through gradients); returns the layers and the
    readout ``(weights, bias)``, all acting on integer inputs.
    """
    folded = []
    scale_in = offset_in = None           # the first layer reads the binary frames as they are
    for layer in net.layers:
        def fold(weight, bias):
            if scale_in is None:
                return weight, bias
            return weight * scale_in, bias + weight @ offset_in
        wc, bc = fold(layer.weight_c, layer.bias_c)
        if layer.weight_b is not None:
            wb, bb = fold(layer.weight_b, layer.bias_b)
        else:
            wb, bb = None, layer.bias_b
        folded.append(FoldedLayer(wc, bc, wb, bb))
        gain, offset = layer.output_map()
        scale_in, offset_in = layer.alpha * gain, layer.alpha * offset
    readout = net.readout * scale_in
    return folded, readout, net.readout_bias + net.readout @ offset_in


def _np(t: "torch.Tensor") -> np.ndarray:
    return t.detach().cpu().double().numpy()


def quantize_mru_layer(layer_f: FoldedLayer, cell: str, init_q: np.ndarray, input_range: tuple[int, int],
                       weight_bits: int, clip: str, count_bits: int, frac_bits: int = MRU_FRAC_BITS):
    """One folded layer -> :class:`BMRULayerQ` / :class:`CMRULayerQ` (one scale for Wc and Wb)."""
    from ...quant.ptq import quantize_symmetric, weight_scale

    wc = _np(layer_f.weight_c)
    wb = None if layer_f.weight_b is None else _np(layer_f.weight_b)
    both = wc if wb is None else np.concatenate([wc, wb])
    scale = weight_scale(both, weight_bits, clip)
    unit = scale / (1 << frac_bits)
    args = dict(weights_c=quantize_symmetric(wc, scale, weight_bits), bias_c=np.rint(_np(layer_f.bias_c) / unit),
                weights_b=None if wb is None else quantize_symmetric(wb, scale, weight_bits),
                bias_b=np.rint(_np(layer_f.bias_b) / unit), init=init_q, weight_bits=weight_bits,
                frac_bits=frac_bits, unit=unit, input_min=input_range[0], input_max=input_range[1])
    if cell == "cmru":
        return CMRULayerQ(**args, count_bits=count_bits)
    return BMRULayerQ(**args)


def initial_q(layer) -> np.ndarray:
    """The hardware state ``q`` of the float layer's initial ``s`` (``s = gain * q + offset``)."""
    gain, offset = layer.output_map()
    return np.rint((_np(layer.init_s) - offset) / gain).astype(np.int64)


def quantize_readout_mru(weights: np.ndarray, bias: np.ndarray, qc, window: int) -> ReadoutQ:
    """Readout weights at ``readout_bits`` (one scale), the bias at the same scale, the window."""
    from ...quant.ptq import quantize_symmetric, weight_scale

    scale = weight_scale(weights, qc.readout_bits, "max")
    lim = (1 << (qc.readout_acc_bits - 2)) - 1
    bias_q = np.clip(np.rint(np.asarray(bias, np.float64) / scale), -lim, lim)
    return ReadoutQ(quantize_symmetric(weights, scale, qc.readout_bits), qc.readout_bits, scale,
                    qc.readout_acc_bits, bias=bias_q, window=window)


def quantize_mru_net(net, qc, source: dict | None = None, frac_bits: int = MRU_FRAC_BITS) -> HardwareModel:
    """PTQ of a float :class:`srcfpga.nn.mru.MRUNet` into a :class:`HardwareModel`.

    The result computes the finished cell (``eps`` = 0 for BMRU, 1 for CMRU) whatever ``net.eps`` is.
    """
    cfg = net.config
    if qc.segments != 1:
        raise ConfigError(f"segments={qc.segments}: {cfg.cell.upper()} layers approximate no smooth function "
                          "(comparators and counters only), so they have no tables; use segments 1")
    folded, ro_w, ro_b = fold_network(net)
    layers, input_range = [], (0, 1)
    for layer, layer_f in zip(net.layers, folded):
        q = quantize_mru_layer(layer_f, cfg.cell, initial_q(layer), input_range, qc.weight_bits, qc.clip,
                               cfg.mru.count_bits, frac_bits)
        layers.append(q)
        input_range = q.output_range
    readout = quantize_readout_mru(_np(ro_w), _np(ro_b), qc, cfg.readout_window)
    encoder = cfg.encoder(qc.encoder_generators)
    if encoder is None:                      # spike-frame networks: the encoder is never used
        from ...data.encoder import RateEncoder
        encoder = RateEncoder(cfg.rate_gain, qc.encoder_generators)
    return HardwareModel(input_size=cfg.input_size, encoder=encoder, layers=tuple(layers), readout=readout,
                         steps=cfg.steps, blank=cfg.blank,
                         source={"quant": qc.source(), "cell": cfg.cell, "variant": cfg.mru.variant,
                                 "frac_bits": frac_bits, **(source or {})})
