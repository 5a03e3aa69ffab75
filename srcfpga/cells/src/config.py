"""Constants of the Spiking Recurrent Cell, as a network config stores them (key ``"src"``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...errors import ConfigError


@dataclass(frozen=True)
class SRCCellConfig:
    """Constants of the Spiking Recurrent Cell (De Geeter, Ernst, Drion); ``bias`` is trained in
    ``[bias_min, bias_max]``, everything else is fixed."""

    alpha: float = 0.9        # current leak per step
    rho: float = 3.0          # input compression x = rho * tanh(i / rho)
    r: float = 2.0            # fast positive feedback of h
    rs: float = -7.0          # slow negative feedback of hs
    z_hyp: float = 0.9        # hs gate when h is low (hyperpolarized)
    z_dep: float = 0.0        # hs gate when h is high (depolarized)
    bias_init: float = -5.0
    bias_min: float = -6.0
    bias_max: float = -4.0
    gate_slope: ClassVar[float] = 10.0    # zs = z_hyp - (z_hyp - z_dep) sigmoid(gate_slope (h - gate_center))
    gate_center: ClassVar[float] = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha < 1.0:
            raise ConfigError(f"alpha must be in [0, 1), got {self.alpha}")
        if self.rho <= 0:
            raise ConfigError(f"rho must be positive, got {self.rho}")
        for name in ("z_hyp", "z_dep"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.bias_min <= self.bias_init <= self.bias_max:
            raise ConfigError("need bias_min <= bias_init <= bias_max")

    def check(self, cell: str, layers: int) -> None:
        """Every SRC kind takes these constants, in any number of layers."""
