"""The SRC neuron update as a two-stage shift-add datapath (one instance per lane).

Implements exactly the integer step of ``srcfpga.cells.src.golden.src_update`` (docs/fixed-point.md),
split at the register boundary between the two stages::

    stage 1   i'  = sat(i - ((decay_num * i) >> decay_shift) + (syn << weight_shift), current_bits)
              p   = r*h + rs*hs + bias                      (independent of i')
              hs' = hs + ((g * (h - hs)) >> gate_shift),    g = gate(h)
    stage 2   h'  = activation(compression(i') + p)
              s   = h' >= half

``compression``, ``activation`` and ``gate`` are the layer's piecewise-linear tables, each a
:class:`srcfpga.hdl.pwl.PiecewiseLinearUnit`. A gate table that is a single step on ``[-one, one]`` (the
K = 1 default) makes ``g * (h - hs)`` a multiplexer of two constant products; any other gate multiplies
by ``g`` (``gate_shift + 1`` bits) with a shift-add. Every product is built from shifts and adds (no DSP).
Widths: ``i`` is ``current_bits`` signed, ``h`` and ``hs`` are ``state_bits`` signed, ``syn`` is
``syn_bits`` signed; intermediate sums are as wide as Amaranth's exact arithmetic needs, so only the
explicit saturations clip.
"""

from __future__ import annotations

from typing import Any

from amaranth import Module, Mux, Value, signed
from amaranth.lib import data

from ...hdl.arith import clamp, const_mul, unsigned_mul
from ...hdl.pwl import PiecewiseLinearUnit
from ...quant.hwmodel import signed_bits
from .golden import spike
from .layer import SRCLayerQ


class SRCNeuronDatapath:
    """The arithmetic of one SRC layer's neuron, for the constants and tables of ``layer``
    (a :class:`srcfpga.hdl.layer_engine.NeuronDatapath`: state ``i``, ``h``, ``hs``; constants ``bias`` and the
    initial state ``init``; stage 1 hands ``i'``, ``p`` and ``hs'`` to stage 2)."""

    def __init__(self, layer: SRCLayerQ):
        self.layer = layer
        self.state_shape = signed(layer.state_bits)
        self.current_shape = signed(layer.current_bits)
        self.gate_step = layer.tables["gate"].as_step(-layer.one, layer.one)
        self.state_layout = data.StructLayout({"i": self.current_shape, "h": self.state_shape, "hs": self.state_shape})
        self.param_layout = data.StructLayout({"bias": self.partial_shape(), "init": self.state_layout})
        self.mid_layout = data.StructLayout({"i": self.current_shape, "p": self.partial_shape(),
                                             "hs": self.state_shape})
        self.columns, self.weight_bits, self.syn_bits = {"syn": layer.weights}, layer.weight_bits, layer.syn_bits

    def lane_params(self, n: int) -> dict[str, Any]:
        """Bias and initial state of neuron ``n`` (zeros for a padding lane)."""
        q = self.layer
        if n >= q.n_out:
            return {"bias": 0, "init": {"i": 0, "h": 0, "hs": 0}}
        return {"bias": int(q.bias[n]), "init": {"i": int(q.init_i[n]), "h": int(q.init_h[n]), "hs": int(q.init_hs[n])}}

    def update1(self, m: Module, lane: int, old: Value, sums: Value, params: Value) -> dict[str, Value]:
        i_next, partial, hs_next = self.stage1(m, lane, old.i, old.h, old.hs, sums.syn, params.bias)
        return {"i": i_next, "p": partial, "hs": hs_next}

    def update2(self, m: Module, lane: int, mid: Value) -> tuple[dict[str, Value], Value]:
        h_next, spike = self.stage2(m, lane, mid.i, mid.p)
        return {"i": mid.i, "h": h_next, "hs": mid.hs}, spike

    def _table(self, m: Module, name: str, lane: int, value: Value, in_shape) -> Value:
        unit = m.submodules[f"{name}{lane}"] = PiecewiseLinearUnit(self.layer.tables[name], in_shape)
        m.d.comb += unit.x.eq(value)
        return unit.y

    def stage1(self, m: Module, lane: int, i: Value, h: Value, hs: Value, syn: Value,
               bias: Value) -> tuple[Value, Value, Value]:
        """``(i', p, hs')`` from the old state, the synaptic sum and the neuron's bias (lane ``lane``)."""
        q = self.layer
        lo, hi = q.current_range
        i_next = clamp(i - (const_mul(i, q.decay_num) >> q.decay_shift) + (syn << q.weight_shift), lo, hi)
        partial = const_mul(h, q.r) + const_mul(hs, q.rs) + bias
        diff = h - hs
        if self.gate_step is not None:
            threshold, below, above = self.gate_step
            step = Mux(h >= threshold, const_mul(diff, above) >> q.gate_shift,
                       const_mul(diff, below) >> q.gate_shift)
        else:
            gate = self._table(m, "gate", lane, h, self.state_shape)
            step = unsigned_mul(diff, gate.as_unsigned()[:q.tables["gate"].hi.bit_length()]) >> q.gate_shift
        return i_next, partial, hs + step

    def stage2(self, m: Module, lane: int, i_next: Value, partial: Value) -> tuple[Value, Value]:
        """``(h', spike)`` from stage 1's registered ``i'`` and ``p`` (lane ``lane``)."""
        q = self.layer
        x = self._table(m, "compression", lane, i_next, self.current_shape)
        pre = q.preactivation_bound
        h_next = self._table(m, "activation", lane, x + partial, signed(signed_bits(-pre, pre)))
        return h_next, spike(h_next, q.half)

    def partial_shape(self):
        """Signed width holding ``p`` for any state and bias in range."""
        q = self.layer
        bound = (abs(q.r) + abs(q.rs)) * q.one + max(abs(int(q.bias.min())), abs(int(q.bias.max())))
        return signed(bound.bit_length() + 1)
