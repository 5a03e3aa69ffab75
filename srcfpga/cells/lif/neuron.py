"""The LIF-family neuron update as a two-stage shift-add datapath (one instance per lane).

Implements exactly :func:`srcfpga.cells.lif.golden.lif_update` (docs/fixed-point.md, section 7), split at the
register boundary between the two stages of the update pass::

    stage 1   drive = (syn << k) + bias                    CubaLIF: i' = sat(i - ((an * i) >> as) + drive); drive = i'
              r     = v > threshold                        the previous step's spike
              base  = 0 if (reset == zero and r) else v
              lv    = base - ((dn * base) >> ds) - (threshold if reset == subtract and r else 0)
    stage 2   v'    = sat(lv + drive, v_bits);   zero_after: v' = 0 if r else v'
              s     = v' > threshold

A leak whose ``num`` is the same for every neuron is a constant shift-add (canonical signed digits); per-neuron
``num`` come from the parameter memory and multiply by a shift-add of ``shift + 1`` terms. No DSP. Widths: ``v``
is ``v_bits`` signed, ``i`` ``current_bits`` signed, ``lv`` one bit wider than ``v``; ``drive`` as wide as its
bound; intermediate sums are as wide as Amaranth's exact arithmetic needs, so only the explicit saturations clip.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from amaranth import Module, Mux, Value, signed, unsigned
from amaranth.lib import data

from ...hdl.arith import clamp, const_mul, unsigned_mul
from ...quant.hwmodel import signed_bits
from .layer import IFLayerQ


def _uniform(values: np.ndarray) -> int | None:
    """The common value of a per-neuron array, or ``None`` when the neurons differ."""
    return int(values[0]) if np.all(values == values[0]) else None


class LIFNeuronDatapath:
    """The arithmetic of one IF / LIF / CubaLIF layer's neuron (a :class:`srcfpga.hdl.layer_engine.NeuronDatapath`:
    state ``v`` (and ``i``); constants ``bias``, ``threshold`` and per-neuron leaks; all states start at 0)."""

    def __init__(self, layer: IFLayerQ):
        self.layer = q = layer
        self.v_shape = signed(q.v_bits)
        self.current = q.current_range is not None
        state = {"v": self.v_shape}
        if self.current:
            state["i"] = signed(q.current_bits)
        self.state_layout = data.StructLayout(state)
        self.decays = {name: decay for name, decay in (("decay", q.membrane_decay), ("syn_decay", q.current_decay))
                       if decay is not None}
        params = {"bias": signed(signed_bits(-q.bias_bound, q.bias_bound)),
                  "threshold": unsigned(max(1, q.v_bits - 1))}
        params |= {name: unsigned(shift + 1) for name, (num, shift) in self.decays.items() if _uniform(num) is None}
        self.param_layout = data.StructLayout(params)
        self.drive_shape = signed(q.current_bits) if self.current else \
            signed(signed_bits(-q.drive_bound, q.drive_bound))
        mid = {"drive": self.drive_shape, "lv": signed(q.v_bits + 1), "r": 1, "threshold": params["threshold"]}
        if self.current:
            mid["i"] = signed(q.current_bits)
        self.mid_layout = data.StructLayout(mid)
        self.columns, self.weight_bits, self.syn_bits = {"syn": q.columns}, q.weight_bits, q.syn_bits

    def lane_params(self, n: int) -> dict[str, Any]:
        """Constants of neuron ``n``; a padding lane has bias and threshold 0 (``v`` stays 0, never above 0)."""
        q = self.layer
        names = [name for name in self.param_layout.members if name in self.decays]
        if n >= q.n_out:
            return {"bias": 0, "threshold": 0, **{name: 0 for name in names}}
        return {"bias": int(q.bias[n]), "threshold": int(q.threshold[n]),
                **{name: int(self.decays[name][0][n]) for name in names}}

    def _leak(self, value: Value, name: str, params: Value) -> Value:
        """``value - ((num * value) >> shift)`` for the leak ``name`` (``value`` itself without that leak)."""
        if name not in self.decays:
            return value
        num, shift = self.decays[name]
        constant = _uniform(num)
        product = const_mul(value, constant) if constant is not None else unsigned_mul(value, params[name])
        return value - (product >> shift)

    def update1(self, m: Module, lane: int, old: Value, sums: Value, params: Value) -> dict[str, Value]:
        q, syn = self.layer, sums.syn
        drive = (syn << q.weight_shift) + params.bias
        out = {}
        if self.current:
            drive = out["i"] = clamp(self._leak(old.i, "syn_decay", params) + drive, *q.current_range)
        r = old.v > params.threshold
        base = Mux(r, 0, old.v) if q.reset == "zero" else old.v
        leaked = self._leak(base, "decay", params)
        if q.reset == "subtract":
            leaked = leaked - Mux(r, params.threshold, 0)
        return out | {"drive": drive, "lv": leaked, "r": r, "threshold": params.threshold}

    def update2(self, m: Module, lane: int, mid: Value) -> tuple[dict[str, Value], Value]:
        q = self.layer
        v = clamp(mid.lv + mid.drive, *q.v_range)
        if q.reset == "zero_after":
            v = Mux(mid.r, 0, v)
        words = {"v": v} | ({"i": mid.i} if self.current else {})
        return words, v > mid.threshold
