"""Build and run cocotb testbenches with ``cocotb_tools.runner``, reusing builds through a content-hash cache.

* :func:`build` copies the Verilog text into ``<cache>/<simulator>-<key>/`` where ``key`` hashes the
  Verilog text, the top module, the build options (waves, extra arguments) and the toolchain the
  build depends on (:func:`toolchain`: the simulator's version and install path, cocotb's version and
  install path, the Python executable). The cache is shared by every Python environment, and a
  Verilator executable links the cocotb library of the environment that built it, so another
  environment gets its own build. A finished build leaves a ``build.json`` marker; later calls with
  the same key (in this or another process) reuse it, unless its executable no longer loads (a
  library it links is gone, :func:`_loads`): then it is rebuilt. A per-key lock file
  (``fcntl.flock``) serialises concurrent builders of the same key.
* :func:`run` runs a cocotb test module against a build. Parameters go in as one JSON file and the
  testbench writes its results as one JSON file (paths passed through ``extra_env``, read with
  :func:`load_params` / written with :func:`save_results` inside the testbench). Simulator output
  goes to ``sim.log`` in the run directory, never to our stdout.

The cache directory is ``$SRCFPGA_CACHE/sim`` when ``SRCFPGA_CACHE`` is set, else
``~/.cache/srcfpga/sim``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import DegradedWarning, SrcFpgaError
from ..fileio import cache_base, file_lock
from ..progress import stage
from .simulators import Simulator, find_simulator

CACHE_FORMAT = 2
PARAMS_ENV = "SRCFPGA_SIM_PARAMS"
RESULTS_ENV = "SRCFPGA_SIM_RESULTS"
TIMESCALE = ("1ns", "1ps")
CLOCK_PERIOD_NS = 10      # the testbenches' clock, made by cocotb (tb_steps.start_in_reset) or by the design
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")


class SimulationError(SrcFpgaError):
    """The simulator failed to build or run, or the testbench reported a failure."""


def cache_root() -> Path:
    """``$SRCFPGA_CACHE/sim`` or ``~/.cache/srcfpga/sim``."""
    return cache_base() / "sim"


@dataclass(frozen=True)
class SimBuild:
    """A compiled simulation of ``toplevel`` in ``build_dir``."""

    simulator: Simulator
    toplevel: str
    build_dir: Path
    key: str
    waves: bool
    cached: bool            # True when an earlier build was reused
    seconds: float          # build time of this call (about 0 when cached)
    waves_format: str = "fst"   # "fst", or "vcd" where the simulator cannot write FST here

    @property
    def source(self) -> Path:
        return self.build_dir / f"{self.toplevel}.v"


@dataclass
class SimRun:
    """The outcome of :func:`run`: the testbench's results and where its files are."""

    results: dict[str, Any]
    run_dir: Path
    log: Path
    waves: Path | None
    seconds: float
    tests: int = 0
    failures: list[str] = field(default_factory=list)


def toolchain(simulator: Simulator) -> dict[str, str]:
    """What a build of ``simulator`` depends on besides its sources: the simulator (version, install
    path), cocotb (version, install path: a Verilator executable links its ``libcocotbvpi_verilator.so``
    by absolute path) and the Python whose environment provides them."""
    import cocotb

    return {"simulator": simulator.name, "version": simulator.version, "tool": simulator.tool,
            "cocotb": cocotb.__version__, "cocotb_path": os.path.realpath(Path(cocotb.__file__).parent),
            "python": sys.executable}


def build_key(verilog: str, toplevel: str, simulator: Simulator, waves: bool, build_args: Sequence[str]) -> str:
    h = hashlib.sha256()
    tools = [f"{name}={value}" for name, value in toolchain(simulator).items()]
    for part in (f"format={CACHE_FORMAT}", *tools, f"top={toplevel}", f"waves={bool(waves)}",
                 "args=" + "\x1f".join(build_args), verilog):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


def _runner(simulator: Simulator, public: str = "top"):
    """cocotb's runner for ``simulator``. For Verilator, ``public="top"`` replaces the runner's
    ``--public-flat-rw`` (every signal of the design visible to VPI: a symbol table whose C++
    constructor alone takes minutes to compile for a network, and no optimisation across signals)
    by ``--public-depth 1`` (the top module's signals only: the ports the testbenches drive)."""
    from cocotb_tools import runner as cocotb_runner

    simulator.activate()
    if simulator.name != "verilator" or public == "all":
        return cocotb_runner.get_runner(simulator.name)

    class _TopOnlyVerilator(cocotb_runner.Verilator):
        def _build_command(self):
            commands = super()._build_command()
            first = []
            for arg in commands[0]:
                first += ["--public-depth", "1"] if arg == "--public-flat-rw" else [arg]
            return [first, *commands[1:]]

    return _TopOnlyVerilator()


@contextlib.contextmanager
def _make_overrides(simulator: Simulator) -> Iterator[None]:
    """Pass the simulator's make variable overrides to the runner's ``make`` through MAKEFLAGS."""
    if not simulator.make_vars:
        yield
        return
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved, *simulator.make_vars]))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


@contextlib.contextmanager
def outside_pytest() -> Iterator[None]:
    """cocotb's runner changes behaviour under pytest (sys.exit on failures); we check results ourselves."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


def _log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def build(verilog: str | Path, toplevel: str, simulator: str | Simulator = "verilator", waves: bool = False,
          build_args: Sequence[str] = (), cache_dir: str | Path | None = None, public: str = "top",
          make_vars: Sequence[str] = ()) -> SimBuild:
    """Compile ``verilog`` (Verilog text, or a path to a ``.v`` file) for cocotb, reusing a cached build.

    ``waves``: Verilator builds with ``--trace --trace-fst``, Icarus with its FST dumper module. Where
    Verilator's FST writer lacks its libraries (:meth:`Simulator.waves_format`) the build traces VCD
    instead and a :class:`~srcfpga.errors.DegradedWarning` says why and how to get FST.
    ``public``: ``"top"`` (Verilator: only the top module's signals reachable from Python; fast to
    build and run) or ``"all"`` (every signal, cocotb's default ``--public-flat-rw``).
    ``make_vars``: ``VAR=value`` overrides for Verilator's C++ build (e.g. ``OPT_FAST=-O2``: the
    optimisation of the model's per-cycle code, ``-Os`` by default); part of the cache key.
    """
    if isinstance(verilog, Path) or (isinstance(verilog, str) and "\n" not in verilog and verilog.endswith(".v")):
        verilog = Path(verilog).read_text()
    sim = simulator if isinstance(simulator, Simulator) else find_simulator(simulator)
    sim = replace(sim, make_vars=sim.make_vars + tuple(make_vars)) if make_vars else sim
    sim.activate()
    waves_format, why_not_fst = sim.waves_format() if waves else ("fst", "")
    if why_not_fst:
        warnings.warn(why_not_fst, DegradedWarning, stacklevel=2)
    args = list(build_args)
    if sim.name == "verilator":
        args = list(VERILATOR_ARGS) + (["--trace-fst"] if waves and waves_format == "fst" else []) + args
    if public not in ("top", "all"):
        raise ValueError(f"public must be 'top' or 'all', got {public!r}")
    key = build_key(verilog, toplevel, sim, waves, args + [f"public={public}"] + [f"make:{v}" for v in make_vars])
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    build_dir = root / f"{sim.name}-{key}"
    marker = build_dir / "build.json"
    start = time.perf_counter()
    with file_lock(root / f"{sim.name}-{key}.lock"):
        if marker.is_file() and _loads(build_dir, toplevel, sim):
            return SimBuild(sim, toplevel, build_dir, key, waves, True, time.perf_counter() - start,
                            waves_format)
        if build_dir.exists():
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        source = build_dir / f"{toplevel}.v"
        source.write_text(verilog)
        log = build_dir / "build.log"
        runner = _runner(sim, public)
        try:
            with outside_pytest(), _make_overrides(sim), stage(f"{sim.name} build of {toplevel} (once per design)"):
                runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=build_dir, build_args=args,
                             waves=waves, timescale=TIMESCALE, log_file=log, always=True)
        except (RuntimeError, SystemExit, OSError) as exc:
            raise SimulationError(f"{sim.name} build of {toplevel} failed ({exc}); log {log}:\n"
                                  f"{_log_tail(log)}") from None
        seconds = time.perf_counter() - start
        _prune(build_dir, toplevel, sim)
        marker.write_text(json.dumps({"toplevel": toplevel, "toolchain": toolchain(sim), "waves": waves,
                                      "build_args": args, "make_vars": list(make_vars), "seconds": seconds}))
    return SimBuild(sim, toplevel, build_dir, key, waves, False, seconds, waves_format)


KEEP = ("build.log", "build.json")


def _prune(build_dir: Path, toplevel: str, simulator: Simulator) -> None:
    """Drop what a finished Verilator build no longer needs (C++ sources, objects, two precompiled
    headers of ~70 MB each): only the linked executable, the Verilog and the log stay."""
    if simulator.name != "verilator" or not (build_dir / toplevel).is_file():
        return
    for path in build_dir.iterdir():
        if path.is_file() and path.name not in (toplevel, f"{toplevel}.v", *KEEP):
            path.unlink(missing_ok=True)


def _loads(build_dir: Path, toplevel: str, simulator: Simulator) -> bool:
    """Whether a cached build can still start: a Verilator executable whose shared libraries the
    dynamic loader finds (``ldd`` reports none "not found"; where there is no ``ldd`` we cannot tell
    and trust it). Icarus builds are bytecode that the current environment's ``vvp`` loads."""
    if simulator.name != "verilator":
        return True
    executable = build_dir / toplevel
    if not executable.is_file():
        return False
    if shutil.which("ldd") is None:
        return True
    try:
        out = subprocess.run(["ldd", str(executable)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return "=> not found" not in out.stdout


def _failures(results_xml: Path) -> tuple[int, list[str]]:
    if not results_xml.is_file():
        return 0, ["simulation terminated abnormally (no results file)"]
    tests, failures = 0, []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        tests += 1
        for bad in list(case.findall("failure")) + list(case.findall("error")):
            failures.append(f"{case.get('name')}: {bad.get('message') or bad.text or 'failed'}".strip())
    return tests, failures


def run(sim_build: SimBuild, test_module: str, params: dict[str, Any] | None = None,
        run_dir: str | Path | None = None, testcase: str | None = None, seed: int = 0,
        waves: bool | None = None, check: bool = True) -> SimRun:
    """Run cocotb ``test_module`` (an importable module name) against ``sim_build``.

    ``params`` is written to ``params.json`` in ``run_dir`` (a fresh temporary directory when None,
    removed afterwards unless waves are kept or the run fails). ``waves`` defaults to the build's
    setting; the waveform is ``run_dir/waves.fst`` (``waves.vcd`` for a VCD build). With ``check`` a
    failing cocotb test raises :class:`SimulationError` naming the failure and the log.
    """
    waves = sim_build.waves if waves is None else waves
    if waves and not sim_build.waves:
        raise SimulationError("waves requested from a build made without waves (build(..., waves=True))")
    own_dir = run_dir is None
    run_dir = Path(tempfile.mkdtemp(prefix="srcfpga-sim-")) if own_dir else Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    params_path, results_path = run_dir / "params.json", run_dir / "results.json"
    results_xml, log = run_dir / "results.xml", run_dir / "sim.log"
    params_path.write_text(json.dumps(params or {}))
    results_path.unlink(missing_ok=True)
    waves_path = run_dir / f"waves.{sim_build.waves_format}" if waves else None
    if waves_path is not None:
        waves_path.unlink(missing_ok=True)
    sim = sim_build.simulator
    runner = _runner(sim)
    test_args, plusargs = [], []
    if waves_path is not None:
        if sim.name == "verilator":
            test_args = ["--trace-file", str(waves_path)]
        else:
            plusargs = [f"+dumpfile_path={waves_path}"]
    extra_env = {PARAMS_ENV: str(params_path), RESULTS_ENV: str(results_path),
                 "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO")}
    start = time.perf_counter()
    error = None
    try:
        with outside_pytest():
            runner.test(test_module=test_module, hdl_toplevel=sim_build.toplevel, hdl_toplevel_lang="verilog", build_dir=sim_build.build_dir,
                        test_dir=run_dir, results_xml=str(results_xml), extra_env=extra_env, waves=waves,
                        testcase=testcase, seed=seed, test_args=test_args, plusargs=plusargs, log_file=log,
                        timescale=TIMESCALE)
    except (SystemExit, RuntimeError, OSError) as exc:
        error = f"{sim.name} run failed ({exc})"
    seconds = time.perf_counter() - start
    tests, failures = _failures(results_xml)
    if error:
        failures.insert(0, error)
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    out = SimRun(results, run_dir, log, waves_path if waves_path and waves_path.exists() else None, seconds,
                 tests, failures)
    if failures and check:
        raise SimulationError(f"cocotb {test_module} failed: {failures[0]} (log {log}):\n{_log_tail(log)}")
    if own_dir and not failures and out.waves is None:
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


# ---- helpers used inside testbenches (run by the simulator's embedded Python) --------------------------

def load_params() -> dict[str, Any]:
    """The ``params`` dict passed to :func:`run` (inside a cocotb test)."""
    path = os.environ.get(PARAMS_ENV)
    return json.loads(Path(path).read_text()) if path else {}


def save_results(results: dict[str, Any]) -> None:
    """Hand ``results`` back to :func:`run` (inside a cocotb test); later calls replace earlier ones."""
    path = os.environ.get(RESULTS_ENV)
    if path:
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(results))
        os.replace(tmp, path)
