"""Constants of LIF-family layers, as a network config stores them (key ``"lif"``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import ConfigError
from ..registry import cli_option
from .layer import RESETS


@dataclass(frozen=True)
class LIFCellConfig:
    """Constants of the IF, LIF and CubaLIF layers of a network (snnTorch's ``Leaky``, ``Synaptic``, ``RLeaky``,
    ``RSynaptic`` arguments).

    ``beta``: membrane leak per step (LIF, CubaLIF; IF has none and ignores it). ``alpha``: synaptic current leak
    (CubaLIF only). ``threshold``: firing threshold (> 0). ``reset``: one of
    :data:`srcfpga.cells.lif.layer.RESETS`. ``recurrent``: all-to-all recurrent weights (with bias) on the layer's
    previous spikes, in every layer (``True``), none (``False``) or per layer (a tuple of bools, one per layer, e.g.
    ``(True, False)`` for snnTorch's RLeaky hidden layer and Leaky output; a tuple of equal values is stored as
    that bool, so a config has one form). ``surrogate``: the slope ``a`` of snnTorch's arctan surrogate gradient
    (``a / 2 / (1 + (pi a x / 2)^2)``).
    """

    beta: float = field(default=0.9, metadata=cli_option("membrane leak per step (LIF, CubaLIF; default 0.9)",
                                                         type=float))
    alpha: float = field(default=0.8, metadata=cli_option("synaptic current leak per step (CubaLIF; default 0.8)",
                                                          type=float))
    threshold: float = field(default=1.0, metadata=cli_option("firing threshold (default 1.0)", type=float))
    reset: str = field(default="subtract", metadata=cli_option(
        "reset mechanism (default subtract; docs/fixed-point.md section 7)", choices=RESETS))
    recurrent: bool | tuple[bool, ...] = field(default=False, metadata=cli_option(
        "all-to-all recurrent weights on the layer's previous spikes, in every layer", action="store_true",
        default=None))
    surrogate: float = 2.0

    def __post_init__(self) -> None:
        for name in ("beta", "alpha"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.threshold > 0:
            raise ConfigError(f"threshold must be positive, got {self.threshold}")
        if self.reset not in RESETS:
            raise ConfigError(f"reset must be one of {', '.join(RESETS)}, got {self.reset!r}")
        recurrent = self.recurrent
        if isinstance(recurrent, (list, tuple)):
            recurrent = tuple(recurrent)
            if not recurrent or not all(isinstance(value, bool) for value in recurrent):
                raise ConfigError(f"recurrent per layer must be a non-empty list of True / False, got {self.recurrent!r}")
            if len(set(recurrent)) == 1:
                recurrent = recurrent[0]
            object.__setattr__(self, "recurrent", recurrent)
        elif not isinstance(recurrent, bool):
            raise ConfigError(f"recurrent must be True, False or one of them per layer, got {self.recurrent!r}")
        if not self.surrogate > 0:
            raise ConfigError(f"surrogate slope must be positive, got {self.surrogate}")

    def check(self, cell: str, layers: int) -> None:
        """Every LIF-family kind takes these constants (IF ignores beta and alpha, LIF alpha); a per-layer
        ``recurrent`` names each of the ``layers`` layers."""
        if isinstance(self.recurrent, tuple) and len(self.recurrent) != layers:
            raise ConfigError(f"recurrent names {len(self.recurrent)} layers, the network has {layers}")

    def layer_recurrent(self, index: int) -> bool:
        """Whether layer ``index`` (from 0) has recurrent weights."""
        return self.recurrent[index] if isinstance(self.recurrent, tuple) else self.recurrent
