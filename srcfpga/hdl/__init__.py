"""Amaranth hardware for a HardwareModel: network top, Verilog generation, cycle model."""

from .config import HdlConfig, default_input, default_lanes
from .latency import LatencyModel
from .top import NetworkTop
from .verilog import generate_verilog, lint

__all__ = ["HdlConfig", "LatencyModel", "NetworkTop", "default_input", "default_lanes", "generate_verilog", "lint"]
