"""NIR graphs (the Neuromorphic Intermediate Representation, ``nir`` on PyPI) in and out of srcfpga.

Import reads a graph into a :class:`NirNetwork`: a feed-forward chain of spiking layers (LIF, CubaLIF, IF; a
stateless Threshold is a LIF layer with ``beta = 0`` and reset to zero), each with its input weights, an
optional recurrent all-to-all matrix, and a readout (LI or Integrator, or the spike counts of the last layer).
NIR's neurons are continuous-time; forward Euler with step ``dt`` gives the discrete per-step constants,
written down once in :func:`discretize` and in ``docs/nir.md``. :func:`to_net` turns that into a float
:class:`srcfpga.nn.network.Net` of the LIF-family cells (:mod:`srcfpga.cells.lif`). Export (:func:`from_net`,
:func:`to_graph`) is the inverse map for models whose cells NIR expresses. The CLI calls
:func:`import_model` and :func:`export_model`.

Structure accepted (after nested graphs are inlined and Input/Output/Identity/Flatten pass-throughs removed)::

    Input -> [Scale | Affine | Linear]* -> neuron -> ... -> [Scale | Affine | Linear]* -> readout -> Output
    neuron:  LIF | CubaLIF | IF | Threshold, optionally with a recurrent edge  neuron -> Affine|Linear -> neuron
    readout: LI | I (Integrator), or nothing (the last neuron's spikes are counted)

Anything else is a :class:`NirError` that names the node, its NIR type and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..cells.lif.layer import RESETS
from ..errors import ConfigError, ModelFileError

SNNTORCH_DT = 1e-4
"""The step snnTorch 1.0's ``export_to_nir`` fixes (``tau = dt / (1 - beta)``, ``r = tau / dt``)."""

SPIKING = ("lif", "cubalif", "if")
UNIT_GAIN_ULPS = 4
"""An input gain ``r dt / tau`` within this many float32 ulps of 1 is 1: the exporter's ``r = tau / dt``
rounded twice (about 11 % of snnTorch's exported ``r`` are 1 ulp off), and a weight rescale by 1 - 1e-7 would
only add rounding."""


class NirError(ConfigError):
    """A NIR graph srcfpga cannot import (or a model it cannot export): names the node, its type and why."""


def _node_error(name: str, node, why: str) -> NirError:
    return NirError(f"NIR node {name!r} ({type(node).__name__}): {why}")


@dataclass(frozen=True)
class SpikingLayer:
    """One spiking layer in per-step (discrete) form, float32 throughout, one value per neuron.

    ``i[t] = alpha i[t-1] + W x[t] + b + W_rec s[t-1] + b_rec`` (CubaLIF; other kinds have no ``i``: ``i[t]``
    is the sum itself), ``v[t] = beta v[t-1] + i[t]`` less the reset, ``s[t] = v[t] > threshold``; the input
    gains ``r dt / tau`` (and ``w_in dt / tau_syn``) are folded into ``weight``, ``bias``, ``recurrent`` and
    ``recurrent_bias`` (the float layer adds the recurrent term last, as snnTorch does: the two biases stay
    apart so that the float sums round as there).
    ``reset``: one of :data:`srcfpga.cells.lif.layer.RESETS`: ``"zero"`` (NIR's ``v = v_reset = 0``),
    ``"subtract"`` (``v -= threshold``, snnTorch's default, which its exporter does not record) or ``"zero_after"``
    (snnTorch RLeaky / Synaptic ``"zero"``). ``name``: the NIR node it came from.
    """

    name: str
    kind: str
    weight: np.ndarray            # (n_out, n_in)
    bias: np.ndarray              # (n_out,)
    beta: np.ndarray              # membrane decay per step, in [0, 1]
    threshold: np.ndarray
    reset: str
    alpha: np.ndarray | None = None       # synaptic decay per step (cubalif only)
    recurrent: np.ndarray | None = None   # (n_out, n_out): spikes of step t-1 into step t
    recurrent_bias: np.ndarray | None = None   # (n_out,) with ``recurrent``

    def __post_init__(self) -> None:
        if self.kind not in SPIKING:
            raise NirError(f"layer {self.name!r}: unknown spiking kind {self.kind!r}")
        if self.reset not in RESETS:
            raise NirError(f"layer {self.name!r}: reset must be one of {', '.join(RESETS)}, got {self.reset!r}")
        n_out = self.weight.shape[0]
        if self.weight.ndim != 2:
            raise NirError(f"layer {self.name!r}: weight must be 2-D, got shape {self.weight.shape}")
        for key in ("bias", "beta", "threshold", "alpha"):
            value = getattr(self, key)
            if (value is None and key != "alpha") or (value is not None and value.shape != (n_out,)):
                raise NirError(f"layer {self.name!r}: {key} must hold one value per neuron ({n_out}), got "
                               f"{None if value is None else value.shape}")
        if self.recurrent is not None and (self.recurrent.shape != (n_out, n_out) or self.recurrent_bias is None
                                           or self.recurrent_bias.shape != (n_out,)):
            raise NirError(f"layer {self.name!r}: recurrent weights must be ({n_out}, {n_out}) with {n_out} biases, "
                           f"got {self.recurrent.shape}")
        for key in ("beta", "alpha"):
            value = getattr(self, key)
            if value is not None and not ((value >= 0) & (value <= 1)).all():
                raise NirError(f"layer {self.name!r}: per-step {key} must be in [0, 1] (time constant >= dt), got "
                               f"{value.min()} .. {value.max()}")

    @property
    def n_in(self) -> int:
        return self.weight.shape[1]

    @property
    def n_out(self) -> int:
        return self.weight.shape[0]


@dataclass(frozen=True)
class Readout:
    """``R[t] = decay R[t-1] + W s[t] + b`` over the last layer's spikes; class = argmax ``R[T]``.

    ``name``: the NIR node (LI or I), or ``None`` when the graph ends in spikes (then ``weight`` is the identity
    and ``R[T]`` the spike count). ``decay``: one value per class.
    """

    name: str | None
    weight: np.ndarray    # (n_classes, n_last)
    bias: np.ndarray      # (n_classes,)
    decay: np.ndarray     # (n_classes,), 1 for an integrator

    @property
    def n_classes(self) -> int:
        return self.weight.shape[0]


@dataclass(frozen=True)
class NirNetwork:
    """A NIR graph in discrete form: ``input_size`` inputs, spiking ``layers`` in order, one ``readout``."""

    input_size: int
    layers: tuple[SpikingLayer, ...]
    readout: Readout
    dt: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.layers:
            raise NirError("the graph has no spiking layer (LIF, CubaLIF, IF or Threshold)")
        size = self.input_size
        for layer in self.layers:
            if layer.n_in != size:
                raise NirError(f"layer {layer.name!r} takes {layer.n_in} inputs but receives {size}")
            size = layer.n_out
        if self.readout.weight.shape[1] != size:
            raise NirError(f"readout {self.readout.name!r} reads {self.readout.weight.shape[1]} neurons, the last "
                           f"layer has {size}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.input_size,) + tuple(layer.n_out for layer in self.layers)


# --- discretization -------------------------------------------------------------------------------------------

def _f32(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).astype(np.float32)


def decay_per_step(dt: float, tau) -> np.ndarray:
    """``1 - dt / tau`` as float32 (forward Euler of ``tau dv/dt = -v``).

    When ``tau`` is stored in float32, the float32 decay ``d`` with ``float32(dt) / (1 - d) == tau`` (how
    snnTorch's exporter computed ``tau`` from its float32 ``beta``) is chosen among the nearest candidates, so
    the exporter's own decay is recovered exactly; otherwise the nearest float32.
    """
    tau = np.asarray(tau)
    decay = (1.0 - dt / tau.astype(np.float64)).astype(np.float32)
    if tau.dtype != np.float32:
        return decay
    best = decay.copy()
    found = _exports_to(dt, decay, tau)
    for direction in (0.0, 2.0):
        candidate = np.nextafter(decay, np.float32(direction))
        take = ~found & _exports_to(dt, candidate, tau)
        best[take] = candidate[take]
        found |= take
    return best


def _exports_to(dt: float, decay: np.ndarray, tau: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.float32(dt) / (np.float32(1) - decay) == tau


def unit_gain(gain) -> np.ndarray:
    """``gain`` as float32, with values within :data:`UNIT_GAIN_ULPS` ulps of 1 set to exactly 1."""
    gain = np.asarray(gain, dtype=np.float64)
    near = np.abs(gain - 1.0) <= UNIT_GAIN_ULPS * np.finfo(np.float32).eps
    return np.where(near, 1.0, gain).astype(np.float32)


@dataclass(frozen=True)
class Discrete:
    """Per-step constants of one NIR neuron: ``beta`` (membrane decay), ``alpha`` (synaptic decay, CubaLIF),
    ``gain`` (multiplies every input current), ``drift`` (constant added to ``v`` per step, from ``v_leak``),
    ``threshold`` (``None``: no spikes)."""

    beta: np.ndarray
    gain: np.ndarray
    drift: np.ndarray
    threshold: np.ndarray | None = None
    alpha: np.ndarray | None = None


def discretize(name: str, node, dt: float) -> Discrete:
    """Forward Euler with step ``dt`` of a NIR neuron node (the single place these conventions live)::

        LIF      tau dv/dt = (v_leak - v) + r I      beta = 1 - dt/tau   gain = r dt/tau   drift = dt/tau v_leak
        CubaLIF  tau_syn di/dt = -i + w_in x          alpha = 1 - dt/tau_syn, gain = (w_in dt/tau_syn)(r dt/tau_mem)
                 tau_mem dv/dt = (v_leak - v) + r i   beta = 1 - dt/tau_mem   (v_leak must be 0)
        IF       dv/dt = r I                          beta = 1               gain = r dt
        LI       as LIF without spikes;  I (Integrator): dv/dt = r I: beta = 1, gain = r dt
        Threshold  s = x > threshold                  beta = 0, gain = 1 (a layer with no memory, reset to zero)

    ``v_reset`` must be 0 (or absent). snnTorch: ``dt = 1e-4`` gives ``beta`` back and ``gain = 1``.
    """
    import nir

    def check_zero(key: str) -> None:
        value = getattr(node, key, None)
        if value is not None and np.any(np.asarray(value) != 0):
            raise _node_error(name, node, f"{key} must be 0 (got {np.asarray(value).ravel()[:4]} ...): srcfpga's "
                                          f"integer cells "
                                          f"{'reset to 0' if key == 'v_reset' else 'have no leak voltage'}")

    def per_step(tau, key: str) -> np.ndarray:
        tau = np.asarray(tau)
        if np.any(tau < dt):
            raise _node_error(name, node, f"{key} {tau.min():g} is below dt = {dt:g}: forward Euler is unstable "
                                          f"(choose the dt the exporter used, --dt)")
        return decay_per_step(dt, tau)

    check_zero("v_reset")
    if isinstance(node, nir.LIF) or isinstance(node, nir.LI):
        tau = np.asarray(node.tau)
        beta = per_step(tau, "tau")
        gain = unit_gain(np.asarray(node.r, np.float64) * dt / tau.astype(np.float64))
        drift = _f32(dt / tau.astype(np.float64) * np.asarray(node.v_leak, np.float64))
        threshold = _f32(node.v_threshold) if isinstance(node, nir.LIF) else None
        return Discrete(beta, gain, drift, threshold)
    if isinstance(node, nir.CubaLIF):
        check_zero("v_leak")
        tau_syn, tau_mem = np.asarray(node.tau_syn), np.asarray(node.tau_mem)
        alpha, beta = per_step(tau_syn, "tau_syn"), per_step(tau_mem, "tau_mem")
        gain = (unit_gain(np.asarray(node.w_in, np.float64) * dt / tau_syn.astype(np.float64))
                * unit_gain(np.asarray(node.r, np.float64) * dt / tau_mem.astype(np.float64)))
        return Discrete(beta, gain, np.zeros_like(beta), _f32(node.v_threshold), alpha)
    if isinstance(node, (nir.IF, nir.I)):
        r = np.asarray(node.r, np.float64)
        threshold = _f32(node.v_threshold) if isinstance(node, nir.IF) else None
        return Discrete(np.ones(r.shape, np.float32), unit_gain(r * dt), np.zeros(r.shape, np.float32), threshold)
    if isinstance(node, nir.Threshold):
        threshold = _f32(node.threshold)
        return Discrete(np.zeros_like(threshold), np.ones_like(threshold), np.zeros_like(threshold), threshold)
    raise _node_error(name, node, "not a neuron")


# --- graph analysis -------------------------------------------------------------------------------------------

def read_graph(path: str | Path):
    """Read a ``.nir`` file (HDF5) into a ``nir.NIRGraph``."""
    import nir

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"NIR file {path} does not exist")
    try:
        return nir.read(path)
    except Exception as exc:   # h5py and nir raise OSError, KeyError, ValueError, AssertionError, ...
        raise ModelFileError(f"{path} is not a readable NIR graph ({type(exc).__name__}: {exc})") from None


def _flat(graph, prefix: str = "") -> tuple[dict, list]:
    """Nodes and edges of ``graph`` with nested graphs inlined as ``prefix.name``: an edge into a subgraph
    enters its Input node, an edge out of it leaves its Output node."""
    import nir

    nodes, edges, ports = {}, [], {}
    for name, node in graph.nodes.items():
        key = prefix + name
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = _flat(node, key + ".")
            inputs = [k for k, n in node.nodes.items() if isinstance(n, nir.Input)]
            outputs = [k for k, n in node.nodes.items() if isinstance(n, nir.Output)]
            if len(inputs) != 1 or len(outputs) != 1:
                raise _node_error(key, node, f"a subgraph needs one Input and one Output, has {len(inputs)} "
                                             f"and {len(outputs)}")
            ports[key] = (f"{key}.{inputs[0]}", f"{key}.{outputs[0]}")
            nodes.update(inner_nodes)
            edges += inner_edges
        else:
            nodes[key] = node
    for src, dst in graph.edges:
        src, dst = prefix + src, prefix + dst
        edges.append((ports[src][1] if src in ports else src, ports[dst][0] if dst in ports else dst))
    return nodes, edges


def _pass_through(node, top_level: set[str], name: str) -> bool:
    import nir
    from nir.ir.graph import Identity

    if isinstance(node, (nir.Input, nir.Output)):
        return name not in top_level
    return isinstance(node, (Identity, nir.Flatten))


def analyze(graph) -> tuple[str, list[tuple[str, object]], dict[str, tuple[str, object]]]:
    """The graph as a chain: ``(input name, [(name, node) from Input's successor to the node before Output],
    {neuron name: (recurrent weight node name, node)})``.

    Nested graphs are inlined, pass-through nodes (inner Input/Output, Identity, Flatten) contracted, each
    cycle ``neuron -> Affine|Linear -> neuron`` taken as that neuron's recurrent weights; what remains must be
    one path from the single Input to the single Output.
    """
    import nir

    nodes, edges = _flat(graph)
    top_level = {k for k, n in graph.nodes.items() if isinstance(n, (nir.Input, nir.Output))}
    edges = list(dict.fromkeys(edges))
    for name in [k for k, n in nodes.items() if _pass_through(n, top_level, k)]:
        into = [s for s, d in edges if d == name]
        out = [d for s, d in edges if s == name]
        if len(into) > 1 and len(out) > 1:
            raise _node_error(name, nodes[name], "a pass-through node joining several inputs to several outputs")
        edges = [e for e in edges if name not in e] + [(s, d) for s in into for d in out]
        del nodes[name]
    succ = {k: [d for s, d in edges if s == k] for k in nodes}
    pred = {k: [s for s, d in edges if d == k] for k in nodes}
    for s, d in edges:
        for end in (s, d):
            if end not in nodes:
                raise NirError(f"NIR edge ({s!r}, {d!r}) names no node {end!r}")
    neurons = (nir.LIF, nir.CubaLIF, nir.IF)
    recurrent = {}
    for name, node in nodes.items():
        if isinstance(node, (nir.Affine, nir.Linear)) and len(pred[name]) == 1 and succ[name] == pred[name]:
            owner = pred[name][0]
            if not isinstance(nodes[owner], neurons):
                raise _node_error(name, node, f"a recurrent loop through {owner!r} "
                                              f"({type(nodes[owner]).__name__}): only LIF, CubaLIF and IF "
                                              "layers may have recurrent weights")
            if owner in recurrent:
                raise _node_error(owner, nodes[owner], "more than one recurrent weight matrix")
            recurrent[owner] = (name, node)
    for owner, (rec, _) in recurrent.items():
        succ[owner].remove(rec)
        pred[owner].remove(rec)
        del succ[rec], pred[rec]
    inputs = [k for k in top_level if isinstance(nodes.get(k), nir.Input)]
    outputs = [k for k in top_level if isinstance(nodes.get(k), nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirError(f"a NIR graph with one Input and one Output expected, got inputs {sorted(inputs)} and "
                       f"outputs {sorted(outputs)}")
    chain, name, seen = [], inputs[0], set()
    while True:
        seen.add(name)
        if len(succ[name]) != 1:
            raise _node_error(name, nodes[name], f"has {len(succ[name])} successors "
                                                 f"({', '.join(succ[name]) or 'none'}); only a chain of layers "
                                                 "(with recurrent loops) is supported")
        name = succ[name][0]
        if name in seen:
            raise _node_error(name, nodes[name], "lies on a cycle that is not a neuron's recurrent weights")
        if len(pred[name]) != 1:
            raise _node_error(name, nodes[name], f"has {len(pred[name])} inputs ({', '.join(pred[name])}); "
                                                 "merging branches is not supported")
        if name == outputs[0]:
            break
        chain.append((name, nodes[name]))
    stray = set(nodes) - seen - {outputs[0]} - {rec for rec, _ in recurrent.values()}
    if stray:
        name = sorted(stray)[0]
        raise _node_error(name, nodes[name], "is not on the path from Input to Output")
    return inputs[0], chain, recurrent


def _input_size(graph, name: str) -> int:
    shape = np.asarray(graph.nodes[name].input_type["input"]).ravel()
    return int(np.prod(shape))


def _matrix(name: str, node) -> tuple[np.ndarray, np.ndarray]:
    import nir

    weight = np.asarray(node.weight, np.float64)
    if weight.ndim != 2:
        raise _node_error(name, node, f"weight must be 2-D, got shape {weight.shape}")
    bias = np.asarray(node.bias, np.float64).reshape(-1) if isinstance(node, nir.Affine) else np.zeros(len(weight))
    if bias.shape != (weight.shape[0],):
        raise _node_error(name, node, f"bias shape {bias.shape} does not match weight {weight.shape}")
    return weight, bias


def to_network(graph, *, dt: float = SNNTORCH_DT, reset: str | None = None) -> NirNetwork:
    """A NIR graph in discrete form (see :func:`analyze` for the structure and :func:`discretize` for ``dt``).

    ``reset``: the reset of every spiking layer; ``None`` takes a node's ``metadata["reset"]`` (written by
    :func:`to_graph`), else ``"zero"`` as NIR defines it. snnTorch's default ``reset_mechanism="subtract"``
    is not in its export: import such graphs with ``reset="subtract"``.
    """
    import nir

    if not dt > 0:
        raise NirError(f"dt must be positive, got {dt}")
    if reset is not None and reset not in RESETS:
        raise NirError(f"reset must be one of {', '.join(RESETS)}, got {reset!r}")
    input_name, chain, recurrent = analyze(graph)
    size = _input_size(graph, input_name)
    weight, bias = np.eye(size), np.zeros(size)   # the affine map pending since the last neuron
    layers, readout = [], None
    for index, (name, node) in enumerate(chain):
        if readout is not None:
            raise _node_error(name, node, f"follows the readout {readout.name!r}; the readout must be last")
        if isinstance(node, (nir.Affine, nir.Linear)):
            w, b = _matrix(name, node)
            if w.shape[1] != weight.shape[0]:
                raise _node_error(name, node, f"takes {w.shape[1]} inputs but receives {weight.shape[0]}")
            weight, bias = w @ weight, w @ bias + b
        elif isinstance(node, nir.Scale):
            scale = np.asarray(node.scale, np.float64).reshape(-1)
            if scale.size not in (1, weight.shape[0]):
                raise _node_error(name, node, f"{scale.size} scales for {weight.shape[0]} values")
            weight, bias = weight * scale[:, None], bias * scale
        elif isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.Threshold, nir.LI, nir.I)):
            d = discretize(name, node, dt)
            n = weight.shape[0]
            if d.beta.shape != (n,):
                raise _node_error(name, node, f"has parameters of shape {d.beta.shape} for {n} inputs (snnTorch: "
                                              "give beta and threshold one value per neuron)")
            gain = d.gain.astype(np.float64)
            w_out = _f32(weight * gain[:, None])
            b_out = _f32(bias * gain + d.drift)
            if d.threshold is None:
                if index != len(chain) - 1:
                    raise _node_error(name, node, "a non-spiking neuron (LI, I) is only supported as the readout, "
                                                  "the last node before Output")
                readout = Readout(name, w_out, b_out, d.beta)
                continue
            rec = rec_bias = None
            if name in recurrent:
                rec_name, rec_node = recurrent[name]
                rw, rb = _matrix(rec_name, rec_node)
                if rw.shape != (n, n):
                    raise _node_error(rec_name, rec_node, f"recurrent weights {rw.shape} for {n} neurons")
                rec, rec_bias = _f32(rw * gain[:, None]), _f32(rb * gain)
            kind = {nir.LIF: "lif", nir.CubaLIF: "cubalif", nir.IF: "if", nir.Threshold: "lif"}[type(node)]
            stateless = isinstance(node, nir.Threshold)
            layer_reset = "zero" if stateless else reset or node.metadata.get("reset", "zero")
            layers.append(SpikingLayer(name, kind, w_out, b_out, d.beta, d.threshold, layer_reset, d.alpha, rec,
                                       rec_bias))
            weight, bias = np.eye(n), np.zeros(n)
        else:
            raise _node_error(name, node, "is not supported (supported: Input, Affine, Linear, Scale, LIF, CubaLIF, "
                                          "IF, Threshold, LI, I, Flatten, Identity, Output)")
    if readout is None:
        if not np.array_equal(weight, np.eye(len(weight))) or bias.any():
            raise NirError("the graph ends in an affine map after the last spiking layer but has no readout "
                           "neuron (LI or I) to accumulate it")
        n = len(weight)
        readout = Readout(None, np.eye(n, dtype=np.float32), np.zeros(n, np.float32), np.ones(n, np.float32))
    return NirNetwork(size, tuple(layers), readout, float(dt), dict(graph.metadata or {}))


def read_network(path: str | Path, *, dt: float = SNNTORCH_DT, reset: str | None = None) -> NirNetwork:
    """:func:`to_network` of a ``.nir`` file; structural errors name the file."""
    graph = read_graph(path)
    try:
        return to_network(graph, dt=dt, reset=reset)
    except NirError as exc:
        raise NirError(f"{path}: {exc}") from None


# --- export ---------------------------------------------------------------------------------------------------

def _time_constant(dt: float, decay: np.ndarray, name: str, key: str) -> np.ndarray:
    decay = np.asarray(decay, np.float64)
    if np.any(decay >= 1):
        raise NirError(f"layer {name!r}: {key} = 1 has no time constant; NIR has no leaky node without leak")
    return dt / (1.0 - decay)


def to_graph(network: NirNetwork):
    """The ``nir.NIRGraph`` of ``network``, the inverse of :func:`to_network` at ``network.dt``.

    Per layer ``k``: ``layer{k}.affine`` (Affine ``W``, ``b``), the neuron
    ``layer{k}.{lif|cubalif|if}`` with unit input gain (LIF ``tau = dt / (1 - beta)``, ``r = tau / dt``;
    CubaLIF also ``tau_syn = dt / (1 - alpha)``, ``w_in = tau_syn / dt``; IF ``r = 1 / dt``), ``v_leak = 0``,
    ``v_reset = 0`` and ``metadata["reset"]`` (NIR's own reset is to ``v_reset``: ``"zero"``), and for a
    recurrent layer the loop through the Affine ``layer{k}.w_rec`` (as snnTorch writes RLeaky). The readout is
    ``readout.affine`` into an LI
    (decay < 1) or an Integrator ``I``. Parameters are float64, so re-import gives the float32 values back.
    """
    import nir

    dt = network.dt
    nodes = {"input": nir.Input(input_type=np.array([network.input_size]))}
    edges, last = [], "input"
    for k, layer in enumerate(network.layers):
        affine, neuron = f"layer{k}.affine", f"layer{k}.{layer.kind}"
        nodes[affine] = nir.Affine(weight=layer.weight.astype(np.float64), bias=layer.bias.astype(np.float64))
        threshold, zeros = layer.threshold.astype(np.float64), np.zeros(layer.n_out)
        meta = {"reset": layer.reset}
        if layer.alpha is not None:
            tau_syn = _time_constant(dt, layer.alpha, layer.name, "alpha")
            tau_mem = _time_constant(dt, layer.beta, layer.name, "beta")
            nodes[neuron] = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt, v_leak=zeros,
                                        v_threshold=threshold, v_reset=zeros, w_in=tau_syn / dt, metadata=meta)
        elif np.all(layer.beta == 1):
            nodes[neuron] = nir.IF(r=np.full(layer.n_out, 1.0 / dt), v_threshold=threshold, v_reset=zeros,
                                   metadata=meta)
        else:
            tau = _time_constant(dt, layer.beta, layer.name, "beta")
            nodes[neuron] = nir.LIF(tau=tau, r=tau / dt, v_leak=zeros, v_threshold=threshold, v_reset=zeros,
                                    metadata=meta)
        edges += [(last, affine), (affine, neuron)]
        if layer.recurrent is not None:
            nodes[f"layer{k}.w_rec"] = nir.Affine(weight=layer.recurrent.astype(np.float64),
                                                  bias=layer.recurrent_bias.astype(np.float64))
            edges += [(neuron, f"layer{k}.w_rec"), (f"layer{k}.w_rec", neuron)]
        last = neuron
    readout = network.readout
    n = readout.n_classes
    nodes["readout.affine"] = nir.Affine(weight=readout.weight.astype(np.float64),
                                         bias=readout.bias.astype(np.float64))
    if np.all(readout.decay == 1):
        nodes["readout"] = nir.I(r=np.full(n, 1.0 / dt))
    else:
        tau = _time_constant(dt, readout.decay, "readout", "decay")
        nodes["readout"] = nir.LI(tau=tau, r=tau / dt, v_leak=np.zeros(n))
    nodes["output"] = nir.Output(output_type=np.array([n]))
    edges += [(last, "readout.affine"), ("readout.affine", "readout"), ("readout", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt, "exported_by": "srcfpga", **network.meta})


def write_network(network: NirNetwork, path: str | Path) -> Path:
    """Write :func:`to_graph` of ``network`` to ``path`` (``.nir``, HDF5)."""
    import nir

    from ..fileio import atomic_path

    with atomic_path(path) as tmp:
        nir.write(tmp, to_graph(network))
    return Path(path)


# --- float models ---------------------------------------------------------------------------------------------

LAYER_TENSORS = (("weight", "fc.weight"), ("bias", "fc.bias"), ("recurrent", "recurrent.weight"),
                 ("recurrent_bias", "recurrent.bias"), ("beta", "beta"), ("alpha", "alpha"),
                 ("threshold", "threshold"))
""":class:`SpikingLayer` fields and the float layer's tensors (:class:`srcfpga.cells.lif.float.LIFLayer`) that
hold them."""


def _one(values, what: str) -> object:
    values = set(values)
    if len(values) != 1:
        raise NirError(f"an srcfpga network has one {what} for all its layers; the graph has {sorted(values)}")
    return values.pop()


def readout_decay(readout: Readout) -> float | None:
    """The float network's ``readout_decay`` of a NIR readout: None for an integrator (decay 1), else the one
    decay of every class (an LI node whose ``tau`` differs between classes is refused: the hardware's leaky
    readout has one leak)."""
    decay = readout.decay
    if np.all(decay == 1):
        return None
    if np.any(decay != decay[0]):
        raise NirError(f"readout {readout.name!r}: the LI time constant differs between classes (per-step decay "
                       f"{decay.min():g} .. {decay.max():g}); srcfpga's leaky readout has one decay for all classes")
    return float(decay[0])


def to_net(network: NirNetwork, *, encoding: str | None = None, rate_gain: float | None = None,
           steps: int | None = None, blank: int | None = None):
    """The float :class:`srcfpga.nn.network.Net` of ``network`` (cell kind and reset from its layers),
    reading the input through ``encoding`` (default ``"rate"`` at ``rate_gain`` 0.25; ``"rows"``: the row
    encoder at the default grey levels, one step per image row: ``input_size`` = width x levels, ``steps`` =
    rows, required; ``"frames"``: spike frames given as they are).

    Recurrence is per layer (``LIFCellConfig.recurrent``, one bool per layer when the graph mixes them, as
    snnTorch's RLeaky hidden layer and Leaky output do): a layer has recurrent weights exactly when its node has
    a recurrent loop. An LI readout becomes the leaky readout (:func:`readout_decay`); a readout bias (an
    ``Affine`` before the readout) becomes the network's readout bias (``NetConfig.readout_bias``).
    """
    kind = _one((layer.kind for layer in network.layers), "cell kind")
    reset = _one((layer.reset for layer in network.layers), "reset")
    recurrent = [layer.recurrent is not None for layer in network.layers]
    readout = network.readout
    decay = readout_decay(readout)
    import torch

    from .config import NetConfig, cell_constants
    from .network import Net

    options = dict(encoding=encoding or "rate", rate_gain=0.25 if rate_gain is None else rate_gain,
                   steps=steps, blank=blank)
    if options["encoding"] == "rows":
        levels = NetConfig.__dataclass_fields__["row_levels"].default
        if steps is None or network.input_size % len(levels):
            raise NirError(f"row encoding needs --steps (the image rows) and an input size that is a multiple of "
                           f"{len(levels)} grey levels, got steps {steps} and {network.input_size} inputs")
        options |= dict(image_shape=(steps, network.input_size // len(levels)), blank=blank or 0)
    config = NetConfig(input_size=network.input_size, hidden=network.sizes[1:], n_classes=readout.n_classes,
                       cell=kind, cell_config=cell_constants(kind, dict(reset=reset, recurrent=recurrent)),
                       readout_decay=decay, readout_bias=True if readout.bias.any() else None, **options)
    net = Net(config)
    state = {}
    for index, layer in enumerate(network.layers):
        for field_name, tensor in LAYER_TENSORS:
            value = getattr(layer, field_name)
            if value is not None:
                state[f"layers.{index}.{tensor}"] = torch.from_numpy(value)
    state["readout"] = torch.from_numpy(readout.weight)
    if net.readout_bias is not None:
        state["readout_bias"] = torch.from_numpy(readout.bias)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or [name for name in missing if not name.startswith("_")]:
        raise NirError(f"the {kind} float layers do not take the imported tensors (missing {missing}, "
                       f"unexpected {unexpected})")
    return net.eval()


def from_net(net, dt: float = SNNTORCH_DT) -> NirNetwork:
    """The :class:`NirNetwork` of a float network of ``lif``, ``cubalif`` or ``if`` cells (inverse of
    :func:`to_net`); other kinds have no NIR node and are refused by name."""
    config = net.config
    if config.cell not in SPIKING:
        raise NirError(f"cell kind {config.cell!r} has no NIR node; NIR export takes {', '.join(SPIKING)} networks")
    state = {name: value.detach().cpu().numpy().astype(np.float32) for name, value in net.state_dict().items()}
    layers = []
    for index in range(len(net.layers)):
        arrays = {field_name: state.get(f"layers.{index}.{tensor}") for field_name, tensor in LAYER_TENSORS}
        layers.append(SpikingLayer(f"layer{index}", config.cell, reset=config.cell_config.reset, **arrays))
    weight = state["readout"]
    bias = state.get("readout_bias", np.zeros(len(weight), np.float32))
    decay = 1.0 if config.readout_decay is None else config.readout_decay
    readout = Readout("readout", weight, bias, np.full(len(weight), decay, np.float32))
    return NirNetwork(config.input_size, tuple(layers), readout, float(dt))


def import_model(path: str | Path, *, dt: float | None = None, reset: str | None = None, **encoding):
    """``srcfpga import model.nir``: :func:`read_network` then :func:`to_net` (``encoding``: its options)."""
    network = read_network(path, dt=SNNTORCH_DT if dt is None else dt, reset=reset)
    try:
        return to_net(network, **encoding)
    except ConfigError as exc:
        raise NirError(f"{path}: {exc}") from None


def export_model(net, path: str | Path, *, dt: float | None = None) -> NirNetwork:
    """``srcfpga export --nir``: :func:`from_net` written with :func:`write_network`; returns the network."""
    network = from_net(net, SNNTORCH_DT if dt is None else dt)
    write_network(network, path)
    return network
