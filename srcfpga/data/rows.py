"""The row encoder: an image read row by row, one timestep per row, pixels thermometer-coded into bits.

Specification (also in ``docs/fixed-point.md``, section "BMRU / CMRU")::

    image (rows x width uint8 pixels), levels l_0 < l_1 < ... < l_{L-1} (each 1..255)
    frame t (t = 0 .. rows-1), input  w * L + k  =  pixel[t, w] >= l_k       (w = 0 .. width-1)

So one step carries ``width * L`` binary inputs and the pixel value is kept to ``L + 1`` grey levels
(``sum_k bit_k`` is the level index). ``blank`` leading steps emit all-zero frames. No randomness: the
``seeds`` argument of :meth:`RowEncoder.frames` is accepted for interface compatibility and ignored.
In hardware the encoder is ``width * L`` comparators against constants (or the host sends the frames).

Audio (``front_end`` set): the "image" is the ``frames x bands`` uint8 output of the integer log-mel
front end (:class:`srcfpga.data.audio.LogMelFrontEnd`), one row per audio frame; the encoder records the
front end's parameters so that the HardwareModel names every integer step from samples to spikes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import ConfigError
from .audio import LogMelFrontEnd
from .encoder import beat_width


@dataclass(frozen=True)
class RowEncoder:
    """Row-by-row thermometer encoding of ``rows x width`` images.

    ``generators``: the hardware frame beat is ``2 * generators`` bits wide, as for the rate encoder
    (the spike-frame input of ``srcfpga.hdl`` takes ``ceil(n / 2E)`` beats per step).
    ``front_end``: the audio front end whose ``frames x bands`` features are the images (None: images).
    """

    rows: int
    width: int
    levels: tuple[int, ...] = (128,)
    generators: int = 32
    front_end: LogMelFrontEnd | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(int(v) for v in self.levels))
        if isinstance(self.front_end, dict):
            try:
                object.__setattr__(self, "front_end", LogMelFrontEnd(**self.front_end))
            except TypeError as exc:
                raise ConfigError(f"bad audio front end: {exc}") from None
        if self.front_end is not None and (self.front_end.frames, self.front_end.bands) != (self.rows, self.width):
            raise ConfigError(f"the audio front end makes {self.front_end.frames} frames of {self.front_end.bands} "
                              f"bands, the row encoder reads {self.rows} rows of {self.width}")
        if self.rows < 1 or self.width < 1:
            raise ConfigError(f"row encoder needs rows >= 1 and width >= 1, got {self.rows} x {self.width}")
        if not self.levels or any(not 1 <= v <= 255 for v in self.levels) or \
                any(a >= b for a, b in zip(self.levels, self.levels[1:])):
            raise ConfigError(f"row encoder levels must be increasing integers in 1..255, got {self.levels}")
        if not 1 <= self.generators <= 256:
            raise ConfigError(f"encoder generators must be in 1..256, got {self.generators}")

    kind = "rows"

    @property
    def n_pixels(self) -> int:
        """Pixels per image (the dataset's row length times the rows)."""
        return self.rows * self.width

    @property
    def n_inputs(self) -> int:
        """Binary inputs per step (the first layer's ``n_in``)."""
        return self.width * len(self.levels)

    def check_inputs(self, input_size: int) -> None:
        if input_size != self.n_inputs:
            raise ConfigError(f"the row encoder emits {self.n_inputs} inputs per step "
                              f"({self.width} pixels x {len(self.levels)} levels), the first layer takes {input_size}")

    @property
    def beat_width(self) -> int:
        """Spike bits per hardware frame beat (:func:`srcfpga.data.encoder.beat_width`)."""
        return beat_width(self.generators)

    def rounds(self, n_inputs: int) -> int:
        """Frame beats per step in hardware."""
        return -(-n_inputs // self.beat_width)

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "rows": self.rows, "width": self.width, "levels": list(self.levels),
               "generators": self.generators}
        if self.front_end is not None:      # image models keep their files (and content hashes) unchanged
            out["front_end"] = self.front_end.to_dict()
        return out

    def frames(self, pixels: np.ndarray, steps: int, blank: int, seeds: np.ndarray | None = None
               ) -> Iterator[np.ndarray]:
        """Yield ``blank + steps`` frames ``(batch, width * L)`` bool; ``steps`` must equal ``rows``."""
        pixels = np.asarray(pixels)
        if pixels.ndim != 2 or pixels.shape[1] != self.n_pixels:
            raise ConfigError(f"images must be (batch, {self.n_pixels}) for {self.rows} rows of {self.width}, "
                              f"got {pixels.shape}")
        if steps != self.rows:
            raise ConfigError(f"a row-by-row model reads {self.rows} rows: steps must be {self.rows}, got {steps}")
        levels = np.array(self.levels, np.int32)
        images = pixels.reshape(len(pixels), self.rows, self.width).astype(np.int32)
        silent = np.zeros((len(pixels), self.n_inputs), bool)
        for _ in range(blank):
            yield silent
        for t in range(self.rows):
            yield (images[:, t, :, None] >= levels).reshape(len(pixels), self.n_inputs)

    def encode(self, pixels: np.ndarray, steps: int, blank: int, seeds: np.ndarray | None = None) -> np.ndarray:
        """All frames at once: ``(batch, blank + steps, width * L)`` bool."""
        return np.stack(list(self.frames(pixels, steps, blank, seeds)), axis=1)
