"""The UART host link's byte protocol (shared by the board top, the host driver and the testbench).

Host -> device, one request per inference (all multi-byte fields little-endian)::

    0xA5  kind  seed[4]  blank[2]  steps[2]  payload
    kind = 0x50 ('P'): payload = the image, ceil(n_in / W) beats of W pixel bytes (zero padded)
    kind = 0x46 ('F'): payload = blank + steps spike frames, each ceil(n_in / W) beats of
                       ceil(W / 8) bytes; bit j of beat k (byte j // 8, bit j % 8) is input k*W + j

``W`` is the hardware's beat width, ``2 * encoder generators`` (the manifest's ``mask_width``). The
device is built for one input kind; a request of the other kind (or a bad kind byte) is answered
with the single byte ``0xEE`` and ignored. Bytes before ``0xA5`` are skipped.

Device -> host, one response per inference::

    0x5A  label  cycles[4]  n_classes  counts[4] x n_classes      (counts: signed 32-bit)

``cycles`` is the compute latency, without the serial transfer: for pixel input the cycles from
``start`` to the result as if the image had been on chip (the cycle model's
:meth:`~srcfpga.hdl.LatencyModel.inference_cycles`), for frame input the cycles from the last frame
beat to the result (:meth:`~srcfpga.hdl.LatencyModel.link_bound_cycles`, which gives both);
``counts`` are the readout accumulators.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, SrcFpgaError

SYNC = 0xA5
KIND_PIXELS = 0x50
KIND_FRAMES = 0x46
RESPONSE = 0x5A
NAK = 0xEE
HEADER_BYTES = 10          # sync, kind, then the start payload (hdl.layouts.start_layout: seed, blank, steps)
STEP_LIMIT = 1 << 16


class ProtocolError(SrcFpgaError):
    """The device's answer is malformed, missing or a NAK."""


@dataclass(frozen=True)
class Response:
    label: int
    cycles: int
    counts: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"label": self.label, "cycles": self.cycles, "counts": list(self.counts)}


def response_length(n_classes: int) -> int:
    return 7 + 4 * n_classes


def header(kind: int, seed: int, blank: int, steps: int) -> bytes:
    if not (1 <= steps < STEP_LIMIT and 0 <= blank and blank + steps < STEP_LIMIT):
        raise ConfigError(f"steps/blank out of the 16-bit range of the start command: {blank} + {steps}")
    from ..hdl.layouts import start_beat

    return bytes([SYNC, kind]) + start_beat(seed, blank, steps).to_bytes(HEADER_BYTES - 2, "little")


def pixel_request(pixels: np.ndarray, width: int, seed: int, blank: int, steps: int) -> bytes:
    """The request for one uint8 image ``pixels`` (n_in,) with beat width ``width``."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 1 or pixels.dtype != np.uint8:
        raise ConfigError("pixels must be a 1-D uint8 array")
    return header(KIND_PIXELS, seed, blank, steps) + _beat_bytes("pixels", width, [pixels])


def frame_request(frames: np.ndarray, width: int, seed: int, blank: int) -> bytes:
    """The request for bool spike frames ``(blank + steps, n_in)`` (the first ``blank`` all zero)."""
    frames = np.asarray(frames, bool)
    if frames.ndim != 2:
        raise ConfigError("spike frames must be a (T, n_in) array")
    return header(KIND_FRAMES, seed, blank, len(frames) - blank) + _beat_bytes("frames", width, frames)


def beat_bytes(kind: str, width: int) -> int:
    """Bytes of one ``pixels`` / ``frames`` beat on the link: the beat's bits (:func:`srcfpga.hdl.layouts.input_layout`),
    rounded up to whole bytes."""
    from ..hdl.layouts import input_layout

    return -(-input_layout(kind, width).size // 8)


def read_beats(kind: str, width: int, body: bytes) -> np.ndarray:
    """Every value (int64) of a request's payload ``body``, whole beats of :func:`beat_bytes` bytes each: the
    inverse of the packing of :func:`pixel_request` / :func:`frame_request`, zero padding included."""
    from ..hdl.layouts import input_values

    size = beat_bytes(kind, width)
    beats = [int.from_bytes(body[at:at + size], "little") for at in range(0, len(body), size)]
    return input_values(kind, width, beats, len(beats) * width)


def _beat_bytes(kind: str, width: int, rows) -> bytes:
    """The input beats of ``rows`` (an image, or one frame per step) as little-endian bytes, beat after beat."""
    from ..hdl.layouts import input_beats

    size = beat_bytes(kind, width)
    return b"".join(beat.to_bytes(size, "little") for row in rows for beat in input_beats(kind, width, row))


def decode_response(data: bytes, n_classes: int) -> Response:
    """Parse one response (exactly :func:`response_length` bytes)."""
    data = bytes(data)
    if data[:1] == bytes([NAK]):
        raise ProtocolError("the device rejected the request (NAK 0xEE: input kind does not match its build)")
    if data[:1] and data[0] != RESPONSE:
        raise ProtocolError(f"bad response start byte 0x{data[0]:02x} (expected 0x{RESPONSE:02x})")
    if len(data) >= 7 and data[6] != n_classes:
        raise ProtocolError(f"device reports {data[6]} classes, the model has {n_classes}")
    if len(data) < response_length(n_classes):
        raise ProtocolError(f"short response: {len(data)} of {response_length(n_classes)} bytes ({data.hex()})")
    label, cycles = data[1], struct.unpack("<I", data[2:6])[0]
    counts = struct.unpack(f"<{n_classes}i", data[7:7 + 4 * n_classes])
    return Response(label, cycles, counts)
