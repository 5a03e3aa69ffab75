"""Piecewise-linear integer tables: the one definition of every smooth nonlinearity the SRC hardware
approximates (docs/fixed-point.md, "Piecewise-linear tables").

A table with ``K`` pieces maps an integer ``v`` to an integer ``y``::

    j = number of breakpoints b with b <= v            (piece index, 0 .. K-1; a comparator chain)
    y = clamp((offsets[j] + slopes[j] * v) >> shift, lo, hi)

``>>`` is the floor shift; ``slopes[j]`` has at most two signed power-of-two digits (a shift-add, never a
multiplier). The golden model and the QAT forward pass run :meth:`PiecewiseLinear.apply` through the
integer ``ops`` interface of :mod:`srcfpga.cells.src.golden`; the RTL is :mod:`srcfpga.hdl.pwl`.
:func:`fit` computes the tables the quantizer stores (error-minimizing breakpoints on the integer grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError

MAX_SEGMENTS = 16            # K in 1..MAX_SEGMENTS (``srcfpga quantize --segments K``)
MAX_SLOPE_DIGITS = 2         # signed power-of-two digits per slope: one adder per piece
MAX_SHIFT = 16
MAX_SLOPE = 1 << 16
FIT_SHIFT = 8                # the quantizer's slope resolution: 2^-8 output LSB per input LSB
INTERMEDIATE_LIMIT = 1 << 30  # |offsets[j]| + |slopes[j] * v| stays below this (int32 golden arithmetic)


def csd_digits(constant: int) -> list[tuple[int, int]]:
    """Canonical signed-digit form of ``constant``: ``[(sign, shift), ...]`` with sign in {-1, +1}."""
    digits, shift, value = [], 0, constant
    while value:
        if value & 1:
            digit = 2 - (value & 3)      # +1 if value % 4 == 1, -1 if value % 4 == 3
            digits.append((digit, shift))
            value -= digit
        value >>= 1
        shift += 1
    return digits


def _ints(name: str, values: Any) -> tuple[int, ...]:
    values = tuple(values)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"table {name} must hold integers, got {value!r}")
    return tuple(int(v) for v in values)


@dataclass(frozen=True)
class PiecewiseLinear:
    """``y = clamp((offsets[j] + slopes[j] * v) >> shift, lo, hi)`` with ``j = #{b in breakpoints: b <= v}``.

    ``breakpoints``: K - 1 strictly increasing integers (input LSBs); ``slopes``, ``offsets``: K integers
    (slopes in units of 2^-shift output LSB per input LSB, at most two signed power-of-two digits, |slope|
    <= 2^16; offsets in 2^-shift output LSBs); ``shift`` in 0..16; ``lo <= hi`` the saturation (output
    LSBs). Widths are set by the input range the table is used on (:meth:`check_domain`).
    """

    breakpoints: tuple[int, ...]
    slopes: tuple[int, ...]
    offsets: tuple[int, ...]
    shift: int
    lo: int
    hi: int

    def __post_init__(self) -> None:
        for name in ("breakpoints", "slopes", "offsets"):
            object.__setattr__(self, name, _ints(name, getattr(self, name)))
        for name in ("shift", "lo", "hi"):
            object.__setattr__(self, name, _ints(name, [getattr(self, name)])[0])
        k = len(self.slopes)
        if not 1 <= k <= MAX_SEGMENTS:
            raise ConfigError(f"a table has 1..{MAX_SEGMENTS} pieces, got {k} slopes")
        if len(self.offsets) != k or len(self.breakpoints) != k - 1:
            raise ConfigError(f"a table of {k} pieces needs {k} offsets and {k - 1} breakpoints, got "
                              f"{len(self.offsets)} offsets and {len(self.breakpoints)} breakpoints")
        if any(a >= b for a, b in zip(self.breakpoints, self.breakpoints[1:])):
            raise ConfigError(f"table breakpoints must be strictly increasing, got {list(self.breakpoints)}")
        for slope in self.slopes:
            if abs(slope) > MAX_SLOPE or len(csd_digits(slope)) > MAX_SLOPE_DIGITS:
                raise ConfigError(f"table slope {slope} is not a sum of at most {MAX_SLOPE_DIGITS} signed powers "
                                  f"of two with |slope| <= 2^16 (shift-add only)")
        if not 0 <= self.shift <= MAX_SHIFT:
            raise ConfigError(f"table shift must be in 0..{MAX_SHIFT}, got {self.shift}")
        if self.lo > self.hi:
            raise ConfigError(f"table saturation needs lo <= hi, got lo={self.lo} hi={self.hi}")

    @property
    def segments(self) -> int:
        return len(self.slopes)

    @classmethod
    def clamp(cls, lo: int, hi: int) -> "PiecewiseLinear":
        """One piece, ``y = clamp(v, lo, hi)``: the hard tanh of the K = 1 SRC."""
        return cls(breakpoints=(), slopes=(1,), offsets=(0,), shift=0, lo=lo, hi=hi)

    @classmethod
    def step(cls, threshold: int, below: int, above: int) -> "PiecewiseLinear":
        """One piece that is the step ``above if v >= threshold else below``: the K = 1 SRC gate.

        ``y = clamp(below + (v - threshold + 1) * m, ...)`` with ``m = +-2^ceil(log2 |above - below|)``:
        every ``v >= threshold`` reaches ``above`` and every ``v < threshold`` stays at ``below``.
        """
        gap = above - below
        m = 0 if gap == 0 else (1 if gap > 0 else -1) << (abs(gap) - 1).bit_length()
        return cls(breakpoints=(), slopes=(m,), offsets=(below + (1 - threshold) * m,), shift=0,
                   lo=min(below, above), hi=max(below, above))

    def apply(self, ops: Any, v: Any) -> Any:
        """The table on an array of integers with the integer ``ops`` (numpy in golden, torch in QAT)."""
        y = self.offsets[0] + self.slopes[0] * v
        for b, c, m in zip(self.breakpoints, self.offsets[1:], self.slopes[1:]):
            y = ops.where(v >= b, c + m * v, y)
        return ops.clip(ops.floor_shift(y, self.shift), self.lo, self.hi)

    def intermediate_bound(self, v_lo: int, v_hi: int) -> int:
        """Bound on ``|offsets[j]| + |slopes[j] * v|`` over every piece and every ``v`` in ``[v_lo, v_hi]``
        (every piece's line is computed for every input, in golden and in the RTL alike)."""
        reach = max(abs(v_lo), abs(v_hi))
        return max(abs(c) + abs(m) * reach for c, m in zip(self.offsets, self.slopes))

    def check_domain(self, name: str, v_lo: int, v_hi: int, y_lo: int, y_hi: int) -> None:
        """Reject a table for input range ``[v_lo, v_hi]`` whose output may leave ``[y_lo, y_hi]`` or
        whose intermediates ``offsets[j] + slopes[j] * v`` could reach 2^30."""
        if self.lo < y_lo or self.hi > y_hi:
            raise ConfigError(f"{name} table saturates at [{self.lo}, {self.hi}], outside [{y_lo}, {y_hi}]")
        if self.intermediate_bound(v_lo, v_hi) >= INTERMEDIATE_LIMIT:
            raise ConfigError(f"{name} table: offset + slope * v reaches 2^30 for inputs in [{v_lo}, {v_hi}]")

    def as_step(self, v_lo: int, v_hi: int) -> tuple[int, int, int] | None:
        """``(threshold, below, above)`` when the table is a single step on ``[v_lo, v_hi]``, else None."""
        from ..golden.arith import NumpyOps

        v = np.arange(v_lo, v_hi + 1, dtype=np.int64)
        y = self.apply(NumpyOps(), v)
        changes = np.flatnonzero(np.diff(y))
        if len(changes) != 1:
            return None
        return int(v[changes[0] + 1]), int(y[0]), int(y[-1])

    def to_dict(self) -> dict:
        return {"breakpoints": list(self.breakpoints), "slopes": list(self.slopes), "offsets": list(self.offsets),
                "shift": self.shift, "lo": self.lo, "hi": self.hi}

    @classmethod
    def from_dict(cls, data: dict, name: str) -> "PiecewiseLinear":
        """The table of a file's ``name`` entry; errors name the table."""
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"{name} table: missing or unexpected field ({exc})") from None
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None


# ---- the quantizer's fit -----------------------------------------------------------------------------

def nearest_slope(slope: float) -> int:
    """The integer with at most two signed power-of-two digits nearest to ``slope`` (|slope| <= 2^16)."""
    if slope == 0:
        return 0
    magnitude = min(abs(slope), MAX_SLOPE)
    top = max(0, int(np.floor(np.log2(magnitude))))
    candidates = {0, 1 << top, 1 << (top + 1)}
    for e in range(top + 2):
        for f in range(top + 2):
            candidates.add((1 << e) + (1 << f))
            candidates.add(abs((1 << e) - (1 << f)))
    best = min((c for c in candidates if c <= MAX_SLOPE), key=lambda c: (abs(c - magnitude), c))
    return best if slope > 0 else -best


def fit(target: Callable[[np.ndarray], np.ndarray], v_lo: int, v_hi: int, lo: int, hi: int, segments: int,
        shift: int = FIT_SHIFT, candidates: int = 96, samples: int = 1024) -> PiecewiseLinear:
    """A ``segments``-piece table for the monotone ``target`` (real, in output LSBs) on the integers of
    ``[v_lo, v_hi]``, saturating at ``lo`` and ``hi`` (the target's limits, in either order).

    The pieces are chords between knots ``(x_0, first), (x_1, target(x_1)), ..., (x_K, last)``, the outer
    knots on the saturation levels (the clamp continues them). The knots are chosen among ``candidates``
    points spanning the region where the target is more than half an LSB from both limits, by a minimax
    dynamic programme on the chords' interpolation error (measured on ``samples`` points of that region and
    on the clamped tails). Slopes are then rounded to two signed digits (:func:`nearest_slope`) and each
    piece's offset centres its error on the integer grid, floor shift included. The table has fewer than
    ``segments`` pieces when that region holds fewer than ``segments + 1`` integers.
    """
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ConfigError(f"segments must be in 1..{MAX_SEGMENTS}, got {segments}")
    grid = np.arange(v_lo, v_hi + 1, dtype=np.int64)
    f = np.asarray(target(grid.astype(np.float64)), np.float64)
    first, last = (lo, hi) if f[-1] >= f[0] else (hi, lo)
    inside = np.flatnonzero((np.abs(f - first) > 0.5) & (np.abs(f - last) > 0.5))
    if len(inside) < 2:
        inside = np.arange(len(grid))
    a, b = max(0, int(inside[0]) - 1), min(len(grid) - 1, int(inside[-1]) + 1)
    idx = np.unique(np.linspace(a, b, min(candidates, b - a + 1)).round().astype(np.int64))
    sample = np.unique(np.concatenate([idx, np.linspace(a, b, min(samples, b - a + 1)).round().astype(np.int64)]))
    xs, fx, n = grid[idx].astype(np.float64), f[idx], len(idx)
    segments = min(segments, n - 1)     # a narrow unsaturated region has fewer knots than K + 1
    sv, sf = grid[sample].astype(np.float64), f[sample]

    def chord_cost(y_start: np.ndarray, y_end: np.ndarray) -> np.ndarray:
        """cost[p, q]: max |target - chord| on the samples in [x_p, x_q], chord (x_p, y_start[p]) -> (x_q, y_end[q])."""
        cost = np.full((n, n), np.inf)
        for p in range(n - 1):
            keep = sv >= xs[p]
            v, fv = sv[keep], sf[keep]
            q = np.arange(p + 1, n)
            slope = (y_end[q] - y_start[p]) / (xs[q] - xs[p])
            err = np.abs(y_start[p] + slope[:, None] * (v[None, :] - xs[p]) - fv[None, :])
            err[v[None, :] > xs[q][:, None]] = 0.0
            cost[p, q] = err.max(axis=1)
        return cost

    tail_first = np.maximum.accumulate(np.abs(f - first))[idx]                 # the clamp left of x_0
    tail_last = np.maximum.accumulate(np.abs(f - last)[::-1])[::-1][idx]        # the clamp right of x_K
    ends_first, ends_last = np.full(n, float(first)), np.full(n, float(last))
    if segments == 1:
        total = np.maximum(np.maximum(chord_cost(ends_first, ends_last), tail_first[:, None]), tail_last[None, :])
        knots = list(np.unravel_index(np.argmin(total), total.shape))
    else:
        inner = chord_cost(fx, fx)
        start = np.maximum(chord_cost(ends_first, fx), tail_first[:, None])
        best, back = start.min(axis=0), [start.argmin(axis=0)]      # best[q]: pieces so far, ending at knot q
        for _ in range(segments - 2):
            total = np.maximum(best[:, None], inner)
            back.append(total.argmin(axis=0))
            best = total.min(axis=0)
        total = np.maximum(best[:, None], np.maximum(chord_cost(fx, ends_last), tail_last[None, :]))
        p, q = np.unravel_index(np.argmin(total), total.shape)
        knots = [q, p]
        for step in reversed(back):
            knots.append(step[knots[-1]])
        knots.reverse()
    x = [int(grid[idx[k]]) for k in knots]
    y = [float(first)] + [float(fx[k]) for k in knots[1:-1]] + [float(last)]
    scale = 1 << shift
    breakpoints = tuple(x[1:-1])
    edges = [v_lo, *breakpoints, v_hi + 1]
    slopes, offsets = [], []
    for j in range(segments):
        m = nearest_slope((y[j + 1] - y[j]) / (x[j + 1] - x[j]) * scale)
        # offset: centre the residual on the piece's inputs inside its chord (the clamp does the tails)
        v = grid[max(edges[j], x[j]) - v_lo: min(edges[j + 1], x[j + 1] + 1) - v_lo]
        resid = (f[v - v_lo] + 0.5) * scale - m * v    # floor((c + m v) / 2^s) ~ f  <=>  c ~ (f + 1/2) 2^s - m v
        slopes.append(m)
        offsets.append(int(np.floor((resid.max() + resid.min()) / 2)))
    return PiecewiseLinear(breakpoints=breakpoints, slopes=tuple(slopes), offsets=tuple(offsets), shift=shift,
                           lo=min(lo, hi), hi=max(lo, hi))


def max_error(table: PiecewiseLinear, target: Callable[[np.ndarray], np.ndarray], v_lo: int,
              v_hi: int) -> tuple[float, int]:
    """``(max |table(v) - target(v)|, argmax v)`` over the integers of ``[v_lo, v_hi]`` (output LSBs)."""
    from ..golden.arith import NumpyOps

    v = np.arange(v_lo, v_hi + 1, dtype=np.int64)
    err = np.abs(table.apply(NumpyOps(), v) - np.asarray(target(v.astype(np.float64)), np.float64))
    k = int(np.argmax(err))
    return float(err[k]), int(v[k])
