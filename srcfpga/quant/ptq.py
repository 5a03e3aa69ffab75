"""Post-training quantization: float network -> HardwareModel.

Scaling scheme (docs/fixed-point.md, "Units"): each layer has one symmetric weight scale ``s``
(``w_int = clip(round(w / s), +-(2^(B-1) - 1))``) and one state unit ``u = s / 2^k`` with
``k = max(0, round(F + log2 s))``, so that 1.0 is about ``2^F`` LSBs and the synaptic sum enters the
current as a plain left shift by ``k``. Every real constant of the cell (rho, 1, 0.5, bias, initial
states) is rounded to the nearest multiple of ``u``; leaks become ``1 - n / 2^m``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError
from .hwmodel import ReadoutQ, check_weight_bits
from .pwl import MAX_SEGMENTS

CLIP_MODES = ("max", "mse")


@dataclass(frozen=True)
class QuantConfig:
    """Options of the quantizer; each is recorded in the HardwareModel's ``source``.

    ``state_frac_bits``: F, about log2 of the LSBs per 1.0 of h (h, hs then use F + 2 bits).
    ``current_range``: the current i saturates at about +-current_range * rho.
    ``decay_shift`` / ``gate_shift``: m of the leaks 1 - n / 2^m (alpha and the hs gate).
    ``clip``: weight scale from the largest weight (``max``) or minimising the squared error (``mse``).
    ``segments``: K, pieces of each SRC nonlinearity table (1..16; 1: hard clamps and a step gate).
    """

    weight_bits: int = 8
    state_frac_bits: int = 8
    current_range: float = 4.0
    decay_shift: int = 5
    gate_shift: int = 5
    readout_bits: int = 8
    readout_acc_bits: int = 24
    clip: str = "mse"
    encoder_generators: int = 32
    segments: int = 1

    def __post_init__(self) -> None:
        check_weight_bits(self.weight_bits)
        if isinstance(self.segments, bool) or not isinstance(self.segments, int) \
                or not 1 <= self.segments <= MAX_SEGMENTS:
            raise ConfigError(f"segments must be an integer in 1..{MAX_SEGMENTS} (pieces per nonlinearity "
                              f"table; 1 = hard clamps and a step gate), got {self.segments!r}")
        if not 4 <= self.state_frac_bits <= 14:
            raise ConfigError(f"state_frac_bits must be in 4..14, got {self.state_frac_bits}")
        if not 1.0 <= self.current_range <= 64.0:
            raise ConfigError(f"current_range must be in [1, 64], got {self.current_range}")
        for name in ("decay_shift", "gate_shift"):
            if not 1 <= getattr(self, name) <= 12:
                raise ConfigError(f"{name} must be in 1..12, got {getattr(self, name)}")
        if not 2 <= self.readout_bits <= 16:
            raise ConfigError(f"readout_bits must be in 2..16, got {self.readout_bits}")
        if self.clip not in CLIP_MODES:
            raise ConfigError(f"clip must be one of {', '.join(CLIP_MODES)}, got {self.clip!r}")

    def source(self) -> dict:
        """The options as recorded in a HardwareModel's ``source`` (``segments`` only when > 1, so K = 1
        models hash as before tables existed)."""
        options = asdict(self)
        if self.segments == 1:
            del options["segments"]
        return options


def symmetric_max(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def quantize_symmetric(w: np.ndarray, scale: float, bits: int) -> np.ndarray:
    """``clip(round_half_even(w / scale), +-(2^(bits-1) - 1))`` as int32."""
    q = symmetric_max(bits)
    return np.clip(np.rint(np.asarray(w, np.float64) / scale), -q, q).astype(np.int32)


def weight_scale(w: np.ndarray, bits: int, clip: str) -> float:
    """Scale of one weight LSB: ``max|w| / qmax``, or the clipped scale with least squared error."""
    w = np.asarray(w, np.float64)
    largest = float(np.abs(w).max())
    if largest == 0.0:
        return 1.0
    q = symmetric_max(bits)
    if clip == "max":
        return largest / q
    candidates = largest * np.linspace(0.3, 1.0, 71) / q
    errors = [np.square(quantize_symmetric(w, s, bits) * s - w).sum() for s in candidates]
    return float(candidates[int(np.argmin(errors))])


def leak_nums(keep, shift: int) -> np.ndarray:
    """Per value ``n`` such that ``1 - n / 2^shift`` is nearest to ``keep`` (ties to even ``n``), in
    ``0..2^shift`` (a ``keep`` outside [0, 1] is clamped, as snnTorch clamps beta): the rounding of every leak."""
    return np.clip(np.rint((1.0 - np.asarray(keep, np.float64)) * (1 << shift)), 0, 1 << shift).astype(np.int64)


def leak_num(keep: float, shift: int) -> int:
    """:func:`leak_nums` of one value."""
    return int(leak_nums(keep, shift))


def _integer(name: str, value: float) -> int:
    if abs(value - round(value)) > 1e-6:
        raise ConfigError(f"{name} = {value} must be an integer for the shift-add datapath")
    return int(round(value))


def _uniform(name: str, values: np.ndarray) -> float:
    values = np.asarray(values, np.float64).ravel()
    if values.size == 0:
        raise ConfigError(f"{name} is empty")
    if np.ptp(values) > 1e-6:
        raise ConfigError(f"{name} differs between neurons; the hardware needs one value per layer")
    return float(values[0])


def quantize_readout(weights: np.ndarray, qc: QuantConfig, bias: np.ndarray | None = None,
                     window: int = 0, decay: float | None = None) -> ReadoutQ:
    """Readout weights at ``readout_bits`` (one scale, from the largest weight), the bias (None: none) at
    the same scale, saturated to the accumulator, the readout window, and the leak of a leaky readout
    (``decay`` per step, None: none) as ``1 - decay_num / 2^decay_shift`` at the cells' ``qc.decay_shift``."""
    scale = weight_scale(weights, qc.readout_bits, "max")
    if bias is not None:
        limit = (1 << (qc.readout_acc_bits - 2)) - 1
        bias = np.clip(np.rint(np.asarray(bias, np.float64) / scale), -limit, limit)
    return ReadoutQ(quantize_symmetric(weights, scale, qc.readout_bits), qc.readout_bits, scale,
                    qc.readout_acc_bits, bias=bias, window=window,
                    decay_num=None if decay is None else leak_num(decay, qc.decay_shift),
                    decay_shift=None if decay is None else qc.decay_shift)
