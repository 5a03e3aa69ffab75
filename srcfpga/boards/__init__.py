"""Artix-7 boards: platforms, the UART board top, Vivado projects, and resource / Fmax / energy estimates.

* :mod:`~srcfpga.boards.registry` / :mod:`~srcfpga.boards.devices`: boards, parts, resources, static power;
* :mod:`~srcfpga.boards.uart_top` / :mod:`~srcfpga.boards.top`: the network behind a UART host link
  (:mod:`~srcfpga.boards.protocol`), on a board's pins; :mod:`~srcfpga.boards.host`: the host driver;
* :mod:`~srcfpga.boards.vivado`: ``srcfpga build`` (Amaranth build plan, Vivado report parsers);
* :mod:`~srcfpga.boards.estimate`: ``srcfpga estimate`` (Yosys synthesis, timing, activity, power), also of
  any Verilog design (``estimate_verilog``).
"""

from .estimate import Estimate, estimate, estimate_verilog
from .registry import BOARDS, Board, board_names, get_board
from .vivado import build_project

__all__ = ["BOARDS", "Board", "Estimate", "board_names", "build_project", "estimate", "estimate_verilog", "get_board"]
