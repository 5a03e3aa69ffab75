"""The cell registry: a recurrent cell kind is one :class:`CellKind`, and every stage looks it up here.

A kind names its parts stage by stage as ``"module:attribute"`` references, imported on first use: looking
up a kind for the golden model imports neither torch nor Amaranth, and the registry imports no stage (so
no stage import circles through it). ``docs/adding-a-cell.md`` says what each part must provide.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

PARTS = ("layer", "golden", "engine", "prove")


@dataclass(frozen=True)
class CellKind:
    """One recurrent cell kind, by stage.

    ``name``: the kind as written in model files (``layer.kind``) and on the command line.
    ``layer``: the HardwareModel layer dataclass (:mod:`srcfpga.quant`): frozen, validated on construction,
    with ``kind``, ``n_in``, ``n_out``, ``weight_count``, ``input_range``, ``output_range`` and
    ``state_bits``; serialized field by field (``numpy`` arrays as lists).
    ``golden``: the golden step (:mod:`srcfpga.golden`): ``initial_state(layer, batch)``,
    ``step(layer, state, x) -> (state, output, record)`` and ``trace(records)``, a trace with ``spikes`` (the
    output) and ``states()`` (name -> ``(batch, T, n_out)``, the names of the engine's ``lane_state``).
    ``engine``: the HDL layer engine (:mod:`srcfpga.hdl`), a ``wiring.Component`` built as
    ``engine(layer, index, lanes, count, memory, trace_states)`` with ``lane_state(layer)``.
    ``prove`` (optional): the proof obligation (:mod:`srcfpga.verify.prove`), ``prove(obligation)`` filling an
    :class:`~srcfpga.verify.prove.Obligation` (``obligation.layer``) with the engine's update datapath, the
    golden step on symbolic values and the ranges of the state words and inputs; ``None``: ``srcfpga prove``
    reports the kind as unproven.
    """

    name: str
    summary: str
    layer: str
    golden: str
    engine: str
    prove: str | None = None

    def part(self, part: str) -> Any:
        """The object a part reference names, imported now."""
        if part not in PARTS:
            raise ConfigError(f"a cell kind has no part {part!r}; parts are {', '.join(PARTS)}")
        if getattr(self, part) is None:
            raise ConfigError(f"cell kind {self.name!r} has no {part} part")
        module, _, attribute = getattr(self, part).partition(":")
        return getattr(importlib.import_module(module), attribute)


class CellRegistry:
    """Cell kinds by name, in registration order."""

    def __init__(self) -> None:
        self._kinds: dict[str, CellKind] = {}

    def register(self, kind: CellKind) -> CellKind:
        if kind.name in self._kinds:
            raise ConfigError(f"cell kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind
        return kind

    def __getitem__(self, name: str) -> CellKind:
        try:
            return self._kinds[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown cell kind {name!r}; known kinds: {', '.join(self._kinds)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self):
        return iter(self._kinds.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)
