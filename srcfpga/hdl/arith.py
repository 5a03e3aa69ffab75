"""Shift-add arithmetic helpers: constant multiplication without DSPs, saturation, clamps."""

from __future__ import annotations

from amaranth import Const, Mux, Value


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


def const_mul(value: Value, constant: int) -> Value:
    """``value * constant`` as a sum of shifted copies (canonical signed digits): no multiplier."""
    terms = [(value << shift) if sign > 0 else -(value << shift) for sign, shift in csd_digits(constant)]
    if not terms:
        return Const(0)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def clamp(value: Value, lo: int, hi: int) -> Value:
    """``min(max(value, lo), hi)`` for signed ``value`` and integer bounds."""
    return Mux(value < lo, lo, Mux(value > hi, hi, value))
