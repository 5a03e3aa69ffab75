"""The SRC layer in the HardwareModel contract: integer weights, constants and nonlinearity tables."""

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
from ...quant.pwl import PiecewiseLinear

TABLE_NAMES = ("compression", "activation", "gate")   # SRCLayerQ's nonlinearity tables, in step order


_INT_FIELDS = ("weight_shift", "current_bits", "decay_num", "decay_shift", "gate_shift", "gate_hyp_num",
               "gate_dep_num", "rho", "one", "half", "r", "rs")


@dataclass(frozen=True)
class SRCLayerQ:
    """One quantized SRC layer; every state is an integer in the layer unit ``unit`` (real = int * unit).

    Per step (``>>`` is an arithmetic shift, i.e. floor division by a power of two)::

        i   = sat(i - ((decay_num * i) >> decay_shift) + (W s_in << weight_shift), current_bits)
        x   = compression(i)                        rho tanh(i / rho); default clamp(i, -rho, rho)
        h'  = activation(x + r*h + rs*hs + bias)    tanh; default clamp(., -one, one)
        hs' = hs + ((g * (h - hs)) >> gate_shift),  g = gate(h); default gate_dep_num if h >= half else gate_hyp_num
        s   = h' >= half

    The three nonlinearities are :class:`PiecewiseLinear` tables (:attr:`tables`). A field left ``None``
    (or given equal to its default) is the one-piece default above, built from ``rho``, ``one``, ``half``
    and the gate constants, and is not written to the file: K = 1 models hash as before tables existed.
    """

    kind: ClassVar[str] = "src"

    weights: np.ndarray          # (n_out, n_in), |w| <= 2^(weight_bits-1) - 1
    bias: np.ndarray             # (n_out,)
    init_i: np.ndarray           # (n_out,)
    init_h: np.ndarray           # (n_out,)
    init_hs: np.ndarray          # (n_out,)
    weight_bits: int
    weight_shift: int            # k: the synaptic sum enters the current as (W s) << k
    unit: float                  # real value of one LSB of i, h, hs (weight scale / 2^k)
    current_bits: int            # i saturates to the signed range of this width
    decay_num: int               # a = 1 - decay_num / 2^decay_shift
    decay_shift: int
    gate_shift: int              # 1 - zs = gate_*_num / 2^gate_shift
    gate_hyp_num: int
    gate_dep_num: int
    rho: int
    one: int
    half: int
    r: int
    rs: int
    compression: PiecewiseLinear | None = field(default=None, metadata=OPTIONAL)  # i -> x, in [-rho, rho]
    activation: PiecewiseLinear | None = field(default=None, metadata=OPTIONAL)   # pre-activation -> h', in [-one, one]
    gate: PiecewiseLinear | None = field(default=None, metadata=OPTIONAL)         # h -> g, in [0, 2^gate_shift]

    def __post_init__(self) -> None:
        check_weight_bits(self.weight_bits)
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ConfigError(f"layer constant {name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        weights = np.asarray(self.weights)
        if weights.ndim != 2 or 0 in weights.shape:
            raise ConfigError(f"layer weights must be a non-empty 2-D array, got shape {weights.shape}")
        n_out = weights.shape[0]
        object.__setattr__(self, "weights", _int_array("weights", weights, weights.shape))
        for name in ("bias", "init_i", "init_h", "init_hs"):
            object.__setattr__(self, name, _int_array(name, getattr(self, name), (n_out,)))
        wmax = (1 << (self.weight_bits - 1)) - 1
        _check_range(f"{self.weight_bits}-bit weights", self.weights, -wmax, wmax)
        if not 0 <= self.weight_shift <= 16:
            raise ConfigError(f"weight_shift must be in 0..16, got {self.weight_shift}")
        if not (0 < self.half < self.one and 0 < self.rho):
            raise ConfigError(f"need 0 < half < one and rho > 0 (half={self.half}, one={self.one}, rho={self.rho})")
        if not 1 <= self.decay_shift <= 12 or not 0 <= self.decay_num <= 1 << self.decay_shift:
            raise ConfigError("decay must satisfy 1 <= decay_shift <= 12 and 0 <= decay_num <= 2^decay_shift")
        if not 1 <= self.gate_shift <= 12 or not all(
                0 <= n <= 1 << self.gate_shift for n in (self.gate_hyp_num, self.gate_dep_num)):
            raise ConfigError("gate must satisfy 1 <= gate_shift <= 12 and 0 <= gate nums <= 2^gate_shift")
        if not signed_bits(-self.rho, self.rho) <= self.current_bits <= 24:
            raise ConfigError(f"current_bits={self.current_bits} must hold +-rho={self.rho} and be <= 24")
        if self.current_bits + self.decay_shift > 30:
            raise ConfigError("current_bits + decay_shift must be <= 30 (int32 golden arithmetic)")
        i_lo, i_hi = self.current_range
        _check_range("init_i", self.init_i, i_lo, i_hi)
        _check_range("init_h", self.init_h, -self.one, self.one)
        _check_range("init_hs", self.init_hs, -self.one, self.one)
        if self.weights.shape[1] * wmax << self.weight_shift >= 1 << 30:
            raise ConfigError("layer too large: the synaptic sum would not fit 30 bits")
        if self.preactivation_bound >= 1 << 30:
            bias_max = int(np.abs(self.bias.astype(np.int64)).max())
            raise ConfigError("the h pre-activation x + r*h + rs*hs + bias would not fit 30 bits "
                              f"(rho={self.rho}, r={self.r}, rs={self.rs}, one={self.one}, max |bias|={bias_max})")
        if (2 * self.one) << self.gate_shift >= 1 << 30:
            raise ConfigError(f"the gate product g * (h - hs) would not fit 30 bits (one={self.one}, "
                              f"gate_shift={self.gate_shift})")
        defaults = self.default_tables
        for name in TABLE_NAMES:
            table = getattr(self, name)
            if isinstance(table, dict):
                table = PiecewiseLinear.from_dict(table, name)
            if table is not None and not isinstance(table, PiecewiseLinear):
                raise ConfigError(f"{name} must be a piecewise-linear table, got {table!r}")
            object.__setattr__(self, name, None if table == defaults[name] else table)
            (table or defaults[name]).check_domain(name, *self.table_domains[name], *self.table_ranges[name])

    @property
    def default_tables(self) -> dict[str, PiecewiseLinear]:
        """The one-piece tables of a K = 1 layer: hard clamps for both tanh, a step for the sigmoid gate."""
        return {"compression": PiecewiseLinear.clamp(-self.rho, self.rho),
                "activation": PiecewiseLinear.clamp(-self.one, self.one),
                "gate": PiecewiseLinear.step(self.half, self.gate_hyp_num, self.gate_dep_num)}

    @cached_property
    def tables(self) -> dict[str, PiecewiseLinear]:
        """The table each nonlinearity uses: the stored one, or its default."""
        defaults = self.default_tables
        return {name: defaults[name] if getattr(self, name) is None else getattr(self, name) for name in TABLE_NAMES}

    @property
    def table_domains(self) -> dict[str, tuple[int, int]]:
        """The integer inputs each table sees: the current, the h pre-activation, h."""
        pre = self.preactivation_bound
        return {"compression": self.current_range, "activation": (-pre, pre), "gate": (-self.one, self.one)}

    @property
    def preactivation_bound(self) -> int:
        """Bound on ``|x + r*h + rs*hs + bias|`` (``|x| <= rho``, ``|h|, |hs| <= one``)."""
        return self.rho + (abs(self.r) + abs(self.rs)) * self.one + int(np.abs(self.bias.astype(np.int64)).max())

    @property
    def table_ranges(self) -> dict[str, tuple[int, int]]:
        """The outputs each table may produce (its saturation must stay inside)."""
        return {"compression": (-self.rho, self.rho), "activation": (-self.one, self.one),
                "gate": (0, 1 << self.gate_shift)}

    @property
    def segments(self) -> int:
        """The largest number of pieces among the layer's tables (1 for a K = 1 layer)."""
        return max(table.segments for table in self.tables.values())

    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]

    @property
    def weight_count(self) -> int:
        """Stored synaptic weights (``n_out * n_in``)."""
        return int(self.weights.size)

    @property
    def input_range(self) -> tuple[int, int]:
        """Values an input takes: spikes, 0 or 1 (an SRC layer cannot follow a CMRU layer's counts)."""
        return (0, 1)

    @property
    def output_range(self) -> tuple[int, int]:
        """Values a unit's output takes: spikes, 0 or 1 (as for BMRU states; CMRU counts are wider)."""
        return (0, 1)

    @property
    def current_range(self) -> tuple[int, int]:
        return -(1 << (self.current_bits - 1)), (1 << (self.current_bits - 1)) - 1

    @property
    def state_bits(self) -> int:
        """Width of h and hs (both stay within [-one, one])."""
        return signed_bits(-self.one, self.one)

    @property
    def syn_bits(self) -> int:
        """Width of the synaptic accumulator: exact for every input spike pattern."""
        wmax = (1 << (self.weight_bits - 1)) - 1
        return signed_bits(-wmax * self.n_in, wmax * self.n_in)

    def summary(self) -> str:
        """One line of widths for ``srcfpga quantize``."""
        return f"h/hs {self.state_bits} bits, current {self.current_bits} bits, {self.segments}-piece tables"

    @cached_property
    def synaptic_weights_t(self) -> np.ndarray:
        """``weights.T`` in the dtype of the exact synaptic matmul (:func:`srcfpga.quant.hwmodel.spike_weights_t`)."""
        return spike_weights_t(self.weights)
