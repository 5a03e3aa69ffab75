"""Quantization into the HardwareModel contract."""

from .hwmodel import SCHEMA_VERSION, HardwareModel, ReadoutQ, SRCLayerQ, check_weight_bits, signed_bits
from .ptq import QuantConfig, quantize_net, quantize_readout, quantize_src_layer, weight_scale
from .mru import BMRULayerQ, CMRULayerQ, quantize_mru_net  # noqa: E402  (registers the bmru / cmru kinds)

__all__ = ["SCHEMA_VERSION", "HardwareModel", "QuantConfig", "ReadoutQ", "SRCLayerQ", "check_weight_bits",
           "quantize_net", "quantize_readout", "quantize_src_layer", "signed_bits", "weight_scale"]
