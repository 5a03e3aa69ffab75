"""Quantization into the HardwareModel contract."""

from .hwmodel import (
           SCHEMA_VERSION,
           HardwareModel,
           ReadoutQ,
           check_weight_bits,
           signed_bits,
)
from .network import quantize_net
from .ptq import QuantConfig, quantize_readout, weight_scale

__all__ = ["SCHEMA_VERSION", "HardwareModel", "QuantConfig", "ReadoutQ", "check_weight_bits", "quantize_net", "quantize_readout",
           "signed_bits", "weight_scale"]
