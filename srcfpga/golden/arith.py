"""Integer arithmetic of the golden model shared by the cell kinds and the readout: the numpy ``ops`` (the
interface the integer steps are written against; QAT supplies torch ones) and the exact synaptic sum of
binary inputs (for every kind whose layer has ``synaptic_weights_t``,
:func:`srcfpga.quant.hwmodel.spike_weights_t`)."""

from __future__ import annotations

import numpy as np
import torch


class NumpyOps:
    """Integer numpy arrays: the golden model's arithmetic (``>>`` is a floor shift)."""

    @staticmethod
    def floor_shift(value: np.ndarray, shift: int) -> np.ndarray:
        return value >> shift

    clip = staticmethod(np.clip)
    where = staticmethod(np.where)


def synaptic_sum(layer, spikes: np.ndarray, dtype=np.int32) -> np.ndarray:
    """``W s`` for binary ``spikes`` ``(batch, n)`` (``n`` rows of ``layer.synaptic_weights_t``) as ``dtype``,
    exactly: an int8 x int8 -> int32 GEMM (torch) when the weights are int8, float32 BLAS when they are float32
    (provably exact, :func:`srcfpga.quant.hwmodel.spike_weights_t`), else int64."""
    if not spikes.any():
        return np.zeros((len(spikes), layer.n_out), dtype)
    weights_t = layer.synaptic_weights_t
    if weights_t.dtype == np.int8:
        inputs = np.ascontiguousarray(spikes, bool).view(np.int8)    # 0 / 1 bytes, no copy for a bool frame
        if not inputs.flags.writeable:
            inputs = inputs.copy()                                  # torch.from_numpy warns on read-only arrays
        return torch._int_mm(torch.from_numpy(inputs), torch.from_numpy(weights_t)).numpy().astype(dtype, copy=False)
    return (spikes.astype(weights_t.dtype) @ weights_t).astype(dtype)

