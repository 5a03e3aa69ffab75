"""Shared fixtures: the read-only data and reference models in ``../shared`` (never copied here), the
hypothesis profiles, the Amaranth-vs-golden check with states, boundary networks and the mutation harness.

Hypothesis profiles: ``ci`` (the default run) is derandomized - the same examples in every run, so a
red CI is reproducible and a green one means the same thing each time; ``slow`` (the default of
``-m slow`` runs) draws new random examples each run, eight times as many. ``--hypothesis-profile NAME``
or ``SRCFPGA_HYPOTHESIS_PROFILE=NAME`` selects one explicitly (the option wins). A profile's
``max_examples`` is the budget of the cheapest tests; a property test takes a share of it by the cost of
one example (``@budget(SIMULATION)``, tests/budget.py). No deadline (a loaded machine would make timing
flaky) and no ``too_slow`` health check (time-based too); the other health checks are deterministic.
``SRCFPGA_SHARED`` overrides the location of the shared directory; every fixture skips its test
cleanly when the data it names is absent.
"""

from __future__ import annotations

import inspect
import os
import sys
import types
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

PROFILE_ENV = "SRCFPGA_HYPOTHESIS_PROFILE"
_UNTIMED = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("ci", derandomize=True, max_examples=160, **_UNTIMED)
settings.register_profile("slow", derandomize=False, max_examples=1280, **_UNTIMED)
settings.load_profile("ci")


def pytest_configure(config):
    """The hypothesis profile: ``--hypothesis-profile`` (loaded by hypothesis's plugin), else
    ``$SRCFPGA_HYPOTHESIS_PROFILE``, else ``slow`` for ``-m slow`` runs, else ``ci``."""
    if config.getoption("hypothesis_profile", None) is not None:
        return
    markexpr = config.getoption("markexpr", "") or ""
    if os.environ.get(PROFILE_ENV):
        settings.load_profile(os.environ[PROFILE_ENV])
    elif "slow" in markexpr and "not slow" not in markexpr:
        settings.load_profile("slow")


def _shared_root() -> Path:
    env = os.environ.get("SRCFPGA_SHARED")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "shared"


def _existing(path: Path, what: str) -> Path:
    if not path.is_dir():
        pytest.skip(f"{what} not available at {path}")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data directory (``../shared`` beside the repository, or ``$SRCFPGA_SHARED``)."""
    return _existing(_shared_root(), "shared directory")


@pytest.fixture(scope="session")
def mnist_dir(shared_dir: Path) -> Path:
    """MNIST test images 5001-10000 (``t10k-*`` IDX files, gzip)."""
    return _existing(shared_dir / "data" / "mnist-test-b", "MNIST test subset")


@pytest.fixture(scope="session")
def mnist_train_dir(shared_dir: Path) -> Path:
    """The complete MNIST training set (``train-*`` IDX files, gzip), without test files."""
    return _existing(shared_dir / "data" / "mnist-train", "MNIST training set")


@pytest.fixture(scope="session")
def fashion_dir(shared_dir: Path) -> Path:
    """Complete Fashion-MNIST (train and t10k IDX files, gzip)."""
    return _existing(shared_dir / "data" / "fashion-mnist", "Fashion-MNIST")


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    """The reference lab's trained 784 -> 100 SRC export (``arrays.npz`` + ``config.json``)."""
    path = _existing(shared_dir / "reference" / "ulg-src-mnist", "reference SRC export")
    if not (path / "arrays.npz").is_file() or not (path / "config.json").is_file():
        pytest.skip(f"reference export at {path} is incomplete")
    return path


@pytest.fixture
def regress():
    """:func:`srcfpga.sim.regression.regress`, skipping the test with the install hint where the simulator
    is missing."""
    from srcfpga.errors import ToolNotFoundError
    from srcfpga.sim import regression

    def run(model, config, **kwargs):
        try:
            return regression.regress(model, config, **kwargs)
        except ToolNotFoundError as exc:
            pytest.skip(str(exc))
    return run


def _rtl_results_of(model, golden, lanes: int, cycles=None) -> dict:
    """The results of :mod:`srcfpga.sim.tb_network` for an RTL that equals ``golden`` (``run_golden(...,
    trace=True)``), one inference after the other, packed with the HDL's layouts; ``cycles``: each sample's
    cycle count in its result (default 0)."""
    from srcfpga.hdl.layouts import (
        lane_groups,
        lanes_layout,
        readout_layout,
        result_layout,
        trace_layout,
    )
    from srcfpga.hdl.planes import layer_value_bits

    value_bits = [layer_value_bits(layer) for layer in model.layers]
    tlayout = trace_layout(lanes * max(value_bits))
    ro = model.readout
    rlayout, xlayout = readout_layout(ro.n_classes, ro.acc_bits), result_layout(ro.n_classes, ro.acc_bits)
    batch, total = golden.readout_trace.shape[:2]
    cycles = np.zeros(batch, np.int64) if cycles is None else cycles
    trace, readout, results, cycle = [], [], [], 0
    for sample in range(batch):
        for step in range(total):
            for layer, lt in enumerate(golden.traces):
                bits = value_bits[layer]
                for group in range(lane_groups(lt.spikes.shape[2], lanes)):
                    values = [int(v) for v in lt.spikes[sample, step, group * lanes:(group + 1) * lanes]]
                    field = lanes_layout(lanes, bits).const(values + [0] * (lanes - len(values))).as_bits()
                    beat = tlayout.const({"layer": layer, "step": step, "group": group, "spikes": field})
                    trace.append([cycle, sample, layer, beat.as_bits()])
                    cycle += 1
            beat = rlayout.const({"step": step, "counts": [int(v) for v in golden.readout_trace[sample, step]]})
            readout.append([cycle, sample, beat.as_bits()])
        beat = xlayout.const({"cycles": int(cycles[sample]), "label": int(golden.predictions[sample]),
                              "counts": [int(v) for v in golden.readout[sample]]})
        results.append([cycle, beat.as_bits()])
    return {"trace": trace, "readout": readout, "results": results, "cycles": cycle + 5, "seconds": 0.01,
            "errors": []}


@pytest.fixture(scope="session")
def rtl_results_of():
    """:func:`_rtl_results_of`: synthetic stream beats of an RTL equal to the golden model."""
    return _rtl_results_of


@pytest.fixture
def icarus():
    """The Icarus Verilog simulator; skips with the install hint where it is absent."""
    from srcfpga.errors import ToolNotFoundError
    from srcfpga.sim import find_simulator

    try:
        return find_simulator("icarus", activate=False)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


def hardware_equals_golden(model, config, steps, blank, *, spikes=None, pixels=None, seeds=None, **options):
    """Run ``NetworkTop(model, config)`` in Amaranth's simulator with ``trace_states`` and assert that it
    equals the golden model: every state word (SRC ``i``, ``h``, ``hs``; BMRU / CMRU ``q``) and every
    output of every neuron at every step, the readout after every step, the result and the class.
    The assertion message names sample, layer, neuron, step and state. Returns ``(hardware, golden)``."""
    from srcfpga.golden import first_state_mismatch, run_golden
    from srcfpga.hdl.pysim import run_amaranth

    inputs = {"spikes": spikes} if spikes is not None else {"pixels": pixels, "seeds": seeds}
    hardware = run_amaranth(model, replace(config, trace_states=True), steps=steps, blank=blank, **inputs, **options)
    golden = run_golden(model, steps=steps, blank=blank, trace=True, **inputs)
    for sample in range(len(hardware.predictions)):
        mismatch = first_state_mismatch(hardware.states, golden.traces, sample)
        assert mismatch is None, mismatch.describe()
    for index, trace in enumerate(golden.traces):
        mismatch = np.argwhere(hardware.spikes[index] != trace.spikes)
        assert not len(mismatch), f"layer {index}: first (sample, step, neuron) output mismatch {mismatch[0]}"
    np.testing.assert_array_equal(hardware.readout_trace, golden.readout_trace)
    np.testing.assert_array_equal(hardware.readout, golden.readout)
    np.testing.assert_array_equal(hardware.predictions, golden.predictions)
    return hardware, golden


@pytest.fixture(scope="session")
def hdl_equals_golden():
    """:func:`hardware_equals_golden`: the Amaranth design against the golden model, all states compared."""
    return hardware_equals_golden


@pytest.fixture
def mutate(monkeypatch):
    """``mutate(module, old, new)``: a textual mutation of one srcfpga module for the duration of a test.

    ``old`` must occur exactly once in the module's source. The mutated source is executed as a copy of
    the module; every function (and every method of a class) whose code the mutation changed replaces
    the original - functions in every ``srcfpga`` module that imported them, methods on the original
    class - so the rest of the package, unchanged, runs the mutant. Returns the names replaced.
    """
    def apply(module: types.ModuleType, old: str, new: str) -> list[str]:
        source = inspect.getsource(module)
        assert source.count(old) == 1, f"mutation target {old!r} occurs {source.count(old)} times in {module.__name__}"
        assert "\n" not in old + new, "a mutation keeps every line in place (code objects carry line numbers)"
        namespace = {"__name__": module.__name__, "__package__": module.__package__, "__file__": module.__file__}
        exec(compile(source.replace(old, new), module.__file__, "exec"), namespace)
        replaced = []
        for name, original in list(vars(module).items()):
            if getattr(original, "__module__", None) != module.__name__:
                continue
            if isinstance(original, type):
                for attr, value in vars(original).items():
                    mutant = vars(namespace[name]).get(attr)
                    if isinstance(value, types.FunctionType) and mutant.__code__ != value.__code__:
                        monkeypatch.setattr(original, attr, mutant)
                        replaced.append(f"{name}.{attr}")
                    elif isinstance(value, property) and mutant.fget.__code__ != value.fget.__code__:
                        monkeypatch.setattr(original, attr, mutant)
                        replaced.append(f"{name}.{attr}")
                    elif isinstance(value, (classmethod, staticmethod)) and \
                            getattr(mutant.__func__, "__code__", None) != getattr(value.__func__, "__code__", None):
                        monkeypatch.setattr(original, attr, mutant)
                        replaced.append(f"{name}.{attr}")
            elif isinstance(original, types.FunctionType) and \
                    inspect.unwrap(namespace[name]).__code__ != inspect.unwrap(original).__code__:   # decorated too
                for other in list(sys.modules.values()):
                    if other is not None and other.__name__.startswith("srcfpga") and \
                            getattr(other, name, None) is original:
                        monkeypatch.setattr(other, name, namespace[name])
                replaced.append(name)
        assert replaced, f"the mutation {old!r} -> {new!r} changed no function of {module.__name__}"
        return replaced

    return apply


def _src_boundary_case():
    """A 12 -> 7 -> 5 SRC network (4-bit weights) whose first layer's spike threshold ``half`` is moved onto a
    value ``h`` takes, driven by dense frames: the trace reaches every clamp and comparator boundary of the
    neuron (checked by ``tests/test_hdl_mutants.py``)."""
    from srcfpga.golden import run_golden
    from srcfpga.testing import random_hardware_model, random_spikes

    model = random_hardware_model(0, (12, 7, 5), 4, n_classes=3)
    spikes = random_spikes(0, 2, 12, 12, 0.5)
    layer = model.layers[0]
    h = run_golden(model, spikes=spikes, steps=12, blank=0, trace=True).traces[0].h[:, :-1]
    values, counts = np.unique(h[(h > 0) & (h < layer.one)], return_counts=True)
    model = model.replace(layers=(replace(layer, half=int(values[np.argmax(counts)])), *model.layers[1:]))
    return model, spikes


def _bmru_boundary_case(cell: str, **cell_options):
    """A gated 7 -> 6 -> 5 BMRU (or 3-bit CMRU, or alphaCMRU of ``cell_options``) network at 5 bits whose unit 0
    of layer 0 has ``bias_c`` moved so that ``c == |beta|`` at one step (the comparator's boundary); the CMRU
    counters saturate."""
    from srcfpga.golden import run_golden
    from srcfpga.quant import QuantConfig, quantize_net
    from srcfpga.testing import random_mru_net

    model = quantize_net(random_mru_net(1, cell, sizes=(7, 6, 5), drive=1.5 if cell == "bmru" else 3.0,
                                        **({"count_bits": 3} | cell_options)), QuantConfig(weight_bits=5))
    spikes = np.random.default_rng(1).random((2, 12, 7)) < 0.5
    trace = run_golden(model, spikes=spikes, trace=True).traces[0]
    gap = np.abs(trace.beta[..., 0]) - trace.c[..., 0]
    shift = int(gap[gap > 0].min())
    layer = model.layers[0]
    bias_c = layer.bias_c.copy()
    bias_c[0] += shift
    return model.replace(layers=(replace(layer, bias_c=bias_c), *model.layers[1:])), spikes


def _cubalif_boundary_case():
    """A 6-bit CubaLIF 10 -> 6 -> 5 network (subtract reset, per-neuron leaks) on dense frames: ``v`` and ``i``
    saturate both ways; the first neuron (and value) of layer 0 whose threshold, moved onto a value ``v`` takes,
    is met with equality before the last step (the spike and reset comparators' boundary)."""
    from srcfpga.cells.lif.testing import random_lif_model
    from srcfpga.golden import run_golden

    model = random_lif_model(0, "cubalif", (10, 6, 5), 6, reset="subtract")
    spikes = np.random.default_rng(0).random((2, 12, 10)) < 0.5
    layer = model.layers[0]
    v = run_golden(model, spikes=spikes, trace=True).traces[0].v[:, :-1]
    for neuron in range(layer.n_out):
        for value in np.unique(v[..., neuron][(v[..., neuron] > 0) & (v[..., neuron] < layer.v_range[1])]):
            threshold = layer.threshold.copy()
            threshold[neuron] = value
            moved = model.replace(layers=(replace(layer, threshold=threshold), *model.layers[1:]))
            if (run_golden(moved, spikes=spikes, trace=True).traces[0].v[:, :-1, neuron] == value).any():
                return moved, spikes
    raise AssertionError("no threshold of the CubaLIF boundary network can be met with equality")


@pytest.fixture(scope="session")
def boundary_cases():
    """Small networks and frames that reach the boundaries of every cell's arithmetic, by cell kind:
    ``{"src" | "bmru" | "cmru" | "alphacmru" | "cubalif": (model, spikes)}`` (spikes ``(2, 12, n_in)``, no blank
    steps; the alphaCMRU's 4-bit states with a 2-bit leak saturate both ways)."""
    return {"src": _src_boundary_case(), "bmru": _bmru_boundary_case("bmru"), "cmru": _bmru_boundary_case("cmru"),
            "alphacmru": _bmru_boundary_case("alphacmru", count_bits=4, relax_shift=2),
            "cubalif": _cubalif_boundary_case()}


@pytest.fixture(scope="session")
def calibration_dir(shared_dir: Path) -> Path:
    """Public Artix-7 designs with their Vivado reports (``calibration/``, README there)."""
    return _existing(shared_dir / "calibration", "Vivado calibration set")


@pytest.fixture
def tiny_verilog(tmp_path: Path) -> Path:
    """A small Verilog design: an 8-bit registered adder with an enable (a few LUTs, 2-3 CARRY4, 10 FFs)."""
    path = tmp_path / "tiny_add.v"
    path.write_text(
        "module tiny_add(input clk, input en, input [7:0] a, input [7:0] b, output reg [8:0] s, output reg v);\n"
        "  always @(posedge clk) begin\n"
        "    v <= en;\n"
        "    if (en) s <= a + b;\n"
        "  end\n"
        "endmodule\n")
    return path


def _reference_pwl(table, v: int) -> int:
    """One input of a :class:`srcfpga.quant.pwl.PiecewiseLinear`, from its definition, in Python integers:
    piece ``j`` = number of breakpoints ``<= v``; ``clamp((offsets[j] + slopes[j] v) // 2^shift, lo, hi)``."""
    j = sum(1 for b in table.breakpoints if b <= v)
    return min(max((table.offsets[j] + table.slopes[j] * v) // 2 ** table.shift, table.lo), table.hi)


@pytest.fixture(scope="session")
def reference_pwl():
    """The scalar reference of a piecewise-linear table (unbounded integers, floor division)."""
    return _reference_pwl


@pytest.fixture(scope="session")
def fsdd_dir(shared_dir: Path) -> Path:
    """The Free Spoken Digit Dataset (``recordings/{digit}_{speaker}_{take}.wav``, 8 kHz mono 16-bit)."""
    return _existing(shared_dir / "data" / "fsdd" / "recordings", "Free Spoken Digit Dataset")


def write_wav(path: Path, samples, rate: int = 8000, channels: int = 1, width: int = 2) -> Path:
    import wave

    import numpy as np

    data = np.asarray(samples)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(data.astype("<i2" if width == 2 else np.uint8).tobytes())
    return path


@pytest.fixture
def wav_writer():
    """``write(path, samples, rate=8000, channels=1, width=2)``: a small synthetic PCM WAV file."""
    return write_wav


@pytest.fixture
def tone():
    """``tone(hz, seconds=0.5, amplitude=8000, rate=8000)``: an int16 sine wave."""
    import numpy as np

    def make(hz: float, seconds: float = 0.5, amplitude: int = 8000, rate: int = 8000):
        n = np.arange(int(seconds * rate))
        return np.rint(amplitude * np.sin(2 * np.pi * hz * n / rate)).astype(np.int16)
    return make


@pytest.fixture
def fake_fsdd(tmp_path: Path, tone):
    """A tiny FSDD-like folder ``tmp/recordings``: speakers ann and bob, digits 0-1, takes 0-5 (tones)."""
    folder = tmp_path / "fsdd" / "recordings"
    folder.mkdir(parents=True)
    for speaker, base in (("ann", 300), ("bob", 600)):
        for digit in range(2):
            for take in range(6):
                write_wav(folder / f"{digit}_{speaker}_{take}.wav", tone(base * (digit + 1), 0.3 + 0.05 * take))
    return folder.parent


class SnnTorchReference:
    """snnTorch (PyPI) as the reference exporter and simulator of the NIR tests.

    ``build(n_in, layers, seed, reset)``: an ``nn.Sequential`` of ``Linear`` + neuron pairs, ``layers`` a list of
    ``(kind, size)`` with kind ``"leaky"``, ``"rleaky"`` (all-to-all recurrent) or ``"synaptic"``; per-neuron
    random ``beta`` (and ``alpha``) in [0.5, 0.98], thresholds in [0.5, 1.5], torch's default ``Linear`` weights
    times ``gain``, recurrent ones unscaled (snnTorch's export passes NIR
    type inference only with per-neuron vectors). ``export(net, n_in, path)``: snnTorch's own
    ``export_to_nir`` written with ``nir.write``. ``spikes(net, x)``: snnTorch's forward pass on ``x``
    ``(batch, T, n_in)``, the spikes of every neuron layer as ``(batch, T, n)`` numpy arrays.
    """

    def __init__(self):
        self.torch = pytest.importorskip("torch")
        self.snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e '.[test]'")
        pytest.importorskip("nirtorch", reason="snnTorch's NIR export needs nirtorch: pip install -e '.[test]'")
        self.nir = pytest.importorskip("nir")

    def build(self, n_in: int, layers, seed: int = 0, reset: str = "subtract", gain: float = 1.0):
        torch, snn = self.torch, self.snn
        generator = torch.Generator().manual_seed(seed)

        def uniform(n, low, high):
            return low + (high - low) * torch.rand(n, generator=generator)

        modules, size = [], n_in
        torch.manual_seed(seed)
        for kind, n in layers:
            modules.append(torch.nn.Linear(size, n))
            with torch.no_grad():
                modules[-1].weight.mul_(gain)
            common = dict(beta=uniform(n, 0.5, 0.98), threshold=uniform(n, 0.5, 1.5), init_hidden=True,
                          reset_mechanism=reset)
            if kind == "leaky":
                modules.append(snn.Leaky(**common))
            elif kind == "rleaky":
                modules.append(snn.RLeaky(**common, linear_features=n, all_to_all=True))
            elif kind == "synaptic":
                modules.append(snn.Synaptic(alpha=uniform(n, 0.5, 0.98), **common))
            else:
                raise ValueError(f"unknown snnTorch layer kind {kind!r}")
            size = n
        return torch.nn.Sequential(*modules)

    def export(self, net, n_in: int, path):
        from snntorch.export_nir import export_to_nir

        with warnings.catch_warnings():   # snnTorch 1.0 calls nirtorch's deprecated extract_nir_graph
            warnings.simplefilter("ignore", DeprecationWarning)
            graph = export_to_nir(net, self.torch.zeros(n_in))   # no batch dimension: NIR types are per sample
        self.nir.write(path, graph)
        return path

    def spikes(self, net, x):
        torch = self.torch
        from snntorch.utils import reset

        reset(net)
        records = [[] for m in net if isinstance(m, self.snn.SpikingNeuron)]
        with torch.no_grad():
            for t in range(x.shape[1]):
                h, index = torch.as_tensor(x[:, t], dtype=torch.float32), 0
                for module in net:
                    h = module(h)
                    if isinstance(module, self.snn.SpikingNeuron):
                        h = h[0] if isinstance(h, tuple) else h
                        records[index].append(h.numpy().copy())
                        index += 1
        return [np.stack(r, axis=1) for r in records]


@pytest.fixture(scope="session")
def snntorch_reference():
    """:class:`SnnTorchReference`; skips with the install hint where snnTorch or nirtorch is missing."""
    return SnnTorchReference()
