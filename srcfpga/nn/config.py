"""Typed, validated configurations of float networks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from ..errors import ConfigError

CELLS = ("src",)
SRC_ENCODINGS = ("rate", "rows")


def input_encoder(cfg, generators: int = 32):
    """The input encoder a network config names (SRC and BMRU / CMRU alike): ``"rows"`` the row encoder
    (with the audio front end when ``cfg.front_end`` is set), ``"rate"`` the rate encoder, ``"frames"`` None."""
    from ..data.encoder import RateEncoder
    from ..data.rows import RowEncoder

    if cfg.encoding == "rows":
        return RowEncoder(cfg.image_shape[0], cfg.image_shape[1], cfg.row_levels, generators, cfg.front_end)
    if cfg.encoding == "rate":
        return RateEncoder(cfg.rate_gain, generators)
    return None


def check_row_encoding(cfg) -> None:
    """A row-encoded config needs ``image_shape``, ``input_size = width * len(row_levels)`` and one step per row."""
    if cfg.image_shape is None:
        raise ConfigError("row encoding needs image_shape (rows, width)")
    input_encoder(cfg).check_inputs(cfg.input_size)
    if cfg.steps != cfg.image_shape[0]:
        raise ConfigError(f"row encoding reads {cfg.image_shape[0]} rows: steps must equal that")


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


@dataclass(frozen=True)
class NetConfig:
    """A feed-forward stack of recurrent layers read out by summed output spikes.

    ``readout_trainable``: a learnt ``(n_classes, hidden[-1])`` matrix, or a fixed one (imported models).
    ``rate_gain``, ``steps`` and ``blank`` describe the input encoding the model was trained for;
    ``encoding`` ``"rows"`` replaces the rate encoder by the row encoder (``image_shape``, ``row_levels``,
    ``front_end``: as in :class:`srcfpga.nn.mru.MRUNetConfig`), e.g. for audio frames.
    """

    input_size: int
    hidden: tuple[int, ...]
    n_classes: int = 10
    cell: str = "src"
    src: SRCCellConfig = field(default_factory=SRCCellConfig)
    readout_trainable: bool = True
    rate_gain: float = 0.25
    steps: int = 40
    blank: int = 4
    encoding: str = "rate"
    image_shape: tuple[int, int] | None = None
    row_levels: tuple[int, ...] = (64, 128, 192)
    front_end: dict | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(n) for n in self.hidden))
        object.__setattr__(self, "row_levels", tuple(int(v) for v in self.row_levels))
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))
        if isinstance(self.src, dict):
            object.__setattr__(self, "src", SRCCellConfig(**self.src))
        if self.cell not in CELLS:
            raise ConfigError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        if self.input_size < 1 or not self.hidden or min(self.hidden) < 1 or self.n_classes < 2:
            raise ConfigError(f"invalid sizes: input {self.input_size}, hidden {self.hidden}, "
                              f"classes {self.n_classes}")
        if not 0.0 < self.rate_gain <= 1.0:
            raise ConfigError(f"rate_gain must be in (0, 1], got {self.rate_gain}")
        if self.steps < 1 or self.blank < 0:
            raise ConfigError(f"need steps >= 1 and blank >= 0, got {self.steps}, {self.blank}")
        if self.encoding not in SRC_ENCODINGS:
            raise ConfigError(f"encoding must be one of {', '.join(SRC_ENCODINGS)}, got {self.encoding!r}")
        if self.encoding == "rows":
            check_row_encoding(self)

    def encoder(self, generators: int = 32):
        return input_encoder(self, generators)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NetConfig":
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad network config: {exc}") from None
