"""Integer arithmetic of the golden model shared by the cell kinds and the readout: the numpy ``ops`` (the
interface the integer steps are written against; QAT supplies torch ones) and the exact synaptic sum of
binary inputs (for every kind whose layer has ``synaptic_weights_t``,
:func:`srcfpga.quant.hwmodel.spike_weights_t`)."""

from __future__ import annotations

import numpy as np


class NumpyOps:
    """Integer numpy arrays: the golden model's arithmetic (``>>`` is a floor shift)."""

    @staticmethod
    def floor_shift(value: np.ndarray, shift: int) -> np.ndarray:
        return value >> shift

    clip = staticmethod(np.clip)
    where = staticmethod(np.where)


def synaptic_sum(layer, spikes: np.ndarray, dtype=np.int32) -> np.ndarray:
    """``W s`` for boolean ``spikes`` ``(batch, n)`` (``n`` rows of ``layer.synaptic_weights_t``) as ``dtype``,
    exactly (float32 BLAS when provably exact, else int64)."""
    if not spikes.any():
        return np.zeros((len(spikes), layer.n_out), dtype)
    weights_t = layer.synaptic_weights_t
    return (spikes.astype(weights_t.dtype) @ weights_t).astype(dtype)
