"""The update-pass controller of the layer engine (:class:`srcfpga.hdl.layer_engine.LayerEngine`), every cell kind's.

A layer engine keeps its units in ``groups`` lane groups (one word of its state and parameter memories
per group). Once per timestep it runs an *update pass* over the groups, one per clock cycle, through
three register stages; this module owns everything in that pass that is not arithmetic: when a pass
may start, which group is read, how the groups travel through the stages, the output FIFO and the
trace port. The engine owns the memories and the datapath between the stages.
"""

from __future__ import annotations

from amaranth import C, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from .arith import const_mul
from .latency import PASS_FIFO_SLACK, WRITE_BACK_DELAY
from .layouts import (
    STEP_BITS,
    mask_layout,
    probe_signature,
    state_trace_layout,
    trace_layout,
)


class UpdatePass(wiring.Component):
    """Issue, stage tracking and output of one layer engine's update pass.

    Cycle by cycle, for the group issued in cycle ``c``::

        c       issue    ``issue``, ``group``: the engine's memories are read at ``group`` and it
                         registers the group's synaptic sums
        c + 1   stage 1  ``stage1``; ``fresh``: this group belongs to the first step after ``begin`` (the
                         engine uses the initial states from its parameter memory instead of the state memory)
        c + 2   stage 2  ``stage2``
        c + 3   stage 3  ``write``, ``write_group``: the engine writes the group's new state back and
                         presents ``mask`` (``mask_width`` bits, what the next layer sees) and ``values``
                         (``trace_width`` bits for the trace port), from registers only

    ``issue``, ``stage1`` and ``stage2`` are the clock enables of the engine's stage registers: they load only
    when a group moves into them (fewer flip-flop toggles, and a simulator such as Verilator evaluates the
    datapath only in those cycles).

    A pass starts when the accumulator offers the step's sums (``sums_valid``), the output FIFO has
    room for every group of the pass, and - for passes of at most ``WRITE_BACK_DELAY`` groups - no
    group is still in flight (a state word is written back 3 cycles after its read). ``sums_ready``
    accepts the sums together with the last group's issue. The FIFO (``groups + PASS_FIFO_SLACK``
    entries of one ``mask_layout(mask_width, base_bits)`` beat) feeds ``masks``: base ``group * mask_width``,
    ``last`` on the final group, empty masks dropped except the last. ``trace`` shows every group at
    stage 3 (layer ``index``, step counted from ``begin``, group, ``values``). With a ``state_layout``
    (``HdlConfig(trace_states=True)``), ``states`` shows the group's new state words, presented by the
    engine on ``state`` at stage 3, in the same cycle (``state_trace_layout(state_layout)``).

    With ``feedback`` (a recurrent layer), a second FIFO of the same depth receives the same beats, except in
    the inference's last step (``steps - 1``, ``steps`` counted from ``begin``), and feeds ``feedback``; a pass
    then also waits for room in it.
    """

    def __init__(self, index: int, groups: int, mask_width: int, base_bits: int, trace_width: int,
                 state_layout: data.ArrayLayout | None = None, feedback: bool = False):
        self.index, self.groups, self.mask_width = index, groups, mask_width
        self.fifo_depth = groups + PASS_FIFO_SLACK
        states = {} if state_layout is None else {
            "state": In(state_layout), "states": Out(probe_signature(state_trace_layout(state_layout)))}
        if feedback:
            states |= {"steps": In(STEP_BITS), "feedback": Out(stream.Signature(mask_layout(mask_width, base_bits)))}
        super().__init__({
            "begin": In(1),
            "sums_valid": In(1),
            "sums_ready": Out(1),
            "issue": Out(1),
            "group": Out(range(groups)),
            "stage1": Out(1),
            "stage2": Out(1),
            "fresh": Out(1),
            "write": Out(1),
            "write_group": Out(range(groups)),
            "mask": In(mask_width),
            "values": In(trace_width),
            "masks": Out(stream.Signature(mask_layout(mask_width, base_bits))),
            "trace": Out(probe_signature(trace_layout(trace_width))),
            **states,
        })

    def elaborate(self, platform):
        m = Module()
        groups = self.groups
        fifos = [("fifo", self.masks)] + ([("feedback_fifo", self.feedback)] if "feedback" in self.signature.members
                                          else [])
        for name, port in fifos:
            m.submodules[name] = fifo = SyncFIFO(width=len(port.payload.as_value()), depth=self.fifo_depth)
            m.d.comb += [port.payload.eq(fifo.r_data), port.valid.eq(fifo.r_rdy), fifo.r_en.eq(port.ready)]
        fifo = m.submodules.fifo

        # ---- issue: one lane group per cycle -----------------------------------------------------
        running, group, step, fresh = Signal(), Signal(range(groups)), Signal(STEP_BITS), Signal()
        valid1, valid2, valid3 = Signal(), Signal(), Signal()
        in_flight = valid1 + valid2 + valid3
        hazard = (valid1 | valid2 | valid3) if groups <= WRITE_BACK_DELAY else C(0)
        room = 1
        for name, _ in fifos:
            room = room & (m.submodules[name].level + in_flight <= self.fifo_depth - groups)
        start = self.sums_valid & ~running & room & ~hazard
        issue = running | start
        last_group = group == groups - 1
        with m.If(start):
            m.d.sync += running.eq(1)
        with m.If(issue):
            m.d.sync += group.eq(group + 1)
            with m.If(last_group):
                m.d.sync += [running.eq(0), group.eq(0), step.eq(step + 1), fresh.eq(0)]
        with m.If(self.begin):
            m.d.sync += [step.eq(0), fresh.eq(1)]
        m.d.comb += [self.issue.eq(issue), self.group.eq(group), self.sums_ready.eq(issue & last_group)]

        # ---- the group's position through stages 1..3 ----------------------------------------------
        tag = data.StructLayout({"group": range(groups), "step": STEP_BITS, "last": 1})
        tag1, tag2, tag3 = Signal(tag), Signal(tag), Signal(tag)
        fresh1 = Signal()
        m.d.sync += [valid1.eq(issue), tag1.group.eq(group), tag1.step.eq(step), tag1.last.eq(last_group),
                     fresh1.eq(fresh), valid2.eq(valid1), tag2.eq(tag1), valid3.eq(valid2), tag3.eq(tag2)]
        m.d.comb += [self.stage1.eq(valid1), self.stage2.eq(valid2), self.fresh.eq(fresh1), self.write.eq(valid3),
                     self.write_group.eq(tag3.group)]

        # ---- stage 3: masks to the FIFO, trace ------------------------------------------------------
        out = data.View(self.masks.payload.shape(), fifo.w_data)
        send = valid3 & (self.mask.any() | tag3.last)
        m.d.comb += [
            out.mask.eq(self.mask), out.base.eq(const_mul(tag3.group, self.mask_width)), out.last.eq(tag3.last),
            fifo.w_en.eq(send),
            self.trace.valid.eq(valid3),
            self.trace.payload.layer.eq(self.index), self.trace.payload.step.eq(tag3.step),
            self.trace.payload.group.eq(tag3.group), self.trace.payload.spikes.eq(self.values),
        ]
        if "feedback" in self.signature.members:      # the same beats, but none in the last step
            back = m.submodules.feedback_fifo
            m.d.comb += [back.w_data.eq(fifo.w_data), back.w_en.eq(send & (tag3.step != self.steps - 1))]
        if "states" in self.signature.members:
            m.d.comb += [self.states.valid.eq(valid3), self.states.payload.step.eq(tag3.step),
                         self.states.payload.group.eq(tag3.group), self.states.payload.state.eq(self.state)]
        return m
