"""The LIF-family step in integer arithmetic: the executable specification (docs/fixed-point.md, "7. LIF family").

Written once against a small ``ops`` interface so that the QAT forward pass (:mod:`srcfpga.cells.lif.qat`)
runs the very same operations on float64 tensors with a surrogate gradient for the spike. Selections are
written as arithmetic on 0/1 values (``r * threshold``, ``(1 - r) * v``), as snnTorch writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ...golden.arith import NumpyOps, synaptic_sum


class LIFOps(Protocol):
    def floor_shift(self, value: Any, shift: int) -> Any: ...   # value >> shift (floor division by 2^shift)
    def clip(self, value: Any, lo: int, hi: int) -> Any: ...
    def spike(self, value: Any) -> Any: ...                     # 1 where value > 0 else 0 (strict)
    def detach(self, value: Any) -> Any: ...                    # no gradient through (snnTorch's reset)


class NumpyLIFOps(NumpyOps):
    """Integer numpy arrays (int64): the golden model's arithmetic, with the LIF spike."""

    @staticmethod
    def spike(value: np.ndarray) -> np.ndarray:
        return (value > 0).astype(np.int64)

    @staticmethod
    def detach(value: np.ndarray) -> np.ndarray:
        return value


def leak(ops: LIFOps, value: Any, decay: tuple[Any, int] | None) -> Any:
    """``value - ((num * value) >> shift)``, i.e. ``(1 - num / 2^shift) * value`` rounded up; ``value`` without leak."""
    if decay is None:
        return value
    num, shift = decay
    return value - ops.floor_shift(num * value, shift)


def lif_update(ops: LIFOps, layer: Any, v: Any, i: Any, syn: Any) -> tuple[Any, Any, Any]:
    """One step of one layer: returns ``(v', i', s)`` (``i`` is ``None`` without a current state).

    ``syn`` is the synaptic sum (``W s_in``, plus ``W_rec s_prev`` in a recurrent layer) in weight units;
    ``layer`` is an :class:`srcfpga.cells.lif.layer.IFLayerQ` (or LIF, CubaLIF). Order of operations::

        drive = syn * 2^weight_shift + bias
        i'    = clip(leak_i(i) + drive, current_range);  drive = i'          (CubaLIF)
        r     = spike(v - threshold)                                         (previous step's spike, detached)
        subtract:   v' = clip(leak(v) + drive - r * threshold, v_range)
        zero:       v' = clip(leak((1 - r) * v) + drive, v_range)
        zero_after: v' = (1 - r) * clip(leak(v) + drive, v_range)
        s     = spike(v' - threshold)
    """
    drive = syn * (1 << layer.weight_shift) + layer.bias
    if layer.current_range is not None:
        i = ops.clip(leak(ops, i, layer.current_decay) + drive, *layer.current_range)
        drive = i
    threshold = layer.threshold
    r = ops.detach(ops.spike(v - threshold))
    if layer.reset == "subtract":
        v = ops.clip(leak(ops, v, layer.membrane_decay) + drive - r * threshold, *layer.v_range)
    elif layer.reset == "zero":
        v = ops.clip(leak(ops, (1 - r) * v, layer.membrane_decay) + drive, *layer.v_range)
    else:   # zero_after
        v = (1 - r) * ops.clip(leak(ops, v, layer.membrane_decay) + drive, *layer.v_range)
    return v, i, ops.spike(v - threshold)


@dataclass
class LIFLayerTrace:
    """Per-step record of one LIF-family layer, arrays of shape ``(batch, T, n_out)``."""

    spikes: np.ndarray          # bool
    v: np.ndarray               # int64
    i: np.ndarray | None        # int64 (CubaLIF), else None

    def states(self) -> dict[str, np.ndarray]:
        """The state words after each step, named like the HDL's state trace fields (``v``, CubaLIF ``i``)."""
        return {"v": self.v} if self.i is None else {"v": self.v, "i": self.i}


class LIFGolden:
    """The golden part of the ``if``, ``lif`` and ``cubalif`` kinds (:class:`srcfpga.cells.CellKind`): state
    ``(v, i)`` (``i`` is ``None`` without a current), output spikes ``v' > threshold``."""

    @staticmethod
    def initial_state(layer, batch: int) -> tuple[np.ndarray, np.ndarray | None]:
        zeros = np.zeros((batch, layer.n_out), np.int64)
        return zeros, (zeros.copy() if layer.current_range is not None else None)

    @staticmethod
    def step(layer, state: tuple, x: np.ndarray) -> tuple[tuple, np.ndarray, tuple]:
        """One step for boolean inputs ``x`` ``(batch, n_in)``: the new state, the spikes, the record ``(s, v, i)``."""
        v, i = state
        own = v > layer.threshold if layer.is_recurrent else None     # s_prev: the previous step's spikes
        inputs = x if own is None else np.concatenate([x, own], axis=1)     # own: the spikes of step t - 1
        v, i, s = lif_update(NumpyLIFOps, layer, v, i, synaptic_sum(layer, inputs, np.int64))
        spikes = s.astype(bool)
        return (v, i), spikes, (spikes, v, i)

    @staticmethod
    def trace(records: list[tuple]) -> LIFLayerTrace:
        spikes, v, i = zip(*records)
        return LIFLayerTrace(np.stack(spikes, axis=1), np.stack(v, axis=1),
                             None if i[0] is None else np.stack(i, axis=1))
