"""The SRC proof obligation (``srcfpga prove``, :mod:`srcfpga.verify.prove`): the neuron datapath of
:class:`~srcfpga.cells.src.engine.SRCLayerEngine` against the golden step.

Free inputs: the neuron ``neuron`` in ``[0, n_out)``, its state ``i`` in the current range, ``h`` and ``hs`` in
``[-one, one]``, and the synaptic sum ``syn`` in ``[-wmax n_in, wmax n_in]`` (``wmax = 2^(B-1) - 1``).
Datapath: :class:`~srcfpga.cells.src.neuron.SRCNeuronDatapath` stage 1, the engine's stage registers
(``i'``, ``p``, ``hs'``), stage 2; the state, the sum and the bias enter through words of the widths of the
engine's state memory, accumulator and parameter memory. Specification: the golden ``src_update`` with the
neuron's bias, and the golden ``spike`` of ``h'`` (docs/fixed-point.md, section 3, step 6; the datapath uses
the same rule, so the spike is proven through ``h'``). Outputs compared:
``i'``, ``h'``, ``hs'`` and the spike; the states' ranges are the invariant. Cut points, in this order,
for every table the datapath instantiates as a unit (compression, the gate unless it is a step, activation): its
input (``i'``, ``h``, the pre-activation ``x + r h + rs hs + bias``), then its output.
"""

from __future__ import annotations

import numpy as np
from amaranth import signed

from ...verify.prove import Obligation, OneNeuron
from .golden import NumpyOps, spike, src_update
from .neuron import SRCNeuronDatapath


def obligation(ob: Obligation) -> None:
    """Fill ``ob`` for an SRC layer (module docstring)."""
    q, m = ob.layer, ob.m
    neuron = SRCNeuronDatapath(q)
    wmax = (1 << (q.weight_bits - 1)) - 1
    ob.neuron()
    i = ob.free("i", *q.current_range)
    h = ob.free("h", -q.one, q.one)
    hs = ob.free("hs", -q.one, q.one)
    syn = ob.free("syn", -wmax * q.n_in, wmax * q.n_in)
    for name in ("i", "h", "hs"):
        ob.initial(name, getattr(q, f"init_{name}"))
    bias = ob.per_neuron(q.bias)

    state, current, partial = neuron.state_shape, neuron.current_shape, neuron.partial_shape()
    i_next, p, hs_next = neuron.stage1(m, 0, ob.word(current, i), ob.word(state, h), ob.word(state, hs),
                                       ob.word(signed(q.syn_bits), syn), ob.word(partial, bias))
    i2, p2, hs2 = ob.word(current, i_next, "i2"), ob.word(partial, p, "p2"), ob.word(state, hs_next, "hs2")
    h_next, fires = neuron.stage2(m, 0, i2, p2)

    tables = {name: _Probe(table) for name, table in q.tables.items()}
    spec_i, spec_h, spec_hs = src_update(ob.ops, OneNeuron(q, bias=bias, tables=tables), i, h, hs, syn)
    for name in ["compression"] + (["gate"] if neuron.gate_step is None else []) + ["activation"]:
        unit = m.submodules[f"{name}0"]
        ob.cut(f"{name} input", unit.x, tables[name].input)
        ob.cut(f"{name} output", unit.y, tables[name].output)
    ob.check("i", i2, spec_i, state="i")
    ob.check("h", ob.word(state, h_next, "h3"), spec_h, state="h")
    ob.check("hs", hs2, spec_hs, state="hs")
    ob.check("spike", fires, spike(spec_h, q.half))
    ob.reference = lambda values: reference(q, values)


class _Probe:
    """A table of the specification that keeps its last (symbolic) input and output: the cut points."""

    def __init__(self, table):
        self.table, self.input, self.output = table, None, None

    def apply(self, ops, v):
        self.input, self.output = v, self.table.apply(ops, v)
        return self.output


def reference(layer, values: dict[str, int]) -> dict[str, int]:
    """The golden step (numpy, the golden model's dtypes) of neuron ``values["neuron"]`` on one input."""
    n = values["neuron"]
    state = [np.array([values[name]], layer.init_i.dtype) for name in ("i", "h", "hs")]
    i, h, hs = src_update(NumpyOps, OneNeuron(layer, bias=layer.bias[n:n + 1]), *state,
                          np.array([values["syn"]], np.int32))
    return {"i": int(i[0]), "h": int(h[0]), "hs": int(hs[0]), "spike": int(spike(h[0], layer.half))}
