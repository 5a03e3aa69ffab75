"""The readout in integer arithmetic, written once for the golden model (numpy) and QAT (torch float64).

Per accumulated step (``ReadoutQ.counted``), for the step's synaptic sums ``syn[c] = sum_j W[c, j] s_j``
(docs/fixed-point.md, "Readout")::

    acc[c] = sat(acc[c] - ((decay_num * acc[c]) >> decay_shift) + syn[c] + bias[c], acc_bits)

with the leak only in a leaky readout (``ReadoutQ.leaky``); ``>>`` is an arithmetic (floor) shift. The class
is the first index of the largest accumulator. The HDL's :class:`srcfpga.hdl.readout.ReadoutEngine` builds
the same expression from the same ``ReadoutQ``.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..quant.hwmodel import ReadoutQ


class ReadoutOps(Protocol):
    def floor_shift(self, value: Any, shift: int) -> Any: ...
    def clip(self, value: Any, lo: Any, hi: Any) -> Any: ...


def readout_step(ops: ReadoutOps, readout: ReadoutQ, acc: Any, syn: Any, bias: Any) -> Any:
    """One accumulated step: the new accumulators ``(batch, n_classes)`` from ``acc``, the step's synaptic
    sums ``syn`` (same shape) and ``bias`` (``(n_classes,)`` or 0), all integer-valued."""
    lo, hi = readout.acc_range
    if readout.leaky:
        acc = acc - ops.floor_shift(readout.decay_num * acc, readout.decay_shift)
    return ops.clip(acc + syn + bias, lo, hi)
