"""RTL regression: simulate the generated Verilog with cocotb and compare it bit for bit with the golden model.

:func:`run_rtl` generates the Verilog of a HardwareModel (``srcfpga.hdl.generate_verilog``, cached on
disk by model hash, HDL config and the HDL generator's source), builds it (content-hash cached,
:mod:`srcfpga.sim.build`), runs :mod:`srcfpga.sim.tb_network` on a batch and decodes what came out
of the ``trace``, ``readout`` and ``result`` streams into arrays shaped like the golden model's trace
(:class:`RtlRun`). :func:`compare_with_golden` checks every hidden-layer spike of every neuron at
every step, the readout accumulators after every step, the final accumulators and the class; a
sample agrees only when all are identical and the streams were well-formed (one trace beat per
layer, step and lane group; one readout beat per step; one result). The report names the first
diverging sample, layer, neuron and timestep.

Payloads are packed and decoded with the HDL's own layouts (:mod:`srcfpga.hdl.layouts`: ``start_layout``,
``input_layout``, ``trace_layout``, ``readout_layout``, ``result_layout``), sized by the manifest of the
Verilog (``mask_width``, ``lanes``, ``value_bits``, ``n_classes``, ``acc_bits``); docs/hardware.md lists
the resulting bit positions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..fileio import write_text_atomic
from ..hdl.verilog import hdl_source_hash
from ..quant.hwmodel import HardwareModel, check_steps
from . import build as simbuild

TOP = "srcfpga_net"
TESTBENCH = "srcfpga.sim.tb_network"


@dataclass(frozen=True)
class Backpressure:
    """Stream gaps: an idle source offers its next beat with probability ``p_valid`` per cycle; the result
    sink is ready with probability ``p_ready``. ``overlap``: offer the next start before the previous
    result was taken (the design must hold it off). ``garbage``: random payloads while not valid."""

    p_valid: float = 0.7
    p_ready: float = 0.7
    overlap: bool = False
    garbage: bool = True

    def __post_init__(self) -> None:
        if not (0.0 < self.p_valid <= 1.0 and 0.0 < self.p_ready <= 1.0):
            raise ConfigError(f"back-pressure probabilities must be in (0, 1], got {self.p_valid}, {self.p_ready}")


NO_GAPS = Backpressure(1.0, 1.0, overlap=False, garbage=False)


@dataclass
class RtlRun:
    """What the RTL produced for a batch; arrays are shaped like :class:`srcfpga.golden.GoldenResult`."""

    spikes: list[np.ndarray]            # per hidden layer (batch, T, n_out) bool (CMRU layers: int64 counts)
    readout_trace: np.ndarray           # (batch, T, n_classes) int64, accumulators after each step
    predictions: np.ndarray             # (batch,) int64 (-1: no result)
    readout: np.ndarray                 # (batch, n_classes) int64, final accumulators from the result
    cycles: np.ndarray                  # (batch,) the result's cycle counter (start accepted -> result valid)
    problems: list[list[str]]           # per sample: malformed / missing / duplicate stream beats
    steps: int
    blank: int
    manifest: dict[str, Any]
    simulator: str
    sim_cycles: int                     # simulated clock cycles of the whole batch
    sim_seconds: float                  # wall time of the testbench's clock loop
    sim_cpu_seconds: float              # CPU time of the simulator process during that loop
    run_seconds: float                  # wall time of the simulator process
    build_seconds: float
    build_cached: bool
    generate_seconds: float
    backpressure: Backpressure
    waves: Path | None = None
    log: Path | None = None
    errors: list[str] = field(default_factory=list)   # testbench-level errors (timeouts, X values)
    states: list[dict[str, np.ndarray]] | None = None   # per layer, name -> (batch, T, n_out) (trace_states builds)
    design: str = "RTL"                 # what was simulated: "RTL" or "netlist" (synth_xilinx, srcfpga.sim.netlist)

    @property
    def batch(self) -> int:
        return len(self.predictions)

    @property
    def sim_cycles_per_s(self) -> float:
        """Simulated cycles per second of wall time."""
        return self.sim_cycles / self.sim_seconds if self.sim_seconds > 0 else 0.0

    @property
    def sim_cycles_per_cpu_s(self) -> float:
        """Simulated cycles per CPU second (independent of other load on the machine)."""
        return self.sim_cycles / self.sim_cpu_seconds if self.sim_cpu_seconds > 0 else 0.0


@dataclass
class Mismatch:
    """The first difference found in one sample (steps count blank steps, from 0)."""

    sample: int
    kind: str                  # "spikes", "state", "readout", "result_counts", "label", "protocol"
    layer: int | None = None   # hidden layer index (spikes, state), None otherwise
    neuron: int | None = None  # neuron (spikes, state) or class (readout / counts)
    step: int | None = None
    rtl: Any = None
    golden: Any = None
    detail: str = ""
    state: str | None = None   # the state word (kind "state"): "i", "h", "hs" or "q"

    def describe(self) -> str:
        where = [f"sample {self.sample}"]
        if self.layer is not None:
            where.append(f"layer {self.layer}")
        if self.neuron is not None:
            where.append(("neuron " if self.kind in ("spikes", "state") else "class ") + str(self.neuron))
        if self.step is not None:
            where.append(f"step {self.step}")
        kind = self.kind if self.state is None else f"state {self.state}"
        text = f"{kind} mismatch at {', '.join(where)}"
        if self.rtl is not None or self.golden is not None:
            text += f": rtl {self.rtl} != golden {self.golden}"
        return text + (f" ({self.detail})" if self.detail else "")


@dataclass
class SimReport:
    samples: int
    agreement: float                    # fraction of samples identical to golden at every step
    mismatches: int                     # samples that differ
    accuracy: float | None              # RTL predictions vs labels (None without labels)
    golden_accuracy: float | None
    cycles_per_step: float              # mean over samples of cycles / (blank + steps)
    cycles_per_inference: float         # mean of the result's cycle counter
    sim_cycles_per_s: float
    steps: int
    blank: int
    simulator: str
    sim_cycles_per_cpu_s: float = 0.0
    sim_cycles: int = 0
    first_mismatch: Mismatch | None = None
    mismatched_samples: list[int] = field(default_factory=list)
    waves: str | None = None
    log: str | None = None
    build_seconds: float = 0.0
    build_cached: bool = False
    run_seconds: float = 0.0
    cycles_min: int = 0
    cycles_max: int = 0
    # the cycle model (srcfpga.hdl.LatencyModel) against the measured cycles; None: not checked (stream gaps)
    latency_model_cycles: float | None = None   # mean cycles/inference predicted
    latency_model_exact: float | None = None    # fraction of samples whose measured cycles equal the model's
    latency_model_per_sample: list[int] | None = None
    latency_model_diverged: list[int] = field(default_factory=list)    # samples whose cycles differ from it
    design: str = "RTL"                 # "RTL" or "netlist" (:attr:`RtlRun.design`)

    @property
    def passed(self) -> bool:
        """Every sample equals golden at every step and, when checked, the cycle model cycle for cycle (both
        are contracts of the generated hardware)."""
        return self.mismatches == 0 and not self.latency_model_diverged

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        keys = ("samples", "agreement", "mismatches", "accuracy", "cycles_per_step", "cycles_per_inference",
                "sim_cycles_per_s", "latency_model_cycles", "latency_model_exact")
        data = {key: getattr(self, key) for key in keys}
        if full or self.first_mismatch is not None:
            data["first_mismatch"] = (None if self.first_mismatch is None else
                                      asdict(self.first_mismatch) | {"text": self.first_mismatch.describe()})
            data["waves"] = self.waves
        if full:
            data.update({key: getattr(self, key) for key in (
                "golden_accuracy", "mismatched_samples", "steps", "blank", "simulator", "log", "build_seconds",
                "build_cached", "run_seconds", "cycles_min", "cycles_max", "sim_cycles", "sim_cycles_per_cpu_s",
                "latency_model_diverged")})
        return _jsonable(data)

    def summary(self) -> str:
        text = (f"{self.design} ({self.simulator}) vs golden: {self.samples - self.mismatches}/{self.samples} "
                f"samples identical at every step (agreement {self.agreement:.4f})")
        if self.accuracy is not None:
            text += f"; {self.design} accuracy {100 * self.accuracy:.2f} %"
        text += (f"; {self.cycles_per_inference:.1f} cycles/inference, {self.cycles_per_step:.2f} cycles/step; "
                 f"{self.sim_cycles_per_s:,.0f} simulated cycles/s")
        if self.latency_model_exact is None:
            text += "\ncycle model not checked (stream gaps)"
        else:
            text += (f"\ncycle model: {self.samples - len(self.latency_model_diverged)}/{self.samples} samples "
                     f"exact ({self.latency_model_cycles:.1f} cycles/inference predicted)")
            if self.latency_model_diverged:
                text += f", first divergence: sample {self.latency_model_diverged[0]}"
        if self.first_mismatch is not None:
            text += f"\nfirst {self.first_mismatch.describe()}"
        if self.waves:
            text += f"\nwaveform: {self.waves}"
        return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


# ---- Verilog generation (cached) ------------------------------------------------------------------------

def generate(model: HardwareModel, config, cache_dir: str | Path | None = None) -> tuple[str, dict]:
    """The Verilog text and manifest of ``model`` under HDL ``config``, cached under ``<cache>/verilog``."""
    from ..hdl import generate_verilog

    root = (Path(cache_dir) if cache_dir is not None else simbuild.cache_root()) / "verilog"
    key = hashlib.sha256(json.dumps([model.content_hash, config.to_dict(), hdl_source_hash()],
                                    sort_keys=True).encode()).hexdigest()[:24]
    entry = root / key
    if (entry / "manifest.json").is_file() and (entry / f"{TOP}.v").is_file():
        return (entry / f"{TOP}.v").read_text(), json.loads((entry / "manifest.json").read_text())
    with tempfile.TemporaryDirectory(prefix="srcfpga-gen-") as tmp:
        manifest = generate_verilog(model, config, Path(tmp))
        verilog = Path(manifest.get("verilog") or Path(tmp) / f"{TOP}.v")
        if not verilog.is_absolute():
            verilog = Path(tmp) / verilog
        text = verilog.read_text()
    entry.mkdir(parents=True, exist_ok=True)
    write_text_atomic(entry / f"{TOP}.v", text)
    write_text_atomic(entry / "manifest.json", json.dumps(_jsonable(manifest), indent=1))
    return text, manifest


# ---- run --------------------------------------------------------------------------------------------------

def _trace_ports(manifest: dict, n_layers: int) -> list[str]:
    ports = manifest.get("ports", {})
    if "trace__valid" in ports:
        return ["trace"]
    names = [f"trace__{index}" for index in range(n_layers)]
    missing = [name for name in names if f"{name}__valid" not in ports] if ports else []
    if missing:
        raise ConfigError(f"the generated top has no trace port {missing[0]} (ports: {', '.join(ports)})")
    return names


def run_rtl(model: HardwareModel, hdl_config=None, pixels: np.ndarray | None = None,
            spikes: np.ndarray | None = None, seeds: np.ndarray | None = None, steps: int | None = None,
            blank: int | None = None, simulator: str = "verilator", waves: bool = False,
            backpressure: Backpressure | None = None, seed: int = 0, run_dir: str | Path | None = None,
            cache_dir: str | Path | None = None, max_cycles: int | None = None, netlist: bool = False) -> RtlRun:
    """Simulate the generated RTL of ``model`` on a batch of images (``pixels``, uint8 ``(batch, n_in)``,
    with per-sample encoder ``seeds``) or spike frames (``spikes``, bool ``(batch, T, n_in)``).

    ``hdl_config``: :class:`srcfpga.hdl.HdlConfig` (default: pixel input for ``pixels``, frame input for
    ``spikes``). With ``spikes``, ``blank`` (default 0) leading frames must be empty and ``steps`` is
    ``T - blank``. ``backpressure``: stream gaps (default random gaps; :data:`NO_GAPS` for speed and
    latency). ``waves``: keep a waveform (``RtlRun.waves``: FST, or VCD where the simulator cannot
    write FST here, see :func:`srcfpga.sim.build.build`) in ``run_dir`` (a temporary directory by
    default, kept when waves are requested). ``seed`` seeds the testbench's gap pattern. ``netlist``:
    simulate the Yosys ``synth_xilinx`` netlist of the Verilog with the Xilinx cell models instead of
    the RTL (:mod:`srcfpga.sim.netlist`; not with the state trace).
    """
    from ..hdl import HdlConfig
    from ..hdl.layouts import STEP_BITS, input_beats, start_beat

    if (pixels is None) == (spikes is None):
        raise ConfigError("give exactly one of pixels or spikes")
    if spikes is not None:
        spikes = np.asarray(spikes, bool)
        if spikes.ndim != 3 or spikes.shape[2] != model.input_size:
            raise ConfigError(f"spike frames must have shape (batch, T, {model.input_size}), got {spikes.shape}")
        batch, total = spikes.shape[:2]
        blank = 0 if blank is None else blank
        if steps is not None and steps + blank != total:
            raise ConfigError(f"{total} spike frames do not match blank {blank} + steps {steps}")
        steps = total - blank
        if steps < 1 or blank < 0 or spikes[:, :blank].any():
            raise ConfigError("spike frames: need steps >= 1 and all-zero blank frames")
        kind = "frames"
    else:
        pixels = np.asarray(pixels)
        if pixels.ndim != 2 or pixels.shape[1] != model.input_size or pixels.dtype != np.uint8:
            raise ConfigError(f"pixels must be a uint8 array (batch, {model.input_size})")
        batch = len(pixels)
        steps = model.steps if steps is None else steps
        blank = model.blank if blank is None else blank
        total = blank + steps
        kind = "pixels"
    if batch < 1:
        raise ConfigError("empty batch")
    check_steps(steps, blank)
    if not (1 <= steps < 1 << STEP_BITS and 0 <= blank and total < 1 << STEP_BITS):
        raise ConfigError(f"steps/blank out of the 16-bit range of the start command: {blank} + {steps}")
    seeds = np.zeros(batch, np.int64) if seeds is None else np.asarray(seeds, np.int64)
    if seeds.shape != (batch,):
        raise ConfigError(f"need one seed per sample: {batch}, got {seeds.shape}")
    config = hdl_config if hdl_config is not None else HdlConfig(input=kind)
    if config.input != kind:
        raise ConfigError(f"HDL config takes {config.input} but {kind} were given")
    if netlist and config.trace_states:
        raise ConfigError("the gate-level simulation compares outputs only: no state trace (--states) with netlist")
    backpressure = backpressure or Backpressure()

    import time

    t0 = time.perf_counter()
    verilog, manifest = generate(model, config, cache_dir)
    generate_seconds = time.perf_counter() - t0
    layout = manifest["layout"]
    width, lanes = int(layout["mask_width"]), int(layout["lanes"])
    build_args: tuple[str, ...] = ()
    if netlist:
        from .netlist import VERILATOR_ARGS, gate_level_verilog

        gates = gate_level_verilog(verilog, manifest.get("top", TOP))
        verilog, build_args = gates.verilog, VERILATOR_ARGS if simulator == "verilator" else ()
        generate_seconds = time.perf_counter() - t0
    sim_build = simbuild.build(verilog, manifest.get("top", TOP), simulator, waves=waves, build_args=build_args,
                               cache_dir=(Path(cache_dir) if cache_dir is not None else None))

    starts = [start_beat(seeds[b], blank, steps) for b in range(batch)]
    if kind == "pixels":
        beats = [input_beats(kind, width, pixels[b]) for b in range(batch)]
    else:
        beats = [[word for t in range(total) for word in input_beats(kind, width, spikes[b, t])] for b in range(batch)]
    sizes = [layer.n_out for layer in model.layers]
    if max_cycles is None:
        per_step = model.input_size + sum(sizes) + 8 * len(sizes) + 64
        slow = min(backpressure.p_valid, backpressure.p_ready)
        max_cycles = int(batch * (total * per_step * 4 + 2000) / slow)
    trace_ports = _trace_ports(manifest, len(model.layers))
    state_layouts = _state_layouts(model, config, manifest)
    params = {"input": kind, "starts": starts, "beats": beats, "p_valid": backpressure.p_valid,
              "p_ready": backpressure.p_ready, "overlap": backpressure.overlap, "garbage": backpressure.garbage,
              "seed": seed, "max_cycles": max_cycles, "trace_ports": trace_ports,
              "state_ports": [f"states{index}" for index in range(len(state_layouts))]}
    keep = waves or run_dir is not None
    work = Path(run_dir) if run_dir is not None else Path(tempfile.mkdtemp(prefix="srcfpga-rtl-"))
    sim_run = simbuild.run(sim_build, TESTBENCH, params, run_dir=work, seed=seed, check=False)
    res = sim_run.results
    if not res:
        raise simbuild.SimulationError(f"the network testbench produced no results: "
                                       f"{'; '.join(sim_run.failures) or 'unknown failure'} (log {sim_run.log}):\n"
                                       f"{simbuild._log_tail(sim_run.log)}")
    run = _decode(model, res, manifest, batch, total, lanes, backpressure)
    if state_layouts:
        run.states = _decode_states(model, res, state_layouts, batch, total, lanes, backpressure, run.problems)
    run.steps, run.blank, run.simulator = steps, blank, sim_build.simulator.name
    run.run_seconds, run.build_seconds, run.build_cached = sim_run.seconds, sim_build.seconds, sim_build.cached
    run.generate_seconds = generate_seconds
    run.design = "netlist" if netlist else "RTL"
    run.waves = sim_run.waves
    run.errors = list(res.get("errors", [])) + [f for f in sim_run.failures if not f.startswith("network:")]
    keep = keep or bool(run.errors)     # a failed run stays for inspection
    run.log = sim_run.log if keep else None
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return run


def _state_layouts(model: HardwareModel, config, manifest: dict) -> list:
    """The payload layouts of the ``states<l>`` ports of a ``trace_states`` build (empty otherwise), taken
    from the same engines that built the Verilog."""
    if not config.trace_states:
        return []
    from ..hdl.layouts import state_trace_layout
    from ..hdl.top import state_layouts

    layouts = [state_trace_layout(layout) for layout in state_layouts(model, int(manifest["layout"]["lanes"]))]
    for index, layout in enumerate(layouts):
        port = manifest.get("ports", {}).get(f"states{index}__payload")
        if port is not None and int(port.get("width", layout.size)) != layout.size:
            raise ConfigError(f"states{index}: the Verilog port is {port['width']} bits, the layout {layout.size}")
    return layouts


def _owner(backpressure: Backpressure, start_index: int, key: tuple, last: dict, slot) -> int:
    """The sample a monitor beat belongs to: the latest accepted start, or (with overlapping starts) the
    next sample whenever the beat's (step, group) key does not increase on its port."""
    if not backpressure.overlap:
        return start_index
    sample = last.get(slot, (-1, None))
    if sample[1] is None or key <= sample[1]:
        sample = (sample[0] + 1, key)
    last[slot] = (sample[0], key)
    return sample[0]


def _decode_states(model: HardwareModel, res: dict, layouts: list, batch: int, total: int, lanes: int,
                   backpressure: Backpressure, problems: list[list[str]]) -> list[dict[str, np.ndarray]]:
    """The ``states<l>`` beats as arrays ``name -> (batch, T, n_out)``, decoded with the HDL's layouts
    (``layout.from_bits``); a missing or repeated beat is a protocol problem of its sample."""
    from ..hdl.layouts import lane_groups, lane_states, state_fields

    sizes = [layer.n_out for layer in model.layers]
    groups = [lane_groups(n, lanes) for n in sizes]
    states = [{name: np.zeros((batch, total, n), np.int64) for name in state_fields(layout.members["state"])}
              for layout, n in zip(layouts, sizes)]
    seen = [np.zeros((batch, total, g), np.int64) for g in groups]
    last: dict = {}
    for cycle, start_index, port, payload in res.get("states", []):
        beat = layouts[port].from_bits(payload)
        step, group = int(beat.step), int(beat.group)
        sample = _owner(backpressure, start_index, (step, group), last, port)
        if not 0 <= sample < batch or step >= total or group >= groups[port]:
            problems[max(0, min(sample, batch - 1))].append(
                f"state beat at cycle {cycle}: layer {port} step {step} group {group} out of range")
            continue
        seen[port][sample, step, group] += 1
        base = group * lanes
        for name, words in lane_states(beat).items():
            words = words[:sizes[port] - base]
            states[port][name][sample, step, base:base + len(words)] = words
    for layer, count in enumerate(seen):
        for sample, step, group in zip(*np.nonzero(count != 1)):
            problems[int(sample)].append(f"layer {layer} step {step} group {group}: {count[sample, step, group]} "
                                         f"state beats (expected 1)")
    return states


def _decode(model: HardwareModel, res: dict, manifest: dict, batch: int, total: int, lanes: int,
            backpressure: Backpressure) -> RtlRun:
    from ..hdl.layouts import (
        lane_groups,
        lane_values,
        read_field,
        readout_layout,
        result_layout,
        trace_layout,
    )

    layout = manifest["layout"]
    n_classes, acc_bits = int(layout["n_classes"]), int(layout["acc_bits"])
    sizes = [layer.n_out for layer in model.layers]
    value_bits = [int(v) for v in layout.get("value_bits", [1] * len(sizes))]
    groups = [lane_groups(n, lanes) for n in sizes]
    problems: list[list[str]] = [[] for _ in range(batch)]
    spikes = [np.zeros((batch, total, n), bool if v == 1 else np.int64) for n, v in zip(sizes, value_bits)]
    seen = [np.zeros((batch, total, g), np.int64) for g in groups]
    readout_trace = np.zeros((batch, total, n_classes), np.int64)
    readout_seen = np.zeros((batch, total), np.int64)
    tlayout = trace_layout(lanes * max(value_bits))
    rlayout, xlayout = readout_layout(n_classes, acc_bits), result_layout(n_classes, acc_bits)

    def note(sample: int, text: str) -> None:
        if 0 <= sample < batch and len(problems[sample]) < 20:
            problems[sample].append(text)

    per_layer_ports = len(_trace_ports(manifest, len(sizes))) > 1
    last: dict = {}
    for cycle, start_index, port, payload in res.get("trace", []):
        layer, step, group, bits = (read_field(payload, tlayout, name) for name in ("layer", "step", "group", "spikes"))
        sample = _owner(backpressure, start_index, (step, group), last, ("trace", port))
        if not 0 <= sample < batch:
            note(max(0, min(sample, batch - 1)), f"trace beat at cycle {cycle} outside any inference")
            continue
        if layer >= len(sizes) or (per_layer_ports and layer != port):
            note(sample, f"trace beat at cycle {cycle}: layer field {layer} on port {port}")
            continue
        if step >= total or group >= groups[layer]:
            note(sample, f"trace beat at cycle {cycle}: layer {layer} step {step} group {group} out of range")
            continue
        seen[layer][sample, step, group] += 1
        base = group * lanes
        count = min(lanes, sizes[layer] - base)
        if bits >> (count * value_bits[layer]):
            note(sample, f"trace layer {layer} step {step} group {group}: spike bits set past neuron {sizes[layer]}")
        spikes[layer][sample, step, base:base + count] = lane_values(bits, lanes, value_bits[layer])[:count]
    last = {}
    for cycle, start_index, payload in res.get("readout", []):
        step = read_field(payload, rlayout, "step")
        sample = _owner(backpressure, start_index, (step,), last, "readout")
        if not 0 <= sample < batch or step >= total:
            note(max(0, min(sample, batch - 1)), f"readout beat at cycle {cycle}: step {step} out of range")
            continue
        readout_seen[sample, step] += 1
        readout_trace[sample, step] = [read_field(payload, rlayout, "counts", c) for c in range(n_classes)]
    for layer, count in enumerate(seen):
        for sample, step, group in zip(*np.nonzero(count != 1)):
            note(int(sample), f"layer {layer} step {step} group {group}: {count[sample, step, group]} trace beats "
                              f"(expected 1)")
    for sample, step in zip(*np.nonzero(readout_seen != 1)):
        note(int(sample), f"step {step}: {readout_seen[sample, step]} readout beats (expected 1)")

    predictions = np.full(batch, -1, np.int64)
    readout = np.zeros((batch, n_classes), np.int64)
    cycles = np.zeros(batch, np.int64)
    results = res.get("results", [])
    for sample, (cycle, payload) in enumerate(results[:batch]):
        cycles[sample] = read_field(payload, xlayout, "cycles")
        predictions[sample] = read_field(payload, xlayout, "label")
        readout[sample] = [read_field(payload, xlayout, "counts", c) for c in range(n_classes)]
    for sample in range(len(results), batch):
        note(sample, "no result")
    if len(results) > batch:
        note(batch - 1, f"{len(results) - batch} extra result beats after the last inference")
    return RtlRun(spikes=spikes, readout_trace=readout_trace, predictions=predictions, readout=readout,
                  cycles=cycles, problems=problems, steps=0, blank=0, manifest=manifest, simulator="",
                  sim_cycles=int(res.get("cycles", 0)), sim_seconds=float(res.get("seconds", 0.0)),
                  sim_cpu_seconds=float(res.get("cpu_seconds", 0.0)), run_seconds=0.0,
                  build_seconds=0.0, build_cached=False, generate_seconds=0.0, backpressure=backpressure)


# ---- comparison ---------------------------------------------------------------------------------------------

def first_difference(sample: int, rtl, golden, problems: list[str] | None = None) -> Mismatch | None:
    """The first difference of sample ``sample`` between a hardware run ``rtl`` (:class:`RtlRun`, or
    :class:`srcfpga.hdl.pysim.HardwareRun` with ``problems`` given) and ``golden`` (``run_golden(...,
    trace=True)``). Earliest step first; at a step, hidden layers in order (a layer's states, when traced,
    before its outputs), then the readout; ``problems``: the sample's protocol problems (default
    ``rtl.problems[sample]``)."""
    from ..golden import first_state_mismatch

    total = rtl.readout_trace.shape[1]
    g_total = golden.readout_trace.shape[1]
    if g_total != total:
        return Mismatch(sample, "protocol", detail=f"RTL ran {total} steps, golden {g_total}")
    candidates = []
    for layer, (r, g) in enumerate(zip(rtl.spikes, (t.spikes for t in golden.traces))):
        diff = np.nonzero(r[sample] != g[sample])
        if len(diff[0]):
            step, neuron = int(diff[0][0]), int(diff[1][0])
            candidates.append((step, layer, Mismatch(sample, "spikes", layer, neuron, step,
                                                     int(r[sample, step, neuron]), int(g[sample, step, neuron]))))
    if rtl.states is not None:
        state = first_state_mismatch(rtl.states, golden.traces, sample)
        if state is not None:
            candidates.insert(0, (state.step, state.layer, Mismatch(sample, "state", state.layer, state.neuron,
                                                                    state.step, state.hardware, state.golden,
                                                                    state=state.state)))
    diff = np.nonzero(rtl.readout_trace[sample] != golden.readout_trace[sample])
    if len(diff[0]):
        step, c = int(diff[0][0]), int(diff[1][0])
        candidates.append((step, len(rtl.spikes), Mismatch(sample, "readout", None, c, step,
                                                           int(rtl.readout_trace[sample, step, c]),
                                                           int(golden.readout_trace[sample, step, c]))))
    if candidates:
        return min(candidates, key=lambda item: item[:2])[2]
    problems = rtl.problems[sample] if problems is None else problems
    if problems:
        return Mismatch(sample, "protocol", detail=problems[0])
    diff = np.nonzero(rtl.readout[sample] != golden.readout[sample])[0]
    if len(diff):
        c = int(diff[0])
        return Mismatch(sample, "result_counts", None, c, None, int(rtl.readout[sample, c]),
                        int(golden.readout[sample, c]))
    if rtl.predictions[sample] != golden.predictions[sample]:
        return Mismatch(sample, "label", rtl=int(rtl.predictions[sample]), golden=int(golden.predictions[sample]))
    return None


def compare_with_golden(model: HardwareModel, rtl: RtlRun, golden, labels: np.ndarray | None = None) -> SimReport:
    """Compare ``rtl`` with ``golden`` (``run_golden(..., trace=True)`` on the same inputs)."""
    if golden.traces is None or golden.readout_trace is None:
        raise ConfigError("compare_with_golden needs the golden model's trace (run_golden(..., trace=True))")
    if len(golden.predictions) != rtl.batch or len(golden.traces) != len(rtl.spikes):
        raise ConfigError("RTL run and golden result differ in batch size or layer count")
    first, bad = None, []
    for sample in range(rtl.batch):
        mismatch = first_difference(sample, rtl, golden)
        if mismatch is not None:
            bad.append(sample)
            first = first or mismatch
    if rtl.errors and not bad:          # a testbench error that left every sample intact still fails
        bad = list(range(rtl.batch))
        first = Mismatch(0, "protocol", detail=rtl.errors[0])
    samples = rtl.batch
    accuracy = golden_accuracy = None
    if labels is not None:
        labels = np.asarray(labels)
        accuracy = float((rtl.predictions == labels).mean())
        golden_accuracy = float((golden.predictions == labels).mean())
    total = rtl.steps + rtl.blank
    ok_cycles = rtl.cycles[rtl.predictions >= 0]
    return SimReport(
        samples=samples, agreement=(samples - len(bad)) / samples, mismatches=len(bad), accuracy=accuracy,
        golden_accuracy=golden_accuracy,
        cycles_per_step=float(ok_cycles.mean() / total) if len(ok_cycles) and total else 0.0,
        cycles_per_inference=float(ok_cycles.mean()) if len(ok_cycles) else 0.0,
        sim_cycles_per_s=rtl.sim_cycles_per_s, sim_cycles_per_cpu_s=rtl.sim_cycles_per_cpu_s,
        sim_cycles=rtl.sim_cycles, steps=rtl.steps, blank=rtl.blank, simulator=rtl.simulator, design=rtl.design,
        first_mismatch=first, mismatched_samples=bad, waves=str(rtl.waves) if rtl.waves else None,
        log=str(rtl.log) if rtl.log else None, build_seconds=rtl.build_seconds, build_cached=rtl.build_cached,
        run_seconds=rtl.run_seconds, cycles_min=int(ok_cycles.min()) if len(ok_cycles) else 0,
        cycles_max=int(ok_cycles.max()) if len(ok_cycles) else 0)


def regress(model: HardwareModel, hdl_config=None, pixels: np.ndarray | None = None,
            spikes: np.ndarray | None = None, seeds: np.ndarray | None = None, steps: int | None = None,
            blank: int | None = None, labels: np.ndarray | None = None, **kwargs) -> tuple[SimReport, RtlRun]:
    """:func:`run_rtl` and the golden model on the same inputs, compared (:func:`compare_with_golden`)."""
    from ..golden import run_golden

    rtl = run_rtl(model, hdl_config, pixels=pixels, spikes=spikes, seeds=seeds, steps=steps, blank=blank, **kwargs)
    golden = run_golden(model, pixels=pixels, spikes=spikes, steps=rtl.steps, blank=rtl.blank, seeds=seeds,
                        trace=True)
    report = compare_with_golden(model, rtl, golden, labels)
    if rtl.backpressure.p_valid == 1.0 and rtl.backpressure.p_ready == 1.0 and not rtl.backpressure.overlap:
        check_latency(model, rtl, golden, report, pixels=pixels, spikes=spikes, seeds=seeds)
    return report, rtl


def check_latency(model: HardwareModel, rtl: RtlRun, golden, report: SimReport, pixels: np.ndarray | None = None,
                  spikes: np.ndarray | None = None, seeds: np.ndarray | None = None) -> None:
    """Fill ``report.latency_model_*``: the HDL's cycle model, fed with the golden spikes, against the measured
    cycles (meaningful for gap-free runs only)."""
    from ..hdl import HdlConfig, LatencyModel

    cfg = HdlConfig(**rtl.manifest["config"])
    if spikes is None:
        seeds = np.zeros(len(pixels), np.int64) if seeds is None else seeds
        spikes = model.encoder.encode(pixels, rtl.steps, rtl.blank, seeds)
    predicted = LatencyModel(model, cfg).inference_cycles(spikes, [t.spikes for t in golden.traces], rtl.blank)
    done = rtl.predictions >= 0
    report.latency_model_per_sample = [int(v) for v in predicted]
    report.latency_model_cycles = float(np.mean(predicted))
    exact = done & (predicted == rtl.cycles)
    report.latency_model_exact = float(np.mean(exact))
    report.latency_model_diverged = [int(sample) for sample in np.flatnonzero(~exact)]
