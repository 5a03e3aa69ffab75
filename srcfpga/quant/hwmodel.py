"""The HardwareModel: the single contract read by ``golden``, ``hdl``, ``sim`` and ``boards``.

A HardwareModel holds only integers and the constants of the integer semantics documented in
``docs/fixed-point.md``: weights, shift amounts, saturation bounds, comparator thresholds, piecewise-linear
nonlinearity tables, initial states, encoder and readout settings. It is saved as one JSON file with a schema version and a
SHA-256 content hash, and validated on construction and on load.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..data.encoder import RateEncoder
from ..data.rows import RowEncoder
from ..errors import ConfigError, ModelFileError
from ..fileio import write_text_atomic
from .pwl import PiecewiseLinear

SCHEMA_VERSION = 1
FILE_FORMAT = "srcfpga-hardware-model"
MIN_WEIGHT_BITS, MAX_WEIGHT_BITS = 2, 8
SUPPORTED_MIN_WEIGHT_BITS = 4       # the product range is 4..8; 2 and 3 bits quantize but are not supported
FLOAT32_EXACT = 1 << 24  # integer sums below this are exact in float32 BLAS
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def signed_bits(lo: int, hi: int) -> int:
    """Width of the smallest two's-complement signal holding every integer in [lo, hi]."""
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def _int_array(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value)
    if array.shape != shape:
        raise ConfigError(f"{name} has shape {array.shape}, expected {shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        try:
            integral = bool(np.all(np.equal(np.mod(array, 1), 0)))
        except TypeError:
            integral = False
        if not integral:
            raise ConfigError(f"{name} must hold integers")
    if array.size and not (INT32_MIN <= int(array.min()) and int(array.max()) <= INT32_MAX):
        raise ConfigError(f"{name} has values outside the 32-bit signed range")  # astype would wrap them
    array = array.astype(np.int32)
    array.setflags(write=False)
    return array


def _check_range(name: str, array: np.ndarray, lo: int, hi: int) -> None:
    if array.size and (array.min() < lo or array.max() > hi):
        raise ConfigError(f"{name} has values in [{array.min()}, {array.max()}], outside [{lo}, {hi}]")


def check_weight_bits(bits: int) -> int:
    if not isinstance(bits, (int, np.integer)) or not MIN_WEIGHT_BITS <= bits <= MAX_WEIGHT_BITS:
        raise ConfigError(f"weight bits must be an integer in {MIN_WEIGHT_BITS}..{MAX_WEIGHT_BITS} "
                          f"({SUPPORTED_MIN_WEIGHT_BITS}..{MAX_WEIGHT_BITS} is the supported product range), "
                          f"got {bits!r}")
    return int(bits)


def unsupported_weight_bits(bits: int) -> str | None:
    """A one-line note when ``bits`` is accepted but outside the supported product range, else ``None``."""
    if MIN_WEIGHT_BITS <= bits < SUPPORTED_MIN_WEIGHT_BITS:
        return (f"{bits}-bit weights are experimental: {SUPPORTED_MIN_WEIGHT_BITS}..{MAX_WEIGHT_BITS} is the "
                f"supported range")
    return None


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(magic)) == magic


def check_steps(steps: int, blank: int) -> None:
    """The step setting of an inference: at least one stimulus step after ``blank`` >= 0 blank steps."""
    if steps < 1 or blank < 0:
        raise ConfigError(f"need steps >= 1 and blank >= 0, got steps={steps}, blank={blank}")


TABLE_NAMES = ("compression", "activation", "gate")   # SRCLayerQ's nonlinearity tables, in step order
OPTIONAL = {"optional": True}   # field metadata: omitted from the file (and the hash) while None


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

    @cached_property
    def float32_exact(self) -> bool:
        """True when W s is exact in float32 for every binary s (max |sum| < 2^24)."""
        return int(np.abs(self.weights).sum(axis=1).max()) < FLOAT32_EXACT

    @cached_property
    def synaptic_weights_t(self) -> np.ndarray:
        """``weights.T`` ``(n_in, n_out)`` in the dtype of the exact synaptic matmul: float32 when
        :attr:`float32_exact`, else int64."""
        return np.ascontiguousarray(self.weights.T, np.float32 if self.float32_exact else np.int64)


@dataclass(frozen=True)
class ReadoutQ:
    """Readout: ``acc[c] = sat(acc[c] + sum_j weights[c, j] * s_j + bias[c], acc_bits)`` each step of
    the window (the last ``window`` steps; 0: every step); class = argmax.

    ``bias`` and ``window`` are optional (SRC models have neither; files without them load unchanged).
    """

    weights: np.ndarray          # (n_classes, n_last)
    weight_bits: int
    scale: float                 # real value of one weight LSB (informational)
    acc_bits: int = 24
    bias: np.ndarray | None = None   # (n_classes,) added at every accumulated step, or None (zero)
    window: int = 0                  # accumulate only the last ``window`` steps (0: all steps)

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights)
        if weights.ndim != 2 or 0 in weights.shape:
            raise ConfigError(f"readout weights must be a non-empty 2-D array, got shape {weights.shape}")
        object.__setattr__(self, "weights", _int_array("readout weights", weights, weights.shape))
        if not 2 <= self.weight_bits <= 16:
            raise ConfigError(f"readout weight bits must be in 2..16, got {self.weight_bits}")
        wmax = (1 << (self.weight_bits - 1)) - 1
        _check_range("readout weights", self.weights, -wmax, wmax)
        if not self.weight_bits < self.acc_bits <= 31:
            raise ConfigError(f"readout acc_bits must be in {self.weight_bits + 1}..31, got {self.acc_bits}")
        if self.bias is not None:
            object.__setattr__(self, "bias", _int_array("readout bias", self.bias, (self.n_classes,)))
            _check_range("readout bias", self.bias, *self.acc_range)
        if isinstance(self.window, bool) or not isinstance(self.window, (int, np.integer)) or self.window < 0:
            raise ConfigError(f"readout window must be an integer >= 0, got {self.window!r}")
        object.__setattr__(self, "window", int(self.window))

    @property
    def n_classes(self) -> int:
        return self.weights.shape[0]

    @property
    def acc_range(self) -> tuple[int, int]:
        return -(1 << (self.acc_bits - 1)), (1 << (self.acc_bits - 1)) - 1


LAYER_KINDS: dict[str, type] = {SRCLayerQ.kind: SRCLayerQ}   # srcfpga.quant.mru adds "bmru" and "cmru"
ENCODER_KINDS: dict[str, type] = {"rate": RateEncoder, RowEncoder.kind: RowEncoder}


@dataclass(frozen=True)
class HardwareModel:
    """A quantized network: rate encoder -> layers -> readout, with default step counts."""

    input_size: int
    encoder: RateEncoder | RowEncoder
    layers: tuple[SRCLayerQ, ...]           # or any kind of LAYER_KINDS
    readout: ReadoutQ
    steps: int                   # default stimulus steps per inference
    blank: int                   # default leading blank steps
    source: dict = field(default_factory=dict)  # provenance: float model, quantization options

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise ConfigError("a HardwareModel needs at least one layer")
        width, values = self.input_size, (0, 1)   # the input frames are binary
        if hasattr(self.encoder, "check_inputs"):
            self.encoder.check_inputs(self.input_size)
        for index, layer in enumerate(self.layers):
            if layer.n_in != width:
                raise ConfigError(f"layer {index} expects {layer.n_in} inputs but receives {width}")
            if layer.input_range != values:   # e.g. an SRC layer after a CMRU counter
                raise ConfigError(f"layer {index} ({layer.kind}) takes inputs in {layer.input_range}"
                                  f" but receives values in {values}")
            width, values = layer.n_out, layer.output_range
        if self.readout.weights.shape[1] != width:
            raise ConfigError(f"readout expects {self.readout.weights.shape[1]} inputs, last layer has {width}")
        check_steps(self.steps, self.blank)

    @property
    def cell(self) -> str:
        return self.layers[0].kind

    @property
    def image_pixels(self) -> int:
        """Pixels of one input image: the encoder's (the row encoder reads whole images), else one per input."""
        return getattr(self.encoder, "n_pixels", self.input_size)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.input_size,) + tuple(layer.n_out for layer in self.layers)

    # ---- serialization -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "input_size": self.input_size,
            "encoder": self.encoder.to_dict() if hasattr(self.encoder, "to_dict") else
                       {"kind": "rate", "rate_gain": self.encoder.rate_gain, "generators": self.encoder.generators},
            "layers": [_dataclass_to_dict(layer) | {"kind": layer.kind} for layer in self.layers],
            "readout": {k: v for k, v in _dataclass_to_dict(self.readout).items()   # optional fields only when set
                        if not (k == "bias" and v is None or k == "window" and v == 0)},
            "steps": self.steps,
            "blank": self.blank,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "HardwareModel":
        try:
            encoder = dict(data["encoder"])
            encoder_kind = encoder.pop("kind")
            if encoder_kind not in ENCODER_KINDS:
                raise ConfigError(f"unknown encoder kind {encoder_kind!r}: only the rate encoder ('rate') and the "
                                  "row encoder ('rows') are supported")
            layers = []
            for entry in data["layers"]:
                entry = dict(entry)
                kind = entry.pop("kind")
                if kind not in LAYER_KINDS:
                    raise ConfigError(f"unknown layer kind {kind!r}")
                layers.append(LAYER_KINDS[kind](**entry))
            return cls(input_size=int(data["input_size"]), encoder=ENCODER_KINDS[encoder_kind](**encoder),
                       layers=tuple(layers), readout=ReadoutQ(**data["readout"]),
                       steps=int(data["steps"]), blank=int(data["blank"]),
                       source=dict(data.get("source", {})))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"missing or unexpected field: {exc}") from None

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (the file's ``content_hash``)."""
        return hashlib.sha256(_canonical_json(self.to_dict()).encode()).hexdigest()

    def save(self, path: str | Path) -> Path:
        payload = {"format": FILE_FORMAT, "schema_version": SCHEMA_VERSION,
                   "content_hash": self.content_hash, "model": self.to_dict()}
        write_text_atomic(path, json.dumps(payload, separators=(",", ":")) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "HardwareModel":
        path = Path(path)
        if path.is_file() and _starts_with(path, b"PK"):     # a torch zip: a float model
            raise ModelFileError(f"{path} is a float model; quantize it first: srcfpga quantize {path} "
                                 f"--weight-bits N -o {path.with_suffix('.hw').name}")
        try:
            payload = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelFileError(f"hardware model {path} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{path} is not a hardware model file (not JSON: {exc})") from None
        if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
            raise ModelFileError(f"{path} is not a hardware model file (format is not {FILE_FORMAT!r})")
        if payload.get("schema_version") != SCHEMA_VERSION:
            raise ModelFileError(f"{path} has schema version {payload.get('schema_version')!r}; "
                                 f"this srcfpga reads version {SCHEMA_VERSION}")
        try:
            model = cls.from_dict(payload["model"])
        except (KeyError, ConfigError, ValueError) as exc:
            raise ModelFileError(f"{path} is malformed: {exc}") from None
        if model.content_hash != payload.get("content_hash"):
            raise ModelFileError(f"{path} failed its content hash check (edited or corrupted)")
        return model

    def replace(self, **changes: Any) -> "HardwareModel":
        return replace(self, **changes)


def _dataclass_to_dict(obj: Any) -> dict:
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None and f.metadata.get("optional"):
            continue
        out[f.name] = value.tolist() if isinstance(value, np.ndarray) else \
            value.to_dict() if isinstance(value, PiecewiseLinear) else value
    return out


def _canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
