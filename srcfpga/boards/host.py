"""Host driver for the UART board top: send images or spike frames, read class, counts and cycles.

:class:`HostLink` speaks :mod:`srcfpga.boards.protocol` over any object with pyserial's
``write(bytes)`` / ``read(n)`` / ``reset_input_buffer()``; :func:`open_port` opens a real serial port
(pyserial) or, for ``golden``, a :class:`GoldenDevice`: a software stand-in for the board that
answers every request with the golden model's result (for tests and dry runs without hardware).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DatasetError, SrcFpgaError
from ..quant.hwmodel import HardwareModel
from . import protocol

GOLDEN_PORT = "golden"


class GoldenDevice:
    """A serial-port look-alike that runs the golden model on each complete request."""

    def __init__(self, model: HardwareModel, input_kind: str = "pixels"):
        self.model, self.kind = model, input_kind
        self.width = model.encoder.beat_width
        self.beats = model.encoder.rounds(model.input_size)
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.requests = 0
        from ..hdl import HdlConfig, LatencyModel
        self.latency = LatencyModel(model, HdlConfig(input=input_kind))   # answers carry the modelled cycles

    def reset_input_buffer(self) -> None:
        self.outbox.clear()

    def close(self) -> None:
        pass

    def write(self, data: bytes) -> int:
        self.inbox += data
        self._process()
        return len(data)

    def read(self, n: int) -> bytes:
        out, self.outbox = bytes(self.outbox[:n]), self.outbox[n:]
        return out

    def _process(self) -> None:
        from ..golden import run_golden

        while True:
            start = self.inbox.find(bytes([protocol.SYNC]))
            if start < 0:
                self.inbox.clear()
                return
            del self.inbox[:start]
            if len(self.inbox) < 2:
                return
            kind = self.inbox[1]
            expected = protocol.KIND_PIXELS if self.kind == "pixels" else protocol.KIND_FRAMES
            if kind != expected:
                del self.inbox[:2]
                self.outbox.append(protocol.NAK)
                continue
            if len(self.inbox) < protocol.HEADER_BYTES:
                return
            seed = int.from_bytes(self.inbox[2:6], "little")
            blank = int.from_bytes(self.inbox[6:8], "little")
            steps = int.from_bytes(self.inbox[8:10], "little")
            if kind == protocol.KIND_PIXELS:
                size = self.beats * protocol.beat_bytes("pixels", self.width)
            else:
                size = (blank + steps) * self.beats * protocol.beat_bytes("frames", self.width)
            if len(self.inbox) < protocol.HEADER_BYTES + size:
                return
            body = bytes(self.inbox[protocol.HEADER_BYTES:protocol.HEADER_BYTES + size])
            del self.inbox[:protocol.HEADER_BYTES + size]
            if kind == protocol.KIND_PIXELS:
                pixels = protocol.read_beats("pixels", self.width, body)[:self.model.input_size]
                frames = self.model.encoder.encode(pixels.astype(np.uint8)[None], steps, blank,
                                                   np.array([seed], np.int64))
            else:
                frames = protocol.read_beats("frames", self.width, body).reshape(blank + steps, -1)
                frames = frames[:, :self.model.input_size].astype(bool)[None]
            result = run_golden(self.model, spikes=frames, steps=steps, blank=blank, trace=True)
            cycles = int(self.latency.link_bound_cycles(frames, [t.spikes for t in result.traces], blank)[0])
            counts = [int(c) for c in result.readout[0]]
            self.outbox += bytes([protocol.RESPONSE, int(result.predictions[0])]) + cycles.to_bytes(4, "little")
            self.outbox += bytes([len(counts)]) + b"".join(c.to_bytes(4, "little", signed=True) for c in counts)
            self.requests += 1


def open_port(port: str, model: HardwareModel, baud: int = 115200, timeout: float = 10.0, input_kind: str = "pixels"):
    """A pyserial port (``port`` = device path or pyserial URL) or the golden stand-in (``"golden"``)."""
    if port == GOLDEN_PORT:
        return GoldenDevice(model, input_kind)
    try:
        import serial
    except ImportError:
        raise SrcFpgaError("pyserial is not installed: pip install pyserial") from None
    try:
        return serial.serial_for_url(port, baudrate=baud, timeout=timeout)
    except (serial.SerialException, ValueError) as exc:
        raise SrcFpgaError(f"cannot open serial port {port}: {exc}") from None


@dataclass
class HostLink:
    """Requests over ``port`` for ``model`` (the model the board was built from)."""

    port: object
    model: HardwareModel
    timeout: float = 10.0

    @property
    def width(self) -> int:
        return self.model.encoder.beat_width

    def _exchange(self, request: bytes) -> protocol.Response:
        n = self.model.readout.n_classes
        self.port.reset_input_buffer()
        self.port.write(request)
        want, data = protocol.response_length(n), bytearray()
        deadline = time.monotonic() + self.timeout
        while len(data) < want:
            chunk = self.port.read(want - len(data))
            if chunk:
                data += chunk
                if data[:1] == bytes([protocol.NAK]):
                    break
            elif time.monotonic() > deadline:
                break
        return protocol.decode_response(bytes(data), n)

    def classify_image(self, pixels: np.ndarray, seed: int = 0, steps: int | None = None,
                       blank: int | None = None) -> protocol.Response:
        steps = self.model.steps if steps is None else steps
        blank = self.model.blank if blank is None else blank
        pixels = np.asarray(pixels)
        if pixels.shape != (self.model.input_size,):
            raise ConfigError(f"image has {pixels.size} pixels, the model expects {self.model.input_size}")
        return self._exchange(protocol.pixel_request(pixels.astype(np.uint8), self.width, seed, blank, steps))

    def classify_frames(self, frames: np.ndarray, blank: int = 0) -> protocol.Response:
        frames = np.asarray(frames, bool)
        if frames.ndim != 2 or frames.shape[1] != self.model.input_size:
            raise ConfigError(f"spike frames must have shape (T, {self.model.input_size})")
        return self._exchange(protocol.frame_request(frames, self.width, 0, blank))


def load_image(path: str | Path, n_pixels: int) -> np.ndarray:
    """A grayscale image file as ``n_pixels`` uint8 values (resized to a square of that many pixels)."""
    from PIL import Image, UnidentifiedImageError

    side = int(round(n_pixels ** 0.5))
    if side * side != n_pixels:
        raise ConfigError(f"the model takes {n_pixels} inputs, not a square image; use --dataset")
    try:
        with Image.open(path) as image:
            gray = image.convert("L")
            if gray.size != (side, side):
                gray = gray.resize((side, side))
            return np.asarray(gray, np.uint8).reshape(-1)
    except FileNotFoundError:
        raise DatasetError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"cannot read image {path}: {exc}") from None
