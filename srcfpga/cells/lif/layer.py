"""IF, LIF and CubaLIF layers in the HardwareModel contract (docs/fixed-point.md, "7. LIF family").

Every state is an integer in the layer unit ``unit`` (real = int * unit). Per step, for the binary layer
input ``s_in`` and, in a recurrent layer, the layer's own spikes of the previous step ``s_prev``::

    syn   = W s_in + W_rec s_prev                        exact (``syn_bits``)
    drive = (syn << weight_shift) + bias
    CubaLIF only:  i' = sat(i - ((syn_decay_num * i) >> syn_decay_shift) + drive, current_bits);  drive = i'
    r     = v > threshold                                (the previous step's spike: snnTorch's reset)
    subtract:    v' = sat(v - ((decay_num * v) >> decay_shift) + drive - r * threshold, v_bits)
    zero:        v0 = 0 if r else v;   v' = sat(v0 - ((decay_num * v0) >> decay_shift) + drive, v_bits)
    zero_after:  v' = 0 if r else sat(v - ((decay_num * v) >> decay_shift) + drive, v_bits)
    s     = v' > threshold                               strict, as snnTorch's Heaviside

IF is LIF without leak (no ``decay_*`` fields). ``decay_num``, ``syn_decay_num`` and ``threshold`` are
per neuron. The states start at 0 (so ``s_prev`` of the first step is 0: ``threshold >= 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import numpy as np

from ...errors import ConfigError
from ...quant.hwmodel import (
    OPTIONAL,
    _check_range,
    _int_array,
    check_weight_bits,
    signed_bits,
    spike_weights_t,
)

RESETS = ("subtract", "zero", "zero_after")
"""Reset mechanisms: ``subtract`` (snnTorch ``"subtract"``: v - threshold), ``zero`` (snnTorch Leaky ``"zero"``,
NIR's v_reset = 0: the membrane restarts from 0 and integrates this step's drive), ``zero_after`` (snnTorch
Synaptic, RLeaky and RSynaptic ``"zero"``: the updated membrane is set to 0, this step's drive is lost)."""

MAX_STATE_BITS = 24
ARITH_LIMIT = 1 << 30          # every intermediate of the update stays below this (int32 golden, QAT float64)


def _int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"layer constant {name} must be an integer, got {value!r}")
    return int(value)


def _decay(name: str, num: np.ndarray, shift: int) -> None:
    if not 1 <= shift <= 12:
        raise ConfigError(f"{name}_shift must be in 1..12, got {shift}")
    _check_range(f"{name}_num (a leak 1 - n / 2^{shift})", num, 0, 1 << shift)


@dataclass(frozen=True, kw_only=True)
class IFLayerQ:
    """One quantized integrate-and-fire layer: the LIF step without leak (module docstring)."""

    kind: ClassVar[str] = "if"

    weights: np.ndarray          # (n_out, n_in), |w| <= 2^(weight_bits-1) - 1
    bias: np.ndarray             # (n_out,), in the unit (feed-forward plus recurrent bias)
    threshold: np.ndarray        # (n_out,), in the unit, >= 0
    weight_bits: int
    weight_shift: int            # k: the synaptic sum enters as syn << k
    unit: float                  # real value of one LSB of v (and i): weight scale / 2^k
    v_bits: int                  # v saturates to the signed range of this width
    reset: str = "subtract"      # one of RESETS
    recurrent: np.ndarray | None = field(default=None, metadata=OPTIONAL)   # (n_out, n_out) W_rec, same scale as W

    def __post_init__(self) -> None:
        check_weight_bits(self.weight_bits)
        for name in ("weight_shift", "v_bits"):
            object.__setattr__(self, name, _int(name, getattr(self, name)))
        weights = np.asarray(self.weights)
        if weights.ndim != 2 or 0 in weights.shape:
            raise ConfigError(f"layer weights must be a non-empty 2-D array, got shape {weights.shape}")
        n_out = weights.shape[0]
        object.__setattr__(self, "weights", _int_array("weights", weights, weights.shape))
        if self.recurrent is not None:
            object.__setattr__(self, "recurrent", _int_array("recurrent weights", self.recurrent, (n_out, n_out)))
        for name in ("bias", "threshold"):
            object.__setattr__(self, name, _int_array(name, getattr(self, name), (n_out,)))
        wmax = (1 << (self.weight_bits - 1)) - 1
        _check_range(f"{self.weight_bits}-bit weights", self.columns, -wmax, wmax)
        if self.reset not in RESETS:
            raise ConfigError(f"reset must be one of {', '.join(RESETS)}, got {self.reset!r}")
        if not 0 <= self.weight_shift <= 16:
            raise ConfigError(f"weight_shift must be in 0..16, got {self.weight_shift}")
        if not 2 <= self.v_bits <= MAX_STATE_BITS:
            raise ConfigError(f"v_bits must be in 2..{MAX_STATE_BITS}, got {self.v_bits}")
        _check_range("threshold", self.threshold, 0, self.v_range[1])
        self._check_decays()
        if self.syn_bound << self.weight_shift >= ARITH_LIMIT >> 2 or self.bias_bound >= ARITH_LIMIT >> 2:
            raise ConfigError(f"layer too large: the drive (syn << {self.weight_shift}) + bias would not fit 28 bits "
                              f"(max |syn| = {self.syn_bound}, max |bias| = {self.bias_bound})")

    def _check_decays(self) -> None:
        pass

    # ---- the leaks: (num per neuron, shift), None without leak ----------------------------------
    @property
    def membrane_decay(self) -> tuple[np.ndarray, int] | None:
        return None

    @property
    def current_decay(self) -> tuple[np.ndarray, int] | None:
        """The synaptic current's leak (CubaLIF only); ``None``: the layer has no current state."""
        return None

    # ---- shape -----------------------------------------------------------------------------------
    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]

    @property
    def is_recurrent(self) -> bool:
        return self.recurrent is not None

    @cached_property
    def columns(self) -> np.ndarray:
        """The synaptic weights by accumulator address ``(n_out, n_in [+ n_out])``: input ``j`` at ``j``, the
        layer's own neuron ``n`` (recurrent layers) at ``n_in + n``."""
        if self.recurrent is None:
            return self.weights
        return np.concatenate([self.weights, self.recurrent], axis=1)

    @property
    def weight_count(self) -> int:
        """Stored synaptic weights: ``W`` and ``W_rec``."""
        return int(self.columns.size)

    @property
    def input_range(self) -> tuple[int, int]:
        return (0, 1)

    @property
    def output_range(self) -> tuple[int, int]:
        return (0, 1)

    # ---- widths ----------------------------------------------------------------------------------
    @property
    def v_range(self) -> tuple[int, int]:
        return -(1 << (self.v_bits - 1)), (1 << (self.v_bits - 1)) - 1

    @property
    def state_bits(self) -> int:
        return self.v_bits

    @property
    def current_range(self) -> tuple[int, int] | None:
        return None

    @cached_property
    def syn_bound(self) -> int:
        """Largest ``|syn|`` over every spike pattern: the largest row sum of ``|columns|``."""
        return int(np.abs(self.columns.astype(np.int64)).sum(axis=1).max())

    @property
    def syn_bits(self) -> int:
        """Width of the synaptic accumulator (exact for every spike pattern)."""
        return signed_bits(-self.syn_bound, self.syn_bound)

    @property
    def bias_bound(self) -> int:
        return int(np.abs(self.bias.astype(np.int64)).max())

    @property
    def drive_bound(self) -> int:
        """Bound on ``|drive|`` entering the membrane (the current's range for a CubaLIF layer)."""
        return (self.syn_bound << self.weight_shift) + self.bias_bound

    @cached_property
    def synaptic_weights_t(self) -> np.ndarray:
        """``columns.T`` in the dtype of the exact synaptic matmul (:func:`srcfpga.quant.hwmodel.spike_weights_t`)."""
        return spike_weights_t(self.columns)

    def summary(self) -> str:
        rec = ", recurrent" if self.is_recurrent else ""
        return f"{self.kind}{rec}: v {self.v_bits} bits, reset {self.reset}, accumulators {self.syn_bits} bits"


@dataclass(frozen=True, kw_only=True)
class LIFLayerQ(IFLayerQ):
    """One quantized leaky integrate-and-fire layer: ``beta = 1 - decay_num / 2^decay_shift`` per neuron."""

    kind: ClassVar[str] = "lif"

    decay_num: np.ndarray        # (n_out,) in 0..2^decay_shift
    decay_shift: int

    def _check_decays(self) -> None:
        object.__setattr__(self, "decay_shift", _int("decay_shift", self.decay_shift))
        object.__setattr__(self, "decay_num", _int_array("decay_num", self.decay_num, (self.n_out,)))
        _decay("decay", self.decay_num, self.decay_shift)
        if self.v_bits + self.decay_shift > 30:
            raise ConfigError("v_bits + decay_shift must be <= 30 (the product decay_num * v)")

    @property
    def membrane_decay(self) -> tuple[np.ndarray, int] | None:
        return self.decay_num, self.decay_shift


@dataclass(frozen=True, kw_only=True)
class CubaLIFLayerQ(LIFLayerQ):
    """One quantized current-based LIF layer: a synaptic current ``i`` (``current_bits`` signed, leak
    ``alpha = 1 - syn_decay_num / 2^syn_decay_shift``) drives the membrane."""

    kind: ClassVar[str] = "cubalif"

    syn_decay_num: np.ndarray    # (n_out,) in 0..2^syn_decay_shift
    syn_decay_shift: int
    current_bits: int

    def _check_decays(self) -> None:
        super()._check_decays()
        for name in ("syn_decay_shift", "current_bits"):
            object.__setattr__(self, name, _int(name, getattr(self, name)))
        object.__setattr__(self, "syn_decay_num", _int_array("syn_decay_num", self.syn_decay_num, (self.n_out,)))
        _decay("syn_decay", self.syn_decay_num, self.syn_decay_shift)
        if not 2 <= self.current_bits <= MAX_STATE_BITS or self.current_bits + self.syn_decay_shift > 30:
            raise ConfigError(f"current_bits must be in 2..{MAX_STATE_BITS} with current_bits + syn_decay_shift <= 30, "
                              f"got {self.current_bits}")

    @property
    def current_decay(self) -> tuple[np.ndarray, int] | None:
        return self.syn_decay_num, self.syn_decay_shift

    @property
    def current_range(self) -> tuple[int, int] | None:
        return -(1 << (self.current_bits - 1)), (1 << (self.current_bits - 1)) - 1

    @property
    def drive_bound(self) -> int:
        return 1 << (self.current_bits - 1)
