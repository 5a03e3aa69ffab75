"""Multi-bit layer outputs (CMRU counters) on the one-bit mask streams, as two's-complement bit planes.

Spike extractors and synaptic accumulators move one bit per input: an input either contributes its
weight column or not. A CMRU layer's output ``q`` is a signed ``V``-bit counter, so its consumer needs
``W q = sum_p plane_weight(p) * W bit_p(q)`` with ``plane_weight(p) = 2^p`` for ``p < V - 1`` and
``-2^(V-1)`` for the sign plane. The producer therefore sends, per lane group ``g`` of ``P`` lanes,
one mask of ``V * P`` bits, plane-major: bit ``p * P + b`` is bit ``p`` of unit ``g * P + b``; the
spike extractor turns it into addresses ``g * V * P + p * P + b`` as for any mask. The consumer's
weight ROM has one column per address, ``plane_weight(p)`` times the unit's column: ``V`` times the
words and ``V - 1`` more bits per weight, and no extra logic (the shift is in the ROM contents).

Binary outputs (SRC spikes, BMRU states, input frames) are the special case ``V = 1``: one plane,
address = unit index, columns unchanged.

Bounds: every partial sum of a step stays within ``sum_j |W[n, j]| * max|q|`` (an input's planes
arrive lowest first, and its low planes add at most ``max|q| * |W|`` before the sign plane), so the
consumer's accumulators keep their exact width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth import Cat, Value

from ..quant.hwmodel import signed_bits


def value_bits(value_range: tuple[int, int]) -> int:
    """Bits of one value on a mask stream: 1 for binary values, else the signed width of the range."""
    lo, hi = value_range
    return 1 if (lo, hi) == (0, 1) else signed_bits(lo, hi)


def layer_value_bits(layer) -> int:
    """Bits per unit of a layer's output (1 for SRC and BMRU, ``count_bits`` for CMRU)."""
    return value_bits(layer.output_range)


def output_code(layer, lanes: int) -> "PlaneCode":
    """How ``layer``'s outputs travel to its consumer: ``lanes`` units per mask, in bit planes."""
    return PlaneCode(lanes, layer.output_range)


def input_code(layer, lanes: int) -> "PlaneCode":
    """How ``layer``'s inputs arrive from a producer of ``lanes`` lanes (a mirror of :func:`output_code`)."""
    return PlaneCode(lanes, layer.input_range)


@dataclass(frozen=True)
class PlaneCode:
    """How the values of one layer output (``lanes`` units per group, values in ``value_range``) travel."""

    lanes: int
    value_range: tuple[int, int] = (0, 1)

    @property
    def bits(self) -> int:
        return value_bits(self.value_range)

    @property
    def reach(self) -> int:
        """Largest magnitude of a value."""
        return max(abs(v) for v in self.value_range)

    @property
    def mask_width(self) -> int:
        """Bits of one mask: all planes of one lane group (binary: ``lanes``)."""
        return self.lanes * self.bits if self.bits > 1 else self.lanes

    def address(self, unit: np.ndarray | int, plane: np.ndarray | int = 0):
        """Address of bit ``plane`` of ``unit``: ``(unit // P) * V * P + plane * P + unit % P`` (binary: ``unit``)."""
        if self.bits == 1:
            return unit
        return (unit // self.lanes) * self.mask_width + plane * self.lanes + unit % self.lanes

    def addresses(self, n: int) -> int:
        """Number of addresses for ``n`` units (one past the highest)."""
        return int(self.address(n - 1, self.bits - 1)) + 1

    def mask(self, values) -> Value:
        """The mask of one lane group's ``values`` (``lanes`` values of :attr:`bits` bits, e.g. a
        :func:`srcfpga.hdl.layouts.lanes_layout` view): bit ``p * lanes + b`` is bit ``p`` of lane ``b``."""
        return Cat(values[b][p] for p in range(self.bits) for b in range(self.lanes))

    def plane_weights(self) -> list[int]:
        """``2^p`` for the value planes, ``-2^(V-1)`` for the sign plane (binary: ``[1]``)."""
        if self.bits == 1:
            return [1]
        return [1 << p for p in range(self.bits - 1)] + [-(1 << (self.bits - 1))]

    def weight_bits(self, weight_bits: int) -> int:
        """Width of a consumer's ROM weight: ``weight_bits + V - 1``."""
        return weight_bits + self.bits - 1

    def columns(self, weights: np.ndarray) -> np.ndarray:
        """A consumer's ``(n_out, n_in)`` weights as ROM columns, one per address (unused addresses: 0)."""
        weights = np.asarray(weights, np.int64)
        if self.bits == 1:
            return weights
        n_out, n_in = weights.shape
        out = np.zeros((n_out, self.addresses(n_in)), np.int64)
        units = np.arange(n_in)
        for plane, factor in enumerate(self.plane_weights()):
            out[:, self.address(units, plane)] = weights * factor
        return out

    def planes(self, values: np.ndarray) -> np.ndarray:
        """The mask bits that carry ``values`` ``(..., n)``: bool ``(..., addresses(n))`` (for cycle models)."""
        values = np.asarray(values)
        if self.bits == 1:
            return values.astype(bool)
        n = values.shape[-1]
        out = np.zeros(values.shape[:-1] + (self.addresses(n),), bool)
        code = values.astype(np.int64) & ((1 << self.bits) - 1)
        units = np.arange(n)
        for plane in range(self.bits):
            out[..., self.address(units, plane)] = (code >> plane) & 1
        return out
