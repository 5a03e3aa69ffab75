"""The SRC neuron update as a two-stage shift-add datapath (one instance per lane).

Implements exactly the integer step of ``srcfpga.golden.src_cell.src_update`` (docs/fixed-point.md),
split at the register boundary between the two stages::

    stage 1   i'  = sat(i - ((decay_num * i) >> decay_shift) + (syn << weight_shift), current_bits)
              p   = r*h + rs*hs + bias                      (independent of i')
              hs' = hs + ((g * (h - hs)) >> gate_shift),    g = gate_dep_num if h >= half else gate_hyp_num
    stage 2   h'  = clamp(clamp(i', -rho, rho) + p, -one, one)
              s   = h' >= half

Every product is by a constant and built from shifts and adds (no DSP). Widths: ``i`` is
``current_bits`` signed, ``h`` and ``hs`` are ``state_bits`` signed, ``syn`` is ``syn_bits`` signed;
intermediate sums are as wide as Amaranth's exact arithmetic needs, so only the explicit
saturations clip.
"""

from __future__ import annotations

from amaranth import Mux, Value, signed

from ..quant.hwmodel import SRCLayerQ
from .arith import clamp, const_mul


class SRCNeuronDatapath:
    """The arithmetic of one SRC layer's neuron, for the constants of ``layer``."""

    def __init__(self, layer: SRCLayerQ):
        self.layer = layer
        self.state_shape = signed(layer.state_bits)
        self.current_shape = signed(layer.current_bits)

    def stage1(self, i: Value, h: Value, hs: Value, syn: Value, bias: Value) -> tuple[Value, Value, Value]:
        """``(i', p, hs')`` from the old state, the synaptic sum and the neuron's bias."""
        q = self.layer
        lo, hi = q.current_range
        i_next = clamp(i - (const_mul(i, q.decay_num) >> q.decay_shift) + (syn << q.weight_shift), lo, hi)
        partial = const_mul(h, q.r) + const_mul(hs, q.rs) + bias
        diff = h - hs
        step = Mux(h >= q.half, const_mul(diff, q.gate_dep_num) >> q.gate_shift,
                   const_mul(diff, q.gate_hyp_num) >> q.gate_shift)
        return i_next, partial, hs + step

    def stage2(self, i_next: Value, partial: Value) -> tuple[Value, Value]:
        """``(h', spike)`` from stage 1's registered ``i'`` and ``p``."""
        q = self.layer
        h_next = clamp(clamp(i_next, -q.rho, q.rho) + partial, -q.one, q.one)
        return h_next, h_next >= q.half

    def partial_shape(self):
        """Signed width holding ``p`` for any state and bias in range."""
        q = self.layer
        bound = (abs(q.r) + abs(q.rs)) * q.one + max(abs(int(q.bias.min())), abs(int(q.bias.max())))
        return signed(bound.bit_length() + 1)
