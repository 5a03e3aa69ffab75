"""The UART board top in cocotb (Verilator): real 8N1 byte exchanges, answers equal to the golden model."""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.boards import protocol
from srcfpga.boards.uart_sim import run_uart
from srcfpga.errors import ToolNotFoundError
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, LatencyModel
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_net


def _simulator():
    from srcfpga.sim import find_simulator

    try:
        find_simulator("verilator", activate=False)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


def _check(model, config, answers, frames, blank, count):
    """Label, counts and the compute latency (cycle model, without the serial transfer) of each answer."""
    n = model.readout.n_classes
    golden = run_golden(model, spikes=frames, steps=frames.shape[1] - blank, blank=blank, trace=True)
    cycles = LatencyModel(model, config).link_bound_cycles(frames, [t.spikes for t in golden.traces], blank)
    for i in range(count):
        answer = protocol.decode_response(answers.responses[i], n)
        assert answer.label == golden.predictions[i], i
        assert list(answer.counts) == golden.readout[i].tolist(), i
        assert answers.labels[i] == answer.label            # the LED / label port shows the class
        assert answer.cycles == cycles[i], i


def test_uart_top_pixels_small():
    """Two images (junk bytes before the first), then a frames request the pixel build must NAK."""
    _simulator()
    model = quantize_net(random_net(0, (8, 4), 3, drive=6.0), QuantConfig(weight_bits=4, encoder_generators=1))
    pixels = np.random.default_rng(3).integers(0, 256, (2, 8), dtype=np.uint8)
    seeds, steps, blank = np.array([11, 12]), 8, 1
    width = model.encoder.beat_width
    requests = [b"\x00\x42" + protocol.pixel_request(pixels[0], width, 11, blank, steps),
                protocol.pixel_request(pixels[1], width, 12, blank, steps),
                protocol.header(protocol.KIND_FRAMES, 0, 0, 1)]
    length = protocol.response_length(model.readout.n_classes)
    answers = run_uart(model, HdlConfig(input="pixels"), requests, [length, length, 1], divisor=4)
    _check(model, HdlConfig(input="pixels"), answers, model.encoder.encode(pixels, steps, blank, seeds), blank, 2)
    assert answers.responses[2] == bytes([protocol.NAK])


@pytest.mark.slow
def test_uart_top_frames_and_pixels():
    """A wider model (4 pixels per beat): spike frames build and pixel build, three samples each."""
    _simulator()
    model = quantize_net(random_net(0, (16, 8), 4, drive=6.0), QuantConfig(weight_bits=4, encoder_generators=2))
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (3, 16), dtype=np.uint8)
    steps, blank = 10, 2
    width = model.encoder.beat_width
    length = protocol.response_length(model.readout.n_classes)
    frames = model.encoder.encode(pixels, steps, blank, np.arange(3))
    requests = [protocol.frame_request(frames[i], width, 0, blank) for i in range(3)]
    answers = run_uart(model, HdlConfig(input="frames"), requests, [length] * 3, divisor=5)
    _check(model, HdlConfig(input="frames"), answers, frames, blank, 3)
    requests = [protocol.pixel_request(pixels[i], width, i, blank, steps) for i in range(3)]
    answers = run_uart(model, HdlConfig(input="pixels"), requests, [length] * 3, divisor=4)
    _check(model, HdlConfig(input="pixels"), answers, frames, blank, 3)
