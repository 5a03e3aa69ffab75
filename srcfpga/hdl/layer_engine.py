"""The layer engine shared by the spiking cells: accumulator, parameter and state memories, update pass.

A cell kind supplies only its neuron datapath (:class:`NeuronDatapath`): the state words of one neuron, the
constants of one neuron, and the arithmetic of the two register stages of the update pass. Everything else
- event-driven synaptic accumulation, the memories, the sequencing of the pass, the output masks, the trace
and state ports, and the feedback of a recurrent layer's own spikes - is here, once.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np
from amaranth import Module, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .accumulator import SynapticAccumulator
from .feedback import is_recurrent
from .layouts import (
    STEP_BITS,
    event_layout,
    index_bits,
    mask_layout,
    probe_signature,
    state_trace_layout,
    trace_layout,
)
from .update_pass import UpdatePass


class NeuronDatapath(Protocol):
    """The arithmetic of one layer's neuron, built once per lane by :class:`LayerEngine`.

    ``state_layout``: one neuron's state words (named like the golden trace's ``states()``).
    ``param_layout``: one neuron's constants in the parameter memory; a member ``init`` (shaped like the state)
    holds the initial state, used at the first step after ``begin`` (without it the state starts at 0).
    ``mid_layout``: what stage 1 hands to stage 2 through registers.
    ``columns``: ``(n_out, addresses)`` synaptic weights by accumulator address, ``weight_bits`` wide;
    ``syn_bits``: the width of the exact synaptic sums.
    """

    state_layout: data.StructLayout
    param_layout: data.StructLayout
    mid_layout: data.StructLayout
    columns: np.ndarray
    weight_bits: int
    syn_bits: int

    def lane_params(self, n: int) -> dict[str, Any]:
        """The constants of neuron ``n`` (``n >= n_out``: a padding lane, which must never spike)."""

    def update1(self, m: Module, lane: int, old: Value, syn: Value, params: Value) -> dict[str, Value]:
        """Stage 1: the ``mid_layout`` values from the old state, the synaptic sum and the constants."""

    def update2(self, m: Module, lane: int, mid: Value) -> tuple[dict[str, Value], Value]:
        """Stage 2: the new state words (``state_layout``) and the spike, from stage 1's registers."""


class LayerEngine(wiring.Component):
    """A time-multiplexed layer of ``n_out`` neurons, ``lanes`` updated per clock cycle.

    Per timestep: the :class:`SynapticAccumulator` sums the weight columns of the addresses on ``events``
    (in parallel over all neurons); then the :class:`UpdatePass` visits the ``groups = ceil(n_out / lanes)``
    lane groups, one per cycle, reading the group's state word (the initial state at the first step after
    ``begin``) and constants, through the datapath's two stages, and writes the new state back in stage 3.
    Each group's spikes leave on ``masks`` (neuron offset ``group * lanes``, ``last`` on the final group) and on
    ``trace``; with ``trace_states``, the new state words on ``states``. The accumulation of step ``t + 1``
    overlaps the update pass of step ``t``.

    A recurrent layer (:func:`is_recurrent`) also offers its spikes on ``feedback`` (same beats as ``masks``,
    none in the last step of an inference: ``steps`` is the inference's step count) for
    :class:`srcfpga.hdl.feedback.FeedbackMerge`, which merges them at address offset ``n_in`` into this
    layer's input: ``events`` then addresses ``n_in + n_out`` columns.

    Ports: ``begin`` (In 1), ``events`` (In stream of ``event_layout``), ``masks`` (Out stream of
    ``mask_layout(lanes, ...)``), ``trace`` (probe of ``trace_layout(lanes)``), ``states`` (probe, with
    ``trace_states``), ``steps`` (In ``STEP_BITS``) and ``feedback`` (Out stream) when recurrent.
    """

    datapath_type: ClassVar[type]

    def __init__(self, layer, index: int, lanes: int, count: int, memory: str, trace_states: bool = False):
        self.layer, self.index, self.lanes = layer, index, lanes
        self.groups = -(-layer.n_out // lanes)
        self.mask_width, self.addresses = lanes, layer.n_out     # one spike bit per neuron
        self.recurrent = is_recurrent(layer)
        self.input_addresses = layer.n_in + (layer.n_out if self.recurrent else 0)
        self._count, self._memory = count, memory
        self.state_layout = data.ArrayLayout(self.lane_state(layer), lanes)
        self._trace_states = trace_states
        ports = {
            "begin": In(1),
            "events": In(stream.Signature(event_layout(count, index_bits(self.input_addresses)))),
            "masks": Out(stream.Signature(mask_layout(lanes, index_bits(layer.n_out)))),
            "trace": Out(probe_signature(trace_layout(lanes))),
        }
        if trace_states:
            ports["states"] = Out(probe_signature(state_trace_layout(self.state_layout)))
        if self.recurrent:
            ports |= {"steps": In(STEP_BITS), "feedback": Out(stream.Signature(mask_layout(lanes, index_bits(layer.n_out))))}
        super().__init__(ports)

    @classmethod
    def lane_state(cls, layer) -> data.StructLayout:
        """One neuron's state words (the datapath's ``state_layout``)."""
        return cls.datapath_type(layer).state_layout

    def elaborate(self, platform):
        m = Module()
        lanes, groups = self.lanes, self.groups
        neuron = self.datapath_type(self.layer)
        padded = groups * lanes

        m.submodules.acc = acc = SynapticAccumulator(neuron.columns, neuron.weight_bits, neuron.syn_bits,
                                                     index_bits(self.input_addresses), self._count, self._memory,
                                                     width=padded)
        wiring.connect(m, wiring.flipped(self.events), acc.events)

        state_layout = self.state_layout
        params = Memory(shape=data.ArrayLayout(neuron.param_layout, lanes), depth=groups,
                        init=[[neuron.lane_params(g * lanes + b) for b in range(lanes)] for g in range(groups)])
        state = Memory(shape=state_layout, depth=groups, init=[])
        m.submodules.params, m.submodules.state = params, state
        params_rd, state_rd, state_wr = params.read_port(), state.read_port(), state.write_port()

        m.submodules.control = control = UpdatePass(self.index, groups, lanes, index_bits(self.layer.n_out), lanes,
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

        # ---- issue: the group's sums ---------------------------------------------------------------
        sums = data.View(data.ArrayLayout(data.ArrayLayout(acc.sums.payload.shape().elem_shape, lanes), groups),
                         acc.sums.payload.as_value())
        syn1 = Signal.like(sums[0])
        m.d.sync += syn1.eq(sums[control.group])

        # ---- stage 1 -------------------------------------------------------------------------------
        old = Signal(state_layout)
        m.d.comb += old.eq(state_rd.data)
        with m.If(control.fresh):
            initial = [params_rd.data[b].init if "init" in neuron.param_layout.members else 0 for b in range(lanes)]
            m.d.comb += [old[b].eq(initial[b]) for b in range(lanes)]
        mid2 = Signal(data.ArrayLayout(neuron.mid_layout, lanes))
        for b in range(lanes):
            values = neuron.update1(m, b, old[b], syn1[b], params_rd.data[b])
            m.d.sync += [mid2[b][name].eq(value) for name, value in values.items()]

        # ---- stage 2: new state and spikes ---------------------------------------------------------
        new3, spikes3 = Signal(state_layout), Signal(lanes)
        for b in range(lanes):
            words, spike = neuron.update2(m, b, mid2[b])
            m.d.sync += [new3[b][name].eq(value) for name, value in words.items()] + [spikes3[b].eq(spike)]

        # ---- stage 3: write-back, spikes out (from registers only) -------------------------------------
        m.d.comb += [state_wr.addr.eq(control.write_group), state_wr.en.eq(control.write), state_wr.data.eq(new3),
                     control.mask.eq(spikes3), control.values.eq(spikes3)]
        return m
