"""The BMRU / CMRU / alphaCMRU proof obligation (``srcfpga prove``, :mod:`srcfpga.verify.prove`): the unit
datapath of :class:`~srcfpga.cells.mru.engine.BMRULayerEngine` (and its CMRU and alphaCMRU subclasses) against
the golden step.

Free inputs: the unit ``neuron`` in ``[0, n_out)``, its state ``q`` in the layer's output range (BMRU
``{0, 1}``, CMRU and alphaCMRU ``[-S, S]``), the synaptic sums ``syn_c`` (and ``syn_b`` for a gated layer) in
``[-syn_bound, syn_bound]``. Datapath: the engine's :meth:`compare_operands` (stage 1, from the unit's
constants as the parameter memory holds them: ``bias_c``, ``bias_b``, or the thresholds ``hi``, ``lo`` the
engine derives from them), the stage registers, :meth:`comparators` and the kind's :meth:`next_state` (stage 2:
BMRU's set / reset, CMRU's saturating counter, alphaCMRU's shift-add leak ``q - (q >> r)`` and saturation).
Specification: the golden ``mru_compare`` and ``mru_update`` (the layer's own ``update``) with the unit's
``bias_c`` and ``bias_b``.
Output compared: the new state ``q'``; its range is the invariant.
"""

from __future__ import annotations

import numpy as np
from amaranth import signed

from ...verify.prove import Obligation, OneNeuron
from .golden import NumpyMRUOps, mru_compare, mru_update


def obligation(ob: Obligation) -> None:
    """Fill ``ob`` for a BMRU, CMRU or alphaCMRU layer (module docstring)."""
    from .. import CELLS

    q = ob.layer
    engine = CELLS[q.kind].part("engine")(q, ob.index, 1, 1, "auto")
    engine._MustUse__silence = True         # only its datapath methods are used, it is never elaborated
    ob.neuron()
    state = ob.free("q", *q.output_range)
    ob.initial("q", q.init)
    syn_c = ob.free("syn_c", -q.syn_bound, q.syn_bound)
    syn_b = ob.free("syn_b", -q.syn_bound, q.syn_bound) if q.gated else None

    sums = signed(q.syn_bits)
    params = {name: ob.word(shape, ob.per_neuron(engine.constants()[name]), name)
              for name, shape in engine.constant_shapes().items()}
    operands = engine.compare_operands(ob.word(sums, syn_c), None if syn_b is None else ob.word(sums, syn_b), params)
    registers = {name: ob.word(shape, operands[name], f"{name}2") for name, shape in engine.stage1_shapes().items()}
    set_, reset = engine.comparators(**registers)
    q_next = engine.next_state(ob.word(engine.state_shape, state), set_, reset)

    unit = OneNeuron(q, bias_c=ob.per_neuron(q.bias_c), bias_b=ob.per_neuron(q.bias_b))
    _, _, z, up = mru_compare(ob.ops, unit, syn_c, syn_b)
    ob.check("q", ob.word(engine.state_shape, q_next, "q3"), mru_update(ob.ops, unit, state, z, up), state="q")
    ob.reference = lambda values: reference(q, values)


def reference(layer, values: dict[str, int]) -> dict[str, int]:
    """The golden step (numpy int64, as the golden model) of unit ``values["neuron"]`` on one input."""
    n = values["neuron"]
    unit = OneNeuron(layer, bias_c=layer.bias_c[n:n + 1].astype(np.int64), bias_b=layer.bias_b[n:n + 1].astype(np.int64))
    syn_b = np.array([values["syn_b"]], np.int64) if "syn_b" in values else None
    _, _, z, up = mru_compare(NumpyMRUOps(), unit, np.array([values["syn_c"]], np.int64), syn_b)
    return {"q": int(mru_update(NumpyMRUOps(), unit, np.array([values["q"]], np.int64), z, up)[0])}
