"""The BMRU / CMRU / alphaCMRU update in integer arithmetic: the executable specification.

Written once against a small ``ops`` interface (like :mod:`srcfpga.cells.src.golden`) so that the QAT
forward pass (:mod:`srcfpga.cells.mru.qat`) runs the very same operations on float64 tensors with
surrogate gradients. All values are integers: ``c`` and ``beta`` in the layer unit, ``q`` the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ...golden.arith import NumpyOps


class MRUOps(Protocol):
    def step(self, value: Any) -> Any: ...          # 1 where value > 0 else 0
    def step0(self, value: Any) -> Any: ...         # 1 where value >= 0 else 0
    def abs(self, value: Any) -> Any: ...
    def clip(self, value: Any, lo: Any, hi: Any) -> Any: ...
    def floor_shift(self, value: Any, shift: int) -> Any: ...   # floor(value / 2^shift) (arithmetic shift)


class NumpyMRUOps(NumpyOps):
    """Integer numpy arrays (int64): the golden model's arithmetic, with the comparator steps."""

    @staticmethod
    def step(value: np.ndarray) -> np.ndarray:
        return (value > 0).astype(np.int64)

    @staticmethod
    def step0(value: np.ndarray) -> np.ndarray:
        return (value >= 0).astype(np.int64)

    abs = staticmethod(np.abs)


def mru_compare(ops: MRUOps, layer: Any, syn_c: Any, syn_b: Any | None) -> tuple[Any, Any, Any, Any]:
    """The comparator pair of one step (or of many steps at once): returns ``(c, beta, z, up)``.

    ``syn_c = Wc x`` and ``syn_b = Wb x`` are the exact synaptic sums (``syn_b`` is ignored when the
    layer has no ``Wb``); docs/fixed-point.md, "BMRU and CMRU"::

        c    = (syn_c << frac_bits) + bias_c
        beta = (syn_b << frac_bits) + bias_b        or bias_b (no Wb)
        z    = |c| > |beta|
        up   = c >= 0
    """
    scale = 1 << layer.frac_bits
    c = syn_c * scale + layer.bias_c
    beta = syn_b * scale + layer.bias_b if layer.weights_b is not None else layer.bias_b + 0 * c
    z = ops.step(ops.abs(c) - ops.abs(beta))
    up = ops.step0(c)
    return c, beta, z, up


def mru_update(ops: MRUOps, layer: Any, q: Any, z: Any, up: Any) -> Any:
    """The state update, the layer's own rule (:meth:`BMRULayerQ.update <srcfpga.cells.mru.layer.BMRULayerQ.update>`):
    BMRU ``q' = up if z else q``; CMRU ``q' = sat(q + z (2 up - 1))``; alphaCMRU
    ``q' = sat(q + z ((2 up - 1) 2^r - (q >> r)))``."""
    return layer.update(ops, q, z, up)


@dataclass
class MRULayerTrace:
    """Per-step record of one BMRU / CMRU layer, arrays of shape ``(batch, T, n_out)``.

    ``spikes`` is the layer's output ``q`` (bool for a BMRU, the signed count for a CMRU).
    """

    spikes: np.ndarray
    c: np.ndarray        # int64
    beta: np.ndarray     # int64

    def states(self) -> dict[str, np.ndarray]:
        """The unit state ``q`` after each step (int64), named like the HDL's state trace field."""
        return {"q": self.spikes.astype(np.int64)}


def mru_synaptic_sums(layer: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(Wc x, Wb x)`` for integer inputs ``x`` ``(batch, n_in)``, exactly (float64 BLAS: the HardwareModel
    validation bounds every sum below 2^29, far inside float64's 2^53)."""
    xf = np.asarray(x, np.float64)
    syn_c = (xf @ layer.weights_c.T.astype(np.float64)).astype(np.int64)
    syn_b = None if layer.weights_b is None else (xf @ layer.weights_b.T.astype(np.float64)).astype(np.int64)
    return syn_c, syn_b


def mru_initial_state(layer: Any, batch: int) -> np.ndarray:
    return np.broadcast_to(layer.init.astype(np.int64), (batch, layer.n_out)).copy()


def mru_step(layer: Any, q: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One golden step of one layer: returns the new state, the layer output and the trace record."""
    ops = NumpyMRUOps()
    c, beta, z, up = mru_compare(ops, layer, *mru_synaptic_sums(layer, x))
    q = mru_update(ops, layer, q, z, up)
    out = layer.output(q)
    return q, out, (out, c, beta)


class MRUGolden:
    """The golden part of the BMRU and CMRU kinds (:class:`srcfpga.cells.CellKind`): state ``q``, output ``q``
    (bool for a BMRU, the signed count for a CMRU)."""

    initial_state = staticmethod(mru_initial_state)
    step = staticmethod(mru_step)

    @staticmethod
    def trace(records: list[tuple]) -> MRULayerTrace:
        return MRULayerTrace(*(np.stack(column, axis=1) for column in zip(*records)))
