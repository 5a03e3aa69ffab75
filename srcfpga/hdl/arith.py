"""Shift-add arithmetic helpers: constant multiplication without DSPs, saturation, clamps."""

from __future__ import annotations

from amaranth import Const, Mux, Value

from ..quant.pwl import csd_digits


def const_mul(value: Value, constant: int) -> Value:
    """``value * constant`` as a sum of shifted copies (canonical signed digits): no multiplier."""
    terms = [(value << shift) if sign > 0 else -(value << shift) for sign, shift in csd_digits(constant)]
    if not terms:
        return Const(0)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def unsigned_mul(value: Value, factor: Value) -> Value:
    """``value * factor`` for an unsigned ``factor``: one shifted copy of ``value`` per bit of ``factor``,
    summed (a shift-add multiplier in LUTs, no DSP)."""
    total = Const(0)
    for bit in range(len(factor)):
        total = total + Mux(factor[bit], value << bit, 0)
    return total


def clamp(value: Value, lo: int, hi: int) -> Value:
    """``min(max(value, lo), hi)`` for signed ``value`` and integer bounds."""
    return Mux(value < lo, lo, Mux(value > hi, hi, value))
