"""The cycle model of the generated network: cycles per timestep and per inference, exact.

The model replays the design's control path - every valid/ready handshake, FIFO level and pipeline
register of the blocks in :mod:`srcfpga.hdl` - clock cycle by clock cycle, without the data path: a
mask is reduced to its popcount, a step's outputs to the popcount of each mask they travel in (CMRU
counts as their bit planes, :mod:`srcfpga.hdl.planes`). It is
exact by construction (``tests/test_hdl_latency.py`` checks it against the Amaranth simulation and
``tests/test_sim_network.py`` against Verilator, cycle for cycle), for a host that offers every input
beat as soon as it may and takes the result at once (``start`` accepted in cycle 0, input from cycle 1).
It runs vectorized over a batch, one numpy pass per clock cycle (the 784 -> 100 reference network,
100 images of 220 steps: 1.5 s).

What bounds the cycles of a timestep (docs/hardware.md works through the reference network):

* source: ``R = ceil(n_in / 2E)`` rounds of the encoder (one mask each) per stimulus step, 1 per
  blank step (pixel input); ``R`` beats per step for frame input;
* spike extractor + accumulator: ``ceil(popcount / k)`` beats per non-empty mask (``k`` =
  ``spikes_per_cycle``), or about ``ceil(spikes / k)`` per step with ``pack_masks``; one beat for a
  step without spikes; a step's last beat waits until the
  layer's update pass has taken the previous step's sums;
* update pass: ``G = ceil(n_out / lanes)`` cycles, three stages deep, starting 2 cycles after the
  step's last beat and only when the output FIFO (``G + 4`` masks) has room for the whole pass;
* readout: one accumulator like the layers', ``n_classes`` cycles of argmax scan at the end.

The throughput is roughly ``max(R, beats + 2, G + 3)`` cycles per step per layer, the slowest layer
setting the pace; FIFO depths decide how much of one block's slow step another block can absorb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..quant.hwmodel import HardwareModel
from .config import HdlConfig
from .encoder import FIFO_DEPTH as ENCODER_FIFO_DEPTH
from .extractor import EVENT_FIFO_DEPTH
from .feedback import is_recurrent
from .layouts import lane_groups
from .planes import output_code

WRITE_BACK_DELAY = 3      # cycles from a state word's read to its write-back (the update pass's stages)
PASS_FIFO_SLACK = 4       # an update pass's output FIFO holds groups + PASS_FIFO_SLACK masks


def step_beats(popcounts: np.ndarray, per_cycle: int, pack: bool = False) -> np.ndarray:
    """Accumulator beats per step for the masks of popcounts ``(..., T, masks)``: ``ceil(popcount /
    per_cycle)`` per mask, or with ``pack`` (:class:`srcfpga.hdl.extractor.SpikeExtractor` packing
    across masks) ``ceil(step's spikes / per_cycle)``; at least one per step. A lower bound: an empty
    end-of-step mask that arrives too late to be merged into the previous beat costs one more, and a
    packed beat is cut short when the next mask is not there yet."""
    popcounts = np.asarray(popcounts)
    if pack:
        return np.maximum(1, -(-popcounts.sum(axis=-1) // per_cycle))
    return np.maximum(1, (-(-popcounts // per_cycle)).sum(axis=-1))


def mask_popcounts(spikes: np.ndarray, width: int) -> np.ndarray:
    """Popcount of every ``width``-bit mask of ``spikes`` ``(..., T, n)``: ``(..., T, ceil(n / width))``."""
    spikes = np.asarray(spikes, bool)
    n = spikes.shape[-1]
    pad = -n % width
    if pad:
        spikes = np.concatenate([spikes, np.zeros(spikes.shape[:-1] + (pad,), bool)], axis=-1)
    return spikes.reshape(spikes.shape[:-1] + (-1, width)).sum(axis=-1)


class _Items:
    """A stream of masks per sample: popcounts ``(B, N)``, end-of-step flags ``(N,)``; the FIFO
    between producer and consumer holds the masks that are sent (non-empty or end of step, and ``keep``) in
    order."""

    def __init__(self, popcounts: np.ndarray, last: np.ndarray, keep: np.ndarray | bool = True):
        self.popcounts, self.last = popcounts, np.broadcast_to(last, popcounts.shape)
        self.sent = ((popcounts > 0) | self.last) & keep
        batch = popcounts.shape[0]
        order = np.argsort(~self.sent, axis=1, kind="stable")               # sent masks first, in order
        self.sent_popcounts = np.take_along_axis(popcounts, order, axis=1)
        self.sent_last = np.take_along_axis(self.last, order, axis=1)
        self.rows = np.arange(batch)
        self.written = np.zeros(batch, np.int64)                            # masks written into the FIFO
        self.read = np.zeros(batch, np.int64)                               # masks taken by the consumer

    @property
    def level(self) -> np.ndarray:
        return self.written - self.read

    def head(self) -> tuple[np.ndarray, np.ndarray]:
        index = np.minimum(self.read, self.sent_popcounts.shape[1] - 1)
        return self.sent_popcounts[self.rows, index], self.sent_last[self.rows, index]


class _Extractor:
    """:class:`srcfpga.hdl.extractor.SpikeExtractor` with its staging registers and slot register (``pack``)
    and event FIFO, and the :class:`srcfpga.hdl.accumulator.SynapticAccumulator` that reads it."""

    def __init__(self, batch: int, count: int, pack: bool):
        self.count, self.pack = count, pack
        zeros = lambda dtype=bool: np.zeros(batch, dtype)   # noqa: E731
        self.held, self.pending, self.last = zeros(), zeros(np.int64), zeros()
        self.level, self.head_last, self.tail_last = zeros(np.int64), zeros(), zeros()   # event FIFO
        self.acc_pending, self.acc_pending_last, self.sums_valid = zeros(), zeros(), zeros()
        self.slot, self.slot_last = zeros(), zeros()        # pack: the slot register
        self.next = [zeros(), zeros(np.int64), zeros()]     # pack: the staging registers (valid, popcount, last)
        self.offer = [zeros(), zeros(np.int64), zeros()]

    def tick(self, in_valid, in_popcount, in_last, sums_ready) -> np.ndarray:
        """One clock cycle; returns ``masks.ready`` (the mask on the input is taken when valid)."""
        if not self.pack:
            return self._beat(in_valid, in_popcount, in_last, sums_ready)
        (next_valid, next_popcount, next_last), (offer_valid, offer_popcount, offer_last) = self.next, self.offer
        offer_taken = self._beat(offer_valid, offer_popcount, offer_last, sums_ready) & offer_valid
        fold = next_valid & next_last & (next_popcount == 0) & offer_valid & ~offer_taken & ~offer_last
        move = next_valid & (~offer_valid | offer_taken)
        ready = ~next_valid | move | fold
        take = in_valid & ready
        self.offer = [move | (offer_valid & ~offer_taken), np.where(move, next_popcount, offer_popcount),
                      np.where(move, next_last, offer_last | fold)]
        self.next = [take | (next_valid & ~move & ~fold), np.where(take, in_popcount, next_popcount),
                     np.where(take, in_last, next_last)]
        return ready

    def _beat(self, in_valid, in_popcount, in_last, sums_ready) -> np.ndarray:
        """The beat, slot register, event FIFO and accumulator, for the mask on offer; returns its ``ready``."""
        final = ~self.held | (self.pending <= self.count)
        room = self.count - np.where(self.held, np.minimum(self.pending, self.count), 0)
        if self.pack:
            borrow = in_valid & final & ~(self.held & self.last)
        else:
            borrow = self.held & final & ~self.last & in_valid & (in_popcount == 0) & in_last
        fifo_room = self.level != EVENT_FIFO_DEPTH
        out_ready = ~self.slot | fifo_room if self.pack else fifo_room
        beat = (self.held | borrow) & out_ready
        in_ready = (~self.held & ~borrow) | (out_ready & final)
        take = in_valid & in_ready
        beat_last = (self.held & final & self.last) | (borrow & (in_popcount <= room) & in_last)
        if self.pack:          # the beat enters the slot register, the slot register the event FIFO
            push, pushed_last = self.slot & fifo_room, self.slot_last
            self.slot, self.slot_last = beat | (self.slot & ~fifo_room), np.where(beat, beat_last, self.slot_last)
        else:
            push, pushed_last = beat, beat_last
        # accumulator side of the event FIFO
        blocked = self.head_last & (self.sums_valid | (self.acc_pending & self.acc_pending_last))
        pop = (self.level > 0) & ~blocked
        self.sums_valid = (self.sums_valid & ~sums_ready) | (self.acc_pending & self.acc_pending_last)
        self.acc_pending, self.acc_pending_last = pop, self.head_last.copy()
        # event FIFO: pop the head, then append
        self.head_last = np.where(pop, self.tail_last, self.head_last)
        level = self.level - pop
        self.head_last = np.where(push & (level == 0), pushed_last, self.head_last)
        self.tail_last = np.where(push & (level == 1), pushed_last, self.tail_last)
        self.level = level + push
        # extractor registers
        self.pending = np.where(beat, self.pending - self.count, self.pending)
        self.held = self.held & ~(beat & final)
        loaded = take & ~borrow
        self.held = np.where(loaded, (in_popcount > 0) | in_last, np.where(take, in_popcount > room, self.held))
        self.pending = np.where(loaded, in_popcount, np.where(take, in_popcount - room, self.pending))
        self.last = np.where(take, in_last, self.last)
        return in_ready


class _Merge:
    """:class:`srcfpga.hdl.feedback.FeedbackMerge` of a recurrent layer: its own masks (``own``, the layer's
    feedback FIFO) and the upstream masks into one stream, a step ending when both have ended theirs."""

    def __init__(self, batch: int, own: _Items):
        self.own = own
        self.own_done, self.up_done = np.ones(batch, bool), np.zeros(batch, bool)

    def offer(self, valid, popcount, last):
        """The merged mask offered this cycle, from the upstream's offer."""
        own_popcount, own_last = self.own.head()
        self.pick_own = (self.own.level > 0) & ~self.own_done
        self.up_valid = valid
        return (self.pick_own | (valid & ~self.up_done), np.where(self.pick_own, own_popcount, popcount),
                np.where(self.pick_own, own_last & self.up_done, last & self.own_done)), own_last, last

    def take(self, ready, own_last, up_last) -> np.ndarray:
        """Updates the flags for the extractor's ``ready``; returns the upstream's ``taken``."""
        own_taken = ready & self.pick_own
        up_taken = ready & ~self.pick_own & ~self.up_done & self.up_valid
        self.own.read += own_taken
        closes = (own_taken & own_last & self.up_done) | (up_taken & up_last & self.own_done)
        self.own_done = (self.own_done | (own_taken & own_last)) & ~closes
        self.up_done = (self.up_done | (up_taken & up_last)) & ~closes
        return up_taken


class _UpdatePass:
    """:class:`srcfpga.hdl.update_pass.UpdatePass` of a layer engine: issue, three stages, output FIFOs (the
    masks, and the feedback of a recurrent layer)."""

    def __init__(self, batch: int, groups: int, outs: list[_Items]):
        self.groups, self.outs = groups, outs
        self.running = np.zeros(batch, bool)
        self.group = np.zeros(batch, np.int64)
        self.step = np.zeros(batch, np.int64)
        self.stages = [(np.zeros(batch, bool), np.zeros(batch, np.int64)) for _ in range(WRITE_BACK_DELAY)]

    def tick(self, sums_valid) -> np.ndarray:
        """Issue this cycle (as ``sums.ready``: issue of the last group); advances the pass."""
        in_flight = sum(valid.astype(np.int64) for valid, _ in self.stages)
        room = np.logical_and.reduce([out.level + in_flight <= PASS_FIFO_SLACK for out in self.outs])
        start = sums_valid & ~self.running & room
        if self.groups <= WRITE_BACK_DELAY:
            start &= in_flight == 0
        issue = self.running | start
        last_group = self.group == self.groups - 1
        written, index = self.stages[-1]
        for out in self.outs:
            out.written += written & out.sent[out.rows, np.minimum(index, out.sent.shape[1] - 1)]
        self.stages = [(issue, self.step * self.groups + self.group)] + self.stages[:-1]
        self.running = (self.running | start) & ~(issue & last_group)
        self.step += issue & last_group
        self.group = np.where(issue, np.where(last_group, 0, self.group + 1), self.group)
        return issue & last_group


@dataclass(frozen=True)
class LatencyModel:
    model: HardwareModel
    config: HdlConfig

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", self.config.resolve(self.model))

    @property
    def mask_width(self) -> int:
        return self.model.encoder.beat_width

    @property
    def rounds(self) -> int:
        return self.model.encoder.rounds(self.model.input_size)

    @property
    def groups(self) -> list[int]:
        """Update groups (cycles of the update pass) of each layer."""
        return [lane_groups(layer.n_out, self.config.lanes) for layer in self.model.layers]

    def output_popcounts(self, layer_spikes: list[np.ndarray]) -> list[np.ndarray]:
        """Per layer, the popcount of each mask its outputs travel in, ``(B, T, groups)``: one mask per lane
        group, holding every bit plane of the group's values (:func:`srcfpga.hdl.planes.output_code`)."""
        codes = [output_code(layer, self.config.lanes) for layer in self.model.layers]
        return [mask_popcounts(code.planes(values), code.mask_width) for code, values in zip(codes, layer_spikes)]

    def feed_popcounts(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray]) -> list[np.ndarray]:
        """Popcounts ``(B, T, masks)`` of the masks each accumulator reads, the layers' (as far as
        ``layer_spikes`` reach) then the readout's; a recurrent layer's accumulator also reads the layer's own
        masks of the step before."""
        outputs = self.output_popcounts(layer_spikes)
        feeds = [mask_popcounts(input_spikes, self.mask_width)] + outputs   # the layers' accumulators, the readout's
        for index, own in enumerate(outputs):
            if is_recurrent(self.model.layers[index]):                     # fed back one step later
                previous = np.concatenate([np.zeros_like(own[..., :1, :]), own[..., :-1, :]], axis=-2)
                feeds[index] = np.concatenate([feeds[index], previous], axis=-1)
        return feeds

    def feed_beats(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray]) -> list[np.ndarray]:
        """Accumulator beats per sample of each accumulator (:meth:`feed_popcounts`):
        ``ceil(popcount / spikes_per_cycle)`` per mask, at least one per step (:func:`step_beats`)."""
        return [step_beats(counts, self.config.spikes_per_cycle, self.config.pack_masks).sum(axis=-1)
                for counts in self.feed_popcounts(input_spikes, layer_spikes)]

    @property
    def load_cycles(self) -> int:
        return self.rounds if self.config.input == "pixels" else 0

    def inference_cycles(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray], blank: int) -> np.ndarray:
        """The result's cycle count (cycles from ``start`` to ``result``) per sample, for batched
        ``(B, T, n)`` input frames and layer outputs (the golden model's trace: spikes, BMRU states or
        CMRU counts)."""
        input_spikes = np.asarray(input_spikes, bool)
        batch, steps = input_spikes.shape[:2]
        k, rounds, pixels = self.config.spikes_per_cycle, self.rounds, self.config.input == "pixels"
        rows = np.arange(batch)

        popcounts = mask_popcounts(input_spikes, self.mask_width)                     # (B, T, R)
        if pixels:                           # a blank step is one empty end-of-step mask, written at issue
            stimulus = popcounts[:, blank:].reshape(batch, -1)
            source = _Items(np.concatenate([np.zeros((batch, blank), np.int64), stimulus], axis=1),
                            np.concatenate([np.ones(blank, bool), np.arange(stimulus.shape[1]) % rounds == rounds - 1]))
        else:                                # the host offers R frames per step, blank or not
            source = _Items(popcounts.reshape(batch, -1), np.tile(np.arange(rounds) == rounds - 1, steps))
        n_source = source.popcounts.shape[1]
        outputs, passes, merges = [], [], []
        for layer, counts, groups in zip(self.model.layers, self.output_popcounts(layer_spikes), self.groups):
            last = np.tile(np.arange(groups) == groups - 1, steps)
            outputs.append(_Items(counts.reshape(batch, -1), last))
            own = [_Items(outputs[-1].popcounts, last, np.arange(steps * groups) < (steps - 1) * groups)] \
                if is_recurrent(layer) else []          # no feedback in the last step
            passes.append(_UpdatePass(batch, groups, [outputs[-1], *own]))
            merges.append(_Merge(batch, own[0]) if own else None)
        extractors = [_Extractor(batch, k, self.config.pack_masks) for _ in range(len(passes) + 1)]

        issued = np.zeros(batch, np.int64)            # source masks issued by the encoder / offered by the host
        in_flight, flight = np.zeros(batch, bool), np.zeros(batch, np.int64)   # encoder round issued last cycle
        readout_steps = np.zeros(batch, np.int64)
        scan = np.full(batch, -1)                     # argmax scan: candidate index, -1 when not scanning
        cycles = np.full(batch, -1)
        n_classes = self.model.readout.n_classes
        cycle = 1 + self.load_cycles                  # start taken in cycle 0, image words in cycles 1 .. R
        while (cycles < 0).any():
            # combinational values from this cycle's registers
            if pixels:
                offered = source.level > 0
                offered_popcount, offered_last = source.head()
                go = (source.level + in_flight < ENCODER_FIFO_DEPTH) & (issued < n_source)
                direct = go & (issued < blank)
                wrote = in_flight & source.sent[rows, flight]
            else:
                index = np.minimum(issued, n_source - 1)
                send = source.sent[rows, index] & (issued < n_source)
                offered, offered_popcount, offered_last = send, source.popcounts[rows, index], source.last[rows, index]
            inputs = [(offered, offered_popcount, offered_last)] + [(out.level > 0, *out.head()) for out in outputs]
            offers = [None if merge is None else merge.offer(*inp) for merge, inp in zip(merges + [None], inputs)]
            sums_ready = [p.tick(e.sums_valid) for p, e in zip(passes, extractors)]
            readout_sums = extractors[-1].sums_valid
            readout_ready = (scan < 0) & (cycles < 0)
            sums_ready.append(readout_ready)
            taken = []
            for e, inp, ready, merge, offer in zip(extractors, inputs, sums_ready, merges + [None], offers):
                if merge is None:
                    taken.append(e.tick(*inp, ready) & inp[0])
                else:
                    merged, own_last, up_last = offer
                    taken.append(merge.take(e.tick(*merged, ready) & merged[0], own_last, up_last))
            # registers
            for out, took in zip(outputs, taken[1:]):
                out.read += took
            if pixels:
                source.read += taken[0]
                source.written += wrote | direct
                in_flight, flight = go & ~direct, np.where(go, issued, flight)
                issued += go
            else:
                issued += (issued < n_source) & (taken[0] | ~send)
            finished = scan == n_classes - 1
            cycles = np.where(finished & (cycles < 0), cycle, cycles)
            scan = np.where(finished, -1, np.where(scan >= 0, scan + 1, scan))
            accepted = readout_sums & readout_ready
            scan = np.where(accepted & (readout_steps == steps - 1), 0, scan)
            readout_steps += accepted
            cycle += 1
        return cycles

    def link_bound_cycles(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray], blank: int) -> np.ndarray:
        """The compute latency per sample behind a link slower than the network (the UART board's
        ``cycles``, :mod:`srcfpga.boards.protocol`): pixel input, :meth:`inference_cycles` (the image is on
        chip before the computation starts); frame input, the cycles from the last input beat to the result,
        every earlier beat having been processed when it arrives - the step's last mask alone, as the
        only spikes of a one-step inference whose empty masks are offered first."""
        if self.config.input == "pixels":
            return self.inference_cycles(input_spikes, layer_spikes, blank)
        last = np.zeros_like(np.asarray(input_spikes, bool)[:, -1:])
        tail = (self.rounds - 1) * self.mask_width
        last[..., tail:] = np.asarray(input_spikes, bool)[:, -1:, tail:]
        return self.inference_cycles(last, [np.asarray(s)[:, -1:] for s in layer_spikes], 0) - self.rounds

    def cycles_per_step(self, input_spikes: np.ndarray, layer_spikes: list[np.ndarray], blank: int) -> float:
        """Mean cycles per timestep over a batch (the throughput figure; excludes the image load)."""
        steps = np.asarray(input_spikes).shape[-2]
        return float(np.mean(self.inference_cycles(input_spikes, layer_spikes, blank) - self.load_cycles) / steps)

    def describe(self) -> dict:
        """The model's constants (written into the Verilog manifest)."""
        return {"mask_width": self.mask_width, "rounds_per_step": self.rounds,
                "spikes_per_cycle": self.config.spikes_per_cycle, "lanes": self.config.lanes,
                "update_groups": self.groups, "load_cycles": self.load_cycles}
