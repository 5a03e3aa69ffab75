"""The IF / LIF / CubaLIF proof obligation (``srcfpga prove``, :mod:`srcfpga.verify.prove`): the neuron datapath
of :class:`~srcfpga.cells.lif.engine.LIFLayerEngine` against the golden step.

Free inputs: the neuron ``neuron`` in ``[0, n_out)``, its membrane ``v`` in ``v_range`` (the full ``v_bits``
word), CubaLIF's current ``i`` in ``current_range`` (the full ``current_bits`` word), and the synaptic sum
``syn`` in ``[-syn_bound, syn_bound]`` (``syn_bound``: the largest row sum of ``|[W, W_rec]|``, so a recurrent
layer's ``W_rec s_prev`` is covered for every previous spike pattern). Datapath:
:class:`~srcfpga.cells.lif.neuron.LIFNeuronDatapath` ``update1`` (stage 1), the stage registers (``mid_layout``),
``update2`` (stage 2); the state enters through the state memory's words (``state_layout``), the sum through the
accumulator's word (``syn_bits``), the constants through the parameter memory's words (``param_layout``: the
bias, the threshold and the per-neuron leak numerators, as :meth:`lane_params` stores them; a leak common to
every neuron is a constant of the circuit). Specification: the golden ``lif_update`` with the neuron's bias,
threshold and leaks, for the layer's reset mode. Outputs compared: ``v'``, CubaLIF ``i'``, and the spike; the
states' ranges are the invariant (every state starts at 0).
"""

from __future__ import annotations

import numpy as np
from amaranth import Signal

from ...hdl.layer_engine import sums_layout
from ...verify.prove import Obligation, OneNeuron
from .golden import LIFGolden, NumpyLIFOps, lif_update
from .neuron import LIFNeuronDatapath


def obligation(ob: Obligation) -> None:
    """Fill ``ob`` for an IF, LIF or CubaLIF layer, recurrent or not, any reset mode (module docstring)."""
    q, m = ob.layer, ob.m
    neuron = LIFNeuronDatapath(q)
    ob.neuron()
    v = ob.free("v", *q.v_range)
    i = ob.free("i", *q.current_range) if neuron.current else None
    syn = ob.free("syn", -q.syn_bound, q.syn_bound)
    v0, i0 = LIFGolden.initial_state(q, 1)
    ob.initial("v", v0[0])
    if neuron.current:
        ob.initial("i", i0[0])

    old = Signal(neuron.state_layout, name="old")
    params = Signal(neuron.param_layout, name="params")
    mid = Signal(neuron.mid_layout, name="mid")
    new = Signal(neuron.state_layout, name="new")
    sums = Signal(sums_layout(neuron), name="sums")
    m.d.comb += [old.v.eq(v), sums.syn.eq(syn)]
    if neuron.current:
        m.d.comb += old.i.eq(i)
    stored = [neuron.lane_params(n) for n in range(q.n_out)]
    m.d.comb += [params[name].eq(ob.per_neuron(np.array([p[name] for p in stored])))
                 for name in neuron.param_layout.members]
    m.d.comb += [mid[name].eq(value)
                 for name, value in neuron.update1(m, 0, old, sums, params).items()]
    words, fires = neuron.update2(m, 0, mid)
    m.d.comb += [new[name].eq(value) for name, value in words.items()]

    spec_v, spec_i, spec_s = lif_update(ob.ops, _one_neuron(q, ob.per_neuron), v, i, syn)
    ob.check("v", new.v, spec_v, state="v")
    if neuron.current:
        ob.check("i", new.i, spec_i, state="i")
    ob.check("spike", fires, spec_s)
    ob.reference = lambda values: reference(q, values)


def _one_neuron(layer, select) -> OneNeuron:
    """The layer as its neuron ``n`` for the golden step: ``select(values)`` picks the neuron's per-neuron
    constant (a symbolic selection by the free neuron index, or a numpy slice)."""
    decays = {name: None if decay is None else (select(decay[0]), decay[1])
              for name, decay in (("membrane_decay", layer.membrane_decay), ("current_decay", layer.current_decay))}
    return OneNeuron(layer, bias=select(layer.bias), threshold=select(layer.threshold), **decays)


def reference(layer, values: dict[str, int]) -> dict[str, int]:
    """The golden step (numpy int64, as the golden model) of neuron ``values["neuron"]`` on one input."""
    n = values["neuron"]
    state = {name: np.array([values[name]], np.int64) if name in values else None for name in ("v", "i")}
    v, i, s = lif_update(NumpyLIFOps, _one_neuron(layer, lambda a: a[n:n + 1].astype(np.int64)),
                         state["v"], state["i"], np.array([values["syn"]], np.int64))
    return {"v": int(v[0]), "spike": int(s[0])} | ({} if i is None else {"i": int(i[0])})
