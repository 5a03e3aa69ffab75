"""Constants and training options of BMRU / CMRU / alphaCMRU layers, as a network config stores them (key ``"mru"``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import ConfigError
from ..registry import cli_option

VARIANTS = ("full", "first")


@dataclass(frozen=True)
class MRUCellConfig:
    """Constants and training options of a BMRU / CMRU layer.

    ``variant``: ``"full"`` (s in {-1, +1}, input-dependent beta) or ``"first"`` (first quadrant:
    s in {0, 1}, constant per-unit beta; BMRU only). ``surrogate``: the width parameter ``a``.
    ``eps_start``: BMRU's eps at the start of training, annealed linearly to 0 over the first
    ``anneal`` fraction of the float epochs. ``count_bits``: the state saturates at
    ``+-(2^(count_bits-1) - 1)`` (CMRU's counter; irrelevant for a trained BMRU).
    ``scan``: parallel-scan forward (``False``: the sequential loop, same values).
    """

    variant: str = field(default="full", metadata=cli_option(
        "s in {-1,+1} with gated thresholds (default full) or first quadrant s in {0,1} (BMRU only)",
        choices=VARIANTS))
    surrogate: float = 1.0
    eps_start: float = 1.0
    anneal: float = 0.5
    count_bits: int = field(default=6, metadata=cli_option("state counter width, saturating (CMRU, alphaCMRU; "
                                                           "default 6)", type=int))
    alpha_init: float = 1.0
    beta_init: float = 0.5
    scan: bool = True

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        if self.surrogate <= 0:
            raise ConfigError(f"surrogate width must be positive, got {self.surrogate}")
        if not 0.0 <= self.eps_start <= 1.0 or not 0.0 <= self.anneal <= 1.0:
            raise ConfigError("need 0 <= eps_start <= 1 and 0 <= anneal <= 1")
        if not 2 <= self.count_bits <= 16:
            raise ConfigError(f"count_bits must be in 2..16, got {self.count_bits}")

    def check(self, cell: str, layers: int) -> None:
        """The first-quadrant variant exists for the BMRU only."""
        if cell != "bmru" and self.variant != "full":
            raise ConfigError(f"the first-quadrant variant exists for the BMRU only, not {cell!r}")

    @property
    def bound(self) -> int:
        return (1 << (self.count_bits - 1)) - 1


MAX_RELAX_SHIFT = 8


@dataclass(frozen=True)
class AlphaCMRUCellConfig(MRUCellConfig):
    """Constants of an alphaCMRU layer: the CMRU's plus the relaxation ``relax = 1 - 2^-relax_shift``.

    The state ``s`` is kept with ``relax_shift`` fractional bits in hardware (``q = s * 2^relax_shift``, a
    ``count_bits``-bit signed word): :attr:`bound` is the real saturation ``(2^(count_bits-1) - 1) /
    2^relax_shift``. ``relax_shift = 0`` is ``relax = 0`` (a set/reset overwrites the state, as in the BMRU).
    The relaxation is a per-layer constant (a hyperparameter, not trained): docs/fixed-point.md, section 6.
    """

    relax_shift: int = field(default=2, metadata=cli_option(
        "relaxation 1 - 2^-R, the state's fractional bits (default 2)", type=int, metavar="R"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.relax_shift, bool) or not isinstance(self.relax_shift, int) \
                or not 0 <= self.relax_shift <= MAX_RELAX_SHIFT or self.relax_shift >= self.count_bits - 1:
            raise ConfigError(f"relax_shift must be an integer in 0..{MAX_RELAX_SHIFT} and below count_bits - 1 "
                              f"(= {self.count_bits - 1}), got {self.relax_shift!r}")

    @property
    def relax(self) -> float:
        """The relaxation factor ``alpha`` of the alphaCMRU: ``1 - 2^-relax_shift``."""
        return 1.0 - 2.0 ** -self.relax_shift

    @property
    def bound(self) -> float:
        return ((1 << (self.count_bits - 1)) - 1) / (1 << self.relax_shift)
