"""A piecewise-linear table in logic: the RTL of :class:`srcfpga.quant.pwl.PiecewiseLinear`."""

from __future__ import annotations

from functools import reduce
from operator import or_

from amaranth import Module, Mux, signed
from amaranth.hdl import ShapeLike
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..quant.hwmodel import signed_bits
from ..quant.pwl import PiecewiseLinear
from .arith import clamp, const_mul


class PiecewiseLinearUnit(wiring.Component):
    """Combinational ``y = table(x)`` (docs/fixed-point.md, "Piecewise-linear tables").

    Every piece's line ``offsets[j] + slopes[j] * x`` is a shift-add of ``x`` (at most two signed
    power-of-two digits, no DSP), all in parallel; the comparators ``x >= breakpoints[j]`` form a
    thermometer code (the breakpoints increase) whose edge selects piece ``j`` = number of true
    comparisons, as in the golden model's ``where`` chain, through a one-hot OR (not a K-deep mux chain); then
    the floor shift and the saturation to ``[lo, hi]``. Intermediate widths are Amaranth's exact widths:
    nothing wraps.

    Ports:
        x: In(``in_shape``), signed input (e.g. the current ``i``, the pre-activation, ``h``).
        y: Out(signed, the smallest width holding ``[table.lo, table.hi]``), the table's output.
    """

    def __init__(self, table: PiecewiseLinear, in_shape: ShapeLike):
        self.table = table
        super().__init__({"x": In(in_shape), "y": Out(signed(signed_bits(table.lo, table.hi)))})

    def elaborate(self, platform):
        m = Module()
        t = self.table
        above = [1] + [self.x >= b for b in t.breakpoints] + [0]     # thermometer: piece j iff above[j] & ~above[j+1]
        lines = [Mux(above[j] & ~above[j + 1], const_mul(self.x, s) + c, 0)
                 for j, (s, c) in enumerate(zip(t.slopes, t.offsets))]
        m.d.comb += self.y.eq(clamp(reduce(or_, lines) >> t.shift, t.lo, t.hi))
        return m
