"""The BMRU / CMRU / alphaCMRU proof obligation (``srcfpga prove``, :mod:`srcfpga.verify.prove`): the unit
datapath of :class:`~srcfpga.cells.mru.engine.BMRUNeuronDatapath` (and its CMRU and alphaCMRU subclasses) against
the golden step.

Free inputs: the unit ``neuron`` in ``[0, n_out)``, its state ``q`` in the layer's output range (BMRU
``{0, 1}``, CMRU and alphaCMRU ``[-S, S]``), the synaptic sums ``syn_c`` (and ``syn_b`` for a gated layer) in
``[-syn_bound, syn_bound]``. Datapath: the kind's datapath ``update1`` (stage 1: :meth:`compare_operands`, from
the unit's constants as the parameter memory holds them: ``bias_c``, ``bias_b``, or the thresholds ``hi``, ``lo``
the datapath derives from them), the stage registers (``mid_layout``), ``update2`` (stage 2: :meth:`comparators`
and the kind's :meth:`next_state`:
BMRU's set / reset, CMRU's saturating counter, alphaCMRU's shift-add leak ``q - (q >> r)`` and saturation).
Specification: the golden ``mru_compare`` and ``mru_update`` (the layer's own ``update``) with the unit's
``bias_c`` and ``bias_b``.
Output compared: the new state ``q'``; its range is the invariant.
"""

from __future__ import annotations

import numpy as np
from amaranth import Signal

from ...hdl.layer_engine import sums_layout
from ...verify.prove import Obligation, OneNeuron
from .golden import NumpyMRUOps, mru_compare, mru_update


def obligation(ob: Obligation) -> None:
    """Fill ``ob`` for a BMRU, CMRU or alphaCMRU layer (module docstring)."""
    from .. import CELLS

    q, m = ob.layer, ob.m
    neuron = CELLS[q.kind].part("engine").datapath_type(q)
    ob.neuron()
    state = ob.free("q", *q.output_range)
    ob.initial("q", q.init)
    syn_c = ob.free("syn_c", -q.syn_bound, q.syn_bound)
    syn_b = ob.free("syn_b", -q.syn_bound, q.syn_bound) if q.gated else None

    old, sums = Signal(neuron.state_layout, name="old"), Signal(sums_layout(neuron), name="sums")
    params, mid = Signal(neuron.param_layout, name="params"), Signal(neuron.mid_layout, name="mid")
    m.d.comb += [old.q.eq(state), sums.c.eq(syn_c)] + ([sums.b.eq(syn_b)] if q.gated else [])
    m.d.comb += [params[name].eq(ob.per_neuron(values)) for name, values in neuron.constants().items()]
    m.d.comb += [mid[name].eq(value) for name, value in neuron.update1(m, 0, old, sums, params).items()]
    words, _ = neuron.update2(m, 0, mid)

    unit = OneNeuron(q, bias_c=ob.per_neuron(q.bias_c), bias_b=ob.per_neuron(q.bias_b))
    _, _, z, up = mru_compare(ob.ops, unit, syn_c, syn_b)
    ob.check("q", ob.word(neuron.state_shape, words["q"], "q3"), mru_update(ob.ops, unit, state, z, up), state="q")
    ob.reference = lambda values: reference(q, values)


def reference(layer, values: dict[str, int]) -> dict[str, int]:
    """The golden step (numpy int64, as the golden model) of unit ``values["neuron"]`` on one input."""
    n = values["neuron"]
    unit = OneNeuron(layer, bias_c=layer.bias_c[n:n + 1].astype(np.int64), bias_b=layer.bias_b[n:n + 1].astype(np.int64))
    syn_b = np.array([values["syn_b"]], np.int64) if "syn_b" in values else None
    _, _, z, up = mru_compare(NumpyMRUOps(), unit, np.array([values["syn_c"]], np.int64), syn_b)
    return {"q": int(mru_update(NumpyMRUOps(), unit, np.array([values["q"]], np.int64), z, up)[0])}
