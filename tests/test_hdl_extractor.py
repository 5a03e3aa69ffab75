"""The spike extractor's packed data path: rank selection (chunk prefix counts) and the events it emits."""

from __future__ import annotations

import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from srcfpga.hdl import extractor
from srcfpga.hdl.extractor import SpikeExtractor

WIDTHS = (1, 5, 12, 32, 128)


def masks_of(width: int, rng: random.Random, count: int) -> list[int]:
    """Sparse, dense, empty and full masks of ``width`` bits."""
    full = (1 << width) - 1
    return [0, full, 1, 1 << (width - 1)] + [rng.getrandbits(width) & rng.getrandbits(width) & rng.getrandbits(width)
                                              for _ in range(count)] + [rng.getrandbits(width) for _ in range(count)]


def check_select_rank(width: int) -> None:
    """For every mask and every rank below its popcount: the prefix total is the popcount and
    ``select_rank`` returns the position of the set bit with that many set bits below it."""
    m = Module()
    mask, rank = Signal(width), Signal(range(max(width, extractor.CHUNK)))
    prefix = extractor.chunk_prefix(mask, width)      # through the module: the mutants replace them there
    index, total = Signal(8), Signal(9)
    m.d.comb += [index.eq(extractor.select_rank(mask, prefix, rank, width)), total.eq(prefix[-1])]
    sim = Simulator(m)

    async def bench(ctx):
        for value in masks_of(width, random.Random(width), 40):
            ctx.set(mask, value)
            positions = [b for b in range(width) if value >> b & 1]
            assert ctx.get(total) == len(positions)
            for r, position in enumerate(positions):
                ctx.set(rank, r)
                assert ctx.get(index) == position, (width, hex(value), r)

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", WIDTHS)
def test_select_rank_every_rank(width):
    check_select_rank(width)


RANK_MUTANTS = {
    "chunk reached >= -> >": ("reached = [rank >= prefix[c]", "reached = [rank > prefix[c]"),
    "rank offset + prefix": ("(rank[:CHUNK_RANK_BITS] - prefix[c][:CHUNK_RANK_BITS])",
                             "(rank[:CHUNK_RANK_BITS] + prefix[c][:CHUNK_RANK_BITS])"),
    "prefix adds the block's own first chunk": ("sums[(c // span) * span - 1]", "sums[(c // span) * span]"),
    "chunk index off by one": ("Const(c, chunk_bits)", "Const(c + 1, chunk_bits)"),
}


@pytest.mark.parametrize("name", list(RANK_MUTANTS))
def test_rank_mutant_is_caught(name, mutate):
    mutate(extractor, *RANK_MUTANTS[name])
    with pytest.raises(AssertionError):
        for width in WIDTHS[1:]:
            check_select_rank(width)


def run_extractor(width: int, count: int, steps: list[list[int]], seed: int,
                  gaps: float = 0.3, stalls: float = 0.3) -> list[tuple[list[int], bool]]:
    """Drives a packing :class:`SpikeExtractor` with ``steps`` (each a list of masks at bases ``0, width, ...``,
    the last one ending the step) under random input gaps and output stalls (probabilities per cycle);
    returns its beats (addresses of the spiking slots, ``last``)."""
    bits = 10
    dut = SpikeExtractor(width, bits, count, pack=True)
    sent = [(mask, i * width, i == len(step) - 1) for step in steps for i, mask in enumerate(step)]
    total_beats = sum(1 for step in steps for _ in step) * (width // count + 2) + 4 * len(steps)
    beats = []
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def source(ctx):
        rng = random.Random(seed)
        for mask, base, last in sent:
            while rng.random() < gaps:
                await ctx.tick()
            ctx.set(dut.masks.payload.mask, mask)
            ctx.set(dut.masks.payload.base, base)
            ctx.set(dut.masks.payload.last, last)
            ctx.set(dut.masks.valid, 1)
            await ctx.tick().until(dut.masks.ready)
            ctx.set(dut.masks.valid, 0)

    async def sink(ctx):
        rng = random.Random(seed + 1)
        for _ in range(total_beats):
            ctx.set(dut.events.ready, rng.random() >= stalls)
            *_, ready, valid, payload = await ctx.tick().sample(dut.events.ready, dut.events.valid, dut.events.payload)
            if ready and valid:
                beats.append(([payload.index[k] for k in range(count) if payload.spike >> k & 1], bool(payload.last)))
            if sum(last for _, last in beats) == len(steps):
                return

    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return beats


@pytest.mark.parametrize("width, count", [(8, 4), (12, 2), (32, 4)])
def test_packed_events(width, count):
    """Every step's spikes leave in ascending address order, exactly once, the step's last beat flagged;
    every beat but a step's last carries spikes (``count`` unless the next mask was not there yet); a step
    without spikes is one empty ``last`` beat. Empty masks only end steps (as the encoder and the update
    pass send them)."""
    rng = random.Random(width * count)
    steps = [[rng.choice([m for m in masks_of(width, rng, 3) if m]) for _ in range(rng.randint(1, 4))] + [rng.choice([0, 1])]
             for _ in range(12)]
    steps[3] = [0]
    beats = run_extractor(width, count, steps, seed=width)
    ends = [i for i, (_, last) in enumerate(beats) if last]
    assert len(ends) == len(steps)
    start = 0
    for step, end in zip(steps, ends):
        expected = [i * width + b for i, mask in enumerate(step) for b in range(width) if mask >> b & 1]
        got = [address for addresses, _ in beats[start:end + 1] for address in addresses]
        assert got == expected
        assert all(0 < len(addresses) <= count for addresses, _ in beats[start:end])
        start = end + 1
    assert beats[ends[2] + 1] == ([], True)             # the empty step


def test_empty_end_of_step_mask_is_folded():
    """An empty end-of-step mask behind a waiting mask of its step costs no beat: 30 + 1 spikes in 8 beats of
    4, the 8th flagged ``last`` (the one-spike mask carries the step's end; without the fold a 9th, empty
    beat); an empty step behind a mask that ends the step before stays a beat of its own."""
    high = (1 << 30) - 1
    beats = run_extractor(32, 4, [[high, 1, 0], [high, 1], [0]], seed=0, gaps=0, stalls=0)
    assert [last for _, last in beats] == ([False] * 7 + [True]) * 2 + [True]
    assert [a for addresses, _ in beats for a in addresses] == (list(range(30)) + [32]) * 2


PACK_MUTANTS = {
    "borrowed slot takes rank k": ("rank.eq(Mux(own, taken + k, k - held_count))", "rank.eq(Mux(own, taken + k, k))"),
    "borrowed mask starts at its rank count": ("taken.eq(Mux(borrow, count - held_count, 0))",
                                               "taken.eq(Mux(borrow, count, 0))"),
    "held slot takes rank taken": ("rank.eq(Mux(own, taken + k, k - held_count))",
                                   "rank.eq(Mux(own, taken, k - held_count))"),
    "fold into an end-of-step offer": ("& ~offer.ready & ~offer.payload.last", "& ~offer.ready"),
    "no fold": ("fold = nxt_valid & nxt.last", "fold = nxt_valid & nxt.last & 0"),
}


@pytest.mark.parametrize("name", list(PACK_MUTANTS))
def test_pack_mutant_is_caught(name, mutate):
    mutate(extractor, *PACK_MUTANTS[name])
    with pytest.raises(AssertionError):
        test_packed_events(32, 4)         # masks of 5 - 7 spikes: borrows beside 1 - 3 held spikes
        test_packed_events(8, 4)
        test_empty_end_of_step_mask_is_folded()
