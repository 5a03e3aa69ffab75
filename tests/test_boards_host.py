"""UART byte protocol, host driver (fake serial port), ``srcfpga run``."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from srcfpga.boards import protocol
from srcfpga.boards.host import GoldenDevice, HostLink, load_image
from srcfpga.cli import main
from srcfpga.errors import ConfigError, DatasetError
from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, LatencyModel
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_net


@pytest.fixture(scope="module")
def small_model():
    return quantize_net(random_net(0, (16, 8), 4, drive=6.0), QuantConfig(weight_bits=4, encoder_generators=2))


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    hw = quantize_net(random_net(1, (64, 16), 10, drive=4.0), QuantConfig(weight_bits=4, encoder_generators=4))
    path = tmp_path_factory.mktemp("hw") / "digits.hw"
    hw.save(path)
    return hw, path


def test_pixel_request_layout():
    pixels = np.arange(10, dtype=np.uint8)
    data = protocol.pixel_request(pixels, 4, seed=0x01020304, blank=3, steps=258)
    assert data[:2] == bytes([0xA5, 0x50])
    assert struct.unpack("<IHH", data[2:10]) == (0x01020304, 3, 258)
    assert data[10:] == bytes(range(10)) + b"\0\0"          # 3 beats of 4, zero padded


def test_frame_request_bits():
    frames = np.zeros((2, 10), bool)
    frames[1, [0, 3, 9]] = True
    data = protocol.frame_request(frames, 8, seed=0, blank=1)
    assert data[1] == 0x46 and struct.unpack("<IHH", data[2:10]) == (0, 1, 1)
    body = data[10:]
    assert len(body) == 2 * 2                               # 2 frames x 2 beats x 1 byte
    assert body[2] == 0b1001 and body[3] == 0b10            # input 9 = beat 1, bit 1


def test_header_range():
    with pytest.raises(ConfigError):
        protocol.header(protocol.KIND_PIXELS, 0, 0, 0)
    with pytest.raises(ConfigError):
        protocol.header(protocol.KIND_PIXELS, 0, 65000, 1000)


def test_decode_response_and_errors():
    raw = bytes([0x5A, 2]) + struct.pack("<I", 1234) + bytes([3]) + struct.pack("<3i", -5, 7, 1 << 20)
    assert protocol.decode_response(raw, 3) == protocol.Response(2, 1234, (-5, 7, 1 << 20))
    with pytest.raises(protocol.ProtocolError, match="NAK"):
        protocol.decode_response(bytes([0xEE]), 3)
    with pytest.raises(protocol.ProtocolError, match="short"):
        protocol.decode_response(raw[:-1], 3)
    with pytest.raises(protocol.ProtocolError, match="classes"):
        protocol.decode_response(raw, 4)


class ChunkySerial:
    """A fake pyserial port that hands out its answer a few bytes per read and records writes."""

    def __init__(self, device):
        self.device, self.written = device, bytearray()

    def reset_input_buffer(self):
        self.device.reset_input_buffer()

    def write(self, data):
        self.written += data
        return self.device.write(data)

    def read(self, n):
        return self.device.read(min(n, 3))

    def close(self):
        pass


def test_host_link_matches_golden(small_model):
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (3, 16), dtype=np.uint8)
    port = ChunkySerial(GoldenDevice(small_model))
    link = HostLink(port, small_model)
    golden = run_golden(small_model, pixels=pixels, steps=9, blank=2, seeds=np.array([5, 6, 7]))
    for n in range(3):
        answer = link.classify_image(pixels[n], seed=5 + n, steps=9, blank=2)
        assert answer.label == golden.predictions[n]
        assert list(answer.counts) == golden.readout[n].tolist()
        assert answer.cycles > 0
    assert port.written.count(bytes([0xA5, 0x50])) == 3


def test_host_link_frames_and_nak(small_model):
    frames = np.random.default_rng(5).random((8, 16)) < 0.3
    frames[:2] = False
    link = HostLink(GoldenDevice(small_model, "frames"), small_model)
    golden = run_golden(small_model, spikes=frames[None], steps=6, blank=2, trace=True)
    answer = link.classify_frames(frames, blank=2)
    assert list(answer.counts) == golden.readout[0].tolist()
    latency = LatencyModel(small_model, HdlConfig(input="frames"))    # the board's cycles: from the last beat
    spikes = [t.spikes for t in golden.traces]
    assert answer.cycles == latency.link_bound_cycles(frames[None], spikes, 2)[0]
    assert 0 < answer.cycles < latency.inference_cycles(frames[None], spikes, 2)[0]
    with pytest.raises(protocol.ProtocolError, match="NAK"):
        HostLink(GoldenDevice(small_model, "pixels"), small_model).classify_frames(frames, blank=2)


def test_host_link_timeout(small_model):
    class Mute:
        def reset_input_buffer(self): pass
        def write(self, data): return len(data)
        def read(self, n): return b""

    link = HostLink(Mute(), small_model, timeout=0.05)
    with pytest.raises(protocol.ProtocolError, match="short response: 0"):
        link.classify_image(np.zeros(16, np.uint8))


def test_load_image(tmp_path):
    from PIL import Image

    path = tmp_path / "digit.png"
    Image.fromarray((np.arange(256).reshape(16, 16)).astype(np.uint8)).save(path)
    pixels = load_image(path, 64)
    assert pixels.shape == (64,) and pixels.dtype == np.uint8
    with pytest.raises(ConfigError):
        load_image(path, 60)
    with pytest.raises(DatasetError):
        load_image(tmp_path / "missing.png", 64)
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(DatasetError):
        load_image(tmp_path / "bad.png", 64)


def test_cli_run_golden_port(digits_model, capsys, tmp_path):
    hw, path = digits_model
    assert main(["run", str(path), "--port", "golden", "--dataset", "digits", "--limit", "4", "--steps", "6",
                 "--blank", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["samples"] == 4 and 0.0 <= data["accuracy"] <= 1.0
    from PIL import Image

    image = tmp_path / "eight.png"
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(image)
    assert main(["run", str(path), str(image), "--port", "golden", "--steps", "4"]) == 0
    assert capsys.readouterr().out.startswith("class ")
    assert main(["run", str(path), "--port", "golden"]) == 2
    assert "either an image" in capsys.readouterr().err
