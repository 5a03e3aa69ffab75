"""Typed configuration of the generated hardware, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..quant.hwmodel import HardwareModel
from .layouts import lane_groups

MEMORY_STYLES = ("auto", "block", "distributed")
INPUT_KINDS = ("pixels", "frames")
SPIKES_PER_CYCLE = (1, 2, 4)


@dataclass(frozen=True)
class HdlConfig:
    """How a HardwareModel is turned into hardware.

    ``lanes``: neurons updated in parallel per clock cycle in each layer's update pipeline
    (``None``: :func:`default_lanes`). ``memory``: where weight ROMs go (``"auto"``: LUT ROM for
    layers of at most 64 inputs, block RAM for deeper ones; ``"block"`` / ``"distributed"`` force it).
    ``input``: the top takes pixel intensities (on-chip rate encoder) or precomputed spike frames.
    ``spikes_per_cycle``: input spikes (synaptic columns) accumulated per clock cycle, 1, 2 or 4
    (2 uses both ports of the dual-port weight memories, 4 two copies of every weight memory).
    ``trace_states``: verification only (refused by the board builds): each layer gets a ``states<l>``
    port showing every lane group's state words after each update
    (:func:`srcfpga.hdl.layouts.state_trace_layout`), compared with the golden model's states.
    """

    lanes: int | None = None
    memory: str = "auto"
    input: str = "pixels"
    spikes_per_cycle: int = 2
    trace_states: bool = False

    def __post_init__(self) -> None:
        if self.lanes is not None and (not isinstance(self.lanes, int) or not 1 <= self.lanes <= 1024):
            raise ConfigError(f"lanes must be an integer in 1..1024, got {self.lanes!r}")
        if self.memory not in MEMORY_STYLES:
            raise ConfigError(f"memory style must be one of {', '.join(MEMORY_STYLES)}, got {self.memory!r}")
        if self.input not in INPUT_KINDS:
            raise ConfigError(f"input must be one of {', '.join(INPUT_KINDS)}, got {self.input!r}")
        if self.spikes_per_cycle not in SPIKES_PER_CYCLE:
            raise ConfigError(f"spikes_per_cycle must be one of {', '.join(map(str, SPIKES_PER_CYCLE))}, "
                              f"got {self.spikes_per_cycle!r}")
        if not isinstance(self.trace_states, bool):
            raise ConfigError(f"trace_states must be True or False, got {self.trace_states!r}")

    def resolve(self, model: HardwareModel) -> "HdlConfig":
        """A copy with ``lanes`` filled in and checked against ``model``."""
        lanes = default_lanes(model) if self.lanes is None else self.lanes
        widest = max(layer.n_out for layer in model.layers)
        if lanes > widest:
            raise ConfigError(f"lanes={lanes} exceeds the widest layer ({widest} neurons)")
        if self.input == "pixels" and default_input(model) != "pixels":
            raise ConfigError(f"the {model.encoder.kind!r} encoder has no on-chip engine: use input='frames'")
        generators = model.encoder.generators
        if generators & (generators - 1):
            raise ConfigError(f"the hardware encoder needs a power-of-two generator count, got {generators}")
        return HdlConfig(lanes, self.memory, self.input, self.spikes_per_cycle, self.trace_states)

    def to_dict(self) -> dict:
        return asdict(self)


MIN_PASS_TARGET = 8


def default_lanes(model: HardwareModel) -> int:
    """The smallest power-of-two lane count whose update pass hides behind the input accumulation.

    A layer of ``N`` neurons needs ``ceil(N / lanes) + 1`` cycles per step to update, while the
    step's synaptic accumulation cannot take fewer cycles than the encoder needs to produce it
    (``ceil(n_in / 2E)`` rounds, counted as at least 8: a step of a few spikes still costs a few
    cycles of hand-over). More lanes than that buy little latency and cost one neuron datapath each,
    so the default is the smallest lane count (at least 8) whose update pass fits that budget:
    16 for 784 -> 100 (7 groups against 13 rounds), 32 for 64 -> 128.
    """
    budget = max(model.encoder.rounds(model.input_size), MIN_PASS_TARGET)
    widest = max(layer.n_out for layer in model.layers)
    lanes = 8
    while lanes < widest and lane_groups(widest, lanes) + 1 > budget:
        lanes *= 2
    return min(lanes, widest)


def default_input(model: HardwareModel) -> str:
    """``"pixels"`` when the model's encoder has an on-chip engine (the rate encoder), else ``"frames"``
    (e.g. the row encoder of BMRU / CMRU models: the host encodes, the hardware takes spike frames)."""
    return "pixels" if getattr(model.encoder, "kind", "rate") == "rate" else "frames"
