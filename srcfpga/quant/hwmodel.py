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
from pathlib import Path
from typing import Any

import numpy as np

from ..cells import CELLS
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


def spike_weights_t(matrix: np.ndarray) -> np.ndarray:
    """``matrix.T`` ``(n_in, n_out)`` in the dtype of its exact product with binary inputs
    (:func:`srcfpga.golden.arith.synaptic_sum`): int8 when every weight is in [-127, 127] and every row's
    absolute sum below 2^31 (an int8 x int8 -> int32 GEMM is then exact), else float32 when every row's
    absolute sum is below ``FLOAT32_EXACT`` (float32 BLAS is then exact), else int64."""
    magnitude = np.abs(matrix.astype(np.int64))
    row_sum = int(magnitude.sum(axis=1).max()) if magnitude.size else 0
    if magnitude.size == 0 or (int(magnitude.max()) <= 127 and row_sum <= INT32_MAX):
        dtype = np.int8
    else:
        dtype = np.float32 if row_sum < FLOAT32_EXACT else np.int64
    return np.ascontiguousarray(matrix.T, dtype)


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


OPTIONAL = {"optional": True}   # field metadata: omitted from the file (and the hash) while None


def readout_gain(keep: float | None, steps: int) -> float:
    """What a readout accumulates of a constant input over ``steps`` steps, its logits' divisor: ``steps``
    (integrating, ``keep`` None) or ``sum_{k < steps} keep^k`` (leaky, ``v = keep v + x``). Logits are the
    accumulator over this gain: the mean of ``W s + b`` over the window, exponentially weighted when leaky."""
    if keep is None:
        return steps
    return float(sum(keep ** k for k in range(steps)))


MAX_READOUT_DECAY_SHIFT = 16      # decay_num * acc stays below 2^47: exact in int64 and in float64 (QAT)


@dataclass(frozen=True)
class ReadoutQ:
    """Readout: each step of the window (the last ``window`` steps; 0: every step)::

        acc[c] = sat(acc[c] - ((decay_num * acc[c]) >> decay_shift) + sum_j weights[c, j] * s_j + bias[c], acc_bits)

    then class = argmax (:func:`srcfpga.golden.readout.readout_step` is the one definition). ``bias``,
    ``window`` and the leak (``decay_num``, ``decay_shift``: a leaky integrator, the LI readout of NIR /
    Norse; both or neither) are optional, and omitted from the file while unset (files without them load
    unchanged and keep their hash).
    """

    weights: np.ndarray          # (n_classes, n_last)
    weight_bits: int
    scale: float                 # real value of one weight LSB (informational)
    acc_bits: int = 24
    bias: np.ndarray | None = None   # (n_classes,) added at every accumulated step, or None (zero)
    window: int = 0                  # accumulate only the last ``window`` steps (0: all steps)
    decay_num: int | None = field(default=None, metadata=OPTIONAL)     # leak: acc loses decay_num / 2^decay_shift
    decay_shift: int | None = field(default=None, metadata=OPTIONAL)   # of itself per accumulated step (1..16)

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
        if (self.decay_num is None) != (self.decay_shift is None):
            raise ConfigError("a leaky readout needs both decay_num and decay_shift (neither: no leak)")
        if self.leaky:
            for name in ("decay_num", "decay_shift"):
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise ConfigError(f"readout {name} must be an integer, got {value!r}")
                object.__setattr__(self, name, int(value))
            if not 1 <= self.decay_shift <= MAX_READOUT_DECAY_SHIFT:
                raise ConfigError(f"readout decay_shift must be in 1..{MAX_READOUT_DECAY_SHIFT}, got {self.decay_shift}")
            if not 0 <= self.decay_num <= 1 << self.decay_shift:
                raise ConfigError(f"readout decay_num must be in 0..2^decay_shift = {1 << self.decay_shift}, "
                                  f"got {self.decay_num}")

    @property
    def leaky(self) -> bool:
        """True when the accumulators leak (``decay_num`` / ``decay_shift`` set)."""
        return self.decay_shift is not None

    def counted(self, step, total):
        """Whether step ``step`` (from 0) of a ``total``-step inference is accumulated: ``step + window >=
        total`` with a window, always without (integers, or Amaranth values in the HDL)."""
        return step + self.window >= total if self.window else True

    def counted_steps(self, total: int) -> int:
        """How many of ``total`` steps are accumulated."""
        return min(self.window, total) if self.window else total

    @property
    def keep(self) -> float | None:
        """What the accumulator keeps of itself per step, ``1 - decay_num / 2^decay_shift`` (None: no leak)."""
        return 1.0 - self.decay_num / (1 << self.decay_shift) if self.leaky else None

    def logit_scale(self, total: int) -> float:
        """Real value of one accumulator LSB in the logits of a ``total``-step inference: ``scale`` over the
        window's :func:`readout_gain` (a positive constant: the class is the argmax of the accumulator)."""
        return self.scale / readout_gain(self.keep, self.counted_steps(total))

    @property
    def n_classes(self) -> int:
        return self.weights.shape[0]

    @property
    def acc_range(self) -> tuple[int, int]:
        return -(1 << (self.acc_bits - 1)), (1 << (self.acc_bits - 1)) - 1


ENCODER_KINDS: dict[str, type] = {"rate": RateEncoder, RowEncoder.kind: RowEncoder}


@dataclass(frozen=True)
class HardwareModel:
    """A quantized network: rate encoder -> layers -> readout, with default step counts."""

    input_size: int
    encoder: RateEncoder | RowEncoder
    layers: tuple                # layer dataclasses of registered cell kinds (srcfpga.cells)
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
            expected = CELLS[getattr(layer, "kind", None)].part("layer")     # an unknown kind: ConfigError
            if type(layer) is not expected:
                raise ConfigError(f"layer {index} is a {type(layer).__name__}, but {layer.kind!r} layers are "
                                  f"{expected.__name__}")
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
                layers.append(CELLS[kind].part("layer")(**entry))
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
