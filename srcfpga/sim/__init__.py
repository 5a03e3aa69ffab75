"""cocotb verification of the generated Verilog against the golden model (Verilator or Icarus).

``srcfpga.sim.build`` builds (content-hash cached) and runs cocotb testbenches; ``srcfpga.sim.simulators``
finds a usable simulator.
"""

from .build import SimBuild, SimRun, SimulationError, cache_root
from .simulators import SIMULATORS, Simulator, available_simulators, find_simulator

__all__ = ["SIMULATORS", "SimBuild", "SimRun", "SimulationError", "Simulator", "available_simulators",
           "cache_root", "find_simulator"]
