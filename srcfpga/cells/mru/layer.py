"""BMRU / CMRU layers in the HardwareModel contract.

Integer semantics (docs/fixed-point.md, section "BMRU and CMRU"), per unit, per step, for the integer
layer input ``x`` (bits, or the counts of a CMRU layer below)::

    c    = ((Wc x) << frac_bits) + bias_c
    beta = ((Wb x) << frac_bits) + bias_b          (beta = bias_b when the layer has no Wb)
    z    = |c| > |beta|                            the comparator pair: set iff c > |beta|,
    up   = c >= 0                                                       reset iff c < -|beta|
    BMRU: q' = up if z else q                      q in {0, 1}
    CMRU: q' = sat(q + (2 up - 1) if z else q, +-(2^(count_bits-1) - 1))   a bounded saturating counter
    alphaCMRU: q' = sat(q - (q >> r) + (2 up - 1) 2^r if z else q, +-(2^(count_bits-1) - 1))
                                                   the relaxed counter: a shift-add leak on each event

``c`` and ``beta`` share one unit (``unit`` = weight scale / 2^frac_bits) so that the comparison is
exact. The layer's output is ``q`` itself; the float model's output ``alpha * s`` with
``s = gain * q + offset`` (full BMRU: s = 2q - 1; first-quadrant BMRU and CMRU: s = q) is folded
into the next layer's weights and bias (and the readout's), so every layer consumes integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...errors import ConfigError
from ...quant.hwmodel import _check_range, _int_array, check_weight_bits, signed_bits

MRU_FRAC_BITS = 2          # default: biases and thresholds at a quarter of a weight LSB
MAX_FRAC_BITS = 8


@dataclass(frozen=True)
class BMRULayerQ:
    """One quantized BMRU layer (binary state ``q``); see the module docstring for the step."""

    kind: ClassVar[str] = "bmru"

    weights_c: np.ndarray            # (n_out, n_in), |w| <= 2^(weight_bits-1) - 1
    bias_c: np.ndarray               # (n_out,) in units of ``unit``
    weights_b: np.ndarray | None     # (n_out, n_in) like weights_c, or None: beta = bias_b (constant)
    bias_b: np.ndarray               # (n_out,)
    init: np.ndarray                 # (n_out,) initial state q
    weight_bits: int
    frac_bits: int                   # the synaptic sums enter c and beta shifted left by this
    unit: float                      # real value of one LSB of c and beta (informational)
    input_min: int = 0               # the layer's inputs are integers in [input_min, input_max]
    input_max: int = 1

    def __post_init__(self) -> None:
        check_weight_bits(self.weight_bits)
        for name in ("frac_bits", "input_min", "input_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ConfigError(f"layer constant {name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        weights = np.asarray(self.weights_c)
        if weights.ndim != 2 or 0 in weights.shape:
            raise ConfigError(f"layer weights must be a non-empty 2-D array, got shape {weights.shape}")
        n_out, n_in = weights.shape
        object.__setattr__(self, "weights_c", _int_array("weights_c", weights, weights.shape))
        if self.weights_b is not None:
            object.__setattr__(self, "weights_b", _int_array("weights_b", self.weights_b, (n_out, n_in)))
        for name in ("bias_c", "bias_b", "init"):
            object.__setattr__(self, name, _int_array(name, getattr(self, name), (n_out,)))
        wmax = (1 << (self.weight_bits - 1)) - 1
        _check_range(f"{self.weight_bits}-bit weights_c", self.weights_c, -wmax, wmax)
        if self.weights_b is not None:
            _check_range(f"{self.weight_bits}-bit weights_b", self.weights_b, -wmax, wmax)
        if not 0 <= self.frac_bits <= MAX_FRAC_BITS:
            raise ConfigError(f"frac_bits must be in 0..{MAX_FRAC_BITS}, got {self.frac_bits}")
        if not self.input_min <= 0 < self.input_max:
            raise ConfigError(f"need input_min <= 0 < input_max, got [{self.input_min}, {self.input_max}]")
        _check_range("init", self.init, *self.output_range)
        bias_max = int(max(np.abs(self.bias_c.astype(np.int64)).max(), np.abs(self.bias_b.astype(np.int64)).max()))
        if self.syn_bound << self.frac_bits >= 1 << 29 or bias_max >= 1 << 29:
            raise ConfigError("layer too large: c and beta would not fit 30 bits "
                              f"(max |W x| = {self.syn_bound}, frac_bits = {self.frac_bits}, max |bias| = {bias_max})")

    @property
    def n_in(self) -> int:
        return self.weights_c.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights_c.shape[0]

    @property
    def gated(self) -> bool:
        """True when beta depends on the input (a second synaptic sum)."""
        return self.weights_b is not None

    @property
    def weight_count(self) -> int:
        """Stored synaptic weights: ``Wc``, plus ``Wb`` when gated."""
        return int(self.weights_c.size + (0 if self.weights_b is None else self.weights_b.size))

    @property
    def input_range(self) -> tuple[int, int]:
        return self.input_min, self.input_max

    @property
    def output_range(self) -> tuple[int, int]:
        return 0, 1

    @property
    def syn_bound(self) -> int:
        """Largest possible ``|W x|`` over both weight matrices and every input in range."""
        mats = [self.weights_c] + ([self.weights_b] if self.gated else [])
        reach = max(abs(self.input_min), abs(self.input_max))
        return max(int(np.abs(w.astype(np.int64)).sum(axis=1).max()) for w in mats) * reach

    @property
    def syn_bits(self) -> int:
        """Width of each synaptic accumulator (exact for every input)."""
        return signed_bits(-self.syn_bound, self.syn_bound)

    @property
    def compare_bits(self) -> int:
        """Width of ``c`` and ``beta`` (and of the comparator pair)."""
        bias_max = int(max(np.abs(self.bias_c.astype(np.int64)).max(), np.abs(self.bias_b.astype(np.int64)).max()))
        bound = (self.syn_bound << self.frac_bits) + bias_max
        return signed_bits(-bound, bound)

    @property
    def state_bits(self) -> int:
        lo, hi = self.output_range
        return 1 if lo == 0 and hi == 1 else signed_bits(lo, hi)

    # ---- what differs between BMRU and CMRU: the state update and the output -----------------------

    def update(self, ops: Any, q: Any, z: Any, up: Any) -> Any:
        """``q' = up if z else q``, written as arithmetic (``z`` and ``up`` are 0/1) so that the QAT forward
        (``ops`` on float64 tensors) differentiates it; the golden model runs it on int64 arrays."""
        return z * up + (1 - z) * q

    def output(self, q: np.ndarray) -> np.ndarray:
        """The layer output of the golden model for state ``q``: the state bits (bool)."""
        return q.astype(bool)

    def summary(self) -> str:
        return (f"{self.kind}{'' if self.gated else ' (constant thresholds)'}: state {self.state_bits} bit(s), "
                f"c/beta {self.compare_bits} bits, accumulators {self.syn_bits} bits")


@dataclass(frozen=True)
class CMRULayerQ(BMRULayerQ):
    """One quantized CMRU layer: the state is a counter saturating at ``+-(2^(count_bits-1) - 1)``."""

    kind: ClassVar[str] = "cmru"

    count_bits: int = 6

    def __post_init__(self) -> None:
        if isinstance(self.count_bits, bool) or not isinstance(self.count_bits, (int, np.integer)) \
                or not 2 <= self.count_bits <= 16:
            raise ConfigError(f"count_bits must be an integer in 2..16, got {self.count_bits!r}")
        object.__setattr__(self, "count_bits", int(self.count_bits))
        super().__post_init__()

    @property
    def count_max(self) -> int:
        """The counter's bound ``S = 2^(count_bits-1) - 1``: ``q`` saturates at ``+-S``."""
        return (1 << (self.count_bits - 1)) - 1

    def update(self, ops: Any, q: Any, z: Any, up: Any) -> Any:
        """``q' = sat(q + z (2 up - 1), +-count_max)`` (arithmetic, as :meth:`BMRULayerQ.update`)."""
        return ops.clip(q + z * (2 * up - 1), -self.count_max, self.count_max)

    def output(self, q: np.ndarray) -> np.ndarray:
        """The layer output of the golden model for state ``q``: the signed count itself (int64)."""
        return q

    @property
    def output_range(self) -> tuple[int, int]:
        return -self.count_max, self.count_max


@dataclass(frozen=True)
class AlphaCMRULayerQ(CMRULayerQ):
    """One quantized alphaCMRU layer: the CMRU counter with a shift-add leak ``r = relax_shift`` on each event.

    ``q`` holds the real state ``s`` with ``r`` fractional bits (``s = q / 2^r``); an event (``z = 1``) adds
    ``+-2^r`` (= +-1.0) to ``q - (q >> r)`` (= ``relax * s`` with ``relax = 1 - 2^-r``, the arithmetic shift
    rounding toward minus infinity), then saturates like the CMRU (docs/fixed-point.md, section 6).
    """

    kind: ClassVar[str] = "alphacmru"

    relax_shift: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.relax_shift, bool) or not isinstance(self.relax_shift, (int, np.integer)):
            raise ConfigError(f"relax_shift must be an integer, got {self.relax_shift!r}")
        object.__setattr__(self, "relax_shift", int(self.relax_shift))
        super().__post_init__()
        if not 0 <= self.relax_shift < self.count_bits - 1:
            raise ConfigError(f"relax_shift must be in 0..{self.count_bits - 2} for {self.count_bits}-bit states, "
                              f"got {self.relax_shift}")

    def update(self, ops: Any, q: Any, z: Any, up: Any) -> Any:
        """``q' = sat(q + z ((2 up - 1) 2^r - (q >> r)), +-count_max)`` (arithmetic, as :meth:`BMRULayerQ.update`)."""
        one = 1 << self.relax_shift
        return ops.clip(q + z * ((2 * up - 1) * one - ops.floor_shift(q, self.relax_shift)),
                        -self.count_max, self.count_max)
