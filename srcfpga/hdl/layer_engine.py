"""The layer engine shared by every cell kind: accumulator, parameter and state memories, update pass.

A cell kind supplies only its neuron datapath (:class:`NeuronDatapath`): the state words of one neuron, the
constants of one neuron, the synaptic sums it reads, and the arithmetic of the two register stages of the update
pass. Everything else - event-driven synaptic accumulation, the memories, the sequencing of the pass, the output
masks (bit planes for multi-bit outputs, :mod:`srcfpga.hdl.planes`), the trace and state ports, and the feedback
of a recurrent layer's own spikes - is here, once.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np
from amaranth import Module, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from .accumulator import SynapticAccumulator
from .feedback import is_recurrent
from .layouts import (
    STEP_BITS,
    event_layout,
    index_bits,
    lane_groups,
    lanes_layout,
    mask_layout,
    probe_signature,
    state_trace_layout,
    trace_layout,
)
from .planes import input_code, output_code
from .update_pass import UpdatePass


class NeuronDatapath(Protocol):
    """The arithmetic of one layer's neuron, built once per lane by :class:`LayerEngine`.

    ``state_layout``: one neuron's state words (named like the golden trace's ``states()``).
    ``param_layout``: one neuron's constants in the parameter memory; a member ``init`` (shaped like the state)
    holds the initial state, used at the first step after ``begin`` (without it the state starts at 0).
    ``mid_layout``: what stage 1 hands to stage 2 through registers.
    ``columns``: the synaptic sums the update reads, by name: ``(n_out, n_in [+ n_out])`` weights of ``weight_bits``
    bits each (input ``j`` at column ``j``, a recurrent layer's own neuron ``n`` at ``n_in + n``; the engine
    expands multi-bit inputs into bit-plane columns, :func:`srcfpga.hdl.planes.input_code`);
    ``syn_bits``: the width of the exact synaptic sums.
    """

    state_layout: data.StructLayout
    param_layout: data.StructLayout
    mid_layout: data.StructLayout
    columns: dict[str, np.ndarray]
    weight_bits: int
    syn_bits: int

    def lane_params(self, n: int) -> dict[str, Any]:
        """The constants of neuron ``n`` (``n >= n_out``: a padding lane, which must never spike)."""

    def update1(self, m: Module, lane: int, old: Value, sums: Value, params: Value) -> dict[str, Value]:
        """Stage 1: the ``mid_layout`` values from the old state, the synaptic sums (a struct of ``columns``'
        names, :func:`sums_layout`) and the constants."""

    def update2(self, m: Module, lane: int, mid: Value) -> tuple[dict[str, Value], Value]:
        """Stage 2: the new state words (``state_layout``) and the output value (the spike; a multi-bit
        layer's value in ``layer.output_range``, two's complement), from stage 1's registers."""


def sums_layout(neuron: NeuronDatapath) -> data.StructLayout:
    """One neuron's synaptic sums as the update reads them: one ``syn_bits`` signed word per ``columns`` name."""
    return data.StructLayout({name: signed(neuron.syn_bits) for name in neuron.columns})


class LayerEngine(wiring.Component):
    """A time-multiplexed layer of ``n_out`` neurons, ``lanes`` updated per clock cycle.

    Per timestep: the :class:`SynapticAccumulator` sums the weight columns of the addresses on ``events``
    (in parallel over all neurons and all the datapath's ``columns``); then the :class:`UpdatePass` visits the
    ``groups = ceil(n_out / lanes)`` lane groups, one per cycle, reading the group's state word (the initial
    state at the first step after ``begin``) and constants, through the datapath's two stages, and writes the new
    state back in stage 3. Each group's outputs leave on ``masks`` (:func:`srcfpga.hdl.planes.output_code`: one
    bit per neuron, or every bit plane of the group's multi-bit values; ``last`` on the final group) and on
    ``trace``; with ``trace_states``, the new state words on ``states``. The accumulation of step ``t + 1``
    overlaps the update pass of step ``t``.

    A recurrent layer (:func:`is_recurrent`) also offers its spikes on ``feedback`` (same beats as ``masks``,
    none in the last step of an inference: ``steps`` is the inference's step count) for
    :class:`srcfpga.hdl.feedback.FeedbackMerge`, which merges them at address offset ``n_in`` into this
    layer's input: ``events`` then addresses ``n_in + n_out`` columns.

    Ports: ``begin`` (In 1), ``events`` (In stream of ``event_layout``, addresses of
    :func:`srcfpga.hdl.planes.input_code`), ``masks`` (Out stream of ``mask_layout(mask_width, ...)``),
    ``trace`` (probe of ``trace_layout(lanes * value_bits)``, lane values as :func:`lanes_layout`), ``states``
    (probe, with ``trace_states``), ``steps`` (In ``STEP_BITS``) and ``feedback`` (Out stream) when recurrent.
    A subclass names its ``datapath_type`` and the ``layer_types`` it builds.
    """

    datapath_type: ClassVar[type]
    layer_types: ClassVar[tuple[type, ...]]

    def __init__(self, layer, index: int, lanes: int, count: int, memory: str, trace_states: bool = False):
        if type(layer) not in self.layer_types:
            raise ConfigError(f"layer {index}: {type(self).__name__} builds "
                              f"{' / '.join(t.__name__ for t in self.layer_types)} layers, got {type(layer).__name__}")
        self.layer, self.index, self.lanes = layer, index, lanes
        self.groups = lane_groups(layer.n_out, lanes)
        self.input_code, self.output_code = input_code(layer, lanes), output_code(layer, lanes)
        self.mask_width, self.addresses = self.output_code.mask_width, self.output_code.addresses(layer.n_out)
        self.value_bits = self.output_code.bits
        self.recurrent = is_recurrent(layer)
        self.input_addresses = self.input_code.addresses(layer.n_in) + (layer.n_out if self.recurrent else 0)
        self._count, self._memory = count, memory
        self.state_layout = data.ArrayLayout(self.lane_state(layer), lanes)
        self._trace_states = trace_states
        masks = stream.Signature(mask_layout(self.mask_width, index_bits(self.addresses)))
        ports = {
            "begin": In(1),
            "events": In(stream.Signature(event_layout(count, index_bits(self.input_addresses)))),
            "masks": Out(masks),
            "trace": Out(probe_signature(trace_layout(lanes * self.value_bits))),
        }
        if trace_states:
            ports["states"] = Out(probe_signature(state_trace_layout(self.state_layout)))
        if self.recurrent:
            ports |= {"steps": In(STEP_BITS), "feedback": Out(masks)}
        super().__init__(ports)

    @classmethod
    def lane_state(cls, layer) -> data.StructLayout:
        """One neuron's state words (the datapath's ``state_layout``)."""
        return cls.datapath_type(layer).state_layout

    def rom_columns(self, neuron: NeuronDatapath) -> np.ndarray:
        """The accumulator's weights: the datapath's ``columns`` at address columns (inputs through
        :attr:`input_code`, a recurrent layer's own spikes after them), stacked ``groups * lanes`` rows apart
        so that the sums of lane group ``g`` of column set ``k`` are the accumulator's group ``k * groups + g``."""
        n_in, padded = self.layer.n_in, self.groups * self.lanes
        matrices = [np.concatenate([self.input_code.columns(w[:, :n_in]), np.asarray(w[:, n_in:], np.int64)], axis=1)
                    for w in neuron.columns.values()]
        stacked = np.zeros((padded * (len(matrices) - 1) + self.layer.n_out, self.input_addresses), np.int64)
        for k, matrix in enumerate(matrices):
            stacked[k * padded:k * padded + self.layer.n_out] = matrix
        return stacked

    def elaborate(self, platform):
        m = Module()
        lanes, groups = self.lanes, self.groups
        neuron = self.datapath_type(self.layer)
        padded = groups * lanes

        m.submodules.acc = acc = SynapticAccumulator(self.rom_columns(neuron),
                                                     self.input_code.weight_bits(neuron.weight_bits), neuron.syn_bits,
                                                     index_bits(self.input_addresses), self._count, self._memory,
                                                     width=padded * len(neuron.columns))
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        state_layout = self.state_layout
        params = Memory(shape=data.ArrayLayout(neuron.param_layout, lanes), depth=groups,
                        init=[[neuron.lane_params(g * lanes + b) for b in range(lanes)] for g in range(groups)])
        state = Memory(shape=state_layout, depth=groups, init=[])
        m.submodules.params, m.submodules.state = params, state
        params_rd, state_rd, state_wr = params.read_port(), state.read_port(), state.write_port()

        m.submodules.control = control = UpdatePass(self.index, groups, self.mask_width, index_bits(self.addresses),
                                                    lanes * self.value_bits,
                                                    state_layout if self._trace_states else None,
                                                    feedback=self.recurrent)
        wiring.connect(m, control.masks, wiring.flipped(self.masks))
        wiring.connect(m, control.trace, wiring.flipped(self.trace))
        if self.recurrent:
            wiring.connect(m, control.feedback, wiring.flipped(self.feedback))
            m.d.comb += control.steps.eq(self.steps)
        if self._trace_states:
            wiring.connect(m, control.states, wiring.flipped(self.states))
            m.d.comb += control.state.eq(state_wr.data)
        m.d.comb += [control.begin.eq(self.begin), control.sums_valid.eq(acc.sums.valid),
                     acc.sums.ready.eq(control.sums_ready),
                     params_rd.addr.eq(control.group), state_rd.addr.eq(control.group)]

        # ---- issue: the group's sums, one word per column set ----------------------------------------------
        sums = data.View(data.ArrayLayout(data.ArrayLayout(acc.sums.payload.shape().elem_shape, lanes),
                                          groups * len(neuron.columns)), acc.sums.payload.as_value())
        syn1 = Signal(data.ArrayLayout(sums_layout(neuron), lanes))
        with m.If(control.issue), m.Switch(control.group):     # a case per group: constant slices of the sums
            for g in range(groups):
                with m.Case(g):
                    for k, name in enumerate(neuron.columns):
                        m.d.sync += [syn1[b][name].eq(sums[g + k * groups][b]) for b in range(lanes)]

        # ---- stage 1 -------------------------------------------------------------------------------
        old = Signal(state_layout)
        m.d.comb += old.eq(state_rd.data)
        with m.If(control.fresh):
            initial = [params_rd.data[b].init if "init" in neuron.param_layout.members else 0 for b in range(lanes)]
            m.d.comb += [old[b].eq(initial[b]) for b in range(lanes)]
        mid2 = Signal(data.ArrayLayout(neuron.mid_layout, lanes))
        for b in range(lanes):
            values = neuron.update1(m, b, old[b], syn1[b], params_rd.data[b])
            with m.If(control.stage1):
                m.d.sync += [mid2[b][name].eq(value) for name, value in values.items()]

        # ---- stage 2: new state and output values ----------------------------------------------------
        new3, values3 = Signal(state_layout), Signal(lanes_layout(lanes, self.value_bits))
        for b in range(lanes):
            words, output = neuron.update2(m, b, mid2[b])
            with m.If(control.stage2):
                m.d.sync += [new3[b][name].eq(word) for name, word in words.items()] + [values3[b].eq(output)]

        # ---- stage 3: write-back, masks out (from registers only) -------------------------------------
        m.d.comb += [state_wr.addr.eq(control.write_group), state_wr.en.eq(control.write), state_wr.data.eq(new3),
                     control.mask.eq(self.output_code.mask(values3)), control.values.eq(values3)]
        return m
