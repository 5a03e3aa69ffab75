"""Constants of LIF-family layers, as a network config stores them (key ``"lif"``)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from .layer import RESETS


@dataclass(frozen=True)
class LIFCellConfig:
    """Constants of the IF, LIF and CubaLIF layers of a network (snnTorch's ``Leaky``, ``Synaptic``, ``RLeaky``,
    ``RSynaptic`` arguments).

    ``beta``: membrane leak per step (LIF, CubaLIF; IF has none and ignores it). ``alpha``: synaptic current leak
    (CubaLIF only). ``threshold``: firing threshold (> 0). ``reset``: one of
    :data:`srcfpga.cells.lif.layer.RESETS`. ``recurrent``: all-to-all recurrent weights (with bias) on the layer's
    previous spikes. ``surrogate``: the slope ``a`` of snnTorch's arctan surrogate gradient
    (``a / 2 / (1 + (pi a x / 2)^2)``).
    """

    beta: float = 0.9
    alpha: float = 0.8
    threshold: float = 1.0
    reset: str = "subtract"
    recurrent: bool = False
    surrogate: float = 2.0

    def __post_init__(self) -> None:
        for name in ("beta", "alpha"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.threshold > 0:
            raise ConfigError(f"threshold must be positive, got {self.threshold}")
        if self.reset not in RESETS:
            raise ConfigError(f"reset must be one of {', '.join(RESETS)}, got {self.reset!r}")
        if not isinstance(self.recurrent, bool):
            raise ConfigError(f"recurrent must be True or False, got {self.recurrent!r}")
        if not self.surrogate > 0:
            raise ConfigError(f"surrogate slope must be positive, got {self.surrogate}")

    def check(self, cell: str) -> None:
        """Every LIF-family kind takes these constants (IF ignores beta and alpha, LIF alpha)."""
