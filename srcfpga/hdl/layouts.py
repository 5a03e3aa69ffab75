"""Payload layouts of the streams between the blocks and at the top-level ports.

Field order is the bit order (first field at bit 0), so the Verilog port ``<name>__payload`` packs
them from the LSB up: see ``docs/hardware.md`` for the bit positions.

Everything outside the HDL that writes or reads a payload as an integer (the Amaranth testbench
:mod:`srcfpga.hdl.pysim`, the cocotb regression :mod:`srcfpga.sim`, the UART protocol
:mod:`srcfpga.boards.protocol`, the tests) packs and decodes it here, from these same layouts:
:func:`input_beats` and :func:`start_beat` pack, :func:`read_field` decodes a field at the offset
the layout gives it.
"""

from __future__ import annotations

import numpy as np
from amaranth import Shape, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.utils import ceil_log2

STEP_BITS = 16
SEED_BITS = 32
CYCLE_BITS = 32
LABEL_BITS = 8
LAYER_BITS = 4
PIXEL_BITS = 8
INPUT_KINDS = ("pixels", "frames")


def index_bits(count: int) -> int:
    """Width of an index into ``count`` items (at least 1)."""
    return max(1, ceil_log2(count))


def lane_groups(n: int, lanes: int) -> int:
    """Lane groups of ``n`` units processed ``lanes`` at a time: ``ceil(n / lanes)`` (the update pass's
    cycles per step, the trace beats of a layer per step, its output masks per step)."""
    return -(-n // lanes)


def start_layout() -> data.StructLayout:
    """The command that starts one inference: encoder seed, blank and stimulus step counts."""
    return data.StructLayout({"seed": unsigned(SEED_BITS), "blank": unsigned(STEP_BITS),
                              "steps": unsigned(STEP_BITS)})


def start_beat(seed: int, blank: int, steps: int) -> int:
    """The ``start`` payload as an integer (the seed's low ``SEED_BITS`` bits)."""
    return start_layout().const({"seed": int(seed) & ((1 << SEED_BITS) - 1), "blank": int(blank),
                                 "steps": int(steps)}).as_bits()


def input_layout(kind: str, width: int) -> data.ArrayLayout:
    """One beat of the ``pixels`` port (``width`` pixels of ``PIXEL_BITS``, pixel ``k * width + j`` of the
    image in element ``j`` of beat ``k``) or of the ``frames`` port (``width`` spike bits, input
    ``k * width + j`` of a step in bit ``j`` of beat ``k``); ``width`` is the encoder's ``beat_width``."""
    if kind not in INPUT_KINDS:
        raise ValueError(f"input kind must be one of {INPUT_KINDS}, got {kind!r}")
    return data.ArrayLayout(unsigned(PIXEL_BITS if kind == "pixels" else 1), width)


def input_beats(kind: str, width: int, values: np.ndarray) -> list[int]:
    """The beats (integers of :func:`input_layout`) carrying ``values`` ``(n,)``: an image's uint8 pixels, or
    one step's spike bits; zero padded to whole beats."""
    layout = input_layout(kind, width)
    elem = Shape.cast(layout.elem_shape).width
    values = np.asarray(values).astype(np.int64)
    padded = np.zeros(-(-len(values) // width) * width, np.int64)
    padded[:len(values)] = values
    bits = (padded[:, None] >> np.arange(elem)) & 1                  # element j at bits [j * elem, (j+1) * elem)
    beats = np.packbits(bits.reshape(-1, width * elem).astype(np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in beats]


def input_values(kind: str, width: int, beats: list[int], n: int) -> np.ndarray:
    """The first ``n`` values (int64) carried by ``beats`` (the inverse of :func:`input_beats`)."""
    layout = input_layout(kind, width)
    elem = Shape.cast(layout.elem_shape).width
    raw = np.frombuffer(b"".join(int(b).to_bytes(-(-layout.size // 8), "little") for b in beats), np.uint8)
    bits = np.unpackbits(raw.reshape(len(beats), -1), axis=1, bitorder="little")[:, :layout.size]
    values = (bits.reshape(-1, elem).astype(np.int64) << np.arange(elem)).sum(axis=1)
    return values[:n]


def field_at(layout, *path) -> tuple[int, Shape]:
    """Bit offset and shape of a field of ``layout``: ``path`` names struct members and array elements,
    e.g. ``field_at(result_layout(n, a), "counts", 2)``."""
    offset, shape = 0, layout
    for key in path:
        member = data.Layout.cast(shape)[key]
        offset, shape = offset + member.offset, member.shape
    return offset, Shape.cast(shape)


def read_field(bits: int, layout, *path) -> int:
    """The value of a field (:func:`field_at`) in a payload given as an integer; two's complement for signed
    fields."""
    offset, shape = field_at(layout, *path)
    value = (int(bits) >> offset) & ((1 << shape.width) - 1)
    return value - (1 << shape.width) if shape.signed and value >> (shape.width - 1) else value


def mask_layout(width: int, base_bits: int) -> data.StructLayout:
    """``width`` spike bits of neurons ``base .. base + width - 1``; ``last`` ends the timestep."""
    return data.StructLayout({"mask": unsigned(width), "base": unsigned(base_bits), "last": unsigned(1)})


def event_layout(count: int, address_bits: int) -> data.StructLayout:
    """Up to ``count`` spiking inputs (``index[k]`` valid when ``spike[k]``); ``last`` ends the step."""
    return data.StructLayout({"index": data.ArrayLayout(unsigned(address_bits), count),
                              "spike": unsigned(count), "last": unsigned(1)})


def trace_layout(width: int) -> data.StructLayout:
    """One lane group of a layer's outputs at one timestep (debug / verification port): ``spikes``
    holds the lanes' values, ``width`` bits in all (one bit per lane, or ``value_bits`` per lane)."""
    return data.StructLayout({"layer": unsigned(LAYER_BITS), "step": unsigned(STEP_BITS),
                              "group": unsigned(STEP_BITS), "spikes": unsigned(width)})


def state_trace_layout(state: data.ArrayLayout) -> data.StructLayout:
    """One lane group's state words after one update (verification port, ``HdlConfig(trace_states=True)``):
    ``state`` is the engine's per-group state layout, one struct of named state words per lane
    (SRC: ``i``, ``h``, ``hs``; BMRU and CMRU: ``q``), named like the golden model's traces."""
    return data.StructLayout({"step": unsigned(STEP_BITS), "group": unsigned(STEP_BITS), "state": state})


def state_fields(state: data.ArrayLayout) -> list[str]:
    """The names of one lane's state words in a state layout (``state_trace_layout``'s ``state`` field)."""
    return [name for name, _ in state.elem_shape]


def lane_states(beat: data.Const) -> dict[str, list[int]]:
    """The state words of a ``state_trace_layout`` beat (e.g. ``layout.from_bits(payload)``), per name, lane order."""
    state = beat.state
    names = state_fields(state.shape())
    return {name: [int(state[b][name]) for b in range(state.shape().length)] for name in names}


def lanes_layout(lanes: int, value_bits: int) -> data.ArrayLayout:
    """The values of one lane group in a trace beat's ``spikes`` field: lane ``b`` at bits
    ``[b * value_bits, (b + 1) * value_bits)``, one bit per lane, or two's complement when ``value_bits > 1``
    (CMRU counts)."""
    return data.ArrayLayout(unsigned(1) if value_bits == 1 else signed(value_bits), lanes)


def lane_values(spikes: int, lanes: int, value_bits: int) -> list[int]:
    """The ``lanes`` values of a trace beat's ``spikes`` field (:func:`lanes_layout`)."""
    layout = lanes_layout(lanes, value_bits)
    return [read_field(spikes, layout, b) for b in range(lanes)]


def readout_layout(n_classes: int, acc_bits: int) -> data.StructLayout:
    """Readout accumulators after one timestep."""
    return data.StructLayout({"step": unsigned(STEP_BITS),
                              "counts": data.ArrayLayout(signed(acc_bits), n_classes)})


def result_layout(n_classes: int, acc_bits: int) -> data.StructLayout:
    """The answer of one inference: cycles since start, class (first maximal index), accumulators."""
    return data.StructLayout({"cycles": unsigned(CYCLE_BITS), "label": unsigned(LABEL_BITS),
                              "counts": data.ArrayLayout(signed(acc_bits), n_classes)})


def probe_signature(layout) -> wiring.Signature:
    """An output-only observation port: ``valid`` marks the cycles whose ``payload`` is an event
    (a stream without back-pressure; nothing waits for the observer)."""
    return wiring.Signature({"valid": wiring.Out(1), "payload": wiring.Out(layout)})
