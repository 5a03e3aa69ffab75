"""The cell registry: a recurrent cell kind is one :class:`CellKind`, and every stage looks it up here.

A kind names its parts stage by stage as ``"module:attribute"`` references, imported on first use: looking
up a kind for the golden model imports neither torch nor Amaranth, and the registry imports no stage (so
no stage import circles through it). ``docs/adding-a-cell.md`` says what each part must provide.

nn parts (torch; :mod:`srcfpga.nn` looks them up, never branches on a kind):

``config``: the cell-constants dataclass (frozen, validated), stored in a network config under
``defaults.config_key``; built from keyword options (``cls(**options)``; its fields are the kind's cell
options, e.g. ``srcfpga train --variant``) and ``check(cell, layers)`` raises ConfigError when the constants
do not suit the kind ``cell`` in a network of ``layers`` layers (e.g. CMRU has no first-quadrant variant; a
LIF family's per-layer ``recurrent`` names every layer). A per-layer property (whether layer ``index`` has
recurrent weights) lives in the constants and is read by the ``float`` part; the HardwareModel layer then
carries it (``is_recurrent``), which is all golden, QAT and HDL look at.
A field of the constants whose metadata is :func:`cli_option`'s is a ``srcfpga train`` option
(``--count-bits`` for ``count_bits``): the command line lists exactly the fields the kinds declare so.
``float``: ``build(n_in, n_out, net_config, index) -> torch.nn.Module``, the float layer ``index`` (from 0):
``n_in``, ``n_out``,
``forward(x, **schedule) -> y`` over whole sequences ``(batch, T, n_in) -> (batch, T, n_out)`` from its
initial state (buffers ``init_*``), ``schedule`` the network's schedule state (``defaults.schedule_state``);
``clamp_parameters()`` after each optimizer step.
``quantizer``: an object with ``fold(layer, fold_in) -> (folded, fold_out)`` (differentiable; ``fold_in``
is ``None`` for the binary network input, else ``(gain, offset)`` tensors with real input ``gain * q +
offset`` of the integer input ``q``; ``folded`` holds the real parameters acting on ``q``, ``fold_out`` the
same for this layer's output: SRC's is ``None``, identity, BMRU's ``alpha * (2 q - 1)``),
``quantize(folded, layer, input_range, net_config, qc) -> layer`` (a ``layer`` part) and
``source(net_config, qc) -> dict``, what the HardwareModel's ``source`` records of the kind.
``qat``: ``forward(folded, q, x, net_config) -> (y, states)``: the golden integer operations of layer ``q``
on float64 tensors ``x`` ``(batch, T, n_in)`` of integers, with straight-through gradients to ``folded``;
``y`` ``(batch, T, n_out)`` equals the golden output bit for bit, ``states`` names ``(batch, T, n_out)``
tensors for traces, at least those of the golden trace's ``states()``, equal to them bit for bit.
``defaults``: :class:`NetDefaults`, typed: no import.
Not parts, one for every kind: the network (:class:`srcfpga.nn.Net`: layers, readout ``mean_w(out) Wout^T
(+ bout)`` or, with the network option ``readout_decay``, the leaky (LI) readout, schedule buffers, :meth:`~srcfpga.nn.Net.fold`), its config (:class:`srcfpga.nn.NetConfig`, which
stores the common fields, the constants under ``config_key`` and exactly the kind's ``options``: model
files and hashes of a kind never change when another kind adds an option), the training loop
(:mod:`srcfpga.nn.train`), PTQ of the network and the readout (:mod:`srcfpga.quant.network`), the QAT
network and readout (:mod:`srcfpga.nn.qat`) and the straight-through helpers of ``qat`` parts
(:mod:`srcfpga.nn.ste`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError

PARTS = ("layer", "golden", "engine", "config", "float", "quantizer", "qat", "prove", "testing")
NET_OPTIONS = ("readout_trainable", "readout_window", "readout_decay", "readout_bias")
CLI_OPTION = "srcfpga.cli_option"   # field metadata key of a cell constant set on the command line


def cli_option(help: str, **argparse_options: Any) -> dict:
    """Metadata of a cell-constants field that ``srcfpga train`` sets (``dataclasses.field(metadata=...)``):
    ``help`` says what it is (the kinds having it are prefixed), ``argparse_options`` are
    ``add_argument``'s keywords (``type``, ``choices``, ``action``)."""
    return {CLI_OPTION: {"help": help, **argparse_options}}


@dataclass(frozen=True)
class CellOption:
    """A cell constant set on the command line: the field ``name`` of the ``config`` part of ``kinds``."""

    name: str
    kinds: tuple[str, ...]
    argparse: dict

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def resolve(reference: str) -> Any:
    """The object a ``"module:attribute"`` reference names, imported now."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class NetDefaults:
    """What a kind's networks and their training take by default.

    ``config_key``: the key of the cell constants in a network config (``"src"``, ``"mru"``).
    ``encodings``: the input encodings the kind reads (``"rate"``, ``"rows"``, ``"frames"``), the default
    first. ``steps``, ``blank``: stimulus and leading blank steps of a config that names none.
    ``options``: the network options (of :data:`NET_OPTIONS`) the kind has; a config stores exactly
    these (an option that is None, e.g. an unset ``readout_decay``, is left out), and another option away
    from its default is an error. ``readout_bias``: the readout has a
    trained bias (a kind with the network option ``readout_bias`` lets a config add one). ``lr``: Adam's learning rate of the float epochs; ``grad_clip``: the gradient norm
    is clipped to it (None: no clipping). ``schedule``: ``"module:attr"`` of ``hook(net, progress)``,
    called before each float training batch (``progress`` in [0, 1)); ``schedule_state``: ``(name,
    final value)`` of the network buffers it sets (passed to the float layers by name, reset to the
    final value after the float epochs; without a hook they stay at that value).
    """

    config_key: str
    encodings: tuple[str, ...]
    steps: int
    blank: int
    options: tuple[str, ...] = ()
    readout_bias: bool = False
    lr: float = 1e-2
    grad_clip: float | None = None
    schedule: str | None = None
    schedule_state: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not self.encodings or set(self.encodings) - {"rate", "rows", "frames"}:
            raise ConfigError(f"encodings must be some of rate, rows, frames, got {self.encodings}")
        if unknown := set(self.options) - set(NET_OPTIONS):
            raise ConfigError(f"unknown network options {sorted(unknown)}; known: {', '.join(NET_OPTIONS)}")
        if self.steps < 1 or self.blank < 0 or not self.lr > 0:
            raise ConfigError("need steps >= 1, blank >= 0 and lr > 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"grad_clip must be positive or None, got {self.grad_clip}")
        if self.schedule and not self.schedule_state:
            raise ConfigError("a schedule hook needs the schedule state it sets")


@dataclass(frozen=True)
class CellKind:
    """One recurrent cell kind, by stage.

    ``name``: the kind as written in model files (``layer.kind``) and on the command line.
    ``layer``: the HardwareModel layer dataclass (:mod:`srcfpga.quant`): frozen, validated on construction,
    with ``kind``, ``n_in``, ``n_out``, ``weight_count``, ``input_range``, ``output_range``, ``state_bits``
    and ``summary()`` (one line of widths); serialized field by field (``numpy`` arrays as lists).
    ``golden``: the golden step (:mod:`srcfpga.golden`): ``initial_state(layer, batch)``,
    ``step(layer, state, x) -> (state, output, record)`` and ``trace(records)``, a trace with ``spikes`` (the
    output) and ``states()`` (name -> ``(batch, T, n_out)``, the names of the engine's ``lane_state``).
    ``engine``: the HDL layer engine (:mod:`srcfpga.hdl`), a ``wiring.Component`` built as
    ``engine(layer, index, lanes, count, memory, trace_states)`` with ``lane_state(layer)``. A layer with
    ``is_recurrent`` true feeds its own spikes of step t-1 into step t: its engine then has the ports ``steps``
    and ``feedback`` (:class:`srcfpga.hdl.layer_engine.LayerEngine`), and its ``events`` address ``n_in + n_out``.
    ``config``, ``float``, ``quantizer``, ``qat``, ``defaults``: the nn parts (module docstring).
    ``prove`` (optional): the proof obligation (:mod:`srcfpga.verify.prove`), ``prove(obligation)`` filling an
    :class:`~srcfpga.verify.prove.Obligation` (``obligation.layer``) with the engine's update datapath, the
    golden step on symbolic values and the ranges of the state words and inputs; ``None``: ``srcfpga prove``
    reports the kind as unproven.
    ``testing`` (optional): ``random_model(rng, kind, sizes, weight_bits, segments) -> (model, options)``, a random
    valid HardwareModel of the kind for randomized checks (:mod:`srcfpga.testing`): layer sizes ``sizes``, weights
    of ``weight_bits`` bits, ``segments`` pieces per nonlinearity table where the kind has tables, the kind's
    other options drawn from ``rng`` and returned (``options``) so that a failing case can be described.
    """

    name: str
    summary: str
    layer: str
    golden: str
    engine: str
    config: str
    float: str
    quantizer: str
    qat: str
    defaults: NetDefaults
    prove: str | None = None
    testing: str | None = None

    def part(self, part: str) -> Any:
        """The object a part reference names, imported now."""
        if part not in PARTS:
            raise ConfigError(f"a cell kind has no part {part!r}; parts are {', '.join(PARTS)}")
        if getattr(self, part) is None:
            raise ConfigError(f"cell kind {self.name!r} has no {part} part")
        return resolve(getattr(self, part))


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

    def options(self) -> tuple[CellOption, ...]:
        """The command-line cell options (:func:`cli_option` fields), each with the kinds whose constants have
        it; kinds sharing a name must declare it alike (one ``--name`` serves them all)."""
        found: dict[str, CellOption] = {}
        for kind in self:
            for field in fields(kind.part("config")):
                if CLI_OPTION not in field.metadata:
                    continue
                spec = field.metadata[CLI_OPTION]
                known = found.get(field.name)
                if known is not None and known.argparse != spec:
                    raise ConfigError(f"cell option {field.name!r} of {kind.name!r} differs from that of "
                                      f"{', '.join(known.kinds)}: one command-line option cannot serve both")
                kinds = (*known.kinds, kind.name) if known else (kind.name,)
                found[field.name] = CellOption(field.name, kinds, spec)
        return tuple(found.values())
