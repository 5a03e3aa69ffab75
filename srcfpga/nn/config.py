"""Typed, validated configurations of float networks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..cells import CELLS
from ..cells.registry import NET_OPTIONS
from ..errors import ConfigError


def input_encoder(cfg, generators: int = 32):
    """The input encoder a network config names: ``"rows"`` the row encoder
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
class NetConfig:
    """A feed-forward stack of recurrent layers of one cell kind (``cell``, :data:`srcfpga.cells.CELLS`)
    with a linear readout of the last layer's outputs.

    ``cell_config``: the kind's cell constants (its ``config`` part; a dict is converted, None: its
    defaults); a config dict stores them under the kind's ``config_key``. ``encoding``: how images become
    input frames - ``"rate"`` (Bernoulli spikes, ``input_size`` = pixels, ``rate_gain``), ``"rows"`` (one
    step per image row, pixels thermometer-coded at ``row_levels``, ``input_size = width *
    len(row_levels)``, ``image_shape`` (rows, width), ``front_end``: the audio front end's parameters
    (:class:`srcfpga.data.audio.LogMelFrontEnd` as a dict) when the rows are audio frames) or ``"frames"``
    (binary frames given directly, e.g. the recall task); the kind says which it reads. ``steps`` and
    ``blank``: stimulus and leading blank steps (None: the kind's defaults).

    Network options, each a kind's only when it declares it (``NetDefaults.options``; a config dict stores
    exactly the kind's): ``readout_trainable`` (a learnt readout matrix, or a fixed one: imported models),
    ``readout_window`` (logits average the readout over the last ``readout_window`` steps; 0: all steps),
    ``readout_decay`` (a leaky readout, NIR's LI: ``v[t] = readout_decay * v[t-1] + W s[t] + b`` over the window,
    in [0, 1); None, the default and left out of the stored config: the integrating readout), ``readout_bias``
    (True: a trained per-class readout bias ``b``, e.g. an imported NIR ``Affine`` readout's; None, the default and
    left out of the stored config: the kind's ``NetDefaults.readout_bias``; :attr:`has_readout_bias` resolves it).
    """

    input_size: int
    hidden: tuple[int, ...]
    n_classes: int = 10
    cell: str = "src"
    cell_config: Any = None
    encoding: str | None = None
    image_shape: tuple[int, int] | None = None
    row_levels: tuple[int, ...] = (64, 128, 192)
    rate_gain: float = 0.25
    steps: int | None = None
    blank: int | None = None
    front_end: dict | None = None
    readout_trainable: bool = True
    readout_window: int = 0
    readout_decay: float | None = None
    readout_bias: bool | None = None

    def __post_init__(self) -> None:
        kind = CELLS[self.cell]
        defaults = kind.defaults
        object.__setattr__(self, "hidden", tuple(int(n) for n in self.hidden))
        object.__setattr__(self, "row_levels", tuple(int(v) for v in self.row_levels))
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))
        config_cls = kind.part("config")
        if self.cell_config is None or isinstance(self.cell_config, dict):
            object.__setattr__(self, "cell_config", cell_constants(self.cell, self.cell_config or {}))
        if not isinstance(self.cell_config, config_cls):
            raise ConfigError(f"cell {self.cell!r} takes a {config_cls.__name__}, got {type(self.cell_config).__name__}")
        self.cell_config.check(self.cell, len(self.hidden))
        for name, default in (("encoding", defaults.encodings[0]), ("steps", defaults.steps),
                              ("blank", defaults.blank)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for option in NET_OPTIONS:
            if option not in defaults.options and getattr(self, option) != NET_OPTION_DEFAULTS[option]:
                raise ConfigError(f"cell {self.cell!r} has no option {option} (its network options: "
                                  f"{', '.join(defaults.options) or 'none'})")
        if self.input_size < 1 or not self.hidden or min(self.hidden) < 1 or self.n_classes < 2:
            raise ConfigError(f"invalid sizes: input {self.input_size}, hidden {self.hidden}, "
                              f"classes {self.n_classes}")
        if not 0.0 < self.rate_gain <= 1.0:
            raise ConfigError(f"rate_gain must be in (0, 1], got {self.rate_gain}")
        if self.steps < 1 or self.blank < 0 or self.readout_window < 0:
            raise ConfigError(f"need steps >= 1, blank >= 0 and readout_window >= 0, got {self.steps}, "
                              f"{self.blank}, {self.readout_window}")
        if self.readout_decay is not None:
            if isinstance(self.readout_decay, bool) or not isinstance(self.readout_decay, (int, float)) \
                    or not 0.0 <= self.readout_decay < 1.0:
                raise ConfigError(f"readout_decay must be a number in [0, 1) (None: no leak), got {self.readout_decay!r}")
            object.__setattr__(self, "readout_decay", float(self.readout_decay))
        if self.readout_bias not in (None, True, False):
            raise ConfigError(f"readout_bias must be True, False or None (the kind's), got {self.readout_bias!r}")
        if self.encoding not in defaults.encodings:
            raise ConfigError(f"cell {self.cell!r} reads encodings {', '.join(defaults.encodings)}, "
                              f"got {self.encoding!r}")
        if self.encoding == "rows":
            check_row_encoding(self)

    @property
    def has_readout_bias(self) -> bool:
        """True when the readout has a bias: ``readout_bias``, or the kind's default when that is None."""
        return CELLS[self.cell].defaults.readout_bias if self.readout_bias is None else self.readout_bias

    def encoder(self, generators: int = 32):
        """The input encoder (``None`` for ``"frames"``)."""
        return input_encoder(self, generators)

    def to_dict(self) -> dict:
        """The config as stored: common fields, the cell constants under the kind's key and the kind's options
        (those that are not None: an unset option is absent, so files from before it hash as they did)."""
        defaults = CELLS[self.cell].defaults
        data = asdict(self)
        data[defaults.config_key] = data.pop("cell_config")
        for option in NET_OPTIONS:
            if option not in defaults.options or data[option] is None:
                del data[option]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "NetConfig":
        data = dict(data)
        key = CELLS[data.get("cell", "src")].defaults.config_key
        if key in data:
            data["cell_config"] = data.pop(key)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad network config: {exc}") from None


NET_OPTION_DEFAULTS = {field.name: field.default for field in fields(NetConfig) if field.name in NET_OPTIONS}


def cell_constants(cell: str, options: dict):
    """The cell constants of kind ``cell`` from keyword ``options`` (the fields of its ``config`` part)."""
    config_cls = CELLS[cell].part("config")
    known = [f.name for f in fields(config_cls)]
    if unknown := sorted(set(options) - set(known)):
        raise ConfigError(f"cell {cell!r} has no option {', '.join(unknown)} (its options: {', '.join(known)})")
    return config_cls(**options)
